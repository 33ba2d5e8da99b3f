/* FUSE handlers for extended attributes. The user., trusted. and security.
 * namespaces are stored as they come; of system., only the POSIX ACLs are
 * (the kernel enforces them, acl.c keeps the mode in step). Size 0 asks for
 * the length, as getxattr(2) and listxattr(2) do.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fuse/fs_fuse.h"

static bool fs_prefix(const char *name, const char *prefix)
{
	return strncmp(name, prefix, strlen(prefix)) == 0;
}

/* @return 0 if @p name is a namespace this filesystem stores, else
 * -EOPNOTSUPP (as ext4 answers for unknown namespaces). */
static int fs_xattr_name_ok(const char *name)
{
	if (fs_prefix(name, "user.") || fs_prefix(name, "trusted.") ||
	    fs_prefix(name, "security.") || strcmp(name, "system.posix_acl_access") == 0 ||
	    strcmp(name, "system.posix_acl_default") == 0)
		return 0;
	return -EOPNOTSUPP;
}

static void fs_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			   size_t size, int flags)
{
	struct fs_daemon *d = fs_req_daemon(req);
	int rc;

	rc = fs_xattr_name_ok(name);
	if (rc == 0) /* an access ACL keeps the mode in step (fs/vol/acl.c) */
		rc = vol_setxattr(d->vol, ino, name, value, size, flags);
	tfs_debug("fuse: setxattr ino=%" PRIu64 " name=%s size=%zu flags=%#x -> %s", (uint64_t)ino,
		  name, size, flags, tfs_strerror(rc));
	fuse_reply_err(req, -rc);
}

static void fs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct fs_daemon *d = fs_req_daemon(req);
	void *buf = NULL;
	ssize_t n;

	n = fs_xattr_name_ok(name);
	if (n == 0 && size > 0) {
		buf = malloc(size);
		if (!buf)
			n = -ENOMEM;
	}
	if (n == 0)
		n = vol_getxattr(d->vol, ino, name, buf, size);
	tfs_debug("fuse: getxattr ino=%" PRIu64 " name=%s size=%zu -> %zd", (uint64_t)ino, name,
		  size, n);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void fs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct fs_daemon *d = fs_req_daemon(req);
	char *buf = NULL;
	ssize_t n = 0;

	if (size > 0) {
		buf = malloc(size);
		if (!buf)
			n = -ENOMEM;
	}
	if (n == 0)
		n = vol_listxattr(d->vol, ino, buf, size);
	tfs_debug("fuse: listxattr ino=%" PRIu64 " size=%zu -> %zd", (uint64_t)ino, size, n);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void fs_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct fs_daemon *d = fs_req_daemon(req);
	int rc;

	rc = fs_xattr_name_ok(name);
	if (rc == 0)
		rc = vol_removexattr(d->vol, ino, name);
	tfs_debug("fuse: removexattr ino=%" PRIu64 " name=%s -> %s", (uint64_t)ino, name,
		  tfs_strerror(rc));
	fuse_reply_err(req, -rc);
}

void fs_ops_xattr(struct fuse_lowlevel_ops *ops)
{
	ops->setxattr = fs_op_setxattr;
	ops->getxattr = fs_op_getxattr;
	ops->listxattr = fs_op_listxattr;
	ops->removexattr = fs_op_removexattr;
}
