/* Private interface of the FUSE front end: the daemon's state shared by the
 * request handlers (one file per group of operations), the table of handlers,
 * and the helpers that turn vol/ results into FUSE replies. Nothing outside
 * fs/fuse includes this header.
 */
#ifndef FS_FUSE_FS_FUSE_H
#define FS_FUSE_FS_FUSE_H

#include <fuse_lowlevel.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "core/base/log.h"
#include "fs/vol/vol.h"

/**
 * What every handler needs: the volume and the session. Set up by main()
 * before the session starts; the fields are read-only while the loop runs (init
 * sets its flags before any other request; bdi_tuned is atomic), so handlers
 * on any worker thread read them without a lock.
 */
/* The requests counted for the metrics (metrics_http.c names them). */
enum fs_op {
	FS_OP_LOOKUP,
	FS_OP_GETATTR,
	FS_OP_SETATTR,
	FS_OP_CREATE,
	FS_OP_MKDIR,
	FS_OP_UNLINK,
	FS_OP_RMDIR,
	FS_OP_RENAME,
	FS_OP_OPEN,
	FS_OP_READ,
	FS_OP_WRITE,
	FS_OP_FSYNC,
	FS_OP_READDIR,
	FS_OP_N
};

struct fs_daemon {
	struct vol *vol;	 /* the open volume; closed by main() after the loop */
	struct fuse_session *se; /* for notifications (fs_invalidate_*) */
	double timeout;		 /* entry and attribute timeout in seconds */
	bool debug;		 /* trace every operation */
	bool posix_acl;		 /* the kernel took FUSE_CAP_POSIX_ACL (set in init) */
	bool writeback;		 /* the kernel took FUSE_CAP_WRITEBACK_CACHE (set in init) */
	bool dont_mask;		 /* the kernel left the umask to us (set in init) */
	bool no_open;		 /* the kernel opens files without asking (set in init) */
	char bdi[32];		 /* the mount's backing device ("0:42"), or "" */
	atomic_bool bdi_tuned;	 /* fs_bdi_tune() has run (first request after init) */
	atomic_bool notify_on;	 /* the S3 sidecar may notify (loop running, sidecar.c) */
	/* Requests since the mount, by operation, and the bytes the kernel
	 * was given and sent (the -o metrics listener shows them). */
	_Atomic uint64_t ops[FS_OP_N];
	_Atomic uint64_t read_bytes, write_bytes;
};

/** The daemon state behind a request (the session's userdata). */
static inline struct fs_daemon *fs_req_daemon(fuse_req_t req)
{
	return (struct fs_daemon *)fuse_req_userdata(req);
}

/** Count one request of @p op. */
static inline void fs_count(fuse_req_t req, enum fs_op op)
{
	atomic_fetch_add_explicit(&fs_req_daemon(req)->ops[op], 1, memory_order_relaxed);
}

/** Fill the handler table for fuse_session_new(): each ops_*.c file sets its
 * own handlers. */
void fs_ops_fill(struct fuse_lowlevel_ops *ops);
void fs_ops_inode(struct fuse_lowlevel_ops *ops);
void fs_ops_namei(struct fuse_lowlevel_ops *ops);
void fs_ops_file(struct fuse_lowlevel_ops *ops);
void fs_ops_dir(struct fuse_lowlevel_ops *ops);
void fs_ops_xattr(struct fuse_lowlevel_ops *ops);

/* ---- names the S3 sidecar keeps for itself (ops_namei.c) --------------- */

/* ---- conversions (ops_inode.c) ------------------------------------------ */

/** Fill @p st from @p a. */
void fs_attr_to_stat(const struct vol_attr *a, struct stat *st);
/** Fill @p e (inode, generation, attributes, timeouts) from @p a. */
void fs_attr_to_entry(const struct fs_daemon *d, const struct vol_attr *a,
		      struct fuse_entry_param *e);
/** Reply to @p req with an entry for @p a (rc == 0) or with the error -rc.
 * Replies exactly once. If the entry reply fails (the request was
 * interrupted), the reference vol/ added for it is dropped again. */
void fs_reply_entry(fuse_req_t req, int rc, const struct vol_attr *a);

/* ---- creating nodes: who creates them (creds.c) ----------------------- */

/**
 * The owner and group of a node the caller of @p req creates, and the umask
 * the engine applies when the directory has no default ACL (0 when the
 * kernel applied it already). The set-group-ID directory rule and default
 * ACL inheritance are the engine's (fs/vol/namei.c, fs/vol/acl.c).
 */
void fs_req_cred(fuse_req_t req, struct vol_cred *cred);

/* ---- the mount's backing device (daemon.c) ---------------------------- */

/** Find the device number ("0:42") of the mount at @p mountpoint in
 * /proc/self/mountinfo (never touching the mount itself, which may not be
 * served yet). @return 0, -ENOENT or -errno. */
int fs_bdi_find(const char *mountpoint, char *dev, size_t size);
/**
 * Raise the kernel's readahead for the mount's backing device @p dev to
 * 4 MiB (FUSE's default is 128 KiB, and INIT can only lower it). Must run
 * after the kernel processed the INIT reply, which resets it: the first
 * requests after init call fs_tune_once(). Best effort (debug log).
 */
void fs_bdi_tune(const char *dev);

/**
 * Make the session's /dev/fuse the last descriptor this process closes if it
 * is killed, by holding a duplicate at a high number (daemon.c). fusermount3
 * (auto_unmount) unmounts a dead daemon's mount only if opening it fails
 * with ENOTCONN, and it looks when the daemon's end of its socket goes. On
 * exit Linux runs the descriptors' releases last-closed first, so with /dev/fuse
 * closed last the connection is already aborted when the socket goes;
 * otherwise a loaded machine may see the open race the abort (ECONNABORTED)
 * and leave the mount behind. @return the duplicate, or -errno.
 */
int fs_keep_dev_last(struct fuse_session *se);

/** Run fs_bdi_tune() once per mount, from whichever request comes first. */
static inline void fs_tune_once(struct fs_daemon *d)
{
	if (!atomic_load_explicit(&d->bdi_tuned, memory_order_relaxed) &&
	    !atomic_exchange(&d->bdi_tuned, true) && d->bdi[0])
		fs_bdi_tune(d->bdi);
}

/* ---- notifications for changes made behind the kernel's back (session.c) */

/**
 * Tell the kernel that the name @p name in directory @p parent may have
 * changed (created, removed or renamed) by another front end, so that its
 * cached entry, positive or negative, is dropped. Must not be called from a
 * request handler of this daemon (the kernel may wait on that request).
 * @return 0, -ENOENT (nothing cached) or another -errno.
 */
int fs_invalidate_entry(struct fs_daemon *d, uint64_t parent, const char *name);

/**
 * Tell the kernel that the attributes and data of @p ino changed behind its
 * back: its cached attributes and page cache are dropped. Same rules as
 * fs_invalidate_entry(). @return 0, -ENOENT or another -errno.
 */
int fs_invalidate_inode(struct fs_daemon *d, uint64_t ino);

/**
 * The volume's lost-write callback (vol_set_lost_cb, @p arg the daemon):
 * writes of @p ino were undone because a disk failed, so the pages the kernel
 * caches for it hold bytes that are not in the file; they are dropped.
 */
void fs_lost_write_cb(void *arg, uint64_t ino);

#endif
