/* Opening and closing a volume: the volume file and lock, the index and the
 * pool, the clean flag in the volume record, and recovery after an unclean
 * shutdown (free lists rebuilt from the index, orphans reclaimed). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "fs/vol/vol_int.h"

/* ---- recovery ------------------------------------------------------------- */

struct ref_run {
	uint64_t ino;
	uint64_t off;
	struct trk_run run;
};

struct run_list {
	struct ref_run *v;
	size_t n, cap;
};

static int collect_extent_cb(void *arg, uint64_t ino, const struct idx_extent *ext)
{
	struct run_list *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		struct ref_run *nv = realloc(l->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = (struct ref_run){
		.ino = ino,
		.off = ext->off,
		.run = {.disk = ext->disk,
			.track = ext->track,
			.chunk = ext->chunk,
			.count = ext->nchunks},
	};
	return 0;
}

/*
 * After a rebuild (its free lists are on the disks): a present disk's free
 * lists are right again, so its stale-disk record goes; a missing disk's were
 * not rebuilt and may lack chunks the lost deferred frees held, so it gets
 * one, and the first open with it present rebuilds again. The caller makes
 * the index durable (recover: vol_sync_all).
 */
static int stale_update(struct vol *v)
{
	unsigned n = trk_pool_ndisks(v->pool);
	struct idx_txn *txn;
	int rc;

	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < n && rc == 0; i++) {
		if (trk_pool_disk_removed(v->pool, i)) {
			continue;
		} else if (trk_pool_disk_missing(v->pool, i)) {
			rc = idx_disk_stale_add(txn, (uint16_t)i, 0, IDX_DISK_STALE_MISSED_REBUILD);
			if (rc == 0)
				tfs_warn("volume %s: disk %u (%s) is missing, so its free lists "
					 "were not rebuilt: the first mount with it rebuilds them",
					 v->meta_dir, i, trk_pool_disk_path(v->pool, i));
		} else {
			rc = idx_disk_stale_clear(txn, (uint16_t)i);
			if (rc == -ENOENT)
				rc = 0;
		}
	}
	if (rc < 0)
		idx_txn_abort(txn);
	else
		rc = idx_txn_commit(txn);
	if (rc < 0)
		tfs_err("volume %s: rebuild free lists: updating the stale-disk records failed: %s",
			v->meta_dir, tfs_strerror(rc));
	return rc;
}

int vol_rebuild_freelists(struct vol *v)
{
	struct run_list l = {0};
	struct idx_txn *txn;
	uint64_t bad = 0;
	int rc;

	/* Collect first: marking may create track files (I/O), and no index
	 * transaction may be held across I/O. */
	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		return rc;
	rc = idx_extent_iter_all(txn, collect_extent_cb, &l);
	idx_txn_abort(txn);
	if (rc < 0) {
		tfs_err("volume %s: rebuild free lists: reading the extents failed: %s",
			v->meta_dir, tfs_strerror(rc));
		goto out_free;
	}

	rc = trk_pool_rebuild_begin(v->pool);
	if (rc < 0) {
		tfs_err("volume %s: rebuild free lists: %s", v->meta_dir, tfs_strerror(rc));
		goto out_free;
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct ref_run *r = &l.v[i];
		int mrc = trk_pool_rebuild_mark(v->pool, &r->run);
		if (v->progress && (i % 1024 == 0 || i + 1 == l.n))
			v->progress(v->progress_arg, "rebuilding free lists", i + 1, l.n);
		if (mrc == 0)
			continue;
		bad++;
		if (mrc == -EEXIST)
			tfs_err("volume %s: inode %" PRIu64 " offset %" PRIu64
				" references chunks %u..%u of track %u on disk %u that another "
				"extent also references: run fsck.trackfs --repair",
				v->meta_dir, r->ino, r->off, r->run.chunk,
				r->run.chunk + r->run.count - 1, r->run.track, r->run.disk);
		else
			tfs_err("volume %s: inode %" PRIu64 " offset %" PRIu64
				" references chunks %u..%u of track %u on disk %u that cannot "
				"exist (%s): run fsck.trackfs --repair",
				v->meta_dir, r->ino, r->off, r->run.chunk,
				r->run.chunk + r->run.count - 1, r->run.track, r->run.disk,
				tfs_strerror(mrc));
	}
	rc = trk_pool_rebuild_end(v->pool);
	if (rc < 0) {
		tfs_err("volume %s: rebuild free lists: writing them failed: %s", v->meta_dir,
			tfs_strerror(rc));
		goto out_free;
	}
	tfs_info("volume %s: free lists rebuilt from %zu extents (%" PRIu64 " skipped)",
		 v->meta_dir, l.n, bad);
	rc = stale_update(v);
out_free:
	free(l.v);
	return rc;
}

struct ino_list {
	uint64_t *v;
	size_t n, cap;
};

static int collect_orphan_cb(void *arg, uint64_t ino)
{
	struct ino_list *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		uint64_t *nv = realloc(l->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = ino;
	return 0;
}

int vol_reclaim_orphans(struct vol *v)
{
	struct ino_list l = {0};
	struct idx_txn *txn;
	int rc;

	/* Collect first: reclaiming takes ilocks, which may not be taken while a
	 * transaction is open. */
	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		return rc;
	rc = idx_orphan_iter(txn, collect_orphan_cb, &l);
	idx_txn_abort(txn);
	if (rc < 0) {
		tfs_err("volume %s: reading the orphan list failed: %s", v->meta_dir,
			tfs_strerror(rc));
		goto out_free;
	}
	for (size_t i = 0; i < l.n; i++) {
		if (v->progress)
			v->progress(v->progress_arg, "reclaiming orphans", i + 1, l.n);
		if (vol_ref_count(v, l.v[i]) > 0)
			continue; /* still open: its last vol_forget reclaims it */
		int r = vol_orphan_reclaim(v, l.v[i]);
		if (r < 0 && rc == 0)
			rc = r;
	}
out_free:
	free(l.v);
	return rc;
}

/* ---- open and close ------------------------------------------------------- */

static int locks_init(struct vol *v)
{
	int rc;

	for (unsigned i = 0; i < VOL_ILOCKS; i++) {
		rc = -pthread_rwlock_init(&v->ilocks[i], NULL);
		if (rc < 0) {
			while (i--)
				pthread_rwlock_destroy(&v->ilocks[i]);
			return rc;
		}
	}
	pthread_mutex_init(&v->disks_mu, NULL);
	pthread_mutex_init(&v->snap_mu, NULL);
	pthread_mutex_init(&v->reserved_mu, NULL);
	vol_lost_init(v);
	pthread_mutex_init(&v->sync_lock, NULL);
	pthread_cond_init(&v->sync_cond, NULL);
	pthread_mutex_init(&v->flusher_lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc = -pthread_cond_init(&v->flusher_cond, &ca);
	pthread_condattr_destroy(&ca);
	if (rc < 0) {
		pthread_mutex_destroy(&v->flusher_lock);
		pthread_cond_destroy(&v->sync_cond);
		pthread_mutex_destroy(&v->sync_lock);
		vol_lost_fini(v);
		pthread_mutex_destroy(&v->reserved_mu);
		pthread_mutex_destroy(&v->snap_mu);
		for (unsigned i = 0; i < VOL_ILOCKS; i++)
			pthread_rwlock_destroy(&v->ilocks[i]);
	}
	return rc;
}

static void locks_fini(struct vol *v)
{
	pthread_cond_destroy(&v->flusher_cond);
	pthread_mutex_destroy(&v->flusher_lock);
	pthread_cond_destroy(&v->sync_cond);
	pthread_mutex_destroy(&v->sync_lock);
	vol_lost_fini(v);
	pthread_mutex_destroy(&v->reserved_mu);
	pthread_mutex_destroy(&v->snap_mu);
	pthread_mutex_destroy(&v->disks_mu);
	for (unsigned i = 0; i < VOL_ILOCKS; i++)
		pthread_rwlock_destroy(&v->ilocks[i]);
}

/* Read the volume record and check that it belongs to volume.conf. */
static int check_record(struct vol *v, struct idx_volume *rec)
{
	struct idx_txn *txn;
	char a[TFS_UUID_STRLEN], b[TFS_UUID_STRLEN];
	int rc;

	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		return rc;
	rc = idx_volume_get(txn, rec);
	idx_txn_abort(txn);
	if (rc < 0) {
		tfs_err("volume %s: cannot read the volume record from the index: %s; run "
			"fsck.trackfs",
			v->meta_dir, tfs_strerror(rc));
		return rc == -ENOENT ? -EIO : rc;
	}
	if (!tfs_uuid_equal(&rec->uuid, &v->vf.uuid)) {
		tfs_uuid_format(&rec->uuid, a);
		tfs_uuid_format(&v->vf.uuid, b);
		tfs_err("volume %s: the index belongs to volume %s but %s names volume %s: "
			"restore the matching index or volume file",
			v->meta_dir, a, VOL_VOLFILE_NAME, b);
		return -EINVAL;
	}
	if (rec->chunk_size != v->vf.chunk_size) {
		tfs_err("volume %s: the index says chunk size %u but %s says %u: fix %s",
			v->meta_dir, rec->chunk_size, VOL_VOLFILE_NAME, v->vf.chunk_size,
			VOL_VOLFILE_NAME);
		return -EINVAL;
	}
	return 0;
}

static int open_pool(struct vol *v)
{
	struct trk_disk_spec specs[VOL_MAX_DISKS];
	struct trk_pool_config cfg = {
		.volume_uuid = v->vf.uuid,
		.chunk_size = v->vf.chunk_size,
		.max_track_bytes = v->vf.max_track_bytes,
		.readonly = v->rdonly,
		.placement = (enum trk_placement)v->vf.placement,
		.reserve = v->vf.reserve == VOL_RESERVE_AUTO ? TRK_RESERVE_AUTO : v->vf.reserve,
	};

	for (unsigned i = 0; i < v->vf.ndisks; i++) {
		specs[i].path = v->vf.disks[i].path;
		specs[i].uuid = v->vf.disks[i].uuid;
		specs[i].removed = v->vf.disks[i].removed;
	}
	int rc = trk_pool_open(&cfg, specs, v->vf.ndisks, &v->pool);
	if (rc < 0)
		tfs_err("volume %s: cannot open its disks: %s", v->meta_dir, tfs_strerror(rc));
	return rc;
}

/* Write the volume record's clean flag (and bump the generation when the
 * volume is being opened) and make it durable. */
static int mark_clean(struct vol *v, bool clean)
{
	struct idx_volume rec;
	struct idx_txn *txn;
	int rc;

	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		return rc;
	rc = idx_volume_get(txn, &rec);
	if (rc < 0) {
		idx_txn_abort(txn);
		return rc;
	}
	rec.clean = clean;
	if (!clean)
		rec.generation = v->generation;
	rc = idx_volume_put(txn, &rec);
	if (rc < 0) {
		idx_txn_abort(txn);
		return rc;
	}
	rc = idx_txn_commit(txn);
	if (rc == 0)
		rc = idx_env_sync(v->idx);
	if (rc < 0)
		tfs_err("volume %s: cannot write the volume record: %s", v->meta_dir,
			tfs_strerror(rc));
	return rc;
}

/*
 * Which present disks have a stale-disk record (their free lists lack chunks
 * freed while they were missing, or they missed a rebuild): bit i of *back
 * for disk i. Each is logged when this open is about to rebuild for it.
 */
static int stale_back(struct vol *v, bool recovering, uint64_t *back)
{
	unsigned n = trk_pool_ndisks(v->pool);
	struct idx_txn *txn;
	int rc;

	*back = 0;
	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < n; i++) {
		struct idx_disk_stale st;
		if (trk_pool_disk_missing(v->pool, i))
			continue;
		rc = idx_disk_stale_get(txn, (uint16_t)i, &st);
		if (rc == -ENOENT) {
			rc = 0;
			continue;
		}
		if (rc < 0)
			break;
		*back |= 1ull << i;
		if (!recovering)
			continue;
		tfs_info("volume %s: disk %u (%s) is back after being missing (%" PRIu64
			 " chunks were freed meanwhile%s): rebuilding free lists from the index",
			 v->meta_dir, i, trk_pool_disk_path(v->pool, i), st.chunks,
			 st.flags & IDX_DISK_STALE_MISSED_REBUILD ? ", and it missed a rebuild"
								  : "");
	}
	idx_txn_abort(txn);
	if (rc < 0)
		tfs_err("volume %s: cannot read the stale-disk records: %s; run fsck.trackfs",
			v->meta_dir, tfs_strerror(rc));
	return rc;
}

static int recover(struct vol *v)
{
	int rc = vol_rebuild_freelists(v);
	if (rc < 0)
		return rc;
	rc = vol_reclaim_orphans(v);
	if (rc < 0)
		tfs_warn("volume %s: some orphans could not be reclaimed (%s); they stay on the "
			 "orphan list for the next open",
			 v->meta_dir, tfs_strerror(rc));
	/* Make the reclaims durable and their chunks reusable now. */
	return vol_sync_all(v);
}

int vol_open(const char *meta_dir, const struct vol_open_opts *opts, struct vol **out)
{
	struct vol_open_opts none = {0};
	struct idx_volume rec;
	char path[PATH_MAX + 16];
	struct vol *v;
	int rc;

	if (!opts)
		opts = &none;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->lock_fd = -1;
	v->rdonly = opts->flags & VOL_RDONLY;
	v->flush_ms = opts->flush_ms ? opts->flush_ms : 1000;
	v->sync_ms = opts->sync_ms ? opts->sync_ms : 5000;
	v->progress = opts->progress;
	v->progress_arg = opts->progress_arg;

	rc = vol_meta_resolve(meta_dir, v->meta_dir);
	if (rc < 0)
		goto out_free;
	rc = vol_volfile_read(v->meta_dir, &v->vf);
	if (rc < 0)
		goto out_free;
	v->chunk_size = v->vf.chunk_size;
	rc = locks_init(v);
	if (rc < 0)
		goto out_free;
	rc = vol_refs_init(v);
	if (rc < 0)
		goto out_locks;
	rc = vol_lock_take(v->meta_dir, opts->owner);
	if (rc < 0)
		goto out_refs;
	v->lock_fd = rc;

	snprintf(path, sizeof(path), "%s/%s", v->meta_dir, VOL_INDEX_DIR);
	rc = idx_env_open(path, v->rdonly ? IDX_RDONLY : 0, &v->idx);
	if (rc < 0) {
		tfs_err("volume %s: cannot open the index %s: %s", v->meta_dir, path,
			tfs_strerror(rc));
		goto out_unlock;
	}
	rc = check_record(v, &rec);
	if (rc < 0)
		goto out_close_idx;
	v->generation = rec.generation + (v->rdonly ? 0 : 1);
	/* Before anything is written: the mirror must see every commit. */
	vol_mirror_open(v);
	rc = vol_disks_check(v);
	if (rc < 0)
		goto out_close_idx;
	rc = open_pool(v);
	if (rc < 0)
		goto out_close_idx;
	rc = vol_drain_load(v);
	if (rc < 0)
		goto out_close_pool;
	if (!v->rdonly)
		idx_env_set_precommit(v->idx, vol_precommit, v);

	bool recover_now = !(opts->flags & (VOL_NO_RECOVER | VOL_RDONLY));
	uint64_t back = 0;
	rc = stale_back(v, recover_now, &back);
	if (rc < 0)
		goto out_close_pool;
	/* Marked in use before any recovery writes: a crash in the middle of a
	 * rebuild must leave the volume unclean, whatever started it. */
	if (!v->rdonly) {
		rc = mark_clean(v, false);
		if (rc < 0)
			goto out_close_pool;
	}
	if (!rec.clean || trk_pool_needs_rebuild(v->pool)) {
		v->unclean = true;
		tfs_warn("volume %s was not shut down cleanly: rebuilding free lists from the "
			 "index",
			 v->meta_dir);
		v->keep_unclean = true;
		if (recover_now) {
			rc = recover(v);
			if (rc < 0) {
				tfs_err("volume %s: recovery failed: %s; run fsck.trackfs",
					v->meta_dir, tfs_strerror(rc));
				goto out_close_pool;
			}
			v->keep_unclean = false;
		}
	} else if (back && recover_now) {
		/* Its records stay until a rebuild with it present succeeds. */
		rc = recover(v);
		if (rc < 0) {
			tfs_err("volume %s: rebuilding the free lists for a disk that is back "
				"failed: %s; run fsck.trackfs",
				v->meta_dir, tfs_strerror(rc));
			goto out_close_pool;
		}
	}
	if (!v->rdonly) {
		rc = vol_flusher_start(v);
		if (rc < 0)
			goto out_close_pool;
		(void)vol_snapper_start(v, opts->snapshot_s ? opts->snapshot_s
							    : VOL_SNAPSHOT_DEFAULT_S);
		rc = vol_drainer_init(v);
		if (rc < 0)
			tfs_warn("volume %s: no drain thread (%s): drains run only from an "
				 "unmounted volume",
				 v->meta_dir, tfs_strerror(rc));
		rc = vol_scrubber_init(v, opts->scrub_every_s);
		if (rc < 0)
			tfs_warn("volume %s: no scrub thread (%s): scrub it unmounted with "
				 "fsck.trackfs --scrub",
				 v->meta_dir, tfs_strerror(rc));
		vol_control_start(v); /* optional: it logs why if it cannot */
		if (opts->flags & VOL_DRAIN_RESUME)
			vol_drainer_resume(v);
	}
	*out = v;
	return 0;

out_close_pool:
	idx_env_set_precommit(v->idx, NULL, NULL);
	trk_pool_close(v->pool);
out_close_idx:
	idx_env_close(v->idx, false);
out_unlock:
	vol_lock_release(v->lock_fd);
out_refs:
	vol_refs_fini(v);
out_locks:
	locks_fini(v);
out_free:
	free(v);
	return rc;
}

int vol_close(struct vol *v)
{
	int rc = 0, r;

	if (!v)
		return 0;
	uint64_t snap_disks = 0;

	if (!v->rdonly) {
		vol_control_stop(v);
		vol_snapper_stop(v);
		vol_drainer_fini(v);  /* its drain keeps its cursor for the next open */
		vol_scrubber_fini(v); /* likewise the scrub */
		vol_flusher_stop(v);
		/* Every reference is gone at close, so every orphan can go now. */
		vol_refs_fini(v);
		r = vol_refs_init(v);
		if (r == 0)
			r = vol_reclaim_orphans(v);
		if (r < 0)
			tfs_warn("volume %s: orphans left for the next open: %s", v->meta_dir,
				 tfs_strerror(r));
		rc = vol_sync_all(v);
	}
	/* trk_pool_close syncs every track: what commits after it (the clean
	 * mark) references nothing new, and the pool is gone. */
	idx_env_set_precommit(v->idx, NULL, NULL);
	if (!v->rdonly)
		snap_disks = vol_snapshot_disks(v);
	r = trk_pool_close(v->pool);
	if (r < 0 && rc == 0)
		rc = r;
	if (!v->rdonly) {
		/* Clean only if everything before it reached the disks: otherwise the
		 * next open must rebuild. */
		if (rc == 0 && v->keep_unclean)
			tfs_warn("volume %s: left marked unclean: it was opened without recovery, "
				 "so the next open rebuilds its free lists",
				 v->meta_dir);
		else if (rc == 0)
			rc = mark_clean(v, true);
		if (rc < 0) {
			tfs_err("volume %s: not marked clean (%s): the next open rebuilds",
				v->meta_dir, tfs_strerror(rc));
		} else if (snap_disks && idx_env_seq(v->idx) != v->snap_seq) {
			/* The index as the clean close left it, on the disks. */
			struct vol_snapshot_result sr;
			(void)vol_snapshot_to(v, snap_disks, NULL, &sr);
		}
	}
	r = idx_env_close(v->idx, !v->rdonly);
	if (r < 0 && rc == 0)
		rc = r;
	vol_lock_release(v->lock_fd);
	vol_refs_fini(v);
	locks_fini(v);
	free(v);
	return rc;
}

bool vol_was_unclean(const struct vol *v)
{
	return v->unclean;
}

const char *vol_meta_dir(const struct vol *v)
{
	return v->meta_dir;
}
