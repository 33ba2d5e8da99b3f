/* The pool object: opening and closing the disks of a volume, and syncing
 * free lists, headers and data to disk. Space accounting is in space.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	free(pool->fs);
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
	pool->disks = calloc(TRK_MAX_DISKS, sizeof(*pool->disks));
	pool->fs = calloc(TRK_FS_SLOTS, sizeof(*pool->fs));
	if (!pool->disks || !pool->fs) {
		free(pool->disks);
		free(pool->fs);
		free(pool);
		return -ENOMEM;
	}
	pool->cfg = *cfg;
	pool->track_chunks = (uint32_t)chunks;
	pool->ndisks = ndisks;
	pool->rnd = (trk_now_ms() << 20) ^ (uint64_t)getpid() ^ 0x9e3779b97f4a7c15ull;
	pthread_mutex_init(&pool->sync_mu, NULL);
	pthread_mutex_init(&pool->mu, NULL);
	pthread_cond_init(&pool->cv, NULL);
	atomic_init(&pool->epoch, 1); /* a track's "synced" 0 then covers no write */
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
	rc = trk_hostfs_setup(pool);
	if (rc < 0)
		goto out_destroy;
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

int trk_pool_add_disk(struct trk_pool *pool, const struct trk_disk_spec *spec, unsigned *index_out)
{
	int rc;

	if (pool->cfg.readonly)
		return -EROFS;
	/* One add at a time, and no sync pass meanwhile: they walk the disks. */
	pthread_mutex_lock(&pool->sync_mu);
	unsigned n = pool->ndisks;
	if (n >= TRK_MAX_DISKS) {
		tfs_err("add disk %s: the volume has %u disks already, the most it can have",
			spec->path, n);
		rc = -ENOSPC;
		goto out_unlock;
	}
	struct trk_disk *d = &pool->disks[n];
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->qmu, NULL);
	pthread_cond_init(&d->qcv, NULL);
	pthread_cond_init(&d->donecv, NULL);
	atomic_init(&d->ntracks, 0);
	rc = trk_disk_open(pool, d, spec, n);
	if (rc == 0 && d->missing)
		rc = -ENOENT;
	if (rc < 0)
		goto out_close;
	pthread_mutex_lock(&pool->mu);
	rc = trk_hostfs_attach(pool, d);
	pthread_mutex_unlock(&pool->mu);
	if (rc < 0)
		goto out_close;
	trk_hostfs_refresh(pool, true);
	rc = trk_io_start(pool, d);
	if (rc < 0)
		goto out_close;
	pool->ndisks = n + 1; /* published: allocations may choose it from now on */
	*index_out = n;
	pthread_mutex_unlock(&pool->sync_mu);
	return 0;

out_close:
	if (d->nthreads)
		trk_io_stop(d);
	trk_disk_close(d);
	pthread_mutex_lock(&pool->mu);
	if (d->fs && pool->nfs && d->fs == &pool->fs[pool->nfs - 1]) {
		bool other = false;
		for (unsigned i = 0; i < n; i++)
			other |= pool->disks[i].fs == d->fs;
		if (!other)
			pool->nfs--;
	}
	pthread_mutex_unlock(&pool->mu);
	pthread_mutex_destroy(&d->qmu);
	pthread_cond_destroy(&d->qcv);
	pthread_cond_destroy(&d->donecv);
	memset(d, 0, sizeof(*d));
out_unlock:
	pthread_mutex_unlock(&pool->sync_mu);
	return rc;
}

static int pool_sync(struct trk_pool *pool, bool failing_too);

int trk_pool_close(struct trk_pool *pool)
{
	if (!pool)
		return 0;
	/* Writes the free lists and headers: the on-disk lists are trusted after
	 * this clean close. Deferred frees are dropped on purpose (see pool.h).
	 * Failing disks too: if theirs cannot be written, the close fails and
	 * the next open rebuilds them from the index. */
	int rc = pool_sync(pool, true);
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

bool trk_pool_disk_removed(const struct trk_pool *pool, unsigned disk)
{
	return disk < pool->ndisks && pool->disks[disk].removed;
}

bool trk_pool_disk_missing(const struct trk_pool *pool, unsigned disk)
{
	return disk >= pool->ndisks || pool->disks[disk].missing;
}

int trk_pool_disk_reopen(struct trk_pool *pool, unsigned disk, bool noalloc)
{
	struct trk_disk *d;
	int rc;

	/* A removed disk's slot never comes back: nothing refers to it. */
	if (disk >= pool->ndisks || !atomic_load(&pool->disks[disk].missing) ||
	    pool->disks[disk].removed)
		return 0;
	d = &pool->disks[disk];
	/* No sync pass or disk add meanwhile: they walk the disks. */
	pthread_mutex_lock(&pool->sync_mu);
	rc = trk_disk_reopen(pool, d);
	if (rc <= 0)
		goto out_unlock;
	pthread_mutex_lock(&pool->mu);
	rc = d->fs ? 0 : trk_hostfs_attach(pool, d);
	pthread_mutex_unlock(&pool->mu);
	if (rc == 0)
		rc = trk_io_start(pool, d);
	if (rc < 0) {
		tfs_err("disk %u (%s) came back but cannot be taken into use: %s; it stays "
			"missing until the volume is mounted again",
			disk, d->path, tfs_strerror(rc));
		goto out_unlock;
	}
	atomic_store(&d->noalloc, noalloc);
	/* Published last: readers that see it present find its tracks and workers. */
	atomic_store(&d->missing, false);
	rc = 1;
out_unlock:
	pthread_mutex_unlock(&pool->sync_mu);
	if (rc == 1)
		trk_hostfs_refresh(pool, true);
	return rc;
}

bool trk_pool_disk_noalloc(const struct trk_pool *pool, unsigned disk)
{
	return disk < pool->ndisks && atomic_load(&pool->disks[disk].noalloc);
}

const char *trk_pool_disk_path(const struct trk_pool *pool, unsigned disk)
{
	return disk < pool->ndisks ? pool->disks[disk].path : NULL;
}

bool trk_pool_disk_failing(const struct trk_pool *pool, unsigned disk)
{
	return disk < pool->ndisks && atomic_load(&pool->disks[disk].failing);
}

bool trk_pool_disk_draining(const struct trk_pool *pool, unsigned disk)
{
	return disk < pool->ndisks && atomic_load(&pool->disks[disk].draining);
}

int trk_pool_set_draining(struct trk_pool *pool, unsigned disk, bool draining)
{
	if (disk >= pool->ndisks)
		return -ENODEV;
	atomic_store(&pool->disks[disk].draining, draining);
	return 0;
}

bool trk_disk_note_error(struct trk_disk *d, int err)
{
	if (err == -ENOSPC)
		return false; /* full, not failing: the allocator deals with that */
	atomic_fetch_add(&d->io_errors, 1);
	if (atomic_exchange(&d->failing, true))
		return true;
	tfs_err("disk %s is failing (%s): new data goes to the other disks from now on; "
		"writes to it that had not reached the device are undone, and fsync of "
		"their files returns EIO until they are written again. Check the device "
		"(dmesg, smartctl), copy the files that live on it elsewhere or replace it, "
		"then remount; `trackfs status` shows its error count",
		d->path, tfs_strerror(err));
	return false;
}

void trk_pool_inject_errors(struct trk_pool *pool, unsigned disk, int syncs, int writes)
{
	if (disk >= pool->ndisks)
		return;
	atomic_store(&pool->disks[disk].inject_syncs, syncs);
	atomic_store(&pool->disks[disk].inject_writes, writes);
}

/* fdatasync one track; a failure is kept (see sync_data_locked). */
static int track_fdatasync(struct trk_pool *pool, struct trk_disk *d, struct trk_track *t)
{
	int e = 0;

	if (trk_inject_take(&d->inject_syncs))
		e = -EIO;
	else if (trk_sys.sync_fault)
		e = trk_sys.sync_fault(t->path);
	if (e == 0 && fdatasync(t->fd) < 0)
		e = -errno;
	if (e == 0)
		return 0;
	int rc = e == -ENOSPC ? -ENOSPC : -EIO;
	/* The free-list records and the header written since the last good
	 * sync may be gone with the data: write them all again next time. */
	pthread_mutex_lock(&pool->mu);
	trk_fifo_dirty_all(&t->fifo);
	t->fifo.head_dirty = t->fifo.len > 0;
	t->hdr_dirty = true;
	pthread_mutex_unlock(&pool->mu);
	atomic_store(&t->sync_err, rc);
	if (!trk_disk_note_error(d, e))
		tfs_err("disk %s: writing track %s failed: %s; the writes to it since its last "
			"good sync may be lost: nothing that references them is committed",
			d->path, t->path, tfs_strerror(e));
	return rc;
}

/*
 * fdatasync every track written since its last sync (sync_mu held). A failed
 * fdatasync is never retried as if nothing happened: Linux reports a
 * writeback error once per file, so a second call would succeed although the
 * pages are gone (PostgreSQL's "fsyncgate"). The track keeps the error and
 * every later call fails with it, so nothing that references those writes is
 * committed, until trk_pool_sync_repair: the caller undoes them first.
 *
 * The epoch is taken before the first data_dirty exchange: a write whose
 * writer read an epoch up to @p snap had returned (and set data_dirty) before
 * it, so a track found clean, or synced, here holds it durably.
 */
static int sync_data_locked(struct trk_pool *pool)
{
	uint64_t snap = atomic_fetch_add(&pool->epoch, 1);
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
			if (rc == 0 && atomic_exchange(&t->data_dirty, false))
				rc = track_fdatasync(pool, d, t);
			if (rc == 0)
				atomic_store(&t->synced, snap);
			else if (!first)
				first = rc;
		}
	}
	return first;
}

uint64_t trk_pool_epoch(struct trk_pool *pool)
{
	return atomic_load(&pool->epoch);
}

static struct trk_track *run_track_any(struct trk_pool *pool, const struct trk_run *run)
{
	if (run->disk >= pool->ndisks)
		return NULL;
	return trk_disk_track(&pool->disks[run->disk], run->track);
}

bool trk_pool_write_durable(struct trk_pool *pool, const struct trk_run *run, uint64_t done)
{
	struct trk_track *t = run_track_any(pool, run);

	return t && done <= atomic_load(&t->synced);
}

bool trk_pool_write_lost(struct trk_pool *pool, const struct trk_run *run, uint64_t done)
{
	struct trk_track *t = run_track_any(pool, run);

	return t && atomic_load(&t->sync_err) != 0 && done > atomic_load(&t->synced);
}

int trk_pool_sync_repair(struct trk_pool *pool, int (*cb)(void *arg), void *arg)
{
	/* No pass runs meanwhile: the set of failed tracks cannot change
	 * between what cb undoes and what is cleared. */
	pthread_mutex_lock(&pool->sync_mu);
	int rc = cb(arg);
	for (unsigned di = 0; rc == 0 && di < pool->ndisks; di++) {
		struct trk_disk *d = &pool->disks[di];
		uint32_t nt = d->missing ? 0 : atomic_load(&d->ntracks);
		for (uint32_t i = 0; i < nt; i++)
			atomic_store(&trk_disk_track(d, i)->sync_err, 0);
	}
	pthread_mutex_unlock(&pool->sync_mu);
	return rc;
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

/* Free lists, headers, then data. A failing disk's free lists and headers
 * wait for the close (@p failing_too): writing them now would only fail
 * again, and they are rebuilt from the index if the close cannot write them. */
static int pool_sync(struct trk_pool *pool, bool failing_too)
{
	int first = 0;

	if (pool->cfg.readonly)
		return 0;
	pthread_mutex_lock(&pool->sync_mu);
	for (unsigned di = 0; di < pool->ndisks; di++) {
		struct trk_disk *d = &pool->disks[di];
		if (d->missing || (!failing_too && atomic_load(&d->failing)))
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

int trk_pool_sync(struct trk_pool *pool)
{
	return pool_sync(pool, false);
}
