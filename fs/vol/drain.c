/* Draining a disk: every chunk it holds is read (checksums verified), written
 * to another disk and its extents switched in one index transaction with the
 * drain's cursor, so that a drain stopped, killed or cut by a power loss goes
 * on where the durable index says it was. New chunks never go to a draining
 * disk (trk_pool_set_draining), so what the cursor passed stays drained. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base/log.h"
#include "fs/vol/data_int.h"

/* A stretch of chunks of the draining disk that holds consecutive bytes of
 * the file. */
struct mv_seg {
	uint64_t off;	     /* file offset of its first chunk */
	struct trk_run run;  /* where it is */
	const uint64_t *sum; /* its chunks' checksums, into the piece's sums */
};

/* What one piece of a file maps on the draining disk. */
struct mv_map {
	struct mv_seg *seg;
	size_t nseg, cap;
	uint64_t *sums; /* one per chunk of the piece, in order */
	uint32_t n;	/* chunks */
};

static void map_fini(struct mv_map *m)
{
	free(m->seg);
	free(m->sums);
	memset(m, 0, sizeof(*m));
}

/* The chunks of @p ino in [a, b) that lie on @p disk, from @p txn. */
static int map_collect(struct vol *v, struct idx_txn *txn, unsigned disk, uint64_t ino, uint64_t a,
		       uint64_t b, struct mv_map *m)
{
	uint32_t cs = v->chunk_size;
	uint32_t max = (uint32_t)((b - a) / cs);
	struct idx_extent e;
	uint64_t pos = a;
	int rc;

	m->sums = malloc((size_t)max * sizeof(*m->sums));
	if (!m->sums)
		return -ENOMEM;
	while (pos < b) {
		rc = vol_extent_next_in(v, txn, ino, pos, b, &e);
		if (rc < 0)
			return rc;
		if (rc == 0)
			break;
		uint64_t eend = e.off + (uint64_t)e.nchunks * cs;
		uint64_t lo = e.off > pos ? e.off : pos, hi = eend < b ? eend : b;
		pos = hi;
		if (e.disk != disk)
			continue;
		if (m->nseg == m->cap) {
			size_t cap = m->cap ? 2 * m->cap : 8;
			struct mv_seg *ns = realloc(m->seg, cap * sizeof(*ns));
			if (!ns)
				return -ENOMEM;
			m->seg = ns;
			m->cap = cap;
		}
		uint32_t i0 = (uint32_t)((lo - e.off) / cs), cnt = (uint32_t)((hi - lo) / cs);
		memcpy(&m->sums[m->n], &e.sums[i0], cnt * sizeof(*m->sums));
		m->seg[m->nseg++] = (struct mv_seg){
			.off = lo, .run = vol_ext_run(&e, i0, cnt), .sum = &m->sums[m->n]};
		m->n += cnt;
	}
	return 0;
}

/* True when both maps name the same chunks with the same checksums: the
 * file's bytes there are unchanged (chunks are never overwritten in place). */
static bool map_same(const struct mv_map *x, const struct mv_map *y)
{
	if (x->n != y->n || x->nseg != y->nseg)
		return false;
	for (size_t i = 0; i < x->nseg; i++) {
		const struct mv_seg *p = &x->seg[i], *q = &y->seg[i];
		if (p->off != q->off || p->run.disk != q->run.disk ||
		    p->run.track != q->run.track || p->run.chunk != q->run.chunk ||
		    p->run.count != q->run.count)
			return false;
	}
	return memcmp(x->sums, y->sums, x->n * sizeof(*x->sums)) == 0;
}

/* ---- naming a file for a report -------------------------------------------- */

struct name_find {
	uint64_t ino, parent;
	char name[IDX_NAME_MAX + 1];
	bool found;
};

static int name_find_cb(void *arg, uint64_t parent, const struct idx_dirent *d)
{
	struct name_find *f = arg;

	if (d->ino != f->ino || vol_name_is_dot(d->name, d->namelen))
		return 0;
	f->parent = parent;
	memcpy(f->name, d->name, d->namelen + 1);
	f->found = true;
	return 1;
}

/* One path of @p ino (a scan of every entry per level: only for reports of
 * bad chunks). @return 0, -ENOENT (no name: an unlinked open file). */
int vol_ino_path(struct vol *v, uint64_t ino, char *buf, size_t size)
{
	char tmp[PATH_MAX];
	struct idx_txn *txn;
	int rc = idx_txn_begin_read(v->idx, &txn);

	if (rc < 0)
		return rc;
	buf[0] = '\0';
	for (unsigned depth = 0; ino != VOL_ROOT_INO && depth < 256; depth++) {
		struct name_find f = {.ino = ino};
		rc = idx_dirent_iter_all(txn, name_find_cb, &f);
		if (rc < 0)
			break;
		if (!f.found) {
			rc = -ENOENT;
			break;
		}
		snprintf(tmp, sizeof(tmp), "/%s%s", f.name, buf);
		snprintf(buf, size, "%s", tmp);
		ino = f.parent;
		rc = 0;
	}
	idx_txn_abort(txn);
	return rc;
}

/* ---- moving one piece --------------------------------------------------------- */

struct drain {
	struct vol *v;
	unsigned disk;
	const struct vol_drain_opts *o;
	struct idx_disk_drain rec; /* as the index will hold it once the next move commits */
	int hint;		   /* the disk the current file's chunks go to */
	uint64_t hint_ino;
	uint64_t moved, bad; /* this pass */
	bool pass_here;	     /* this pass began in this call (from the start of the index) */
	uint64_t bytes_run;  /* moved by this call, for the rate limit */
	uint64_t rate;	     /* bytes/s at most (asked now, or kept in the record); 0: none */
	uint64_t bad_ino;    /* the highest file reported bad (bad_ino_set) */
	bool bad_ino_set;
	struct timespec t0;
};

static void report_bad(struct drain *d, uint64_t ino, uint64_t off, const struct trk_run *r,
		       bool unreadable)
{
	struct vol *v = d->v;
	char path[PATH_MAX];
	bool missing = trk_pool_disk_missing(v->pool, d->disk);

	/* A missing disk reads nothing: one line per file says it. */
	if (missing && d->bad_ino_set && ino <= d->bad_ino)
		return; /* said already, in this pass or the one before */
	d->bad_ino = ino;
	d->bad_ino_set = true;
	bool named = vol_ino_path(v, ino, path, sizeof(path)) == 0;
	if (missing) {
		tfs_err("replace disk %s: %s (inode %" PRIu64 ") from offset %" PRIu64
			" is on the missing disk and is not copied; it is listed as lost",
			trk_pool_disk_path(v->pool, d->disk), named ? path : "(no name)", ino, off);
		if (d->o && d->o->bad_cb)
			d->o->bad_cb(d->o->arg, ino, named ? path : NULL, off);
		return;
	}
	tfs_err("drain disk %s: %s (inode %" PRIu64 ") offset %" PRIu64 ": chunk %" PRIu32
		" of track %" PRIu32 " %s; left on the disk, not copied: restore that file from a "
		"backup or run fsck.trackfs --scrub",
		trk_pool_disk_path(v->pool, d->disk), named ? path : "(no name)", ino, off,
		r->chunk, r->track, unreadable ? "cannot be read" : "fails its checksum");
	if (d->o && d->o->bad_cb)
		d->o->bad_cb(d->o->arg, ino, named ? path : NULL, off);
}

/* Allocate @p n chunks off the draining disk. */
static int piece_alloc(struct drain *d, uint32_t n, struct trk_run *runs, size_t *nruns)
{
	struct vol *v = d->v;
	bool retried = false;
	uint32_t got = 0;
	size_t nr = 0;
	int rc = 0;

	while (got < n) {
		struct trk_run r;

		if (d->o && d->o->targeted)
			d->hint = (int)d->o->target;
		rc = trk_pool_alloc(v->pool, d->hint, n - got, &r);
		if (rc == -ENOSPC && !retried) {
			retried = true;
			vol_sync_all(v); /* releases the chunks freed by earlier moves */
			continue;
		}
		if (rc < 0)
			goto out_unalloc;
		if (d->o && d->o->targeted && r.disk != d->o->target) {
			/* The replacement is at its reserve or full. */
			trk_pool_unalloc(v->pool, &r);
			rc = -ENOSPC;
			goto out_unalloc;
		}
		if (r.disk == d->disk || r.count == 0 || r.count > n - got) {
			tfs_err("drain: allocator returned %u chunks on disk %u for %u wanted off "
				"disk %u; this is a bug in core/",
				r.count, r.disk, n - got, d->disk);
			trk_pool_unalloc(v->pool, &r);
			rc = -EIO;
			goto out_unalloc;
		}
		runs[nr++] = r;
		got += r.count;
		d->hint = r.disk;
	}
	*nruns = nr;
	return 0;

out_unalloc:
	while (nr > 0)
		trk_pool_unalloc(v->pool, &runs[--nr]);
	return rc;
}

static bool salvaging(const struct drain *d)
{
	return d->o && d->o->targeted;
}

/* Read @p n segments for a replace: what reads is kept; a chunk that cannot
 * be read (EIO, a missing disk) is marked in @p bad (chunk order) instead of
 * failing the piece. @return 0 or -ENOMEM. */
static int read_salvage(struct drain *d, struct trk_io *ios, size_t n, uint8_t *bad)
{
	struct vol *v = d->v;
	uint32_t cs = v->chunk_size;
	bool missing = trk_pool_disk_missing(v->pool, d->disk);
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t cnt = ios[i].run.count;
		if (!missing && trk_io_run(v->pool, &ios[i], 1) == 0) {
			k += cnt;
			continue;
		}
		/* Chunk by chunk, to keep every one that reads. */
		for (uint32_t j = 0; j < cnt; j++, k++) {
			struct trk_io one = ios[i];
			one.run.chunk += j;
			one.run.count = 1;
			one.buf = (uint8_t *)ios[i].buf + (size_t)j * cs;
			one.len = cs;
			if (missing || trk_io_run(v->pool, &one, 1) < 0)
				bad[k] = 1;
		}
	}
	return 0;
}

/* A group: good chunks of consecutive file offsets; they become one note. */
struct mv_group {
	uint64_t off;
	uint32_t k0, n; /* good chunks [k0, k0 + n) in the compacted buffer */
	struct vol_wnote *note;
};

/* The new runs covering good chunks [k0, k0 + n), into @p out (as many as
 * runs at most). */
static size_t sub_runs(const struct trk_run *runs, size_t nruns, uint32_t k0, uint32_t n,
		       struct trk_run *out)
{
	size_t no = 0;
	uint32_t base = 0;

	for (size_t i = 0; i < nruns && n; i++) {
		uint32_t rend = base + runs[i].count;
		if (k0 < rend) {
			uint32_t take = rend - k0 < n ? rend - k0 : n;
			out[no] = runs[i];
			out[no].chunk += k0 - base;
			out[no].count = take;
			no++;
			k0 += take;
			n -= take;
		}
		base = rend;
	}
	return no;
}

/* The new extents of group @p g in @p txn: chunks in new-run order, an
 * extent per stretch consecutive on disk, at most IDX_EXTENT_MAX_CHUNKS. */
static int put_group(struct vol *v, struct idx_txn *txn, uint64_t ino, const struct mv_group *g,
		     const struct trk_run *sub, size_t nsub, const uint64_t *sums)
{
	uint32_t cs = v->chunk_size;
	uint64_t foff = g->off;
	uint32_t k = 0;
	int rc;

	for (size_t i = 0; i < nsub; i++) {
		for (uint32_t j = 0; j < sub[i].count;) {
			struct idx_extent e;
			uint32_t m = sub[i].count - j;
			if (m > IDX_EXTENT_MAX_CHUNKS)
				m = IDX_EXTENT_MAX_CHUNKS;
			memset(&e, 0, sizeof(e));
			e.off = foff;
			e.disk = sub[i].disk;
			e.track = sub[i].track;
			e.chunk = sub[i].chunk + j;
			e.nchunks = m;
			memcpy(e.sums, &sums[k], m * sizeof(*sums));
			rc = idx_extent_put(txn, ino, &e);
			if (rc < 0)
				return rc;
			j += m;
			k += m;
			foff += (uint64_t)m * cs;
		}
	}
	return 0;
}

/*
 * Move what @p ino maps on the draining disk in [a, b). @return 0 (moved,
 * or nothing left to move there; the cursor is past b in d->rec, and in the
 * index when something was moved), -EAGAIN (the file changed meanwhile, or a
 * failed sync undid the move: do the piece again), or -errno.
 */
static int move_piece(struct drain *d, uint64_t ino, uint64_t a, uint64_t b)
{
	struct vol *v = d->v;
	uint32_t cs = v->chunk_size;
	pthread_rwlock_t *lk = vol_ilock(v, ino);
	struct mv_map m = {0}, now = {0};
	struct mv_group *grp = NULL;
	struct trk_run *runs = NULL, *sub = NULL;
	struct trk_io *ios = NULL;
	struct vol_runs pending = {0};
	struct idx_inode inode;
	struct idx_txn *txn;
	uint8_t *buf = NULL, *bad = NULL;
	uint64_t *gsums = NULL; /* the good chunks' checksums, compacted */
	size_t nruns = 0, ngrp = 0;
	uint32_t ngood = 0;
	int rc;

	/* Read under the data lock held shared: no write, truncate or reclaim
	 * can free these chunks while they are read; readers go on. */
	pthread_rwlock_rdlock(lk);
	rc = idx_txn_begin_read(v->idx, &txn);
	if (rc == 0) {
		rc = map_collect(v, txn, d->disk, ino, a, b, &m);
		idx_txn_abort(txn);
	}
	if (rc < 0 || m.n == 0) {
		pthread_rwlock_unlock(lk);
		goto out_free;
	}
	buf = vol_chunk_buf_alloc((size_t)m.n * cs);
	bad = calloc(m.n, 1);
	ios = calloc(m.n + m.nseg, sizeof(*ios));
	runs = malloc(m.n * sizeof(*runs));
	sub = malloc(m.n * sizeof(*sub));
	grp = calloc(m.n, sizeof(*grp));
	gsums = malloc(m.n * sizeof(*gsums));
	if (!buf || !bad || !ios || !runs || !sub || !grp || !gsums) {
		pthread_rwlock_unlock(lk);
		rc = -ENOMEM;
		goto out_free;
	}
	uint32_t k = 0;
	for (size_t i = 0; i < m.nseg; i++) {
		ios[i] = (struct trk_io){.run = m.seg[i].run,
					 .buf = buf + (size_t)k * cs,
					 .len = (size_t)m.seg[i].run.count * cs};
		k += m.seg[i].run.count;
	}
	if (salvaging(d))
		rc = read_salvage(d, ios, m.nseg, bad);
	else
		rc = trk_io_run(v->pool, ios, m.nseg);
	pthread_rwlock_unlock(lk);
	if (rc < 0) {
		tfs_err("drain disk %s: reading inode %" PRIu64 " at offset %" PRIu64
			" failed: %s; the drain stops, run it again once the disk reads",
			trk_pool_disk_path(v->pool, d->disk), ino, a, tfs_strerror(rc));
		goto out_free;
	}

	/* Verify, then keep only the good chunks, compacted, in file order. */
	k = 0;
	for (size_t i = 0; i < m.nseg; i++) {
		const struct mv_seg *s = &m.seg[i];
		for (uint32_t j = 0; j < s->run.count; j++, k++) {
			uint64_t off = s->off + (uint64_t)j * cs;
			if (bad[k] || trk_checksum(buf + (size_t)k * cs, cs) != m.sums[k]) {
				bool unreadable = bad[k];
				struct trk_run r = s->run;
				r.chunk += j;
				r.count = 1;
				bad[k] = 1;
				d->bad++;
				report_bad(d, ino, off, &r, unreadable);
				continue;
			}
			if (ngood != k)
				memmove(buf + (size_t)ngood * cs, buf + (size_t)k * cs, cs);
			/* A group goes on while the chunks are good and follow each
			 * other in the file. */
			if (ngrp && k > 0 && !bad[k - 1] &&
			    grp[ngrp - 1].off + (uint64_t)grp[ngrp - 1].n * cs == off)
				grp[ngrp - 1].n++;
			else
				grp[ngrp++] = (struct mv_group){.off = off, .k0 = ngood, .n = 1};
			gsums[ngood] = m.sums[k];
			ngood++;
		}
	}
	/* Reading a failing disk is I/O too: the rate limit counts the
	 * chunks that did not read as well as those moved. */
	d->bytes_run += (uint64_t)(m.n - ngood) * cs;
	if (ngood == 0) {
		rc = 0; /* only bad chunks here: they stay, reported */
		goto out_free;
	}

	rc = piece_alloc(d, ngood, runs, &nruns);
	if (rc < 0) {
		if (rc == -ENOSPC)
			tfs_err("drain disk %s: the other disks are full; add a disk or free "
				"space, then run the drain again",
				trk_pool_disk_path(v->pool, d->disk));
		goto out_free;
	}
	/* A note per group before the data is written: a failed sync of the
	 * new tracks then undoes the move (the old chunks are the file's
	 * again) instead of publishing chunks that are not there. */
	for (size_t g = 0; g < ngrp; g++) {
		size_t ns = sub_runs(runs, nruns, grp[g].k0, grp[g].n, sub);
		/* A move gives none of the file's bytes: no range to mark. */
		grp[g].note = vol_wnote_begin(v, ino, grp[g].off, sub, ns, 0, 0);
		if (!grp[g].note) {
			rc = -ENOMEM;
			goto out_unalloc;
		}
		grp[g].note->move = true;
	}
	k = 0;
	for (size_t i = 0; i < nruns; i++) {
		ios[i] = (struct trk_io){.write = true,
					 .run = runs[i],
					 .buf = buf + (size_t)k * cs,
					 .len = (size_t)runs[i].count * cs};
		k += runs[i].count;
	}
	rc = trk_io_run(v->pool, ios, nruns);
	if (rc < 0)
		goto out_unalloc;
	for (size_t g = 0; g < ngrp; g++)
		vol_wnote_written(v, grp[g].note);

	/* The switch, under the data lock held exclusively, only if the file
	 * maps exactly what was read. */
	pthread_rwlock_wrlock(lk);
	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		goto out_unlock;
	rc = map_collect(v, txn, d->disk, ino, a, b, &now);
	if (rc == 0 && !map_same(&m, &now))
		rc = -EAGAIN;
	if (rc == 0)
		rc = vol_file_get(txn, ino, &inode);
	for (size_t g = 0; g < ngrp && rc == 0; g++) {
		uint64_t end = grp[g].off + (uint64_t)grp[g].n * cs;
		size_t ns = sub_runs(runs, nruns, grp[g].k0, grp[g].n, sub);
		grp[g].note->size_before = inode.size;
		rc = vol_extents_cut_noted(v, txn, &inode, grp[g].off, end, &pending, grp[g].note);
		if (rc == 0)
			rc = put_group(v, txn, ino, &grp[g], sub, ns, &gsums[grp[g].k0]);
		inode.blocks += grp[g].n;
	}
	if (rc == 0 && inode.disk == d->disk)
		inode.disk = runs[0].disk;
	if (rc == 0)
		rc = idx_inode_put(txn, &inode);
	struct idx_disk_drain rec = d->rec;
	rec.ino = ino;
	rec.off = b;
	rec.bytes_done += (uint64_t)ngood * cs;
	if (rc == 0)
		rc = idx_disk_drain_put(txn, (uint16_t)d->disk, &rec);
	/* The index lock is held: no sync can undo a note between this check
	 * and the merge. */
	for (size_t g = 0; g < ngrp && rc == 0; g++)
		if (vol_wnote_lost(v, grp[g].note))
			rc = -EAGAIN;
	if (rc < 0) {
		idx_txn_abort(txn);
		vol_runs_fini(&pending);
		goto out_unlock;
	}
	rc = idx_txn_commit_keep(txn);
	if (rc == 0) {
		vol_runs_release(v, &pending);
		for (size_t g = 0; g < ngrp; g++)
			vol_wnote_merged(v, grp[g].note, inode.size);
	} else {
		vol_runs_fini(&pending);
	}
	idx_txn_release(txn);
	if (rc == 0) {
		d->rec = rec;
		d->moved += (uint64_t)ngood * cs;
		d->bytes_run += (uint64_t)ngood * cs;
	}
out_unlock:
	pthread_rwlock_unlock(lk);
	if (rc == 0)
		goto out_free;
out_unalloc:
	for (size_t g = 0; g < ngrp; g++)
		vol_wnote_drop(v, grp[g].note);
	/* Never part of a committed index state. */
	for (size_t i = 0; i < nruns; i++)
		trk_pool_unalloc(v->pool, &runs[i]);
out_free:
	free(gsums);
	free(grp);
	free(sub);
	free(runs);
	free(ios);
	free(bad);
	free(buf);
	map_fini(&now);
	map_fini(&m);
	return rc;
}

/* ---- the drain ----------------------------------------------------------------- */

struct find_first {
	unsigned disk;
	uint64_t ino;
	struct idx_extent e;
	bool found;
};

static int find_first_cb(void *arg, uint64_t ino, const struct idx_extent *e)
{
	struct find_first *f = arg;

	if (e->disk != f->disk)
		return 0;
	f->ino = ino;
	f->e = *e;
	f->found = true;
	return 1;
}

/* The first chunk on the draining disk at or after the cursor: *ino, *off.
 * @return 1 (found), 0 (none), -errno. */
static int find_next(struct drain *d, uint64_t *ino, uint64_t *off)
{
	struct vol *v = d->v;
	uint32_t cs = v->chunk_size;
	struct find_first f = {.disk = d->disk};
	struct idx_extent e;
	struct idx_txn *txn;
	uint64_t pos = d->rec.off;
	int rc = idx_txn_begin_read(v->idx, &txn);

	if (rc < 0)
		return rc;
	/* In the cursor's file, an extent may start before the cursor. */
	while ((rc = idx_extent_seek(txn, d->rec.ino, pos, &e)) == 0) {
		if (e.disk == d->disk) {
			*ino = d->rec.ino;
			*off = e.off > pos ? e.off : pos;
			rc = 1;
			goto out_abort;
		}
		pos = e.off + (uint64_t)e.nchunks * cs;
	}
	if (rc != -ENOENT)
		goto out_abort;
	rc = 0;
	if (d->rec.ino == UINT64_MAX)
		goto out_abort;
	rc = idx_extent_iter_from(txn, d->rec.ino + 1, 0, find_first_cb, &f);
	if (rc > 0) {
		*ino = f.ino;
		*off = f.e.off;
	}
out_abort:
	idx_txn_abort(txn);
	return rc;
}

static void rate_wait(struct drain *d)
{
	if (!d->rate)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double el = (double)(now.tv_sec - d->t0.tv_sec) + (now.tv_nsec - d->t0.tv_nsec) / 1e9;
	double want = (double)d->bytes_run / (double)d->rate;
	if (want > el) {
		double s = want - el;
		struct timespec ts = {.tv_sec = (time_t)s,
				      .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
		nanosleep(&ts, NULL);
	}
}

static int rec_put(struct vol *v, unsigned disk, const struct idx_disk_drain *rec)
{
	struct idx_txn *txn;
	int rc = idx_txn_begin(v->idx, &txn);

	if (rc < 0)
		return rc;
	rc = idx_disk_drain_put(txn, (uint16_t)disk, rec);
	if (rc < 0) {
		idx_txn_abort(txn);
		return rc;
	}
	return idx_txn_commit(txn);
}

static bool stopped(const struct drain *d)
{
	return d->o && d->o->stop && atomic_load(d->o->stop);
}

static int drain_run(struct drain *d)
{
	struct vol *v = d->v;
	const char *dpath = trk_pool_disk_path(v->pool, d->disk);
	int rc;

	for (;;) {
		uint64_t ino, off;

		if (stopped(d)) {
			/* Where it got to without moving anything is worth
			 * keeping too. */
			rc = rec_put(v, d->disk, &d->rec);
			if (rc == 0)
				rc = vol_sync_all(v);
			if (rc < 0)
				return rc;
			tfs_info("drain disk %s: stopped at %" PRIu64 " of about %" PRIu64
				 " bytes; run it again to go on",
				 dpath, d->rec.bytes_done, d->rec.bytes_total);
			return -EINTR;
		}
		rc = find_next(d, &ino, &off);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			/* A pass that moved nothing is the proof: the disk
			 * holds no referenced chunk except bad ones. */
			bool clean = d->moved == 0 && d->rec.passes > 0 && d->pass_here;
			if (clean && d->bad) {
				tfs_err("drain disk %s: %" PRIu64 " chunks cannot be read or fail "
					"their checksums and stay on it (listed above); restore "
					"those files, then run the drain again",
					dpath, d->bad);
				return -EIO;
			}
			if (clean)
				return 0;
			d->rec.passes++;
			d->rec.ino = 0;
			d->rec.off = 0;
			d->moved = 0;
			d->bad = 0;
			d->pass_here = true;
			rc = rec_put(v, d->disk, &d->rec);
			if (rc < 0)
				return rc;
			continue;
		}
		if (ino != d->hint_ino) {
			d->hint_ino = ino;
			d->hint = -1;
		}
		uint64_t b = off + VOL_PIECE_MAX;
		if (b < off)
			b = UINT64_MAX - UINT64_MAX % v->chunk_size;
		int tries = 0;
		do {
			rc = move_piece(d, ino, off, b);
			if (rc == -EIO || rc == -ENOSPC)
				d->hint = -1; /* a failing target: the allocator avoids it now */
		} while ((rc == -EAGAIN || (rc == -EIO && tries < 2)) && ++tries < 64);
		if (rc < 0) {
			if (rc == -EAGAIN)
				rc = -EBUSY;
			tfs_err("drain disk %s: moving inode %" PRIu64 " at offset %" PRIu64
				" failed: %s; nothing of it was lost, run the drain again",
				dpath, ino, off, tfs_strerror(rc));
			return rc;
		}
		d->rec.ino = ino;
		d->rec.off = b;
		if (d->o && d->o->progress_cb) {
			uint64_t total = d->rec.bytes_total > d->rec.bytes_done ? d->rec.bytes_total
										: d->rec.bytes_done;
			d->o->progress_cb(d->o->arg, d->rec.bytes_done, total);
		}
		rate_wait(d);
	}
}

struct count_disk {
	unsigned disk;
	uint64_t chunks;
};

static int count_cb(void *arg, uint64_t ino, const struct idx_extent *e)
{
	struct count_disk *c = arg;

	(void)ino;
	if (e->disk == c->disk)
		c->chunks += e->nchunks;
	return 0;
}

/* The chunks the index maps on @p disk, into *@p out. */
static int chunks_indexed(struct idx_txn *txn, unsigned disk, uint64_t *out)
{
	struct count_disk c = {.disk = disk};
	int rc = idx_extent_iter_all(txn, count_cb, &c);

	*out = c.chunks;
	return rc;
}

/* In @p v's index transaction: can @p disk be drained as @p o asks? A
 * missing disk only by a replace (what reads of it, nothing); the new disk of
 * a replace must be there. @return 0, -ENXIO or -EINVAL, said in the log. */
static int drain_check_disks(struct vol *v, unsigned disk, const struct vol_drain_opts *o)
{
	if (trk_pool_disk_missing(v->pool, disk) && !o->targeted) {
		tfs_err("drain disk %s: it is missing, so its chunks cannot be read; bring it "
			"back, or replace it",
			trk_pool_disk_path(v->pool, disk));
		return -ENXIO;
	}
	if (!o->targeted)
		return 0;
	if (o->target >= trk_pool_ndisks(v->pool) || o->target == disk ||
	    trk_pool_disk_removed(v->pool, o->target)) {
		tfs_err("replace disk %s: its new disk %u is not a disk of the volume; run "
			"fsck.trackfs",
			trk_pool_disk_path(v->pool, disk), o->target);
		return -EINVAL;
	}
	if (trk_pool_disk_missing(v->pool, o->target)) {
		tfs_err("replace disk %s: its new disk %s is missing; the copy goes on once it is "
			"back (trackfs disk drain), or undrain and replace again",
			trk_pool_disk_path(v->pool, disk), trk_pool_disk_path(v->pool, o->target));
		return -ENXIO;
	}
	return 0;
}

int vol_disk_drain(struct vol *v, unsigned disk, const struct vol_drain_opts *o)
{
	struct vol_drain_opts eo = o ? *o : (struct vol_drain_opts){0};
	struct drain d = {.v = v, .disk = disk, .o = &eo, .hint = -1, .hint_ino = 0};
	struct trk_disk_stats st;
	struct idx_txn *txn;
	uint64_t bit = 1ull << disk;
	int rc;

	if (v->rdonly)
		return -EROFS;
	if (disk >= trk_pool_ndisks(v->pool))
		return -ENODEV;
	if (eo.targeted && (eo.target >= trk_pool_ndisks(v->pool) || eo.target == disk))
		return -EINVAL;
	if (atomic_fetch_or(&v->drains_running, bit) & bit)
		return -EBUSY;
	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		goto out_clear;
	rc = idx_disk_drain_get(txn, (uint16_t)disk, &d.rec);
	if (rc == -ENOENT) {
		uint64_t used = 0;
		rc = 0;
		trk_pool_disk_stats(v->pool, disk, &st);
		used = st.chunks_used;
		/* A missing disk has no free lists to count from: the index
		 * says what it holds. */
		if (st.missing)
			rc = chunks_indexed(txn, disk, &used);
		d.rec = (struct idx_disk_drain){.state = IDX_DRAIN_DRAINING,
						.bytes_total = used * v->chunk_size,
						.rate = eo.rate};
		if (eo.targeted) {
			d.rec.flags = IDX_DRAIN_F_REPLACE;
			d.rec.target = eo.target;
		}
		if (rc == 0)
			rc = idx_disk_drain_put(txn, (uint16_t)disk, &d.rec);
	} else if (rc == 0 && d.rec.state == IDX_DRAIN_DRAINING) {
		/* Asked to drain: a stop is over, and a rate or a replacement
		 * given now is the one kept from here on; a replace that was
		 * interrupted stays one. */
		struct idx_disk_drain was = d.rec;
		d.rec.flags &= ~(uint32_t)(IDX_DRAIN_F_STOPPED | IDX_DRAIN_F_SALVAGED);
		if (eo.rate)
			d.rec.rate = eo.rate;
		if (eo.targeted) {
			d.rec.flags |= IDX_DRAIN_F_REPLACE;
			d.rec.target = eo.target;
		} else if (d.rec.flags & IDX_DRAIN_F_REPLACE) {
			eo.targeted = true;
			eo.target = d.rec.target;
		}
		if (was.flags != d.rec.flags || was.rate != d.rec.rate ||
		    was.target != d.rec.target)
			rc = idx_disk_drain_put(txn, (uint16_t)disk, &d.rec);
	}
	if (rc == 0 && d.rec.state == IDX_DRAIN_DRAINING)
		rc = drain_check_disks(v, disk, &eo);
	d.rate = d.rec.rate;
	if (rc < 0) {
		idx_txn_abort(txn);
		goto out_clear;
	}
	/* Marked before the commit lets go of the index: no allocation after
	 * this transaction goes to the disk. */
	trk_pool_set_draining(v->pool, disk, true);
	rc = idx_txn_commit(txn);
	if (rc < 0)
		goto out_clear;
	if (d.rec.state == IDX_DRAIN_DRAINED)
		goto out_clear;
	/* Writes that allocated before the mark may still be on their way to
	 * the disk; the last pass finds what they put there. */
	tfs_info("drain disk %s: moving about %" PRIu64 " bytes (%" PRIu64
		 " done) onto the other disks",
		 trk_pool_disk_path(v->pool, disk), d.rec.bytes_total, d.rec.bytes_done);
	/* A write that allocated before the mark holds its file's data lock
	 * until its extents are in the index: once every lock was taken, none
	 * is left in flight. */
	for (unsigned i = 0; i < VOL_ILOCKS; i++) {
		pthread_rwlock_wrlock(&v->ilocks[i]);
		pthread_rwlock_unlock(&v->ilocks[i]);
	}
	clock_gettime(CLOCK_MONOTONIC, &d.t0);
	for (;;) {
		uint64_t ino, off;

		rc = drain_run(&d);
		if (rc < 0)
			goto out_clear;
		/* The old chunks are freed once the moves are durable. A sync
		 * that failed on a new track undoes moves (the old chunks are
		 * the files' again): look once more before calling it done. */
		rc = vol_sync_all(v);
		if (rc < 0)
			goto out_clear;
		d.rec.ino = 0;
		d.rec.off = 0;
		rc = find_next(&d, &ino, &off);
		if (rc < 0)
			goto out_clear;
		if (rc == 0)
			break;
		d.pass_here = false;
	}
	d.rec.state = IDX_DRAIN_DRAINED;
	d.rec.flags = 0;
	d.rec.target = 0;
	d.rec.rate = 0;
	d.rec.ino = 0;
	d.rec.off = 0;
	d.rec.bytes_total = d.rec.bytes_done;
	rc = rec_put(v, disk, &d.rec);
	if (rc == 0)
		rc = vol_sync_all(v);
	if (rc == 0)
		tfs_info("drain disk %s: drained (%" PRIu64 " bytes moved); it can be removed",
			 trk_pool_disk_path(v->pool, disk), d.rec.bytes_done);
out_clear:
	if (eo.targeted && (rc == 0 || rc == -EIO)) {
		char lost[PATH_MAX];
		uint64_t n = 0;
		int rc2 = 0;
		if (rc == -EIO) {
			/* All that reads is copied: the next mount does not try
			 * the rest again. */
			d.rec.flags |= IDX_DRAIN_F_SALVAGED;
			rc2 = rec_put(v, disk, &d.rec);
		}
		if (rc2 == 0)
			rc2 = vol_disk_lost_write(v, disk, lost, sizeof(lost), &n);
		if (rc2 < 0)
			rc = rc2;
		else if (n)
			tfs_err("replace disk %u: %" PRIu64 " stretches of files could not be read "
				"and stay on it, listed in %s; restore those files",
				disk, n, lost);
	}
	atomic_fetch_and(&v->drains_running, ~bit);
	return rc;
}

int vol_disk_drain_state(struct vol *v, unsigned disk, struct vol_drain_status *out)
{
	struct idx_disk_drain rec;
	struct idx_txn *txn;
	int rc;

	if (disk >= trk_pool_ndisks(v->pool))
		return -ENODEV;
	rc = idx_txn_begin_read(v->idx, &txn);
	if (rc < 0)
		return rc;
	rc = idx_disk_drain_get(txn, (uint16_t)disk, &rec);
	idx_txn_abort(txn);
	if (rc == -ENOENT) {
		memset(out, 0, sizeof(*out));
		out->replace_target = -1;
		return 0;
	}
	if (rc < 0)
		return rc;
	out->state = rec.state == IDX_DRAIN_DRAINED ? VOL_DRAIN_DRAINED : VOL_DRAIN_DRAINING;
	out->bytes_done = rec.bytes_done;
	out->bytes_total = rec.bytes_total > rec.bytes_done ? rec.bytes_total : rec.bytes_done;
	out->ino = rec.ino;
	out->off = rec.off;
	out->stopped = rec.state == IDX_DRAIN_DRAINING && (rec.flags & IDX_DRAIN_F_STOPPED);
	out->salvaged = rec.state == IDX_DRAIN_DRAINING && (rec.flags & IDX_DRAIN_F_SALVAGED);
	out->rate = rec.rate;
	out->replace_target = rec.flags & IDX_DRAIN_F_REPLACE ? (int)rec.target : -1;
	return 0;
}

int vol_disk_undrain(struct vol *v, unsigned disk)
{
	uint64_t bit = 1ull << disk;
	struct idx_txn *txn;
	int rc;

	if (v->rdonly)
		return -EROFS;
	if (disk >= trk_pool_ndisks(v->pool))
		return -ENODEV;
	if (atomic_fetch_or(&v->drains_running, bit) & bit)
		return -EBUSY;
	rc = idx_txn_begin(v->idx, &txn);
	if (rc == 0) {
		rc = idx_disk_drain_del(txn, (uint16_t)disk);
		if (rc == -ENOENT)
			rc = 0;
		if (rc == 0) {
			rc = idx_txn_commit(txn);
			if (rc == 0)
				trk_pool_set_draining(v->pool, disk, false);
		} else {
			idx_txn_abort(txn);
		}
	}
	atomic_fetch_and(&v->drains_running, ~bit);
	return rc;
}

int vol_drain_load(struct vol *v)
{
	struct idx_disk_drain rec;
	struct idx_txn *txn;
	int rc = idx_txn_begin_read(v->idx, &txn);

	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < trk_pool_ndisks(v->pool) && rc == 0; i++) {
		rc = idx_disk_drain_get(txn, (uint16_t)i, &rec);
		if (rc == -ENOENT) {
			rc = 0;
			continue;
		}
		if (rc == 0) {
			trk_pool_set_draining(v->pool, i, true);
			if (rec.state == IDX_DRAIN_DRAINING && (rec.flags & IDX_DRAIN_F_STOPPED))
				tfs_info(
					"volume %s: disk %s: its drain was stopped (%" PRIu64
					" bytes moved); new data goes to the other disks; "
					"`trackfs disk drain` goes on, `trackfs disk undrain` puts "
					"the disk back into use",
					v->meta_dir, trk_pool_disk_path(v->pool, i),
					rec.bytes_done);
			else if (rec.state == IDX_DRAIN_DRAINING &&
				 (rec.flags & IDX_DRAIN_F_SALVAGED))
				tfs_warn("volume %s: disk %s was replaced by disk %" PRIu32
					 "; what it still holds could not be read and is listed in "
					 "%s/disk-%u-lost.txt: restore those files, then `trackfs "
					 "disk remove --force`, or bring the disk back and run "
					 "`trackfs disk drain`",
					 v->meta_dir, trk_pool_disk_path(v->pool, i), rec.target,
					 v->meta_dir, i);
			else if (rec.state == IDX_DRAIN_DRAINING &&
				 (rec.flags & IDX_DRAIN_F_REPLACE))
				tfs_info("volume %s: disk %s is being replaced by disk %" PRIu32
					 " (%" PRIu64 " bytes copied); new data goes to the other "
					 "disks until the copy finishes",
					 v->meta_dir, trk_pool_disk_path(v->pool, i), rec.target,
					 rec.bytes_done);
			else if (rec.state == IDX_DRAIN_DRAINING)
				tfs_info("volume %s: disk %s is being drained (%" PRIu64
					 " bytes moved); new data goes to the other disks until "
					 "the drain is run again and finishes",
					 v->meta_dir, trk_pool_disk_path(v->pool, i),
					 rec.bytes_done);
		}
	}
	idx_txn_abort(txn);
	if (rc < 0)
		tfs_err("volume %s: cannot read the drain records: %s; run fsck.trackfs",
			v->meta_dir, tfs_strerror(rc));
	return rc;
}
