/* The file allocation table: one LMDB environment holding inodes, directory
 * entries, extents with per-chunk checksums, xattrs, inline data (symlink
 * targets), the orphan list, the volume record and stale-disk records. This
 * is index/'s public interface; env.c (environment, map growth, group
 * commit), txn.c, inode.c, dirent.c, extent.c, xattr.c, orphan.c, inline.c,
 * volrec.c, diskstale.c and errmap.c
 * (LMDB codes -> negative errno, the only place that sees MDB_* codes) sit
 * behind it.
 *
 * Keys are big-endian so byte order is numeric order; values are fixed
 * little-endian layouts (see *_int.h). No LMDB pointer leaves index/: every
 * get copies into caller memory.
 *
 * Concurrency and group commit: the environment is opened MDB_NOLOCK (the
 * volume lock already guarantees one process) and keeps ONE long-lived LMDB
 * write transaction, the "group". idx_txn_begin() takes the environment's
 * mutex and opens a nested (child) transaction inside the group;
 * idx_txn_commit() merges the child into the group and releases the mutex;
 * idx_txn_abort() discards only that child. Reads also run in a child, so
 * they see every change committed before them. Nothing reaches the disk until
 * idx_env_flush() (commit the group: survives a process crash) or
 * idx_env_sync() (commit and fsync: survives power loss). Thousands of
 * operations therefore share one disk flush.
 *
 * Only one idx_txn may be open at a time per environment (the mutex
 * serializes them); never hold one across I/O to tracks. A thread holding a
 * txn must not call idx_txn_begin, idx_env_flush/sync/stats/close on the same
 * environment: they wait for the mutex it holds.
 *
 * -EAGAIN from any call inside a transaction means the transaction outgrew
 * the room left in the map (the map is grown ahead of need, so this takes a
 * single transaction of tens of MiB). The group is intact and the map grows
 * before the next transaction: end this one (commit returns -EAGAIN too) and
 * retry it whole.
 *
 * Errors: every function returns 0 or a negative errno: -ENOENT (not found),
 * -EEXIST, -ENOSPC (map full even after growing, or disk full), -EIO
 * (corruption: the message says "run fsck.trackfs"), -ENOMEM, -EINVAL.
 */
#ifndef IDX_INDEX_H
#define IDX_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/base/uuid.h"

struct idx_env;
struct idx_txn;

#define IDX_ROOT_INO 1ull
#define IDX_NAME_MAX 255
#define IDX_EXTENT_MAX_CHUNKS 128u
#define IDX_LABEL_MAX 64

/* ---- environment ---------------------------------------------------------- */

enum {
	IDX_CREATE =
		1 << 0, /* create data.mdb in an empty directory (an existing one opens as is) */
	IDX_RDONLY = 1 << 1, /* open read-only (fsck, status) */
};

/**
 * Open (or with IDX_CREATE create) the index in directory @p dir. The map
 * starts at 64 MiB or the file's size and doubles whenever a transaction
 * begins with less than a quarter of it free, so it grows instead of failing.
 * A file that is not an LMDB environment gives -EIO with a message naming the
 * path and saying to run fsck.trackfs or restore it.
 */
int idx_env_open(const char *dir, unsigned flags, struct idx_env **out); /* -ENOENT: no index */
/**
 * A hook run under the environment's lock just before every group commit
 * that writes (flush, sync, automatic, close): the volume makes the chunk
 * data the group references durable there (DESIGN.md invariant 3). LMDB's
 * commit fdatasyncs data.mdb, which makes the previous commit's meta page
 * durable, and the kernel may write this commit's meta page back at any
 * moment after it: so nothing the group points at may be left for later.
 * A failing hook (-errno) keeps the group uncommitted and is the commit's
 * result. The hook may change the group first, through a transaction of
 * idx_txn_begin_precommit (e.g. undo what it cannot make durable).
 * @p fn NULL removes it.
 */
typedef int (*idx_precommit_fn)(void *arg);
void idx_env_set_precommit(struct idx_env *env, idx_precommit_fn fn, void *arg);
/**
 * Commit the group (no fsync unless @p sync), then close. A group that could
 * not be committed is dropped. Accepts NULL.
 */
int idx_env_close(struct idx_env *env, bool sync);
/** Commit the group transaction: durable against a process crash. */
int idx_env_flush(struct idx_env *env);
/** Commit the group and fsync data and meta pages: durable against power loss. */
int idx_env_sync(struct idx_env *env);
/** True when changes were committed into the group since the last flush. */
bool idx_env_dirty(struct idx_env *env);
/**
 * True when everything committed so far is on the disk (fsynced): nothing in
 * the group and no group commit since the last idx_env_sync(). An automatic
 * group commit at idx_txn_begin clears "dirty" but not this. Ask while
 * holding a transaction for an answer no other thread can change.
 */
bool idx_env_durable(struct idx_env *env);

struct idx_env_stats {
	uint64_t map_size;   /* bytes */
	uint64_t used_bytes; /* pages in use * page size */
	uint64_t entries;    /* inodes */
};
int idx_env_stats(struct idx_env *env, struct idx_env_stats *out);
/** The commit sequence number: how many group commits that wrote the index has seen. */
uint64_t idx_env_seq(struct idx_env *env);

/* ---- snapshots (snapshot.c, snapload.c) --------------------------------------- */

/*
 * A snapshot is a compact, self-checking copy of the whole index in one file
 * (layout in snapshot_int.h), taken while the index is in use without
 * holding its lock for more than a slice of records at a time. It holds the
 * index exactly as of one group commit, whose sequence number it carries.
 */
struct idx_snap_info {
	struct tfs_uuid uuid; /* the volume's */
	uint64_t generation;  /* the volume record's open generation */
	uint64_t seq;	      /* the commit sequence number of the state it holds */
	uint64_t time_ns;     /* when it was completed, ns since the epoch */
	uint64_t body_len;    /* bytes after the header */
	uint64_t body_sum;    /* xxh3-64 of the body */
	uint64_t records;
	uint64_t attach_len; /* bytes of the attachment (the volume file) */
	/* Taking it (not stored in the file): the longest the index's lock was
	 * held by one slice, and by the commit that ended it, in ns. */
	uint64_t max_slice_ns, end_commit_ns;
};

struct idx_snapshot_opts {
	const void *attach; /* stored with it and handed back by verify */
	size_t attach_len;
	/* Called between slices (no lock held) with records done and the total. */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *progress_arg;
};

/** Header size: a snapshot file is at least this long. */
#define IDX_SNAPSHOT_HEADER 4096u

/**
 * Write a snapshot of @p env to @p fd (an empty file; the caller fsyncs and
 * renames it). Commits the group at its end (a flush). -EBUSY if another
 * snapshot of @p env is being taken.
 */
int idx_snapshot_write(struct idx_env *env, int fd, const struct idx_snapshot_opts *opts,
		       struct idx_snap_info *out);
/** Read and check the header only. -EINVAL (not a snapshot, other version), -EIO (damaged). */
int idx_snapshot_header(int fd, struct idx_snap_info *out, char *why, size_t whylen);
/**
 * Check the whole file: header, record structure and body checksum. With
 * @p attach, hand back the attachment (malloc'ed, NUL-terminated, or NULL).
 */
int idx_snapshot_verify(int fd, struct idx_snap_info *info, void **attach, char *why,
			size_t whylen);
/**
 * Read only the attachment (the first record) of a snapshot already checked
 * with idx_snapshot_verify: malloc'ed, NUL-terminated; NULL if it has none.
 */
int idx_snapshot_attachment(int fd, void **attach, size_t *len, char *why, size_t whylen);
/**
 * Verify the snapshot in @p fd, then build a new index from it in directory
 * @p dir (which must hold no data.mdb). On failure @p dir may hold a partial
 * index: restore into a temporary directory and rename it.
 */
int idx_snapshot_restore(int fd, const char *dir, const struct idx_snapshot_opts *opts, char *why,
			 size_t whylen);

/**
 * Read every record of every table (LMDB checks each page on the way) and
 * the volume record. @return 0, or -EIO with @p why saying what is damaged.
 */
int idx_env_walk(struct idx_env *env, char *why, size_t whylen);
/**
 * Write a compact copy of @p env (opened read-only, or with no writers) into
 * directory @p to_dir as data.mdb. @return 0 or -errno.
 */
int idx_env_copy(struct idx_env *env, const char *to_dir);
/** Mark the volume record unclean, so that the next open rebuilds the free lists. */
int idx_mark_unclean(struct idx_env *env);

/* ---- the mirror (mirror.c) ------------------------------------------------------ */

/*
 * A mirror is a second index in another directory (on another device) that
 * every group commit is applied to, right after the index's own commit and
 * under the same lock, and fsynced whenever the index is. Losing either
 * loses nothing that was committed. A mirror that fails (full, I/O error) is
 * detached and reported; idx_mirror_resync makes it an exact copy again.
 */
/**
 * Attach the mirror in @p dir. It must hold the index's commit sequence
 * number, else -ESTALE (it fell behind: resync it).
 */
int idx_mirror_attach(struct idx_env *env, const char *dir);
/**
 * Make @p dir an exact copy of the index and attach it. Writers wait for the
 * copy (LMDB's compacting copy, taken with no write transaction open).
 */
int idx_mirror_resync(struct idx_env *env, const char *dir);
/** Detach (and close) the mirror, if any. */
void idx_mirror_detach(struct idx_env *env);

struct idx_mirror_status {
	bool attached; /* a mirror directory is set */
	int error;     /* 0, or why it stopped being updated (-errno) */
	uint64_t seq;  /* the commit sequence number it holds */
};
void idx_mirror_status(struct idx_env *env, struct idx_mirror_status *out);
/**
 * The commit sequence number held by the index (or mirror) in @p dir, read
 * without opening it as an index and without logging: for a mirror that is
 * not attached (`trackfs status` of an unmounted volume). Never writes.
 * @return 0; -ENOENT (no data.mdb there), -EIO (not an index), -errno.
 */
int idx_mirror_peek(const char *dir, uint64_t *seq);

/* ---- transactions ------------------------------------------------------------ */

/** Take the environment's mutex and begin a child of the group. */
int idx_txn_begin(struct idx_env *env, struct idx_txn **out);
/**
 * Begin a read-only transaction: like idx_txn_begin, but it reads the group
 * directly instead of opening a nested transaction (cheaper). Writes through
 * it return -EROFS. End it with idx_txn_abort (or idx_txn_commit).
 */
int idx_txn_begin_read(struct idx_env *env, struct idx_txn **out);
/** Merge into the group and release the mutex. On failure the txn is aborted. */
int idx_txn_commit(struct idx_txn *txn);
/**
 * Mark @p txn as one that frees space (unlink, rmdir, truncate): it may use
 * the reserve kept on a nearly full metadata filesystem, where every other
 * write fails with -ENOSPC (see index/space.c).
 */
void idx_txn_use_reserve(struct idx_txn *txn);
/**
 * Merge into the group like idx_txn_commit, but keep the mutex, on failure
 * too, until idx_txn_release: what the caller does in between (its own
 * bookkeeping of the change) is seen by every later transaction and by the
 * precommit hook together with the merge, never without it.
 */
int idx_txn_commit_keep(struct idx_txn *txn);
/** Release the mutex after idx_txn_commit_keep. */
void idx_txn_release(struct idx_txn *txn);
/**
 * Only from inside a precommit hook (the mutex is held by the commit that
 * runs it): begin a child of the group about to be committed, so that the
 * hook can change what it commits. Commit or abort it as usual; neither
 * releases the mutex. @return 0, -EINVAL outside a hook, or an index error.
 */
int idx_txn_begin_precommit(struct idx_env *env, struct idx_txn **out);
/** Discard this transaction's changes and release the mutex. Accepts NULL. */
void idx_txn_abort(struct idx_txn *txn);

/* ---- volume record ----------------------------------------------------------- */

struct idx_volume {
	struct tfs_uuid uuid;
	uint32_t chunk_size;
	uint32_t format;     /* index format version */
	uint64_t next_ino;   /* next inode number to hand out */
	uint64_t generation; /* bumped at every open; inode generations use it */
	bool clean;	     /* false while open: true only after a clean close */
	char label[IDX_LABEL_MAX + 1];
};
int idx_volume_get(struct idx_txn *txn, struct idx_volume *out);
int idx_volume_put(struct idx_txn *txn, const struct idx_volume *vol);
/** Hand out the next inode number (persisted in the volume record). */
int idx_ino_alloc(struct idx_txn *txn, uint64_t *ino_out);

/* ---- the number of disks -------------------------------------------------------- */

/*
 * Extents name disks by number; the index keeps how many disks the volume
 * has (written by mkfs and when a disk is added), so that a volume file
 * whose disk line was deleted by hand is refused instead of turning that
 * disk's files into EIO. An index made before it has no record (-ENOENT).
 */
/** @return 0, -ENOENT (no record yet), -EIO (malformed). */
int idx_ndisks_get(struct idx_txn *txn, uint32_t *out);
int idx_ndisks_put(struct idx_txn *txn, uint32_t ndisks);

/* ---- disks with stale free lists ----------------------------------------------- */

/*
 * A disk that is missing while the index stops referencing some of its chunks
 * (a delete, truncate or overwrite of a file on it), or while the free lists
 * are rebuilt from the index after an unclean shutdown, keeps free lists that
 * lack those chunks. Its stale-disk record says so, in the same transaction
 * that dropped the extents, until the disk is present again and its free
 * lists have been rebuilt from the index (fs/vol/open.c, fsck.trackfs
 * --repair). A disk without a record has none of this.
 */
#define IDX_DISK_STALE_MISSED_REBUILD 1u /* a rebuild ran while the disk was missing */
struct idx_disk_stale {
	uint64_t chunks; /* chunks freed while the disk was missing */
	uint32_t flags;	 /* IDX_DISK_STALE_* */
};
/** @return 0, -ENOENT (the disk's free lists are not stale), -EIO (malformed). */
int idx_disk_stale_get(struct idx_txn *txn, uint16_t disk, struct idx_disk_stale *out);
/** Add @p chunks and @p flags to the disk's record, creating it. */
int idx_disk_stale_add(struct idx_txn *txn, uint16_t disk, uint64_t chunks, uint32_t flags);
/** Remove the disk's record (its free lists were rebuilt). @return 0 or -ENOENT. */
int idx_disk_stale_clear(struct idx_txn *txn, uint16_t disk);

/* ---- disks being drained -------------------------------------------------------- */

/*
 * A disk whose chunks are being moved onto the other disks (fs/vol/drain.c)
 * has a drain record in the volume table. The record is updated in the same
 * transactions that move the chunks, so after a crash the durable cursor
 * says exactly which chunks were moved: everything in extents with keys
 * below (ino, off) whose move was committed.
 */
enum {
	IDX_DRAIN_DRAINING = 1, /* chunks are being moved off; no new chunks go there */
	IDX_DRAIN_DRAINED = 2,	/* it holds no chunk the index references */
};
enum {
	/* Stopped by the user (`trackfs disk drain --stop`): not resumed at
	 * mount, only by `trackfs disk drain` again. */
	IDX_DRAIN_F_STOPPED = 1u << 0,
	/* A replace (`trackfs disk replace`): every chunk goes to disk
	 * @c target only, and what cannot be read stays, listed by path. A
	 * resumed drain stays a replace. */
	IDX_DRAIN_F_REPLACE = 1u << 1,
	/* A replace that copied everything that reads: what is left could
	 * not be read and is listed in META/disk-N-lost.txt. Not resumed at
	 * mount (it would only fail again); `trackfs disk drain` tries again. */
	IDX_DRAIN_F_SALVAGED = 1u << 2,
	IDX_DRAIN_F_ALL = IDX_DRAIN_F_STOPPED | IDX_DRAIN_F_REPLACE | IDX_DRAIN_F_SALVAGED,
};
struct idx_disk_drain {
	uint32_t state;	      /* IDX_DRAIN_* */
	uint32_t passes;      /* full scans begun (the last one found nothing: drained) */
	uint64_t ino, off;    /* cursor: the next extent key to look at */
	uint64_t bytes_done;  /* chunk bytes moved so far */
	uint64_t bytes_total; /* chunk bytes on the disk when the drain began (an estimate) */
	uint32_t flags;	      /* IDX_DRAIN_F_* */
	uint32_t target;      /* with IDX_DRAIN_F_REPLACE: the new disk; else 0 */
	uint64_t rate;	      /* bytes/s at most, as asked when it was started; 0: no limit */
};
/** @return 0, -ENOENT (the disk is not being drained), -EIO (malformed). */
int idx_disk_drain_get(struct idx_txn *txn, uint16_t disk, struct idx_disk_drain *out);
/** Write the disk's drain record (the short form an older trackfs reads when
 * flags and rate are 0). @return 0, -EINVAL (bad state), or an index error. */
int idx_disk_drain_put(struct idx_txn *txn, uint16_t disk, const struct idx_disk_drain *d);
/** Remove it (the disk is in use again, or was removed). @return 0 or -ENOENT. */
int idx_disk_drain_del(struct idx_txn *txn, uint16_t disk);

/* ---- inodes -------------------------------------------------------------------- */

struct idx_inode {
	uint64_t ino;
	uint32_t mode; /* type and permission bits, as st_mode */
	uint32_t uid, gid;
	uint32_t nlink;
	uint64_t size;
	uint64_t rdev;
	uint64_t blocks; /* chunks allocated to the file */
	uint64_t generation;
	struct timespec atime, mtime, ctime, btime;
	uint64_t parent; /* directories: the parent directory (root: itself); others: 0 */
	uint32_t flags;	 /* IDX_INODE_* */
	uint16_t disk;	 /* disk holding the file's chunks; IDX_NO_DISK if none yet */
};
#define IDX_NO_DISK UINT16_MAX

int idx_inode_get(struct idx_txn *txn, uint64_t ino, struct idx_inode *out);
int idx_inode_put(struct idx_txn *txn, const struct idx_inode *inode);
int idx_inode_del(struct idx_txn *txn, uint64_t ino);
/**
 * Call @p cb for every inode in ascending order; a non-zero return stops and is returned.
 * Here and in every iterator below, @p cb may read through the same txn but must not write.
 */
int idx_inode_iter(struct idx_txn *txn, int (*cb)(void *arg, const struct idx_inode *inode),
		   void *arg);

/* ---- directory entries ----------------------------------------------------------- */

/*
 * Two tables: (parent, name) -> (ino, type, slot) for lookups and name-ordered
 * listing, and (parent, slot) -> name for readdir. A slot is a per-directory
 * number given at insertion (one above the directory's highest slot), so a
 * readdir cursor is a slot and survives concurrent inserts and removals.
 */
struct idx_dirent {
	uint64_t ino;
	uint8_t type;  /* DT_REG, DT_DIR, ... */
	uint64_t slot; /* >= 1 */
	uint16_t namelen;
	char name[IDX_NAME_MAX + 1]; /* NUL-terminated copy */
};

/** @return 0 or -ENOENT. @p out may be NULL to test existence. */
int idx_dirent_get(struct idx_txn *txn, uint64_t parent, const char *name, size_t namelen,
		   struct idx_dirent *out);
/** Add an entry. @return 0, -EEXIST, -ENAMETOOLONG. */
int idx_dirent_add(struct idx_txn *txn, uint64_t parent, const char *name, size_t namelen,
		   uint64_t ino, uint8_t type);
/** Point an existing entry at another inode (rename over), keeping its slot. */
int idx_dirent_replace(struct idx_txn *txn, uint64_t parent, const char *name, size_t namelen,
		       uint64_t ino, uint8_t type);
/** Remove an entry. @return 0 or -ENOENT. */
int idx_dirent_del(struct idx_txn *txn, uint64_t parent, const char *name, size_t namelen);
/**
 * Readdir order: call @p cb for entries with slot >= @p from_slot in slot order
 * until it returns non-zero (that value is returned; 1 conventionally means
 * "buffer full, stop"). @return 0 at the end of the directory.
 */
int idx_dirent_list(struct idx_txn *txn, uint64_t parent, uint64_t from_slot,
		    int (*cb)(void *arg, const struct idx_dirent *d), void *arg);
/**
 * Name order (bytewise): entries whose name is > @p after (or all, if @p after
 * is NULL), until @p cb returns non-zero. For S3 listings and fsck.
 */
int idx_dirent_list_by_name(struct idx_txn *txn, uint64_t parent, const char *after,
			    size_t afterlen, int (*cb)(void *arg, const struct idx_dirent *d),
			    void *arg);
/** @return true if @p parent has no entries (or on error). */
bool idx_dir_empty(struct idx_txn *txn, uint64_t parent);
/** Every dirent of every directory, in (parent, name) order; for fsck. */
int idx_dirent_iter_all(struct idx_txn *txn,
			int (*cb)(void *arg, uint64_t parent, const struct idx_dirent *d),
			void *arg);

/* ---- extents ---------------------------------------------------------------------- */

/*
 * An extent maps file bytes [off, off + nchunks * chunk_size) to a run of
 * chunks. off is a multiple of the chunk size. Each chunk's xxh3 checksum is
 * kept with the extent (checksums over the whole chunk, zero-padded).
 * Extents of one inode never overlap; the caller (fs/vol) keeps it so.
 */
struct idx_extent {
	uint64_t off;
	uint16_t disk;
	uint32_t track;
	uint32_t chunk;
	uint32_t nchunks; /* 1..IDX_EXTENT_MAX_CHUNKS */
	uint64_t sums[IDX_EXTENT_MAX_CHUNKS];
};

/**
 * Find the first extent of @p ino that ends after @p off: the one containing
 * @p off, or else the next one above it. @return 0 or -ENOENT (none).
 */
int idx_extent_seek(struct idx_txn *txn, uint64_t ino, uint64_t off, struct idx_extent *out);
/** Insert or overwrite the extent starting at ext->off. */
int idx_extent_put(struct idx_txn *txn, uint64_t ino, const struct idx_extent *ext);
/** Delete the extent starting exactly at @p off. @return 0 or -ENOENT. */
int idx_extent_del(struct idx_txn *txn, uint64_t ino, uint64_t off);
/**
 * Every extent whose key is at or above (@p ino, @p off), in key order (ino
 * ascending, then offset), until @p cb returns non-zero (that value is
 * returned). An extent of @p ino that starts below @p off is not included.
 */
int idx_extent_iter_from(struct idx_txn *txn, uint64_t ino, uint64_t off,
			 int (*cb)(void *arg, uint64_t ino, const struct idx_extent *ext),
			 void *arg);
/** Every extent of every inode (ino ascending, then offset); for rebuild and fsck. */
int idx_extent_iter_all(struct idx_txn *txn,
			int (*cb)(void *arg, uint64_t ino, const struct idx_extent *ext),
			void *arg);

/* ---- xattrs ---------------------------------------------------------------------- */

#define IDX_XATTR_NAME_MAX 255
#define IDX_XATTR_SIZE_MAX 65536

/**
 * Copy the value into @p buf. With @p size 0 only the length is returned.
 * @return 0 with *len_out set; -ENODATA; -ERANGE if @p size is too small.
 */
int idx_xattr_get(struct idx_txn *txn, uint64_t ino, const char *name, void *buf, size_t size,
		  size_t *len_out);
/** flags: 0, XATTR_CREATE (-EEXIST) or XATTR_REPLACE (-ENODATA). -ERANGE/-E2BIG for sizes. */
int idx_xattr_set(struct idx_txn *txn, uint64_t ino, const char *name, const void *value,
		  size_t size, int flags);
/** NUL-separated names, like listxattr(2). Size 0 returns the length only. -ERANGE. */
int idx_xattr_list(struct idx_txn *txn, uint64_t ino, char *buf, size_t size, size_t *len_out);
/** @return 0 or -ENODATA. */
int idx_xattr_remove(struct idx_txn *txn, uint64_t ino, const char *name);
/** Remove all xattrs of @p ino. */
int idx_xattr_clear(struct idx_txn *txn, uint64_t ino);

/* ---- inline data (symlink targets, tiny files) ----------------------------------- */

#define IDX_INLINE_MAX 4096
/** Like idx_xattr_get: size 0 returns the length only. @return 0, -ENOENT, -ERANGE. */
int idx_inline_get(struct idx_txn *txn, uint64_t ino, void *buf, size_t size, size_t *len_out);
int idx_inline_put(struct idx_txn *txn, uint64_t ino, const void *data, size_t len); /* -E2BIG */
int idx_inline_del(struct idx_txn *txn, uint64_t ino); /* 0 or -ENOENT */

/* ---- orphans: inodes with no links that were still open -------------------------- */

int idx_orphan_add(struct idx_txn *txn, uint64_t ino); /* adding twice is not an error */
int idx_orphan_del(struct idx_txn *txn, uint64_t ino); /* 0 or -ENOENT */
int idx_orphan_iter(struct idx_txn *txn, int (*cb)(void *arg, uint64_t ino), void *arg);

#endif
