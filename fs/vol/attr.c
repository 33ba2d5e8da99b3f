/* Attributes: converting index inodes to struct vol_attr, getattr, and
 * setattr (mode, owner, times, and size through the data path's truncate). */
#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "core/base/log.h"
#include "fs/vol/vol_int.h"

void vol_now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

void vol_now_born(struct timespec *ts)
{
	/* The kernel stamps writes with current_time(), the coarse clock (one
	 * tick). A new file stamped from the same clock is written in the tick
	 * it was created in without its times changing, so the kernel has no
	 * times to send back when it is closed: one FUSE round trip less per
	 * small file. ext4 stamps new files from this clock too. Since Linux
	 * 6.13 current_time() may be later than this clock within a tick (the
	 * multigrain "floor" other filesystems raise), which userspace cannot
	 * read: then the times are sent back as before, nothing is wrong. */
	clock_gettime(CLOCK_REALTIME_COARSE, ts);
}

void vol_attr_from_inode(const struct vol *v, const struct idx_inode *in, struct vol_attr *out)
{
	*out = (struct vol_attr){
		.ino = in->ino,
		.mode = in->mode,
		.nlink = in->nlink,
		.uid = in->uid,
		.gid = in->gid,
		.rdev = in->rdev,
		.size = in->size,
		.blocks = in->blocks * (v->chunk_size / 512),
		/* Tools size their buffers by st_blksize: a chunk is the unit that
		 * moves without read-modify-write. */
		.blksize = v->chunk_size < 4096 ? 4096 : v->chunk_size,
		.generation = in->generation,
		.atime = in->atime,
		.mtime = in->mtime,
		.ctime = in->ctime,
		.btime = in->btime,
	};
}

int vol_getattr(struct vol *v, uint64_t ino, struct vol_attr *out)
{
	struct idx_inode inode;
	struct idx_txn *txn;
	int rc;

	rc = idx_txn_begin_read(v->idx, &txn);
	if (rc < 0)
		return rc;
	rc = idx_inode_get(txn, ino, &inode);
	idx_txn_abort(txn);
	if (rc < 0)
		return rc;
	vol_attr_from_inode(v, &inode, out);
	return 0;
}

/* The size part of setattr: check the type, then truncate under the inode's
 * data lock, with no index transaction held (vol_truncate_locked opens its
 * own). */
static int set_size(struct vol *v, uint64_t ino, uint64_t size)
{
	struct vol_attr cur;
	int rc;

	if (size > VOL_MAX_FILE_SIZE)
		return -EFBIG;
	rc = vol_getattr(v, ino, &cur);
	if (rc < 0)
		return rc;
	if (S_ISDIR(cur.mode))
		return -EISDIR;
	if (!S_ISREG(cur.mode))
		return -EINVAL;
	return vol_truncate_locked(v, ino, size, true);
}

int vol_setattr(struct vol *v, uint64_t ino, const struct vol_attr *in, unsigned mask,
		struct vol_attr *out)
{
	pthread_rwlock_t *il = vol_ilock(v, ino);
	struct idx_inode inode;
	struct idx_txn *txn;
	struct timespec now;
	int rc;

	if (v->rdonly)
		return -EROFS;
	/* Hold the data lock across the truncate and the other fields so the
	 * attributes returned describe one state. */
	pthread_rwlock_wrlock(il);
	if (mask & VOL_SET_SIZE) {
		rc = set_size(v, ino, in->size);
		if (rc < 0)
			goto out_unlock;
	}
	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		goto out_unlock;
	rc = idx_inode_get(txn, ino, &inode);
	if (rc < 0)
		goto out_abort_txn;

	unsigned other = mask & ~(unsigned)VOL_SET_SIZE;
	if (other) {
		vol_now(&now);
		if (mask & VOL_SET_MODE)
			inode.mode = (inode.mode & S_IFMT) | (in->mode & 07777);
		if (mask & VOL_SET_UID)
			inode.uid = in->uid;
		if (mask & VOL_SET_GID)
			inode.gid = in->gid;
		/* As chown(2) does: a change of owner drops setuid, and setgid when
		 * the group may execute (otherwise it means mandatory locking), for
		 * everything but directories; unless the caller sets the mode in the
		 * same call, which then says what it wants. */
		if ((mask & (VOL_SET_UID | VOL_SET_GID)) && !(mask & VOL_SET_MODE) &&
		    !S_ISDIR(inode.mode)) {
			inode.mode &= ~(uint32_t)S_ISUID;
			if (inode.mode & S_IXGRP)
				inode.mode &= ~(uint32_t)S_ISGID;
		}
		if (mask & VOL_SET_ATIME_NOW)
			inode.atime = now;
		else if (mask & VOL_SET_ATIME)
			inode.atime = in->atime;
		if (mask & VOL_SET_MTIME_NOW)
			inode.mtime = now;
		else if (mask & VOL_SET_MTIME)
			inode.mtime = in->mtime;
		inode.ctime = (mask & VOL_SET_CTIME) ? in->ctime : now;
		/* chmod rewrites the access ACL to match (acl.c). */
		if (mask & VOL_SET_MODE) {
			rc = vol_acl_chmod(txn, ino, inode.mode);
			if (rc < 0)
				goto out_abort_txn;
		}
		rc = idx_inode_put(txn, &inode);
		if (rc < 0)
			goto out_abort_txn;
		rc = idx_txn_commit(txn);
		if (rc < 0)
			goto out_unlock;
	} else {
		idx_txn_abort(txn);
	}
	if (out)
		vol_attr_from_inode(v, &inode, out);
	pthread_rwlock_unlock(il);
	return 0;

out_abort_txn:
	idx_txn_abort(txn);
out_unlock:
	pthread_rwlock_unlock(il);
	return rc;
}
