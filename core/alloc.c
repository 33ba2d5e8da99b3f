/* The chunk allocator: choosing a disk (the hint, else by the placement
 * policy, place.c), taking a run from the head of a track's FIFO, from chunks
 * claimed above a high-water mark, or claiming more host space (claim.c);
 * growing a disk by a track, and giving runs back (unalloc at once; deferred
 * frees only after the index is durable). A run is handed out only once the
 * host filesystem has given it blocks, so no write into it can fail for
 * want of space. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "core/pool_int.h"

int trk_pool_pick_disk(struct trk_pool *pool)
{
	struct trk_disk *d;
	bool any_present;

	trk_hostfs_refresh(pool, false);
	pthread_mutex_lock(&pool->mu);
	d = trk_choose_disk(pool, 0, false, &any_present);
	pthread_mutex_unlock(&pool->mu);
	if (!d)
		return any_present ? -ENOSPC : -EIO;
	return (int)d->index;
}

/*
 * Claim more host space for @p t so that at least one more chunk (up to
 * @p want, rounded up to TRK_CLAIM_STEP) can be handed out. Caller holds mu
 * (dropped during the claim). @return -EAGAIN when something was claimed
 * (choose again), -ENOSPC when the host filesystem is full, another -errno.
 */
static int claim_more(struct trk_pool *pool, struct trk_disk *d, struct trk_track *t, uint32_t want)
{
	uint32_t cs = pool->cfg.chunk_size;
	uint64_t step = TRK_CLAIM_STEP / cs ? TRK_CLAIM_STEP / cs : 1;
	uint64_t room = trk_hostfs_avail(d->fs) / cs;
	uint32_t base = t->hwm > t->claimed ? t->hwm : t->claimed;

	if (want > t->chunk_count - base)
		want = t->chunk_count - base;
	uint64_t upto = ((uint64_t)base + want + step - 1) / step * step;
	if (upto > t->chunk_count)
		upto = t->chunk_count;
	if (upto > t->claimed + room)
		upto = t->claimed + room;
	if (upto <= base)
		return -ENOSPC;
	int rc = trk_track_claim(pool, t, (uint32_t)upto);
	return rc == 0 ? -EAGAIN : rc;
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
		if (t->failed || t->sparse || !t->fifo.len)
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
	/* Then never-used chunks whose host space is claimed already. */
	for (uint32_t i = 0; i < nt; i++) {
		struct trk_track *t = trk_disk_track(d, i);
		if (t->failed || t->sparse || t->hwm >= t->claimed)
			continue;
		n = t->claimed - t->hwm;
		if (n > want)
			n = want;
		*out = (struct trk_run){(uint16_t)d->index, t->number, t->hwm, n};
		t->hwm += n;
		t->hdr_dirty = true;
		return 0;
	}
	/* Then claim more for a track that has room left. */
	for (uint32_t i = 0; i < nt; i++) {
		struct trk_track *t = trk_disk_track(d, i);
		if (t->failed || t->sparse || t->hwm >= t->chunk_count ||
		    t->claimed >= t->chunk_count)
			continue;
		if (t->claiming) {
			pthread_cond_wait(&pool->cv, &pool->mu);
			return -EAGAIN;
		}
		return claim_more(pool, d, t, want);
	}
	/* Then a new track, if its header and a chunk fit. */
	if (trk_hostfs_avail(d->fs) < TRK_HDR_SIZE + pool->cfg.chunk_size)
		return -ENOSPC;
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
	bool refreshed = false, any_enospc = false;
	int rc, other = 0;

	if (!want)
		return -EINVAL;
	if (pool->cfg.readonly)
		return -EROFS;
	if (want > pool->track_chunks)
		want = pool->track_chunks;
	trk_hostfs_refresh(pool, false);

	pthread_mutex_lock(&pool->mu);
	for (;;) {
		struct trk_disk *d = NULL;
		bool any_present = false;

		if (disk_hint >= 0 && (unsigned)disk_hint < pool->ndisks &&
		    !(full & (1ull << disk_hint)) && !pool->disks[disk_hint].missing &&
		    !atomic_load(&pool->disks[disk_hint].failing) &&
		    !atomic_load(&pool->disks[disk_hint].draining) &&
		    !atomic_load(&pool->disks[disk_hint].noalloc)) {
			/* The file stays on its disk until that disk is at its
			 * reserve, and then too if no other disk is above its own. */
			struct trk_disk *h = &pool->disks[disk_hint];
			uint64_t used, room = trk_disk_room(pool, h, &used);
			if (room > trk_disk_reserve_chunks(pool, h))
				d = h;
			else if (room > 0 && !(d = trk_choose_disk(pool, full, true, &any_present)))
				d = h;
		}
		if (!d)
			d = trk_choose_disk(pool, full, false, &any_present);
		if (!d && any_present && !refreshed) {
			/* Before saying ENOSPC, look again: the cached figures may be
			 * a second old, or a claim may have failed where space came
			 * back since. */
			refreshed = true;
			full = 0;
			pthread_mutex_unlock(&pool->mu);
			trk_hostfs_refresh(pool, true);
			pthread_mutex_lock(&pool->mu);
			continue;
		}
		if (!d) {
			rc = any_present ? (any_enospc || !other ? -ENOSPC : other) : -EIO;
			if (!any_present)
				tfs_err("allocate: every disk of the volume is missing");
			break;
		}
		rc = try_disk(pool, d, want, out);
		if (rc == -EAGAIN)
			continue;
		if (rc < 0) {
			/* This disk cannot take it (full, or its claim failed and
			 * was logged): another one may. */
			if (rc == -ENOSPC)
				any_enospc = true;
			else if (!other)
				other = rc;
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
