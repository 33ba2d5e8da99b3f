/* Writes a failing disk lost (DESIGN.md: a failed flush is remembered): the
 * notes of writes not yet known to be durable, undoing those a failed
 * fdatasync lost before a group commit publishes them, and the marks that
 * make the fsync of their files return EIO. The marks live in memory only:
 * after a remount the files hold what they held before those writes, which
 * is what their last successful fsync promised. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/base/log.h"
#include "fs/vol/data_int.h"

/* Bytes [a, b) of a file that a lost write had supplied. */
struct vol_range {
	uint64_t a, b;
};

/* The lost bytes of one file: sorted, disjoint and never touching (merged
 * as they are added), so that a lookup is a binary search. In v->lost, a
 * hash table by inode number; all under wnote_mu. */
struct vol_lost_file {
	struct vol_lost_file *next; /* the bucket's chain */
	uint64_t ino;
	size_t n, cap;
	size_t want; /* while a repair reserves room: ranges it may add */
	struct vol_range *r;
};

/* A range a repair marks once its transaction committed. */
struct vol_mark {
	uint64_t ino;
	uint64_t a, b;
};

#define LOST_BUCKETS_MIN 64

void vol_lost_init(struct vol *v)
{
	pthread_mutex_init(&v->wnote_mu, NULL);
	pthread_mutex_init(&v->lost_cb_mu, NULL);
	pthread_cond_init(&v->lost_cb_cond, NULL);
	v->lost_cb_calls = 0;
	v->wnotes = v->wnotes_tail = NULL;
	v->lost = NULL;
	v->lost_buckets = v->lost_files = 0;
	atomic_init(&v->nlost, 0);
	atomic_init(&v->undo_gen, 0);
	v->lost_queue = NULL;
	v->nqueue = v->cap_queue = 0;
	v->lost_cb = NULL;
	v->lost_cb_arg = NULL;
}

static void note_free(struct vol_wnote *n)
{
	free(n->old);
	free(n->sums);
	free(n);
}

/* wnote_mu held. */
static void note_unlink(struct vol *v, struct vol_wnote *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		v->wnotes = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		v->wnotes_tail = n->prev;
	n->prev = n->next = NULL;
}

void vol_lost_fini(struct vol *v)
{
	while (v->wnotes) {
		struct vol_wnote *n = v->wnotes;
		note_unlink(v, n);
		note_free(n);
	}
	for (size_t i = 0; i < v->lost_buckets; i++) {
		while (v->lost[i]) {
			struct vol_lost_file *f = v->lost[i];
			v->lost[i] = f->next;
			free(f->r);
			free(f);
		}
	}
	free(v->lost);
	v->lost = NULL;
	v->lost_buckets = v->lost_files = 0;
	atomic_store(&v->nlost, 0);
	free(v->lost_queue);
	v->lost_queue = NULL;
	pthread_cond_destroy(&v->lost_cb_cond);
	pthread_mutex_destroy(&v->lost_cb_mu);
	pthread_mutex_destroy(&v->wnote_mu);
}

/* ---- the notes ------------------------------------------------------------ */

struct vol_wnote *vol_wnote_begin(struct vol *v, uint64_t ino, uint64_t off,
				  const struct trk_run *runs, size_t nruns, uint64_t ua,
				  uint64_t ub)
{
	struct vol_wnote *n = calloc(1, sizeof(*n) + nruns * sizeof(*runs));

	if (!n)
		return NULL;
	n->ino = ino;
	n->off = off;
	n->ua = ua;
	n->ub = ub;
	n->done = UINT64_MAX;
	n->nruns = nruns;
	n->runs = (struct trk_run *)(n + 1);
	memcpy(n->runs, runs, nruns * sizeof(*runs));
	pthread_mutex_lock(&v->wnote_mu);
	n->prev = v->wnotes_tail;
	if (v->wnotes_tail)
		v->wnotes_tail->next = n;
	else
		v->wnotes = n;
	v->wnotes_tail = n;
	pthread_mutex_unlock(&v->wnote_mu);
	return n;
}

void vol_wnote_written(struct vol *v, struct vol_wnote *n)
{
	/* Read after the write returned: a sync pass that began after this
	 * epoch covers it (trk_pool_write_durable). */
	uint64_t e = trk_pool_epoch(v->pool);

	pthread_mutex_lock(&v->wnote_mu);
	n->done = e;
	pthread_mutex_unlock(&v->wnote_mu);
}

int vol_wnote_old(struct vol_wnote *n, const struct idx_extent *e, uint64_t off, uint32_t i0,
		  uint32_t count, uint64_t room)
{
	if (!n->sums) {
		/* Room for every chunk of the rest of the range: the pieces
		 * point into it, so it never moves. */
		n->sums = malloc((size_t)room * sizeof(*n->sums));
		if (!n->sums)
			return -ENOMEM;
	}
	if (n->nold == n->cap_old) {
		size_t cap = n->cap_old ? 2 * n->cap_old : 4;
		struct vol_old *no = realloc(n->old, cap * sizeof(*no));
		if (!no)
			return -ENOMEM;
		n->old = no;
		n->cap_old = cap;
	}
	memcpy(n->sums + n->nsums, &e->sums[i0], count * sizeof(*n->sums));
	n->old[n->nold++] = (struct vol_old){.off = off,
					     .disk = e->disk,
					     .track = e->track,
					     .chunk = e->chunk + i0,
					     .nchunks = count,
					     .sums = n->sums + n->nsums};
	n->nsums += count;
	return 0;
}

bool vol_wnote_lost(struct vol *v, struct vol_wnote *n)
{
	pthread_mutex_lock(&v->wnote_mu);
	bool lost = n->lost;
	pthread_mutex_unlock(&v->wnote_mu);
	return lost;
}

void vol_wnote_merged(struct vol *v, struct vol_wnote *n, uint64_t size_after)
{
	pthread_mutex_lock(&v->wnote_mu);
	n->merged = true;
	n->size_after = size_after;
	pthread_mutex_unlock(&v->wnote_mu);
}

void vol_wnote_drop(struct vol *v, struct vol_wnote *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&v->wnote_mu);
	note_unlink(v, n);
	pthread_mutex_unlock(&v->wnote_mu);
	note_free(n);
}

/* Whether run @p k of @p n was lost. */
static bool run_lost(struct vol *v, const struct vol_wnote *n, size_t k)
{
	return trk_pool_write_lost(v->pool, &n->runs[k], n->done);
}

static bool note_lost(struct vol *v, const struct vol_wnote *n)
{
	for (size_t k = 0; k < n->nruns; k++)
		if (run_lost(v, n, k))
			return true;
	return false;
}

void vol_wnotes_prune(struct vol *v)
{
	pthread_mutex_lock(&v->wnote_mu);
	for (struct vol_wnote *n = v->wnotes, *next; n; n = next) {
		next = n->next;
		if (!n->merged)
			continue; /* its writer drops it, or merges it */
		bool durable = true;
		for (size_t k = 0; k < n->nruns && durable; k++)
			durable = trk_pool_write_durable(v->pool, &n->runs[k], n->done);
		if (durable) {
			note_unlink(v, n);
			note_free(n);
		}
	}
	pthread_mutex_unlock(&v->wnote_mu);
}

bool vol_wnotes_pending(struct vol *v, uint64_t ino)
{
	bool found = false;

	pthread_mutex_lock(&v->wnote_mu);
	for (struct vol_wnote *n = v->wnotes; n && !found; n = n->next)
		found = n->ino == ino;
	pthread_mutex_unlock(&v->wnote_mu);
	return found;
}

/* ---- the marks' table (wnote_mu held) ----------------------------------------- */

static size_t lost_bucket(uint64_t ino, size_t nbuckets)
{
	return (size_t)((ino * 0x9E3779B97F4A7C15ull) >> 32) & (nbuckets - 1);
}

static struct vol_lost_file *lost_find(struct vol *v, uint64_t ino)
{
	if (!v->lost)
		return NULL;
	for (struct vol_lost_file *f = v->lost[lost_bucket(ino, v->lost_buckets)]; f; f = f->next)
		if (f->ino == ino)
			return f;
	return NULL;
}

/* Twice as many buckets; on failure the chains only grow longer. */
static void lost_grow(struct vol *v)
{
	size_t nb = 2 * v->lost_buckets;
	struct vol_lost_file **t = calloc(nb, sizeof(*t));

	if (!t)
		return;
	for (size_t i = 0; i < v->lost_buckets; i++) {
		while (v->lost[i]) {
			struct vol_lost_file *f = v->lost[i];
			v->lost[i] = f->next;
			f->next = t[lost_bucket(f->ino, nb)];
			t[lost_bucket(f->ino, nb)] = f;
		}
	}
	free(v->lost);
	v->lost = t;
	v->lost_buckets = nb;
}

/* @p ino's entry, created empty if it has none. NULL: out of memory. */
static struct vol_lost_file *lost_get(struct vol *v, uint64_t ino)
{
	struct vol_lost_file *f = lost_find(v, ino);

	if (f)
		return f;
	if (!v->lost) {
		v->lost = calloc(LOST_BUCKETS_MIN, sizeof(*v->lost));
		if (!v->lost)
			return NULL;
		v->lost_buckets = LOST_BUCKETS_MIN;
	} else if (v->lost_files >= 2 * v->lost_buckets) {
		lost_grow(v);
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->ino = ino;
	size_t b = lost_bucket(ino, v->lost_buckets);
	f->next = v->lost[b];
	v->lost[b] = f;
	v->lost_files++;
	return f;
}

/* Forget @p f, which has no range left. */
static void lost_drop(struct vol *v, struct vol_lost_file *f)
{
	struct vol_lost_file **pf = &v->lost[lost_bucket(f->ino, v->lost_buckets)];

	while (*pf != f)
		pf = &(*pf)->next;
	*pf = f->next;
	v->lost_files--;
	free(f->r);
	free(f);
}

/* Room for @p n ranges. @return 0 or -ENOMEM. */
static int lost_room(struct vol_lost_file *f, size_t n)
{
	if (n <= f->cap)
		return 0;
	size_t cap = f->cap ? 2 * f->cap : 4;
	while (cap < n)
		cap *= 2;
	struct vol_range *nr = realloc(f->r, cap * sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	f->r = nr;
	f->cap = cap;
	return 0;
}

/* The first range of @p f that ends at or after @p x (f->n if none). */
static size_t end_from(const struct vol_lost_file *f, uint64_t x)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->r[mid].b < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The first range of @p f that starts after @p x (f->n if none). */
static size_t start_past(const struct vol_lost_file *f, uint64_t x)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->r[mid].a <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Add [a, b) (a < b), merging it with the ranges it overlaps or touches.
 * Needs room for one more range (lost_room). */
static void lost_add(struct vol *v, struct vol_lost_file *f, uint64_t a, uint64_t b)
{
	size_t i = end_from(f, a), j = start_past(f, b);

	if (i < j) {
		/* [i, j) overlap or touch [a, b): one range takes their place. */
		if (f->r[i].a < a)
			a = f->r[i].a;
		if (f->r[j - 1].b > b)
			b = f->r[j - 1].b;
	}
	size_t gone = j - i; /* ranges merged into the new one */
	if (gone == 0)
		memmove(&f->r[i + 1], &f->r[i], (f->n - i) * sizeof(f->r[0]));
	else if (gone > 1)
		memmove(&f->r[i + 1], &f->r[j], (f->n - j) * sizeof(f->r[0]));
	f->r[i] = (struct vol_range){a, b};
	f->n = f->n + 1 - gone;
	if (gone == 0)
		atomic_fetch_add(&v->nlost, 1);
	else if (gone > 1)
		atomic_fetch_sub(&v->nlost, (unsigned)(gone - 1));
}

/* Remove [a, b) (a < b) from @p f's ranges; @p f is dropped once empty. */
static void lost_cut(struct vol *v, struct vol_lost_file *f, uint64_t a, uint64_t b)
{
	size_t i = end_from(f, a + 1), j = start_past(f, b - 1);

	if (i >= j)
		return; /* none overlaps */
	if (j - i == 1 && f->r[i].a < a && b < f->r[i].b) {
		/* The middle was written again: two ranges stay. Without the
		 * room, the range stays whole (fsync fails too often). */
		if (lost_room(f, f->n + 1) < 0)
			return;
		memmove(&f->r[i + 1], &f->r[i], (f->n - i) * sizeof(f->r[0]));
		f->r[i].b = a;
		f->r[i + 1].a = b;
		f->n++;
		atomic_fetch_add(&v->nlost, 1);
		return;
	}
	size_t lo = i, hi = j; /* [lo, hi) go */
	if (f->r[i].a < a) {
		f->r[i].b = a;
		lo = i + 1;
	}
	if (b < f->r[j - 1].b) {
		f->r[j - 1].a = b;
		hi = j - 1;
	}
	if (lo < hi) {
		memmove(&f->r[lo], &f->r[hi], (f->n - hi) * sizeof(f->r[0]));
		f->n -= hi - lo;
		atomic_fetch_sub(&v->nlost, (unsigned)(hi - lo));
	}
	if (f->n == 0)
		lost_drop(v, f);
}

/*
 * Before a repair commits: an entry for every file it marks, with room for
 * every range it may add, so that marking cannot fail once the undo is in
 * the index. @return 0 or -ENOMEM (lost_unreserve undoes what it did).
 */
static int lost_reserve(struct vol *v, const struct vol_mark *m, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		struct vol_lost_file *f = lost_get(v, m[i].ino);
		if (f)
			f->want++;
		else
			rc = -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct vol_lost_file *f = lost_find(v, m[i].ino);
		if (f && f->want) {
			if (rc == 0)
				rc = lost_room(f, f->n + f->want);
			f->want = 0;
		}
	}
	return rc;
}

/* The repair failed: forget the entries lost_reserve made for it. */
static void lost_unreserve(struct vol *v, const struct vol_mark *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct vol_lost_file *f = lost_find(v, m[i].ino);
		if (f && f->n == 0)
			lost_drop(v, f);
	}
}

/* ---- undoing lost writes ---------------------------------------------------- */

struct repair {
	struct vol *v;
	struct idx_txn *txn;
	struct vol_runs freed;	    /* chunks of the undone writes: deferred once committed */
	struct vol_runs undeferred; /* the chunks they had replaced, the files' again */
	struct vol_mark *marks;	    /* ranges to mark once committed */
	size_t nmarks, cap_marks;
	uint64_t *inos; /* files changed, for the front end */
	size_t ninos, cap_inos;
	unsigned writes;
	uint64_t chunks;
};

static int add_ino(struct repair *r, uint64_t ino)
{
	if (r->ninos && r->inos[r->ninos - 1] == ino)
		return 0;
	if (r->ninos == r->cap_inos) {
		size_t cap = r->cap_inos ? 2 * r->cap_inos : 8;
		uint64_t *ni = realloc(r->inos, cap * sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		r->inos = ni;
		r->cap_inos = cap;
	}
	r->inos[r->ninos++] = ino;
	return 0;
}

/*
 * [lo, hi) of @p inode still maps chunks that @p n wrote and a failed sync
 * lost: map the chunks that the write replaced there again (they are on the
 * deferred list, never released since: nothing was committed after the
 * write), or a hole where it replaced one.
 */
static int undo_range(struct repair *r, struct vol_wnote *n, struct idx_inode *inode, uint64_t lo,
		      uint64_t hi)
{
	struct vol *v = r->v;
	uint32_t cs = v->chunk_size;
	struct vol_runs cut = {0};
	struct idx_extent e;
	int rc;

	rc = vol_extents_cut(v, r->txn, inode, lo, hi, &cut);
	for (size_t i = 0; rc == 0 && i < cut.n; i++)
		rc = vol_runs_push(&r->freed, &cut.r[i]);
	vol_runs_fini(&cut);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n->nold; i++) {
		const struct vol_old *o = &n->old[i];
		uint64_t oend = o->off + (uint64_t)o->nchunks * cs;
		uint64_t plo = o->off > lo ? o->off : lo, phi = oend < hi ? oend : hi;
		if (plo >= phi)
			continue;
		uint32_t i0 = (uint32_t)((plo - o->off) / cs), cnt = (uint32_t)((phi - plo) / cs);
		struct trk_run back = {
			.disk = o->disk, .track = o->track, .chunk = o->chunk + i0, .count = cnt};
		/* Chunks on a missing disk were never deferred (truncate.c
		 * run_freed): its rebuild, once it is back, finds them
		 * referenced again. */
		bool deferred = !trk_pool_disk_missing(v->pool, back.disk);
		rc = deferred ? trk_pool_undefer(v->pool, &back) : 0;
		if (rc == -ENOENT) {
			/* Cannot happen while the notes are right; a hole is
			 * the safe answer (the chunks may be someone else's). */
			tfs_err("volume %s: inode %" PRIu64 " offset %" PRIu64
				": the chunks a lost write replaced are no longer held; that "
				"range reads as zeros: run fsck.trackfs",
				v->meta_dir, inode->ino, plo);
			continue;
		}
		if (rc < 0)
			return rc;
		rc = deferred ? vol_runs_push(&r->undeferred, &back) : 0;
		if (rc < 0) {
			if (trk_pool_free_deferred(v->pool, &back) < 0)
				tfs_err("volume %s: out of memory giving back %" PRIu32 " chunks; "
					"they stay unused until fsck.trackfs --repair",
					v->meta_dir, back.count);
			return rc;
		}
		memset(&e, 0, sizeof(e));
		e.off = plo;
		e.disk = back.disk;
		e.track = back.track;
		e.chunk = back.chunk;
		e.nchunks = cnt;
		memcpy(e.sums, o->sums + i0, cnt * sizeof(e.sums[0]));
		rc = idx_extent_put(r->txn, inode->ino, &e);
		if (rc < 0)
			return rc;
		inode->blocks += cnt;
	}
	r->chunks += (hi - lo) / cs;
	/* A move undone gives the file the very bytes it had: nothing lost.
	 * Otherwise only what the caller gave is lost: the rest of the chunks
	 * held older bytes, which the undo maps again, or zeros (the EOF rule,
	 * preallocation), which a hole reads as too. */
	if (n->move)
		return 0;
	uint64_t ma = n->ua > lo ? n->ua : lo, mb = n->ub < hi ? n->ub : hi;
	if (ma >= mb)
		return 0;
	if (r->nmarks && r->marks[r->nmarks - 1].ino == inode->ino &&
	    r->marks[r->nmarks - 1].a == mb) {
		r->marks[r->nmarks - 1].a = ma; /* newest first: the write before */
		return 0;
	}
	if (r->nmarks == r->cap_marks) {
		size_t cap = r->cap_marks ? 2 * r->cap_marks : 16;
		struct vol_mark *nm = realloc(r->marks, cap * sizeof(*nm));
		if (!nm)
			return -ENOMEM;
		r->marks = nm;
		r->cap_marks = cap;
	}
	r->marks[r->nmarks++] = (struct vol_mark){.ino = inode->ino, .a = ma, .b = mb};
	return 0;
}

/* Undo the lost runs of @p n where the file still maps them. */
static int undo_note(struct repair *r, struct vol_wnote *n)
{
	struct vol *v = r->v;
	uint32_t cs = v->chunk_size;
	struct idx_inode inode;
	struct idx_extent e;
	uint64_t pos = n->off, tail_lo = 0, tail_hi = 0;
	bool changed = false;
	int rc;

	rc = idx_inode_get(r->txn, n->ino, &inode);
	if (rc == -ENOENT)
		return 0; /* deleted since: the chunks went with it */
	if (rc < 0)
		return rc;
	if (!S_ISREG(inode.mode))
		return 0;
	for (size_t k = 0; k < n->nruns; k++) {
		const struct trk_run *run = &n->runs[k];
		uint64_t fa = pos, fb = pos + (uint64_t)run->count * cs, x = fa;

		pos = fb;
		if (!run_lost(v, n, k))
			continue;
		/* Only where the file still maps this write's chunks: a later
		 * write, truncate or hole punch there took them off already. */
		while (x < fb) {
			rc = vol_extent_next_in(v, r->txn, n->ino, x, fb, &e);
			if (rc < 0)
				return rc;
			if (rc == 0)
				break;
			uint64_t eend = e.off + (uint64_t)e.nchunks * cs;
			uint64_t lo = e.off > x ? e.off : x, hi = eend < fb ? eend : fb;
			if (e.disk == run->disk && e.track == run->track &&
			    e.chunk + (lo - e.off) / cs == run->chunk + (lo - fa) / cs) {
				rc = undo_range(r, n, &inode, lo, hi);
				if (rc < 0)
					return rc;
				changed = true;
				if (lo == tail_hi) {
					tail_hi = hi;
				} else {
					tail_lo = lo;
					tail_hi = hi;
				}
			}
			x = hi;
		}
	}
	if (!changed)
		return 0;
	/* A lost append gives the file its old size back, as long as nothing
	 * changed the size since and nothing it wrote is left past it. */
	if (inode.size == n->size_after && n->size_before < inode.size &&
	    tail_hi >= vol_round_up(inode.size, cs)) {
		uint64_t ns = tail_lo > n->size_before ? tail_lo : n->size_before;
		if (ns < inode.size)
			inode.size = ns;
	}
	rc = idx_inode_put(r->txn, &inode);
	if (rc < 0)
		return rc;
	r->writes++;
	return add_ino(r, n->ino);
}

static void repair_free(struct repair *r)
{
	free(r->marks);
	vol_runs_fini(&r->freed);
	vol_runs_fini(&r->undeferred);
	free(r->inos);
}

int vol_wnotes_repair(void *arg)
{
	struct vol *v = arg;
	struct repair r = {.v = v};
	bool any = false;
	int rc = 0;

	v->repair_undone = 0;
	pthread_mutex_lock(&v->wnote_mu);
	for (struct vol_wnote *n = v->wnotes; n; n = n->next) {
		if (!note_lost(v, n))
			continue;
		if (n->merged)
			any = true;
		else
			n->lost = true; /* in flight: its writer gives it up */
	}
	if (!any)
		goto out_unlock;
	rc = idx_txn_begin_precommit(v->idx, &r.txn);
	if (rc < 0)
		goto out_unlock;
	/* It must succeed for anything else to commit, and it adds about
	 * what it removes: a nearly full metadata filesystem's reserve is
	 * for such work (index/space.c). */
	idx_txn_use_reserve(r.txn);
	/* Newest first: a later write over the same range comes off before
	 * the one it replaced, whose chunks it then maps again. */
	for (struct vol_wnote *n = v->wnotes_tail; n && rc == 0; n = n->prev)
		if (n->merged && note_lost(v, n))
			rc = undo_note(&r, n);
	/* Marking must not fail once the undo is in the index. */
	if (rc == 0)
		rc = lost_reserve(v, r.marks, r.nmarks);
	if (rc < 0)
		idx_txn_abort(r.txn);
	else
		rc = idx_txn_commit(r.txn);
	if (rc < 0) {
		lost_unreserve(v, r.marks, r.nmarks);
		/* Nothing changed in the index: the replaced chunks are free
		 * once more as they were (no release can run: we hold the
		 * index). */
		for (size_t i = 0; i < r.undeferred.n; i++)
			if (trk_pool_free_deferred(v->pool, &r.undeferred.r[i]) < 0)
				tfs_err("volume %s: out of memory giving back %" PRIu32
					" chunks; they stay unused until fsck.trackfs --repair",
					v->meta_dir, r.undeferred.r[i].count);
		tfs_err("volume %s: undoing the writes a failing disk lost failed: %s; the "
			"index is not committed until it succeeds",
			v->meta_dir, tfs_strerror(rc));
		goto out_unlock;
	}
	/* Sizes and extents read before are stale now: a data operation
	 * that read them starts over (vol_cow.gen). The index lock is held,
	 * so none merges between the undo and this. */
	if (r.writes)
		atomic_fetch_add(&v->undo_gen, 1);
	v->repair_undone = r.writes;
	/* The undone chunks never became durable, but a read that began
	 * before may still be reading them: deferred, not reused at once. */
	vol_runs_release(v, &r.freed);
	for (struct vol_wnote *n = v->wnotes, *next; n; n = next) {
		next = n->next;
		if (!n->merged || !note_lost(v, n))
			continue;
		bool all = true;
		for (size_t k = 0; k < n->nruns && all; k++)
			all = run_lost(v, n, k);
		/* A note with runs on healthy tracks stays for them: its lost
		 * runs no longer match what the file maps. */
		if (all) {
			note_unlink(v, n);
			note_free(n);
		}
	}
	for (size_t i = 0; i < r.nmarks; i++)
		lost_add(v, lost_find(v, r.marks[i].ino), r.marks[i].a, r.marks[i].b);
	for (size_t i = 0; i < r.ninos; i++) {
		if (v->nqueue == v->cap_queue) {
			size_t cap = v->cap_queue ? 2 * v->cap_queue : 16;
			uint64_t *nq = realloc(v->lost_queue, cap * sizeof(*nq));
			if (!nq)
				break; /* only the kernel's cache of them stays stale */
			v->lost_queue = nq;
			v->cap_queue = cap;
		}
		v->lost_queue[v->nqueue++] = r.inos[i];
	}
	if (r.writes)
		tfs_err("volume %s: %u writes (%" PRIu64 " chunks, first inode %" PRIu64 ") "
			"were undone: their data was on a disk that failed before it was durable; "
			"those files read as before the writes, and their fsync returns EIO "
			"until the ranges are written again",
			v->meta_dir, r.writes, r.chunks, r.inos[0]);

out_unlock:
	pthread_mutex_unlock(&v->wnote_mu);
	repair_free(&r);
	return rc;
}

/* ---- the marks -------------------------------------------------------------- */

bool vol_lost_has(struct vol *v, uint64_t ino, uint64_t a, uint64_t b)
{
	bool found = false;

	/* The write path's check, without the lock: no mark anywhere. */
	if (atomic_load(&v->nlost) == 0 || a >= b)
		return false;
	pthread_mutex_lock(&v->wnote_mu);
	struct vol_lost_file *f = lost_find(v, ino);
	if (f) {
		size_t i = end_from(f, a + 1);
		found = i < f->n && f->r[i].a < b;
	}
	pthread_mutex_unlock(&v->wnote_mu);
	return found;
}

void vol_lost_clear(struct vol *v, uint64_t ino, uint64_t a, uint64_t b)
{
	if (atomic_load(&v->nlost) == 0 || a >= b)
		return;
	pthread_mutex_lock(&v->wnote_mu);
	struct vol_lost_file *f = lost_find(v, ino);
	if (f)
		lost_cut(v, f, a, b);
	pthread_mutex_unlock(&v->wnote_mu);
}

void vol_set_lost_cb(struct vol *v, vol_lost_cb cb, void *arg)
{
	pthread_mutex_lock(&v->lost_cb_mu);
	v->lost_cb = cb;
	v->lost_cb_arg = arg;
	while (!cb && v->lost_cb_calls)
		pthread_cond_wait(&v->lost_cb_cond, &v->lost_cb_mu);
	pthread_mutex_unlock(&v->lost_cb_mu);
}

bool vol_lost_cb_stop(struct vol *v, unsigned wait_ms)
{
	struct timespec until;
	int w = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&v->lost_cb_mu);
	v->lost_cb = NULL;
	v->lost_cb_arg = NULL;
	/* A short wait lets a call that is about to reach the kernel get
	 * there (the daemon's reads the session's descriptor, which the
	 * unmount closes); one that stays is waiting for the kernel. */
	while (v->lost_cb_calls && w != ETIMEDOUT)
		w = pthread_cond_timedwait(&v->lost_cb_cond, &v->lost_cb_mu, &until);
	bool idle = v->lost_cb_calls == 0;
	pthread_mutex_unlock(&v->lost_cb_mu);
	return idle;
}

void vol_lost_notify(struct vol *v)
{
	uint64_t *q;
	size_t n;

	pthread_mutex_lock(&v->wnote_mu);
	q = v->lost_queue;
	n = v->nqueue;
	v->lost_queue = NULL;
	v->nqueue = v->cap_queue = 0;
	pthread_mutex_unlock(&v->wnote_mu);
	for (size_t i = 0; i < n; i++) {
		/* Each call without the mutex: it may wait for the kernel, and
		 * whoever stops the callback must not wait for it then. */
		pthread_mutex_lock(&v->lost_cb_mu);
		vol_lost_cb cb = v->lost_cb;
		void *arg = v->lost_cb_arg;
		if (cb)
			v->lost_cb_calls++;
		pthread_mutex_unlock(&v->lost_cb_mu);
		if (!cb)
			break; /* stopped: the rest is for nobody */
		cb(arg, q[i]);
		pthread_mutex_lock(&v->lost_cb_mu);
		if (--v->lost_cb_calls == 0)
			pthread_cond_broadcast(&v->lost_cb_cond);
		pthread_mutex_unlock(&v->lost_cb_mu);
	}
	free(q);
}
