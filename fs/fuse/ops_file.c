/* FUSE handlers for open files: open, read, write, release, fsync,
 * fallocate and lseek (SEEK_DATA/SEEK_HOLE). vol/ addresses files by inode
 * and keeps no per-open state, so the file handle is unused (0) and open and
 * release have nothing to set up or tear down.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <unistd.h>

#include "fs/fuse/fs_fuse.h"

static void fs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fs_count(req, FS_OP_OPEN);
	/* No descriptor to open: vol/ writes at explicit offsets, so O_APPEND
	 * (the kernel picks the offset with the writeback cache) and
	 * O_WRONLY (the kernel may read to fill pages) need nothing here, and
	 * O_TRUNC arrives as a setattr of the size (no atomic_o_trunc).
	 * keep_cache: this daemon is the only writer, so pages cached by an
	 * earlier open are still valid. */
	tfs_debug("fuse: open ino=%" PRIu64 " flags=%#x", (uint64_t)ino, fi->flags);
	/* ENOSYS, where the kernel supports it, means "opened": it opens
	 * every file from now on by itself, with the kernel's defaults for
	 * that case (keep_cache, no direct I/O) which are what is set below,
	 * and sends no RELEASE for those opens. */
	if (fs_req_daemon(req)->no_open) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	fi->fh = 0;
	fi->keep_cache = 1;
	fi->direct_io = 0;
	fuse_reply_open(req, fi);
}

static void fs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	fs_count(req, FS_OP_READ);
	struct fs_daemon *d = fs_req_daemon(req);
	ssize_t n;
	void *buf;

	buf = malloc(size ? size : 1);
	if (!buf) {
		tfs_err("fuse: read of inode %" PRIu64 ": no memory for %zu bytes", (uint64_t)ino,
			size);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = vol_read(d->vol, ino, buf, size, off);
	tfs_debug("fuse: read ino=%" PRIu64 " off=%lld size=%zu -> %zd", (uint64_t)ino,
		  (long long)off, size, n);
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
	} else {
		atomic_fetch_add_explicit(&d->read_bytes, (uint64_t)n, memory_order_relaxed);
		fuse_reply_buf(req, buf, (size_t)n);
	}
	free(buf);
}

static void fs_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	fs_count(req, FS_OP_WRITE);
	struct fs_daemon *d = fs_req_daemon(req);
	ssize_t n;

	n = vol_write(d->vol, ino, buf, size, off);
	tfs_debug("fuse: write ino=%" PRIu64 " off=%lld size=%zu -> %zd", (uint64_t)ino,
		  (long long)off, size, n);
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
	} else {
		atomic_fetch_add_explicit(&d->write_bytes, (uint64_t)n, memory_order_relaxed);
		fuse_reply_write(req, (size_t)n);
	}
}

static void fs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	tfs_debug("fuse: release ino=%" PRIu64, (uint64_t)ino);
	fuse_reply_err(req, 0);
}

static void fs_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	fs_count(req, FS_OP_FSYNC);
	struct fs_daemon *d = fs_req_daemon(req);
	int rc;

	rc = vol_fsync(d->vol, ino, datasync != 0);
	tfs_debug("fuse: fsync ino=%" PRIu64 " datasync=%d -> %s", (uint64_t)ino, datasync,
		  tfs_strerror(rc));
	fuse_reply_err(req, -rc);
}

static void fs_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
			    struct fuse_file_info *fi)
{
	struct fs_daemon *d = fs_req_daemon(req);
	unsigned vmode = 0;
	int rc;

	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
		/* collapse, insert and unshare ranges are not offered. */
		rc = -EOPNOTSUPP;
	} else {
		if (mode & FALLOC_FL_KEEP_SIZE)
			vmode |= VOL_FALLOC_KEEP_SIZE;
		if (mode & FALLOC_FL_PUNCH_HOLE)
			vmode |= VOL_FALLOC_PUNCH_HOLE;
		if (mode & FALLOC_FL_ZERO_RANGE)
			vmode |= VOL_FALLOC_ZERO_RANGE;
		rc = vol_fallocate(d->vol, ino, vmode, off, len);
	}
	tfs_debug("fuse: fallocate ino=%" PRIu64 " mode=%#x off=%lld len=%lld -> %s", (uint64_t)ino,
		  mode, (long long)off, (long long)len, tfs_strerror(rc));
	fuse_reply_err(req, -rc);
}

static void fs_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
			struct fuse_file_info *fi)
{
	struct fs_daemon *d = fs_req_daemon(req);
	off_t out = 0;
	int rc;

	/* The kernel answers SEEK_SET, SEEK_CUR and SEEK_END itself and sends
	 * only SEEK_DATA and SEEK_HOLE. Dirty pages still in the writeback
	 * cache are not seen here: data is found once it was written back
	 * (close or fsync), as on NFS. */
	if (whence == SEEK_DATA || whence == SEEK_HOLE)
		rc = vol_lseek(d->vol, ino, off, whence, &out);
	else
		rc = -EINVAL;
	tfs_debug("fuse: lseek ino=%" PRIu64 " off=%lld whence=%d -> %s %lld", (uint64_t)ino,
		  (long long)off, whence, tfs_strerror(rc), (long long)out);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_lseek(req, out);
}

void fs_ops_file(struct fuse_lowlevel_ops *ops)
{
	ops->open = fs_op_open;
	ops->read = fs_op_read;
	ops->write = fs_op_write;
	/* No flush handler: close() is not a durability point (fsync is) and
	 * the kernel writes back its dirty pages before it would send one. An
	 * unimplemented flush is never sent again, which saves a round trip on
	 * every close. */
	ops->release = fs_op_release;
	ops->fsync = fs_op_fsync;
	ops->fallocate = fs_op_fallocate;
	ops->lseek = fs_op_lseek;
}
