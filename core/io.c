/* Per-disk I/O: each disk has a queue and its own worker threads doing
 * pread/pwrite on track files, so one slow disk never stalls another.
 * A caller's first (often only) request runs in the caller's own thread:
 * waking a worker for it would cost more than the request (trk_io_run). */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/fileio.h"
#include "core/base/log.h"
#include "core/pool_int.h"

/* Reads and writes of at least IO_DIRECT_MIN bytes bypass the track's page
 * cache: the data is cached above (the kernel's FUSE page cache), so a
 * second copy only doubled the memory a large file takes, and filling fresh
 * page cache was most of the daemon's CPU time in a sequential write. Small
 * writes stay buffered (a synchronous 4 KiB disk write per small file would
 * cost more than the copy), and so do small reads. */
#define IO_DIRECT_MIN (128u << 10)
#define IO_DIRECT_ALIGN 4096u
#define IO_BOUNCE_SIZE (1u << 20)

struct trk_sys trk_sys;

static pthread_once_t bounce_once = PTHREAD_ONCE_INIT;
static pthread_key_t bounce_key;
static bool bounce_ok;

static void bounce_init(void)
{
	bounce_ok = pthread_key_create(&bounce_key, free) == 0;
}

/* This thread's aligned buffer for O_DIRECT I/O of unaligned memory (FUSE
 * write payloads follow the request header), or NULL. */
static void *bounce_get(void)
{
	void *b;

	pthread_once(&bounce_once, bounce_init);
	if (!bounce_ok)
		return NULL;
	b = pthread_getspecific(bounce_key);
	if (b)
		return b;
	if (posix_memalign(&b, IO_DIRECT_ALIGN, IO_BOUNCE_SIZE) != 0)
		return NULL;
	if (pthread_setspecific(bounce_key, b) != 0) {
		free(b);
		return NULL;
	}
	return b;
}

/* Move @p len bytes between @p buf and the track at @p off through the
 * O_DIRECT descriptor, via the aligned buffer when @p buf is not aligned.
 * A read that ends at the end of the (sparse) track file gets zeros for the
 * rest, as a buffered one does. @return 0, or nonzero when this request has
 * to go through the page cache instead (too small, unaligned, no O_DIRECT, or
 * the direct I/O failed: the buffered one then reports). */
static int io_direct(struct trk_track *t, bool write, void *buf, size_t len, off_t off)
{
	bool aligned = (uintptr_t)buf % IO_DIRECT_ALIGN == 0;
	void *b = NULL;

	if (t->dfd < 0 || len < IO_DIRECT_MIN || len % IO_DIRECT_ALIGN || off % IO_DIRECT_ALIGN)
		return 1;
	if (!aligned && !(b = bounce_get()))
		return 1;
	for (size_t done = 0; done < len;) {
		size_t n = aligned || len - done < IO_BOUNCE_SIZE ? len - done : IO_BOUNCE_SIZE;
		char *p = (char *)buf + done;
		void *io_buf = aligned ? p : b;

		if (write) {
			if (!aligned)
				memcpy(b, p, n);
			if (tfs_pwrite_full(t->dfd, io_buf, n, off + (off_t)done) < 0)
				return 1;
		} else {
			ssize_t got = pread(t->dfd, io_buf, n, off + (off_t)done);

			if (got < 0)
				return 1;
			if (!aligned)
				memcpy(p, b, (size_t)got);
			if ((size_t)got < n) {
				/* Short only at the end of the file; anything else
				 * goes the buffered way, which reads until EOF. */
				struct stat st;

				if (fstat(t->dfd, &st) != 0 ||
				    (off_t)(off + (off_t)done + got) < st.st_size)
					return 1;
				memset(p + got, 0, len - done - (size_t)got);
				return 0;
			}
		}
		done += n;
	}
	return 0;
}

/* Do one request in the calling (worker) thread. @return 0 or -errno. */
static int io_do(struct trk_pool *pool, struct trk_disk *d, struct trk_io *io)
{
	const struct trk_run *run = &io->run;
	uint64_t cs = pool->cfg.chunk_size;

	struct trk_track *t = trk_disk_track(d, run->track);
	if (!t) {
		tfs_err("%s disk %s: track %u does not exist", io->write ? "write" : "read",
			d->path, run->track);
		return -EIO;
	}
	if (t->failed || t->fd < 0) {
		tfs_err("%s disk %s: track %s is unusable (bad or missing header, see earlier "
			"messages); run fsck.trackfs",
			io->write ? "write" : "read", d->path, t->path);
		return -EIO;
	}
	if (!run->count || (uint64_t)run->chunk + run->count > t->chunk_count ||
	    io->byte_off + io->len > (uint64_t)run->count * cs) {
		tfs_err("%s track %s: request (chunk %u, %u chunks, offset %llu, %zu bytes) is out "
			"of bounds",
			io->write ? "write" : "read", t->path, run->chunk, run->count,
			(unsigned long long)io->byte_off, io->len);
		return -EINVAL;
	}
	off_t off = (off_t)(trk_chunk_off(pool, run->chunk) + io->byte_off);
	if (io->write) {
		int rc = trk_sys.write_fault ? trk_sys.write_fault(t->path, off, io->len) : 0;
		if (rc == 0 && trk_inject_take(&d->inject_writes))
			rc = -EIO;
		if (rc == 0)
			rc = io_direct(t, true, io->buf, io->len, off) == 0
				     ? 0
				     : tfs_pwrite_full(t->fd, io->buf, io->len, off);
		if (rc < 0) {
			if (rc != -ENOSPC)
				atomic_fetch_add(&d->write_errors, 1);
			/* Once the disk is failing, its status says it: one line
			 * per failed request would drown the log. */
			if (!trk_disk_note_error(d, rc))
				tfs_err("write track %s at offset %lld (%zu bytes): %s", t->path,
					(long long)off, io->len, tfs_strerror(rc));
			return rc == -ENOSPC ? rc : -EIO;
		}
		atomic_store(&t->data_dirty, true);
		return 0;
	}
	if (io_direct(t, false, io->buf, io->len, off) == 0)
		return 0;
	ssize_t n = tfs_pread_full(t->fd, io->buf, io->len, off);
	if (n < 0) {
		atomic_fetch_add(&d->read_errors, 1);
		if (!trk_disk_note_error(d, (int)n))
			tfs_err("read track %s at offset %lld (%zu bytes): %s", t->path,
				(long long)off, io->len, tfs_strerror((int)n));
		return -EIO;
	}
	/* Never-written chunks past the end of the sparse file read as zeros. */
	if ((size_t)n < io->len)
		memset((char *)io->buf + n, 0, io->len - (size_t)n);
	return 0;
}

static void *worker(void *arg)
{
	struct trk_disk *d = arg;

	pthread_mutex_lock(&d->qmu);
	for (;;) {
		while (!d->qhead && !d->stop)
			pthread_cond_wait(&d->qcv, &d->qmu);
		if (!d->qhead)
			break; /* stopping and drained */
		struct trk_io *io = d->qhead;
		d->qhead = io->next;
		if (!d->qhead)
			d->qtail = NULL;
		pthread_mutex_unlock(&d->qmu);

		int rc = io_do(d->pool, d, io);

		pthread_mutex_lock(&d->qmu);
		io->result = rc;
		io->done = true;
		pthread_cond_broadcast(&d->donecv);
	}
	pthread_mutex_unlock(&d->qmu);
	return NULL;
}

int trk_io_start(struct trk_pool *pool, struct trk_disk *d)
{
	unsigned n = pool->cfg.io_threads ? pool->cfg.io_threads : 2;
	int rc;

	d->threads = calloc(n, sizeof(*d->threads));
	if (!d->threads)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		rc = -pthread_create(&d->threads[i], NULL, worker, d);
		if (rc < 0) {
			tfs_err("disk %s: cannot start I/O worker: %s", d->path, tfs_strerror(rc));
			trk_io_stop(d);
			return rc;
		}
		d->nthreads++;
	}
	return 0;
}

void trk_io_stop(struct trk_disk *d)
{
	pthread_mutex_lock(&d->qmu);
	d->stop = true;
	pthread_cond_broadcast(&d->qcv);
	pthread_mutex_unlock(&d->qmu);
	for (unsigned i = 0; i < d->nthreads; i++)
		pthread_join(d->threads[i], NULL);
	free(d->threads);
	d->threads = NULL;
	d->nthreads = 0;
}

/* Complete @p io at once, without a worker. */
static void io_finish_now(struct trk_io *io, int result)
{
	io->result = result;
	io->done = true;
}

/* Check @p io and pick its disk. @return the disk, or NULL if @p io is
 * already finished (an error, or nothing to do). */
static struct trk_disk *io_prepare(struct trk_pool *pool, struct trk_io *io)
{
	io->done = false;
	io->result = 0;
	io->next = NULL;
	io->waiter = NULL;
	if (io->run.disk >= pool->ndisks) {
		tfs_err("%s: disk %u does not exist", io->write ? "write" : "read", io->run.disk);
		io_finish_now(io, -EIO);
		return NULL;
	}
	struct trk_disk *d = &pool->disks[io->run.disk];
	if (d->missing) {
		tfs_err("%s: disk %u (%s) is missing; its files cannot be %s until it is back",
			io->write ? "write" : "read", d->index, d->path,
			io->write ? "written" : "read");
		io_finish_now(io, -EIO);
		return NULL;
	}
	if (io->write && pool->cfg.readonly) {
		io_finish_now(io, -EROFS);
		return NULL;
	}
	if (!io->len) {
		io_finish_now(io, 0);
		return NULL;
	}
	return d;
}

void trk_io_submit(struct trk_pool *pool, struct trk_io *io)
{
	struct trk_disk *d = io_prepare(pool, io);

	if (!d)
		return;
	io->waiter = d;
	pthread_mutex_lock(&d->qmu);
	if (d->qtail)
		d->qtail->next = io;
	else
		d->qhead = io;
	d->qtail = io;
	pthread_cond_signal(&d->qcv);
	pthread_mutex_unlock(&d->qmu);
}

/* Do @p io, which no worker has, in the calling thread. @return its result. */
static int io_run_here(struct trk_pool *pool, struct trk_disk *d, struct trk_io *io)
{
	io->result = io_do(pool, d, io);
	io->done = true;
	return io->result;
}

/* Take @p io off its disk's queue if no worker has taken it yet. Called with
 * qmu held. */
static bool io_unqueue(struct trk_disk *d, struct trk_io *io)
{
	struct trk_io *prev = NULL;

	for (struct trk_io *q = d->qhead; q; prev = q, q = q->next) {
		if (q != io)
			continue;
		if (prev)
			prev->next = q->next;
		else
			d->qhead = q->next;
		if (d->qtail == q)
			d->qtail = prev;
		return true;
	}
	return false;
}

int trk_io_wait(struct trk_pool *pool, struct trk_io *io)
{
	struct trk_disk *d = io->waiter;

	if (!d)
		return io->result; /* finished in trk_io_submit */
	pthread_mutex_lock(&d->qmu);
	if (!io->done && io_unqueue(d, io)) {
		/* No worker has started it: do it in this thread instead of paying
		 * two thread wake-ups for a small request. Requests submitted to
		 * other disks before this wait are already with their own
		 * workers, so disks still work in parallel. */
		pthread_mutex_unlock(&d->qmu);
		return io_run_here(pool, d, io);
	}
	while (!io->done)
		pthread_cond_wait(&d->donecv, &d->qmu);
	pthread_mutex_unlock(&d->qmu);
	return io->result;
}

int trk_io_run(struct trk_pool *pool, struct trk_io *ios, size_t n)
{
	struct trk_disk *d;
	int rc = 0;

	if (!n)
		return 0;
	/* The others go to their disks' workers first, so they run while this
	 * thread does the first one itself: a single request (the common small
	 * read or write) never wakes a worker at all. */
	for (size_t i = 1; i < n; i++)
		trk_io_submit(pool, &ios[i]);
	d = io_prepare(pool, &ios[0]);
	if (d)
		io_run_here(pool, d, &ios[0]);
	for (size_t i = 0; i < n; i++) {
		int wrc = i ? trk_io_wait(pool, &ios[i]) : ios[0].result;

		if (wrc < 0 && rc == 0)
			rc = wrc;
	}
	return rc;
}

int trk_io_read(struct trk_pool *pool, const struct trk_run *run, uint64_t byte_off, void *buf,
		size_t len)
{
	struct trk_io io = {
		.write = false, .run = *run, .byte_off = byte_off, .buf = buf, .len = len};

	return trk_io_run(pool, &io, 1);
}

int trk_io_write(struct trk_pool *pool, const struct trk_run *run, uint64_t byte_off,
		 const void *buf, size_t len)
{
	struct trk_io io = {
		.write = true, .run = *run, .byte_off = byte_off, .buf = (void *)buf, .len = len};

	return trk_io_run(pool, &io, 1);
}
