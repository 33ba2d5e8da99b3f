/* The LMDB environment: opening and checking it, the group transaction that
 * children merge into (committed on flush, on sync, at close, and
 * automatically before it grows too large), map growth and statistics. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/log.h"
#include "index/idx_int.h"

static const char *const table_names[IDX_DB_COUNT] = {
	[IDX_DB_VOLUME] = "volume",   [IDX_DB_INODE] = "inode",	  [IDX_DB_DIRENT] = "dirent",
	[IDX_DB_DIRSLOT] = "dirslot", [IDX_DB_EXTENT] = "extent", [IDX_DB_XATTR] = "xattr",
	[IDX_DB_INLINE] = "inline",   [IDX_DB_ORPHAN] = "orphan",
};

#define MIB(x) ((uint64_t)(x) >> 20)

/* Refresh the committed size and the map size from LMDB's meta page. */
static void refresh_info(struct idx_env *env)
{
	MDB_envinfo info;

	if (mdb_env_info(env->mdb, &info) == 0) {
		env->map_size = info.me_mapsize;
		env->used = ((uint64_t)info.me_last_pgno + 1) * env->psize;
	}
}

/* With no transaction open: double the map while more than 3/4 of it is in
 * use (or once, when a child ran out of map). A failed grow is only logged:
 * the map still has a quarter free and a real shortage ends in -ENOSPC. */
static void map_grow_locked(struct idx_env *env)
{
	uint64_t want = env->map_size;
	int rc;

	if (env->grow_pending)
		want *= 2;
	env->grow_pending = false;
	while (env->used > want / 4 * 3)
		want *= 2;
	if (want == env->map_size)
		return;
	rc = mdb_env_set_mapsize(env->mdb, want);
	if (rc) {
		tfs_warn("index at %s: cannot grow the map from %" PRIu64 " to %" PRIu64
			 " MiB: %s; continuing with the current map",
			 env->path, MIB(env->map_size), MIB(want), mdb_strerror(rc));
		return;
	}
	tfs_info("index at %s: map grown from %" PRIu64 " to %" PRIu64 " MiB (%" PRIu64
		 " MiB used)",
		 env->path, MIB(env->map_size), MIB(want), MIB(env->used));
	refresh_info(env);
}

int idx_group_commit_locked(struct idx_env *env, const char *why)
{
	bool dirty = env->dirty;
	int rc = 0;

	if (!env->group)
		return 0;
	if (dirty && env->held_back && !env->precommit) {
		/* The hook that held this group back is gone (the volume is
		 * closing): nobody can make what it references durable, so it
		 * is never committed; close drops it. */
		return -EIO;
	}
	if (dirty && env->precommit) {
		env->in_precommit = true;
		rc = env->precommit(env->precommit_arg);
		env->in_precommit = false;
		if (rc < 0) {
			/* The group stays open with everything in it: what it
			 * references is not on the disks, so it must not reach
			 * the disk either. Said once per episode. */
			if (!env->held_back)
				tfs_err("index at %s: group commit (%s) held back: the data "
					"it references could not be made durable: %s",
					env->path, why, tfs_strerror(rc));
			env->held_back = true;
			return rc;
		}
		if (env->held_back)
			tfs_info("index at %s: group commits work again", env->path);
		env->held_back = false;
	}
	if (dirty) {
		/* Every commit that writes carries its sequence number, so that a
		 * mirror or a snapshot can tell which state it holds. */
		rc = idx_seq_put(env, env->group, env->seq + 1);
		if (rc == 0)
			rc = mdb_txn_commit(env->group);
		else
			mdb_txn_abort(env->group);
	} else {
		mdb_txn_abort(env->group); /* only reads ran in it */
	}
	env->group = NULL;
	env->children = 0;
	env->group_bound = 0;
	env->commit_pending = false;
	__atomic_store_n(&env->dirty, false, __ATOMIC_RELAXED);
	if (rc)
		idx_clog_failed_locked(env);
	if (rc) {
		/* The volume's memory (inode numbers, allocator, the kernel's
		 * caches) is ahead of the index now: no change may be built on
		 * it. Reads go on from what is on the disk; the next open
		 * rebuilds from it. */
		rc = idx_errmap(env, rc, "group commit");
		env->broken = rc;
		tfs_err("index at %s: committing the group transaction (%s) failed: %s; the "
			"changes since the last flush are lost and the volume accepts no "
			"more: unmount it, fix the metadata filesystem (dmesg, free space) "
			"and mount it again",
			env->path, why, tfs_strerror(rc));
		return rc;
	}
	env->free_valid = false;
	if (dirty) {
		env->seq++;
		env->unsynced = true;
		refresh_info(env);
		idx_clog_committed_locked(env);
	}
	return 0;
}

int idx_group_prepare_locked(struct idx_env *env)
{
	int rc;

	if (env->group) {
		uint64_t room = env->map_size > env->used ? env->map_size - env->used : 0;
		uint64_t limit = room / 2 < IDX_GROUP_MAX_BOUND ? room / 2 : IDX_GROUP_MAX_BOUND;

		/* Committing early costs one data sync and is only more
		 * durable; letting the group outgrow the map would lose it. */
		if (env->commit_pending || env->grow_pending ||
		    env->children >= IDX_GROUP_MAX_CHILDREN || env->group_bound > limit ||
		    idx_space_tight(env)) {
			rc = idx_group_commit_locked(env, "automatic");
			if (rc)
				return rc;
		}
	}
	if (env->group)
		return 0;
	map_grow_locked(env);
	rc = mdb_txn_begin(env->mdb, NULL, 0, &env->group);
	if (rc) {
		env->group = NULL;
		return idx_errmap(env, rc, "begin group transaction");
	}
	return 0;
}

static int open_tables(struct idx_env *env, bool create)
{
	MDB_txn *t;
	int rc;

	rc = mdb_txn_begin(env->mdb, NULL, env->rdonly ? MDB_RDONLY : 0, &t);
	if (rc)
		return idx_errmap(env, rc, "open tables");
	for (int i = 0; i < IDX_DB_COUNT; i++) {
		rc = mdb_dbi_open(t, table_names[i], create ? MDB_CREATE : 0, &env->dbi[i]);
		if (rc == MDB_NOTFOUND) {
			tfs_err("index at %s has no \"%s\" table: it is not a trackfs index or is "
				"damaged; run fsck.trackfs, or rebuild the metadata directory from "
				"the snapshots on the data disks (fsck.trackfs --restore-meta)",
				env->path, table_names[i]);
			mdb_txn_abort(t);
			return -EIO;
		}
		if (rc) {
			rc = idx_errmap(env, rc, "open tables");
			goto out_abort;
		}
	}
	/* Committing (even read-only) is what keeps the table handles. */
	rc = mdb_txn_commit(t);
	return rc ? idx_errmap(env, rc, "open tables") : 0;

out_abort:
	mdb_txn_abort(t);
	return rc;
}

int idx_env_open(const char *dir, unsigned flags, struct idx_env **out)
{
	bool rdonly = flags & IDX_RDONLY;
	unsigned mflags = MDB_NOLOCK | MDB_NOMETASYNC | MDB_NOTLS | (rdonly ? MDB_RDONLY : 0);
	uint64_t map = IDX_MAP_MIN;
	struct idx_env *env;
	char file[PATH_MAX];
	struct stat st;
	MDB_stat ms;
	int rc;

	if ((flags & IDX_CREATE) && rdonly)
		return -EINVAL;
	if (stat(dir, &st) != 0) {
		rc = -errno;
		tfs_err("index: cannot open %s: %s", dir, tfs_strerror(rc));
		return rc;
	}
	if (!S_ISDIR(st.st_mode)) {
		tfs_err("index: %s is not a directory", dir);
		return -ENOTDIR;
	}
	if (snprintf(file, sizeof(file), "%s/data.mdb", dir) >= (int)sizeof(file))
		return -ENAMETOOLONG;
	if (stat(file, &st) == 0) {
		if (st.st_size == 0 && !(flags & IDX_CREATE)) {
			tfs_err("index: %s is empty (0 bytes): the index was lost or never "
				"written; rebuild the metadata directory from the snapshots on the "
				"data disks "
				"(fsck.trackfs --restore-meta)",
				file);
			return -EIO;
		}
		/* Start with the file at most 3/4 of the map, so that the first
		 * transaction does not have to grow it. */
		while (map / 4 * 3 < (uint64_t)st.st_size)
			map *= 2;
	} else {
		rc = -errno;
		if (rc != -ENOENT || !(flags & IDX_CREATE)) {
			tfs_err("index: cannot open %s: %s%s", file, tfs_strerror(rc),
				rc == -ENOENT ? " (no index here: wrong metadata directory?)" : "");
			return rc;
		}
	}

	env = calloc(1, sizeof(*env));
	if (!env)
		return -ENOMEM;
	env->path = strdup(dir);
	if (!env->path) {
		rc = -ENOMEM;
		goto out_free;
	}
	env->rdonly = rdonly;
	rc = pthread_mutex_init(&env->lock, NULL);
	if (rc) {
		rc = -rc;
		goto out_free;
	}
	rc = mdb_env_create(&env->mdb);
	if (rc) {
		rc = idx_errmap(env, rc, "create environment");
		goto out_destroy_lock;
	}
	rc = mdb_env_set_maxdbs(env->mdb, 16);
	if (!rc)
		rc = mdb_env_set_mapsize(env->mdb, map);
	if (!rc)
		rc = mdb_env_open(env->mdb, dir, mflags, 0644);
	if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH) {
		tfs_err("index: %s is not a readable LMDB environment (%s): run fsck.trackfs, "
			"or rebuild the metadata directory from the snapshots on the data disks "
			"(fsck.trackfs --restore-meta)",
			file, mdb_strerror(rc));
		rc = -EIO;
	} else if (rc) {
		rc = idx_errmap(env, rc, "open environment");
		tfs_err("index: cannot open %s: %s", file, tfs_strerror(rc));
	}
	if (rc)
		goto out_close_env;
	rc = mdb_env_stat(env->mdb, &ms);
	if (rc) {
		rc = idx_errmap(env, rc, "stat environment");
		goto out_close_env;
	}
	env->psize = ms.ms_psize;
	rc = idx_check_file_size(env, file);
	if (rc)
		goto out_close_env;
	rc = open_tables(env, !rdonly && (flags & IDX_CREATE));
	if (rc)
		goto out_close_env;
	refresh_info(env);
	rc = idx_seq_read(env, NULL, &env->seq);
	if (rc)
		goto out_close_env;
	idx_space_init(env);
	*out = env;
	return 0;

out_close_env:
	mdb_env_close(env->mdb);
out_destroy_lock:
	pthread_mutex_destroy(&env->lock);
out_free:
	free(env->path);
	free(env);
	return rc;
}

/* Commit the group and, if asked and anything was committed since, fsync. */
static int flush(struct idx_env *env, bool sync)
{
	int rc = 0;

	if (env->rdonly)
		return 0;
	pthread_mutex_lock(&env->lock);
	if (env->broken) {
		pthread_mutex_unlock(&env->lock);
		return env->broken;
	}
	rc = idx_group_commit_locked(env, sync ? "sync" : "flush");
	if (!rc && sync && env->unsynced) {
		rc = mdb_env_sync(env->mdb, 1);
		if (rc) {
			rc = idx_errmap(env, rc, "sync");
			tfs_err("index at %s: sync failed: %s", env->path, tfs_strerror(rc));
		} else {
			env->unsynced = false;
		}
	}
	if (!rc && sync)
		idx_mirror_sync_locked(env);
	pthread_mutex_unlock(&env->lock);
	return rc;
}

int idx_env_flush(struct idx_env *env)
{
	return flush(env, false);
}

int idx_env_sync(struct idx_env *env)
{
	return flush(env, true);
}

void idx_env_set_precommit(struct idx_env *env, idx_precommit_fn fn, void *arg)
{
	pthread_mutex_lock(&env->lock);
	env->precommit = fn;
	env->precommit_arg = arg;
	pthread_mutex_unlock(&env->lock);
}

bool idx_env_dirty(struct idx_env *env)
{
	return __atomic_load_n(&env->dirty, __ATOMIC_RELAXED);
}

bool idx_env_durable(struct idx_env *env)
{
	/* unsynced is written under env->lock; callers that need a stable answer
	 * hold a transaction (and so the lock) while asking. */
	return !__atomic_load_n(&env->dirty, __ATOMIC_RELAXED) &&
	       !__atomic_load_n(&env->unsynced, __ATOMIC_RELAXED) &&
	       !__atomic_load_n(&env->broken, __ATOMIC_RELAXED);
}

int idx_env_close(struct idx_env *env, bool sync)
{
	int rc;

	if (!env)
		return 0;
	rc = flush(env, sync);
	if (env->group) { /* held back by the precommit hook: dropped */
		mdb_txn_abort(env->group);
		env->group = NULL;
	}
	pthread_mutex_lock(&env->lock);
	idx_mirror_close_locked(env);
	pthread_mutex_unlock(&env->lock);
	idx_clog_free(&env->clog);
	mdb_env_close(env->mdb);
	pthread_mutex_destroy(&env->lock);
	free(env->path);
	free(env);
	return rc;
}

int idx_env_stats(struct idx_env *env, struct idx_env_stats *out)
{
	struct idx_txn *txn;
	MDB_envinfo info;
	MDB_stat st;
	int rc;

	rc = idx_txn_begin(env, &txn);
	if (rc)
		return rc;
	rc = mdb_stat(txn->mdb, env->dbi[IDX_DB_INODE], &st);
	if (!rc)
		rc = mdb_env_info(env->mdb, &info);
	idx_txn_abort(txn);
	if (rc)
		return idx_errmap(env, rc, "stats");
	out->map_size = info.me_mapsize;
	out->used_bytes = ((uint64_t)info.me_last_pgno + 1) * env->psize;
	out->entries = st.ms_entries;
	return 0;
}

uint64_t idx_env_seq(struct idx_env *env)
{
	uint64_t seq;

	pthread_mutex_lock(&env->lock);
	seq = env->seq;
	pthread_mutex_unlock(&env->lock);
	return seq;
}

const char *idx_table_name(enum idx_db db)
{
	return table_names[db];
}

int idx_env_walk(struct idx_env *env, char *why, size_t whylen)
{
	struct idx_txn *txn;
	struct idx_volume vol;
	uint64_t n = 0;
	int rc;

	rc = idx_txn_begin_read(env, &txn);
	if (rc) {
		snprintf(why, whylen, "cannot begin a read: %s", tfs_strerror(rc));
		return rc;
	}
	rc = idx_volume_get(txn, &vol);
	if (rc) {
		snprintf(why, whylen, "the volume record cannot be read: %s", tfs_strerror(rc));
		goto out;
	}
	for (int i = 0; i < IDX_DB_COUNT && rc == 0; i++) {
		MDB_cursor *cur;
		MDB_val k, v;
		rc = mdb_cursor_open(txn->mdb, env->dbi[i], &cur);
		if (rc) {
			snprintf(why, whylen, "table %s: %s", table_names[i], mdb_strerror(rc));
			rc = -EIO;
			break;
		}
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
			n++;
		mdb_cursor_close(cur);
		if (rc == MDB_NOTFOUND) {
			rc = 0;
		} else {
			snprintf(why, whylen, "table %s is damaged after %" PRIu64 " records: %s",
				 table_names[i], n, mdb_strerror(rc));
			rc = -EIO;
		}
	}
out:
	idx_txn_abort(txn);
	return rc;
}

int idx_env_copy(struct idx_env *env, const char *to_dir)
{
	int rc;

	pthread_mutex_lock(&env->lock);
	/* No write transaction may be open while LMDB copies (mirror.c). */
	rc = env->rdonly ? 0 : idx_group_commit_locked(env, "copy");
	if (rc == 0) {
		rc = mdb_env_copy2(env->mdb, to_dir, MDB_CP_COMPACT);
		if (rc)
			rc = rc > 0 ? -rc : idx_errmap(env, rc, "copy");
	}
	pthread_mutex_unlock(&env->lock);
	if (rc)
		tfs_err("index at %s: copying it to %s failed: %s", env->path, to_dir,
			tfs_strerror(rc));
	return rc;
}

int idx_mark_unclean(struct idx_env *env)
{
	struct idx_volume vol;
	struct idx_txn *txn;
	int rc;

	rc = idx_txn_begin(env, &txn);
	if (rc)
		return rc;
	rc = idx_volume_get(txn, &vol);
	if (rc == 0) {
		vol.clean = false;
		rc = idx_volume_put(txn, &vol);
	}
	if (rc) {
		idx_txn_abort(txn);
		return rc;
	}
	rc = idx_txn_commit(txn);
	return rc ? rc : idx_env_sync(env);
}
