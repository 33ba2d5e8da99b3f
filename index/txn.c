/* Transactions (children of the group, or read-only txns in a read-only
 * environment) and the LMDB wrappers every table module uses: they refuse
 * writes when read-only, keep the group's worst-case size and remember the
 * first error after which the transaction can only be aborted. */
#include <errno.h>

#include "core/base/log.h"
#include "index/idx_int.h"

/* Hand out the environment's one transaction (env->lock held) on @p mdb;
 * @p view: reads straight from the group, with no child of its own. */
static struct idx_txn *txn_start(struct idx_env *env, MDB_txn *mdb, bool view)
{
	struct idx_txn *txn = &env->txn;

	txn->env = env;
	txn->mdb = mdb;
	txn->failed = 0;
	txn->wrote = false;
	txn->bound = 0;
	txn->view = view;
	txn->reserve_ok = false;
	txn->keep_lock = false;
	txn->clog_mark = env->clog.len;
	return txn;
}

int idx_txn_begin(struct idx_env *env, struct idx_txn **out)
{
	MDB_txn *mtxn;
	int rc;

	pthread_mutex_lock(&env->lock);
	if (env->rdonly) {
		/* Nested transactions need a write parent: read-only opens
		 * use a plain read-only transaction instead. */
		rc = mdb_txn_begin(env->mdb, NULL, MDB_RDONLY, &mtxn);
	} else {
		rc = idx_group_prepare_locked(env);
		if (rc)
			goto out_unlock;
		rc = mdb_txn_begin(env->mdb, env->group, 0, &mtxn);
	}
	if (rc) {
		rc = idx_errmap(env, rc, "begin transaction");
		tfs_err("index at %s: cannot begin a transaction: %s", env->path, tfs_strerror(rc));
		goto out_unlock;
	}
	*out = txn_start(env, mtxn, false);
	return 0;

out_unlock:
	pthread_mutex_unlock(&env->lock);
	return rc;
}

int idx_txn_begin_precommit(struct idx_env *env, struct idx_txn **out)
{
	MDB_txn *mtxn;
	int rc;

	/* The lock is held by whoever is committing the group, and no child is
	 * open: env->txn is free. */
	if (!env->in_precommit || !env->group)
		return -EINVAL;
	rc = mdb_txn_begin(env->mdb, env->group, 0, &mtxn);
	if (rc) {
		rc = idx_errmap(env, rc, "begin transaction");
		tfs_err("index at %s: cannot begin a transaction in the precommit hook: %s",
			env->path, tfs_strerror(rc));
		return rc;
	}
	*out = txn_start(env, mtxn, false);
	(*out)->keep_lock = true;
	return 0;
}

int idx_txn_begin_read(struct idx_env *env, struct idx_txn **out)
{
	int rc;

	if (env->rdonly)
		return idx_txn_begin(env, out);
	pthread_mutex_lock(&env->lock);
	/* Reads need no child of their own: the group already holds every
	 * committed change, and a read cannot need undoing. This skips the
	 * nested transaction's allocations on the hot read paths. */
	rc = idx_group_prepare_locked(env);
	if (rc && !env->group) {
		pthread_mutex_unlock(&env->lock);
		return rc;
	}
	/* A group whose commit is held back (precommit hook) still answers
	 * reads: it is what the volume has been serving. */
	*out = txn_start(env, env->group, true);
	return 0;
}

void idx_env_inject_commit_errors(struct idx_env *env, int n)
{
	pthread_mutex_lock(&env->lock);
	env->inject_commits = n;
	pthread_mutex_unlock(&env->lock);
}

/* idx_txn_commit without releasing the lock. */
static int commit_locked(struct idx_txn *txn)
{
	struct idx_env *env = txn->env;
	int rc = 0;

	if (txn->view) {
		txn->view = false;
		txn->mdb = NULL;
		return 0;
	}

	if (!txn->failed && txn->wrote && env->inject_commits > 0) {
		env->inject_commits--;
		txn->failed = -EIO;
	}
	if (txn->failed) {
		rc = txn->failed;
		mdb_txn_abort(txn->mdb);
		idx_clog_undo(txn);
		goto out_end;
	}
	if (env->rdonly || !txn->wrote) {
		/* Nothing to merge: aborting is the cheaper way to end it. */
		mdb_txn_abort(txn->mdb);
		goto out_end;
	}
	rc = mdb_txn_commit(txn->mdb);
	if (rc) {
		idx_clog_undo(txn);
		if (rc == MDB_MAP_FULL || rc == MDB_TXN_FULL) {
			env->grow_pending |= rc == MDB_MAP_FULL;
			env->commit_pending = true;
			tfs_warn("index at %s: transaction too large for the group (%s); "
				 "the map grows before the next one, retry",
				 env->path, mdb_strerror(rc));
			rc = -EAGAIN;
		} else {
			rc = idx_errmap(env, rc, "commit transaction");
		}
		goto out_end;
	}
	env->children++;
	env->group_bound += txn->bound;
	__atomic_store_n(&env->dirty, true, __ATOMIC_RELAXED);

out_end:
	txn->mdb = NULL;
	return rc;
}

int idx_txn_commit(struct idx_txn *txn)
{
	bool keep = txn->keep_lock;
	int rc = commit_locked(txn);

	if (!keep)
		pthread_mutex_unlock(&txn->env->lock);
	return rc;
}

int idx_txn_commit_keep(struct idx_txn *txn)
{
	txn->keep_lock = true;
	return commit_locked(txn);
}

void idx_txn_release(struct idx_txn *txn)
{
	txn->keep_lock = false;
	pthread_mutex_unlock(&txn->env->lock);
}

void idx_txn_use_reserve(struct idx_txn *txn)
{
	txn->reserve_ok = true;
}

void idx_txn_abort(struct idx_txn *txn)
{
	struct idx_env *env;

	if (!txn)
		return;
	env = txn->env;
	if (!txn->view) {
		mdb_txn_abort(txn->mdb);
		idx_clog_undo(txn);
	}
	txn->view = false;
	txn->mdb = NULL;
	if (!txn->keep_lock)
		pthread_mutex_unlock(&env->lock);
}

/* Record an LMDB failure in @p txn and translate it. */
static int db_fail(struct idx_txn *txn, int mdb_rc, const char *op)
{
	struct idx_env *env = txn->env;
	int rc;

	if (mdb_rc == MDB_MAP_FULL || mdb_rc == MDB_TXN_FULL) {
		/* Prevention (group_prepare) should make this rare: the child
		 * is lost, but the group is intact once it is aborted, and the
		 * next begin commits it and grows the map. */
		env->grow_pending |= mdb_rc == MDB_MAP_FULL;
		env->commit_pending = true;
		tfs_warn("index at %s: %s hit %s; the map grows before the next transaction, "
			 "retry it",
			 env->path, op, mdb_strerror(mdb_rc));
		txn->failed = -EAGAIN;
		return -EAGAIN;
	}
	rc = idx_errmap(env, mdb_rc, op);
	if (idx_err_fatal(mdb_rc))
		txn->failed = rc;
	return rc;
}

int idx_txn_check_write(struct idx_txn *txn)
{
	if (txn->failed)
		return txn->failed;
	if (txn->view)
		return -EROFS; /* a read view must not write into the group */
	if (txn->env->rdonly)
		return -EROFS;
	/* After a failed group commit only reads go on (env.c). */
	return txn->env->broken;
}

int idx_db_get(struct idx_txn *txn, enum idx_db db, MDB_val *key, MDB_val *val)
{
	int rc;

	if (txn->failed)
		return txn->failed;
	rc = mdb_get(txn->mdb, txn->env->dbi[db], key, val);
	return rc ? db_fail(txn, rc, "get") : 0;
}

int idx_db_put(struct idx_txn *txn, enum idx_db db, MDB_val *key, MDB_val *val, unsigned flags)
{
	int rc = idx_txn_check_write(txn);

	if (rc)
		return rc;
	rc = mdb_put(txn->mdb, txn->env->dbi[db], key, val, flags);
	if (rc)
		return db_fail(txn, rc, "put");
	idx_clog_record(txn, IDX_SNAP_PUT, db, key, val);
	txn->wrote = true;
	txn->bound += (uint64_t)IDX_OP_PAGES * txn->env->psize + key->mv_size + val->mv_size;
	return idx_space_charge(txn);
}

int idx_db_del(struct idx_txn *txn, enum idx_db db, MDB_val *key)
{
	int rc = idx_txn_check_write(txn);

	if (rc)
		return rc;
	rc = mdb_del(txn->mdb, txn->env->dbi[db], key, NULL);
	if (rc)
		return db_fail(txn, rc, "delete");
	idx_clog_record(txn, IDX_SNAP_DEL, db, key, NULL);
	txn->wrote = true;
	txn->bound += (uint64_t)IDX_OP_PAGES * txn->env->psize;
	return idx_space_charge(txn);
}

int idx_cursor_open(struct idx_txn *txn, enum idx_db db, MDB_cursor **out)
{
	int rc;

	if (txn->failed)
		return txn->failed;
	rc = mdb_cursor_open(txn->mdb, txn->env->dbi[db], out);
	return rc ? db_fail(txn, rc, "open cursor") : 0;
}

int idx_cursor_get(struct idx_txn *txn, MDB_cursor *cur, MDB_val *key, MDB_val *val,
		   MDB_cursor_op op)
{
	int rc;

	if (txn->failed)
		return txn->failed;
	rc = mdb_cursor_get(cur, key, val, op);
	return rc ? db_fail(txn, rc, "cursor get") : 0;
}

/* Which table @p cur walks. */
static enum idx_db cursor_db(const struct idx_txn *txn, MDB_cursor *cur)
{
	MDB_dbi dbi = mdb_cursor_dbi(cur);
	int i;

	for (i = 0; i < IDX_DB_COUNT; i++)
		if (txn->env->dbi[i] == dbi)
			break;
	return (enum idx_db)i;
}

int idx_cursor_del(struct idx_txn *txn, MDB_cursor *cur)
{
	int rc = idx_txn_check_write(txn);

	if (rc)
		return rc;
	if (txn->env->snap || txn->env->mirror) {
		/* The key must be recorded before the delete frees its page. */
		MDB_val k, v;
		size_t mark = txn->env->clog.len;

		rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
		if (rc)
			return db_fail(txn, rc, "cursor get");
		idx_clog_record(txn, IDX_SNAP_DEL, cursor_db(txn, cur), &k, NULL);
		rc = mdb_cursor_del(cur, 0);
		if (rc) {
			txn->env->clog.len = mark;
			return db_fail(txn, rc, "cursor delete");
		}
	} else {
		rc = mdb_cursor_del(cur, 0);
		if (rc)
			return db_fail(txn, rc, "cursor delete");
	}
	txn->wrote = true;
	txn->bound += (uint64_t)IDX_OP_PAGES * txn->env->psize;
	return idx_space_charge(txn);
}
