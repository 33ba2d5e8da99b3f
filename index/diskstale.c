/* Stale-disk records: one small record per disk whose free lists lack chunks
 * the index stopped referencing while the disk was missing. They live in the
 * volume table under "stale" + disk so that an index made before they
 * existed needs no new table. */
#include <errno.h>
#include <string.h>

#include "index/format_int.h"
#include "index/idx_int.h"

static void stale_key(uint8_t kb[IDX_STALE_KEYLEN], MDB_val *key, uint16_t disk)
{
	memcpy(kb, IDX_STALE_KEY, IDX_STALE_KEYLEN - 2);
	kb[IDX_STALE_KEYLEN - 2] = (uint8_t)(disk >> 8); /* big-endian, like every key */
	kb[IDX_STALE_KEYLEN - 1] = (uint8_t)disk;
	key->mv_data = kb;
	key->mv_size = IDX_STALE_KEYLEN;
}

int idx_disk_stale_get(struct idx_txn *txn, uint16_t disk, struct idx_disk_stale *out)
{
	uint8_t kb[IDX_STALE_KEYLEN];
	MDB_val key, val;
	int rc;

	stale_key(kb, &key, disk);
	rc = idx_db_get(txn, IDX_DB_VOLUME, &key, &val);
	if (rc)
		return rc;
	if (val.mv_size != IDX_STALE_LEN)
		return idx_corrupt(txn, "stale-disk record has a bad length", disk);
	out->chunks = tfs_get_le64((const uint8_t *)val.mv_data + IDX_STALE_CHUNKS);
	out->flags = tfs_get_le32((const uint8_t *)val.mv_data + IDX_STALE_FLAGS);
	return 0;
}

int idx_disk_stale_add(struct idx_txn *txn, uint16_t disk, uint64_t chunks, uint32_t flags)
{
	struct idx_disk_stale s = {0};
	uint8_t kb[IDX_STALE_KEYLEN], buf[IDX_STALE_LEN];
	MDB_val key, val;
	int rc;

	rc = idx_disk_stale_get(txn, disk, &s);
	if (rc && rc != -ENOENT)
		return rc;
	s.chunks = chunks > UINT64_MAX - s.chunks ? UINT64_MAX : s.chunks + chunks;
	s.flags |= flags;
	tfs_put_le64(buf + IDX_STALE_CHUNKS, s.chunks);
	tfs_put_le32(buf + IDX_STALE_FLAGS, s.flags);
	stale_key(kb, &key, disk);
	val.mv_data = buf;
	val.mv_size = sizeof(buf);
	return idx_db_put(txn, IDX_DB_VOLUME, &key, &val, 0);
}

int idx_disk_stale_clear(struct idx_txn *txn, uint16_t disk)
{
	uint8_t kb[IDX_STALE_KEYLEN];
	MDB_val key;

	stale_key(kb, &key, disk);
	return idx_db_del(txn, IDX_DB_VOLUME, &key);
}
