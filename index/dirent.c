/* Directory entries: the (parent, name) table for lookups and name order and
 * the (parent, slot) table for readdir cookies that survive concurrent
 * inserts and removals. Both records of an entry change together. */
#include <errno.h>
#include <string.h>

#include "core/base/log.h"
#include "index/format_int.h"
#include "index/idx_int.h"

#define DIRENT_KEY_MAX (8 + IDX_NAME_MAX)

static int check_name(size_t namelen)
{
	if (namelen == 0)
		return -EINVAL;
	if (namelen > IDX_NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

static void dirent_key(uint8_t buf[DIRENT_KEY_MAX], MDB_val *key, uint64_t parent, const char *name,
		       size_t namelen)
{
	tfs_put_be64(buf, parent);
	memcpy(buf + 8, name, namelen);
	key->mv_data = buf;
	key->mv_size = 8 + namelen;
}

/* Decode a dirent table entry (key parent+name) into @p out. */
static int dirent_decode(struct idx_txn *txn, const MDB_val *key, const MDB_val *val,
			 struct idx_dirent *out)
{
	const uint8_t *p = val->mv_data;
	uint64_t parent;

	if (key->mv_size <= 8 || key->mv_size > DIRENT_KEY_MAX)
		return idx_corrupt(txn, "dirent key has a bad length", 0);
	parent = tfs_get_be64(key->mv_data);
	if (val->mv_size != IDX_DIRENT_LEN)
		return idx_corrupt(txn, "dirent record has a bad length", parent);
	out->ino = tfs_get_le64(p + IDX_DIRENT_INO);
	out->type = p[IDX_DIRENT_TYPE];
	out->slot = tfs_get_le64(p + IDX_DIRENT_SLOT);
	out->namelen = (uint16_t)(key->mv_size - 8);
	memcpy(out->name, (const uint8_t *)key->mv_data + 8, out->namelen);
	out->name[out->namelen] = '\0';
	if (out->slot == 0)
		return idx_corrupt(txn, "dirent record has slot 0", parent);
	return 0;
}

static void dirent_encode(uint8_t buf[IDX_DIRENT_LEN], uint64_t ino, uint8_t type, uint64_t slot)
{
	tfs_put_le64(buf + IDX_DIRENT_INO, ino);
	buf[IDX_DIRENT_TYPE] = type;
	tfs_put_le64(buf + IDX_DIRENT_SLOT, slot);
}

int idx_dirent_get(struct idx_txn *txn, uint64_t parent, const char *name, size_t namelen,
		   struct idx_dirent *out)
{
	uint8_t kb[DIRENT_KEY_MAX];
	struct idx_dirent d;
	MDB_val key, val;
	int rc = check_name(namelen);

	if (rc)
		return rc;
	dirent_key(kb, &key, parent, name, namelen);
	rc = idx_db_get(txn, IDX_DB_DIRENT, &key, &val);
	if (rc)
		return rc;
	rc = dirent_decode(txn, &key, &val, &d);
	if (rc)
		return rc;
	if (out)
		*out = d;
	return 0;
}

/* The highest slot in use in @p parent, 0 if it has none: one B-tree search
 * for the first key above the directory, then one step back. */
static int last_slot(struct idx_txn *txn, uint64_t parent, uint64_t *out)
{
	uint8_t kb[16];
	MDB_cursor *cur;
	MDB_val key, val;
	int rc;

	rc = idx_cursor_open(txn, IDX_DB_DIRSLOT, &cur);
	if (rc)
		return rc;
	if (parent == UINT64_MAX) {
		rc = idx_cursor_get(txn, cur, &key, &val, MDB_LAST);
	} else {
		idx_key128(kb, &key, parent + 1, 0);
		rc = idx_cursor_get(txn, cur, &key, &val, MDB_SET_RANGE);
		if (rc == 0)
			rc = idx_cursor_get(txn, cur, &key, &val, MDB_PREV);
		else if (rc == -ENOENT)
			rc = idx_cursor_get(txn, cur, &key, &val, MDB_LAST);
	}
	*out = 0;
	if (rc == 0) {
		if (key.mv_size != 16)
			rc = idx_corrupt(txn, "dirslot key has a bad length", parent);
		else if (tfs_get_be64(key.mv_data) == parent)
			*out = tfs_get_be64((const uint8_t *)key.mv_data + 8);
	} else if (rc == -ENOENT) {
		rc = 0;
	}
	mdb_cursor_close(cur);
	return rc;
}

int idx_dirent_add(struct idx_txn *txn, uint64_t parent, const char *name, size_t namelen,
		   uint64_t ino, uint8_t type)
{
	uint8_t kb[DIRENT_KEY_MAX], sb[16], vb[IDX_DIRENT_LEN];
	MDB_val key, val, skey, sval;
	uint64_t slot;
	int rc = check_name(namelen);

	if (rc)
		return rc;
	rc = idx_txn_check_write(txn);
	if (rc)
		return rc;
	dirent_key(kb, &key, parent, name, namelen);
	rc = idx_db_get(txn, IDX_DB_DIRENT, &key, &val);
	if (rc == 0)
		return -EEXIST;
	if (rc != -ENOENT)
		return rc;
	rc = last_slot(txn, parent, &slot);
	if (rc)
		return rc;
	if (slot == UINT64_MAX)
		return -ENOSPC;
	slot++;
	dirent_encode(vb, ino, type, slot);
	val.mv_data = vb;
	val.mv_size = sizeof(vb);
	rc = idx_db_put(txn, IDX_DB_DIRENT, &key, &val, MDB_NOOVERWRITE);
	if (rc)
		return rc;
	idx_key128(sb, &skey, parent, slot);
	sval.mv_data = (void *)name;
	sval.mv_size = namelen;
	return idx_db_put(txn, IDX_DB_DIRSLOT, &skey, &sval, MDB_NOOVERWRITE);
}

int idx_dirent_replace(struct idx_txn *txn, uint64_t parent, const char *name, size_t namelen,
		       uint64_t ino, uint8_t type)
{
	uint8_t kb[DIRENT_KEY_MAX], vb[IDX_DIRENT_LEN];
	struct idx_dirent d;
	MDB_val key, val;
	int rc;

	rc = idx_dirent_get(txn, parent, name, namelen, &d);
	if (rc)
		return rc;
	rc = idx_txn_check_write(txn);
	if (rc)
		return rc;
	dirent_key(kb, &key, parent, name, namelen);
	dirent_encode(vb, ino, type, d.slot);
	val.mv_data = vb;
	val.mv_size = sizeof(vb);
	return idx_db_put(txn, IDX_DB_DIRENT, &key, &val, 0);
}

int idx_dirent_del(struct idx_txn *txn, uint64_t parent, const char *name, size_t namelen)
{
	uint8_t kb[DIRENT_KEY_MAX], sb[16];
	struct idx_dirent d;
	MDB_val key, skey;
	int rc;

	rc = idx_dirent_get(txn, parent, name, namelen, &d);
	if (rc)
		return rc;
	dirent_key(kb, &key, parent, name, namelen);
	rc = idx_db_del(txn, IDX_DB_DIRENT, &key);
	if (rc)
		return rc;
	idx_key128(sb, &skey, parent, d.slot);
	rc = idx_db_del(txn, IDX_DB_DIRSLOT, &skey);
	if (rc == -ENOENT)
		return idx_corrupt(txn, "dirent has no dirslot record", parent);
	return rc;
}

int idx_dirent_list(struct idx_txn *txn, uint64_t parent, uint64_t from_slot,
		    int (*cb)(void *arg, const struct idx_dirent *d), void *arg)
{
	uint8_t sb[16], kb[DIRENT_KEY_MAX];
	struct idx_dirent d;
	MDB_cursor *cur;
	MDB_val skey, sval, key, val;
	uint64_t slot;
	int rc;

	rc = idx_cursor_open(txn, IDX_DB_DIRSLOT, &cur);
	if (rc)
		return rc;
	idx_key128(sb, &skey, parent, from_slot);
	for (rc = idx_cursor_get(txn, cur, &skey, &sval, MDB_SET_RANGE); rc == 0;
	     rc = idx_cursor_get(txn, cur, &skey, &sval, MDB_NEXT)) {
		if (skey.mv_size != 16) {
			rc = idx_corrupt(txn, "dirslot key has a bad length", parent);
			break;
		}
		if (tfs_get_be64(skey.mv_data) != parent)
			break;
		slot = tfs_get_be64((const uint8_t *)skey.mv_data + 8);
		if (sval.mv_size == 0 || sval.mv_size > IDX_NAME_MAX) {
			rc = idx_corrupt(txn, "dirslot record has a bad name length", parent);
			break;
		}
		dirent_key(kb, &key, parent, sval.mv_data, sval.mv_size);
		rc = idx_db_get(txn, IDX_DB_DIRENT, &key, &val);
		if (rc == -ENOENT) {
			rc = idx_corrupt(txn, "dirslot names a missing dirent", parent);
			break;
		}
		if (rc)
			break;
		rc = dirent_decode(txn, &key, &val, &d);
		if (rc)
			break;
		if (d.slot != slot) {
			rc = idx_corrupt(txn, "dirent and dirslot disagree on the slot", parent);
			break;
		}
		rc = cb(arg, &d);
		if (rc)
			goto out_close;
	}
	if (rc == -ENOENT)
		rc = 0;
out_close:
	mdb_cursor_close(cur);
	return rc;
}

int idx_dirent_list_by_name(struct idx_txn *txn, uint64_t parent, const char *after,
			    size_t afterlen, int (*cb)(void *arg, const struct idx_dirent *d),
			    void *arg)
{
	uint8_t kb[DIRENT_KEY_MAX];
	struct idx_dirent d;
	MDB_cursor *cur;
	MDB_val key, val;
	int rc;

	if (after && afterlen > IDX_NAME_MAX)
		return -ENAMETOOLONG;
	rc = idx_cursor_open(txn, IDX_DB_DIRENT, &cur);
	if (rc)
		return rc;
	dirent_key(kb, &key, parent, after ? after : "", after ? afterlen : 0);
	rc = idx_cursor_get(txn, cur, &key, &val, MDB_SET_RANGE);
	/* "after" itself is excluded: skip an exact match. */
	if (rc == 0 && after && key.mv_size == 8 + afterlen &&
	    tfs_get_be64(key.mv_data) == parent &&
	    memcmp((const uint8_t *)key.mv_data + 8, after, afterlen) == 0)
		rc = idx_cursor_get(txn, cur, &key, &val, MDB_NEXT);
	for (; rc == 0; rc = idx_cursor_get(txn, cur, &key, &val, MDB_NEXT)) {
		if (key.mv_size < 8 || tfs_get_be64(key.mv_data) != parent)
			break;
		rc = dirent_decode(txn, &key, &val, &d);
		if (rc)
			break;
		rc = cb(arg, &d);
		if (rc)
			break;
	}
	if (rc == -ENOENT)
		rc = 0;
	mdb_cursor_close(cur);
	return rc;
}

bool idx_dir_empty(struct idx_txn *txn, uint64_t parent)
{
	uint8_t kb[8];
	MDB_cursor *cur;
	MDB_val key, val;
	bool empty = true;
	int rc;

	rc = idx_cursor_open(txn, IDX_DB_DIRENT, &cur);
	if (rc)
		goto out_err;
	idx_key64(kb, &key, parent);
	rc = idx_cursor_get(txn, cur, &key, &val, MDB_SET_RANGE);
	if (rc == 0)
		empty = key.mv_size < 8 || tfs_get_be64(key.mv_data) != parent;
	mdb_cursor_close(cur);
	if (rc == 0 || rc == -ENOENT)
		return empty;
out_err:
	tfs_err("index at %s: cannot tell whether directory %llu is empty: %s", txn->env->path,
		(unsigned long long)parent, tfs_strerror(rc));
	return true;
}

int idx_dirent_iter_all(struct idx_txn *txn,
			int (*cb)(void *arg, uint64_t parent, const struct idx_dirent *d),
			void *arg)
{
	struct idx_dirent d;
	MDB_cursor *cur;
	MDB_val key, val;
	MDB_cursor_op op = MDB_FIRST;
	int rc;

	rc = idx_cursor_open(txn, IDX_DB_DIRENT, &cur);
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
		rc = dirent_decode(txn, &key, &val, &d);
		if (rc)
			break;
		rc = cb(arg, tfs_get_be64(key.mv_data), &d);
		if (rc)
			break;
	}
	mdb_cursor_close(cur);
	return rc;
}
