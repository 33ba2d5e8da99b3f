/* Freeing a file's chunks (truncate, hole punch, delete) as pure index work
 * inside a transaction, the truncate itself, and single chunks: reading one
 * verified, zeroing part of one by copy-on-write (the EOF rule). */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/log.h"
#include "fs/vol_data_int.h"

int vol_runs_push(struct vol_runs *rs, const struct trk_run *run)
{
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? 2 * rs->cap : 8;
		struct trk_run *nr = realloc(rs->r, cap * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		rs->r = nr;
		rs->cap = cap;
	}
	rs->r[rs->n++] = *run;
	return 0;
}

void vol_runs_fini(struct vol_runs *rs)
{
	free(rs->r);
	rs->r = NULL;
	rs->n = rs->cap = 0;
}

static void free_deferred(struct vol *v, const struct trk_run *run)
{
	int rc = trk_pool_free_deferred(v->pool, run);

	if (rc < 0)
		tfs_warn("free %" PRIu32 " chunks at disk %s track %" PRIu32 " chunk %" PRIu32
			 ": %s; they stay unused until fsck.trackfs --repair or the next "
			 "unclean mount rebuilds the free lists",
			 run->count, trk_pool_disk_path(v->pool, run->disk), run->track, run->chunk,
			 tfs_strerror(rc));
}

void vol_runs_release(struct vol *v, struct vol_runs *rs)
{
	/* After the commit: vol_sync_all releases deferred frees only while no
	 * transaction was committed since its index sync (vol_sync.c), so these
	 * wait for the sync that makes our commit durable. */
	for (size_t i = 0; i < rs->n; i++)
		free_deferred(v, &rs->r[i]);
	vol_runs_fini(rs);
}

int vol_extent_next_in(struct vol *v, struct idx_txn *txn, uint64_t ino, uint64_t a, uint64_t b,
		       struct idx_extent *e)
{
	uint32_t cs = v->chunk_size;
	int rc = idx_extent_seek(txn, ino, a, e);

	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (e->off >= b)
		return 0;
	if (e->nchunks == 0 || e->nchunks > IDX_EXTENT_MAX_CHUNKS || e->off % cs ||
	    e->off + (uint64_t)e->nchunks * cs <= a) {
		tfs_err("inode %" PRIu64 ": malformed extent at offset %" PRIu64
			" in the index; run fsck.trackfs",
			ino, e->off);
		return -EIO;
	}
	return 1;
}

/*
 * The index stops referencing @p r inside @p txn. Nothing is written to a
 * missing disk, so a run on one cannot go on its free list: the disk's
 * stale-disk record, written in this same transaction, keeps the free until
 * the disk is back and the first mount with it rebuilds the free lists from
 * the index (vol_open.c). Other runs go to @p pending, or to the pool's
 * deferred list at once when @p pending is NULL.
 */
static int run_freed(struct vol *v, struct idx_txn *txn, const struct trk_run *r,
		     struct vol_runs *pending)
{
	if (r->disk < trk_pool_ndisks(v->pool) && trk_pool_disk_missing(v->pool, r->disk)) {
		int rc = idx_disk_stale_add(txn, r->disk, r->count, 0);
		if (rc == 0 &&
		    !(atomic_fetch_or(&v->stale_noted, 1ull << r->disk) & (1ull << r->disk)))
			tfs_info("disk %u (%s) is missing: chunks of its files that are deleted, "
				 "truncated or overwritten now become free when it is back (the "
				 "first mount with it rebuilds its free lists)",
				 r->disk, trk_pool_disk_path(v->pool, r->disk));
		return rc;
	}
	if (pending)
		return vol_runs_push(pending, r);
	free_deferred(v, r);
	return 0;
}

/* vol_extents_cut and vol_extents_unmap: @p freeing says whether the runs
 * unmapped stop being used (else another extent took them over). */
static int extents_cut(struct vol *v, struct idx_txn *txn, struct idx_inode *inode, uint64_t a,
		       uint64_t b, bool freeing, struct vol_runs *pending, struct vol_wnote *note)
{
	uint32_t cs = v->chunk_size;
	struct idx_extent e;
	int rc;

	while (a < b) {
		rc = vol_extent_next_in(v, txn, inode->ino, a, b, &e);
		if (rc <= 0)
			return rc;
		uint64_t eend = e.off + (uint64_t)e.nchunks * cs;
		uint64_t lo = e.off > a ? e.off : a, hi = eend < b ? eend : b;
		uint32_t i0 = (uint32_t)((lo - e.off) / cs), i1 = (uint32_t)((hi - e.off) / cs);
		struct trk_run r = {
			.disk = e.disk, .track = e.track, .chunk = e.chunk + i0, .count = i1 - i0};

		if (note) {
			rc = vol_wnote_old(note, &e, lo, i0, i1 - i0, (b - lo) / cs);
			if (rc < 0)
				return rc;
		}
		if (i1 < e.nchunks) {
			/* The part after the range lives on under a new key. */
			struct idx_extent tail = e;
			tail.off = hi;
			tail.chunk = e.chunk + i1;
			tail.nchunks = e.nchunks - i1;
			memmove(tail.sums, &e.sums[i1], tail.nchunks * sizeof(e.sums[0]));
			rc = idx_extent_put(txn, inode->ino, &tail);
			if (rc < 0)
				return rc;
		}
		if (i0 == 0) {
			rc = idx_extent_del(txn, inode->ino, e.off);
		} else {
			e.nchunks = i0;
			rc = idx_extent_put(txn, inode->ino, &e);
		}
		if (rc < 0)
			return rc;
		if (freeing) {
			rc = run_freed(v, txn, &r, pending);
			if (rc < 0)
				return rc;
		}
		inode->blocks = inode->blocks >= r.count ? inode->blocks - r.count : 0;
		a = hi;
	}
	return 0;
}

int vol_extents_cut(struct vol *v, struct idx_txn *txn, struct idx_inode *inode, uint64_t a,
		    uint64_t b, struct vol_runs *pending)
{
	return extents_cut(v, txn, inode, a, b, true, pending, NULL);
}

int vol_extents_cut_noted(struct vol *v, struct idx_txn *txn, struct idx_inode *inode, uint64_t a,
			  uint64_t b, struct vol_runs *pending, struct vol_wnote *note)
{
	return extents_cut(v, txn, inode, a, b, true, pending, note);
}

int vol_extents_unmap(struct vol *v, struct idx_txn *txn, struct idx_inode *inode, uint64_t a,
		      uint64_t b)
{
	return extents_cut(v, txn, inode, a, b, false, NULL, NULL);
}

int vol_extents_free_from(struct vol *v, struct idx_txn *txn, struct idx_inode *inode,
			  uint64_t from)
{
	return vol_extents_cut(v, txn, inode, vol_round_up(from, v->chunk_size), UINT64_MAX, NULL);
}

int vol_extents_free_range(struct vol *v, struct idx_txn *txn, struct idx_inode *inode,
			   uint64_t off, uint64_t len)
{
	uint64_t a = vol_round_up(off, v->chunk_size);
	uint64_t b = len > UINT64_MAX - off ? UINT64_MAX : vol_round_down(off + len, v->chunk_size);

	return a < b ? vol_extents_cut(v, txn, inode, a, b, NULL) : 0;
}

/* ---- single chunks ------------------------------------------------------- */

int vol_inode_read(struct vol *v, uint64_t ino, struct idx_inode *out)
{
	struct idx_txn *txn;
	int rc = idx_txn_begin(v->idx, &txn);

	if (rc < 0)
		return rc;
	rc = idx_inode_get(txn, ino, out);
	idx_txn_abort(txn);
	return rc;
}

static int regular(const struct idx_inode *in)
{
	if (S_ISREG(in->mode))
		return 0;
	return S_ISDIR(in->mode) ? -EISDIR : -EINVAL;
}

int vol_file_get(struct idx_txn *txn, uint64_t ino, struct idx_inode *out)
{
	int rc = idx_inode_get(txn, ino, out);

	return rc < 0 ? rc : regular(out);
}

int vol_file_read(struct vol *v, uint64_t ino, struct idx_inode *out)
{
	int rc = vol_inode_read(v, ino, out);

	return rc < 0 ? rc : regular(out);
}

int vol_chunk_lookup(struct vol *v, uint64_t ino, uint64_t coff, struct idx_extent *ext,
		     uint32_t *idx)
{
	struct idx_txn *txn;
	int rc = idx_txn_begin(v->idx, &txn);

	if (rc < 0)
		return rc;
	rc = idx_extent_seek(txn, ino, coff, ext);
	idx_txn_abort(txn);
	if (rc < 0)
		return rc;
	if (ext->off > coff)
		return -ENOENT;
	*idx = (uint32_t)((coff - ext->off) / v->chunk_size);
	return 0;
}

/* The path of the file a bad chunk belongs to, for the log line. Finding it
 * scans the directory table, so the last answer is kept: a reader retrying
 * the same bad chunk does not pay for it again. */
static pthread_mutex_t bad_path_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct vol *bad_path_vol;
static uint64_t bad_path_ino;
static char bad_path[PATH_MAX];

static void bad_chunk_path(struct vol *v, uint64_t ino, char *buf, size_t size)
{
	pthread_mutex_lock(&bad_path_lock);
	if (bad_path_vol != v || bad_path_ino != ino) {
		if (vol_ino_path(v, ino, bad_path, sizeof(bad_path)) < 0)
			snprintf(bad_path, sizeof(bad_path), "(a file with no name left)");
		bad_path_vol = v;
		bad_path_ino = ino;
	}
	snprintf(buf, size, "%s", bad_path);
	pthread_mutex_unlock(&bad_path_lock);
}

void vol_log_bad_chunk(struct vol *v, uint64_t ino, const struct idx_extent *ext, uint32_t idx)
{
	char path[PATH_MAX];

	if (ext->disk < VOL_MAX_DISKS)
		atomic_fetch_add(&v->ctr.csum_bad[ext->disk], 1);
	bad_chunk_path(v, ino, path, sizeof(path));
	tfs_err("read of %s (inode %" PRIu64 ") at offset %" PRIu64 ": chunk checksum mismatch on "
		"disk %s track %" PRIu32 " chunk %" PRIu32 "; returning EIO, never the bad bytes; "
		"run fsck.trackfs --scrub, and restore the file from a backup",
		path, ino, ext->off + (uint64_t)idx * v->chunk_size,
		trk_pool_disk_path(v->pool, ext->disk), ext->track, ext->chunk + idx);
}

int vol_chunk_read_verified(struct vol *v, uint64_t ino, const struct idx_extent *ext, uint32_t idx,
			    void *buf)
{
	struct trk_run r = vol_ext_run(ext, idx, 1);
	int rc = trk_io_read(v->pool, &r, 0, buf, v->chunk_size);

	if (rc < 0)
		return rc;
	if (trk_checksum(buf, v->chunk_size) != ext->sums[idx]) {
		vol_log_bad_chunk(v, ino, ext, idx);
		return -EIO;
	}
	return 0;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

int vol_chunk_zero_locked(struct vol *v, uint64_t ino, uint64_t coff, uint32_t from, uint32_t to,
			  uint64_t gen)
{
	uint32_t cs = v->chunk_size;
	struct idx_extent e;
	struct idx_inode inode;
	uint32_t idx;
	uint8_t *buf = NULL;
	int rc;

	if (from >= to)
		return 0;
	rc = vol_chunk_lookup(v, ino, coff, &e, &idx);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	buf = vol_chunk_buf_alloc(cs);
	if (!buf)
		return -ENOMEM;
	rc = vol_chunk_read_verified(v, ino, &e, idx, buf);
	if (rc < 0)
		goto out_free;
	/* Most tails are zero already (writes zero past EOF): skip the copy. */
	if (all_zero(buf + from, to - from))
		goto out_free;
	memset(buf + from, 0, to - from);
	rc = vol_inode_read(v, ino, &inode);
	if (rc < 0)
		goto out_free;
	struct vol_cow c = {.start = coff,
			    .nseg = 1,
			    .seg = {{.buf = buf, .nchunks = 1}},
			    .disk = inode.disk == IDX_NO_DISK ? -1 : inode.disk,
			    .gen = gen};
	rc = vol_cow_locked(v, ino, &c);

out_free:
	free(buf);
	return rc;
}

int vol_zero_tail_locked(struct vol *v, uint64_t ino, uint64_t size, uint64_t gen)
{
	uint32_t cs = v->chunk_size;

	if (size % cs == 0)
		return 0;
	return vol_chunk_zero_locked(v, ino, vol_round_down(size, cs), (uint32_t)(size % cs), cs,
				     gen);
}

/* Write the new size (and times) of @p ino, freeing chunks past it when it
 * shrinks, in one transaction; -EAGAIN when an undo ran since @p gen (the
 * size the caller zeroed the tail for may not be the file's any more). */
static int set_size(struct vol *v, uint64_t ino, uint64_t size, bool touch, uint64_t gen)
{
	struct vol_runs pending = {0};
	struct idx_inode inode;
	struct idx_txn *txn;
	int rc;

	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		return rc;
	idx_txn_use_reserve(txn); /* truncating frees space (growing costs little) */
	if (atomic_load(&v->undo_gen) != gen) {
		rc = -EAGAIN;
		goto out_abort_txn;
	}
	rc = idx_inode_get(txn, ino, &inode);
	if (rc < 0)
		goto out_abort_txn;
	if (size < inode.size) {
		rc = vol_extents_cut(v, txn, &inode, vol_round_up(size, v->chunk_size), UINT64_MAX,
				     &pending);
		if (rc < 0)
			goto out_abort_txn;
	}
	inode.size = size;
	if (touch) {
		vol_now(&inode.mtime);
		inode.ctime = inode.mtime;
	}
	rc = idx_inode_put(txn, &inode);
	if (rc < 0)
		goto out_abort_txn;
	rc = idx_txn_commit(txn);
	if (rc < 0) {
		vol_runs_fini(&pending);
		return rc;
	}
	vol_runs_release(v, &pending);
	/* A lost write cut off with the rest is nothing fsync must report. */
	vol_lost_clear(v, ino, size, UINT64_MAX);
	return 0;

out_abort_txn:
	idx_txn_abort(txn);
	vol_runs_fini(&pending);
	return rc;
}

int vol_truncate_locked(struct vol *v, uint64_t ino, uint64_t size, bool touch)
{
	struct idx_inode inode;
	int rc;

	if (v->rdonly)
		return -EROFS;
	if (size > VOL_MAX_FILE_SIZE)
		return -EFBIG;
	for (int redo = 0;; redo++) {
		uint64_t gen = atomic_load(&v->undo_gen); /* before the size */
		rc = vol_file_read(v, ino, &inode);
		if (rc < 0)
			return rc;
		rc = size > inode.size ? vol_zero_tail_locked(v, ino, inode.size, gen) : 0;
		if (rc == 0)
			rc = set_size(v, ino, size, touch, gen);
		if (rc != -EAGAIN || redo == VOL_REDO_MAX)
			return rc;
	}
}
