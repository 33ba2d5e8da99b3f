/* The chunk and extent toolkit: lists of chunk runs to free once a commit
 * is durable, walking and cutting a file's extents inside a transaction
 * (truncate, hole punch, delete), and reading a file's inode. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/log.h"
#include "fs/vol/data_int.h"

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
	 * transaction was committed since its index sync (sync.c), so these
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
 * the index (open.c). Other runs go to @p pending, or to the pool's
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
