/* fallocate(2) over the chunk map: preallocating zero-filled chunks, punching
 * holes, zeroing ranges; and lseek's SEEK_DATA / SEEK_HOLE, answered from the
 * extents alone. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/log.h"
#include "fs/vol/data_int.h"

/* One transaction that ends a fallocate: unmap the whole chunks in
 * [cut_a, cut_b), grow the size to @p new_size if larger, set ctime (and
 * mtime when @p mtime or the size changed); bytes [zero_a, zero_b) now read
 * as zeros, as the caller asked, and are not lost any more. -EAGAIN when an
 * undo ran since @p gen: the tail zeroed and the edges written may not fit
 * the file now. */
static int falloc_finish(struct vol *v, uint64_t ino, uint64_t cut_a, uint64_t cut_b,
			 uint64_t zero_a, uint64_t zero_b, uint64_t new_size, bool mtime,
			 uint64_t gen)
{
	struct vol_runs pending = {0};
	struct idx_inode inode;
	struct idx_txn *txn;
	int rc;

	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		return rc;
	if (atomic_load(&v->undo_gen) != gen) {
		rc = -EAGAIN;
		goto out_abort_txn;
	}
	rc = idx_inode_get(txn, ino, &inode);
	if (rc < 0)
		goto out_abort_txn;
	if (cut_a < cut_b) {
		rc = vol_extents_cut(v, txn, &inode, cut_a, cut_b, &pending);
		if (rc < 0)
			goto out_abort_txn;
	}
	vol_now(&inode.ctime);
	if (new_size > inode.size) {
		inode.size = new_size;
		mtime = true;
	}
	if (mtime)
		inode.mtime = inode.ctime;
	rc = idx_inode_put(txn, &inode);
	if (rc < 0)
		goto out_abort_txn;
	rc = idx_txn_commit(txn);
	if (rc < 0) {
		vol_runs_fini(&pending);
		return rc;
	}
	vol_runs_release(v, &pending);
	vol_lost_clear(v, ino, zero_a, zero_b);
	return 0;

out_abort_txn:
	idx_txn_abort(txn);
	vol_runs_fini(&pending);
	return rc;
}

/* Find the first hole at or after @p pos below @p end: [*hs, *he).
 * @return 0, 1 when there is none, or -errno. */
static int next_hole(struct vol *v, uint64_t ino, uint64_t pos, uint64_t end, uint64_t *hs,
		     uint64_t *he)
{
	struct idx_extent e;
	struct idx_txn *txn;
	int rc = idx_txn_begin(v->idx, &txn);

	if (rc < 0)
		return rc;
	while (pos < end) {
		rc = idx_extent_seek(txn, ino, pos, &e);
		if (rc == -ENOENT || (rc == 0 && e.off > pos)) {
			*hs = pos;
			*he = rc == 0 && e.off < end ? e.off : end;
			rc = 0;
			goto out_abort_txn;
		}
		if (rc < 0)
			goto out_abort_txn;
		pos = e.off + (uint64_t)e.nchunks * v->chunk_size;
	}
	rc = 1;

out_abort_txn:
	idx_txn_abort(txn);
	return rc;
}

/* Mode 0 / KEEP_SIZE: every hole chunk in the range gets a zero-filled chunk. */
static int falloc_alloc(struct vol *v, uint64_t ino, const struct idx_inode *inode, uint64_t off,
			uint64_t end, bool keep, uint64_t gen)
{
	uint32_t cs = v->chunk_size;
	uint64_t pos = vol_round_down(off, cs), b = vol_round_up(end, cs);
	uint64_t hs = 0, he = 0;
	size_t zlen = b - pos < VOL_PIECE_MAX ? b - pos : VOL_PIECE_MAX;
	uint8_t *zero = NULL;
	int disk = inode->disk == IDX_NO_DISK ? -1 : inode->disk;
	int rc;

	if (!keep && end > inode->size) {
		rc = vol_zero_tail_locked(v, ino, inode->size, gen);
		if (rc < 0)
			return rc;
	}
	zero = vol_chunk_buf_alloc(zlen);
	if (!zero)
		return -ENOMEM;
	memset(zero, 0, zlen);
	while ((rc = next_hole(v, ino, pos, b, &hs, &he)) == 0) {
		/* Chunks from the free list hold old bytes: they must be written. */
		uint64_t n = he - hs < zlen ? he - hs : zlen;
		struct vol_cow c = {.start = hs,
				    .nseg = 1,
				    .seg = {{.buf = zero, .nchunks = (uint32_t)(n / cs)}},
				    .disk = disk,
				    .gen = gen};
		rc = vol_cow_locked(v, ino, &c);
		if (rc < 0)
			goto out_free;
		disk = c.disk;
		pos = hs + n;
	}
	if (rc < 0)
		goto out_free;
	/* Preallocation gives no bytes: lost ones stay lost. */
	rc = falloc_finish(v, ino, 0, 0, 0, 0, keep ? 0 : end, false, gen);

out_free:
	free(zero);
	return rc;
}

/* PUNCH_HOLE and ZERO_RANGE: zero the partial chunks at the edges by
 * copy-on-write, unmap the whole chunks inside. */
static int falloc_zero(struct vol *v, uint64_t ino, const struct idx_inode *inode, uint64_t off,
		       uint64_t end, bool grow, uint64_t gen)
{
	uint32_t cs = v->chunk_size;
	uint64_t a = vol_round_up(off, cs), b = vol_round_down(end, cs);
	int rc;

	if (grow && end > inode->size) {
		rc = vol_zero_tail_locked(v, ino, inode->size, gen);
		if (rc < 0)
			return rc;
	}
	if (a > b) {
		/* Both ends inside one chunk. */
		uint64_t c0 = vol_round_down(off, cs);
		rc = vol_chunk_zero_locked(v, ino, c0, (uint32_t)(off - c0), (uint32_t)(end - c0),
					   gen);
	} else {
		rc = 0;
		if (off % cs)
			rc = vol_chunk_zero_locked(v, ino, a - cs, (uint32_t)(off % cs), cs, gen);
		if (rc == 0 && end % cs)
			rc = vol_chunk_zero_locked(v, ino, b, 0, (uint32_t)(end % cs), gen);
	}
	if (rc < 0)
		return rc;
	return falloc_finish(v, ino, a, b, off, end, grow ? end : 0, true, gen);
}

int vol_fallocate(struct vol *v, uint64_t ino, unsigned mode, off_t off, off_t len)
{
	const unsigned known = VOL_FALLOC_KEEP_SIZE | VOL_FALLOC_PUNCH_HOLE | VOL_FALLOC_ZERO_RANGE;
	bool keep = mode & VOL_FALLOC_KEEP_SIZE;
	pthread_rwlock_t *lk = vol_ilock(v, ino);
	struct idx_inode inode;
	int rc;

	if (mode & ~known)
		return -EOPNOTSUPP;
	if ((mode & VOL_FALLOC_PUNCH_HOLE) && (mode & VOL_FALLOC_ZERO_RANGE))
		return -EOPNOTSUPP;
	/* fallocate(2): a hole punch must keep the size. */
	if ((mode & VOL_FALLOC_PUNCH_HOLE) && !keep)
		return -EOPNOTSUPP;
	if (off < 0 || len <= 0)
		return -EINVAL;
	if ((uint64_t)off > VOL_MAX_FILE_SIZE || (uint64_t)len > VOL_MAX_FILE_SIZE - (uint64_t)off)
		return -EFBIG;
	if (v->rdonly)
		return -EROFS;
	uint64_t end = (uint64_t)off + (uint64_t)len;

	pthread_rwlock_wrlock(lk);
	for (int redo = 0;; redo++) {
		/* Before the size: every step below is done again from the
		 * file as an undo left it (vol_cow.gen); each is idempotent. */
		uint64_t gen = atomic_load(&v->undo_gen);
		rc = vol_inode_read(v, ino, &inode);
		if (rc < 0)
			goto out_unlock;
		if (!S_ISREG(inode.mode)) {
			rc = S_ISDIR(inode.mode) ? -EISDIR : -ENODEV;
			goto out_unlock;
		}
		if (mode & VOL_FALLOC_PUNCH_HOLE)
			rc = falloc_zero(v, ino, &inode, (uint64_t)off, end, false, gen);
		else if (mode & VOL_FALLOC_ZERO_RANGE)
			rc = falloc_zero(v, ino, &inode, (uint64_t)off, end, !keep, gen);
		else
			rc = falloc_alloc(v, ino, &inode, (uint64_t)off, end, keep, gen);
		if (rc != -EAGAIN || redo == VOL_REDO_MAX)
			break;
	}

out_unlock:
	pthread_rwlock_unlock(lk);
	return rc;
}

int vol_lseek(struct vol *v, uint64_t ino, off_t off, int whence, off_t *out)
{
	pthread_rwlock_t *lk = vol_ilock(v, ino);
	struct idx_inode inode;
	struct idx_extent e;
	struct idx_txn *txn;
	uint64_t pos = (uint64_t)off;
	int rc;

	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return -EINVAL;
	pthread_rwlock_rdlock(lk);
	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		goto out_unlock;
	rc = vol_file_get(txn, ino, &inode);
	if (rc < 0)
		goto out_abort_txn;
	if (off < 0 || pos >= inode.size) {
		rc = -ENXIO;
		goto out_abort_txn;
	}
	if (whence == SEEK_DATA) {
		rc = idx_extent_seek(txn, ino, pos, &e);
		if (rc == -ENOENT || (rc == 0 && e.off >= inode.size))
			rc = -ENXIO;
		if (rc < 0)
			goto out_abort_txn;
		if (e.off > pos)
			pos = e.off;
	} else {
		/* There is an implicit hole at EOF. */
		while (pos < inode.size) {
			rc = idx_extent_seek(txn, ino, pos, &e);
			if (rc == -ENOENT || (rc == 0 && e.off > pos)) {
				rc = 0;
				break;
			}
			if (rc < 0)
				goto out_abort_txn;
			pos = e.off + (uint64_t)e.nchunks * v->chunk_size;
		}
		if (pos > inode.size)
			pos = inode.size;
	}
	*out = (off_t)pos;

out_abort_txn:
	idx_txn_abort(txn);
out_unlock:
	pthread_rwlock_unlock(lk);
	return rc;
}
