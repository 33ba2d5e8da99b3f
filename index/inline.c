/* Inline data kept in the index itself (symlink targets, very small files):
 * up to IDX_INLINE_MAX bytes per inode, keyed by inode number. */
#include <errno.h>
#include <string.h>

#include "index/idx_int.h"

int idx_inline_get(struct idx_txn *txn, uint64_t ino, void *buf, size_t size, size_t *len_out)
{
	uint8_t kb[8];
	MDB_val key, val;
	int rc;

	idx_key64(kb, &key, ino);
	rc = idx_db_get(txn, IDX_DB_INLINE, &key, &val);
	if (rc)
		return rc;
	if (val.mv_size > IDX_INLINE_MAX)
		return idx_corrupt(txn, "inline data too large", ino);
	if (size) {
		if (size < val.mv_size)
			return -ERANGE;
		memcpy(buf, val.mv_data, val.mv_size);
	}
	*len_out = val.mv_size;
	return 0;
}

int idx_inline_put(struct idx_txn *txn, uint64_t ino, const void *data, size_t len)
{
	uint8_t kb[8];
	MDB_val key, val;

	if (len > IDX_INLINE_MAX)
		return -E2BIG;
	idx_key64(kb, &key, ino);
	val.mv_data = (void *)data;
	val.mv_size = len;
	return idx_db_put(txn, IDX_DB_INLINE, &key, &val, 0);
}

int idx_inline_del(struct idx_txn *txn, uint64_t ino)
{
	uint8_t kb[8];
	MDB_val key;

	idx_key64(kb, &key, ino);
	return idx_db_del(txn, IDX_DB_INLINE, &key);
}
