/* Extents keyed by (inode, file offset) with their per-chunk checksums: put,
 * delete, and seek — the extent containing an offset or the next one — in one
 * B-tree search plus at most one step. */
#include <errno.h>
#include <string.h>

#include "core/base/log.h"
#include "index/format_int.h"
#include "index/idx_int.h"

static int extent_decode(struct idx_txn *txn, const MDB_val *key, const MDB_val *val,
			 uint64_t *ino_out, struct idx_extent *out)
{
	const uint8_t *p = val->mv_data;
	uint64_t ino;
	uint32_t n;

	if (key->mv_size != 16)
		return idx_corrupt(txn, "extent key has a bad length", 0);
	ino = tfs_get_be64(key->mv_data);
	if (val->mv_size < IDX_EXT_FIXED)
		return idx_corrupt(txn, "extent record too short", ino);
	n = tfs_get_le32(p + IDX_EXT_NCHUNKS);
	if (n == 0 || n > IDX_EXTENT_MAX_CHUNKS || val->mv_size != IDX_EXT_LEN(n))
		return idx_corrupt(txn, "extent record has a bad chunk count or length", ino);
	out->off = tfs_get_be64((const uint8_t *)key->mv_data + 8);
	out->disk = tfs_get_le16(p + IDX_EXT_DISK);
	out->track = tfs_get_le32(p + IDX_EXT_TRACK);
	out->chunk = tfs_get_le32(p + IDX_EXT_CHUNK);
	out->nchunks = n;
	for (uint32_t i = 0; i < n; i++)
		out->sums[i] = tfs_get_le64(p + IDX_EXT_SUMS + 8 * i);
	if (ino_out)
		*ino_out = ino;
	return 0;
}

/* True if @p key belongs to @p ino (a 16-byte key of another inode is not). */
static bool key_of(const MDB_val *key, uint64_t ino)
{
	return key->mv_size == 16 && tfs_get_be64(key->mv_data) == ino;
}

int idx_extent_seek(struct idx_txn *txn, uint64_t ino, uint64_t off, struct idx_extent *out)
{
	struct idx_extent next, prev;
	uint8_t kb[16];
	MDB_cursor *cur;
	MDB_val key, val;
	uint32_t cs;
	bool have_next = false;
	int rc;

	rc = idx_chunk_size(txn, &cs);
	if (rc)
		return rc;
	rc = idx_cursor_open(txn, IDX_DB_EXTENT, &cur);
	if (rc)
		return rc;
	idx_key128(kb, &key, ino, off);
	rc = idx_cursor_get(txn, cur, &key, &val, MDB_SET_RANGE);
	if (rc == 0 && key_of(&key, ino)) {
		/* The first extent starting at or above off: the answer unless
		 * the one before it reaches over off. */
		rc = extent_decode(txn, &key, &val, NULL, &next);
		if (rc)
			goto out_close;
		if (next.off == off) {
			memcpy(out, &next, sizeof(next));
			goto out_close;
		}
		have_next = true;
		rc = idx_cursor_get(txn, cur, &key, &val, MDB_PREV);
	} else if (rc == 0) {
		rc = idx_cursor_get(txn, cur, &key, &val, MDB_PREV);
	} else if (rc == -ENOENT) {
		rc = idx_cursor_get(txn, cur, &key, &val, MDB_LAST);
	}
	if (rc == 0 && key_of(&key, ino)) {
		rc = extent_decode(txn, &key, &val, NULL, &prev);
		if (rc)
			goto out_close;
		/* off - prev.off cannot overflow; the product fits in 64 bits. */
		if (off - prev.off < (uint64_t)prev.nchunks * cs) {
			memcpy(out, &prev, sizeof(prev));
			goto out_close;
		}
	} else if (rc && rc != -ENOENT) {
		goto out_close;
	}
	rc = -ENOENT;
	if (have_next) {
		memcpy(out, &next, sizeof(next));
		rc = 0;
	}
out_close:
	mdb_cursor_close(cur);
	return rc;
}

int idx_extent_put(struct idx_txn *txn, uint64_t ino, const struct idx_extent *ext)
{
	uint8_t kb[16], vb[IDX_EXT_LEN(IDX_EXTENT_MAX_CHUNKS)];
	MDB_val key, val;

	if (ext->nchunks == 0 || ext->nchunks > IDX_EXTENT_MAX_CHUNKS)
		return -EINVAL;
	tfs_put_le16(vb + IDX_EXT_DISK, ext->disk);
	tfs_put_le32(vb + IDX_EXT_TRACK, ext->track);
	tfs_put_le32(vb + IDX_EXT_CHUNK, ext->chunk);
	tfs_put_le32(vb + IDX_EXT_NCHUNKS, ext->nchunks);
	for (uint32_t i = 0; i < ext->nchunks; i++)
		tfs_put_le64(vb + IDX_EXT_SUMS + 8 * i, ext->sums[i]);
	idx_key128(kb, &key, ino, ext->off);
	val.mv_data = vb;
	val.mv_size = IDX_EXT_LEN(ext->nchunks);
	return idx_db_put(txn, IDX_DB_EXTENT, &key, &val, 0);
}

int idx_extent_del(struct idx_txn *txn, uint64_t ino, uint64_t off)
{
	uint8_t kb[16];
	MDB_val key;

	idx_key128(kb, &key, ino, off);
	return idx_db_del(txn, IDX_DB_EXTENT, &key);
}

static int extent_iter(struct idx_txn *txn, bool from, uint64_t ino0, uint64_t off0,
		       int (*cb)(void *arg, uint64_t ino, const struct idx_extent *ext), void *arg)
{
	struct idx_extent ext;
	MDB_cursor *cur;
	MDB_val key, val;
	MDB_cursor_op op = from ? MDB_SET_RANGE : MDB_FIRST;
	uint8_t kb[16];
	uint64_t ino;
	int rc;

	rc = idx_cursor_open(txn, IDX_DB_EXTENT, &cur);
	if (rc)
		return rc;
	if (from)
		idx_key128(kb, &key, ino0, off0);
	for (;; op = MDB_NEXT) {
		rc = idx_cursor_get(txn, cur, &key, &val, op);
		if (rc == -ENOENT) {
			rc = 0;
			break;
		}
		if (rc)
			break;
		rc = extent_decode(txn, &key, &val, &ino, &ext);
		if (rc)
			break;
		rc = cb(arg, ino, &ext);
		if (rc)
			break;
	}
	mdb_cursor_close(cur);
	return rc;
}

int idx_extent_iter_from(struct idx_txn *txn, uint64_t ino, uint64_t off,
			 int (*cb)(void *arg, uint64_t ino, const struct idx_extent *ext),
			 void *arg)
{
	return extent_iter(txn, true, ino, off, cb, arg);
}

int idx_extent_iter_all(struct idx_txn *txn,
			int (*cb)(void *arg, uint64_t ino, const struct idx_extent *ext), void *arg)
{
	return extent_iter(txn, false, 0, 0, cb, arg);
}
