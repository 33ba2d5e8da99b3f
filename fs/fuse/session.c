/* The FUSE session's lifecycle handlers (init: which kernel features the
 * daemon asks for; destroy: flush), the handler table, and the notifications
 * that tell the kernel about changes made behind its back.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "fs/fuse/fs_fuse.h"

_Static_assert(VOL_ROOT_INO == FUSE_ROOT_ID, "the volume's root is the FUSE root");

#define FS_MAX_WRITE (1u << 20)
#define FS_MAX_READAHEAD (1u << 20)
#define FS_MAX_BACKGROUND 64

static void fs_want(struct fuse_conn_info *conn, unsigned cap)
{
	if (conn->capable & cap)
		conn->want |= cap;
}

static void fs_op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fs_daemon *d = userdata;

	/* The kernel caches pages and coalesces writes; this daemon is the
	 * only writer of the volume, so its caches stay right. */
	fs_want(conn, FUSE_CAP_WRITEBACK_CACHE);
	fs_want(conn, FUSE_CAP_ASYNC_READ);
	fs_want(conn, FUSE_CAP_READDIRPLUS);
	fs_want(conn, FUSE_CAP_READDIRPLUS_AUTO);
	fs_want(conn, FUSE_CAP_PARALLEL_DIROPS);
	fs_want(conn, FUSE_CAP_CACHE_SYMLINKS);
	/* ACLs are enforced by the kernel from the system.posix_acl_* xattrs.
	 * The umask is then left to us, because a default ACL replaces it
	 * (acl.c). */
	fs_want(conn, FUSE_CAP_POSIX_ACL);
	if (conn->want & FUSE_CAP_POSIX_ACL)
		fs_want(conn, FUSE_CAP_DONT_MASK);
	/* O_TRUNC arrives as a setattr of the size. */
	conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
	/* The kernel clears set-user-ID bits on write, chown and truncate by
	 * sending a setattr of the mode: one rule, in one place. */
	conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
	/* flock() and fcntl() locks stay in the kernel: with these two bits
	 * clear (and no getlk/setlk/flock handlers) it keeps them locally,
	 * which is right for a filesystem that one machine mounts. */
	conn->want &= ~(FUSE_CAP_FLOCK_LOCKS | FUSE_CAP_POSIX_LOCKS);
	/* Splicing only pays when data comes from or goes to a file
	 * descriptor; vol/ reads and writes memory buffers, so reading
	 * requests through a pipe would add a copy (libfuse turns
	 * SPLICE_READ on only for filesystems with write_buf). */
	conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);

	conn->max_write = FS_MAX_WRITE;
	if (conn->max_readahead > FS_MAX_READAHEAD || conn->max_readahead == 0)
		conn->max_readahead = FS_MAX_READAHEAD;
	conn->max_background = FS_MAX_BACKGROUND;

	d->writeback = (conn->want & FUSE_CAP_WRITEBACK_CACHE) != 0;
	d->posix_acl = (conn->want & FUSE_CAP_POSIX_ACL) != 0;
	d->dont_mask = (conn->want & FUSE_CAP_DONT_MASK) != 0;
	/* Opening a file needs nothing from this daemon (ops_file.c): where
	 * the kernel can open on its own, the first open says so and no
	 * further OPEN or RELEASE is sent, a round trip less per open().
	 * Directories are still opened here: fusermount3's auto_unmount
	 * decides that a killed daemon's mount is dead by opening its root,
	 * which must then reach the daemon and fail. */
	d->no_open = (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0;
	tfs_debug("fuse: init: protocol %u.%u, want %#x of %#x, max_write %u, max_readahead %u",
		  conn->proto_major, conn->proto_minor, conn->want, conn->capable, conn->max_write,
		  conn->max_readahead);
	if (!d->writeback)
		tfs_warn("fuse: the kernel offers no writeback cache; writes go through one "
			 "request each (slower, still correct)");
	if (!d->posix_acl)
		tfs_warn("fuse: the kernel offers no POSIX ACL support; ACLs are stored but "
			 "not enforced");
}

static void fs_op_destroy(void *userdata)
{
	struct fs_daemon *d = userdata;
	int rc;

	/* The volume is closed by main() once the loop has ended; flush now so
	 * that an unmount returns with the data durable. */
	rc = vol_sync(d->vol);
	if (rc < 0)
		tfs_err("fuse: flushing the volume at unmount failed: %s; the next mount "
			"will recover it",
			tfs_strerror(rc));
}

void fs_ops_fill(struct fuse_lowlevel_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->init = fs_op_init;
	ops->destroy = fs_op_destroy;
	fs_ops_inode(ops);
	fs_ops_namei(ops);
	fs_ops_file(ops);
	fs_ops_dir(ops);
	fs_ops_xattr(ops);
}

int fs_invalidate_entry(struct fs_daemon *d, uint64_t parent, const char *name)
{
	if (!d->se)
		return -ENOTCONN;
	return fuse_lowlevel_notify_inval_entry(d->se, parent, name, strlen(name));
}

int fs_invalidate_inode(struct fs_daemon *d, uint64_t ino)
{
	if (!d->se)
		return -ENOTCONN;
	/* Offset 0, length 0: attributes and every cached page. */
	return fuse_lowlevel_notify_inval_inode(d->se, ino, 0, 0);
}

void fs_lost_write_cb(void *arg, uint64_t ino)
{
	struct fs_daemon *d = arg;
	int rc = fs_invalidate_inode(d, ino);

	/* ENOENT: the kernel has nothing cached for it. */
	if (rc < 0 && rc != -ENOENT && rc != -ENOTCONN && rc != -ENODEV)
		tfs_warn("fuse: dropping the kernel's cache of inode %" PRIu64 " after a lost "
			 "write failed: %s; reads may show the lost bytes until it is reopened",
			 ino, tfs_strerror(rc));
}
