/* FUSE handlers that create, remove and rename names: mknod, mkdir, create,
 * symlink, link, unlink, rmdir and rename. New nodes belong to the caller of
 * the request (fuse_req_ctx) and inherit the directory's group and default
 * ACL where the rules say so (acl.c). Also the names the S3 sidecar keeps for
 * itself, which the mount neither shows nor lets anyone create.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <string.h>

#include "fs/fuse/fs_fuse.h"

/* A new name that a front end keeps for itself (vol_reserve_name) is
 * refused: a node made there would be invisible, and the front end would
 * take it for its own. */
static int fs_check_new_name(struct vol *v, uint64_t parent, const char *name)
{
	if (vol_name_reserved(v, parent, name, strlen(name))) {
		tfs_debug("fuse: '%s' in directory %" PRIu64 " is reserved by the S3 sidecar", name,
			  parent);
		return -EPERM;
	}
	return 0;
}

/* The one path for mknod, mkdir and create (vol_create when @p create); the
 * engine applies the set-group-ID rule, the default ACL or the umask. */
static int fs_make_node(fuse_req_t req, uint64_t parent, const char *name, uint32_t mode,
			uint64_t rdev, bool create, struct vol_attr *out)
{
	struct fs_daemon *d = fs_req_daemon(req);
	struct vol_cred cred;
	int rc;

	rc = fs_check_new_name(d->vol, parent, name);
	if (rc < 0)
		return rc;
	fs_req_cred(req, &cred);
	if (S_ISDIR(mode))
		return vol_mkdir(d->vol, parent, name, mode, &cred, out);
	if (create)
		return vol_create(d->vol, parent, name, mode, &cred, out);
	return vol_mknod(d->vol, parent, name, mode, rdev, &cred, out);
}

static void fs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			dev_t rdev)
{
	struct vol_attr a;
	int rc;

	rc = fs_make_node(req, parent, name, mode, rdev, false, &a);
	tfs_debug("fuse: mknod parent=%" PRIu64 " name=%s mode=%#o -> %s", (uint64_t)parent, name,
		  (unsigned)mode, tfs_strerror(rc));
	fs_reply_entry(req, rc, &a);
}

static void fs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	fs_count(req, FS_OP_MKDIR);
	struct vol_attr a;
	int rc;

	rc = fs_make_node(req, parent, name, S_IFDIR | (mode & 07777), 0, false, &a);
	tfs_debug("fuse: mkdir parent=%" PRIu64 " name=%s mode=%#o -> %s", (uint64_t)parent, name,
		  (unsigned)mode, tfs_strerror(rc));
	fs_reply_entry(req, rc, &a);
}

static void fs_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			 struct fuse_file_info *fi)
{
	fs_count(req, FS_OP_CREATE);
	struct fs_daemon *d = fs_req_daemon(req);
	struct fuse_entry_param e;
	struct vol_attr a;
	int rc;

	rc = fs_make_node(req, parent, name, S_IFREG | (mode & 07777), 0, true, &a);
	tfs_debug("fuse: create parent=%" PRIu64 " name=%s mode=%#o flags=%#x -> %s",
		  (uint64_t)parent, name, (unsigned)mode, fi->flags, tfs_strerror(rc));
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	fs_attr_to_entry(d, &a, &e);
	fi->fh = 0;
	fi->keep_cache = 1;
	if (fuse_reply_create(req, &e, fi) != 0)
		vol_forget(d->vol, a.ino, 1);
}

static void fs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct fs_daemon *d = fs_req_daemon(req);
	struct vol_cred cred;
	struct vol_attr a;
	int rc;

	rc = fs_check_new_name(d->vol, parent, name);
	if (rc == 0) {
		fs_req_cred(req, &cred);
		rc = vol_symlink(d->vol, parent, name, link, &cred, &a);
	}
	tfs_debug("fuse: symlink parent=%" PRIu64 " name=%s -> %s", (uint64_t)parent, name,
		  tfs_strerror(rc));
	fs_reply_entry(req, rc, &a);
}

static void fs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct fs_daemon *d = fs_req_daemon(req);
	struct vol_attr a;
	int rc;

	rc = fs_check_new_name(d->vol, newparent, newname);
	if (rc == 0)
		rc = vol_link(d->vol, ino, newparent, newname, &a);
	tfs_debug("fuse: link ino=%" PRIu64 " newparent=%" PRIu64 " name=%s -> %s", (uint64_t)ino,
		  (uint64_t)newparent, newname, tfs_strerror(rc));
	fs_reply_entry(req, rc, &a);
}

static void fs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fs_count(req, FS_OP_UNLINK);
	struct fs_daemon *d = fs_req_daemon(req);
	int rc;

	rc = vol_name_reserved(d->vol, parent, name, strlen(name))
		     ? -ENOENT
		     : vol_unlink(d->vol, parent, name);
	tfs_debug("fuse: unlink parent=%" PRIu64 " name=%s -> %s", (uint64_t)parent, name,
		  tfs_strerror(rc));
	fuse_reply_err(req, -rc);
}

static void fs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fs_count(req, FS_OP_RMDIR);
	struct fs_daemon *d = fs_req_daemon(req);
	int rc;

	rc = vol_name_reserved(d->vol, parent, name, strlen(name))
		     ? -ENOENT
		     : vol_rmdir(d->vol, parent, name);
	tfs_debug("fuse: rmdir parent=%" PRIu64 " name=%s -> %s", (uint64_t)parent, name,
		  tfs_strerror(rc));
	fuse_reply_err(req, -rc);
}

static void fs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
			 const char *newname, unsigned int flags)
{
	fs_count(req, FS_OP_RENAME);
	struct fs_daemon *d = fs_req_daemon(req);
	unsigned vflags = 0;
	int rc;

	/* RENAME_WHITEOUT (overlayfs) and unknown flags are refused. */
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
		rc = -EINVAL;
	} else if (vol_name_reserved(d->vol, parent, name, strlen(name))) {
		rc = -ENOENT;
	} else if (fs_check_new_name(d->vol, newparent, newname) < 0) {
		rc = -EPERM;
	} else {
		if (flags & RENAME_NOREPLACE)
			vflags |= VOL_RENAME_NOREPLACE;
		if (flags & RENAME_EXCHANGE)
			vflags |= VOL_RENAME_EXCHANGE;
		rc = vol_rename(d->vol, parent, name, newparent, newname, vflags);
	}
	tfs_debug("fuse: rename parent=%" PRIu64 " name=%s newparent=%" PRIu64
		  " newname=%s flags=%#x -> %s",
		  (uint64_t)parent, name, (uint64_t)newparent, newname, flags, tfs_strerror(rc));
	fuse_reply_err(req, -rc);
}

void fs_ops_namei(struct fuse_lowlevel_ops *ops)
{
	ops->mknod = fs_op_mknod;
	ops->mkdir = fs_op_mkdir;
	ops->create = fs_op_create;
	ops->symlink = fs_op_symlink;
	ops->link = fs_op_link;
	ops->unlink = fs_op_unlink;
	ops->rmdir = fs_op_rmdir;
	ops->rename = fs_op_rename;
}
