/* Shared by the index unit tests: a fresh index environment in its own
 * temporary directory per test, a volume record, short transaction helpers,
 * and raw LMDB access for planting corrupt values. */
#ifndef TFS_TEST_IDX_FIXTURE_H
#define TFS_TEST_IDX_FIXTURE_H

#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "index/index.h"

struct fx {
	char dir[64];
	struct idx_env *env;
};

/* The transaction a test has open, if any: a failed assertion leaves it open
 * (holding the environment's mutex), so teardown aborts it before closing. */
static struct idx_txn *fx_txn;

static inline struct idx_txn *fx_begin_env(struct idx_env *env)
{
	struct idx_txn *txn = NULL;
	int rc = idx_txn_begin(env, &txn);

	cr_assert_eq(rc, 0, "idx_txn_begin: %s", strerror(-rc));
	fx_txn = txn;
	return txn;
}

static inline int fx_commit_rc(struct idx_txn *txn)
{
	fx_txn = NULL;
	return idx_txn_commit(txn);
}

static inline void fx_commit(struct idx_txn *txn)
{
	int rc = fx_commit_rc(txn);

	cr_assert_eq(rc, 0, "idx_txn_commit: %s", strerror(-rc));
}

static inline void fx_abort(struct idx_txn *txn)
{
	fx_txn = NULL;
	idx_txn_abort(txn);
}

static inline void fx_mkdir(struct fx *f)
{
	strcpy(f->dir, "/tmp/trackfs-idx-XXXXXX");
	cr_assert_not_null(mkdtemp(f->dir), "mkdtemp: %s", strerror(errno));
	f->env = NULL;
}

static inline void fx_open(struct fx *f, unsigned flags)
{
	int rc = idx_env_open(f->dir, flags, &f->env);

	cr_assert_eq(rc, 0, "idx_env_open(%s): %s", f->dir, strerror(-rc));
}

/* A volume record with @p chunk_size and next_ino 2, as mkfs writes it. */
static inline void fx_volume(struct fx *f, uint32_t chunk_size)
{
	struct idx_volume vol = {.chunk_size = chunk_size, .format = 1, .next_ino = 2};
	struct idx_txn *txn = fx_begin_env(f->env);

	strcpy(vol.label, "test");
	cr_assert_eq(idx_volume_put(txn, &vol), 0);
	fx_commit(txn);
}

/* A temporary directory with a fresh environment (and a volume record). */
static inline void fx_setup(struct fx *f)
{
	fx_mkdir(f);
	fx_open(f, IDX_CREATE);
	fx_volume(f, 65536);
}

static inline int fx_rm_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

static inline void fx_teardown(struct fx *f)
{
	if (fx_txn)
		idx_txn_abort(fx_txn);
	fx_txn = NULL;
	if (f->env)
		cr_expect_eq(idx_env_close(f->env, false), 0);
	f->env = NULL;
	if (f->dir[0])
		nftw(f->dir, fx_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	f->dir[0] = '\0';
}

static inline struct idx_txn *fx_begin(struct fx *f)
{
	return fx_begin_env(f->env);
}

/* Store raw bytes under a raw key in table @p table, bypassing index/ (the
 * environment must be closed). For corruption tests. */
static inline void fx_raw_put(const char *dir, const char *table, const void *k, size_t klen,
			      const void *v, size_t vlen)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val key = {klen, (void *)k}, val = {vlen, (void *)v};

	cr_assert_eq(mdb_env_create(&env), 0);
	cr_assert_eq(mdb_env_set_maxdbs(env, 16), 0);
	cr_assert_eq(mdb_env_open(env, dir, MDB_NOLOCK, 0644), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, table, 0, &dbi), 0);
	cr_assert_eq(mdb_put(txn, dbi, &key, &val, 0), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* Put (commit) a regular file's inode @p ino of @p size. */
static inline void fx_put_ino(struct idx_env *env, uint64_t ino, uint64_t size)
{
	struct idx_inode in = {
		.ino = ino, .mode = 0100644, .nlink = 1, .size = size, .disk = IDX_NO_DISK};
	struct idx_txn *txn = fx_begin_env(env);

	cr_assert_eq(idx_inode_put(txn, &in), 0);
	fx_commit(txn);
}

static inline void fx_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

#endif
