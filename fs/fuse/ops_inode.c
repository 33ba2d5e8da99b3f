/* FUSE handlers for inodes as a whole: lookup and the lookup counts (forget),
 * attributes (getattr, setattr), readlink and statfs, plus the conversions
 * from vol/ attributes to what the kernel wants. Each handler calls one vol_
 * operation and replies exactly once.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "fs/fuse/fs_fuse.h"

void fs_attr_to_stat(const struct vol_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = (off_t)a->size;
	st->st_blocks = (blkcnt_t)a->blocks;
	st->st_blksize = a->blksize;
	st->st_atim = a->atime;
	st->st_mtim = a->mtime;
	st->st_ctim = a->ctime;
}

void fs_attr_to_entry(const struct fs_daemon *d, const struct vol_attr *a,
		      struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = a->ino;
	e->generation = a->generation;
	fs_attr_to_stat(a, &e->attr);
	e->attr_timeout = d->timeout;
	e->entry_timeout = d->timeout;
}

void fs_reply_entry(fuse_req_t req, int rc, const struct vol_attr *a)
{
	struct fs_daemon *d = fs_req_daemon(req);
	struct fuse_entry_param e;

	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	fs_attr_to_entry(d, a, &e);
	/* The kernel only counts the lookup if it received the reply; an
	 * interrupted request would otherwise leak the reference forever. */
	if (fuse_reply_entry(req, &e) != 0)
		vol_forget(d->vol, a->ino, 1);
}

static void fs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fs_count(req, FS_OP_LOOKUP);
	struct fs_daemon *d = fs_req_daemon(req);
	struct vol_attr a;
	int rc;

	fs_tune_once(d);
	/* Names a front end reserved (the S3 sidecar's) look missing. */
	rc = vol_name_reserved(d->vol, parent, name, strlen(name))
		     ? -ENOENT
		     : vol_lookup(d->vol, parent, name, &a);
	tfs_debug("fuse: lookup parent=%" PRIu64 " name=%s -> %s ino=%" PRIu64, (uint64_t)parent,
		  name, tfs_strerror(rc), rc ? 0 : a.ino);
	if (rc == -ENOENT) {
		/* A negative entry with a timeout: the kernel caches the absence,
		 * so repeated lookups of missing names (library scans, PATH
		 * searches) never reach the daemon. */
		struct fuse_entry_param e;

		memset(&e, 0, sizeof(e));
		e.entry_timeout = d->timeout;
		fuse_reply_entry(req, &e);
		return;
	}
	fs_reply_entry(req, rc, &a);
}

static void fs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct fs_daemon *d = fs_req_daemon(req);

	tfs_debug("fuse: forget ino=%" PRIu64 " n=%" PRIu64, (uint64_t)ino, nlookup);
	vol_forget(d->vol, ino, nlookup);
	fuse_reply_none(req);
}

static void fs_op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct fs_daemon *d = fs_req_daemon(req);

	tfs_debug("fuse: forget_multi count=%zu", count);
	for (size_t i = 0; i < count; i++)
		vol_forget(d->vol, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void fs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fs_count(req, FS_OP_GETATTR);
	struct fs_daemon *d = fs_req_daemon(req);
	struct vol_attr a;
	struct stat st;
	int rc;

	fs_tune_once(d);
	rc = vol_getattr(d->vol, ino, &a);
	tfs_debug("fuse: getattr ino=%" PRIu64 " -> %s", (uint64_t)ino, tfs_strerror(rc));
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	fs_attr_to_stat(&a, &st);
	fuse_reply_attr(req, &st, d->timeout);
}

/* FUSE_SET_ATTR_* to VOL_SET_*, with the values copied into @p in. The *_NOW
 * bits come together with the plain ones from the kernel; vol/ takes the
 * clock itself for them, so only the _NOW flag is passed on. */
static unsigned fs_setattr_mask(const struct stat *st, int to_set, struct vol_attr *in)
{
	unsigned mask = 0;

	memset(in, 0, sizeof(*in));
	if (to_set & FUSE_SET_ATTR_MODE) {
		mask |= VOL_SET_MODE;
		in->mode = st->st_mode;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		mask |= VOL_SET_UID;
		in->uid = st->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		mask |= VOL_SET_GID;
		in->gid = st->st_gid;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		mask |= VOL_SET_SIZE;
		in->size = (uint64_t)st->st_size;
	}
	if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
		mask |= VOL_SET_ATIME_NOW;
	} else if (to_set & FUSE_SET_ATTR_ATIME) {
		mask |= VOL_SET_ATIME;
		in->atime = st->st_atim;
	}
	if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
		mask |= VOL_SET_MTIME_NOW;
	} else if (to_set & FUSE_SET_ATTR_MTIME) {
		mask |= VOL_SET_MTIME;
		in->mtime = st->st_mtim;
	}
	if (to_set & FUSE_SET_ATTR_CTIME) {
		mask |= VOL_SET_CTIME;
		in->ctime = st->st_ctim;
	}
	/* chown(f, -1, -1) of anything but a cached regular file arrives with
	 * nothing set; Linux changes the ctime all the same (ext4 does). */
	if (!to_set) {
		mask |= VOL_SET_CTIME;
		clock_gettime(CLOCK_REALTIME, &in->ctime);
	}
	return mask;
}

static void fs_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
			  struct fuse_file_info *fi)
{
	fs_count(req, FS_OP_SETATTR);
	struct fs_daemon *d = fs_req_daemon(req);
	struct vol_attr in, out;
	unsigned mask;
	struct stat st;
	int rc;

	mask = fs_setattr_mask(attr, to_set, &in);
	rc = vol_setattr(d->vol, ino, &in, mask, &out);
	tfs_debug("fuse: setattr ino=%" PRIu64 " valid=%#x -> %s", (uint64_t)ino, to_set,
		  tfs_strerror(rc));
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	fs_attr_to_stat(&out, &st);
	fuse_reply_attr(req, &st, d->timeout);
}

static void fs_op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fs_daemon *d = fs_req_daemon(req);
	char buf[PATH_MAX + 1];
	size_t len;
	int rc;

	rc = vol_readlink(d->vol, ino, buf, sizeof(buf) - 1, &len);
	tfs_debug("fuse: readlink ino=%" PRIu64 " -> %s", (uint64_t)ino, tfs_strerror(rc));
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (len > sizeof(buf) - 1)
		len = sizeof(buf) - 1;
	buf[len] = '\0';
	fuse_reply_readlink(req, buf);
}

static void fs_op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fs_daemon *d = fs_req_daemon(req);
	struct vol_statfs s;
	struct statvfs sv;
	int rc;

	rc = vol_statfs(d->vol, &s);
	tfs_debug("fuse: statfs -> %s", tfs_strerror(rc));
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = s.bsize;
	sv.f_frsize = s.bsize;
	sv.f_blocks = s.blocks;
	sv.f_bfree = s.bfree;
	sv.f_bavail = s.bfree;
	sv.f_files = s.files + s.ffree;
	sv.f_ffree = s.ffree;
	sv.f_favail = s.ffree;
	sv.f_namemax = s.namemax;
	fuse_reply_statfs(req, &sv);
}

void fs_ops_inode(struct fuse_lowlevel_ops *ops)
{
	ops->lookup = fs_op_lookup;
	ops->forget = fs_op_forget;
	ops->forget_multi = fs_op_forget_multi;
	ops->getattr = fs_op_getattr;
	ops->setattr = fs_op_setattr;
	ops->readlink = fs_op_readlink;
	ops->statfs = fs_op_statfs;
}
