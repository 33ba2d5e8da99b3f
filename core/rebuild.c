/* Rebuilding the allocator from the index (after an unclean shutdown or a
 * distrusted free list) and checking the on-disk free lists against the
 * index (fsck): bitmaps and state arrays per track, built from marked runs. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/log.h"
#include "core/pool_int.h"

int trk_pool_rebuild_begin(struct trk_pool *pool)
{
	pthread_mutex_lock(&pool->mu);
	pool->rebuilding = true;
	/* Deferred frees describe the index being replaced; forget them. */
	pool->ndeferred = 0;
	pool->deferred_chunks = 0;
	for (unsigned di = 0; di < pool->ndisks; di++) {
		struct trk_disk *d = &pool->disks[di];
		uint32_t nt = atomic_load(&d->ntracks);
		for (uint32_t i = 0; i < nt; i++) {
			struct trk_track *t = trk_disk_track(d, i);
			if (t->failed)
				continue;
			trk_fifo_clear(&t->fifo);
			free(t->mark);
			t->mark = NULL;
			t->hdr_dirty = true;
		}
	}
	pthread_mutex_unlock(&pool->mu);
	return 0;
}

int trk_pool_rebuild_mark(struct trk_pool *pool, const struct trk_run *run)
{
	int rc = 0;

	if (run->disk >= pool->ndisks)
		return -ENODEV;
	struct trk_disk *d = &pool->disks[run->disk];
	if (d->missing)
		return 0; /* nothing on it can be reused anyway */
	if (!run->count || run->track >= TRK_MAX_TRACKS ||
	    (uint64_t)run->chunk + run->count > UINT32_MAX)
		return -ERANGE;

	pthread_mutex_lock(&pool->mu);
	if (run->track >= atomic_load(&d->ntracks)) {
		/* Do not create tracks for a run no new track could hold. */
		if ((uint64_t)run->chunk + run->count > pool->track_chunks) {
			rc = -ERANGE;
			goto out_unlock;
		}
		rc = trk_disk_grow(pool, d, run->track);
		if (rc < 0)
			goto out_unlock;
	}
	struct trk_track *t = trk_disk_track(d, run->track);
	if (t->failed)
		goto out_unlock;
	if ((uint64_t)run->chunk + run->count > t->chunk_count) {
		rc = -ERANGE;
		goto out_unlock;
	}
	if (!t->mark) {
		t->mark = calloc(((size_t)t->chunk_count + 7) / 8, 1);
		if (!t->mark) {
			rc = -ENOMEM;
			goto out_unlock;
		}
	}
	for (uint32_t i = run->chunk; i < run->chunk + run->count; i++) {
		if (trk_bit_get(t->mark, i))
			rc = -EEXIST;
		trk_bit_set(t->mark, i);
	}
	if (run->chunk + run->count > t->hwm) {
		t->hwm = run->chunk + run->count;
		t->hdr_dirty = true;
	}
out_unlock:
	pthread_mutex_unlock(&pool->mu);
	return rc;
}

/* One past the highest marked chunk of @p t below its hwm (0: none). */
static uint32_t mark_top(const struct trk_track *t)
{
	if (!t->mark)
		return 0;
	for (uint32_t c = t->hwm; c > 0; c--)
		if (trk_bit_get(t->mark, c - 1))
			return c;
	return 0;
}

/*
 * The free runs of @p t after a rebuild: every unmarked chunk below the hwm.
 * Their records are written into the runs themselves, so a run must lie in
 * claimed space (claim.c): recovery on a full disk must never need space it
 * has not claimed before. A hwm above the claimed mark (a track an older
 * trackfs left sparse, or one whose file is shorter than its references)
 * comes down to the last referenced chunk, or to the claimed mark; space up
 * to that chunk is claimed if the host filesystem has it, and unreferenced
 * chunks left past the claimed mark stay off the list (logged). On a sparse
 * track (claim.c) a run starts only where its record lands on written
 * blocks. Caller holds mu (dropped while claiming).
 */
static int rebuild_track(struct trk_pool *pool, struct trk_track *t)
{
	uint32_t top = mark_top(t), lost = 0, c = 0;
	int rc = 0;

	if (t->hwm > t->claimed) {
		t->hwm = top > t->claimed ? top : t->claimed;
		if (top > t->claimed)
			(void)trk_track_claim(pool, t, top); /* logged; what it gets is used */
	}
	trk_fifo_clear(&t->fifo);
	while (c < t->hwm && rc == 0) {
		if (t->mark && trk_bit_get(t->mark, c)) {
			c++;
			continue;
		}
		uint32_t start = c;
		while (c < t->hwm && !(t->mark && trk_bit_get(t->mark, c)))
			c++;
		uint32_t end = c < t->claimed ? c : t->claimed, keep = start;
		if (t->sparse && start < end)
			keep = trk_track_next_written(pool, t, start, end);
		if (end > keep)
			rc = trk_fifo_push(&t->fifo, keep, end - keep);
		lost += (c - start) - (end > keep ? end - keep : 0);
	}
	if (lost)
		tfs_warn("track %s: %u free chunks lie where the host filesystem gave no space "
			 "(past the end of the file, or on holes an older trackfs left); they stay "
			 "unused until a rebuild with space (fsck.trackfs --repair) and are "
			 "counted as leaked meanwhile",
			 t->path, lost);
	trk_fifo_dirty_all(&t->fifo);
	t->hdr_dirty = true;
	free(t->mark);
	t->mark = NULL;
	return rc;
}

int trk_pool_rebuild_end(struct trk_pool *pool)
{
	int rc = 0;

	pthread_mutex_lock(&pool->mu);
	for (unsigned di = 0; di < pool->ndisks && rc == 0; di++) {
		struct trk_disk *d = &pool->disks[di];
		uint32_t nt = atomic_load(&d->ntracks);
		for (uint32_t i = 0; i < nt && rc == 0; i++) {
			struct trk_track *t = trk_disk_track(d, i);
			if (!t->failed)
				rc = rebuild_track(pool, t);
		}
	}
	pool->rebuilding = false;
	if (rc == 0)
		pool->needs_rebuild = false;
	pthread_mutex_unlock(&pool->mu);
	if (rc < 0) {
		tfs_err("rebuild free lists: %s", tfs_strerror(rc));
		return rc;
	}
	return trk_pool_sync(pool);
}

/* ---- check ---- */

static void problem(struct trk_pool *pool, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(struct trk_pool *pool, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (pool->check_cb)
		pool->check_cb(pool->check_arg, msg);
}

static void report_cb(void *arg, const char *msg)
{
	struct trk_pool *pool = arg;

	if (pool->check_cb)
		pool->check_cb(pool->check_arg, msg);
}

static void free_states(struct trk_pool *pool)
{
	for (unsigned di = 0; di < pool->ndisks; di++) {
		struct trk_disk *d = &pool->disks[di];
		uint32_t nt = atomic_load(&d->ntracks);
		for (uint32_t i = 0; i < nt; i++) {
			struct trk_track *t = trk_disk_track(d, i);
			free(t->state);
			t->state = NULL;
		}
	}
}

/* The check runs on a quiescent pool (fsck): it reads tracks without mu. */
int trk_pool_check_begin(struct trk_pool *pool, trk_problem_cb cb, void *arg)
{
	int problems = 0;

	free_states(pool);
	pool->check_cb = cb;
	pool->check_arg = arg;
	pool->checking = true;
	for (unsigned di = 0; di < pool->ndisks; di++) {
		struct trk_disk *d = &pool->disks[di];
		if (d->missing)
			continue; /* the caller sees trk_pool_disk_missing() */
		uint32_t nt = atomic_load(&d->ntracks);
		for (uint32_t i = 0; i < nt; i++) {
			struct trk_track *t = trk_disk_track(d, i);
			struct trk_hdr h;
			char why[256];

			if (t->failed) {
				problem(pool, "track %s is unusable (see the log): not checked",
					t->path);
				problems++;
				continue;
			}
			int rc = trk_track_read_hdr(pool, t, &h, why, sizeof(why));
			if (rc == -ENOMEM)
				return rc;
			if (rc < 0) {
				problem(pool, "track %s: %s", t->path, why);
				problems++;
				continue;
			}
			t->state = calloc(h.chunk_count, 1);
			if (!t->state)
				return -ENOMEM;
			rc = trk_freelist_walk(pool, t, &h, NULL, t->state, report_cb, pool);
			if (rc < 0)
				return rc;
			problems += rc;
		}
	}
	return problems;
}

/* A referenced run must hold written bytes: a hole in the track file there
 * (SEEK_HOLE; claimed but never written space is a hole too) is a write that
 * never reached the disk. Filesystems without SEEK_HOLE report none. */
static int check_written(struct trk_pool *pool, struct trk_track *t, const struct trk_run *run)
{
	off_t a = (off_t)trk_chunk_off(pool, run->chunk);
	off_t b = (off_t)trk_chunk_off(pool, run->chunk + run->count);
	off_t hole = lseek(t->fd, a, SEEK_HOLE);

	if (hole < 0 || hole >= b)
		return 0;
	uint32_t first = run->chunk + (uint32_t)((hole - a) / pool->cfg.chunk_size);
	problem(pool,
		"track %s: referenced chunks %u..%u were never written (a hole in the file from "
		"chunk %u on)",
		t->path, run->chunk, run->chunk + run->count - 1, first);
	return -ENODATA;
}

int trk_pool_check_ref(struct trk_pool *pool, const struct trk_run *run)
{
	if (run->disk >= pool->ndisks) {
		problem(pool, "a run names disk %u but the volume has %u disks", run->disk,
			pool->ndisks);
		return -ENODEV;
	}
	struct trk_disk *d = &pool->disks[run->disk];
	if (d->missing)
		return 0;
	struct trk_track *t = trk_disk_track(d, run->track);
	if (!t) {
		problem(pool, "a run names track %u of disk %s, which does not exist", run->track,
			d->path);
		return -ENODEV;
	}
	if (!t->state) {
		/* Its header was bad at open or at check_begin: the data may still be
		 * there, but nothing about it can be checked. */
		problem(pool, "track %s is unusable (bad or unreadable header)", t->path);
		return -ENODEV;
	}
	pthread_mutex_lock(&pool->mu);
	uint32_t hwm = t->hwm, claimed = t->claimed;
	pthread_mutex_unlock(&pool->mu);
	if (!run->count || (uint64_t)run->chunk + run->count > hwm) {
		problem(pool,
			"track %s: referenced chunks %u..%llu lie above the high-water mark %u",
			t->path, run->chunk, (unsigned long long)run->chunk + run->count - 1, hwm);
		return -ERANGE;
	}
	uint32_t dup = 0, busy = 0;
	for (uint32_t i = run->chunk; i < run->chunk + run->count; i++) {
		if (t->state[i] == TRK_ST_REF)
			dup++;
		else if (t->state[i] == TRK_ST_FREE)
			busy++;
		t->state[i] = TRK_ST_REF;
	}
	if (dup)
		problem(pool, "track %s: %u of chunks %u..%u are referenced twice", t->path, dup,
			run->chunk, run->chunk + run->count - 1);
	if (busy)
		problem(pool, "track %s: %u of chunks %u..%u are referenced but on the free list",
			t->path, busy, run->chunk, run->chunk + run->count - 1);
	if (dup)
		return -EEXIST;
	if (busy)
		return -EBUSY;
	if ((uint64_t)run->chunk + run->count > claimed) {
		/* Past the end of the track file: nothing was ever written there
		 * (a write that an older trackfs lost when its disk filled). */
		problem(pool,
			"track %s: referenced chunks %u..%u lie past the end of the file (it "
			"holds %u chunks): their bytes were never written",
			t->path, run->chunk, run->chunk + run->count - 1, claimed);
		return -ENODATA;
	}
	return check_written(pool, t, run);
}

int trk_pool_check_end(struct trk_pool *pool, uint64_t *leaked_out)
{
	uint64_t leaked = 0;
	int problems = 0;

	for (unsigned di = 0; di < pool->ndisks; di++) {
		struct trk_disk *d = &pool->disks[di];
		uint32_t nt = atomic_load(&d->ntracks);
		for (uint32_t i = 0; i < nt; i++) {
			struct trk_track *t = trk_disk_track(d, i);
			if (!t->state)
				continue;
			pthread_mutex_lock(&pool->mu);
			uint32_t hwm = t->hwm;
			pthread_mutex_unlock(&pool->mu);
			uint32_t c = 0;
			while (c < hwm) {
				if (t->state[c] != TRK_ST_UNKNOWN) {
					c++;
					continue;
				}
				uint32_t start = c;
				while (c < hwm && t->state[c] == TRK_ST_UNKNOWN)
					c++;
				problem(pool,
					"track %s: chunks %u..%u (%u) are neither free nor "
					"referenced "
					"(leaked)",
					t->path, start, c - 1, c - start);
				problems++;
				leaked += c - start;
			}
		}
	}
	free_states(pool);
	pool->checking = false;
	if (leaked_out)
		*leaked_out = leaked;
	return problems;
}
