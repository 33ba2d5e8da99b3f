/* Sorted snapshots of directories for the listings (list.c). The index keeps
 * a directory's entries in insertion order, so a listing reads a directory
 * whole and sorts it; a client paging through a bucket of 200,000 objects
 * asks for that 200 times. A large directory's sorted snapshot is kept and
 * reused while the directory is unchanged: every change of its entries sets
 * its ctime from the fine clock (vol_dir_touch), and no client can set a
 * ctime, so (ino, ctime, mtime) names one state of the entries. The ctime is
 * read before the entries, so a snapshot can only be older than its stamp
 * says (and is then rebuilt), never newer.
 *
 * Snapshots are immutable and shared between the event loops, counted under
 * the cache's lock; a few of the largest recent ones are kept. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/s3/s3_int.h"

/* Directories smaller than this are cheaper to read again than to keep. */
#define SNAP_MIN_ENTRIES 256
#define SNAP_MAX_BYTES ((size_t)256 << 20)

struct snap_build {
	struct s3_snap_ent *e;
	size_t n, cap;
	struct s3_sbuf keys; /* "name\0" or "name/\0" each */
	int err;
};

static int collect_cb(void *arg, const struct vol_dirent *d, const struct vol_attr *attr)
{
	struct snap_build *b = arg;
	bool dir = d->type == DT_DIR;

	(void)attr;
	if (s3_dot_name(d->name, d->namelen) || s3_name_hidden(d->name, d->namelen) ||
	    (d->type != DT_DIR && d->type != DT_REG))
		return 0;
	if (!s3_grow((void **)&b->e, &b->cap, b->n + 1, sizeof(*b->e)))
		goto out_oom;
	/* Offsets now, pointers once the key buffer stops moving. */
	b->e[b->n] = (struct s3_snap_ent){
		.key = (const char *)(uintptr_t)b->keys.len, .ino = d->ino, .dir = dir};
	s3_sb_add(&b->keys, d->name, d->namelen);
	if (dir)
		s3_sb_putc(&b->keys, '/');
	s3_sb_add(&b->keys, "", 1);
	if (b->keys.oom)
		goto out_oom;
	b->n++;
	return 0;
out_oom:
	b->err = -ENOMEM;
	return 1;
}

static int ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct s3_snap_ent *)a)->key, ((const struct s3_snap_ent *)b)->key);
}

static void snap_free(struct s3_dirsnap *s)
{
	if (!s)
		return;
	free(s->e);
	free(s->keys);
	free(s);
}

static int snap_build(struct vol *v, uint64_t ino, struct s3_dirsnap **out)
{
	struct snap_build b = {0};
	struct s3_dirsnap *s;
	int rc;

	rc = vol_readdir(v, ino, 0, false, collect_cb, &b);
	if (!rc)
		rc = b.err;
	s = rc ? NULL : calloc(1, sizeof(*s));
	if (!s) {
		free(b.e);
		s3_sb_free(&b.keys);
		return rc ? rc : -ENOMEM;
	}
	for (size_t i = 0; i < b.n; i++)
		b.e[i].key = b.keys.p + (uintptr_t)b.e[i].key;
	if (b.n)
		qsort(b.e, b.n, sizeof(*b.e), ent_cmp);
	s->ino = ino;
	s->e = b.e;
	s->n = b.n;
	s->keys = b.keys.p;
	s->bytes = b.cap * sizeof(*b.e) + b.keys.cap + sizeof(*s);
	*out = s;
	return 0;
}

static bool same_state(const struct s3_dirsnap *s, uint64_t ino, const struct vol_attr *a)
{
	return s->ino == ino && s->ctime.tv_sec == a->ctime.tv_sec &&
	       s->ctime.tv_nsec == a->ctime.tv_nsec && s->mtime.tv_sec == a->mtime.tv_sec &&
	       s->mtime.tv_nsec == a->mtime.tv_nsec;
}

/* Drop slot @p i's reference (under the lock). */
static void evict(struct s3_snapcache *c, unsigned i)
{
	struct s3_dirsnap *s = c->slot[i];

	c->slot[i] = NULL;
	c->bytes -= s->bytes;
	if (--s->refs == 0)
		snap_free(s);
}

/* Keep @p s (under the lock): replaces an older state of the same directory,
 * then evicts the least recently used until it fits. */
static void keep(struct s3_snapcache *c, struct s3_dirsnap *s)
{
	unsigned free_slot = S3_SNAP_SLOTS;

	if (s->n < SNAP_MIN_ENTRIES || s->bytes > SNAP_MAX_BYTES)
		return;
	for (unsigned i = 0; i < S3_SNAP_SLOTS; i++)
		if (c->slot[i] && c->slot[i]->ino == s->ino)
			evict(c, i);
	for (;;) {
		unsigned lru = S3_SNAP_SLOTS;
		free_slot = S3_SNAP_SLOTS;
		for (unsigned i = 0; i < S3_SNAP_SLOTS; i++) {
			if (!c->slot[i])
				free_slot = i;
			else if (lru == S3_SNAP_SLOTS || c->slot[i]->used < c->slot[lru]->used)
				lru = i;
		}
		if (free_slot < S3_SNAP_SLOTS && c->bytes + s->bytes <= SNAP_MAX_BYTES)
			break;
		if (lru == S3_SNAP_SLOTS)
			return; /* cannot happen: an empty cache has room */
		evict(c, lru);
	}
	c->slot[free_slot] = s;
	c->bytes += s->bytes;
	s->refs++;
}

int s3_dirsnap_get(struct s3_server *srv, uint64_t ino, struct s3_dirsnap **out)
{
	struct s3_snapcache *c = &srv->snaps;
	struct s3_dirsnap *s = NULL;
	struct vol_attr a;
	int rc;

	rc = vol_getattr(srv->v, ino, &a);
	if (rc)
		return rc;
	uv_mutex_lock(&c->lock);
	for (unsigned i = 0; i < S3_SNAP_SLOTS && !s; i++) {
		if (c->slot[i] && same_state(c->slot[i], ino, &a)) {
			s = c->slot[i];
			s->refs++;
			s->used = ++c->clock;
		}
	}
	uv_mutex_unlock(&c->lock);
	if (s) {
		*out = s;
		return 0;
	}

	rc = snap_build(srv->v, ino, &s);
	if (rc)
		return rc;
	s->ctime = a.ctime;
	s->mtime = a.mtime;
	s->refs = 1;
	uv_mutex_lock(&c->lock);
	s->used = ++c->clock;
	keep(c, s);
	uv_mutex_unlock(&c->lock);
	*out = s;
	return 0;
}

void s3_dirsnap_put(struct s3_server *srv, struct s3_dirsnap *s)
{
	struct s3_snapcache *c = &srv->snaps;
	bool last;

	uv_mutex_lock(&c->lock);
	last = --s->refs == 0;
	uv_mutex_unlock(&c->lock);
	if (last)
		snap_free(s);
}

size_t s3_dirsnap_lower_bound(const struct s3_dirsnap *s, const char *key)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(s->e[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int s3_snapcache_init(struct s3_snapcache *c)
{
	*c = (struct s3_snapcache){0};
	return uv_mutex_init(&c->lock);
}

void s3_snapcache_fini(struct s3_snapcache *c)
{
	for (unsigned i = 0; i < S3_SNAP_SLOTS; i++)
		if (c->slot[i])
			evict(c, i);
	uv_mutex_destroy(&c->lock);
}
