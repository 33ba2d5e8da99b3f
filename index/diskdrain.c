/* Drain records: one small record per disk that is being drained or was
 * drained, with the cursor of the drain's progress. They live in the volume
 * table under "drain" + disk, like the stale-disk records, so an index made
 * before they existed needs no new table. */
#include <errno.h>
#include <string.h>

#include "index/format_int.h"
#include "index/idx_int.h"

static void drain_key(uint8_t kb[IDX_DRAIN_KEYLEN], MDB_val *key, uint16_t disk)
{
	memcpy(kb, IDX_DRAIN_KEY, IDX_DRAIN_KEYLEN - 2);
	kb[IDX_DRAIN_KEYLEN - 2] = (uint8_t)(disk >> 8); /* big-endian, like every key */
	kb[IDX_DRAIN_KEYLEN - 1] = (uint8_t)disk;
	key->mv_data = kb;
	key->mv_size = IDX_DRAIN_KEYLEN;
}

int idx_disk_drain_get(struct idx_txn *txn, uint16_t disk, struct idx_disk_drain *out)
{
	uint8_t kb[IDX_DRAIN_KEYLEN];
	MDB_val key, val;
	int rc;

	drain_key(kb, &key, disk);
	rc = idx_db_get(txn, IDX_DB_VOLUME, &key, &val);
	if (rc)
		return rc;
	const uint8_t *p = val.mv_data;
	if (val.mv_size != IDX_DRAIN_LEN && val.mv_size != IDX_DRAIN_LEN2)
		return idx_corrupt(txn, "drain record has a bad length", disk);
	uint32_t state = tfs_get_le32(p + IDX_DRAIN_STATE);
	if (state != IDX_DRAIN_DRAINING && state != IDX_DRAIN_DRAINED)
		return idx_corrupt(txn, "drain record has an unknown state", disk);
	out->state = state;
	out->passes = tfs_get_le32(p + IDX_DRAIN_PASSES);
	out->ino = tfs_get_le64(p + IDX_DRAIN_INO);
	out->off = tfs_get_le64(p + IDX_DRAIN_OFF);
	out->bytes_done = tfs_get_le64(p + IDX_DRAIN_DONE);
	out->bytes_total = tfs_get_le64(p + IDX_DRAIN_TOTAL);
	out->flags = 0;
	out->target = 0;
	out->rate = 0;
	if (val.mv_size == IDX_DRAIN_LEN2) {
		out->flags = tfs_get_le32(p + IDX_DRAIN_FLAGS);
		out->target = tfs_get_le32(p + IDX_DRAIN_TARGET);
		out->rate = tfs_get_le64(p + IDX_DRAIN_RATE);
		if (out->flags & ~(uint32_t)IDX_DRAIN_F_ALL)
			return idx_corrupt(txn, "drain record has an unknown flag", disk);
		if (!(out->flags & IDX_DRAIN_F_REPLACE) ? out->target != 0 : out->target == disk)
			return idx_corrupt(txn, "drain record has a bad replace target", disk);
	}
	return 0;
}

int idx_disk_drain_put(struct idx_txn *txn, uint16_t disk, const struct idx_disk_drain *d)
{
	uint8_t kb[IDX_DRAIN_KEYLEN], buf[IDX_DRAIN_LEN2];
	MDB_val key, val;

	if ((d->state != IDX_DRAIN_DRAINING && d->state != IDX_DRAIN_DRAINED) ||
	    (d->flags & ~(uint32_t)IDX_DRAIN_F_ALL) ||
	    ((d->flags & IDX_DRAIN_F_REPLACE) ? d->target == disk : d->target != 0))
		return -EINVAL;
	tfs_put_le32(buf + IDX_DRAIN_STATE, d->state);
	tfs_put_le32(buf + IDX_DRAIN_PASSES, d->passes);
	tfs_put_le64(buf + IDX_DRAIN_INO, d->ino);
	tfs_put_le64(buf + IDX_DRAIN_OFF, d->off);
	tfs_put_le64(buf + IDX_DRAIN_DONE, d->bytes_done);
	tfs_put_le64(buf + IDX_DRAIN_TOTAL, d->bytes_total);
	tfs_put_le32(buf + IDX_DRAIN_FLAGS, d->flags);
	tfs_put_le32(buf + IDX_DRAIN_TARGET, d->target);
	tfs_put_le64(buf + IDX_DRAIN_RATE, d->rate);
	drain_key(kb, &key, disk);
	val.mv_data = buf;
	val.mv_size = d->flags || d->rate ? IDX_DRAIN_LEN2 : IDX_DRAIN_LEN;
	return idx_db_put(txn, IDX_DB_VOLUME, &key, &val, 0);
}

int idx_disk_drain_del(struct idx_txn *txn, uint16_t disk)
{
	uint8_t kb[IDX_DRAIN_KEYLEN];
	MDB_val key;

	drain_key(kb, &key, disk);
	return idx_db_del(txn, IDX_DB_VOLUME, &key);
}
