/* The one place LMDB return codes become negative errno values. Corruption
 * codes are logged with the index path and the way out (fsck or restore);
 * no MDB_* code leaves index/. */
#include <errno.h>
#include <inttypes.h>

#include "core/base/log.h"
#include "index/idx_int.h"

static const struct {
	int mdb;
	int err;      /* negative errno */
	bool corrupt; /* log as corruption */
} errmap[] = {
	{MDB_NOTFOUND, -ENOENT, false},	    /* no such key */
	{MDB_KEYEXIST, -EEXIST, false},	    /* MDB_NOOVERWRITE */
	{MDB_MAP_FULL, -ENOSPC, false},	    /* txn.c turns a recoverable one into -EAGAIN */
	{MDB_TXN_FULL, -ENOSPC, false},	    /* likewise */
	{MDB_CURSOR_FULL, -ENOSPC, false},  /* tree deeper than LMDB allows */
	{MDB_PAGE_FULL, -ENOSPC, false},    /* internal page overflow */
	{MDB_DBS_FULL, -ENOSPC, false},	    /* more tables than maxdbs */
	{MDB_READERS_FULL, -EBUSY, false},  /* not with MDB_NOLOCK */
	{MDB_MAP_RESIZED, -EAGAIN, false},  /* another process grew the map */
	{MDB_BAD_VALSIZE, -EINVAL, false},  /* key too long: a bug above */
	{MDB_BAD_DBI, -EINVAL, false},	    /* stale table handle: a bug */
	{MDB_CORRUPTED, -EIO, true},	    /* bad page type */
	{MDB_PAGE_NOTFOUND, -EIO, true},    /* page number past the file */
	{MDB_INVALID, -EIO, true},	    /* not an LMDB file */
	{MDB_VERSION_MISMATCH, -EIO, true}, /* written by another LMDB version */
	{MDB_BAD_TXN, -EIO, true},	    /* txn already failed */
	{MDB_INCOMPATIBLE, -EIO, true},	    /* a table name that is not a table */
	{MDB_PANIC, -EIO, true},	    /* environment unusable */
	{MDB_BAD_RSLOT, -EIO, false},	    /* reader slot misuse: a bug */
	{MDB_TLS_FULL, -EIO, false},	    /* not with MDB_NOTLS */
};

int idx_errmap(const struct idx_env *env, int mdb_rc, const char *op)
{
	const char *path = env && env->path ? env->path : "?";

	if (mdb_rc == MDB_SUCCESS)
		return 0;
	if (mdb_rc > 0)
		return -mdb_rc; /* LMDB passes system errors through as errno */
	for (size_t i = 0; i < sizeof(errmap) / sizeof(errmap[0]); i++) {
		if (errmap[i].mdb != mdb_rc)
			continue;
		if (errmap[i].corrupt)
			tfs_err("index at %s is corrupt (%s during %s): run fsck.trackfs, or "
				"rebuild the metadata directory (fsck.trackfs --restore-meta)",
				path, mdb_strerror(mdb_rc), op);
		return errmap[i].err;
	}
	tfs_err("index at %s: unexpected LMDB error %d (%s) during %s", path, mdb_rc,
		mdb_strerror(mdb_rc), op);
	return -EIO;
}

bool idx_err_fatal(int mdb_rc)
{
	/* These are refused before LMDB touches the transaction. */
	return mdb_rc != MDB_SUCCESS && mdb_rc != MDB_NOTFOUND && mdb_rc != MDB_KEYEXIST &&
	       mdb_rc != MDB_BAD_VALSIZE && mdb_rc != EINVAL && mdb_rc != EACCES;
}

int idx_corrupt(const struct idx_txn *txn, const char *what, uint64_t key)
{
	tfs_err("index corrupt: %s (key %" PRIu64 ") in %s; run fsck.trackfs", what, key,
		txn && txn->env ? txn->env->path : "?");
	return -EIO;
}
