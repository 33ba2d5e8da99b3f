/* Extended attributes, keyed by (inode, name) so that one inode's names are
 * contiguous and come out in byte order: get, set with XATTR_CREATE /
 * XATTR_REPLACE, list, remove, and clear (for inode deletion). */
#include <errno.h>
#include <string.h>
#include <sys/xattr.h>

#include "core/base/log.h"
#include "index/idx_int.h"

#define XATTR_KEY_MAX (8 + IDX_XATTR_NAME_MAX)

/* Build the key; -ERANGE for a name too long (as getxattr(2)), -EINVAL for "". */
static int xattr_key(uint8_t buf[XATTR_KEY_MAX], MDB_val *key, uint64_t ino, const char *name)
{
	size_t len = strnlen(name, IDX_XATTR_NAME_MAX + 1);

	if (len == 0)
		return -EINVAL;
	if (len > IDX_XATTR_NAME_MAX)
		return -ERANGE;
	tfs_put_be64(buf, ino);
	memcpy(buf + 8, name, len);
	key->mv_data = buf;
	key->mv_size = 8 + len;
	return 0;
}

int idx_xattr_get(struct idx_txn *txn, uint64_t ino, const char *name, void *buf, size_t size,
		  size_t *len_out)
{
	uint8_t kb[XATTR_KEY_MAX];
	MDB_val key, val;
	int rc;

	rc = xattr_key(kb, &key, ino, name);
	if (rc)
		return rc;
	rc = idx_db_get(txn, IDX_DB_XATTR, &key, &val);
	if (rc)
		return rc == -ENOENT ? -ENODATA : rc;
	if (val.mv_size > IDX_XATTR_SIZE_MAX)
		return idx_corrupt(txn, "xattr value too large", ino);
	if (size) {
		if (size < val.mv_size)
			return -ERANGE;
		memcpy(buf, val.mv_data, val.mv_size);
	}
	*len_out = val.mv_size;
	return 0;
}

int idx_xattr_set(struct idx_txn *txn, uint64_t ino, const char *name, const void *value,
		  size_t size, int flags)
{
	uint8_t kb[XATTR_KEY_MAX];
	MDB_val key, val;
	int rc;

	if (flags & ~(XATTR_CREATE | XATTR_REPLACE) ||
	    (flags & (XATTR_CREATE | XATTR_REPLACE)) == (XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	rc = xattr_key(kb, &key, ino, name);
	if (rc)
		return rc;
	if (size > IDX_XATTR_SIZE_MAX)
		return -E2BIG;
	rc = idx_txn_check_write(txn);
	if (rc)
		return rc;
	if (flags & XATTR_REPLACE) {
		rc = idx_db_get(txn, IDX_DB_XATTR, &key, &val);
		if (rc)
			return rc == -ENOENT ? -ENODATA : rc;
	}
	val.mv_data = (void *)value;
	val.mv_size = size;
	return idx_db_put(txn, IDX_DB_XATTR, &key, &val,
			  (flags & XATTR_CREATE) ? MDB_NOOVERWRITE : 0);
}

int idx_xattr_list(struct idx_txn *txn, uint64_t ino, char *buf, size_t size, size_t *len_out)
{
	uint8_t kb[8];
	MDB_cursor *cur;
	MDB_val key, val;
	size_t len = 0, n;
	int rc;

	rc = idx_cursor_open(txn, IDX_DB_XATTR, &cur);
	if (rc)
		return rc;
	idx_key64(kb, &key, ino);
	for (rc = idx_cursor_get(txn, cur, &key, &val, MDB_SET_RANGE); rc == 0;
	     rc = idx_cursor_get(txn, cur, &key, &val, MDB_NEXT)) {
		if (key.mv_size < 8 || tfs_get_be64(key.mv_data) != ino)
			break;
		n = key.mv_size - 8;
		if (n == 0 || n > IDX_XATTR_NAME_MAX) {
			rc = idx_corrupt(txn, "xattr key has a bad name length", ino);
			goto out_close;
		}
		if (size) {
			if (len + n + 1 > size) {
				rc = -ERANGE;
				goto out_close;
			}
			memcpy(buf + len, (const uint8_t *)key.mv_data + 8, n);
			buf[len + n] = '\0';
		}
		len += n + 1;
	}
	if (rc == 0 || rc == -ENOENT) {
		rc = 0;
		*len_out = len;
	}
out_close:
	mdb_cursor_close(cur);
	return rc;
}

int idx_xattr_remove(struct idx_txn *txn, uint64_t ino, const char *name)
{
	uint8_t kb[XATTR_KEY_MAX];
	MDB_val key;
	int rc;

	rc = xattr_key(kb, &key, ino, name);
	if (rc)
		return rc;
	rc = idx_db_del(txn, IDX_DB_XATTR, &key);
	return rc == -ENOENT ? -ENODATA : rc;
}

int idx_xattr_clear(struct idx_txn *txn, uint64_t ino)
{
	uint8_t kb[8];
	MDB_cursor *cur;
	MDB_val key, val;
	int rc;

	rc = idx_txn_check_write(txn);
	if (rc)
		return rc;
	rc = idx_cursor_open(txn, IDX_DB_XATTR, &cur);
	if (rc)
		return rc;
	/* Search again after each delete rather than rely on where LMDB
	 * leaves a cursor at a page's end: an inode has few xattrs. */
	for (;;) {
		idx_key64(kb, &key, ino);
		rc = idx_cursor_get(txn, cur, &key, &val, MDB_SET_RANGE);
		if (rc || key.mv_size < 8 || tfs_get_be64(key.mv_data) != ino)
			break;
		rc = idx_cursor_del(txn, cur);
		if (rc)
			break;
	}
	mdb_cursor_close(cur);
	return rc == -ENOENT ? 0 : rc;
}
