/* The FIFO of free runs of a track: the in-memory ring buffer, walking and
 * verifying the on-disk list of run records, and writing dirty records and
 * the header back (lazily, from trk_pool_sync and trk_pool_close). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/fileio.h"
#include "core/base/log.h"
#include "core/pool_int.h"

void trk_fifo_fini(struct trk_fifo *f)
{
	free(f->buf);
	memset(f, 0, sizeof(*f));
	f->dirty_from = UINT64_MAX;
}

void trk_fifo_clear(struct trk_fifo *f)
{
	f->seq_head += f->len;
	f->first = 0;
	f->len = 0;
	f->nfree = 0;
	f->dirty_from = UINT64_MAX;
	f->head_dirty = false;
}

void trk_fifo_dirty_all(struct trk_fifo *f)
{
	if (f->len)
		f->dirty_from = f->seq_head;
}

static int fifo_grow(struct trk_fifo *f)
{
	uint32_t ncap = f->cap ? f->cap * 2 : 16;

	if (ncap < f->cap)
		return -ENOMEM;
	struct trk_frun *nb = malloc((size_t)ncap * sizeof(*nb));
	if (!nb)
		return -ENOMEM;
	/* Unroll the ring so the head lands at index 0. */
	for (uint32_t i = 0; i < f->len; i++)
		nb[i] = *trk_fifo_at(f, i);
	free(f->buf);
	f->buf = nb;
	f->cap = ncap;
	f->first = 0;
	return 0;
}

int trk_fifo_push(struct trk_fifo *f, uint32_t chunk, uint32_t count)
{
	uint64_t tail_seq = f->seq_head + f->len - 1;

	if (f->len) {
		struct trk_frun *tail = trk_fifo_at(f, f->len - 1);
		if ((uint64_t)tail->chunk + tail->count == chunk) {
			tail->count += count;
			f->nfree += count;
			if (tail_seq < f->dirty_from)
				f->dirty_from = tail_seq;
			return 0;
		}
	}
	if (f->len == f->cap) {
		int rc = fifo_grow(f);
		if (rc < 0)
			return rc;
	}
	f->len++;
	*trk_fifo_at(f, f->len - 1) = (struct trk_frun){chunk, count};
	f->nfree += count;
	/* The old tail's "next" changes, and the new run needs its record. */
	uint64_t from = f->len > 1 ? tail_seq : f->seq_head;
	if (from < f->dirty_from)
		f->dirty_from = from;
	return 0;
}

uint32_t trk_fifo_take(struct trk_fifo *f, uint32_t want, uint32_t *chunk_out)
{
	if (!f->len || !want)
		return 0;
	struct trk_frun *head = trk_fifo_at(f, 0);
	*chunk_out = head->chunk;
	if (want < head->count) {
		head->chunk += want;
		head->count -= want;
		f->nfree -= want;
		f->head_dirty = true;
		return want;
	}
	uint32_t n = head->count;
	f->nfree -= n;
	f->first = (f->first + 1) & (f->cap - 1);
	f->len--;
	f->seq_head++;
	/* The next run's record is still right: nothing points at it on disk but
	 * the header, which is rewritten anyway. */
	f->head_dirty = false;
	if (!f->len) {
		f->first = 0;
		f->dirty_from = UINT64_MAX;
	}
	return n;
}

static void reportf(trk_report_fn report, void *arg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void reportf(trk_report_fn report, void *arg, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	report(arg, msg);
}

int trk_freelist_walk(struct trk_pool *pool, struct trk_track *t, const struct trk_hdr *h,
		      struct trk_fifo *fifo, uint8_t *state, trk_report_fn report, void *arg)
{
	uint8_t buf[sizeof(struct trk_rec_disk)];
	uint64_t sum = 0, steps = 0;
	uint32_t cur = h->free_head, last = TRK_NIL;
	int problems = 0;

	uint8_t *seen = calloc((h->chunk_count + 7) / 8, 1);
	if (!seen)
		return -ENOMEM;
	while (cur != TRK_NIL) {
		struct trk_rec r;

		if (++steps > h->chunk_count) {
			reportf(report, arg, "track %s: free list does not end (a cycle)", t->path);
			problems++;
			break;
		}
		if (cur >= h->hwm) {
			reportf(report, arg,
				"track %s: free run at chunk %u lies at or above the high-water "
				"mark %u",
				t->path, cur, h->hwm);
			problems++;
			break;
		}
		ssize_t n =
			tfs_pread_full(t->fd, buf, sizeof(buf), (off_t)trk_chunk_off(pool, cur));
		if (n != (ssize_t)sizeof(buf) || trk_rec_decode(buf, &r) < 0) {
			reportf(report, arg, "track %s: free run record at chunk %u is %s", t->path,
				cur,
				n < 0 ? tfs_strerror((int)n) : "corrupt (bad magic or checksum)");
			problems++;
			break;
		}
		if (r.track != t->number || r.count == 0 || (uint64_t)cur + r.count > h->hwm) {
			reportf(report, arg,
				"track %s: free run record at chunk %u is out of bounds (track %u, "
				"%u chunks, hwm %u)",
				t->path, cur, r.track, r.count, h->hwm);
			problems++;
			break;
		}
		bool overlap = false;
		for (uint32_t i = cur; i < cur + r.count; i++) {
			if (trk_bit_get(seen, i)) {
				overlap = true;
				break;
			}
			trk_bit_set(seen, i);
		}
		if (overlap) {
			reportf(report, arg,
				"track %s: free run at chunk %u (%u chunks) overlaps an earlier "
				"run "
				"(a cycle or a corrupt list)",
				t->path, cur, r.count);
			problems++;
			break;
		}
		if (fifo) {
			int rc = trk_fifo_push(fifo, cur, r.count);
			if (rc < 0) {
				free(seen);
				return rc;
			}
		}
		if (state)
			memset(state + cur, TRK_ST_FREE, r.count);
		sum += r.count;
		last = cur;
		cur = r.next;
	}
	if (!problems && last != h->free_tail) {
		reportf(report, arg, "track %s: free list ends at chunk %u but the header says %u",
			t->path, last, h->free_tail);
		problems++;
	}
	if (!problems && sum != h->free_count) {
		reportf(report, arg,
			"track %s: free list holds %llu chunks but the header counts %u", t->path,
			(unsigned long long)sum, h->free_count);
		problems++;
	}
	if (fifo) {
		/* What was just read matches the disk. */
		fifo->dirty_from = UINT64_MAX;
		fifo->head_dirty = false;
	}
	free(seen);
	return problems;
}

/* One record to write, snapshotted under mu. */
struct rec_job {
	uint32_t chunk;
	struct trk_rec rec;
};

static int snapshot(struct trk_pool *pool, struct trk_track *t, struct rec_job **jobs_out,
		    size_t *njobs_out, uint8_t *hdr_buf)
{
	struct trk_fifo *f = &t->fifo;
	struct trk_hdr h;
	size_t n = 0;

	uint64_t from = f->dirty_from < f->seq_head ? f->seq_head : f->dirty_from;
	uint32_t first_dirty = from == UINT64_MAX ? f->len : (uint32_t)(from - f->seq_head);
	if (first_dirty > f->len)
		first_dirty = f->len;
	size_t want = (f->len - first_dirty) + (f->head_dirty ? 1 : 0);
	struct rec_job *jobs = NULL;
	if (want) {
		jobs = malloc(want * sizeof(*jobs));
		if (!jobs)
			return -ENOMEM;
	}
	for (uint32_t i = (f->head_dirty && first_dirty > 0) ? 0 : first_dirty; i < f->len;
	     i = i < first_dirty ? first_dirty : i + 1) {
		struct trk_frun *r = trk_fifo_at(f, i);
		jobs[n].chunk = r->chunk;
		jobs[n].rec.count = r->count;
		jobs[n].rec.next = i + 1 < f->len ? trk_fifo_at(f, i + 1)->chunk : TRK_NIL;
		jobs[n].rec.track = t->number;
		n++;
	}
	trk_track_hdr_fill(pool, t, &h);
	trk_hdr_encode(&h, hdr_buf);
	f->dirty_from = UINT64_MAX;
	f->head_dirty = false;
	t->hdr_dirty = false;
	*jobs_out = jobs;
	*njobs_out = n;
	return 0;
}

int trk_track_flush(struct trk_pool *pool, struct trk_track *t)
{
	struct rec_job *jobs = NULL;
	size_t njobs = 0;
	int rc = 0;

	uint8_t *hdr = malloc(TRK_HDR_SIZE);
	if (!hdr)
		return -ENOMEM;
	pthread_mutex_lock(&pool->mu);
	if (t->failed ||
	    (!t->hdr_dirty && !t->fifo.head_dirty && t->fifo.dirty_from == UINT64_MAX)) {
		pthread_mutex_unlock(&pool->mu);
		free(hdr);
		return 0;
	}
	rc = snapshot(pool, t, &jobs, &njobs, hdr);
	if (rc < 0) {
		pthread_mutex_unlock(&pool->mu);
		free(hdr);
		return rc;
	}
	/* While syncing is set nobody takes runs from this list, so the chunks
	 * the records go into stay free until they are written. */
	t->syncing = true;
	pthread_mutex_unlock(&pool->mu);

	for (size_t i = 0; i < njobs && rc == 0; i++) {
		uint8_t rec[sizeof(struct trk_rec_disk)];
		trk_rec_encode(&jobs[i].rec, rec);
		rc = tfs_pwrite_full(t->fd, rec, sizeof(rec),
				     (off_t)trk_chunk_off(pool, jobs[i].chunk));
	}
	if (rc == 0)
		rc = tfs_pwrite_full(t->fd, hdr, TRK_HDR_SIZE, 0);
	if (rc < 0 && !trk_disk_note_error(t->disk, rc))
		tfs_err("track %s: cannot write free list or header: %s; will retry at the next "
			"sync",
			t->path, tfs_strerror(rc));
	else if (rc == 0)
		atomic_store(&t->data_dirty, true);

	pthread_mutex_lock(&pool->mu);
	t->syncing = false;
	if (rc < 0) {
		trk_fifo_dirty_all(&t->fifo);
		t->fifo.head_dirty = t->fifo.len > 0;
		t->hdr_dirty = true;
	}
	pthread_cond_broadcast(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
	free(jobs);
	free(hdr);
	return rc;
}
