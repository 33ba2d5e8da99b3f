/* Placement: which disk a new file (or a file whose disk is at its reserve)
 * gets, by the volume's policy (mfs, lus, ff, rand, as mergerfs names them),
 * and the per-disk reserve that keeps new files off nearly full disks. */
#include <errno.h>
#include <string.h>

#include "core/pool_int.h"

static const char *const place_names[TRK_PLACE_COUNT] = {"mfs", "lus", "ff", "rand"};

int trk_placement_parse(const char *name, enum trk_placement *out)
{
	for (unsigned i = 0; i < TRK_PLACE_COUNT; i++) {
		if (name && strcmp(name, place_names[i]) == 0) {
			*out = (enum trk_placement)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *trk_placement_name(enum trk_placement p)
{
	return (unsigned)p < TRK_PLACE_COUNT ? place_names[p] : "?";
}

int trk_place_choose(enum trk_placement p, const struct trk_place_cand *c, unsigned n, uint64_t rnd)
{
	int best = n ? 0 : -1;

	if (!n)
		return -1;
	switch (p) {
	case TRK_PLACE_FF:
		return 0;
	case TRK_PLACE_LUS:
		for (unsigned i = 1; i < n; i++)
			if (c[i].used < c[best].used ||
			    (c[i].used == c[best].used && c[i].free > c[best].free))
				best = (int)i;
		return best;
	case TRK_PLACE_RAND: {
		uint64_t sum = 0;
		for (unsigned i = 0; i < n; i++)
			sum += c[i].free;
		if (!sum)
			return 0;
		uint64_t r = rnd % sum;
		for (unsigned i = 0; i < n; i++) {
			if (r < c[i].free)
				return (int)i;
			r -= c[i].free;
		}
		return (int)n - 1;
	}
	case TRK_PLACE_MFS:
	default:
		for (unsigned i = 1; i < n; i++)
			if (c[i].free > c[best].free ||
			    (c[i].free == c[best].free && c[i].used < c[best].used))
				best = (int)i;
		return best;
	}
}

/* Chunks a disk can hand out: its free lists, what is claimed above its
 * high-water marks, and what its host filesystem can still give (shared with
 * the other disks on it). Caller holds mu. */
static uint64_t disk_free(struct trk_pool *pool, struct trk_disk *d)
{
	uint32_t nt = atomic_load(&d->ntracks);
	uint64_t n = 0;

	if (d->missing)
		return 0;
	for (uint32_t i = 0; i < nt; i++) {
		struct trk_track *t = trk_disk_track(d, i);
		if (t->failed || t->sparse)
			continue;
		n += t->fifo.nfree;
		if (t->claimed > t->hwm)
			n += t->claimed - t->hwm;
	}
	return n + trk_hostfs_growth(pool, d->fs);
}

/* On a host filesystem that holds several disks, space one of them claimed
 * but has not used is the others' as much as its own (it is the same
 * device), so it counts for all of them; the disk with less data then wins
 * the tie under mfs. */
uint64_t trk_disk_room(struct trk_pool *pool, struct trk_disk *d, uint64_t *used_out)
{
	uint64_t n = disk_free(pool, d), used = 0;

	for (unsigned i = 0; i < pool->ndisks; i++) {
		struct trk_disk *e = &pool->disks[i];
		uint32_t nt = atomic_load(&e->ntracks);

		if (e->missing || e->fs != d->fs)
			continue;
		for (uint32_t k = 0; k < nt; k++) {
			struct trk_track *t = trk_disk_track(e, k);
			if (t->failed || t->sparse)
				continue;
			if (e == d)
				used += t->hwm - t->fifo.nfree;
			else if (t->claimed > t->hwm)
				n += t->claimed - t->hwm;
		}
	}
	*used_out = used;
	return n;
}

uint64_t trk_disk_reserve_chunks(struct trk_pool *pool, const struct trk_disk *d)
{
	uint64_t bytes = pool->cfg.reserve;

	if (bytes == TRK_RESERVE_AUTO) {
		/* mergerfs keeps 4 GiB; a small disk would then take nothing, so
		 * it keeps 5% of its filesystem instead. */
		uint64_t size = d->fs ? d->fs->fs_size : 0;
		bytes = size / 20 < TRK_RESERVE_AUTO_MAX ? size / 20 : TRK_RESERVE_AUTO_MAX;
	}
	return (bytes + pool->cfg.chunk_size - 1) / pool->cfg.chunk_size;
}

struct trk_disk *trk_choose_disk(struct trk_pool *pool, uint64_t full, bool above_only,
				 bool *any_present)
{
	struct trk_place_cand above[TRK_MAX_DISKS], room[TRK_MAX_DISKS];
	struct trk_disk *da[TRK_MAX_DISKS], *dr[TRK_MAX_DISKS], *dfail = NULL;
	unsigned na = 0, nr = 0, n = pool->ndisks;
	uint64_t best_fail = 0;

	*any_present = false;
	for (unsigned i = 0; i < n; i++) {
		struct trk_disk *d = &pool->disks[i];
		if (d->missing)
			continue;
		*any_present = true;
		/* A draining disk gets nothing new, not even as a last resort. */
		if ((full & (1ull << i)) || atomic_load(&d->draining) || atomic_load(&d->noalloc))
			continue;
		uint64_t used, f = trk_disk_room(pool, d, &used);
		if (!f)
			continue;
		if (atomic_load(&d->failing)) {
			if (f > best_fail) {
				best_fail = f;
				dfail = d;
			}
			continue;
		}
		struct trk_place_cand c = {.free = f, .used = used};
		if (f > trk_disk_reserve_chunks(pool, d)) {
			da[na] = d;
			above[na++] = c;
		}
		dr[nr] = d;
		room[nr++] = c;
	}
	pool->rnd ^= pool->rnd << 13;
	pool->rnd ^= pool->rnd >> 7;
	pool->rnd ^= pool->rnd << 17;
	if (na)
		return da[trk_place_choose(pool->cfg.placement, above, na, pool->rnd)];
	if (above_only)
		return NULL;
	if (nr)
		return dr[trk_place_choose(pool->cfg.placement, room, nr, pool->rnd)];
	return dfail;
}

void trk_pool_set_placement(struct trk_pool *pool, enum trk_placement p, uint64_t reserve)
{
	pthread_mutex_lock(&pool->mu);
	pool->cfg.placement = p;
	pool->cfg.reserve = reserve;
	pthread_mutex_unlock(&pool->mu);
}

enum trk_placement trk_pool_placement(struct trk_pool *pool)
{
	pthread_mutex_lock(&pool->mu);
	enum trk_placement p = pool->cfg.placement;
	pthread_mutex_unlock(&pool->mu);
	return p;
}
