/* Who creates a node: the caller's uid and gid, and the umask when the
 * kernel left it to the filesystem (FUSE_CAP_DONT_MASK) so that a default
 * ACL can take its place. The POSIX rules themselves (set-group-ID
 * directories, default ACL inheritance, the mode kept in step with the
 * access ACL) are the engine's: fs/vol/namei.c and fs/vol/acl.c. */
#include "fs/fuse/fs_fuse.h"

void fs_req_cred(fuse_req_t req, struct vol_cred *cred)
{
	struct fs_daemon *d = fs_req_daemon(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	cred->uid = ctx->uid;
	cred->gid = ctx->gid;
	cred->umask = d->dont_mask ? ctx->umask : 0;
}
