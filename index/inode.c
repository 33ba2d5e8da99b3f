/* Inode records: encode/decode of the fixed little-endian layout in
 * format_int.h, get/put/delete by number and iteration in number order. */
#include <errno.h>
#include <string.h>

#include "core/base/log.h"
#include "index/format_int.h"
#include "index/idx_int.h"

static void put_time(uint8_t *p, const struct timespec *ts)
{
	tfs_put_le64(p, (uint64_t)ts->tv_sec);
	tfs_put_le32(p + 8, (uint32_t)ts->tv_nsec);
}

static bool get_time(const uint8_t *p, struct timespec *ts)
{
	uint32_t nsec = tfs_get_le32(p + 8);

	ts->tv_sec = (time_t)(int64_t)tfs_get_le64(p);
	ts->tv_nsec = nsec;
	return nsec < 1000000000u;
}

static void inode_encode(const struct idx_inode *in, uint8_t buf[IDX_INO_LEN])
{
	memset(buf, 0, IDX_INO_LEN);
	buf[IDX_INO_VERSION] = IDX_INODE_VERSION;
	tfs_put_le16(buf + IDX_INO_DISK, in->disk);
	tfs_put_le32(buf + IDX_INO_MODE, in->mode);
	tfs_put_le32(buf + IDX_INO_UID, in->uid);
	tfs_put_le32(buf + IDX_INO_GID, in->gid);
	tfs_put_le32(buf + IDX_INO_NLINK, in->nlink);
	tfs_put_le32(buf + IDX_INO_FLAGS, in->flags);
	tfs_put_le64(buf + IDX_INO_SIZE, in->size);
	tfs_put_le64(buf + IDX_INO_RDEV, in->rdev);
	tfs_put_le64(buf + IDX_INO_BLOCKS, in->blocks);
	tfs_put_le64(buf + IDX_INO_GENERATION, in->generation);
	tfs_put_le64(buf + IDX_INO_PARENT, in->parent);
	put_time(buf + IDX_INO_TIMES + 0 * IDX_INO_TIME_SIZE, &in->atime);
	put_time(buf + IDX_INO_TIMES + 1 * IDX_INO_TIME_SIZE, &in->mtime);
	put_time(buf + IDX_INO_TIMES + 2 * IDX_INO_TIME_SIZE, &in->ctime);
	put_time(buf + IDX_INO_TIMES + 3 * IDX_INO_TIME_SIZE, &in->btime);
}

static int inode_decode(struct idx_txn *txn, uint64_t ino, const MDB_val *val,
			struct idx_inode *out)
{
	const uint8_t *p = val->mv_data;
	bool ok = true;

	if (val->mv_size != IDX_INO_LEN)
		return idx_corrupt(txn, "inode record has a bad length", ino);
	if (p[IDX_INO_VERSION] != IDX_INODE_VERSION)
		return idx_corrupt(txn, "inode record has an unknown version", ino);
	memset(out, 0, sizeof(*out));
	out->ino = ino;
	out->disk = tfs_get_le16(p + IDX_INO_DISK);
	out->mode = tfs_get_le32(p + IDX_INO_MODE);
	out->uid = tfs_get_le32(p + IDX_INO_UID);
	out->gid = tfs_get_le32(p + IDX_INO_GID);
	out->nlink = tfs_get_le32(p + IDX_INO_NLINK);
	out->flags = tfs_get_le32(p + IDX_INO_FLAGS);
	out->size = tfs_get_le64(p + IDX_INO_SIZE);
	out->rdev = tfs_get_le64(p + IDX_INO_RDEV);
	out->blocks = tfs_get_le64(p + IDX_INO_BLOCKS);
	out->generation = tfs_get_le64(p + IDX_INO_GENERATION);
	out->parent = tfs_get_le64(p + IDX_INO_PARENT);
	ok &= get_time(p + IDX_INO_TIMES + 0 * IDX_INO_TIME_SIZE, &out->atime);
	ok &= get_time(p + IDX_INO_TIMES + 1 * IDX_INO_TIME_SIZE, &out->mtime);
	ok &= get_time(p + IDX_INO_TIMES + 2 * IDX_INO_TIME_SIZE, &out->ctime);
	ok &= get_time(p + IDX_INO_TIMES + 3 * IDX_INO_TIME_SIZE, &out->btime);
	if (!ok)
		return idx_corrupt(txn, "inode record has nanoseconds >= 1e9", ino);
	return 0;
}

int idx_inode_get(struct idx_txn *txn, uint64_t ino, struct idx_inode *out)
{
	uint8_t kb[8];
	MDB_val key, val;
	int rc;

	idx_key64(kb, &key, ino);
	rc = idx_db_get(txn, IDX_DB_INODE, &key, &val);
	if (rc)
		return rc;
	return inode_decode(txn, ino, &val, out);
}

int idx_inode_put(struct idx_txn *txn, const struct idx_inode *inode)
{
	uint8_t kb[8], buf[IDX_INO_LEN];
	MDB_val key, val;

	if (inode->ino == 0 || inode->atime.tv_nsec < 0 || inode->atime.tv_nsec >= 1000000000 ||
	    inode->mtime.tv_nsec < 0 || inode->mtime.tv_nsec >= 1000000000 ||
	    inode->ctime.tv_nsec < 0 || inode->ctime.tv_nsec >= 1000000000 ||
	    inode->btime.tv_nsec < 0 || inode->btime.tv_nsec >= 1000000000)
		return -EINVAL;
	inode_encode(inode, buf);
	idx_key64(kb, &key, inode->ino);
	val.mv_data = buf;
	val.mv_size = sizeof(buf);
	return idx_db_put(txn, IDX_DB_INODE, &key, &val, 0);
}

int idx_inode_del(struct idx_txn *txn, uint64_t ino)
{
	uint8_t kb[8];
	MDB_val key;

	idx_key64(kb, &key, ino);
	return idx_db_del(txn, IDX_DB_INODE, &key);
}

int idx_inode_iter(struct idx_txn *txn, int (*cb)(void *arg, const struct idx_inode *inode),
		   void *arg)
{
	struct idx_inode inode;
	MDB_cursor *cur;
	MDB_val key, val;
	MDB_cursor_op op = MDB_FIRST;
	int rc;

	rc = idx_cursor_open(txn, IDX_DB_INODE, &cur);
	if (rc)
		return rc;
	for (;; op = MDB_NEXT) {
		rc = idx_cursor_get(txn, cur, &key, &val, op);
		if (rc == -ENOENT) {
			rc = 0;
			break;
		}
		if (rc)
			break;
		if (key.mv_size != 8) {
			rc = idx_corrupt(txn, "inode key has a bad length", 0);
			break;
		}
		rc = inode_decode(txn, tfs_get_be64(key.mv_data), &val, &inode);
		if (rc)
			break;
		rc = cb(arg, &inode);
		if (rc)
			break;
	}
	mdb_cursor_close(cur);
	return rc;
}
