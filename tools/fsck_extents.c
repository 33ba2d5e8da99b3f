/* fsck.trackfs, the data: every extent of the index checked against its
 * inode (exists, regular, no overlap), its track's bounds and the pool's free
 * lists (each chunk free xor referenced exactly once, no leaks), and with
 * --scrub every referenced chunk read back and compared with its checksum. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/log.h"
#include "tools/fsck.h"

#define SCRUB_BATCH (1u << 20) /* bytes read per request while scrubbing */

/* Where the pool's problem messages go: while checking the free lists each
 * message is one problem; while checking a reference the caller classifies
 * the error, so the message is only detail. */
enum pool_phase { PHASE_LISTS, PHASE_REF };

struct scan {
	struct fsck *f;
	enum pool_phase phase;
	uint64_t pool_msgs;
	uint64_t prev_ino, prev_end;
	uint64_t done_chunks;
	uint64_t past_eof;
	uint64_t missing_extents;
	char ref_msg[512]; /* the pool's last message about a reference */
	void *buf;
};

/* Inconsistent allocator state: after an unclean stop, or on a disk that is
 * back after being missing, it is expected (stale lists, the mount rebuilds
 * them); otherwise it is an error that a rebuild corrects. */
static void allocator_problem(struct fsck *f, const char *msg)
{
	if (f->unclean || f->stale_disk) {
		/* One line per extent after a crash would drown the rest. */
		if (!f->quiet && f->pool_problems < 10)
			printf("  stale: %s\n", msg);
		else if (!f->quiet && f->pool_problems == 10)
			printf("  stale: (more not shown)\n");
		f->pool_problems++;
		return;
	}
	/* A track with a bad header is skipped by the rebuild too (its data may
	 * still be recoverable by hand), so that problem is not fixable here. */
	bool fixable = !f->missing_disk && !strstr(msg, "unusable");
	if (fsck_problem(f, fixable, "free lists: %s", msg))
		f->need_rebuild = true;
}

static void pool_cb(void *arg, const char *msg)
{
	struct scan *s = arg;

	s->pool_msgs++;
	if (s->phase == PHASE_LISTS)
		allocator_problem(s->f, msg);
	else
		snprintf(s->ref_msg, sizeof(s->ref_msg), "%s", msg);
}

static int add_xfix(struct fsck *f, uint64_t ino, uint64_t off)
{
	if (fsck_grow((void **)&f->xfixes, &f->cap_xfixes, f->nxfixes + 1, sizeof(*f->xfixes)) < 0)
		return -ENOMEM;
	f->xfixes[f->nxfixes++] = (struct fsck_xfix){.ino = ino, .off = off};
	f->need_rebuild = true;
	return 0;
}

/* Report a bad extent; with --repair it is deleted (its chunks are freed by
 * the rebuild). */
static int bad_extent(struct fsck *f, uint64_t ino, const struct idx_extent *e, const char *why)
{
	char path[PATH_MAX];

	fsck_path(f, ino, path, sizeof(path));
	if (fsck_problem(f, true,
			 "file %s (inode %llu) offset %llu: extent of %u chunks at disk %u "
			 "track %u chunk %u %s",
			 path, (unsigned long long)ino, (unsigned long long)e->off, e->nchunks,
			 e->disk, e->track, e->chunk, why))
		return add_xfix(f, ino, e->off);
	return 0;
}

static void scrub_extent(struct scan *s, uint64_t ino, const struct idx_extent *e)
{
	struct fsck *f = s->f;
	uint32_t cs = f->chunk_size;
	uint32_t per = SCRUB_BATCH / cs ? SCRUB_BATCH / cs : 1;
	char path[PATH_MAX];

	for (uint32_t i = 0; i < e->nchunks; i += per) {
		uint32_t n = e->nchunks - i < per ? e->nchunks - i : per;
		struct trk_run run = {
			.disk = e->disk, .track = e->track, .chunk = e->chunk + i, .count = n};
		int rc = trk_io_read(f->pool, &run, 0, s->buf, (size_t)n * cs);

		if (rc < 0) {
			fsck_path(f, ino, path, sizeof(path));
			fsck_problem(f, false,
				     "file %s (inode %llu) offset %llu: cannot read disk %s "
				     "track %u chunks %u-%u: %s",
				     path, (unsigned long long)ino,
				     (unsigned long long)(e->off + (uint64_t)i * cs),
				     f->vf.disks[e->disk].path, e->track, e->chunk + i,
				     e->chunk + i + n - 1, tfs_strerror(rc));
			f->bad_chunks += n;
			continue;
		}
		for (uint32_t j = 0; j < n; j++) {
			uint64_t sum = trk_checksum((char *)s->buf + (size_t)j * cs, cs);
			if (sum == e->sums[i + j])
				continue;
			f->bad_chunks++;
			fsck_path(f, ino, path, sizeof(path));
			fsck_problem(f, false,
				     "file %s (inode %llu) offset %llu: checksum mismatch on "
				     "disk %s track %u chunk %u",
				     path, (unsigned long long)ino,
				     (unsigned long long)(e->off + (uint64_t)(i + j) * cs),
				     f->vf.disks[e->disk].path, e->track, e->chunk + i + j);
		}
	}
}

static int extent_cb(void *arg, uint64_t ino, const struct idx_extent *e)
{
	struct scan *s = arg;
	struct fsck *f = s->f;
	struct fsck_inode *n = fsck_inode_find(f, ino);
	uint32_t cs = f->chunk_size;
	int rc;

	f->nextents++;
	s->done_chunks += e->nchunks;
	tfs_progress_update(&f->progress, s->done_chunks < f->progress.total ? s->done_chunks
									     : f->progress.total);
	if (!n)
		return bad_extent(f, ino, e, "belongs to an inode that does not exist");
	if (!S_ISREG(n->mode))
		return bad_extent(f, ino, e, "belongs to an inode that is not a regular file");
	if (e->off % cs || e->nchunks == 0 || e->nchunks > IDX_EXTENT_MAX_CHUNKS)
		return bad_extent(f, ino, e, "is malformed (unaligned offset or bad length)");
	if (s->prev_ino == ino && e->off < s->prev_end)
		return bad_extent(f, ino, e, "overlaps the extent before it");
	if (e->disk >= f->vf.ndisks || (uint64_t)e->chunk + e->nchunks > f->chunks_per_track)
		return bad_extent(f, ino, e, "lies outside any track the volume can hold");
	s->prev_ino = ino;
	s->prev_end = e->off + (uint64_t)e->nchunks * cs;
	n->ext_chunks += e->nchunks;

	/* fallocate(KEEP_SIZE) leaves chunks past the end of file on purpose:
	 * they are counted, not reported as errors. */
	if (e->off >= (n->size + cs - 1) / cs * cs)
		s->past_eof += e->nchunks;

	if (trk_pool_disk_missing(f->pool, e->disk)) {
		s->missing_extents++;
		return 0;
	}
	struct trk_run run = {
		.disk = e->disk, .track = e->track, .chunk = e->chunk, .count = e->nchunks};
	char path[PATH_MAX];
	s->phase = PHASE_REF;
	s->ref_msg[0] = '\0';
	rc = trk_pool_check_ref(f->pool, &run);
	switch (rc) {
	case 0:
		break;
	case -EEXIST:
		/* Two extents share chunks: keep the first, drop this one. */
		rc = bad_extent(f, ino, e, "uses chunks another extent already uses");
		n->ext_chunks -= e->nchunks;
		return rc;
	case -EBUSY:
		fsck_path(f, ino, path, sizeof(path));
		snprintf(s->buf, SCRUB_BATCH,
			 "file %s (inode %llu) offset %llu: chunks %u-%u of disk %u track %u are "
			 "in use but also on a free list",
			 path, (unsigned long long)ino, (unsigned long long)e->off, e->chunk,
			 e->chunk + e->nchunks - 1, e->disk, e->track);
		allocator_problem(f, s->buf);
		break;
	case -ERANGE:
		fsck_path(f, ino, path, sizeof(path));
		snprintf(s->buf, SCRUB_BATCH,
			 "file %s (inode %llu) offset %llu: chunks %u-%u of disk %u track %u lie "
			 "above the track's high-water mark",
			 path, (unsigned long long)ino, (unsigned long long)e->off, e->chunk,
			 e->chunk + e->nchunks - 1, e->disk, e->track);
		allocator_problem(f, s->buf);
		break;
	case -ENODATA:
		/* The extent is right, its bytes are not there: the file is
		 * damaged there (reads fail their checksum), not the index. */
		fsck_path(f, ino, path, sizeof(path));
		fsck_problem(f, false,
			     "file %s (inode %llu) offset %llu: %s; restore the file from a copy",
			     path, (unsigned long long)ino, (unsigned long long)e->off, s->ref_msg);
		return 0;
	case -ENODEV:
		/* The track is missing or its header is bad: the data may still be
		 * there, so the extent is kept and the error left for a person. */
		fsck_path(f, ino, path, sizeof(path));
		fsck_problem(f, false,
			     "file %s (inode %llu) offset %llu: track %u on disk %s is "
			     "missing or unreadable: %s",
			     path, (unsigned long long)ino, (unsigned long long)e->off, e->track,
			     f->vf.disks[e->disk].path, s->ref_msg);
		return 0;
	default:
		return rc;
	}
	if (f->scrub)
		scrub_extent(s, ino, e);
	return 0;
}

int fsck_extents_scan(struct fsck *f, struct idx_txn *txn)
{
	struct scan s = {.f = f, .phase = PHASE_LISTS, .prev_ino = 0};
	uint64_t leaked = 0;
	int rc;

	s.buf = malloc(SCRUB_BATCH > f->chunk_size ? SCRUB_BATCH : f->chunk_size);
	if (!s.buf)
		return -ENOMEM;
	rc = trk_pool_check_begin(f->pool, pool_cb, &s);
	if (rc < 0) {
		tfs_err("fsck: checking the free lists failed: %s", tfs_strerror(rc));
		goto out_free;
	}
	tfs_progress_init(&f->progress, f->scrub ? "scrub" : "extents", f->total_chunks);
	rc = idx_extent_iter_all(txn, extent_cb, &s);
	tfs_progress_fini(&f->progress);
	if (rc < 0)
		goto out_free;

	s.phase = PHASE_LISTS;
	s.pool_msgs = 0;
	rc = trk_pool_check_end(f->pool, &leaked);
	if (rc < 0) {
		tfs_err("fsck: checking for leaked chunks failed: %s", tfs_strerror(rc));
		goto out_free;
	}
	if (leaked && !s.pool_msgs) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%llu chunks are neither free nor used (leaked)",
			 (unsigned long long)leaked);
		allocator_problem(f, msg);
	}
	if (s.past_eof)
		fsck_note(f, "%llu chunks lie past the end of their files (preallocated)",
			  (unsigned long long)s.past_eof);
	if (s.missing_extents)
		fsck_note(f, "%llu extents on missing disks were not checked",
			  (unsigned long long)s.missing_extents);
	rc = 0;
out_free:
	free(s.buf);
	return rc;
}
