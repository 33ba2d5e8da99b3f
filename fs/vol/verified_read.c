/* The verified read (invariant 5): a chunk is returned only after its bytes
 * matched the checksum the index holds for them; a mismatch is EIO for that
 * range and a log line naming the file's path, inode, disk, track and chunk. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/log.h"
#include "fs/vol/data_int.h"

int vol_chunk_lookup(struct vol *v, uint64_t ino, uint64_t coff, struct idx_extent *ext,
		     uint32_t *idx)
{
	struct idx_txn *txn;
	int rc = idx_txn_begin(v->idx, &txn);

	if (rc < 0)
		return rc;
	rc = idx_extent_seek(txn, ino, coff, ext);
	idx_txn_abort(txn);
	if (rc < 0)
		return rc;
	if (ext->off > coff)
		return -ENOENT;
	*idx = (uint32_t)((coff - ext->off) / v->chunk_size);
	return 0;
}

/* The path of the file a bad chunk belongs to, for the log line. Finding it
 * scans the directory table, so the last answer is kept: a reader retrying
 * the same bad chunk does not pay for it again. */
static pthread_mutex_t bad_path_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct vol *bad_path_vol;
static uint64_t bad_path_ino;
static char bad_path[PATH_MAX];

static void bad_chunk_path(struct vol *v, uint64_t ino, char *buf, size_t size)
{
	pthread_mutex_lock(&bad_path_lock);
	if (bad_path_vol != v || bad_path_ino != ino) {
		if (vol_ino_path(v, ino, bad_path, sizeof(bad_path)) < 0)
			snprintf(bad_path, sizeof(bad_path), "(a file with no name left)");
		bad_path_vol = v;
		bad_path_ino = ino;
	}
	snprintf(buf, size, "%s", bad_path);
	pthread_mutex_unlock(&bad_path_lock);
}

void vol_log_bad_chunk(struct vol *v, uint64_t ino, const struct idx_extent *ext, uint32_t idx)
{
	char path[PATH_MAX];

	if (ext->disk < VOL_MAX_DISKS)
		atomic_fetch_add(&v->ctr.csum_bad[ext->disk], 1);
	bad_chunk_path(v, ino, path, sizeof(path));
	tfs_err("read of %s (inode %" PRIu64 ") at offset %" PRIu64 ": chunk checksum mismatch on "
		"disk %s track %" PRIu32 " chunk %" PRIu32 "; returning EIO, never the bad bytes; "
		"run fsck.trackfs --scrub, and restore the file from a backup",
		path, ino, ext->off + (uint64_t)idx * v->chunk_size,
		trk_pool_disk_path(v->pool, ext->disk), ext->track, ext->chunk + idx);
}

int vol_chunk_read_verified(struct vol *v, uint64_t ino, const struct idx_extent *ext, uint32_t idx,
			    void *buf)
{
	struct trk_run r = vol_ext_run(ext, idx, 1);
	int rc = trk_io_read(v->pool, &r, 0, buf, v->chunk_size);

	if (rc < 0)
		return rc;
	if (trk_checksum(buf, v->chunk_size) != ext->sums[idx]) {
		vol_log_bad_chunk(v, ino, ext, idx);
		return -EIO;
	}
	return 0;
}
