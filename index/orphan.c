/* The orphan list: inodes whose last link went while they were still open.
 * Their space is reclaimed at last close, or at the next mount after a crash
 * by walking this list. Keys are inode numbers; values are empty. */
#include <errno.h>

#include "index/idx_int.h"

int idx_orphan_add(struct idx_txn *txn, uint64_t ino)
{
	uint8_t kb[8];
	MDB_val key, val = {.mv_size = 0, .mv_data = NULL};

	idx_key64(kb, &key, ino);
	return idx_db_put(txn, IDX_DB_ORPHAN, &key, &val, 0);
}

int idx_orphan_del(struct idx_txn *txn, uint64_t ino)
{
	uint8_t kb[8];
	MDB_val key;

	idx_key64(kb, &key, ino);
	return idx_db_del(txn, IDX_DB_ORPHAN, &key);
}

int idx_orphan_iter(struct idx_txn *txn, int (*cb)(void *arg, uint64_t ino), void *arg)
{
	MDB_cursor *cur;
	MDB_val key, val;
	MDB_cursor_op op = MDB_FIRST;
	int rc;

	rc = idx_cursor_open(txn, IDX_DB_ORPHAN, &cur);
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
			rc = idx_corrupt(txn, "orphan key has a bad length", 0);
			break;
		}
		rc = cb(arg, tfs_get_be64(key.mv_data));
		if (rc)
			break;
	}
	mdb_cursor_close(cur);
	return rc;
}
