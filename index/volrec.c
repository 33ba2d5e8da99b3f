/* The volume record (format, chunk size, UUID, next inode number, open
 * generation, clean flag, label) and inode number allocation. The chunk size
 * is cached in the environment for extent lookups. */
#include <errno.h>
#include <string.h>

#include "core/base/log.h"
#include "index/format_int.h"
#include "index/idx_int.h"

static const char volume_key[] = "volume";

static void volume_keyval(MDB_val *key)
{
	key->mv_data = (void *)volume_key;
	key->mv_size = sizeof(volume_key) - 1;
}

static int volume_decode(struct idx_txn *txn, const MDB_val *val, struct idx_volume *out)
{
	const uint8_t *p = val->mv_data;
	size_t label_len;

	if (val->mv_size < IDX_VOL_FIXED)
		return idx_corrupt(txn, "volume record too short", 0);
	label_len = p[IDX_VOL_LABEL_LEN];
	if (label_len > IDX_LABEL_MAX || val->mv_size != IDX_VOL_FIXED + label_len)
		return idx_corrupt(txn, "volume record has a bad label length", 0);
	memset(out, 0, sizeof(*out));
	out->format = tfs_get_le32(p + IDX_VOL_FORMAT);
	out->chunk_size = tfs_get_le32(p + IDX_VOL_CHUNK_SIZE);
	memcpy(out->uuid.b, p + IDX_VOL_UUID, sizeof(out->uuid.b));
	out->next_ino = tfs_get_le64(p + IDX_VOL_NEXT_INO);
	out->generation = tfs_get_le64(p + IDX_VOL_GENERATION);
	out->clean = p[IDX_VOL_CLEAN] != 0;
	memcpy(out->label, p + IDX_VOL_LABEL, label_len);
	out->label[label_len] = '\0';
	if (out->chunk_size == 0)
		return idx_corrupt(txn, "volume record has chunk size 0", 0);
	txn->env->chunk_size = out->chunk_size;
	return 0;
}

int idx_volume_get(struct idx_txn *txn, struct idx_volume *out)
{
	MDB_val key, val;
	int rc;

	volume_keyval(&key);
	rc = idx_db_get(txn, IDX_DB_VOLUME, &key, &val);
	if (rc)
		return rc;
	return volume_decode(txn, &val, out);
}

int idx_volume_put(struct idx_txn *txn, const struct idx_volume *vol)
{
	uint8_t buf[IDX_VOL_FIXED + IDX_LABEL_MAX];
	size_t label_len = strnlen(vol->label, sizeof(vol->label));
	MDB_val key, val;
	int rc;

	if (label_len > IDX_LABEL_MAX || vol->chunk_size == 0)
		return -EINVAL;
	memset(buf, 0, sizeof(buf));
	tfs_put_le32(buf + IDX_VOL_FORMAT, vol->format);
	tfs_put_le32(buf + IDX_VOL_CHUNK_SIZE, vol->chunk_size);
	memcpy(buf + IDX_VOL_UUID, vol->uuid.b, sizeof(vol->uuid.b));
	tfs_put_le64(buf + IDX_VOL_NEXT_INO, vol->next_ino);
	tfs_put_le64(buf + IDX_VOL_GENERATION, vol->generation);
	buf[IDX_VOL_CLEAN] = vol->clean ? 1 : 0;
	buf[IDX_VOL_LABEL_LEN] = (uint8_t)label_len;
	memcpy(buf + IDX_VOL_LABEL, vol->label, label_len);
	volume_keyval(&key);
	val.mv_data = buf;
	val.mv_size = IDX_VOL_FIXED + label_len;
	rc = idx_db_put(txn, IDX_DB_VOLUME, &key, &val, 0);
	if (rc)
		return rc;
	txn->env->chunk_size = vol->chunk_size;
	return 0;
}

int idx_ino_alloc(struct idx_txn *txn, uint64_t *ino_out)
{
	struct idx_volume vol;
	uint64_t ino;
	int rc;

	rc = idx_txn_check_write(txn);
	if (rc)
		return rc;
	rc = idx_volume_get(txn, &vol);
	if (rc == -ENOENT)
		return idx_corrupt(txn, "volume record missing", 0);
	if (rc)
		return rc;
	/* mkfs starts at IDX_ROOT_INO + 1; anything lower would hand out the
	 * root (or 0) again. */
	if (vol.next_ino <= IDX_ROOT_INO)
		return idx_corrupt(txn, "volume record's next inode number is too small",
				   vol.next_ino);
	if (vol.next_ino == UINT64_MAX)
		return -ENOSPC;
	ino = vol.next_ino++;
	rc = idx_volume_put(txn, &vol);
	if (rc)
		return rc;
	*ino_out = ino;
	return 0;
}

int idx_chunk_size(struct idx_txn *txn, uint32_t *out)
{
	struct idx_volume vol;
	int rc;

	if (!txn->env->chunk_size) {
		rc = idx_volume_get(txn, &vol);
		if (rc == -ENOENT)
			return idx_corrupt(txn, "volume record missing", 0);
		if (rc)
			return rc;
	}
	*out = txn->env->chunk_size;
	return 0;
}

static const char ndisks_key[] = "ndisks";

int idx_ndisks_get(struct idx_txn *txn, uint32_t *out)
{
	MDB_val key = {.mv_size = sizeof(ndisks_key) - 1, .mv_data = (void *)ndisks_key}, val;
	int rc = idx_db_get(txn, IDX_DB_VOLUME, &key, &val);

	if (rc)
		return rc;
	if (val.mv_size != 4)
		return idx_corrupt(txn, "disk-count record has a bad length", 0);
	*out = tfs_get_le32(val.mv_data);
	return 0;
}

int idx_ndisks_put(struct idx_txn *txn, uint32_t ndisks)
{
	uint8_t buf[4];
	MDB_val key = {.mv_size = sizeof(ndisks_key) - 1, .mv_data = (void *)ndisks_key};
	MDB_val val = {.mv_size = sizeof(buf), .mv_data = buf};

	tfs_put_le32(buf, ndisks);
	return idx_db_put(txn, IDX_DB_VOLUME, &key, &val, 0);
}

/* ---- the commit sequence number ---------------------------------------------- */

static void seq_keyval(MDB_val *key)
{
	key->mv_data = (void *)IDX_SEQ_KEY;
	key->mv_size = sizeof(IDX_SEQ_KEY) - 1;
}

int idx_seq_read(struct idx_env *env, MDB_txn *mtxn, uint64_t *out)
{
	MDB_txn *own = NULL;
	MDB_val key, val;
	int rc;

	*out = 0;
	if (!mtxn) {
		rc = mdb_txn_begin(env->mdb, NULL, MDB_RDONLY, &own);
		if (rc)
			return idx_errmap(env, rc, "read the commit sequence number");
		mtxn = own;
	}
	seq_keyval(&key);
	rc = mdb_get(mtxn, env->dbi[IDX_DB_VOLUME], &key, &val);
	if (rc == 0 && val.mv_size == 8) {
		*out = tfs_get_le64(val.mv_data);
	} else if (rc == 0) {
		tfs_err("index at %s: the commit sequence record is %zu bytes, not 8: run "
			"fsck.trackfs",
			env->path, val.mv_size);
		rc = -EIO;
	} else if (rc == MDB_NOTFOUND) {
		rc = 0; /* made before sequence numbers: starts at 0 */
	} else {
		rc = idx_errmap(env, rc, "read the commit sequence number");
	}
	if (own)
		mdb_txn_abort(own);
	return rc;
}

int idx_seq_put(struct idx_env *env, MDB_txn *mtxn, uint64_t seq)
{
	uint8_t buf[8];
	MDB_val key, val;
	int rc;

	seq_keyval(&key);
	tfs_put_le64(buf, seq);
	val.mv_data = buf;
	val.mv_size = sizeof(buf);
	rc = mdb_put(mtxn, env->dbi[IDX_DB_VOLUME], &key, &val, 0);
	if (rc)
		return idx_errmap(env, rc, "write the commit sequence number");
	if (env->snap || env->mirror)
		(void)idx_clog_add(&env->clog, IDX_SNAP_PUT, IDX_DB_VOLUME, &key, &val);
	return 0;
}
