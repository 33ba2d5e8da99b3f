/* Reading and writing file bytes: vol_read verifies every chunk it returns,
 * vol_write never overwrites a chunk the index references; vol_cow_locked,
 * the copy-on-write primitive shared with truncate and fallocate. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/log.h"
#include "fs/vol/data_int.h"

/* ---- copy-on-write -------------------------------------------------------- */

/* Allocate @p n chunks as one or more runs, all on one disk when possible. A
 * full pool is retried once after vol_sync_all released the deferred frees. */
static int cow_alloc(struct vol *v, int hint, uint32_t n, struct trk_run *runs, size_t *nruns)
{
	bool retried = false;
	uint32_t got = 0;
	size_t nr = 0;
	int rc = 0;

	while (got < n) {
		struct trk_run r;

		rc = trk_pool_alloc(v->pool, hint, n - got, &r);
		if (rc == -ENOSPC && !retried) {
			retried = true;
			int src = vol_sync_all(v);
			if (src < 0)
				tfs_warn("write: sync to release freed chunks failed: %s",
					 tfs_strerror(src));
			continue;
		}
		if (rc < 0)
			goto out_unalloc;
		if (r.count == 0 || r.count > n - got) {
			tfs_err("write: allocator returned a run of %" PRIu32 " chunks for %" PRIu32
				" wanted; this is a bug in core/",
				r.count, n - got);
			rc = -EIO;
			goto out_unalloc;
		}
		runs[nr++] = r;
		got += r.count;
		hint = r.disk;
	}
	*nruns = nr;
	return 0;

out_unalloc:
	while (nr > 0)
		trk_pool_unalloc(v->pool, &runs[--nr]);
	return rc;
}

/* Write every run (all submitted first, so runs on different disks go in
 * parallel), taking the bytes from the segments in order. */
static int cow_write(struct vol *v, const struct vol_cow *c, const struct trk_run *runs,
		     size_t nruns)
{
	uint32_t cs = v->chunk_size;
	struct trk_io *ios = calloc(nruns + c->nseg, sizeof(*ios));
	size_t nio = 0;
	unsigned si = 0;
	uint32_t sk = 0;
	int rc = 0;

	if (!ios)
		return -ENOMEM;
	for (size_t i = 0; i < nruns; i++) {
		uint32_t rk = 0;

		while (rk < runs[i].count) {
			while (c->seg[si].nchunks == sk) {
				si++;
				sk = 0;
			}
			uint32_t m = runs[i].count - rk;
			if (m > c->seg[si].nchunks - sk)
				m = c->seg[si].nchunks - sk;
			struct trk_io *io = &ios[nio++];
			io->write = true;
			io->run = runs[i];
			io->run.chunk += rk;
			io->run.count = m;
			io->byte_off = 0;
			io->buf = (void *)(c->seg[si].buf + (size_t)sk * cs);
			io->len = (size_t)m * cs;
			rk += m;
			sk += m;
		}
	}
	rc = trk_io_run(v->pool, ios, nio);
	free(ios);
	return rc;
}

/* Put the new runs as extents of @p ino from file offset @p start on, merging
 * into the preceding extent when it ends exactly where the new one starts,
 * both in the file and on disk, so sequential writes make few extents. */
static int cow_put_extents(struct vol *v, struct idx_txn *txn, uint64_t ino, uint64_t start,
			   const struct trk_run *runs, size_t nruns, const uint64_t *sums)
{
	uint32_t cs = v->chunk_size;
	struct idx_extent prev;
	bool have_prev = false, dirty = false;
	uint64_t foff = start;
	size_t k = 0;
	int rc;

	if (start > 0) {
		rc = idx_extent_seek(txn, ino, start - cs, &prev);
		if (rc == 0 && prev.off < start && prev.off + (uint64_t)prev.nchunks * cs == start)
			have_prev = true;
		else if (rc < 0 && rc != -ENOENT)
			return rc;
	}
	for (size_t i = 0; i < nruns; i++) {
		const struct trk_run *r = &runs[i];
		uint32_t rk = 0;

		while (rk < r->count) {
			uint32_t m;

			if (have_prev && prev.disk == r->disk && prev.track == r->track &&
			    prev.chunk + prev.nchunks == r->chunk + rk &&
			    prev.off + (uint64_t)prev.nchunks * cs == foff &&
			    prev.nchunks < IDX_EXTENT_MAX_CHUNKS) {
				m = IDX_EXTENT_MAX_CHUNKS - prev.nchunks;
				if (m > r->count - rk)
					m = r->count - rk;
				memcpy(&prev.sums[prev.nchunks], &sums[k], m * sizeof(*sums));
				prev.nchunks += m;
			} else {
				if (dirty) {
					rc = idx_extent_put(txn, ino, &prev);
					if (rc < 0)
						return rc;
				}
				m = r->count - rk;
				if (m > IDX_EXTENT_MAX_CHUNKS)
					m = IDX_EXTENT_MAX_CHUNKS;
				memset(&prev, 0, sizeof(prev));
				prev.off = foff;
				prev.disk = r->disk;
				prev.track = r->track;
				prev.chunk = r->chunk + rk;
				prev.nchunks = m;
				memcpy(prev.sums, &sums[k], m * sizeof(*sums));
				have_prev = true;
			}
			dirty = true;
			rk += m;
			k += m;
			foff += (uint64_t)m * cs;
		}
	}
	return dirty ? idx_extent_put(txn, ino, &prev) : 0;
}

/* -ESTALE from cow_switch: a failed sync undid the write before it was
 * merged (its chunks may not be on the disk); it can be done again elsewhere.
 * -EAGAIN: an undo changed the file since the caller read it (c->gen). */
static int cow_switch(struct vol *v, uint64_t ino, struct vol_cow *c, uint32_t n,
		      const struct trk_run *runs, size_t nruns, const uint64_t *sums,
		      struct vol_wnote *note)
{
	uint64_t end = c->start + (uint64_t)n * v->chunk_size;
	struct vol_runs pending = {0};
	struct idx_inode inode;
	struct idx_txn *txn;
	int rc;

	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		return rc;
	/* Under the index lock, which every undo holds: the size and chunks
	 * the caller built this write from are the file's, or it starts over
	 * (its begin may have run a group commit and so the hook). */
	if (atomic_load(&v->undo_gen) != c->gen) {
		rc = -EAGAIN;
		goto out_abort_txn;
	}
	rc = vol_file_get(txn, ino, &inode);
	if (rc < 0)
		goto out_abort_txn;
	note->size_before = inode.size;
	rc = vol_extents_cut_noted(v, txn, &inode, c->start, end, &pending, note);
	if (rc < 0)
		goto out_abort_txn;
	rc = cow_put_extents(v, txn, ino, c->start, runs, nruns, sums);
	if (rc < 0)
		goto out_abort_txn;
	inode.blocks += n;
	if (inode.disk == IDX_NO_DISK)
		inode.disk = runs[0].disk;
	if (c->new_size > inode.size)
		inode.size = c->new_size;
	if (c->touch) {
		vol_now(&inode.mtime);
		inode.ctime = inode.mtime;
	}
	if (c->clear_suid) {
		inode.mode &= ~(uint32_t)S_ISUID;
		if (inode.mode & S_IXGRP)
			inode.mode &= ~(uint32_t)S_ISGID;
	}
	rc = idx_inode_put(txn, &inode);
	if (rc < 0)
		goto out_abort_txn;
	/* The index lock is held from the begin: the precommit hook cannot
	 * undo the note between this check and the merge. */
	if (vol_wnote_lost(v, note)) {
		rc = -ESTALE;
		goto out_abort_txn;
	}
	/* The note, the deferred frees and the merge are seen together: a
	 * hook that undoes this write finds the chunks it replaced deferred. */
	rc = idx_txn_commit_keep(txn);
	if (rc == 0) {
		vol_runs_release(v, &pending);
		vol_wnote_merged(v, note, inode.size);
		/* Only the bytes the caller gave are written again: the rest
		 * of the chunks is what the file held, or zeros. */
		if (c->ua < c->ub)
			vol_lost_clear(v, ino, c->ua, c->ub);
		c->disk = inode.disk;
	} else {
		vol_runs_fini(&pending);
	}
	idx_txn_release(txn);
	return rc;

out_abort_txn:
	idx_txn_abort(txn);
	vol_runs_fini(&pending);
	return rc;
}

int vol_cow_locked(struct vol *v, uint64_t ino, struct vol_cow *c)
{
	uint32_t cs = v->chunk_size;
	uint32_t n = 0;
	size_t nruns = 0;
	int rc;

	for (unsigned i = 0; i < c->nseg; i++)
		n += c->seg[i].nchunks;
	if (n == 0)
		return 0;
	uint64_t *sums = malloc(n * sizeof(*sums));
	struct trk_run *runs = malloc(n * sizeof(*runs));
	if (!sums || !runs) {
		rc = -ENOMEM;
		goto out_free;
	}
	size_t k = 0;
	for (unsigned i = 0; i < c->nseg; i++)
		for (uint32_t j = 0; j < c->seg[i].nchunks; j++)
			sums[k++] = trk_checksum(c->seg[i].buf + (size_t)j * cs, cs);

	/* A write that a failing disk refused, or that a failed sync undid
	 * before it was merged, is done once more: the allocator now sends
	 * it to another disk. */
	for (int attempt = 0;; attempt++) {
		struct vol_wnote *note;
		bool retry;

		rc = cow_alloc(v, c->disk, n, runs, &nruns);
		if (rc < 0) {
			if (rc == -ENOSPC)
				tfs_warn("write inode %" PRIu64 ": no free chunks on any disk",
					 ino);
			goto out_free;
		}
		note = vol_wnote_begin(v, ino, c->start, runs, nruns, c->ua, c->ub);
		rc = note ? cow_write(v, c, runs, nruns) : -ENOMEM;
		if (rc == 0) {
			vol_wnote_written(v, note);
			rc = cow_switch(v, ino, c, n, runs, nruns, sums, note);
		}
		if (rc == 0)
			break;
		retry = rc == -ESTALE;
		for (size_t i = 0; i < nruns && rc == -EIO && !retry; i++)
			retry = trk_pool_disk_failing(v->pool, runs[i].disk);
		retry = retry && attempt == 0;
		vol_wnote_drop(v, note);
		/* The new chunks were never referenced by a committed index
		 * state. */
		for (size_t i = 0; i < nruns; i++)
			trk_pool_unalloc(v->pool, &runs[i]);
		if (rc == -ESTALE)
			rc = -EIO;
		if (!retry)
			goto out_free;
		c->disk = -1;
	}
out_free:
	free(runs);
	free(sums);
	return rc;
}

/* ---- read ------------------------------------------------------------------ */

struct rd_ext {
	struct idx_extent *e;
	size_t n, cap;
};

/* Copy out the extents covering [c0, cend) in one short transaction. */
static int rd_collect(struct vol *v, uint64_t ino, uint64_t c0, uint64_t cend, struct rd_ext *x)
{
	struct idx_txn *txn;
	uint64_t pos = c0;
	int rc = idx_txn_begin_read(v->idx, &txn);

	if (rc < 0)
		return rc;
	while (pos < cend) {
		if (x->n == x->cap) {
			size_t cap = x->cap ? 2 * x->cap : 4;
			struct idx_extent *ne = realloc(x->e, cap * sizeof(*ne));
			if (!ne) {
				rc = -ENOMEM;
				break;
			}
			x->e = ne;
			x->cap = cap;
		}
		struct idx_extent *e = &x->e[x->n];
		rc = idx_extent_seek(txn, ino, pos, e);
		if (rc == -ENOENT) {
			rc = 0;
			break;
		}
		if (rc < 0 || e->off >= cend)
			break;
		if (e->nchunks == 0 || e->nchunks > IDX_EXTENT_MAX_CHUNKS ||
		    e->off % v->chunk_size) {
			tfs_err("read inode %" PRIu64 ": malformed extent at offset %" PRIu64
				" in the index; run fsck.trackfs",
				ino, e->off);
			rc = -EIO;
			break;
		}
		x->n++;
		pos = e->off + (uint64_t)e->nchunks * v->chunk_size;
	}
	idx_txn_abort(txn);
	return rc;
}

/* Read [poff, poff + plen) into @p out: whole chunks, straight into @p out
 * where a chunk lies wholly inside the range, through a bounce buffer at the
 * edges; every chunk's checksum is verified before a byte is returned. */
static int read_piece(struct vol *v, uint64_t ino, uint8_t *out, uint64_t poff, uint64_t plen)
{
	uint32_t cs = v->chunk_size;
	uint64_t pend = poff + plen;
	uint64_t c0 = vol_round_down(poff, cs), cend = vol_round_up(pend, cs);
	uint64_t clast = cend - cs;
	struct rd_ext x = {0};
	struct trk_io *ios = NULL;
	size_t *io_ext = NULL, nio = 0;
	uint8_t *bounce = NULL;
	int rc;

	rc = rd_collect(v, ino, c0, cend, &x);
	if (rc < 0)
		goto out_free;
	bool head_b = !(poff == c0 && pend >= c0 + cs);
	bool tail_b = clast != c0 && pend % cs != 0;
	if (head_b || tail_b) {
		bounce = vol_chunk_buf_alloc(2 * (size_t)cs);
		if (!bounce) {
			rc = -ENOMEM;
			goto out_free;
		}
	}
	ios = calloc(3 * x.n + 1, sizeof(*ios));
	io_ext = calloc(3 * x.n + 1, sizeof(*io_ext));
	if (!ios || !io_ext) {
		rc = -ENOMEM;
		goto out_free;
	}

	/* Holes read as zeros; chunks that are present are filled by I/O. */
	uint64_t pos = c0;
	bool head_alloc = false, tail_alloc = false;
	for (size_t i = 0; i <= x.n; i++) {
		uint64_t hs = pos, he = i < x.n ? x.e[i].off : cend;
		if (hs < poff)
			hs = poff;
		if (he > pend)
			he = pend;
		if (hs < he)
			memset(out + (hs - poff), 0, he - hs);
		if (i == x.n)
			break;
		struct idx_extent *e = &x.e[i];
		uint64_t eend = e->off + (uint64_t)e->nchunks * cs;
		uint64_t lo = e->off > c0 ? e->off : c0, hi = eend < cend ? eend : cend;
		pos = eend;
		while (lo < hi) {
			uint32_t idx = (uint32_t)((lo - e->off) / cs);
			uint32_t m;
			struct trk_io *io = &ios[nio];
			if ((lo == c0 && head_b) || (lo == clast && tail_b)) {
				m = 1;
				io->buf = bounce + (lo == c0 ? 0 : cs);
				if (lo == c0)
					head_alloc = true;
				else
					tail_alloc = true;
			} else {
				uint64_t stop = hi;
				if (tail_b && stop > clast)
					stop = clast;
				m = (uint32_t)((stop - lo) / cs);
				io->buf = out + (lo - poff);
			}
			io->write = false;
			io->run = vol_ext_run(e, idx, m);
			io->byte_off = 0;
			io->len = (size_t)m * cs;
			io_ext[nio++] = i;
			lo += (uint64_t)m * cs;
		}
	}

	rc = trk_io_run(v->pool, ios, nio);
	if (rc < 0)
		goto out_free;
	for (size_t i = 0; i < nio; i++) {
		const struct idx_extent *e = &x.e[io_ext[i]];
		uint32_t idx = ios[i].run.chunk - e->chunk;
		for (uint32_t j = 0; j < ios[i].run.count; j++) {
			const uint8_t *p = (const uint8_t *)ios[i].buf + (size_t)j * cs;
			if (trk_checksum(p, cs) != e->sums[idx + j]) {
				vol_log_bad_chunk(v, ino, e, idx + j);
				rc = -EIO;
				goto out_free;
			}
		}
	}
	if (head_alloc) {
		uint64_t end = c0 + cs < pend ? c0 + cs : pend;
		memcpy(out, bounce + (poff - c0), end - poff);
	}
	if (tail_alloc)
		memcpy(out + (clast - poff), bounce + cs, pend - clast);

out_free:
	free(io_ext);
	free(ios);
	free(bounce);
	free(x.e);
	return rc;
}

ssize_t vol_read(struct vol *v, uint64_t ino, void *buf, size_t size, off_t off)
{
	pthread_rwlock_t *lk = vol_ilock(v, ino);
	uint32_t cs = v->chunk_size;
	struct idx_inode inode;
	uint64_t len, done = 0;
	int rc;

	if (off < 0)
		return -EINVAL;
	if (size == 0)
		return 0;
	/* Held shared for the whole read so that the chunks being read cannot
	 * be freed and reused under it. */
	pthread_rwlock_rdlock(lk);
	rc = vol_file_read(v, ino, &inode);
	if (rc < 0)
		goto out_unlock;
	if ((uint64_t)off >= inode.size)
		goto out_unlock;
	len = inode.size - (uint64_t)off;
	if (len > size)
		len = size;
	while (done < len) {
		uint64_t poff = (uint64_t)off + done;
		uint64_t pend = vol_round_down(poff + VOL_PIECE_MAX, cs);
		if (pend > (uint64_t)off + len)
			pend = (uint64_t)off + len;
		rc = read_piece(v, ino, (uint8_t *)buf + done, poff, pend - poff);
		if (rc < 0)
			goto out_unlock;
		done += pend - poff;
	}

out_unlock:
	pthread_rwlock_unlock(lk);
	atomic_fetch_add(&v->ctr.reads, 1);
	if (rc < 0)
		atomic_fetch_add(&v->ctr.read_fails, 1);
	else
		atomic_fetch_add(&v->ctr.bytes_read, done);
	return rc < 0 ? rc : (ssize_t)done;
}

/* ---- write ----------------------------------------------------------------- */

/* The old content of the chunk at @p coff as a write must merge with it:
 * verified, with bytes at or beyond the old EOF @p size and holes as zeros. */
static int edge_fill(struct vol *v, uint64_t ino, uint64_t coff, uint64_t size, uint8_t *buf)
{
	uint32_t cs = v->chunk_size;
	struct idx_extent e;
	uint32_t idx;
	int rc;

	if (coff >= size) {
		memset(buf, 0, cs);
		return 0;
	}
	rc = vol_chunk_lookup(v, ino, coff, &e, &idx);
	if (rc == -ENOENT) {
		memset(buf, 0, cs);
		return 0;
	}
	if (rc == 0)
		rc = vol_chunk_read_verified(v, ino, &e, idx, buf);
	if (rc < 0)
		return rc;
	if (size < coff + cs)
		memset(buf + (size - coff), 0, coff + cs - size);
	return 0;
}

/* One piece of a write; @p gen is v->undo_gen as of reading *size. */
static int write_piece(struct vol *v, uint64_t ino, const uint8_t *src, uint64_t poff,
		       uint64_t pend, uint64_t *size, int *disk, uint64_t gen)
{
	uint32_t cs = v->chunk_size;
	uint64_t c0 = vol_round_down(poff, cs), cend = vol_round_up(pend, cs);
	uint64_t clast = cend - cs;
	bool head_b = !(poff == c0 && pend >= c0 + cs);
	bool tail_b = clast != c0 && pend % cs != 0;
	uint8_t *bounce = NULL;
	int rc;

	/* The EOF rule: the old last chunk's bytes past EOF are undefined on
	 * disk; zero them before the size grows past them, unless this piece
	 * rewrites that chunk itself (edge_fill then zeroes them). */
	if (pend > *size && *size % cs && vol_round_down(*size, cs) < c0) {
		rc = vol_zero_tail_locked(v, ino, *size, gen);
		if (rc < 0)
			return rc;
	}
	if (head_b || tail_b) {
		bounce = vol_chunk_buf_alloc(2 * (size_t)cs);
		if (!bounce)
			return -ENOMEM;
	}
	struct vol_cow c = {.start = c0,
			    .new_size = pend,
			    .touch = true,
			    .clear_suid = true,
			    .disk = *disk,
			    .ua = poff,
			    .ub = pend,
			    .gen = gen};
	uint64_t mid = c0, mid_end = cend;
	if (head_b) {
		uint64_t end = c0 + cs < pend ? c0 + cs : pend;
		rc = edge_fill(v, ino, c0, *size, bounce);
		if (rc < 0)
			goto out_free;
		memcpy(bounce + (poff - c0), src, end - poff);
		c.seg[c.nseg++] = (struct vol_seg){.buf = bounce, .nchunks = 1};
		mid = c0 + cs;
	}
	if (tail_b)
		mid_end = clast;
	if (mid < mid_end)
		c.seg[c.nseg++] = (struct vol_seg){.buf = src + (mid - poff),
						   .nchunks = (uint32_t)((mid_end - mid) / cs)};
	if (tail_b) {
		rc = edge_fill(v, ino, clast, *size, bounce + cs);
		if (rc < 0)
			goto out_free;
		memcpy(bounce + cs, src + (clast - poff), pend - clast);
		c.seg[c.nseg++] = (struct vol_seg){.buf = bounce + cs, .nchunks = 1};
	}
	rc = vol_cow_locked(v, ino, &c);
	if (rc < 0)
		goto out_free;
	if (pend > *size)
		*size = pend;
	*disk = c.disk;

out_free:
	free(bounce);
	return rc;
}

ssize_t vol_write(struct vol *v, uint64_t ino, const void *buf, size_t size, off_t off)
{
	pthread_rwlock_t *lk = vol_ilock(v, ino);
	uint32_t cs = v->chunk_size;
	struct idx_inode inode;
	uint64_t done = 0;
	int rc;

	if (size == 0)
		return 0;
	if (off < 0)
		return -EINVAL;
	if (v->rdonly)
		return -EROFS;
	if ((uint64_t)off > VOL_MAX_FILE_SIZE || size > VOL_MAX_FILE_SIZE - (uint64_t)off)
		return -EFBIG;
	pthread_rwlock_wrlock(lk);
	for (int redo = 0;; redo++) {
		/* Before the size: an undo after this read makes the piece
		 * start over from here (vol_cow.gen). */
		uint64_t gen = atomic_load(&v->undo_gen);
		rc = vol_file_read(v, ino, &inode);
		if (rc < 0)
			goto out_unlock;
		uint64_t fsize = inode.size;
		int disk = inode.disk == IDX_NO_DISK ? -1 : inode.disk;
		while (done < size) {
			uint64_t poff = (uint64_t)off + done;
			uint64_t pend = vol_round_down(poff + VOL_PIECE_MAX, cs);
			if (pend > (uint64_t)off + size)
				pend = (uint64_t)off + size;
			rc = write_piece(v, ino, (const uint8_t *)buf + done, poff, pend, &fsize,
					 &disk, gen);
			if (rc < 0)
				break;
			done += pend - poff;
		}
		if (rc != -EAGAIN || redo == VOL_REDO_MAX)
			break;
	}

out_unlock:
	pthread_rwlock_unlock(lk);
	atomic_fetch_add(&v->ctr.writes, 1);
	atomic_fetch_add(&v->ctr.bytes_written, done);
	if (done == 0 && rc < 0)
		atomic_fetch_add(&v->ctr.write_fails, 1);
	/* A failure after some pieces landed is a short write, as write(2). */
	return done > 0 ? (ssize_t)done : rc;
}
