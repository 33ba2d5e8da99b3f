/* Private to index/: the environment and transaction structures, the table
 * list, key builders and the small LMDB wrappers every module goes through
 * (they account for group size, refuse writes when read-only and translate
 * LMDB codes). Nothing here may be included outside index/. */
#ifndef IDX_INT_H
#define IDX_INT_H

#include <lmdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/base/endian.h"
#include "index/index.h"
#include "index/snapshot_int.h"

/* The named databases (LMDB "DBIs") and their key layouts (all big-endian). */
enum idx_db {
	IDX_DB_VOLUME,	/* "volume" -> volume record; "stale" disk(2) -> stale-disk record
			 * (format_int.h) */
	IDX_DB_INODE,	/* ino(8) -> inode record */
	IDX_DB_DIRENT,	/* parent(8) name(1..255) -> dirent record */
	IDX_DB_DIRSLOT, /* parent(8) slot(8) -> name bytes */
	IDX_DB_EXTENT,	/* ino(8) off(8) -> extent record */
	IDX_DB_XATTR,	/* ino(8) name(1..255) -> value bytes */
	IDX_DB_INLINE,	/* ino(8) -> data bytes */
	IDX_DB_ORPHAN,	/* ino(8) -> empty */
	IDX_DB_COUNT
};

/* Group commit policy (see env.c): the group is committed before a new child
 * begins once it has merged this many writing children ... */
#define IDX_GROUP_MAX_CHILDREN 2000u
/* ... or once the worst-case number of bytes its children may have added to
 * the file exceeds half the free map space or this cap (which also keeps the
 * group well under LMDB's limit of dirty pages per transaction). */
#define IDX_GROUP_MAX_BOUND (256ull << 20)
/* Worst-case pages one put or delete may add: a copied root-to-leaf path of a
 * deep tree, a split, and the main database's root. */
#define IDX_OP_PAGES 6u

#define IDX_MAP_MIN (64ull << 20)

struct idx_txn {
	struct idx_env *env;
	MDB_txn *mdb;	  /* child of env->group, or a read-only txn */
	int failed;	  /* 0, or the -errno of the first error LMDB says ends the txn */
	bool wrote;	  /* a put or delete succeeded */
	uint64_t bound;	  /* worst-case bytes this txn may have added to the file */
	bool view;	  /* idx_txn_begin_read: mdb is the group itself, read only */
	bool reserve_ok;  /* idx_txn_use_reserve: frees space, may use the reserve */
	bool keep_lock;	  /* commit and abort leave env->lock held (precommit hook,
			   * idx_txn_commit_keep) */
	size_t clog_mark; /* env->clog.len when it began: abort drops what follows */
};

struct idx_env {
	MDB_env *mdb;
	char *path; /* the directory, for messages */
	bool rdonly;
	unsigned psize;		   /* LMDB page size */
	MDB_dbi dbi[IDX_DB_COUNT]; /* opened once at open time; fixed afterwards */

	pthread_mutex_t lock;	    /* held from idx_txn_begin to commit/abort; guards all below */
	MDB_txn *group;		    /* the long-lived write txn, NULL until the first begin */
	unsigned children;	    /* writing children merged into group */
	uint64_t group_bound;	    /* sum of the merged children's bound */
	bool dirty;		    /* group holds writes (read without the lock: atomic) */
	bool unsynced;		    /* a commit since the last mdb_env_sync */
	bool grow_pending;	    /* a child hit MDB_MAP_FULL: grow before the next one */
	bool commit_pending;	    /* a child hit a size limit: commit the group first */
	uint64_t map_size;	    /* current map size */
	uint64_t used;		    /* (last_pgno + 1) * psize as of the last commit */
	uint32_t chunk_size;	    /* from the volume record, 0 until read or written */
	struct idx_txn txn;	    /* the one transaction that can be open at a time */
	idx_precommit_fn precommit; /* see idx_env_set_precommit */
	void *precommit_arg;
	bool held_back; /* the hook failed at the last commit attempt */
	int broken;	/* a group commit failed: -errno; no more writes (env.c) */
	/* space.c: data.mdb's blocks claimed on its filesystem */
	int fd;		     /* data.mdb, or -1 */
	uint64_t claimed;    /* bytes allocated (UINT64_MAX: cannot tell) */
	uint64_t free_bytes; /* LMDB's free pages at the last commit ... */
	bool free_valid;     /* ... counted since that commit */
	bool space_short;    /* the last claim failed (said once) */
	bool in_precommit;   /* the hook is running (idx_txn_begin_precommit) */
	int inject_commits;  /* tests: fail this many more commits of writing children */
	/* changelog.c: the group's changes while a snapshot or the mirror needs them */
	struct idx_clog clog;
	struct idx_snap_capture *snap; /* snapshot.c: a snapshot is being taken */
	struct idx_mirror *mirror;     /* mirror.c: the live mirror, or NULL */
	char *mirror_dir;	       /* the mirror's directory while one is set */
	int mirror_error;	       /* why the mirror is not live (-errno) */
	uint64_t seq;		       /* commit sequence number of the last group commit */
};

/** Tests: make the next @p n commits of transactions that wrote fail with
 * -EIO, as a commit that LMDB refused (the transaction is aborted; the group
 * is intact). */
void idx_env_inject_commit_errors(struct idx_env *env, int n);

/* ---- truncation.c ---- */

/**
 * After mdb_env_open: refuse (-EIO, with a message naming @p file) a file
 * shorter than the pages its last transaction uses, unless every missing
 * page is a free one LMDB never wrote.
 */
int idx_check_file_size(struct idx_env *env, const char *file);

/* ---- space.c ---- */

/** At open: find data.mdb's descriptor and what is allocated already. */
void idx_space_init(struct idx_env *env);
/**
 * After a write into @p txn: make sure the group's worst case fits in claimed
 * space, claiming more if needed. @return 0, or -ENOSPC (also recorded in the
 * txn, which can then only be aborted).
 */
int idx_space_charge(struct idx_txn *txn);
/** Before a child begins: true if the group must be committed to make room. */
bool idx_space_tight(struct idx_env *env);

/* ---- changelog.c ---- */

/** Record a put (@p val) or a delete (@p val NULL) that succeeded in @p txn. */
void idx_clog_record(struct idx_txn *txn, unsigned op, enum idx_db db, const MDB_val *key,
		     const MDB_val *val);
/** Drop what @p txn recorded: it aborted or failed to merge. */
void idx_clog_undo(struct idx_txn *txn);
/** The group committed: hand its records to the snapshot and the mirror. */
void idx_clog_committed_locked(struct idx_env *env);
/** The group's commit failed: its records go. */
void idx_clog_failed_locked(struct idx_env *env);

/* ---- mirror.c ---- */

/** After a group commit: apply the change log to the mirror (marks it failed on error). */
void idx_mirror_apply_locked(struct idx_env *env);
/** After the index's fsync: fsync the mirror too. */
void idx_mirror_sync_locked(struct idx_env *env);
/** At close. */
void idx_mirror_close_locked(struct idx_env *env);

/* ---- volrec.c: the commit sequence number ---- */

#define IDX_SEQ_KEY "commitseq"
/** Read the commit sequence number (0 if the index has none yet). */
int idx_seq_read(struct idx_env *env, MDB_txn *mtxn, uint64_t *out);
/** Put @p seq into @p mtxn (the group, just before it commits). */
int idx_seq_put(struct idx_env *env, MDB_txn *mtxn, uint64_t seq);

/* ---- env.c: table names ---- */

const char *idx_table_name(enum idx_db db);

/* ---- errmap.c ---- */

/**
 * Translate an LMDB return code (or a positive errno LMDB passes through) to
 * a negative errno. Corruption codes are logged naming the index path and
 * @p op. 0 stays 0.
 */
int idx_errmap(const struct idx_env *env, int mdb_rc, const char *op);
/** True for codes after which LMDB allows only aborting the transaction. */
bool idx_err_fatal(int mdb_rc);
/** Log "index corrupt: <what>; run fsck.trackfs" for a malformed value. @return -EIO. */
int idx_corrupt(const struct idx_txn *txn, const char *what, uint64_t key);

/* ---- txn.c: wrappers; each returns 0 or -errno and records fatal errors ---- */

int idx_db_get(struct idx_txn *txn, enum idx_db db, MDB_val *key, MDB_val *val);
int idx_db_put(struct idx_txn *txn, enum idx_db db, MDB_val *key, MDB_val *val, unsigned flags);
int idx_db_del(struct idx_txn *txn, enum idx_db db, MDB_val *key);
int idx_cursor_open(struct idx_txn *txn, enum idx_db db, MDB_cursor **out);
/** mdb_cursor_get; -ENOENT at either end. */
int idx_cursor_get(struct idx_txn *txn, MDB_cursor *cur, MDB_val *key, MDB_val *val,
		   MDB_cursor_op op);
/** mdb_cursor_del at the cursor's position. */
int idx_cursor_del(struct idx_txn *txn, MDB_cursor *cur);
/** Fail with -EROFS in a read-only environment, or with an earlier fatal error. */
int idx_txn_check_write(struct idx_txn *txn);

/* ---- env.c ---- */

/** Called with the lock held and no child open: commit the group, if any. */
int idx_group_commit_locked(struct idx_env *env, const char *why);
/**
 * Called with the lock held and no child open, in a writable environment:
 * commit the group if it is big enough (or a child asked for it), grow the
 * map if it is 3/4 used, and make sure a group exists.
 */
int idx_group_prepare_locked(struct idx_env *env);

/* ---- volrec.c ---- */

/** The chunk size from the cache or the volume record. @return 0, -EIO if none. */
int idx_chunk_size(struct idx_txn *txn, uint32_t *out);

/* ---- keys ---- */

static inline void idx_key64(uint8_t buf[8], MDB_val *key, uint64_t a)
{
	tfs_put_be64(buf, a);
	key->mv_data = buf;
	key->mv_size = 8;
}

static inline void idx_key128(uint8_t buf[16], MDB_val *key, uint64_t a, uint64_t b)
{
	tfs_put_be64(buf, a);
	tfs_put_be64(buf + 8, b);
	key->mv_data = buf;
	key->mv_size = 16;
}

#endif
