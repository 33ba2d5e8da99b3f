/* Claiming host-filesystem space for a track before any chunk in it can be
 * handed out: fallocate (mode 0, so the file's size marks what is claimed)
 * when a track grows past its claimed mark, writing zeros where the host
 * filesystem has no fallocate, and, at open, backing what an older trackfs
 * left sparse. With every chunk below the high-water mark backed by blocks,
 * neither a data write nor a free-list record (a rebuild's included) needs
 * space that the host filesystem might not have. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/fileio.h"
#include "core/base/log.h"
#include "core/pool_int.h"

static const uint8_t zeros[64 << 10];

/* The chunks of @p t that a file of @p size bytes covers. */
static uint32_t size_chunks(const struct trk_pool *pool, const struct trk_track *t, off_t size)
{
	if (size <= (off_t)TRK_HDR_SIZE)
		return 0;
	uint64_t n = ((uint64_t)size - TRK_HDR_SIZE) / pool->cfg.chunk_size;
	return n < t->chunk_count ? (uint32_t)n : t->chunk_count;
}

static int do_fallocate(int fd, off_t off, off_t len)
{
	int r;

	do {
		r = trk_sys.fallocate ? trk_sys.fallocate(fd, 0, off, len)
				      : fallocate(fd, 0, off, len);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

/* Where fallocate is missing: write zeros over [off, off + len) and make them
 * durable, since only blocks on the device are a claim (a filesystem that
 * allocates at writeback would otherwise fail later, which is what claiming
 * is for). Costs a write of the space claimed; only never-used chunks are
 * written, which nothing else touches. On failure the file gets its old
 * size @p old_size back, so no unbacked chunk looks claimed. */
static int write_zeros(int fd, off_t off, off_t len, off_t old_size)
{
	int rc = 0;

	for (off_t done = 0; done < len && rc == 0;) {
		size_t n = len - done < (off_t)sizeof(zeros) ? (size_t)(len - done) : sizeof(zeros);
		rc = tfs_pwrite_full(fd, zeros, n, off + done);
		done += (off_t)n;
	}
	if (rc == 0 && fdatasync(fd) < 0)
		rc = -errno;
	if (rc < 0 && ftruncate(fd, old_size) < 0)
		tfs_warn("cannot cut a track back to %lld bytes after a failed claim: %s",
			 (long long)old_size, tfs_strerror(-errno));
	return rc;
}

/* The system calls of one claim of chunks [from, upto), without mu. Zeros
 * are written only from @p zfrom on (the high-water mark of a track an older
 * trackfs left sparse: below it, chunks may hold data). @p use_zeros: claim
 * by writing zeros (in); set when fallocate turns out to be missing (out). */
static int claim_range(struct trk_pool *pool, struct trk_track *t, uint32_t from, uint32_t zfrom,
		       uint32_t upto, bool *use_zeros)
{
	uint32_t cs = pool->cfg.chunk_size;
	struct stat st;
	int rc;

	if (!*use_zeros) {
		rc = do_fallocate(t->fd, (off_t)trk_chunk_off(pool, from),
				  (off_t)(upto - from) * cs);
		if (rc != -EOPNOTSUPP)
			return rc;
		*use_zeros = true;
		tfs_info("disk %s: its host filesystem has no fallocate; space for tracks is "
			 "claimed by writing zeros",
			 t->disk->path);
	}
	if (zfrom >= upto)
		return 0;
	if (fstat(t->fd, &st) < 0)
		return -errno;
	off_t off = (off_t)trk_chunk_off(pool, zfrom);
	return write_zeros(t->fd, off, (off_t)trk_chunk_off(pool, upto) - off, st.st_size);
}

int trk_track_claim(struct trk_pool *pool, struct trk_track *t, uint32_t upto)
{
	struct trk_hostfs *fs = t->disk->fs;
	uint32_t cs = pool->cfg.chunk_size;
	uint32_t from = t->claimed, got = from;
	uint32_t zfrom = t->hwm > from ? t->hwm : from;
	bool use_zeros = fs->no_fallocate;
	int rc = 0;

	if (upto > t->chunk_count)
		upto = t->chunk_count;
	if (upto <= from)
		return 0;
	t->claiming = true;
	pthread_mutex_unlock(&pool->mu);
	for (uint32_t want = upto;;) {
		struct stat st;

		rc = claim_range(pool, t, from, zfrom, want, &use_zeros);
		if (rc == 0) {
			got = want;
			break;
		}
		/* Part of it may be claimed all the same: ext4 raises the size as
		 * it allocates. Take that. */
		if (fstat(t->fd, &st) == 0 && size_chunks(pool, t, st.st_size) > from) {
			got = size_chunks(pool, t, st.st_size);
			if (got > want)
				got = want;
			rc = 0;
			break;
		}
		/* A smaller claim may still fit where the step did not. */
		if (rc != -ENOSPC || want - from <= 1)
			break;
		want = from + (want - from) / 2;
	}
	/* The device failing under a claim is an I/O error like any other
	 * (pool.c): the disk gets no new data until the next mount. */
	if (rc == -EIO)
		trk_disk_note_error(t->disk, rc);
	pthread_mutex_lock(&pool->mu);
	t->claiming = false;
	if (got > t->claimed) {
		fs->claimed += (uint64_t)(got - t->claimed) * cs;
		t->claimed = got;
	}
	fs->no_fallocate |= use_zeros;
	if (rc < 0) {
		/* Full by the host filesystem's own word: say so until the next
		 * statvfs, so that allocations go elsewhere without trying again. */
		if (!fs->full)
			tfs_warn("disk %s: cannot claim space for track %s on its host filesystem "
				 "(%s); new data goes to other disks",
				 t->disk->path, t->path, tfs_strerror(rc));
		fs->full = true;
		fs->fs_free = fs->claimed;
		if (!fs->override)
			fs->fs_stamp_ms = trk_now_ms();
	} else {
		fs->full = false;
	}
	pthread_cond_broadcast(&pool->cv);
	return rc;
}

void trk_track_claim_init(struct trk_pool *pool, struct trk_track *t)
{
	struct stat st;
	int rc;

	if (fstat(t->fd, &st) < 0) {
		rc = -errno;
		tfs_warn("track %s: cannot stat it: %s; its space is claimed again as it grows",
			 t->path, tfs_strerror(rc));
		t->claimed = 0;
		return;
	}
	t->claimed = size_chunks(pool, t, st.st_size);
	if (pool->cfg.readonly)
		return;
	uint32_t top = t->hwm > t->claimed ? t->hwm : t->claimed;
	uint64_t end = trk_chunk_off(pool, top);
	if (t->claimed >= t->hwm && (uint64_t)st.st_blocks * 512 >= end)
		return;
	/* An older trackfs grew tracks sparsely: chunks below the high-water
	 * mark may have no blocks. fallocate fills the holes and leaves data
	 * alone; where it is missing nothing is written blindly over data. */
	rc = do_fallocate(t->fd, 0, (off_t)end);
	if (rc == 0) {
		t->claimed = top;
		return;
	}
	if (rc == -EOPNOTSUPP)
		return;
	if (fstat(t->fd, &st) == 0)
		t->claimed = size_chunks(pool, t, st.st_size);
	t->sparse = true;
	uint64_t have = (uint64_t)st.st_blocks * 512;
	tfs_warn(
		"track %s: an older trackfs left it sparse and its host filesystem cannot back it "
		"now (%s); nothing new goes into it until %llu KiB at most are freed there and the "
		"volume is mounted again",
		t->path, tfs_strerror(rc),
		(unsigned long long)((end > have ? end - have : 0) + 1023) >> 10);
}

uint32_t trk_track_next_written(struct trk_pool *pool, struct trk_track *t, uint32_t from,
				uint32_t to)
{
	uint32_t cs = pool->cfg.chunk_size;

	while (from < to) {
		off_t want = (off_t)trk_chunk_off(pool, from);
		off_t data = lseek(t->fd, want, SEEK_DATA);
		if (data < 0)
			return to; /* no data after it (ENXIO), or no way to tell */
		if (data == want)
			return from;
		/* The first chunk that starts at or after that data. */
		uint64_t next = ((uint64_t)data - TRK_HDR_SIZE + cs - 1) / cs;
		from = next > from ? (next < to ? (uint32_t)next : to) : from + 1;
	}
	return to;
}
