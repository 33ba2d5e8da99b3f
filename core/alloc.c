/* The chunk allocator: choosing a disk (the hint, else the one with the most
 * free space), taking a run from the head of a track's FIFO or from above a
 * high-water mark, growing a disk by a track, and giving runs back
 * (unalloc at once; deferred frees only after the index is durable). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "core/pool_int.h"

/* Chunks a disk can still hand out: its free lists plus what the host
 * filesystem can hold above high-water marks. Caller holds mu. */
static uint64_t disk_free(struct trk_pool *pool, struct trk_disk *d)
{
	uint32_t nt = atomic_load(&d->ntracks);
	uint64_t n = 0;

	if (d->missing)
		return 0;
	for (uint32_t i = 0; i < nt; i++) {
		struct trk_track *t = trk_disk_track(d, i);
		if (!t->failed)
			n += t->fifo.nfree;
	}
	return n + trk_disk_fs_chunks(pool, d);
}

/* The present disk with the most free space, skipping those in @p full (a
 * bit per disk); NULL if none has room. A failing disk only when no healthy
 * one has room. Caller holds mu. */
static struct trk_disk *most_free(struct trk_pool *pool, uint64_t full, bool *any_present)
{
	struct trk_disk *d = NULL, *dfail = NULL;
	uint64_t best = 0, best_fail = 0;

	*any_present = false;
	for (unsigned i = 0; i < pool->ndisks; i++) {
		if (pool->disks[i].missing)
			continue;
		*any_present = true;
		if (full & (1ull << i))
			continue;
		uint64_t f = disk_free(pool, &pool->disks[i]);
		bool failing = atomic_load(&pool->disks[i].failing);
		if (!failing && f > best) {
			best = f;
			d = &pool->disks[i];
		} else if (failing && f > best_fail) {
			best_fail = f;
			dfail = &pool->disks[i];
		}
	}
	return d ? d : dfail;
}

int trk_pool_pick_disk(struct trk_pool *pool)
{
	struct trk_disk *d;
	bool any_present;

	for (unsigned i = 0; i < pool->ndisks; i++)
		trk_disk_refresh_fs(pool, &pool->disks[i]);
	pthread_mutex_lock(&pool->mu);
	d = most_free(pool, 0, &any_present);
	pthread_mutex_unlock(&pool->mu);
	if (!d)
		return any_present ? -ENOSPC : -EIO;
	return (int)d->index;
}

/*
 * Try to allocate on @p d. Caller holds mu (it may be dropped and retaken).
 * @return 0; -EAGAIN to choose again (the pool changed while mu was dropped);
 * -ENOSPC if the disk is full; another -errno.
 */
static int try_disk(struct trk_pool *pool, struct trk_disk *d, uint32_t want, struct trk_run *out)
{
	uint32_t nt = atomic_load(&d->ntracks);
	uint32_t chunk, n;
	int rc;

	/* Reuse first, oldest free run first, lowest track first. */
	for (uint32_t i = 0; i < nt; i++) {
		struct trk_track *t = trk_disk_track(d, i);
		if (t->failed || !t->fifo.len)
			continue;
		if (t->syncing) {
			/* Its free chunks are being written with records right now. */
			pthread_cond_wait(&pool->cv, &pool->mu);
			return -EAGAIN;
		}
		n = trk_fifo_take(&t->fifo, want, &chunk);
		t->hdr_dirty = true;
		*out = (struct trk_run){(uint16_t)d->index, t->number, chunk, n};
		return 0;
	}
	/* Then never-used chunks: they need room on the host filesystem. */
	uint64_t room = trk_disk_fs_chunks(pool, d);
	if (!room)
		return -ENOSPC;
	for (uint32_t i = 0; i < nt; i++) {
		struct trk_track *t = trk_disk_track(d, i);
		if (t->failed || t->hwm >= t->chunk_count)
			continue;
		n = t->chunk_count - t->hwm;
		if (n > want)
			n = want;
		if (n > room)
			n = (uint32_t)room;
		*out = (struct trk_run){(uint16_t)d->index, t->number, t->hwm, n};
		t->hwm += n;
		t->hdr_dirty = true;
		d->fs_reserved += (uint64_t)n * pool->cfg.chunk_size;
		return 0;
	}
	rc = trk_disk_grow(pool, d, nt);
	if (rc < 0) {
		tfs_warn("disk %s: cannot add track %u (%s); sending new data to other disks",
			 d->path, nt, tfs_strerror(rc));
		return -ENOSPC;
	}
	return -EAGAIN;
}

int trk_pool_alloc(struct trk_pool *pool, int disk_hint, uint32_t want, struct trk_run *out)
{
	uint64_t full = 0; /* bit per disk found full during this call */
	int rc;

	if (!want)
		return -EINVAL;
	if (pool->cfg.readonly)
		return -EROFS;
	if (want > pool->track_chunks)
		want = pool->track_chunks;
	for (unsigned i = 0; i < pool->ndisks; i++)
		trk_disk_refresh_fs(pool, &pool->disks[i]);

	pthread_mutex_lock(&pool->mu);
	for (;;) {
		struct trk_disk *d = NULL;
		bool any_present = false;

		if (disk_hint >= 0 && (unsigned)disk_hint < pool->ndisks &&
		    !(full & (1ull << disk_hint)) &&
		    !atomic_load(&pool->disks[disk_hint].failing) &&
		    disk_free(pool, &pool->disks[disk_hint]) > 0)
			d = &pool->disks[disk_hint];
		else
			d = most_free(pool, full, &any_present);
		if (!d) {
			rc = any_present ? -ENOSPC : -EIO;
			if (rc == -EIO)
				tfs_err("allocate: every disk of the volume is missing");
			break;
		}
		rc = try_disk(pool, d, want, out);
		if (rc == -EAGAIN)
			continue;
		if (rc == -ENOSPC) {
			full |= 1ull << d->index;
			continue;
		}
		break;
	}
	pthread_mutex_unlock(&pool->mu);
	return rc;
}

/* The track a run given back belongs to, or NULL (logged). Caller holds mu. */
static struct trk_track *run_track(struct trk_pool *pool, const struct trk_run *run, const char *op)
{
	if (run->disk >= pool->ndisks || pool->disks[run->disk].missing) {
		tfs_warn("%s: run on disk %u ignored (no such disk, or it is missing)", op,
			 run->disk);
		return NULL;
	}
	struct trk_track *t = trk_disk_track(&pool->disks[run->disk], run->track);
	if (!t || t->failed || !run->count || (uint64_t)run->chunk + run->count > t->hwm) {
		tfs_warn("%s: run %u:%u:%u+%u is outside any usable track; ignored", op, run->disk,
			 run->track, run->chunk, run->count);
		return NULL;
	}
	return t;
}

/* Caller holds mu. */
static int give_back(struct trk_pool *pool, const struct trk_run *run, const char *op)
{
	struct trk_track *t = run_track(pool, run, op);
	if (!t)
		return 0;
	int rc = trk_fifo_push(&t->fifo, run->chunk, run->count);
	if (rc < 0)
		return rc;
	t->hdr_dirty = true;
	return 0;
}

void trk_pool_unalloc(struct trk_pool *pool, const struct trk_run *run)
{
	pthread_mutex_lock(&pool->mu);
	int rc = give_back(pool, run, "unalloc");
	pthread_mutex_unlock(&pool->mu);
	if (rc < 0)
		tfs_err("unalloc: out of memory; %u chunks of track %u on disk %u leak until the "
			"next fsck.trackfs",
			run->count, run->track, run->disk);
}

int trk_pool_free_deferred(struct trk_pool *pool, const struct trk_run *run)
{
	int rc = 0;

	pthread_mutex_lock(&pool->mu);
	if (pool->ndeferred == pool->cap_deferred) {
		size_t ncap = pool->cap_deferred ? pool->cap_deferred * 2 : 64;
		struct trk_run *nd = realloc(pool->deferred, ncap * sizeof(*nd));
		if (!nd) {
			rc = -ENOMEM;
			goto out_unlock;
		}
		pool->deferred = nd;
		pool->cap_deferred = ncap;
	}
	pool->deferred[pool->ndeferred++] = *run;
	pool->deferred_chunks += run->count;
out_unlock:
	pthread_mutex_unlock(&pool->mu);
	return rc;
}

uint64_t trk_pool_deferred_count(struct trk_pool *pool)
{
	pthread_mutex_lock(&pool->mu);
	uint64_t n = pool->deferred_chunks;
	pthread_mutex_unlock(&pool->mu);
	return n;
}

int trk_pool_release_deferred(struct trk_pool *pool)
{
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&pool->mu);
	for (i = 0; i < pool->ndeferred; i++) {
		rc = give_back(pool, &pool->deferred[i], "release deferred free");
		if (rc < 0)
			break;
		pool->deferred_chunks -= pool->deferred[i].count;
	}
	/* Keep whatever could not be released, in order, for the next call. */
	if (i)
		memmove(pool->deferred, pool->deferred + i,
			(pool->ndeferred - i) * sizeof(*pool->deferred));
	pool->ndeferred -= i;
	pthread_mutex_unlock(&pool->mu);
	if (rc < 0)
		tfs_err("release deferred frees: %s; %zu runs stay deferred", tfs_strerror(rc),
			pool->ndeferred);
	return rc;
}

int trk_pool_undefer(struct trk_pool *pool, const struct trk_run *run)
{
	int rc = -ENOENT;

	pthread_mutex_lock(&pool->mu);
	/* The newest first: a run undone is one deferred a moment ago. */
	for (size_t i = pool->ndeferred; i-- > 0;) {
		struct trk_run *e = &pool->deferred[i];
		if (e->disk != run->disk || e->track != run->track || run->chunk < e->chunk ||
		    (uint64_t)run->chunk + run->count > (uint64_t)e->chunk + e->count)
			continue;
		uint32_t head = run->chunk - e->chunk;
		uint32_t tail = e->chunk + e->count - (run->chunk + run->count);
		if (head && tail) {
			/* From the middle: the entry splits in two. */
			if (pool->ndeferred == pool->cap_deferred) {
				size_t ncap = pool->cap_deferred * 2;
				struct trk_run *nd = realloc(pool->deferred, ncap * sizeof(*nd));
				if (!nd) {
					rc = -ENOMEM;
					break;
				}
				pool->deferred = nd;
				pool->cap_deferred = ncap;
				e = &pool->deferred[i];
			}
			memmove(e + 2, e + 1, (pool->ndeferred - i - 1) * sizeof(*e));
			pool->ndeferred++;
			e[1] = *e;
			e[1].chunk = run->chunk + run->count;
			e[1].count = tail;
			e->count = head;
		} else if (head) {
			e->count = head;
		} else if (tail) {
			e->chunk = run->chunk + run->count;
			e->count = tail;
		} else {
			memmove(e, e + 1, (pool->ndeferred - i - 1) * sizeof(*e));
			pool->ndeferred--;
		}
		pool->deferred_chunks -= run->count;
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&pool->mu);
	return rc;
}
