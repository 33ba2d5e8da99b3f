/* FUSE handlers for directories: opendir, readdir, readdirplus, releasedir
 * and fsyncdir. Entries come from vol_readdir() with their resume cookies;
 * readdirplus entries each carry a lookup reference, which vol_readdir adds
 * only for the entries that fitted in the reply (and never for "." and "..",
 * which the kernel does not link). The callback runs inside an index
 * transaction, so it only copies entries into the reply buffer. The S3
 * sidecar's own names (vol_name_reserved) are left out.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fuse/fs_fuse.h"

/* Hidden entries one readdirplus reply may skip; at more, the reply ends early
 * (the kernel asks again from there). */
#define FS_SKIP_MAX 16

/* State of one readdir reply being filled. */
struct fs_dirbuf {
	fuse_req_t req;
	struct fs_daemon *d;
	uint64_t dir;
	char *buf;
	size_t size;
	size_t used;
	bool plus;
	int err;
	/* Hidden entries left out of a readdirplus reply: vol_readdir took a
	 * reference for each (the callback returned 0), dropped afterwards. */
	uint64_t skipped[FS_SKIP_MAX];
	unsigned nskipped;
	bool last_skipped; /* the last entry seen was one of them */
};

static int fs_dirbuf_cb(void *arg, const struct vol_dirent *de, const struct vol_attr *attr)
{
	struct fs_dirbuf *b = arg;
	char name[NAME_MAX + 1];
	size_t rem = b->size - b->used;
	size_t need;

	if (de->namelen > NAME_MAX) {
		tfs_err("fuse: readdir: an entry name of %zu bytes in the index is longer than "
			"NAME_MAX; run fsck.trackfs",
			de->namelen);
		b->err = -EIO;
		return 1;
	}
	b->last_skipped = false;
	if (vol_name_reserved(b->d->vol, b->dir, de->name, de->namelen)) {
		if (!b->plus)
			return 0;
		if (b->nskipped == FS_SKIP_MAX)
			return 1; /* stop before it: no reference taken */
		b->skipped[b->nskipped++] = de->ino;
		b->last_skipped = true;
		return 0;
	}
	memcpy(name, de->name, de->namelen);
	name[de->namelen] = '\0';

	if (!b->plus) {
		struct stat st;

		memset(&st, 0, sizeof(st));
		st.st_ino = de->ino;
		st.st_mode = de->type << 12;
		need = fuse_add_direntry(b->req, b->buf + b->used, rem, name, &st, (off_t)de->next);
	} else {
		struct fuse_entry_param e;

		fs_attr_to_entry(b->d, attr, &e);
		need = fuse_add_direntry_plus(b->req, b->buf + b->used, rem, name, &e,
					      (off_t)de->next);
	}
	if (need > rem)
		return 1; /* full: not added, so no reference is taken */
	b->used += need;
	return 0;
}

static void fs_do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
	struct fs_dirbuf b;
	int rc;

	memset(&b, 0, sizeof(b));
	b.req = req;
	b.d = fs_req_daemon(req);
	b.dir = ino;
	b.size = size;
	b.plus = plus;
	b.buf = malloc(size ? size : 1);
	if (!b.buf) {
		tfs_err("fuse: readdir of inode %" PRIu64 ": no memory for %zu bytes",
			(uint64_t)ino, size);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	rc = vol_readdir(b.d->vol, ino, (uint64_t)off, plus, fs_dirbuf_cb, &b);
	/* A scan that failed right after a skipped entry may have failed to
	 * take its reference: keeping one too many is safe, dropping one that
	 * was never taken is not. */
	if (rc < 0 && b.last_skipped)
		b.nskipped--;
	for (unsigned i = 0; i < b.nskipped; i++)
		vol_forget(b.d->vol, b.skipped[i], 1);
	if (rc == 0 && b.err < 0 && b.used == 0)
		rc = b.err;
	tfs_debug("fuse: readdir%s ino=%" PRIu64 " off=%lld size=%zu -> %s %zu bytes",
		  plus ? "plus" : "", (uint64_t)ino, (long long)off, size, tfs_strerror(rc),
		  b.used);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, b.buf, b.used);
	free(b.buf);
}

static void fs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	/* The kernel may cache the listing across opens: every change made
	 * through this mount invalidates it, and changes made elsewhere go
	 * through fs_invalidate_inode(). */
	tfs_debug("fuse: opendir ino=%" PRIu64, (uint64_t)ino);
	fi->fh = 0;
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static void fs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			  struct fuse_file_info *fi)
{
	fs_count(req, FS_OP_READDIR);
	fs_do_readdir(req, ino, size, off, false);
}

static void fs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			      struct fuse_file_info *fi)
{
	fs_count(req, FS_OP_READDIR);
	fs_do_readdir(req, ino, size, off, true);
}

static void fs_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	tfs_debug("fuse: releasedir ino=%" PRIu64, (uint64_t)ino);
	fuse_reply_err(req, 0);
}

static void fs_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct fs_daemon *d = fs_req_daemon(req);
	int rc;

	rc = vol_sync(d->vol);
	tfs_debug("fuse: fsyncdir ino=%" PRIu64 " -> %s", (uint64_t)ino, tfs_strerror(rc));
	fuse_reply_err(req, -rc);
}

void fs_ops_dir(struct fuse_lowlevel_ops *ops)
{
	ops->opendir = fs_op_opendir;
	ops->readdir = fs_op_readdir;
	ops->readdirplus = fs_op_readdirplus;
	ops->releasedir = fs_op_releasedir;
	ops->fsyncdir = fs_op_fsyncdir;
}
