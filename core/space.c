/* Space accounting: the disks grouped by host filesystem (one that holds
 * several disk directories is counted once), the cached estimate of what each
 * host filesystem can still give, and the per-disk and whole-pool figures
 * that statfs and `trackfs status` show. Exact in chunks: a new track costs
 * its header, and space claimed but not yet handed out counts as free. */
#include <errno.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "core/base/log.h"
#include "core/pool_int.h"

int trk_hostfs_attach(struct trk_pool *pool, struct trk_disk *d)
{
	struct stat st;

	if (stat(d->path, &st) < 0) {
		int rc = -errno;
		tfs_err("disk %s: cannot stat it: %s", d->path, tfs_strerror(rc));
		return -EINVAL;
	}
	for (unsigned k = 0; k < pool->nfs && !d->fs; k++)
		if (pool->fs[k].dev == st.st_dev && !pool->fs[k].override)
			d->fs = &pool->fs[k];
	if (d->fs) {
		tfs_debug("disk %s shares its host filesystem with disk %s: its free space "
			  "is counted once",
			  d->path, d->fs->path);
		return 0;
	}
	if (pool->nfs >= TRK_FS_SLOTS)
		return -ENOSPC;
	struct trk_hostfs *fs = &pool->fs[pool->nfs];
	*fs = (struct trk_hostfs){.dev = st.st_dev, .path = d->path};
	d->fs = fs;
	pool->nfs++; /* published after the slot is whole */
	return 0;
}

int trk_hostfs_setup(struct trk_pool *pool)
{
	pool->nfs = 0;
	for (unsigned i = 0; i < pool->ndisks; i++) {
		if (pool->disks[i].missing)
			continue;
		int rc = trk_hostfs_attach(pool, &pool->disks[i]);
		if (rc < 0)
			return -EINVAL;
	}
	trk_hostfs_refresh(pool, true);
	return 0;
}

void trk_hostfs_refresh(struct trk_pool *pool, bool force)
{
	uint64_t now = trk_now_ms();

	for (unsigned k = 0; k < pool->nfs; k++) {
		struct trk_hostfs *fs = &pool->fs[k];
		struct statvfs sv;

		pthread_mutex_lock(&pool->mu);
		bool stale = !fs->override && (force || !fs->fs_stamp_ms ||
					       now - fs->fs_stamp_ms >= TRK_FS_CACHE_MS);
		pthread_mutex_unlock(&pool->mu);
		if (!stale)
			continue;
		/* f_bavail, not f_bfree: the root reserve of ext4 stays for the
		 * system, even though the daemon may run as root. */
		if (statvfs(fs->path, &sv) < 0) {
			int rc = -errno;
			tfs_warn("disk %s: statvfs failed: %s; treating its host filesystem as "
				 "full",
				 fs->path, tfs_strerror(rc));
			sv.f_bavail = 0;
			sv.f_frsize = 1;
		}
		pthread_mutex_lock(&pool->mu);
		if (!fs->override) {
			fs->fs_free = (uint64_t)sv.f_bavail * sv.f_frsize;
			fs->fs_size = (uint64_t)sv.f_blocks * sv.f_frsize;
			fs->fs_stamp_ms = now ? now : 1;
			fs->claimed = 0;
		}
		pthread_mutex_unlock(&pool->mu);
	}
}

uint64_t trk_hostfs_avail(const struct trk_hostfs *fs)
{
	if (!fs || fs->claimed >= fs->fs_free)
		return 0;
	return fs->fs_free - fs->claimed;
}

/* Chunks of @p t that a claim could still add: its capacity above what is
 * claimed (or handed out, on a track an older trackfs left sparse). */
static uint64_t track_unclaimed(const struct trk_track *t)
{
	uint32_t top = t->hwm > t->claimed ? t->hwm : t->claimed;

	return t->failed || t->sparse || top >= t->chunk_count ? 0 : t->chunk_count - top;
}

uint64_t trk_hostfs_growth(struct trk_pool *pool, const struct trk_hostfs *fs)
{
	uint64_t cs = pool->cfg.chunk_size;
	uint64_t bytes = trk_hostfs_avail(fs), unclaimed = 0;

	if (!fs)
		return 0;
	for (unsigned i = 0; i < pool->ndisks; i++) {
		struct trk_disk *d = &pool->disks[i];
		uint32_t nt = atomic_load(&d->ntracks);

		if (d->fs != fs)
			continue;
		for (uint32_t k = 0; k < nt; k++)
			unclaimed += track_unclaimed(trk_disk_track(d, k));
	}
	/* Existing tracks grow first, chunk for chunk; what is left makes new
	 * tracks, each paying for its header. */
	if (bytes / cs <= unclaimed)
		return bytes / cs;
	uint64_t n = unclaimed, rest = bytes - unclaimed * cs;
	uint64_t track_bytes = TRK_HDR_SIZE + (uint64_t)pool->track_chunks * cs;
	n += rest / track_bytes * pool->track_chunks;
	rest %= track_bytes;
	if (rest > TRK_HDR_SIZE)
		n += (rest - TRK_HDR_SIZE) / cs;
	return n;
}

/* The used and free chunks inside the tracks of @p d. Caller holds mu. */
static void disk_tracks(struct trk_disk *d, struct trk_disk_stats *s)
{
	uint32_t nt = atomic_load(&d->ntracks);

	for (uint32_t i = 0; i < nt; i++) {
		struct trk_track *t = trk_disk_track(d, i);
		if (t->failed) {
			/* Unknown contents: count all of it as used, none as free. */
			s->chunks_used += t->chunk_count;
			continue;
		}
		s->chunks_used += t->hwm - t->fifo.nfree;
		if (t->sparse)
			continue; /* nothing is allocated from it (claim.c) */
		s->chunks_free_tracks += t->fifo.nfree;
		if (t->claimed > t->hwm)
			s->chunks_free_tracks += t->claimed - t->hwm;
	}
}

/* The first disk on the host filesystem of disk @p disk. Caller holds mu. */
static unsigned fs_first(struct trk_pool *pool, unsigned disk)
{
	for (unsigned i = 0; i < disk; i++)
		if (pool->disks[i].fs == pool->disks[disk].fs)
			return i;
	return disk;
}

int trk_pool_disk_stats(struct trk_pool *pool, unsigned disk, struct trk_disk_stats *out)
{
	if (disk >= pool->ndisks)
		return -ENODEV;
	struct trk_disk *d = &pool->disks[disk];
	struct trk_disk_stats s = {.missing = d->missing,
				   .fs_first = disk,
				   .failing = atomic_load(&d->failing),
				   .io_errors = atomic_load(&d->io_errors),
				   .read_errors = atomic_load(&d->read_errors),
				   .write_errors = atomic_load(&d->write_errors)};

	if (d->missing) {
		*out = s;
		return 0;
	}
	trk_hostfs_refresh(pool, false);
	uint32_t nt = atomic_load(&d->ntracks);
	s.tracks = nt;
	for (uint32_t i = 0; i < nt; i++) {
		struct trk_track *t = trk_disk_track(d, i);
		struct stat st;
		if (t->fd >= 0 && fstat(t->fd, &st) == 0)
			s.bytes_on_disk += (uint64_t)st.st_blocks * 512;
	}
	pthread_mutex_lock(&pool->mu);
	s.fs_first = fs_first(pool, disk);
	disk_tracks(d, &s);
	s.fs_bytes_free = trk_hostfs_avail(d->fs);
	s.fs_chunks_free = trk_hostfs_growth(pool, d->fs);
	uint64_t used, room = trk_disk_room(pool, d, &used),
		       resv = trk_disk_reserve_chunks(pool, d);
	s.reserve_bytes = resv * pool->cfg.chunk_size;
	s.at_reserve = room <= resv;
	pthread_mutex_unlock(&pool->mu);
	s.chunks_free = s.chunks_free_tracks + s.fs_chunks_free;
	s.chunks_total = s.chunks_used + s.chunks_free;
	*out = s;
	return 0;
}

int trk_pool_space(struct trk_pool *pool, uint64_t *used_out, uint64_t *free_out)
{
	struct trk_disk_stats s = {0};

	trk_hostfs_refresh(pool, false);
	pthread_mutex_lock(&pool->mu);
	for (unsigned i = 0; i < pool->ndisks; i++) {
		struct trk_disk *d = &pool->disks[i];
		if (d->missing)
			continue;
		disk_tracks(d, &s);
		if (fs_first(pool, i) == i)
			s.fs_chunks_free += trk_hostfs_growth(pool, d->fs);
	}
	pthread_mutex_unlock(&pool->mu);
	*used_out = s.chunks_used;
	*free_out = s.chunks_free_tracks + s.fs_chunks_free;
	return 0;
}

void trk_pool_set_fs_free(struct trk_pool *pool, unsigned disk, uint64_t bytes)
{
	if (disk >= pool->ndisks || pool->disks[disk].missing)
		return;
	struct trk_disk *d = &pool->disks[disk];
	pthread_mutex_lock(&pool->mu);
	bool shared = false;
	for (unsigned i = 0; i < pool->ndisks; i++)
		if (i != disk && pool->disks[i].fs == d->fs)
			shared = true;
	if (shared && bytes != UINT64_MAX) {
		/* A host filesystem of its own: a slot no disk uses (there are
		 * TRK_FS_SLOTS slots, so one is always left). */
		unsigned k = 0;
		for (; k < pool->nfs; k++) {
			bool used = false;
			for (unsigned i = 0; i < pool->ndisks; i++)
				used |= pool->disks[i].fs == &pool->fs[k];
			if (!used)
				break;
		}
		if (k == pool->nfs)
			pool->nfs++;
		pool->fs[k] = (struct trk_hostfs){.dev = d->fs->dev, .path = d->path};
		d->fs = &pool->fs[k];
	}
	d->fs->override = bytes != UINT64_MAX;
	d->fs->fs_free = d->fs->override ? bytes : 0;
	d->fs->claimed = 0;
	d->fs->fs_stamp_ms = 0;
	pthread_mutex_unlock(&pool->mu);
}

void trk_pool_share_fs(struct trk_pool *pool, unsigned disk, unsigned with)
{
	if (disk >= pool->ndisks || with >= pool->ndisks)
		return;
	pthread_mutex_lock(&pool->mu);
	pool->disks[disk].fs = pool->disks[with].fs;
	pthread_mutex_unlock(&pool->mu);
}
