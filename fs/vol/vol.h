/* POSIX filesystem semantics by inode over the index and the storage pool:
 * the one place that combines index/ and core/. Every front end (FUSE, the S3
 * sidecar, the tools) calls only this interface.
 *
 * The files behind it are listed, each with what it holds, in
 * fs/vol/CMakeLists.txt: e.g. namei.c (lookup, create, ..., rmdir), rename.c,
 * rw.c (read, write, copy-on-write), verified_read.c (every chunk checked
 * against its checksum), extents.c (the chunk/extent toolkit), truncate.c,
 * fallocate.c, acl.c (POSIX ACL rules), lock.c (the volume lock), open.c
 * (open, close, recovery), sync.c (group commit, fsync, the flusher).
 *
 * Permissions are not checked here: the FUSE front end relies on the kernel
 * (default_permissions), the sidecar on its own access rules.
 *
 * Reference counts: every call that returns an entry (vol_lookup, vol_create,
 * vol_mkdir, vol_mknod, vol_symlink, vol_link) adds one reference to the
 * returned inode, exactly like a FUSE lookup; vol_forget drops them. An inode
 * whose last link is removed while referenced becomes an orphan and is
 * reclaimed when its last reference goes (or at the next open after a crash).
 *
 * Every function returns 0 or a negative errno; out-parameters are written
 * only on success. All functions are thread-safe.
 */
#ifndef VOL_VOL_H
#define VOL_VOL_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "core/base/uuid.h"

#define VOL_ROOT_INO 1ull
#define VOL_MAX_DISKS 64

struct vol;

/* ---- creating and opening ------------------------------------------------- */

struct vol_mkfs_opts {
	const char *meta_dir;	  /* where the index and volume file go */
	const char *const *disks; /* disk directories */
	unsigned ndisks;
	uint32_t chunk_size;	  /* 0: default (4 KiB) */
	uint64_t max_track_bytes; /* 0: default (4 GiB) */
	const char *label;	  /* may be NULL */
	const char *placement;	  /* "mfs" (NULL: default), "lus", "ff", "rand" */
	uint64_t reserve;	  /* bytes kept free per disk; 0: automatic */
	bool reserve_set;	  /* @p reserve was given (0 then means none) */
	bool force;		  /* reuse non-empty directories / foreign disks */
	/* The metadata mirror (an absolute path, ideally on another device):
	 * made a copy of the new metadata directory and named in the volume
	 * file. NULL: none. */
	const char *meta_mirror;
};

/** Create a volume. On success *uuid_out (if not NULL) gets its UUID.
 * Errors name the directory at fault: -ENOTEMPTY (the metadata directory,
 * a disk or the mirror), -EEXIST (belongs to another volume, named),
 * -EINVAL (bad chunk size, a relative mirror path or the metadata directory
 * itself), -errno. */
int vol_mkfs(const struct vol_mkfs_opts *opts, struct tfs_uuid *uuid_out);

enum {
	VOL_RDONLY = 1 << 0,	 /* no writes; no lock-taking rebuild (fsck, status) */
	VOL_NO_RECOVER = 1 << 1, /* do not rebuild after an unclean shutdown (fsck) */
	/* Go on with an interrupted drain (a disk whose drain record says
	 * draining) on the volume's own thread; the daemons set it. */
	VOL_DRAIN_RESUME = 1 << 2,
};

struct vol_open_opts {
	unsigned flags;
	const char *owner; /* written into the lock file, e.g. the mount point */
	unsigned flush_ms; /* group commit interval; 0 = 1000 */
	unsigned sync_ms;  /* fsync interval for the background flusher; 0 = 5000 */
	/* Seconds between index snapshots while the volume changes; 0 = 300,
	 * VOL_SNAPSHOT_NEVER: only at close and on demand. */
	unsigned snapshot_s;
	/* Seconds between scheduled online scrubs (scrub.c); 0: none. */
	uint64_t scrub_every_s;
	/* Called during recovery after an unclean shutdown (from vol_open's
	 * thread): what is being done ("rebuilding free lists", "reclaiming
	 * orphans"), and how many of @p total items are done; NULL: none. */
	void (*progress)(void *arg, const char *what, uint64_t done, uint64_t total);
	void *progress_arg;
};

/**
 * Open the volume whose metadata directory is @p meta_dir (a directory that
 * contains meta/volume.conf is accepted too). Takes the volume lock: a second
 * opener gets -EBUSY and a message naming the holder's pid and owner string.
 * After an unclean shutdown, the free lists are rebuilt from the index and
 * orphans reclaimed before this returns (unless VOL_NO_RECOVER).
 * @p opts may be NULL.
 */
int vol_open(const char *meta_dir, const struct vol_open_opts *opts, struct vol **out);
/** Flush everything, write free lists, mark clean, release the lock. Accepts NULL. */
int vol_close(struct vol *v);

/** True if the last shutdown was not clean (valid after vol_open). */
bool vol_was_unclean(const struct vol *v);
/** The resolved metadata directory. */
const char *vol_meta_dir(const struct vol *v);

/* ---- index snapshots and the metadata mirror (snapshot.c, mirror.c) ---- */

#define VOL_SNAPSHOT_DIR "meta-snapshots" /* on every data disk */
#define VOL_SNAPSHOT_KEEP 3		  /* per disk; older ones are pruned */
#define VOL_SNAPSHOT_DEFAULT_S 300u
#define VOL_SNAPSHOT_NEVER UINT32_MAX

struct vol_snapshot_opts {
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *progress_arg;
};

struct vol_snapshot_result {
	uint64_t seq;	  /* the commit it holds */
	uint64_t bytes;	  /* file size */
	uint64_t records; /* index records */
	unsigned written; /* disks it reached */
	unsigned failed;  /* disks it did not (each logged) */
	double seconds;
	double max_slice_ms;  /* the longest the index was held by one slice ... */
	double end_commit_ms; /* ... and by the commit that ended it */
};

/**
 * Take a snapshot of the index now and write it to every present disk (or
 * the disks in bitmask @p disks). Never holds the index for more than a
 * slice of records. @return 0 if at least one disk has it, else -errno.
 */
int vol_snapshot(struct vol *v, const struct vol_snapshot_opts *opts,
		 struct vol_snapshot_result *out);
int vol_snapshot_to(struct vol *v, uint64_t disks, const struct vol_snapshot_opts *opts,
		    struct vol_snapshot_result *out);

struct vol_snapshot_entry {
	char path[PATH_MAX];
	uint64_t file_seq; /* from its name */
	int rc;		   /* 0: header (and with verify, body) checked */
	char why[160];	   /* what is wrong with it when rc < 0 */
	/* from its header, when rc == 0 */
	struct tfs_uuid uuid; /* the volume's */
	uint64_t seq;	      /* the commit it holds */
	uint64_t generation;
	uint64_t time_ns; /* when it was taken, ns since the epoch */
	uint64_t bytes;	  /* file size */
	uint64_t records;
};
/**
 * The snapshots in data disk directory @p disk, newest first (malloc'ed
 * array in *out). With @p verify, each is checked whole (checksum), else
 * only its header. A disk without any gives 0 and *n = 0.
 */
int vol_snapshot_list(const char *disk, bool verify, struct vol_snapshot_entry **out, size_t *n);

/**
 * Use @p dir (an absolute path, ideally on another device) as the metadata
 * mirror from now on: made an exact copy of the index (writers wait for the
 * copy) and kept current; recorded in the volume file.
 */
int vol_mirror_set(struct vol *v, const char *dir);

/* ---- attributes ---------------------------------------------------------------- */

struct vol_attr {
	uint64_t ino;
	uint32_t mode;
	uint32_t nlink;
	uint32_t uid, gid;
	uint64_t rdev;
	uint64_t size;
	uint64_t blocks; /* in 512-byte units, as st_blocks */
	uint32_t blksize;
	uint64_t generation;
	struct timespec atime, mtime, ctime, btime;
};

int vol_getattr(struct vol *v, uint64_t ino, struct vol_attr *out);

enum {
	VOL_SET_MODE = 1 << 0,
	VOL_SET_UID = 1 << 1,
	VOL_SET_GID = 1 << 2,
	VOL_SET_SIZE = 1 << 3,
	VOL_SET_ATIME = 1 << 4,
	VOL_SET_MTIME = 1 << 5,
	VOL_SET_ATIME_NOW = 1 << 6,
	VOL_SET_MTIME_NOW = 1 << 7,
	VOL_SET_CTIME = 1 << 8,
};

/** Change the attributes named in @p mask, taken from @p in; ctime is updated.
 * Size changes truncate down (freeing chunks) or up (a hole). *out gets the
 * new attributes. -EISDIR for size on a directory, -EFBIG past the limit. */
int vol_setattr(struct vol *v, uint64_t ino, const struct vol_attr *in, unsigned mask,
		struct vol_attr *out);

/* ---- names ----------------------------------------------------------------------- */

/** @return 0 (one reference added), -ENOENT, -ENOTDIR, -ENAMETOOLONG. */
int vol_lookup(struct vol *v, uint64_t parent, const char *name, struct vol_attr *out);
/** Drop @p n references. */
void vol_forget(struct vol *v, uint64_t ino, uint64_t n);

/** The creating user and group. The mode a create takes has its type bits
 * included; the engine applies the POSIX rules: in a set-group-ID directory
 * the group is the directory's (and a new directory is set-group-ID too);
 * a directory's default ACL is inherited in place of @c umask, which is
 * cleared from the mode only when there is none (0: the caller applied its
 * umask already). */
struct vol_cred {
	uint32_t uid, gid;
	uint32_t umask;
};

/** Regular file. -EEXIST if the name exists. */
int vol_create(struct vol *v, uint64_t parent, const char *name, uint32_t mode,
	       const struct vol_cred *cred, struct vol_attr *out);
int vol_mkdir(struct vol *v, uint64_t parent, const char *name, uint32_t mode,
	      const struct vol_cred *cred, struct vol_attr *out);
/** Regular file, FIFO, socket, character or block device. */
int vol_mknod(struct vol *v, uint64_t parent, const char *name, uint32_t mode, uint64_t rdev,
	      const struct vol_cred *cred, struct vol_attr *out);
int vol_symlink(struct vol *v, uint64_t parent, const char *name, const char *target,
		const struct vol_cred *cred, struct vol_attr *out);
/** Copy the target (not NUL-terminated if it fills @p size) and its length. */
int vol_readlink(struct vol *v, uint64_t ino, char *buf, size_t size, size_t *len_out);
/** Hard link; -EPERM for directories, -EMLINK past the limit. */
int vol_link(struct vol *v, uint64_t ino, uint64_t newparent, const char *newname,
	     struct vol_attr *out);
/** -EISDIR for a directory. */
int vol_unlink(struct vol *v, uint64_t parent, const char *name);
/** -ENOTDIR, -ENOTEMPTY. */
int vol_rmdir(struct vol *v, uint64_t parent, const char *name);

enum {
	VOL_RENAME_NOREPLACE = 1 << 0, /* RENAME_NOREPLACE */
	VOL_RENAME_EXCHANGE = 1 << 1,  /* RENAME_EXCHANGE */
};
/** rename(2)/renameat2(2) semantics: -EINVAL (into own subtree, bad flags),
 * -ENOTEMPTY, -EISDIR, -ENOTDIR, -EEXIST (NOREPLACE), -ENOENT. */
int vol_rename(struct vol *v, uint64_t parent, const char *name, uint64_t newparent,
	       const char *newname, unsigned flags);

/*
 * Conditional replace and delete (S3's If-Match / If-None-Match, atomic
 * against every other writer, the mount's included): the name must hold
 * exactly the inode @p ino as it was (same mtime and size: any write since
 * changes them), checked in the same transaction that changes the name.
 * @p ino 0: the name must not exist.
 */
struct vol_expect {
	uint64_t ino;
	struct timespec mtime;
	uint64_t size;
};
/** vol_rename, if @p exp holds. -ESTALE: it does not (-EEXIST when ino is 0). */
int vol_rename_if(struct vol *v, uint64_t parent, const char *name, uint64_t newparent,
		  const char *newname, const struct vol_expect *exp);
/** vol_unlink, if @p exp (ino != 0) holds. -ESTALE: it does not. */
int vol_unlink_if(struct vol *v, uint64_t parent, const char *name, const struct vol_expect *exp);

/* ---- directories ------------------------------------------------------------------ */

struct vol_dirent {
	uint64_t ino;
	uint32_t type;	  /* DT_* */
	uint64_t next;	  /* cookie to resume after this entry */
	const char *name; /* valid during the callback only */
	size_t namelen;
};

/**
 * Call @p cb for entries from cookie @p cookie (0 = start; "." and ".." are
 * included with cookies 1 and 2) until it returns non-zero or the directory
 * ends. Cookies survive concurrent changes: an entry present for the whole
 * scan is returned exactly once. With @p plus, @p attr is filled too (readdirplus)
 * and a reference is added for each entry for which @p cb returns 0, except
 * "." and ".." (as libfuse's readdirplus: the kernel never forgets those).
 * @p cb runs inside an index transaction: it may only copy the entry out and
 * must not call vol_* functions.
 * @return 0 or -errno (-ENOTDIR).
 */
int vol_readdir(struct vol *v, uint64_t ino, uint64_t cookie, bool plus,
		int (*cb)(void *arg, const struct vol_dirent *d, const struct vol_attr *attr),
		void *arg);

/* ---- data -------------------------------------------------------------------------- */

/** Read up to @p size bytes at @p off. @return bytes read (0 at EOF) or -EIO (a
 * chunk failed its checksum: logged with file, offset and disk), -EISDIR. */
ssize_t vol_read(struct vol *v, uint64_t ino, void *buf, size_t size, off_t off);
/** Write @p size bytes at @p off (never tears a chunk). @return bytes written
 * or -ENOSPC, -EIO, -EFBIG. Sets mtime/ctime, clears setuid/setgid bits. */
ssize_t vol_write(struct vol *v, uint64_t ino, const void *buf, size_t size, off_t off);
/** Make this inode's data and the metadata before it durable (currently the
 * whole volume). @return 0; -EIO when a write of this file was lost (a disk
 * failed before it was durable: the file holds what it held before that
 * write) and the bytes it gave were not all written again, truncated away,
 * punched out or zeroed since (preallocating them or growing the file over
 * them does not count); another -errno when the volume could not be synced. */
int vol_fsync(struct vol *v, uint64_t ino, bool datasync);
/**
 * Called, with no lock of the volume held and never inside vol_* calls of the
 * caller's own, for each inode whose writes were undone because a disk failed
 * (the front end drops the pages it caches for it: they hold bytes that never
 * reached a disk). From the volume's background thread. @p cb NULL removes it
 * and waits for a call in progress to return: @p arg may be freed after.
 */
typedef void (*vol_lost_cb)(void *arg, uint64_t ino);
void vol_set_lost_cb(struct vol *v, vol_lost_cb cb, void *arg);
/**
 * Remove the callback: no call starts from now on. A call in progress is
 * waited for @p wait_ms at most, since it may be waiting for something the
 * caller has yet to end (the FUSE daemon's: the kernel, dropping a file's
 * pages, may wait for the reply to a write that its session loop, which
 * ended, will never give; only the unmount ends that). Call
 * vol_set_lost_cb(v, NULL, NULL) after, to wait for it.
 * @return true when no call is in progress.
 */
bool vol_lost_cb_stop(struct vol *v, unsigned wait_ms);
/** Make everything durable. */
int vol_sync(struct vol *v);

enum {
	VOL_FALLOC_KEEP_SIZE = 1 << 0,	/* FALLOC_FL_KEEP_SIZE */
	VOL_FALLOC_PUNCH_HOLE = 1 << 1, /* FALLOC_FL_PUNCH_HOLE (needs KEEP_SIZE) */
	VOL_FALLOC_ZERO_RANGE = 1 << 2, /* FALLOC_FL_ZERO_RANGE */
};
/** fallocate(2): allocate chunks (zero-filled) or punch a hole. -EOPNOTSUPP
 * for other modes. */
int vol_fallocate(struct vol *v, uint64_t ino, unsigned mode, off_t off, off_t len);
/**
 * Move bytes [@p src_off, @p src_off + @p len) of file @p src to file @p dst at
 * @p dst_off without copying them: their chunks change owner in one index
 * transaction, checksums and all. The range becomes a hole in @p src, whose
 * size drops to @p src_off when the range ended at its end of file; @p dst
 * grows to cover it. Both files' mtime and ctime are set. Neither file's
 * cached pages in the kernel are invalidated: meant for files the mount does
 * not show (the S3 sidecar's parts and temporary files).
 * @return 0; -EXDEV when a move is not possible and nothing changed (copy
 * instead): an offset not a multiple of the chunk size, @p len neither one
 * nor reaching @p src's end of file, @p dst not empty from @p dst_off on, or
 * chunks on a disk other than @p dst's; -EINVAL (the range is past @p src's
 * end of file, or @p src is @p dst), -EISDIR, -ENOENT, -EROFS, or an index
 * error.
 */
int vol_move_range(struct vol *v, uint64_t src, uint64_t src_off, uint64_t len, uint64_t dst,
		   uint64_t dst_off);
/** The disk a new file's chunks would go to now (the one with the most free
 * space). @return its index, -ENOSPC, -EIO (no disk present), -EROFS. */
int vol_pick_disk(struct vol *v);
/** Put the chunks of regular file @p ino, which has none yet, on disk @p disk
 * (from vol_pick_disk): files to be joined by vol_move_range must share one.
 * A full or missing disk still sends writes elsewhere.
 * @return 0, -EBUSY (it has chunks elsewhere), -EINVAL, -EISDIR, -ENOENT. */
int vol_set_disk(struct vol *v, uint64_t ino, int disk);
/** lseek SEEK_DATA / SEEK_HOLE. @p whence is SEEK_DATA or SEEK_HOLE. -ENXIO past EOF. */
int vol_lseek(struct vol *v, uint64_t ino, off_t off, int whence, off_t *out);

/* ---- xattrs -------------------------------------------------------------------------- */

/** Semantics of getxattr(2) etc.; size 0 asks for the length. */
ssize_t vol_getxattr(struct vol *v, uint64_t ino, const char *name, void *buf, size_t size);
int vol_setxattr(struct vol *v, uint64_t ino, const char *name, const void *value, size_t size,
		 int flags);
ssize_t vol_listxattr(struct vol *v, uint64_t ino, char *buf, size_t size);
int vol_removexattr(struct vol *v, uint64_t ino, const char *name);

/* ---- volume ------------------------------------------------------------------------- */

struct vol_statfs {
	uint64_t bsize;	 /* chunk size */
	uint64_t blocks; /* total chunks over all disks */
	uint64_t bfree;
	uint64_t files; /* inodes in use */
	uint64_t ffree;
	uint32_t namemax;
};
int vol_statfs(struct vol *v, struct vol_statfs *out);

struct vol_disk_info {
	char path[4096];
	struct tfs_uuid uuid;
	bool missing;
	bool removed; /* a removed disk's slot (`trackfs disk remove`): missing on purpose */
	uint32_t tracks;
	uint64_t chunks_used, chunks_free;  /* chunks_free: what this disk alone could take */
	uint64_t bytes_used, bytes_free;    /* chunk bytes */
	uint64_t bytes_on_disk;		    /* what the track files occupy on the host */
	bool stale;			    /* free lists lag: frees made while it was missing */
	uint64_t stale_chunks;		    /* chunks freed while it was missing */
	bool failing;			    /* I/O errors since open: new data goes elsewhere */
	uint64_t io_errors;		    /* failed reads, writes and syncs since open */
	uint64_t read_errors, write_errors; /* of those, failed track reads and writes */
	uint64_t checksum_errors;	    /* chunks that failed their checksum since open */
	int shares_fs_with;	/* the first disk on the same host filesystem, or -1: the free
				 * space of that filesystem is in both disks' figures */
	uint64_t reserve_bytes; /* kept free: new files go elsewhere once at it */
	bool at_reserve;	/* free space at or below the reserve */
	int drain_state;	/* enum vol_drain_state */
	uint64_t drain_done, drain_total; /* bytes moved off, of about this many */
	bool drain_stopped;		  /* draining, stopped by `drain --stop` */
	uint64_t drain_rate;		  /* bytes/s the drain keeps to; 0: no limit */
	int drain_target;		  /* a replace: the new disk; else -1 */
	bool drain_salvaged;		  /* that replace is done; what is left did not read */
	/* Its newest snapshot of the index whose header checks (not read whole). */
	bool has_snapshot;
	uint64_t snapshot_seq;	   /* the commit it holds */
	uint64_t snapshot_time_ns; /* when it was taken, ns since the epoch */
};

enum vol_mirror_state {
	VOL_MIRROR_NONE = 0,	/* the volume file names no mirror */
	VOL_MIRROR_CURRENT = 1, /* it holds the index's commit */
	/* Behind (or holding no index): resynced at the next open for writing,
	 * or by `trackfs meta mirror`. */
	VOL_MIRROR_STALE = 2,
	VOL_MIRROR_FAILED = 3, /* it could not be opened or written: mirror_error says why */
};
/* ---- online scrub (scrub.c) ---------------------------------------------------------- */

enum vol_scrub_state { VOL_SCRUB_NONE, VOL_SCRUB_RUNNING, VOL_SCRUB_DONE, VOL_SCRUB_STOPPED };

struct vol_scrub_status {
	int state; /* enum vol_scrub_state; RUNNING includes "interrupted, goes on" */
	uint64_t bytes_done, bytes_total; /* total: the chunks in use when it began */
	uint64_t bad;			  /* chunks that failed their checksum or read */
	uint64_t rate;			  /* bytes/s at most; 0: no limit */
	uint64_t elapsed_ms;		  /* of the current (or last) run */
	int64_t started_s, finished_s;	  /* wall clock; 0: never */
};

/**
 * Scrub the open volume on its own thread at @p rate bytes/s (0: no limit):
 * a stopped scrub goes on from where it stopped, unless @p restart. A
 * running one just takes the new rate. @return 0, -EROFS, -ENOTSUP.
 */
int vol_scrub_start(struct vol *v, uint64_t rate, bool restart);
/** Stop the running scrub after its current batch (it keeps its cursor).
 * @return 0 or -ESRCH (none runs). */
int vol_scrub_stop(struct vol *v);
/** The scrub's progress and outcome. @return 0 or -ENOTSUP (not open for writing). */
int vol_scrub_status(struct vol *v, struct vol_scrub_status *out);
/** The report of bad chunks, by path, in the metadata directory. */
#define VOL_SCRUB_REPORT_NAME "scrub.report"

#define VOL_NOTES_MAX 4
#define VOL_NOTE_TEXT_MAX 512
struct vol_info {
	struct tfs_uuid uuid;
	char label[65];
	uint32_t chunk_size;
	unsigned ndisks;
	uint64_t inodes;
	uint64_t index_bytes;
	/* Over all present disks, each host filesystem counted once (as statfs). */
	uint64_t chunks_used, chunks_free;
	char placement[8];  /* "mfs", "lus", "ff", "rand" */
	uint64_t reserve;   /* the setting: bytes, or UINT64_MAX for automatic */
	uint64_t index_seq; /* the index's commit sequence number */
	/* The metadata mirror: its directory ("" when none), its state, the
	 * commit it holds (0: unknown) and, when not current, why (-errno). */
	char mirror[PATH_MAX];
	int mirror_state; /* enum vol_mirror_state */
	uint64_t mirror_seq;
	int mirror_error;
	struct vol_disk_info disks[VOL_MAX_DISKS];
	struct vol_scrub_status scrub; /* state VOL_SCRUB_NONE: never, or not known */
	/* Front ends' lines for status (vol_note_set), "KEY\tTEXT\n" each. */
	char notes[VOL_NOTES_MAX * (32 + VOL_NOTE_TEXT_MAX)];
};
/**
 * The volume's figures. On a volume opened for writing the mirror's state is
 * the index's own (idx_mirror_status); on one opened VOL_RDONLY the mirror is
 * not attached, so its commit is read from its directory and compared. Each
 * present disk's snapshot directory is read (headers only).
 */
int vol_info(struct vol *v, struct vol_info *out);
/**
 * Set what front end @p key (e.g. "s3-public") wants status to show about
 * this volume while it is open: one line of at most VOL_NOTE_TEXT_MAX - 1
 * bytes (longer is cut), or NULL/"" to remove it. Answered with vol_info
 * (in its notes), so the control socket carries it to trackfs status.
 * @return 0, -ENOSPC (VOL_NOTES_MAX notes set), -EINVAL (bad key).
 */
int vol_note_set(struct vol *v, const char *key, const char *text);

/* ---- names front ends reserve (reserved.c) ----------------------------------------- */

#define VOL_RESERVED_MAX 8
#define VOL_RESERVED_NAME_MAX 32
/** The name is reserved in the root directory only (else in every one). */
#define VOL_RESERVED_ROOT 0x1u
/** Every name that starts with it is reserved (else the exact name). */
#define VOL_RESERVED_PREFIX 0x2u

/**
 * Reserve @p name (flags VOL_RESERVED_*) for a front end's own files (the S3
 * sidecar's uploads directory and temporary files): other front ends and
 * tools hide such names and refuse to create them (vol_name_reserved), so
 * what a user makes is never taken for the front end's and the front end's
 * is never shown as the user's. Call before serving; reserving the same
 * name again is a no-op. @return 0, -EINVAL (empty, too long, contains '/'
 * or bad flags), -ENOSPC (VOL_RESERVED_MAX reserved).
 */
int vol_reserve_name(struct vol *v, const char *name, unsigned flags);

/** Whether @p name (@p len bytes, not NUL-terminated) in directory @p parent
 * is reserved by a front end. Lock-free. */
bool vol_name_reserved(struct vol *v, uint64_t parent, const char *name, size_t len);

/* ---- counters and metrics (metrics.c) ---------------------------------------------- */

/** The data calls since open, by every front end of this process. */
struct vol_io_counters {
	uint64_t reads, writes;		  /* vol_read / vol_write calls */
	uint64_t read_fails, write_fails; /* of those, the ones that returned an error */
	uint64_t bytes_read, bytes_written;
};
void vol_io_counters(struct vol *v, struct vol_io_counters *out);

/**
 * Write the volume's figures to @p out in the Prometheus text exposition
 * format 0.0.4 (each metric with its # HELP and # TYPE lines): identity,
 * space, per-disk bytes, I/O and checksum errors, the data call counters,
 * the scrub, snapshots and the mirror. The one place those rules live: the
 * FUSE daemon's -o metrics listener and the S3 sidecar's /.trackfs/metrics
 * both serve it, each adding its own front end's counters after it
 * (README "Metrics" lists the names). @return 0 or -errno.
 */
int vol_metrics_format(struct vol *v, FILE *out);
/** The "# HELP" and "# TYPE" lines of metric @p name (@p type "counter",
 * "gauge", "summary"...), for a front end's own metrics. */
void vol_metrics_head(FILE *out, const char *name, const char *type, const char *help);
/** Write @p in as a label value (backslash, double quote and newline escaped). */
void vol_metrics_label(FILE *out, const char *in);

/* ---- disks ------------------------------------------------------------------------------- */

/**
 * Add the empty directory @p path (absolute) as a new disk of the open
 * volume: identity file written, volume.conf and the index updated, and the
 * pool uses it at once. *@p shares_out gets the first disk that lies on the
 * same host filesystem, or -1.
 * @return 0; -EROFS, -EINVAL (relative path), -EEXIST (a disk already, or it
 * belongs to a volume), -ENOTEMPTY, -ENOSPC (VOL_MAX_DISKS), -errno.
 */
int vol_disk_add(struct vol *v, const char *path, unsigned *index_out, int *shares_out);
/**
 * Change the placement policy (@p policy, NULL to keep it) and, with
 * @p set_reserve, the reserve (bytes; UINT64_MAX: automatic). Written to
 * volume.conf and in force at once. @return 0, -EINVAL, -EROFS, -errno.
 */
int vol_set_placement(struct vol *v, const char *policy, bool set_reserve, uint64_t reserve);
/**
 * Take drained disk @p disk out of the volume: its drain record goes. The
 * last disk's line leaves volume.conf and the index's disk count is lowered
 * (with any removed slots before it); a middle disk's line becomes
 * `disk = N removed`, a slot the pool opens as absent on purpose (never
 * missing, never allocated), since extents name disks by number. The disk's
 * directory is left as it is (its data is no file's). Meant for a volume
 * opened by the tool (the pool keeps the disk until vol_close).
 * @return 0; -EBUSY (not drained, or an extent still refers to it),
 * -EINVAL (the only disk), -ENODEV (no such disk, or removed already),
 * -EROFS, -errno.
 */
int vol_disk_remove(struct vol *v, unsigned disk);
/**
 * Send one request line to the process that holds the volume open (its
 * control socket) and read its one-line reply into @p reply.
 * @return 0; -ECONNREFUSED / -ENOENT when no process answers; -errno.
 */
int vol_control_request(const char *meta_dir, const char *req, char *reply, size_t len);
/** Connect to the daemon holding the volume, agree on the control protocol
 * (VOL_CONTROL_PROTO) and send the request line @p req: the descriptor to
 * read its answer from, or -errno (-EPROTONOSUPPORT: the daemon speaks
 * another version of the protocol; logged, with what to do). */
int vol_control_connect(const char *meta_dir, const char *req);

/** The version of the control protocol (control.c) this build speaks. */
#define VOL_CONTROL_PROTO 1

/**
 * The control protocol the daemon holding the volume speaks: its version
 * into @p version and the commands it knows (space-separated) into @p cmds.
 * A daemon from before versioning reports version 0 and no commands.
 * @return 0 or -errno as vol_control_request; -EPROTONOSUPPORT (with
 * @p version and @p cmds filled) when it is not this build's version.
 */
int vol_control_hello(const char *meta_dir, int *version, char *cmds, size_t len);

/** The errno of a control reply @p rep: 0 for "ok ...", N for "err N ...",
 * EPROTO for anything else; @p msg (may be NULL) gets the reply's text after
 * "ok"/"err N" (may be ""). */
int vol_control_reply_errno(const char *rep, const char **msg);

/** vol_control_request, then vol_control_reply_errno: 0 for "ok ..." (@p rest:
 * the text after "ok", may be NULL), -N for "err N ...", -EPROTO for anything
 * else, or the request's -errno (-ECONNREFUSED / -ENOENT: nothing holds it). */
int vol_control_call(const char *meta_dir, const char *req, char *reply, size_t len,
		     const char **rest);

/**
 * Let the control request "s3-reload" (`trackfs s3 reload VOLUME`) reach the
 * S3 server that serves @p v: @p fn reloads its credentials and writes what
 * it did, or why not, into @p why; NULL unregisters (waiting for a reload in
 * progress to finish). For the S3 sidecar (fs/s3/server.c).
 */
void vol_control_set_reload(struct vol *v, int (*fn)(void *arg, char *why, size_t len), void *arg);

/**
 * vol_info of a volume that another process holds open (the mounted daemon or
 * trackfs-s3), asked over the volume's status socket.
 * @return 0; -ECONNREFUSED / -ENOENT when no process answers for it; -EPERM
 * when the caller is not root or the volume's owner; -EPROTO.
 */
int vol_info_remote(const char *meta_dir, struct vol_info *out);

/* ---- draining a disk (drain.c) ---------------------------------------------- */

enum vol_drain_state {
	VOL_DRAIN_NONE = 0,	/* in normal use */
	VOL_DRAIN_DRAINING = 1, /* chunks are being moved off; no new chunks go there */
	VOL_DRAIN_DRAINED = 2,	/* holds no chunk the index references; still no new ones */
};

struct vol_drain_status {
	enum vol_drain_state state;
	uint64_t bytes_done;  /* chunk bytes moved off so far */
	uint64_t bytes_total; /* estimate, >= bytes_done */
	uint64_t ino, off;    /* where the drain goes on from (extent key order) */
	bool stopped;	      /* draining, stopped by `drain --stop`: not resumed at mount */
	bool salvaged;	      /* a replace that copied all that reads; the rest is listed */
	uint64_t rate;	      /* bytes/s at most, kept from the start; 0: no limit */
	int replace_target;   /* a replace: the new disk every chunk goes to; else -1 */
};

struct vol_drain_opts {
	/* Bytes per second at most, kept in the drain record for a resumed
	 * drain; 0: the rate kept in the record (none: as fast as the disks go). */
	uint64_t rate;
	/* Called after every piece moved (from the draining thread, no lock
	 * held); may be NULL. */
	void (*progress_cb)(void *arg, uint64_t done, uint64_t total);
	/* Called for each chunk left on the disk because it failed its
	 * checksum (never copied as good); @p path may be NULL when the file
	 * has no name (an unlinked open file). May be NULL: logged anyway. */
	void (*bad_cb)(void *arg, uint64_t ino, const char *path, uint64_t off);
	void *arg;
	atomic_bool *stop; /* set by another thread to stop after the current piece */
	/* A replace: every chunk goes to disk @c target only (-ENOSPC when it
	 * is full), and a chunk that cannot be read (EIO, or the disk is
	 * missing) is reported through bad_cb and left, like a bad checksum,
	 * instead of stopping the drain. */
	bool targeted;
	unsigned target;
};

/**
 * Move every chunk off disk @p disk onto the others while files stay
 * readable and writable. The disk is marked draining first (persisted in the
 * index; from then on, and at every later open, new chunks never go to it).
 * Files are moved in pieces of at most 4 MiB, each under the file's data lock
 * only for its read and for its switch: chunks are read and their checksums
 * verified, written elsewhere, and the new extents published in one index
 * transaction, together with the drain's cursor, only if the file still maps
 * the same chunks there (else the piece is done again). The old chunks are
 * freed once that state is durable. Resumable: calling it again after a
 * stop, a close or a crash goes on from the durable cursor; nothing is moved
 * twice or lost. When the disk holds no referenced chunk, its state becomes
 * VOL_DRAIN_DRAINED (persisted) and this returns 0; a drained disk returns 0
 * at once.
 * @return 0; -EINTR (stopped through @p o->stop; call again to go on);
 * -EIO (chunks that failed their checksums stay on the disk: each was
 * reported by path and offset; the state stays draining); -ENOSPC (the other
 * disks are full); -EBUSY (a drain of that disk is running already);
 * -ENODEV (no such disk), -ENXIO (the disk is missing: use replace), -EROFS,
 * or an index error.
 */
int vol_disk_drain(struct vol *v, unsigned disk, const struct vol_drain_opts *o);
/** The drain state of @p disk, from the index. @return 0, -ENODEV, or an index error. */
int vol_disk_drain_state(struct vol *v, unsigned disk, struct vol_drain_status *out);
/**
 * Put a draining or drained disk back into use: its drain record goes and new
 * chunks may go to it again. Chunks already moved stay where they are.
 * @return 0, -EBUSY (a drain of it is running), -ENODEV, -EROFS, or an index error.
 */
int vol_disk_undrain(struct vol *v, unsigned disk);
/**
 * Mark @p disk's drain stopped by the user (drain_pause.c): the next
 * open does not go on with it; vol_disk_drain clears the mark. Does not stop
 * a drain that is running (its stop flag does). The disk still takes no new
 * data. @return 0 (marked, or already), -ESRCH (no drain of it), -EALREADY
 * (drained), -ENODEV, -EROFS, or an index error.
 */
int vol_disk_drain_pause(struct vol *v, unsigned disk);

/* ---- replacing a disk (replace.c) ------------------------------------------- */

/**
 * Replace disk @p old by the empty directory @p new_path: it becomes a disk
 * (as vol_disk_add, index in *@p new_out), then @p old is drained onto it
 * alone (vol_disk_drain with @c targeted); what cannot be read stays on
 * @p old, reported through @p o's bad_cb, and vol_disk_lost_write lists it.
 * @p old may be missing (then nothing is readable). @p o may be NULL.
 * @return 0 (everything copied: @p old is drained), -EIO (some chunks could
 * not be read or fail their checksums: listed), the errors of vol_disk_add
 * and vol_disk_drain.
 */
int vol_disk_replace(struct vol *v, unsigned old, const char *new_path, unsigned *new_out,
		     const struct vol_drain_opts *o);

/**
 * Write the list of what disk @p disk still holds (path, offset, length
 * per extent: after a replace, what could not be read) to the file
 * META/disk-DISK-lost.txt, named in @p path; *@p count the extents listed.
 * @return 0, -ENOMEM, an I/O or index error.
 */
int vol_disk_lost_write(struct vol *v, unsigned disk, char *path, size_t size, uint64_t *count);

/** The name of that list for @p meta_dir and @p disk, into @p buf. */
void vol_disk_lost_name(const char *meta_dir, unsigned disk, char *buf, size_t size);
/* ---- the files of a disk (disk_files.c) ------------------------------------- */

struct vol_disk_file {
	uint64_t ino;
	const char *path;	  /* one name of it ("" for an unlinked open file); valid
				   * during the callback only */
	uint64_t bytes_here;	  /* chunk bytes on the disk asked about */
	uint64_t bytes_elsewhere; /* chunk bytes on other disks: the file spans disks */
};
/**
 * Call @p cb for every file with at least one chunk on @p disk, in inode
 * order, from one read transaction (a snapshot). A callback's negative return
 * ends the walk and is returned. Works on a volume opened VOL_RDONLY.
 * @return 0, -ENODEV (no such disk), -ENOMEM, or an index error.
 */
int vol_disk_files(struct vol *v, unsigned disk,
		   int (*cb)(void *arg, const struct vol_disk_file *f), void *arg);
/**
 * The same, asked of the process holding @p meta_dir (resolved) open, over
 * its control socket. @return 0, -ECONNREFUSED/-ENOENT (nobody holds it),
 * -EPROTO (the listing was cut short), or the daemon's error.
 */
int vol_disk_files_remote(const char *meta_dir, unsigned disk,
			  int (*cb)(void *arg, const struct vol_disk_file *f), void *arg);
/** The xattr naming the byte ranges ("A-B A-B ...") of a file whose data
 * was given up with its disk (vol_disk_forget); they read as zeros. */
#define VOL_LOST_XATTR "user.trackfs.lost"
/**
 * Give up the data on @p disk (`trackfs disk remove --force`): @p cb is told
 * of each file with chunks there (as vol_disk_files, before anything of it
 * changes), then those extents leave the index, the file keeps its size with
 * holes there and gets VOL_LOST_XATTR listing them, and the disk is marked
 * drained, ready for vol_disk_remove. On an error some files may be done
 * already: running it again goes on. For a volume opened by the tool.
 * @return 0, -EROFS, -ENODEV, a callback's error, or an index error.
 */
int vol_disk_forget(struct vol *v, unsigned disk,
		    int (*cb)(void *arg, const struct vol_disk_file *f), void *arg);
/* ---- a restored index checked against the tracks (reconcile.c) ------------ */

#define VOL_LOST_FOUND "lost+found" /* at the root */
/* On a file set aside by vol_reconcile: which copy of the index it came from
 * (its VOL_LOST_XATTR names the ranges that changed since). */
#define VOL_RESTORED_XATTR "user.trackfs.restored"

struct vol_reconcile_file {
	uint64_t ino;
	const char *path;     /* where it was ("" if it had no name) */
	const char *moved_to; /* where it is now */
	uint64_t bad_bytes;   /* bytes that changed since the snapshot: holes now */
	uint64_t size;
	const char *ranges; /* the VOL_LOST_XATTR value it got */
};
struct vol_reconcile_opts {
	/* Called with bytes checked so far and the total (no lock held). */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *progress_arg;
	/* Each damaged file, after it was set aside. */
	int (*damaged)(void *arg, const struct vol_reconcile_file *f);
	/* Each file with chunks on a missing disk (not checked, left as it is). */
	int (*unverified)(void *arg, uint64_t ino, const char *path);
	void *arg;
	const char *note; /* VOL_RESTORED_XATTR of a file set aside: which copy */
	/* If set, only chunks in tracks it says yes to are read and checked;
	 * the others are trusted (not written since the copy was taken). */
	bool (*need_check)(void *arg, unsigned disk, uint32_t track);
	void *check_arg;
};
struct vol_reconcile_report {
	uint64_t files;		   /* files with data chunks */
	uint64_t files_damaged;	   /* set aside in /lost+found */
	uint64_t files_unverified; /* with chunks on a missing disk */
	uint64_t chunks, chunks_bad;
	uint64_t chunks_trusted; /* in tracks not written since the copy: not read */
	uint64_t bytes_checked;
};
/**
 * Check every chunk the index references against its checksum; set aside
 * each file whose chunks changed (holes there, VOL_LOST_XATTR, moved to
 * /lost+found, reported). For a restored index, opened for writing (its
 * free lists rebuilt from it). @return 0 or -errno.
 */
int vol_reconcile(struct vol *v, const struct vol_reconcile_opts *o,
		  struct vol_reconcile_report *out);

/** Write @p in with newline and backslash escaped (\n, \\) into @p out. */
void vol_path_escape(const char *in, char *out, size_t size);

#endif
