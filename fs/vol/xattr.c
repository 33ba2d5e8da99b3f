/* Extended attributes by inode, with getxattr(2)-style sizes (0 asks for the
 * length) and ctime updated on every change; system.posix_acl_access keeps
 * the mode in step (acl.c). Which namespaces are allowed (user.,
 * trusted., security., system.) is the front end's policy. */
#include <errno.h>
#include <string.h>
#include <sys/xattr.h>

#include "core/base/log.h"
#include "fs/vol/vol_int.h"

static int check_name(const char *name)
{
	if (!name || !*name)
		return -ERANGE;
	if (strnlen(name, IDX_XATTR_NAME_MAX + 1) > IDX_XATTR_NAME_MAX)
		return -ERANGE;
	return 0;
}

ssize_t vol_getxattr(struct vol *v, uint64_t ino, const char *name, void *buf, size_t size)
{
	struct idx_inode inode;
	struct idx_txn *txn;
	size_t len = 0;
	int rc;

	rc = check_name(name);
	if (rc < 0)
		return rc;
	rc = idx_txn_begin_read(v->idx, &txn);
	if (rc < 0)
		return rc;
	rc = idx_inode_get(txn, ino, &inode);
	if (rc == 0)
		rc = idx_xattr_get(txn, ino, name, size ? buf : NULL, size, &len);
	idx_txn_abort(txn);
	return rc < 0 ? rc : (ssize_t)len;
}

int vol_setxattr(struct vol *v, uint64_t ino, const char *name, const void *value, size_t size,
		 int flags)
{
	struct idx_inode inode;
	struct idx_txn *txn;
	int rc;

	if (v->rdonly)
		return -EROFS;
	if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	rc = check_name(name);
	if (rc < 0)
		return rc;
	if (size > IDX_XATTR_SIZE_MAX)
		return -E2BIG;
	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		return rc;
	rc = idx_inode_get(txn, ino, &inode);
	if (rc < 0)
		goto out_abort_txn;
	/* An access ACL keeps the mode in step (acl.c). */
	if (!strcmp(name, VOL_ACL_ACCESS))
		rc = vol_acl_set_access(txn, &inode, value, size, flags);
	else
		rc = idx_xattr_set(txn, ino, name, value, size, flags);
	if (rc < 0)
		goto out_abort_txn;
	vol_now(&inode.ctime);
	rc = idx_inode_put(txn, &inode);
	if (rc < 0)
		goto out_abort_txn;
	return idx_txn_commit(txn);

out_abort_txn:
	idx_txn_abort(txn);
	return rc;
}

ssize_t vol_listxattr(struct vol *v, uint64_t ino, char *buf, size_t size)
{
	struct idx_inode inode;
	struct idx_txn *txn;
	size_t len = 0;
	int rc;

	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		return rc;
	rc = idx_inode_get(txn, ino, &inode);
	if (rc == 0)
		rc = idx_xattr_list(txn, ino, size ? buf : NULL, size, &len);
	idx_txn_abort(txn);
	return rc < 0 ? rc : (ssize_t)len;
}

int vol_removexattr(struct vol *v, uint64_t ino, const char *name)
{
	struct idx_inode inode;
	struct idx_txn *txn;
	int rc;

	if (v->rdonly)
		return -EROFS;
	rc = check_name(name);
	if (rc < 0)
		return rc;
	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		return rc;
	rc = idx_inode_get(txn, ino, &inode);
	if (rc < 0)
		goto out_abort_txn;
	rc = idx_xattr_remove(txn, ino, name);
	if (rc < 0)
		goto out_abort_txn;
	vol_now(&inode.ctime);
	rc = idx_inode_put(txn, &inode);
	if (rc < 0)
		goto out_abort_txn;
	return idx_txn_commit(txn);

out_abort_txn:
	idx_txn_abort(txn);
	return rc;
}
