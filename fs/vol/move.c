/* Moving chunks from one file to another without copying them: the extents
 * change owner in one index transaction, checksums and all (the S3
 * sidecar's CompleteMultipartUpload puts the parts together this way).
 * Nothing is written to the disks and nothing is freed: every chunk moved is
 * referenced by exactly one extent before and after (invariant 1). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/vol/data_int.h"

/* Both ilocks exclusive, in address order (two inodes may share a stripe). */
static void lock_pair(struct vol *v, uint64_t a, uint64_t b)
{
	pthread_rwlock_t *la = vol_ilock(v, a), *lb = vol_ilock(v, b);

	if (la > lb) {
		pthread_rwlock_t *t = la;
		la = lb;
		lb = t;
	}
	pthread_rwlock_wrlock(la);
	if (lb != la)
		pthread_rwlock_wrlock(lb);
}

static void unlock_pair(struct vol *v, uint64_t a, uint64_t b)
{
	pthread_rwlock_t *la = vol_ilock(v, a), *lb = vol_ilock(v, b);

	pthread_rwlock_unlock(la);
	if (lb != la)
		pthread_rwlock_unlock(lb);
}

/* The moves themselves, inside @p txn: src's extents over [a, b) become dst's
 * at @p dst_off + (offset - @p src_off). *disk is the disk they must all be
 * on (IDX_NO_DISK: whichever the first one is on). */
static int move_extents(struct vol *v, struct idx_txn *txn, struct idx_inode *si,
			struct idx_inode *di, uint64_t src_off, uint64_t b, uint64_t dst_off,
			uint16_t *disk)
{
	uint32_t cs = v->chunk_size;
	uint64_t a = src_off;
	struct idx_extent e, m;
	int rc;

	while (a < b) {
		rc = vol_extent_next_in(v, txn, si->ino, a, b, &e);
		if (rc <= 0)
			return rc;
		if (*disk == IDX_NO_DISK)
			*disk = e.disk;
		if (e.disk != *disk)
			return -EXDEV;
		uint64_t eend = e.off + (uint64_t)e.nchunks * cs;
		uint64_t lo = e.off > a ? e.off : a, hi = eend < b ? eend : b;
		uint32_t i0 = (uint32_t)((lo - e.off) / cs), i1 = (uint32_t)((hi - e.off) / cs);

		memset(&m, 0, sizeof(m));
		m.off = dst_off + (lo - src_off);
		m.disk = e.disk;
		m.track = e.track;
		m.chunk = e.chunk + i0;
		m.nchunks = i1 - i0;
		memcpy(m.sums, &e.sums[i0], m.nchunks * sizeof(m.sums[0]));
		rc = idx_extent_put(txn, di->ino, &m);
		if (rc < 0)
			return rc;
		/* Unmapped from src without freeing: dst holds them now. */
		rc = vol_extents_unmap(v, txn, si, lo, hi);
		if (rc < 0)
			return rc;
		di->blocks += m.nchunks;
		a = hi;
	}
	return 0;
}

int vol_move_range(struct vol *v, uint64_t src, uint64_t src_off, uint64_t len, uint64_t dst,
		   uint64_t dst_off)
{
	uint32_t cs = v->chunk_size;
	struct idx_inode si, di;
	struct idx_extent e;
	struct idx_txn *txn;
	bool zeroed = false;
	uint16_t disk;
	uint64_t gen;
	int redo = 0;
	int rc;

	if (v->rdonly)
		return -EROFS;
	if (src == dst || src_off + len < src_off || dst_off + len < dst_off)
		return -EINVAL;
	if (src_off % cs || dst_off % cs)
		return -EXDEV;
	if (dst_off + len > VOL_MAX_FILE_SIZE)
		return -EFBIG;
	lock_pair(v, src, dst);
	/* The chunks change owner, so the notes of writes not yet durable no
	 * longer describe them (lost_writes.c): make them durable first, and
	 * refuse to pass on a range whose write was lost. */
	if (vol_wnotes_pending(v, src)) {
		rc = vol_sync_all(v);
		if (rc < 0)
			goto out_unlock;
	}
	if (vol_lost_has(v, src, src_off, src_off + len)) {
		rc = -EIO;
		goto out_unlock;
	}
	/* Before dst's size is read: an undo of one of dst's writes after it
	 * (src has none left, see above) makes this start over. */
	gen = atomic_load(&v->undo_gen);
again:
	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		goto out_unlock;
	if (zeroed && atomic_load(&v->undo_gen) != gen) {
		/* The tail zeroed for the size read before may not be dst's. */
		idx_txn_abort(txn);
		zeroed = false;
		rc = -EAGAIN;
		if (redo++ == VOL_REDO_MAX)
			goto out_unlock;
		gen = atomic_load(&v->undo_gen);
		goto again;
	}
	rc = vol_file_get(txn, src, &si);
	if (rc == 0)
		rc = vol_file_get(txn, dst, &di);
	if (rc < 0)
		goto out_abort_txn;
	if (src_off + len > si.size) {
		rc = -EINVAL;
		goto out_abort_txn;
	}
	/* A range that ends inside a chunk must end at src's end of file (the
	 * rest of that chunk is zero there); dst must be empty from dst_off. */
	rc = -EXDEV;
	if ((len % cs && src_off + len != si.size) || di.size > dst_off)
		goto out_abort_txn;
	rc = idx_extent_seek(txn, dst, dst_off, &e);
	if (rc == 0)
		rc = -EXDEV; /* chunks allocated past dst's end of file */
	if (rc != -ENOENT)
		goto out_abort_txn;
	/* The EOF rule, before dst's size grows past a partly used chunk:
	 * bytes a truncate left there must read as zeros. That writes (no txn
	 * may be held), so it comes once the move is known to be possible. */
	if (dst_off > di.size && di.size % cs && !zeroed) {
		idx_txn_abort(txn);
		rc = vol_zero_tail_locked(v, dst, di.size, gen);
		if (rc == -EAGAIN && redo++ < VOL_REDO_MAX) {
			gen = atomic_load(&v->undo_gen);
			goto again;
		}
		if (rc < 0)
			goto out_unlock;
		zeroed = true;
		goto again;
	}

	disk = di.disk;
	rc = move_extents(v, txn, &si, &di, src_off, vol_round_up(src_off + len, cs), dst_off,
			  &disk);
	if (rc < 0)
		goto out_abort_txn;
	if (di.disk == IDX_NO_DISK)
		di.disk = disk;
	if (dst_off + len > di.size)
		di.size = dst_off + len;
	if (src_off + len == si.size)
		si.size = src_off;
	vol_now(&si.ctime);
	si.mtime = si.ctime;
	di.ctime = si.ctime;
	di.mtime = si.ctime;
	rc = idx_inode_put(txn, &si);
	if (rc == 0)
		rc = idx_inode_put(txn, &di);
	if (rc < 0)
		goto out_abort_txn;
	rc = idx_txn_commit(txn);
	/* dst's bytes there are src's now, given by the caller. */
	if (rc == 0)
		vol_lost_clear(v, dst, dst_off, dst_off + len);
	goto out_unlock;

out_abort_txn:
	idx_txn_abort(txn);
out_unlock:
	unlock_pair(v, src, dst);
	return rc;
}
