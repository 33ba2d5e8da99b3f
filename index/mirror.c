/* The mirror: a second LMDB environment, normally on another device, that
 * every group commit is replayed into (the change log, changelog.c) right
 * after the index's own commit, and fsynced whenever the index is. Its
 * commit sequence record moves with the index's, so a mirror that fell
 * behind (a crash between the two commits, a failure, an older copy) is
 * recognised at attach and resynced instead of silently diverging. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/fileio.h"
#include "core/base/log.h"
#include "index/idx_int.h"

struct idx_mirror {
	MDB_env *mdb;
	MDB_dbi dbi[IDX_DB_COUNT];
	uint64_t map_size;
};

static void mirror_close(struct idx_mirror *m)
{
	if (!m)
		return;
	mdb_env_close(m->mdb);
	free(m);
}

/* Open the mirror environment in @p dir. */
static int mirror_open(struct idx_env *env, const char *dir, struct idx_mirror **out)
{
	struct idx_mirror *m = calloc(1, sizeof(*m));
	MDB_txn *t = NULL;
	int rc;

	if (!m)
		return -ENOMEM;
	m->map_size = env->map_size;
	rc = mdb_env_create(&m->mdb);
	if (rc) {
		free(m);
		return idx_errmap(env, rc, "mirror: create environment");
	}
	rc = mdb_env_set_maxdbs(m->mdb, 16);
	if (!rc)
		rc = mdb_env_set_mapsize(m->mdb, m->map_size);
	if (!rc)
		rc = mdb_env_open(m->mdb, dir, MDB_NOLOCK | MDB_NOMETASYNC | MDB_NOTLS, 0644);
	if (!rc)
		rc = mdb_txn_begin(m->mdb, NULL, 0, &t);
	for (int i = 0; i < IDX_DB_COUNT && !rc; i++)
		rc = mdb_dbi_open(t, idx_table_name((enum idx_db)i), MDB_CREATE, &m->dbi[i]);
	if (!rc) {
		rc = mdb_txn_commit(t);
		t = NULL;
	}
	if (t)
		mdb_txn_abort(t);
	if (rc) {
		tfs_err("index mirror %s: cannot open it: %s", dir, mdb_strerror(rc));
		mirror_close(m);
		return rc == MDB_INVALID || rc == MDB_NOTFOUND
			       ? -EIO
			       : idx_errmap(env, rc, "mirror: open");
	}
	*out = m;
	return 0;
}

static int mirror_seq(struct idx_env *env, struct idx_mirror *m, uint64_t *out)
{
	MDB_txn *t;
	MDB_val key = {.mv_size = sizeof(IDX_SEQ_KEY) - 1, .mv_data = (void *)IDX_SEQ_KEY};
	MDB_val val;
	int rc;

	*out = 0;
	rc = mdb_txn_begin(m->mdb, NULL, MDB_RDONLY, &t);
	if (rc)
		return idx_errmap(env, rc, "mirror: read its sequence number");
	rc = mdb_get(t, m->dbi[IDX_DB_VOLUME], &key, &val);
	if (rc == 0 && val.mv_size == 8)
		*out = tfs_get_le64(val.mv_data);
	else if (rc == 0)
		rc = -EIO;
	else if (rc == MDB_NOTFOUND)
		rc = 0;
	else
		rc = idx_errmap(env, rc, "mirror: read its sequence number");
	mdb_txn_abort(t);
	return rc;
}

/* The "volume" record of @p t in table @p dbi, copied into @p buf. */
static int volume_bytes(MDB_txn *t, MDB_dbi dbi, uint8_t *buf, size_t size, size_t *len)
{
	MDB_val key = {.mv_size = 6, .mv_data = (void *)"volume"}, val;
	int rc = mdb_get(t, dbi, &key, &val);

	if (rc)
		return rc;
	*len = val.mv_size < size ? val.mv_size : size;
	memcpy(buf, val.mv_data, *len);
	return 0;
}

/*
 * A mirror at the index's commit holds the same volume record byte for byte
 * (every put is replayed): anything else is another volume's index, or one
 * that diverged. @return 0, -ESTALE (differs) or -errno.
 */
static int same_volume(struct idx_env *env, struct idx_mirror *m)
{
	uint8_t a[512], b[512];
	size_t la = 0, lb = 0;
	MDB_txn *t;
	int rc;

	rc = env->group ? 0 : mdb_txn_begin(env->mdb, NULL, MDB_RDONLY, &t);
	if (rc)
		return idx_errmap(env, rc, "mirror: read the volume record");
	rc = volume_bytes(env->group ? env->group : t, env->dbi[IDX_DB_VOLUME], a, sizeof(a), &la);
	if (!env->group)
		mdb_txn_abort(t);
	if (rc)
		return idx_errmap(env, rc, "mirror: read the volume record");
	rc = mdb_txn_begin(m->mdb, NULL, MDB_RDONLY, &t);
	if (rc == 0) {
		rc = volume_bytes(t, m->dbi[IDX_DB_VOLUME], b, sizeof(b), &lb);
		mdb_txn_abort(t);
	}
	if (rc == MDB_NOTFOUND)
		return -ESTALE;
	if (rc)
		return idx_errmap(env, rc, "mirror: read its volume record");
	return la == lb && !memcmp(a, b, la) ? 0 : -ESTALE;
}

static void set_dir(struct idx_env *env, const char *dir)
{
	if (env->mirror_dir && !strcmp(env->mirror_dir, dir))
		return;
	free(env->mirror_dir);
	env->mirror_dir = strdup(dir);
}

static int attach_locked(struct idx_env *env, const char *dir)
{
	struct idx_mirror *m = NULL;
	uint64_t seq;
	int rc;

	if (env->rdonly)
		return -EROFS;
	/* Whatever the group holds was merged while nothing recorded it for
	 * this mirror: commit it first, so that the sequence numbers tell
	 * whether the mirror has it. */
	rc = env->broken ? env->broken : idx_group_commit_locked(env, "mirror attach");
	if (rc == 0)
		rc = mirror_open(env, dir, &m);
	if (rc) {
		if (!env->mirror) {
			set_dir(env, dir);
			env->mirror_error = rc;
		}
		return rc;
	}
	rc = mirror_seq(env, m, &seq);
	if (rc == 0 && seq != env->seq) {
		tfs_warn("index mirror %s holds commit %" PRIu64 " but the index %s is at %" PRIu64
			 ": it is out of date and must be resynced",
			 dir, seq, env->path, env->seq);
		rc = -ESTALE;
	}
	if (rc == 0) {
		rc = same_volume(env, m);
		if (rc == -ESTALE)
			tfs_warn("index mirror %s is at the index's commit %" PRIu64 " but holds "
				 "another volume record (another volume's index, or diverged): it "
				 "must be resynced",
				 dir, seq);
	}
	if (rc) {
		mirror_close(m);
		/* A live mirror stays what status names; a new one that failed
		 * is named with its error. */
		if (!env->mirror) {
			set_dir(env, dir);
			env->mirror_error = rc;
		}
		return rc;
	}
	mirror_close(env->mirror);
	env->mirror = m;
	set_dir(env, dir);
	env->mirror_error = 0;
	return 0;
}

int idx_mirror_attach(struct idx_env *env, const char *dir)
{
	int rc;

	pthread_mutex_lock(&env->lock);
	rc = attach_locked(env, dir);
	pthread_mutex_unlock(&env->lock);
	return rc;
}

int idx_mirror_resync(struct idx_env *env, const char *dir)
{
	char tmp[PATH_MAX], from[PATH_MAX + 16], to[PATH_MAX + 16];
	int rc;

	if (env->rdonly)
		return -EROFS;
	if (snprintf(tmp, sizeof(tmp), "%s/.resync", dir) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	pthread_mutex_lock(&env->lock);
	mirror_close(env->mirror);
	env->mirror = NULL;
	set_dir(env, dir);
	/* No write transaction may be open while LMDB copies: with no reader
	 * table, a commit during the copy could reuse pages it reads. */
	rc = env->broken ? env->broken : idx_group_commit_locked(env, "mirror resync");
	if (rc == 0 && mkdir(dir, 0755) != 0 && errno != EEXIST)
		rc = -errno;
	if (rc == 0 && mkdir(tmp, 0755) != 0 && errno != EEXIST)
		rc = -errno;
	if (rc == 0) {
		snprintf(from, sizeof(from), "%s/data.mdb", tmp);
		snprintf(to, sizeof(to), "%s/data.mdb", dir);
		unlink(from);
		int mrc = mdb_env_copy2(env->mdb, tmp, MDB_CP_COMPACT);
		if (mrc)
			rc = mrc > 0 ? -mrc : idx_errmap(env, mrc, "mirror: copy");
	}
	if (rc == 0) {
		/* LMDB's copy does not fsync: the name must not be durable
		 * before the bytes. */
		int fd = open(from, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) != 0)
			rc = -errno;
		if (fd >= 0)
			close(fd);
	}
	if (rc == 0 && rename(from, to) != 0)
		rc = -errno;
	if (rc == 0)
		rc = tfs_fsync_dir(dir);
	rmdir(tmp);
	if (rc == 0)
		rc = attach_locked(env, dir);
	if (rc) {
		env->mirror_error = rc;
		tfs_err("index mirror %s: resync failed: %s; the index has no mirror until it "
			"succeeds (check the mirror's device and free space)",
			dir, tfs_strerror(rc));
	} else {
		tfs_info("index mirror %s: resynced at commit %" PRIu64, dir, env->seq);
	}
	pthread_mutex_unlock(&env->lock);
	return rc;
}

void idx_mirror_detach(struct idx_env *env)
{
	pthread_mutex_lock(&env->lock);
	mirror_close(env->mirror);
	env->mirror = NULL;
	free(env->mirror_dir);
	env->mirror_dir = NULL;
	env->mirror_error = 0;
	pthread_mutex_unlock(&env->lock);
}

void idx_mirror_status(struct idx_env *env, struct idx_mirror_status *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&env->lock);
	out->attached = env->mirror_dir != NULL;
	out->error = env->mirror ? 0 : env->mirror_error;
	if (out->attached && !env->mirror && !out->error)
		out->error = -ESTALE;
	out->seq = env->mirror ? env->seq : 0;
	pthread_mutex_unlock(&env->lock);
}

int idx_mirror_peek(const char *dir, uint64_t *seq)
{
	MDB_val key = {.mv_size = sizeof(IDX_SEQ_KEY) - 1, .mv_data = (void *)IDX_SEQ_KEY};
	char file[PATH_MAX];
	MDB_env *mdb = NULL;
	MDB_txn *t = NULL;
	MDB_dbi dbi;
	MDB_val val;
	struct stat st;
	int rc;

	*seq = 0;
	if (snprintf(file, sizeof(file), "%s/data.mdb", dir) >= (int)sizeof(file))
		return -ENAMETOOLONG;
	if (stat(file, &st) != 0)
		return -errno;
	if (st.st_size == 0)
		return -EIO;
	/* No map size set: LMDB takes the one the file records. */
	rc = mdb_env_create(&mdb);
	if (!rc)
		rc = mdb_env_set_maxdbs(mdb, 16);
	if (!rc)
		rc = mdb_env_open(mdb, dir, MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS, 0644);
	if (!rc)
		rc = mdb_txn_begin(mdb, NULL, MDB_RDONLY, &t);
	if (!rc)
		rc = mdb_dbi_open(t, idx_table_name(IDX_DB_VOLUME), 0, &dbi);
	if (!rc) {
		rc = mdb_get(t, dbi, &key, &val);
		if (rc == 0 && val.mv_size != 8)
			rc = MDB_CORRUPTED;
		else if (rc == 0)
			*seq = tfs_get_le64(val.mv_data);
		else if (rc == MDB_NOTFOUND)
			rc = 0; /* never committed to: commit 0 */
	}
	if (rc > 0)
		rc = -rc; /* an errno from the system */
	else if (rc < 0)
		rc = -EIO; /* no volume table, or not an LMDB file */
	if (t)
		mdb_txn_abort(t);
	if (mdb)
		mdb_env_close(mdb);
	return rc;
}

/* The mirror stops here: it is closed, and the error stays for status. */
static void mirror_fail(struct idx_env *env, int rc, const char *what)
{
	tfs_err("index mirror %s: %s failed: %s; the index has NO mirror from now on: fix the "
		"mirror's device or free space, then run `trackfs meta mirror` (or remount) to "
		"resync it",
		env->mirror_dir ? env->mirror_dir : "?", what, tfs_strerror(rc));
	mirror_close(env->mirror);
	env->mirror = NULL;
	env->mirror_error = rc;
}

/* Replay the change log into @p t. */
static int replay(struct idx_env *env, MDB_txn *t)
{
	const struct idx_clog *log = &env->clog;
	struct idx_mirror *m = env->mirror;

	for (size_t off = 0; off + IDX_SNAP_REC_HDR <= log->len;) {
		const uint8_t *p = log->buf + off;
		MDB_val key = {.mv_size = tfs_get_le16(p + 2), .mv_data = (void *)(p + 8)};
		MDB_val val = {.mv_size = tfs_get_le32(p + 4)};
		int rc;

		val.mv_data = (void *)(p + 8 + key.mv_size);
		if (p[1] >= IDX_DB_COUNT)
			return -EINVAL;
		if (p[0] == IDX_SNAP_DEL) {
			rc = mdb_del(t, m->dbi[p[1]], &key, NULL);
			if (rc == MDB_NOTFOUND)
				rc = 0;
		} else {
			rc = mdb_put(t, m->dbi[p[1]], &key, &val, 0);
		}
		if (rc)
			return rc;
		off += IDX_SNAP_REC_HDR + key.mv_size + val.mv_size;
	}
	return 0;
}

void idx_mirror_apply_locked(struct idx_env *env)
{
	struct idx_mirror *m = env->mirror;
	MDB_txn *t;
	int rc;

	if (!m)
		return;
	if (env->clog.err) {
		mirror_fail(env, env->clog.err, "recording the changes");
		return;
	}
	bool committed = false;

	rc = MDB_MAP_FULL;
	for (int attempt = 0; attempt < 4 && !committed; attempt++) {
		if (m->map_size < env->map_size) {
			rc = mdb_env_set_mapsize(m->mdb, env->map_size);
			if (rc)
				break;
			m->map_size = env->map_size;
		}
		rc = mdb_txn_begin(m->mdb, NULL, 0, &t);
		if (rc)
			break;
		rc = replay(env, t);
		if (rc == 0) {
			rc = mdb_txn_commit(t);
			committed = rc == 0;
		} else {
			mdb_txn_abort(t);
		}
		if (rc != MDB_MAP_FULL)
			break;
		/* A mirror compacted at resync can need more map than the index. */
		rc = mdb_env_set_mapsize(m->mdb, m->map_size * 2);
		if (rc)
			break;
		m->map_size *= 2;
		rc = MDB_MAP_FULL; /* not committed yet */
	}
	if (!committed)
		mirror_fail(env, rc < 0 ? rc : idx_errmap(env, rc, "mirror commit"), "a commit");
}

void idx_mirror_sync_locked(struct idx_env *env)
{
	int rc;

	if (!env->mirror)
		return;
	rc = mdb_env_sync(env->mirror->mdb, 1);
	if (rc)
		mirror_fail(env, idx_errmap(env, rc, "mirror sync"), "an fsync");
}

void idx_mirror_close_locked(struct idx_env *env)
{
	if (env->mirror)
		mdb_env_sync(env->mirror->mdb, 1);
	mirror_close(env->mirror);
	env->mirror = NULL;
	free(env->mirror_dir);
	env->mirror_dir = NULL;
}
