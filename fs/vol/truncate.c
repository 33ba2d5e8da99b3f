/* Truncation: zeroing part of a chunk by copy-on-write (the EOF rule), the
 * tail of a file, and setting a file's size (its extents cut through
 * extents.c). */
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
