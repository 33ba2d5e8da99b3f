/* The pool object: opening and closing the disks of a volume, syncing
 * free lists, headers and data to disk, and per-disk space accounting. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/base/log.h"
#include "core/pool_int.h"

static void pool_destroy(struct trk_pool *pool, unsigned nopened)
{
	for (unsigned i = 0; i < pool->ndisks; i++) {
		struct trk_disk *d = &pool->disks[i];
		if (d->nthreads)
			trk_io_stop(d);
		if (i < nopened)
			trk_disk_close(d);
		pthread_mutex_destroy(&d->qmu);
		pthread_cond_destroy(&d->qcv);
		pthread_cond_destroy(&d->donecv);
	}
	pthread_mutex_destroy(&pool->sync_mu);
	pthread_mutex_destroy(&pool->mu);
	pthread_cond_destroy(&pool->cv);
	free(pool->deferred);
	free(pool->disks);
	free(pool);
}

static int check_config(const struct trk_pool_config *cfg, unsigned ndisks, uint64_t *chunks)
{
	uint32_t cs = cfg->chunk_size;
	uint64_t tb = cfg->max_track_bytes ? cfg->max_track_bytes : TRK_DEFAULT_TRACK_SIZE;

	if (!ndisks || ndisks > TRK_MAX_DISKS) {
		tfs_err("open pool: %u disks (1..%u allowed)", ndisks, TRK_MAX_DISKS);
		return -EINVAL;
	}
	if (cs < TRK_MIN_CHUNK_SIZE || cs > TRK_MAX_CHUNK_SIZE || (cs & (cs - 1))) {
		tfs_err("open pool: chunk size %u is not a power of two in %u..%u", cs,
			TRK_MIN_CHUNK_SIZE, TRK_MAX_CHUNK_SIZE);
		return -EINVAL;
	}
	*chunks = tb / cs;
	if (*chunks == 0 || *chunks >= TRK_NIL) {
		tfs_err("open pool: a track of %llu bytes holds %llu chunks of %u bytes "
			"(1..%u allowed)",
			(unsigned long long)tb, (unsigned long long)*chunks, cs, TRK_NIL - 1);
		return -EINVAL;
	}
	return 0;
}

int trk_pool_open(const struct trk_pool_config *cfg, const struct trk_disk_spec *disks,
		  unsigned ndisks, struct trk_pool **out)
{
	uint64_t chunks;
	unsigned opened = 0;
	int rc;

	rc = check_config(cfg, ndisks, &chunks);
	if (rc < 0)
		return rc;
	struct trk_pool *pool = calloc(1, sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	pool->disks = calloc(ndisks, sizeof(*pool->disks));
	if (!pool->disks) {
		free(pool);
		return -ENOMEM;
	}
	pool->cfg = *cfg;
	pool->track_chunks = (uint32_t)chunks;
	pool->ndisks = ndisks;
	pthread_mutex_init(&pool->sync_mu, NULL);
	pthread_mutex_init(&pool->mu, NULL);
	pthread_cond_init(&pool->cv, NULL);
	for (unsigned i = 0; i < ndisks; i++) {
		struct trk_disk *d = &pool->disks[i];
		pthread_mutex_init(&d->qmu, NULL);
		pthread_cond_init(&d->qcv, NULL);
		pthread_cond_init(&d->donecv, NULL);
		atomic_init(&d->ntracks, 0);
	}
	for (unsigned i = 0; i < ndisks; i++) {
		opened++;
		rc = trk_disk_open(pool, &pool->disks[i], &disks[i], i);
		if (rc < 0)
			goto out_destroy;
	}
	for (unsigned i = 0; i < ndisks; i++) {
		if (pool->disks[i].missing)
			continue;
		rc = trk_io_start(pool, &pool->disks[i]);
		if (rc < 0)
			goto out_destroy;
	}
	*out = pool;
	return 0;

out_destroy:
	pool_destroy(pool, opened);
	return rc;
}

int trk_pool_close(struct trk_pool *pool)
{
	if (!pool)
		return 0;
	/* Writes the free lists and headers: the on-disk lists are trusted after
	 * this clean close. Deferred frees are dropped on purpose (see pool.h). */
	int rc = trk_pool_sync(pool);
	pool_destroy(pool, pool->ndisks);
	return rc;
}

bool trk_pool_needs_rebuild(const struct trk_pool *pool)
{
	struct trk_pool *p = (struct trk_pool *)pool;

	pthread_mutex_lock(&p->mu);
	bool r = p->needs_rebuild;
	pthread_mutex_unlock(&p->mu);
	return r;
}

unsigned trk_pool_ndisks(const struct trk_pool *pool)
{
	return pool->ndisks;
}

uint32_t trk_pool_chunk_size(const struct trk_pool *pool)
{
	return pool->cfg.chunk_size;
}

bool trk_pool_disk_missing(const struct trk_pool *pool, unsigned disk)
{
	return disk >= pool->ndisks || pool->disks[disk].missing;
}

const char *trk_pool_disk_path(const struct trk_pool *pool, unsigned disk)
{
	return disk < pool->ndisks ? pool->disks[disk].path : NULL;
}

/*
 * fdatasync every track written since its last sync (sync_mu held). A failed
 * fdatasync is never retried as if nothing happened: Linux reports a
 * writeback error once per file, so a second call would succeed although the
 * pages are gone (PostgreSQL's "fsyncgate"). The track keeps the error and
 * every later call fails with it, so nothing that references those writes is
 * ever committed.
 */
static int sync_data_locked(struct trk_pool *pool)
{
	int first = 0;

	for (unsigned di = 0; di < pool->ndisks; di++) {
		struct trk_disk *d = &pool->disks[di];
		if (d->missing)
			continue;
		uint32_t nt = atomic_load(&d->ntracks);
		for (uint32_t i = 0; i < nt; i++) {
			struct trk_track *t = trk_disk_track(d, i);
			if (t->failed)
				continue;
			int rc = atomic_load(&t->sync_err);
			if (rc == 0 && atomic_exchange(&t->data_dirty, false) &&
			    fdatasync(t->fd) < 0) {
				int e = -errno;
				rc = e == -ENOSPC ? -ENOSPC : -EIO;
				atomic_store(&t->sync_err, rc);
				atomic_fetch_add(&d->io_errors, 1);
				tfs_err("disk %s: writing track %s failed: %s; the writes since "
					"its last sync are not on the disk and will not be "
					"committed: check the device (dmesg), then remount",
					d->path, t->path, tfs_strerror(e));
			}
			if (rc < 0 && !first)
				first = rc;
		}
	}
	return first;
}

int trk_pool_sync_data(struct trk_pool *pool)
{
	if (pool->cfg.readonly)
		return 0;
	pthread_mutex_lock(&pool->sync_mu);
	int rc = sync_data_locked(pool);
	pthread_mutex_unlock(&pool->sync_mu);
	return rc;
}

int trk_pool_sync(struct trk_pool *pool)
{
	int first = 0;

	if (pool->cfg.readonly)
		return 0;
	pthread_mutex_lock(&pool->sync_mu);
	for (unsigned di = 0; di < pool->ndisks; di++) {
		struct trk_disk *d = &pool->disks[di];
		if (d->missing)
			continue;
		uint32_t nt = atomic_load(&d->ntracks);
		for (uint32_t i = 0; i < nt; i++) {
			struct trk_track *t = trk_disk_track(d, i);
			if (t->failed)
				continue;
			int rc = trk_track_flush(pool, t);
			if (rc < 0 && !first)
				first = rc;
		}
	}
	int rc = sync_data_locked(pool);
	pthread_mutex_unlock(&pool->sync_mu);
	return first ? first : rc;
}

int trk_pool_disk_stats(struct trk_pool *pool, unsigned disk, struct trk_disk_stats *out)
{
	if (disk >= pool->ndisks)
		return -ENODEV;
	struct trk_disk *d = &pool->disks[disk];
	struct trk_disk_stats s = {.missing = d->missing};
	uint64_t unused = 0; /* capacity of existing tracks above their hwm */

	if (d->missing) {
		*out = s;
		return 0;
	}
	struct statvfs sv;
	if (statvfs(d->path, &sv) == 0)
		s.fs_bytes_free = (uint64_t)sv.f_bavail * sv.f_frsize;
	uint32_t nt = atomic_load(&d->ntracks);
	s.tracks = nt;
	for (uint32_t i = 0; i < nt; i++) {
		struct trk_track *t = trk_disk_track(d, i);
		struct stat st;
		if (t->fd >= 0 && fstat(t->fd, &st) == 0)
			s.bytes_on_disk += (uint64_t)st.st_blocks * 512;
	}
	pthread_mutex_lock(&pool->mu);
	uint64_t fs_bytes = s.fs_bytes_free;
	if (d->fs_override)
		fs_bytes = d->fs_free > d->fs_reserved ? d->fs_free - d->fs_reserved : 0;
	if (d->fs_override)
		s.fs_bytes_free = fs_bytes;
	for (uint32_t i = 0; i < nt; i++) {
		struct trk_track *t = trk_disk_track(d, i);
		s.chunks_total += t->chunk_count;
		if (t->failed) {
			/* Unknown contents: count all of it as used, none as free. */
			s.chunks_used += t->chunk_count;
			continue;
		}
		s.chunks_used += t->hwm - t->fifo.nfree;
		unused += t->chunk_count - t->hwm;
	}
	pthread_mutex_unlock(&pool->mu);
	/* Host space first fills the unused part of existing (sparse) tracks;
	 * only what is left beyond that adds capacity. */
	uint64_t fs_chunks = fs_bytes / pool->cfg.chunk_size;
	if (fs_chunks > unused)
		s.chunks_total += fs_chunks - unused;
	else
		s.chunks_total -= unused - fs_chunks;
	if (s.chunks_total < s.chunks_used)
		s.chunks_total = s.chunks_used;
	s.chunks_free = s.chunks_total - s.chunks_used;
	*out = s;
	return 0;
}
