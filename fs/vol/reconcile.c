/* Reconciling a restored index with the tracks (fsck.trackfs --restore-meta):
 * every chunk an extent references is read and checked against its
 * checksum. A file whose chunks all match is exactly as the snapshot saw it.
 * A file with chunks that changed since (reused by later writes, or
 * overwritten) loses those ranges: they become holes, so that no wrong byte
 * is ever served, the file gets a user.trackfs.lost xattr naming them and is
 * moved to /lost+found, and the caller is told its path. The free lists were
 * rebuilt from the restored index at open, and the punched chunks return to
 * them, so no space leaks. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "fs/vol/data_int.h"
#include "fs/vol/vol_int.h"

struct range {
	uint64_t a, b; /* [a, b) */
};

struct damaged {
	uint64_t ino;
	bool unverified; /* chunks on a missing disk: only named, left as it is */
	struct range *r;
	size_t n;
	uint64_t bad_bytes;
	/* its names (from the dirent scan) */
	struct {
		uint64_t parent;
		char *name;
	} * links;
	size_t nlinks;
};

struct rc_scan {
	uint64_t *inos; /* files with extents, ascending */
	size_t n, cap;
	uint64_t bytes; /* chunk bytes referenced, for progress */
	uint32_t chunk_size;
};

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 256;
	void *nv = realloc(*v, nc * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = nc;
	return 0;
}

static int scan_extent_cb(void *arg, uint64_t ino, const struct idx_extent *e)
{
	struct rc_scan *s = arg;

	s->bytes += (uint64_t)e->nchunks * s->chunk_size;
	if (s->n && s->inos[s->n - 1] == ino)
		return 0;
	if (grow((void **)&s->inos, &s->cap, s->n, sizeof(*s->inos)))
		return -ENOMEM;
	s->inos[s->n++] = ino;
	return 0;
}

struct ext_list {
	uint64_t ino;
	struct idx_extent *v;
	size_t n, cap;
};

static int copy_extent_cb(void *arg, uint64_t ino, const struct idx_extent *e)
{
	struct ext_list *l = arg;

	if (ino != l->ino)
		return 1; /* the next file's: done */
	if (grow((void **)&l->v, &l->cap, l->n, sizeof(*l->v)))
		return -ENOMEM;
	l->v[l->n++] = *e;
	return 0;
}

static int add_range(struct damaged *d, uint64_t a, uint64_t b)
{
	d->bad_bytes += b - a;
	if (d->n && d->r[d->n - 1].b == a) {
		d->r[d->n - 1].b = b;
		return 0;
	}
	struct range *nr = realloc(d->r, (d->n + 1) * sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	d->r = nr;
	d->r[d->n++] = (struct range){a, b};
	return 0;
}

/*
 * Check every chunk of @p ino. @return 0 (its bad ranges in @p d, none if
 * all match), 1 (some chunks are on a missing disk: not checked), -errno.
 */
static int check_file(struct vol *v, uint64_t ino, uint8_t *buf, struct damaged *d, uint64_t *done,
		      const struct vol_reconcile_opts *o, uint64_t total,
		      struct vol_reconcile_report *rep)
{
	struct ext_list l = {.ino = ino};
	struct idx_txn *txn;
	bool unverified = false;
	int rc;

	rc = idx_txn_begin_read(v->idx, &txn);
	if (rc < 0)
		return rc;
	rc = idx_extent_iter_from(txn, ino, 0, copy_extent_cb, &l);
	idx_txn_abort(txn);
	if (rc == 1)
		rc = 0;
	for (size_t i = 0; i < l.n && rc == 0; i++) {
		const struct idx_extent *e = &l.v[i];
		if (e->disk >= trk_pool_ndisks(v->pool) ||
		    trk_pool_disk_missing(v->pool, e->disk) ||
		    trk_pool_disk_removed(v->pool, e->disk)) {
			unverified = true;
			*done += (uint64_t)e->nchunks * v->chunk_size;
			continue;
		}
		if (o->need_check && !o->need_check(o->check_arg, e->disk, e->track)) {
			rep->chunks += e->nchunks;
			rep->chunks_trusted += e->nchunks;
			*done += (uint64_t)e->nchunks * v->chunk_size;
			continue;
		}
		struct trk_run run = vol_ext_run(e, 0, e->nchunks);
		int rrc = trk_io_read(v->pool, &run, 0, buf, (size_t)e->nchunks * v->chunk_size);
		for (uint32_t c = 0; c < e->nchunks && rc == 0; c++) {
			rep->chunks++;
			if (rrc == 0 && trk_checksum(buf + (size_t)c * v->chunk_size,
						     v->chunk_size) == e->sums[c])
				continue;
			rep->chunks_bad++;
			uint64_t a = e->off + (uint64_t)c * v->chunk_size;
			rc = add_range(d, a, a + v->chunk_size);
		}
		*done += (uint64_t)e->nchunks * v->chunk_size;
		rep->bytes_checked += (uint64_t)e->nchunks * v->chunk_size;
		if (o->progress)
			o->progress(o->progress_arg, *done, total);
	}
	free(l.v);
	if (rc == 0 && unverified)
		rc = 1;
	return rc;
}

struct name_scan {
	struct damaged *d; /* sorted by ino */
	size_t nd;
	struct {
		uint64_t ino, parent;
		char *name;
	} * dirs;
	size_t ndirs, dcap;
};

static struct damaged *find_damaged(struct name_scan *s, uint64_t ino)
{
	size_t lo = 0, hi = s->nd;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->d[mid].ino == ino)
			return &s->d[mid];
		if (s->d[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int name_cb(void *arg, uint64_t parent, const struct idx_dirent *de)
{
	struct name_scan *s = arg;
	struct damaged *d;

	if (de->type == DT_DIR) {
		if (grow((void **)&s->dirs, &s->dcap, s->ndirs, sizeof(*s->dirs)))
			return -ENOMEM;
		s->dirs[s->ndirs].ino = de->ino;
		s->dirs[s->ndirs].parent = parent;
		s->dirs[s->ndirs].name = strdup(de->name);
		if (!s->dirs[s->ndirs].name)
			return -ENOMEM;
		s->ndirs++;
		return 0;
	}
	d = find_damaged(s, de->ino);
	if (!d)
		return 0;
	void *nl = realloc(d->links, (d->nlinks + 1) * sizeof(*d->links));
	if (!nl)
		return -ENOMEM;
	d->links = nl;
	d->links[d->nlinks].parent = parent;
	d->links[d->nlinks].name = strdup(de->name);
	if (!d->links[d->nlinks].name)
		return -ENOMEM;
	d->nlinks++;
	return 0;
}

static int dir_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* "/a/b/name" of the entry @p name in directory @p parent. */
static void build_path(struct name_scan *s, uint64_t parent, const char *name, char *out,
		       size_t size)
{
	char tmp[PATH_MAX];
	size_t len = strlen(name);

	if (len >= sizeof(tmp) - 1) {
		snprintf(out, size, "/%s", name);
		return;
	}
	size_t pos = sizeof(tmp) - 1 - len;
	memcpy(tmp + pos, name, len);
	tmp[sizeof(tmp) - 1] = '\0';
	for (int depth = 0; parent != IDX_ROOT_INO && depth < 4096; depth++) {
		size_t lo = 0, hi = s->ndirs;
		const char *pn = NULL;
		uint64_t pp = IDX_ROOT_INO;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (s->dirs[mid].ino == parent) {
				pn = s->dirs[mid].name;
				pp = s->dirs[mid].parent;
				break;
			}
			if (s->dirs[mid].ino < parent)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (!pn)
			break;
		size_t pl = strlen(pn);
		if (pos < pl + 2)
			break;
		tmp[--pos] = '/';
		pos -= pl;
		memcpy(tmp + pos, pn, pl);
		parent = pp;
	}
	snprintf(out, size, "/%s", tmp + pos);
}

/* /lost+found, made if needed. */
static int lost_found(struct vol *v, uint64_t *ino)
{
	struct vol_attr a;
	int rc = vol_lookup(v, IDX_ROOT_INO, VOL_LOST_FOUND, &a);

	if (rc == -ENOENT) {
		struct vol_cred root = {0};
		rc = vol_mkdir(v, IDX_ROOT_INO, VOL_LOST_FOUND, 0700, &root, &a);
	}
	if (rc == 0 && (a.mode & 0170000) != 0040000)
		rc = -ENOTDIR;
	if (rc < 0)
		tfs_err("volume %s: cannot make /%s: %s", v->meta_dir, VOL_LOST_FOUND,
			tfs_strerror(rc));
	else
		*ino = a.ino;
	return rc;
}

/* Punch, mark and move one damaged file; tell the caller. */
static int settle(struct vol *v, struct name_scan *s, struct damaged *d, uint64_t lf,
		  const struct vol_reconcile_opts *o)
{
	char path[PATH_MAX], moved[PATH_MAX], newname[256], lost[1024];
	size_t len = 0;
	struct vol_attr a;
	int rc = 0;

	path[0] = moved[0] = '\0';
	/* Only what lies inside the file counts (its last chunk is partial);
	 * whole chunks are punched, so that each bad chunk is dropped, never
	 * read back to keep part of it. */
	uint64_t size = vol_getattr(v, d->ino, &a) == 0 ? a.size : UINT64_MAX;
	d->bad_bytes = 0;
	for (size_t i = 0; i < d->n; i++)
		if (d->r[i].a < size)
			d->bad_bytes += (d->r[i].b < size ? d->r[i].b : size) - d->r[i].a;
	for (size_t i = 0; i < d->n && rc == 0; i++)
		rc = vol_fallocate(v, d->ino, VOL_FALLOC_PUNCH_HOLE | VOL_FALLOC_KEEP_SIZE,
				   (off_t)d->r[i].a, (off_t)(d->r[i].b - d->r[i].a));
	if (rc < 0)
		return rc;
	lost[0] = '\0';
	for (size_t i = 0; i < d->n && len < sizeof(lost) - 48; i++)
		if (d->r[i].a < size)
			len += (size_t)snprintf(lost + len, sizeof(lost) - len,
						"%s%" PRIu64 "-%" PRIu64, len ? " " : "", d->r[i].a,
						d->r[i].b < size ? d->r[i].b : size);
	rc = vol_setxattr(v, d->ino, VOL_LOST_XATTR, lost, strlen(lost), 0);
	if (rc == 0 && o->note)
		rc = vol_setxattr(v, d->ino, VOL_RESTORED_XATTR, o->note, strlen(o->note), 0);
	if (rc < 0)
		return rc;
	if (d->nlinks) {
		build_path(s, d->links[0].parent, d->links[0].name, path, sizeof(path));
		if (d->links[0].parent == lf)
			snprintf(newname, sizeof(newname), "%s", d->links[0].name);
		else
			snprintf(newname, sizeof(newname), "%" PRIu64 ".%.200s", d->ino,
				 d->links[0].name);
		if (d->links[0].parent != lf) {
			rc = vol_rename(v, d->links[0].parent, d->links[0].name, lf, newname, 0);
			if (rc < 0)
				return rc;
		}
		snprintf(moved, sizeof(moved), "/%s/%s", VOL_LOST_FOUND, newname);
		for (size_t i = 1; i < d->nlinks && rc == 0; i++)
			rc = vol_unlink(v, d->links[i].parent, d->links[i].name);
		if (rc < 0)
			return rc;
	}
	if (vol_getattr(v, d->ino, &a) < 0)
		a.size = 0;
	if (o->damaged) {
		struct vol_reconcile_file f = {.ino = d->ino,
					       .path = path,
					       .moved_to = moved,
					       .bad_bytes = d->bad_bytes,
					       .size = a.size,
					       .ranges = lost};
		rc = o->damaged(o->arg, &f);
	}
	return rc;
}

int vol_reconcile(struct vol *v, const struct vol_reconcile_opts *o,
		  struct vol_reconcile_report *out)
{
	struct vol_reconcile_opts none = {0};
	struct rc_scan s = {.chunk_size = v->chunk_size};
	struct damaged *dmg = NULL;
	size_t nd = 0, dcap = 0;
	struct name_scan ns = {0};
	struct idx_txn *txn;
	uint64_t done = 0, lf = 0;
	uint8_t *buf = NULL;
	int rc;

	if (!o)
		o = &none;
	memset(out, 0, sizeof(*out));
	if (v->rdonly)
		return -EROFS;
	rc = idx_txn_begin_read(v->idx, &txn);
	if (rc < 0)
		return rc;
	rc = idx_extent_iter_all(txn, scan_extent_cb, &s);
	idx_txn_abort(txn);
	if (rc < 0)
		goto out;
	buf = malloc((size_t)IDX_EXTENT_MAX_CHUNKS * v->chunk_size);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	out->files = s.n;
	for (size_t i = 0; i < s.n; i++) {
		struct damaged d = {.ino = s.inos[i]};
		int crc = check_file(v, s.inos[i], buf, &d, &done, o, s.bytes, out);
		if (crc < 0) {
			free(d.r);
			rc = crc;
			goto out;
		}
		if (crc == 1)
			out->files_unverified++;
		d.unverified = crc == 1 && !d.n;
		if (!d.n && !d.unverified)
			continue;
		rc = grow((void **)&dmg, &dcap, nd, sizeof(*dmg));
		if (rc < 0) {
			free(d.r);
			goto out;
		}
		dmg[nd++] = d;
	}
	for (size_t i = 0; i < nd; i++)
		out->files_damaged += !dmg[i].unverified;
	if (!nd)
		goto out;
	/* Name them: one scan of every directory entry. */
	ns.d = dmg;
	ns.nd = nd;
	rc = idx_txn_begin_read(v->idx, &txn);
	if (rc < 0)
		goto out;
	rc = idx_dirent_iter_all(txn, name_cb, &ns);
	idx_txn_abort(txn);
	if (rc < 0)
		goto out;
	qsort(ns.dirs, ns.ndirs, sizeof(*ns.dirs), dir_cmp);
	if (out->files_damaged)
		rc = lost_found(v, &lf);
	for (size_t i = 0; i < nd && rc == 0; i++) {
		if (dmg[i].unverified) {
			if (o->unverified) {
				char path[PATH_MAX] = "";
				if (dmg[i].nlinks)
					build_path(&ns, dmg[i].links[0].parent,
						   dmg[i].links[0].name, path, sizeof(path));
				rc = o->unverified(o->arg, dmg[i].ino, path);
			}
			continue;
		}
		rc = settle(v, &ns, &dmg[i], lf, o);
		if (rc < 0)
			tfs_err("volume %s: inode %" PRIu64 " has chunks that changed since the "
				"snapshot but could not be set aside: %s",
				v->meta_dir, dmg[i].ino, tfs_strerror(rc));
	}
	if (rc == 0)
		rc = vol_sync(v);
out:
	for (size_t i = 0; i < nd; i++) {
		for (size_t j = 0; j < dmg[i].nlinks; j++)
			free(dmg[i].links[j].name);
		free(dmg[i].links);
		free(dmg[i].r);
	}
	for (size_t i = 0; i < ns.ndirs; i++)
		free(ns.dirs[i].name);
	free(ns.dirs);
	free(dmg);
	free(s.inos);
	free(buf);
	return rc;
}
