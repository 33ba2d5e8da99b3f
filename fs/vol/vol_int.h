/* Private to the files of fs/vol/: the volume object and the helpers the vol files
 * share. Front ends never include this. */
#ifndef VOL_VOL_INT_H
#define VOL_VOL_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/pool.h"
#include "fs/vol/vol.h"
#include "fs/vol/volfile.h"
#include "index/index.h"

#define VOL_ILOCKS 1024		       /* stripes of per-inode data locks */
#define VOL_MAX_FILE_SIZE (1ull << 44) /* 16 TiB */
#define VOL_LINK_MAX 65000

/* Reference counts (lookup counts) of inodes, in a hash table. */
struct vol_ref {
	uint64_t ino;
	uint64_t count;
	struct vol_ref *next;
};

struct vol {
	char meta_dir[PATH_MAX];
	/* disks_mu guards vf's disk list, placement and reserve once the
	 * volume is open (disks.c adds disks and changes the policy). */
	pthread_mutex_t disks_mu;
	struct vol_volfile vf;
	struct idx_env *idx;
	struct trk_pool *pool;
	int lock_fd;
	uint32_t chunk_size;
	bool rdonly;
	bool unclean; /* the last shutdown was not clean */
	/* Unclean but not recovered (VOL_NO_RECOVER): vol_close must not mark
	 * it clean, so that the next open rebuilds. */
	bool keep_unclean;
	uint64_t generation;	      /* volume open generation, for inode generations */
	_Atomic uint64_t stale_noted; /* bit per missing disk: its first free was logged */

	/* Data locks, striped by inode number: vol_read holds one shared for the
	 * whole read (including track I/O), so chunks it is reading cannot be
	 * freed and reused under it; writes, truncates, hole punches and inode
	 * reclaim hold it exclusive. Lock order: ilock, then an idx txn (which
	 * takes the index mutex), then the pool's internal mutex. Never take an
	 * ilock while holding an idx txn. */
	pthread_rwlock_t ilocks[VOL_ILOCKS];

	pthread_mutex_t refs_lock; /* guards refs */
	struct vol_ref **refs;	   /* hash table, refs_buckets long */
	size_t refs_buckets;

	/* Group commit: the flusher commits the index every flush_ms and makes
	 * everything durable every sync_ms. */
	/* Group fsync: one sync runs at a time; callers that arrive while it
	 * runs wait for the next one, which then covers all of them. */
	pthread_mutex_t sync_lock; /* guards the four fields below */
	pthread_cond_t sync_cond;  /* a sync finished */
	uint64_t sync_started;	   /* syncs begun */
	uint64_t sync_done;	   /* the latest sync that finished */
	bool sync_running;
	int sync_rc; /* result of that sync */
	pthread_mutex_t flusher_lock;
	pthread_cond_t flusher_cond;
	bool flusher_stop; /* guarded by flusher_lock */
	bool flusher_kick; /* guarded by flusher_lock: run vol_lost_notify now */
	/* The flusher thread only (disk_back.c): when it last looked for
	 * missing disks that came back, and the disks it gave up on. */
	struct timespec diskback_last;
	uint64_t diskback_given_up;
	bool flusher_running;
	pthread_t flusher;
	unsigned flush_ms, sync_ms;

	/* Writes not yet known to be durable, and the files whose writes a
	 * failing disk lost (lost_writes.c). wnote_mu guards the notes, the lost
	 * marks and the notification queue; lock order: ilock, index lock,
	 * pool sync_mu, wnote_mu, pool mu. */
	/* What front ends ask status to show (notes.c, under its own lock). */
	struct vol_note {
		char key[32];
		char text[VOL_NOTE_TEXT_MAX];
	} notes[VOL_NOTES_MAX];
	/* Names front ends reserve (reserved.c): entries are filled before
	 * nreserved is raised (release), read without a lock (acquire). */
	struct vol_reserved {
		char name[VOL_RESERVED_NAME_MAX];
		size_t len;
		unsigned flags;
	} reserved[VOL_RESERVED_MAX];
	_Atomic unsigned nreserved;
	pthread_mutex_t reserved_mu; /* serialises vol_reserve_name */
	/* vol_open_opts.progress: recovery's progress (NULL: none). */
	void (*progress)(void *arg, const char *what, uint64_t done, uint64_t total);
	void *progress_arg;
	pthread_mutex_t wnote_mu;
	struct vol_wnote *wnotes; /* oldest first (doubly linked) */
	struct vol_wnote *wnotes_tail;
	/* Files whose writes were lost (fsync gives EIO): a hash table of
	 * lost_buckets chains (NULL until the first), lost_files entries. */
	struct vol_lost_file **lost;
	size_t lost_buckets, lost_files;
	atomic_uint nlost;    /* ranges in lost, read without wnote_mu */
	uint64_t *lost_queue; /* inodes whose cached pages the front end drops */
	size_t nqueue, cap_queue;
	/* Guards the four below; never held while lost_cb runs (it may wait for
	 * the kernel, which may wait for the daemon: vol_lost_cb_stop). */
	pthread_mutex_t lost_cb_mu;
	pthread_cond_t lost_cb_cond; /* lost_cb_calls fell to 0 */
	vol_lost_cb lost_cb;
	void *lost_cb_arg;
	unsigned lost_cb_calls; /* calls of lost_cb in progress */
	/* Bumped by every undo that changed the index (vol_wnotes_repair, under
	 * the index lock). A data operation reads it before it reads the size
	 * and extents it decides from; its copy-on-write finds it changed
	 * (vol_cow.gen) and the operation starts over from the file as the
	 * undo left it. */
	_Atomic uint64_t undo_gen;
	/* Writes the last vol_wnotes_repair undid (the hook's, under the index
	 * lock): none means the group references nothing a failed sync lost. */
	unsigned repair_undone;

	_Atomic uint64_t drains_running; /* bit per disk a vol_disk_drain is moving */

	/* The volume's own drain thread (drain_thread.c), while open for
	 * writing: drains asked for over the control socket, and those found
	 * interrupted at open. */
	struct vol_drainer {
		pthread_mutex_t mu; /* guards the fields below */
		bool inited;	    /* mu exists (opened for writing) */
		bool running;	    /* the thread has not finished its work */
		bool joinable;	    /* a thread was started and not joined */
		bool closing;	    /* vol_close: take no more work */
		pthread_t thread;
		uint64_t pending; /* disks still to drain, a bit each */
		int current;	  /* the disk being drained, or -1 */
		/* bytes/s asked for each disk's drain; 0: the one in its record */
		uint64_t rate[VOL_MAX_DISKS];
		int last_rc[VOL_MAX_DISKS]; /* result of each disk's last drain; 1: none */
		int target[VOL_MAX_DISKS];  /* a replace's new disk for each, or -1 */
		atomic_bool stop;	    /* set to stop the current drain */
		uint64_t user_stop; /* disks whose stop was asked for: mark it in the record */
	} drainer;

	struct vol_scrubber *scrubber; /* scrub.c, while open for writing */

	/* Counters since open, for vol_io_counters() and the metrics
	 * (metrics.c): data calls by every front end, and chunks that
	 * failed their checksum (a read or the scrub), per disk. */
	struct {
		_Atomic uint64_t reads, writes, bytes_read, bytes_written;
		_Atomic uint64_t read_fails, write_fails;
		_Atomic uint64_t csum_bad[VOL_MAX_DISKS];
	} ctr;

	/* Snapshots (snapshot.c): snap_mu serializes taking them and
	 * guards snap_seq/snap_last_ns; the snapshot thread waits on
	 * snapper_cond (snapper_mu guards the flags). */
	pthread_mutex_t snap_mu;
	uint64_t snap_seq;     /* commit the last snapshot holds */
	uint64_t snap_last_ns; /* when it was taken */
	unsigned snap_interval_s;
	pthread_mutex_t snapper_mu;
	pthread_cond_t snapper_cond;
	bool snapper_inited, snapper_running, snapper_stop, snapper_kick;
	pthread_t snapper;
	/* vol_mirror_check, on the snapshot thread only: when to retry a failed
	 * mirror next (CLOCK_MONOTONIC seconds) and the current backoff. */
	int64_t mirror_next_s;
	unsigned mirror_backoff_s;

	/* The status socket (control.c), while open for writing. */
	int control_fd;
	int control_stop[2];
	pthread_t control_thread;
	bool control_running;
	/* "s3-reload": the S3 sidecar serving this volume (vol_control_set_reload),
	 * under control.c's hook lock. */
	int (*s3_reload)(void *arg, char *why, size_t len);
	void *s3_reload_arg;
};

static inline pthread_rwlock_t *vol_ilock(struct vol *v, uint64_t ino)
{
	return &v->ilocks[(ino * 0x9E3779B97F4A7C15ull) >> 54 & (VOL_ILOCKS - 1)];
}

/* snapshot.c, mirror.c */
/** The front ends' notes, "KEY\tTEXT\n" each, into @p out (notes.c). */
void vol_notes_get(struct vol *v, char *out, size_t size);
int vol_snapper_start(struct vol *v, unsigned interval_s);
/** The disks a snapshot goes to now (present, not removed, not failing): a bit each. */
uint64_t vol_snapshot_disks(struct vol *v);
void vol_snapper_stop(struct vol *v);
/** The volume file changed: have the snapshot thread take one soon (if periodic). */
void vol_snapshot_kick(struct vol *v);
/** At open: attach the mirror the volume file names (resync it if behind). */
int vol_mirror_open(struct vol *v);
/** Retry a mirror that failed or fell behind. */
void vol_mirror_check(struct vol *v);

/* refs.c */
int vol_refs_init(struct vol *v);
void vol_refs_fini(struct vol *v);
/** Add @p n references to @p ino. @return 0 or -ENOMEM. */
int vol_ref_get(struct vol *v, uint64_t ino, uint64_t n);
/** Drop @p n references. @return the count left. */
uint64_t vol_ref_put(struct vol *v, uint64_t ino, uint64_t n);
uint64_t vol_ref_count(struct vol *v, uint64_t ino);
/**
 * The inode lost its last link inside @p txn (nlink now 0, already written):
 * if it is referenced, add it to the orphan list (reclaimed at the last
 * vol_forget); otherwise free its xattrs, inline data and the inode itself
 * inside @p txn, and collect its chunks in @p pending: the caller hands them
 * to the pool (vol_runs_release) only after @p txn committed, or forgets them
 * (vol_runs_fini) if it aborts, so an aborted unlink never frees a chunk the
 * index still references. *@p freed (when not NULL) says whether the inode
 * was freed rather than orphaned: after the commit, the caller forgets its
 * lost marks (vol_lost_clear). The caller holds the inode's ilock
 * exclusively when the inode may have data.
 */
struct vol_runs;
int vol_inode_drop_locked(struct vol *v, struct idx_txn *txn, uint64_t ino,
			  struct vol_runs *pending, bool *freed);
/** Reclaim an orphan now (own ilock and txn). */
int vol_orphan_reclaim(struct vol *v, uint64_t ino);

/* truncate.c / rw.c: the data path */
/**
 * Free every chunk of @p inode at or beyond file offset @p from (rounded up
 * to a chunk boundary): extents wholly past it are deleted, an extent
 * straddling it is shortened; freed runs go to the pool's deferred list.
 * inode->blocks is updated (the caller writes the inode). Runs in @p txn; no I/O.
 */
int vol_extents_free_from(struct vol *v, struct idx_txn *txn, struct idx_inode *inode,
			  uint64_t from);
/** Free the whole chunks inside [off, off+len) (hole punch), likewise. */
int vol_extents_free_range(struct vol *v, struct idx_txn *txn, struct idx_inode *inode,
			   uint64_t off, uint64_t len);
/**
 * Change the size of a regular file: shrinking frees chunks past the new end;
 * growing zeroes the bytes after the old end in its last chunk (copy on
 * write). Caller holds the inode's ilock exclusively and no txn; this opens
 * its own txn(s). Updates size, mtime and ctime when @p touch.
 */
int vol_truncate_locked(struct vol *v, uint64_t ino, uint64_t size, bool touch);

/* sync.c */
/** Sync data and allocator state, then the index (durable), then release
 * deferred frees. Concurrent callers share one sync (group fsync). */
int vol_sync_all(struct vol *v);
/** The index precommit hook: fdatasync the tracks the group references. */
int vol_precommit(void *arg);
int vol_flusher_start(struct vol *v);
void vol_flusher_stop(struct vol *v);

/* lost_writes.c: writes a failed flush lost (see data_int.h for the notes) */
void vol_lost_init(struct vol *v);
/** Forget every note and mark (the volume is closing). */
void vol_lost_fini(struct vol *v);
/**
 * Undo every write that a failed fdatasync lost (trk_pool_write_lost), inside
 * a transaction of the group being committed (the precommit hook calls it
 * through trk_pool_sync_repair): each range such a write mapped, where the
 * file still maps it, maps the chunks it replaced again; its own chunks are
 * freed; the file is marked (fsync returns EIO). A write still in flight is
 * told to fail. @return 0 or -errno (nothing changed).
 */
int vol_wnotes_repair(void *arg);
/** Forget the notes of writes now durable (after a sync that succeeded). */
void vol_wnotes_prune(struct vol *v);
/** True when @p ino has a write not yet known durable. */
bool vol_wnotes_pending(struct vol *v, uint64_t ino);
/** True when bytes a write gave @p ino in [a, b) were lost (b: UINT64_MAX for
 * all). The marks are in bytes: the bytes the writes supplied (vol_cow). */
bool vol_lost_has(struct vol *v, uint64_t ino, uint64_t a, uint64_t b);
/** Bytes [a, b) of @p ino were given again by a write, truncated away or
 * freed: no longer lost. Zeroing and preallocation give no bytes. */
void vol_lost_clear(struct vol *v, uint64_t ino, uint64_t a, uint64_t b);
/** Tell the front end (lost_cb) about inodes whose writes were undone. Call
 * holding no lock of the volume (the flusher does). */
void vol_lost_notify(struct vol *v);

/* disks.c: the disk count the index records, checked at open */
int vol_disks_check(struct vol *v);

/* control.c: answers `trackfs status` while the volume is held open */
int vol_control_start(struct vol *v);
void vol_control_stop(struct vol *v);
/* disk_files.c: answer "disk-files DISK" on @p fd, then close it. */
void vol_disk_files_serve(struct vol *v, int fd, const char *arg);

/* drain.c */
/** Mark the disks whose drain record says draining or drained, so that the
 * allocator keeps new chunks off them (at open). @return 0 or an index error. */
int vol_drain_load(struct vol *v);

/* scrub.c: the online scrub thread */
/** Start the scrub thread: it resumes an interrupted scrub and starts one
 * every @p every_s seconds (0: only when asked). */
int vol_scrubber_init(struct vol *v, uint64_t every_s);
/** Stop it; a running scrub keeps its cursor for the next open. */
void vol_scrubber_fini(struct vol *v);

/* drain_thread.c: drains on the volume's own thread */
/** Ready the drain thread's state (before the control socket answers). */
int vol_drainer_init(struct vol *v);
/** Queue every disk whose drain record says draining (an interrupted drain)
 * on the drain thread. A missing disk waits for the next open. */
void vol_drainer_resume(struct vol *v);
/** Stop the drain thread (its drain keeps its cursor) and free its state. */
void vol_drainer_fini(struct vol *v);
/** Drain @p disk on the drain thread at @p rate bytes/s (0: no limit); a
 * disk queued or draining already returns 0 too.
 * @return 0, -ENODEV, -ENXIO (missing), -EROFS, -ESHUTDOWN (closing), -errno. */
int vol_drainer_start(struct vol *v, unsigned disk, uint64_t rate);
/** Stop the drain of @p disk (-1: every drain) after its current piece.
 * @return 0, -ESRCH (no drain of it runs or waits). */
int vol_drainer_stop(struct vol *v, int disk);
/** Queue the replace of disk @p old (present or missing) by disk @p target,
 * already added: a drain onto @p target only that reads what it can, then
 * writes the list of what it could not (vol_disk_lost_write).
 * @return 0, -EROFS, -ENODEV, -EINVAL, -ESHUTDOWN, or a pthread error. */
int vol_drainer_replace(struct vol *v, unsigned old, unsigned target, uint64_t rate);
/** The control request "replace-start OLD RATE NEWPATH" (replace.c):
 * adds NEWPATH, queues the replace, replies "ok NEW" on @p fd.
 * @return 0 (replied), or -errno (the caller replies the error). */
int vol_replace_serve(struct vol *v, int fd, const char *args);

/** From the flusher, every pass: at most every two seconds, and only while
 * a disk is missing, take back the missing disks whose identity file is
 * there again (disk_back.c). */
void vol_disks_recheck(struct vol *v);
/** Whether @p disk is being drained or waits to be (*@p running), and the
 * result of its last drain on the thread (*@p last_rc, 1 when none). */
void vol_drainer_query(struct vol *v, unsigned disk, bool *running, int *last_rc);

/* attr.c */
void vol_attr_from_inode(const struct vol *v, const struct idx_inode *in, struct vol_attr *out);
void vol_now(struct timespec *ts);
/** The times of a new inode: the kernel's coarse inode clock, not later than
 * vol_now(). */
void vol_now_born(struct timespec *ts);

/* namei.c: name helpers shared with rename.c and readdir.c */
/** Check an entry name: -ENOENT (empty), -ENAMETOOLONG, -EINVAL (has '/').
 * "." and ".." pass; callers decide what they mean. */
int vol_name_check(const char *name, size_t *len_out);
bool vol_name_is_dot(const char *name, size_t len);
/** Read directory @p ino for adding or removing entries: -ENOTDIR, and
 * -ENOENT for a removed directory (nlink 0). */
int vol_dir_get(struct idx_txn *txn, uint64_t ino, struct idx_inode *out);
/** Set a directory's mtime and ctime (an entry changed). */
void vol_dir_touch(struct idx_inode *dir, const struct timespec *now);
/** Which inode @p name in @p parent names, from a short txn of its own (to
 * know which ilock to take before the real txn). -ENOENT, -ENOTDIR. */
int vol_peek_entry(struct vol *v, uint64_t parent, const char *name, size_t len, uint64_t *ino_out);

/* open.c: recovery */
/** Rebuild the pool's free lists from every extent in the index. */
int vol_rebuild_freelists(struct vol *v);
/** Reclaim every inode on the orphan list. */
int vol_reclaim_orphans(struct vol *v);

/* ---- acl.c: POSIX ACLs of new and changed nodes ---- */

#define VOL_ACL_ACCESS "system.posix_acl_access"
#define VOL_ACL_DEFAULT "system.posix_acl_default"

/** What a new node inherits from its directory's default ACL. */
struct vol_acl_new {
	void *dacl; /* the parent's default ACL (a directory keeps it), or NULL */
	size_t dacl_size;
	void *acl; /* the access ACL made from it, when it says more than the mode */
	size_t acl_size;
};
/** In @p txn: narrow *@p mode (type bits included) by @p parent's default
 * ACL, or clear @p umask from it when there is none; @p nn gets the ACLs to
 * store (vol_acl_store_new) and must be freed (vol_acl_new_fini). */
int vol_acl_inherit(struct idx_txn *txn, uint64_t parent, uint32_t *mode, uint32_t umask,
		    struct vol_acl_new *nn);
int vol_acl_store_new(struct idx_txn *txn, uint64_t ino, bool is_dir, const struct vol_acl_new *nn);
void vol_acl_new_fini(struct vol_acl_new *nn);
/** setxattr of system.posix_acl_access on @p inode (not yet written back):
 * -EINVAL for a malformed ACL; one that says no more than the mode is not
 * kept; inode->mode takes the ACL's permission bits. */
int vol_acl_set_access(struct idx_txn *txn, struct idx_inode *inode, const void *value, size_t size,
		       int flags);
/** After a chmod to @p mode: rewrite the access ACL of @p ino to match. */
int vol_acl_chmod(struct idx_txn *txn, uint64_t ino, uint32_t mode);

#endif
