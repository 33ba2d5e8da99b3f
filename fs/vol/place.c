/* Choosing the disk of a file before it has chunks: files that are to be put
 * together without copying (vol_move_range) must have their chunks on one
 * disk, and the S3 sidecar places every part of a multipart upload on the
 * disk it chose when the upload began. */
#include <errno.h>
#include <sys/stat.h>

#include "fs/vol/data_int.h"

int vol_pick_disk(struct vol *v)
{
	if (v->rdonly)
		return -EROFS;
	return trk_pool_pick_disk(v->pool);
}

int vol_set_disk(struct vol *v, uint64_t ino, int disk)
{
	struct idx_inode inode;
	struct idx_txn *txn;
	int rc;

	if (v->rdonly)
		return -EROFS;
	if (disk < 0 || (unsigned)disk >= trk_pool_ndisks(v->pool))
		return -EINVAL;
	pthread_rwlock_wrlock(vol_ilock(v, ino));
	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		goto out_unlock;
	rc = vol_file_get(txn, ino, &inode);
	if (rc < 0)
		goto out_abort_txn;
	if (inode.disk == (uint16_t)disk) {
		rc = 0;
		goto out_abort_txn;
	}
	if (inode.blocks) {
		rc = -EBUSY;
		goto out_abort_txn;
	}
	inode.disk = (uint16_t)disk;
	rc = idx_inode_put(txn, &inode);
	if (rc < 0)
		goto out_abort_txn;
	rc = idx_txn_commit(txn);
	goto out_unlock;

out_abort_txn:
	idx_txn_abort(txn);
out_unlock:
	pthread_rwlock_unlock(vol_ilock(v, ino));
	return rc;
}
