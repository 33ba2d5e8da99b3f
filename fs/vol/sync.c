/* Durability: vol_sync_all (data and allocator state, then the index, then
 * the deferred frees that the now-durable index no longer references), fsync,
 * and the background flusher that group-commits the index. */
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "core/base/log.h"
#include "fs/vol/vol_int.h"

/*
 * DESIGN.md invariant 2: chunks the index dropped become reusable only once
 * the index state that dropped them is durable. Frees are deferred inside
 * index transactions, so a transaction that commits after idx_env_sync() may
 * already have deferred chunks that the durable index still references. The
 * pool cannot tell those apart, so release only while holding an (empty)
 * index transaction — no other transaction can run — and only if nothing was
 * committed since the sync; otherwise sync again, a few times at most, and
 * leave the frees for the next sync if the volume is too busy. Releasing
 * writes free-list links (buffered writes, no fsync): brief enough to hold
 * the index for.
 */
static int release_deferred(struct vol *v)
{
	struct idx_txn *guard;
	int rc;

	for (int tries = 0; tries < 4; tries++) {
		if (tries > 0) {
			rc = idx_env_sync(v->idx);
			if (rc < 0)
				return rc;
		}
		rc = idx_txn_begin(v->idx, &guard);
		if (rc < 0)
			return rc;
		if (idx_env_durable(v->idx)) {
			rc = trk_pool_release_deferred(v->pool);
			idx_txn_abort(guard);
			if (rc < 0)
				tfs_err("volume %s: sync: returning freed chunks failed: %s",
					v->meta_dir, tfs_strerror(rc));
			return rc;
		}
		idx_txn_abort(guard);
	}
	return 0;
}

/*
 * DESIGN.md invariant 3, for every group commit (the index's precommit hook,
 * run under its lock): the chunk data the group references is durable before
 * LMDB writes the meta page that publishes it. Every write's data is on the
 * tracks (data_dirty set) before its extents enter the group, so syncing
 * every dirty track covers them all.
 *
 * A track whose fdatasync failed may have lost any write since its last
 * good sync: those writes are undone in the group (vol_wnotes_repair), and
 * then the group commits with everything else, so one failing disk never
 * stops the volume.
 *
 * A pass syncs every healthy track even when another one fails, so once a
 * repair found nothing of the group to undo, everything the group
 * references is durable: it commits, although the pass failed. What fails
 * then are writes still in flight to the failing disk (they are not in the
 * group; the repair tells them to be done again elsewhere), and they may
 * make every further pass fail. A pass after a repair that did undo
 * something checks the tracks once more; a few rounds at most.
 */
int vol_precommit(void *arg)
{
	struct vol *v = arg;
	int rc = 0;

	for (int round = 0; round < 4; round++) {
		rc = trk_pool_sync_data(v->pool);
		if (rc == 0) {
			vol_wnotes_prune(v);
			return 0;
		}
		int r = trk_pool_sync_repair(v->pool, vol_wnotes_repair, v);
		if (r < 0)
			return r;
		if (v->repair_undone == 0) {
			/* The healthy tracks were synced by this pass. */
			vol_wnotes_prune(v);
			return 0;
		}
	}
	return rc;
}

/* One sync: data and allocator state, then the index, then the frees. Only
 * one runs at a time (sync_running). */
static int sync_once(struct vol *v)
{
	int rc;

	/* Data before metadata: the index may only point at chunks whose bytes
	 * are on the disk (the precommit hook checks again under the lock).
	 * A disk that failed (EIO, or ENOSPC at writeback) does not stop the
	 * sync: the hook undoes the writes it lost, and the rest commits. */
	rc = trk_pool_sync(v->pool);
	if (rc < 0 && rc != -EIO && rc != -ENOSPC) {
		tfs_err("volume %s: sync: writing the disks failed: %s", v->meta_dir,
			tfs_strerror(rc));
		return rc;
	}
	rc = idx_env_sync(v->idx);
	if (rc < 0) {
		tfs_err("volume %s: sync: writing the index failed: %s", v->meta_dir,
			tfs_strerror(rc));
		return rc;
	}
	if (trk_pool_deferred_count(v->pool) > 0)
		rc = release_deferred(v);
	return rc;
}

/*
 * Group fsync: a caller needs a sync that STARTS after it arrived (one already
 * running may have missed its changes). Whoever finds none running starts
 * one; everyone who arrived meanwhile waits for it, so N concurrent fsyncs
 * cost about two disk flushes, not N.
 */
int vol_sync_all(struct vol *v)
{
	int rc;

	if (v->rdonly)
		return 0;
	pthread_mutex_lock(&v->sync_lock);
	uint64_t target = v->sync_started + 1;
	while (v->sync_done < target) {
		if (v->sync_running) {
			pthread_cond_wait(&v->sync_cond, &v->sync_lock);
			continue;
		}
		v->sync_running = true;
		uint64_t mine = ++v->sync_started;
		pthread_mutex_unlock(&v->sync_lock);
		rc = sync_once(v);
		pthread_mutex_lock(&v->sync_lock);
		v->sync_running = false;
		v->sync_done = mine;
		v->sync_rc = rc;
		pthread_cond_broadcast(&v->sync_cond);
	}
	rc = v->sync_rc;
	pthread_mutex_unlock(&v->sync_lock);
	return rc;
}

int vol_fsync(struct vol *v, uint64_t ino, bool datasync)
{
	/* One index for the whole volume: making one inode durable means
	 * committing everything before it. A write of this file that a failing
	 * disk lost was undone by that sync (or an earlier one): say so until
	 * the range is written again. */
	int rc = vol_sync_all(v);

	if (rc == 0 && vol_lost_has(v, ino, 0, UINT64_MAX)) {
		rc = -EIO;
		/* The front end's cache still holds the bytes that were lost:
		 * have the flusher drop it now (not from this thread, which
		 * may be serving the kernel's request). */
		pthread_mutex_lock(&v->flusher_lock);
		v->flusher_kick = true;
		pthread_cond_signal(&v->flusher_cond);
		pthread_mutex_unlock(&v->flusher_lock);
	}
	return rc;
}

int vol_sync(struct vol *v)
{
	return vol_sync_all(v);
}

/* ---- the flusher ----------------------------------------------------------- */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *flusher_main(void *arg)
{
	struct vol *v = arg;
	uint64_t last_sync = mono_ms();
	bool flushed = false;
	int last_rc = 0;

	pthread_mutex_lock(&v->flusher_lock);
	while (!v->flusher_stop) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += v->flush_ms / 1000;
		until.tv_nsec += (long)(v->flush_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		int w = 0;
		while (!v->flusher_stop && !v->flusher_kick && w != ETIMEDOUT)
			w = pthread_cond_timedwait(&v->flusher_cond, &v->flusher_lock, &until);
		if (v->flusher_stop)
			break;
		if (v->flusher_kick) {
			/* Only the notifications: the flush keeps its pace. */
			v->flusher_kick = false;
			pthread_mutex_unlock(&v->flusher_lock);
			vol_lost_notify(v);
			pthread_mutex_lock(&v->flusher_lock);
			continue;
		}
		pthread_mutex_unlock(&v->flusher_lock);

		vol_disks_recheck(v);
		int rc = 0;
		uint64_t now = mono_ms();
		bool dirty = idx_env_dirty(v->idx);
		if (now - last_sync >= v->sync_ms) {
			if (dirty || flushed || trk_pool_deferred_count(v->pool) > 0)
				rc = vol_sync_all(v);
			last_sync = now;
			flushed = rc < 0; /* try again at the next interval */
		} else if (dirty) {
			/* A flush clears the dirty flag without an fsync: remember
			 * that the next sync still has work to do. */
			flushed = true;
			/* Most of the data sync happens here, outside the index
			 * lock; the hook then only syncs what was written since,
			 * and undoes what a failure here lost. */
			(void)trk_pool_sync_data(v->pool);
			rc = idx_env_flush(v->idx);
			if (rc < 0 && last_rc == 0)
				tfs_err("volume %s: flushing the index failed: %s; retrying",
					v->meta_dir, tfs_strerror(rc));
		}
		vol_lost_notify(v);
		/* Say when a failure ends, so the log shows how long it lasted. */
		if (rc == 0 && last_rc < 0)
			tfs_info("volume %s: background flush works again", v->meta_dir);
		last_rc = rc;

		pthread_mutex_lock(&v->flusher_lock);
	}
	pthread_mutex_unlock(&v->flusher_lock);
	return NULL;
}

int vol_flusher_start(struct vol *v)
{
	int rc;

	v->flusher_stop = false;
	rc = -pthread_create(&v->flusher, NULL, flusher_main, v);
	if (rc < 0) {
		tfs_err("volume %s: cannot start the flusher thread: %s", v->meta_dir,
			tfs_strerror(rc));
		return rc;
	}
	v->flusher_running = true;
	return 0;
}

void vol_flusher_stop(struct vol *v)
{
	if (!v->flusher_running)
		return;
	pthread_mutex_lock(&v->flusher_lock);
	v->flusher_stop = true;
	pthread_cond_signal(&v->flusher_cond);
	pthread_mutex_unlock(&v->flusher_lock);
	pthread_join(v->flusher, NULL);
	v->flusher_running = false;
}
