/* Giving up a disk's data (`trackfs disk remove --force`): every extent on
 * the disk leaves the index, each file that had one keeps its name and size
 * with holes there (reading as zeros) and gets a user.trackfs.lost xattr
 * listing the byte ranges lost, and the disk is marked drained so that
 * vol_disk_remove takes it out. Nothing is silent: each file is reported
 * to the caller by path before its extents go. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/log.h"
#include "fs/vol/vol_int.h"

struct forget {
	struct vol *v;
	unsigned disk;
	int (*cb)(void *arg, const struct vol_disk_file *f);
	void *arg;
	uint64_t files;
};

struct lost_scan {
	uint64_t ino;
	uint16_t disk;
	uint64_t offs[64]; /* extents on the disk, at most 64 per transaction */
	uint32_t lens[64]; /* their chunk counts */
	unsigned n;
	bool more; /* stopped at 64: run again */
};

static int lost_scan_cb(void *arg, uint64_t ino, const struct idx_extent *e)
{
	struct lost_scan *s = arg;

	if (ino != s->ino)
		return 1;
	if (e->disk != s->disk)
		return 0;
	if (s->n == 64) {
		s->more = true;
		return 1;
	}
	s->offs[s->n] = e->off;
	s->lens[s->n++] = e->nchunks;
	return 0;
}

/* Append " A-B" ranges to the file's user.trackfs.lost (kept across runs). */
static int mark_lost(struct idx_txn *txn, struct vol *v, const struct lost_scan *s)
{
	char old[4096], val[4096 + 64 * 48];
	size_t len = 0, olen = 0;
	int rc = idx_xattr_get(txn, s->ino, VOL_LOST_XATTR, old, sizeof(old) - 1, &olen);

	if (rc == -ENODATA || rc == -ERANGE)
		olen = 0;
	else if (rc < 0)
		return rc;
	memcpy(val, old, olen);
	len = olen;
	for (unsigned i = 0; i < s->n; i++) {
		if (len > 3900) {
			/* Kept small enough for any xattr reader; the list printed by
			 * the command is whole. */
			if (!strstr(val, " ..."))
				len += (size_t)snprintf(val + len, sizeof(val) - len, " ...");
			break;
		}
		uint64_t b = s->offs[i] + (uint64_t)s->lens[i] * v->chunk_size;
		len += (size_t)snprintf(val + len, sizeof(val) - len, "%s%" PRIu64 "-%" PRIu64,
					len ? " " : "", s->offs[i], b);
	}
	return idx_xattr_set(txn, s->ino, VOL_LOST_XATTR, val, len, 0);
}

static int forget_file(struct forget *fg, uint64_t ino)
{
	struct vol *v = fg->v;
	struct lost_scan s = {.ino = ino, .disk = (uint16_t)fg->disk};
	struct idx_txn *txn;
	int rc;

	do {
		s.n = 0;
		s.more = false;
		rc = idx_txn_begin(v->idx, &txn);
		if (rc < 0)
			return rc;
		rc = idx_extent_iter_from(txn, ino, 0, lost_scan_cb, &s);
		if (rc > 0)
			rc = 0;
		struct idx_inode in;
		uint64_t chunks = 0;
		for (unsigned i = 0; i < s.n && rc == 0; i++) {
			rc = idx_extent_del(txn, ino, s.offs[i]);
			chunks += s.lens[i];
		}
		if (rc == 0 && s.n)
			rc = mark_lost(txn, v, &s);
		if (rc == 0 && s.n)
			rc = idx_inode_get(txn, ino, &in);
		if (rc == 0 && s.n) {
			struct timespec now;
			clock_gettime(CLOCK_REALTIME, &now);
			in.blocks = in.blocks > chunks ? in.blocks - chunks : 0;
			in.ctime = now;
			if (in.disk == fg->disk)
				in.disk = IDX_NO_DISK; /* new chunks choose a disk again */
			rc = idx_inode_put(txn, &in);
		}
		if (rc < 0) {
			idx_txn_abort(txn);
			return rc;
		}
		rc = idx_txn_commit(txn);
		if (rc < 0)
			return rc;
	} while (s.more);
	return 0;
}

static int forget_cb(void *arg, const struct vol_disk_file *f)
{
	struct forget *fg = arg;
	int rc = fg->cb ? fg->cb(fg->arg, f) : 0;

	if (rc < 0)
		return rc;
	rc = forget_file(fg, f->ino);
	if (rc < 0)
		tfs_err("remove --force disk %u: could not drop the extents of %s (inode %" PRIu64
			"): %s; nothing was removed for it, run the command again",
			fg->disk, *f->path ? f->path : "(no name)", f->ino, tfs_strerror(rc));
	fg->files++;
	return rc;
}

int vol_disk_forget(struct vol *v, unsigned disk,
		    int (*cb)(void *arg, const struct vol_disk_file *f), void *arg)
{
	struct forget fg = {.v = v, .disk = disk, .cb = cb, .arg = arg};
	struct idx_disk_drain rec = {.state = IDX_DRAIN_DRAINED};
	struct idx_txn *txn;
	int rc;

	if (v->rdonly)
		return -EROFS;
	rc = vol_disk_files(v, disk, forget_cb, &fg);
	if (rc < 0)
		return rc;
	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		return rc;
	rc = idx_disk_drain_put(txn, (uint16_t)disk, &rec);
	if (rc < 0) {
		idx_txn_abort(txn);
		return rc;
	}
	rc = idx_txn_commit(txn);
	if (rc == 0)
		rc = vol_sync_all(v);
	if (rc == 0)
		tfs_warn("disk %u (%s): the data of %" PRIu64 " files on it was given up (marked "
			 "in their " VOL_LOST_XATTR " xattr)",
			 disk, trk_pool_disk_path(v->pool, disk), fg.files);
	return rc;
}
