/* The change log: while a mirror or a snapshot needs them, every put and
 * delete merged into the group is recorded in order, in the same record
 * layout a snapshot file uses (snapshot_int.h). A child's records are
 * dropped when it aborts; the group's are handed to the snapshot being
 * taken and to the mirror once the group has committed, and dropped if the
 * commit fails. Recording never fails a user's write: a record that cannot
 * be kept (no memory) marks the log failed, and its consumers start over. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "index/idx_int.h"
#include "index/snapshot_int.h"

int idx_clog_append(struct idx_clog *log, const void *buf, size_t len)
{
	if (log->err)
		return log->err;
	if (!len)
		return 0; /* @p buf may be NULL then */
	if (log->len + len > log->cap) {
		size_t cap = log->cap ? log->cap : 64 * 1024;
		while (cap < log->len + len)
			cap *= 2;
		uint8_t *nb = realloc(log->buf, cap);
		if (!nb) {
			log->err = -ENOMEM;
			return -ENOMEM;
		}
		log->buf = nb;
		log->cap = cap;
	}
	memcpy(log->buf + log->len, buf, len);
	log->len += len;
	return 0;
}

int idx_clog_add(struct idx_clog *log, unsigned op, unsigned db, const MDB_val *key,
		 const MDB_val *val)
{
	uint8_t hdr[IDX_SNAP_REC_HDR];
	size_t vlen = val ? val->mv_size : 0;
	size_t mark = log->len;
	int rc;

	if (key->mv_size > UINT16_MAX || vlen > UINT32_MAX)
		return log->err = -EOVERFLOW;
	hdr[0] = (uint8_t)op;
	hdr[1] = (uint8_t)db;
	tfs_put_le16(hdr + 2, (uint16_t)key->mv_size);
	tfs_put_le32(hdr + 4, (uint32_t)vlen);
	rc = idx_clog_append(log, hdr, sizeof(hdr));
	if (!rc)
		rc = idx_clog_append(log, key->mv_data, key->mv_size);
	if (!rc && vlen)
		rc = idx_clog_append(log, val->mv_data, vlen);
	if (rc && log->len > mark)
		log->len = mark;
	return rc;
}

void idx_clog_free(struct idx_clog *log)
{
	free(log->buf);
	memset(log, 0, sizeof(*log));
}

void idx_clog_record(struct idx_txn *txn, unsigned op, enum idx_db db, const MDB_val *key,
		     const MDB_val *val)
{
	struct idx_env *env = txn->env;

	if (!env->snap && !env->mirror)
		return;
	(void)idx_clog_add(&env->clog, op, (unsigned)db, key, val);
}

void idx_clog_undo(struct idx_txn *txn)
{
	struct idx_env *env = txn->env;

	if (env->clog.len > txn->clog_mark)
		env->clog.len = txn->clog_mark;
}

void idx_clog_committed_locked(struct idx_env *env)
{
	struct idx_snap_capture *snap = env->snap;

	if (snap) {
		if (env->clog.err)
			snap->log.err = env->clog.err;
		else if (env->clog.len > snap->from)
			(void)idx_clog_append(&snap->log, env->clog.buf + snap->from,
					      env->clog.len - snap->from);
		snap->from = 0;
	}
	if (env->mirror)
		idx_mirror_apply_locked(env);
	env->clog.len = 0;
	env->clog.err = 0;
}

void idx_clog_failed_locked(struct idx_env *env)
{
	/* What the group held never reached the index: nobody may replay it. */
	env->clog.len = 0;
	env->clog.err = 0;
	if (env->snap) {
		env->snap->from = 0;
		env->snap->log.err = -EIO;
	}
}
