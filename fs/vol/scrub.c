/* Online scrub: while a process holds the volume open for writing (the FUSE
 * daemon, trackfs-s3), a thread of its own reads every chunk the index
 * references and compares it with its checksum, at a rate limit, at the
 * kernel's idle I/O priority, one batch of at most 1 MiB at a time under
 * the file's data lock taken shared (so a chunk being read is never freed
 * and reused under it, and the lock is never held across the rate limit's
 * pauses). Bad chunks are logged and listed by path in META/scrub.report.
 *
 * META/scrub.state keeps the cursor (inode, offset), the counts and the
 * times, rewritten atomically every few seconds and at the end, so that a
 * scrub interrupted by an unmount or a crash goes on at the next open
 * where it was (a batch or two is read again, never skipped). With
 * vol_open_opts.scrub_every_s the thread starts a scrub by itself once the
 * last finished one is that old. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/base/log.h"
#include "fs/vol/data_int.h"

#define SCRUB_STATE "scrub.state"
#define SCRUB_REPORT VOL_SCRUB_REPORT_NAME
#define SCRUB_BATCH (1u << 20)
#define SCRUB_SAVE_MS 2000
#define SCRUB_DEFAULT_RATE (64ull << 20)

struct vol_scrubber {
	pthread_mutex_t mu; /* guards everything below */
	pthread_cond_t cond;
	pthread_t thread;
	bool closing;
	bool want;	/* a scrub is asked for (or being resumed) */
	bool stop;	/* stop the running one after its batch */
	bool running;	/* the thread is scrubbing */
	uint64_t every; /* seconds between scheduled scrubs; 0: none */
	struct vol_scrub_status st;
	uint64_t cur_ino, cur_off; /* the cursor: the next chunk to read */
	uint64_t missing_noted;	   /* bit per disk: "missing, skipped" was said */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void meta_path(struct vol *v, const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", v->meta_dir, name);
}

/* ---- the state file ------------------------------------------------------------- */

static const char *state_name(int s)
{
	return s == VOL_SCRUB_RUNNING ? "running" : s == VOL_SCRUB_DONE ? "done" : "stopped";
}

static int save_locked(struct vol *v, struct vol_scrubber *s)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	FILE *f;
	int rc = 0;

	meta_path(v, SCRUB_STATE, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f,
		"trackfs-scrub 1\nstate %s\nino %" PRIu64 "\noff %" PRIu64 "\ndone %" PRIu64
		"\ntotal %" PRIu64 "\nbad %" PRIu64 "\nrate %" PRIu64 "\nstarted %" PRId64
		"\nfinished %" PRId64 "\n",
		state_name(s->st.state), s->cur_ino, s->cur_off, s->st.bytes_done,
		s->st.bytes_total, s->st.bad, s->st.rate, s->st.started_s, s->st.finished_s);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = -errno;
	if (fclose(f) != 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) != 0)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		tfs_warn("scrub of %s: cannot save its progress in %s: %s (it starts over if "
			 "interrupted)",
			 v->meta_dir, path, tfs_strerror(rc));
	}
	return rc;
}

static void load(struct vol *v, struct vol_scrubber *s)
{
	char path[PATH_MAX], key[16], val[32];
	FILE *f;

	meta_path(v, SCRUB_STATE, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return;
	while (fscanf(f, "%15s %31s", key, val) == 2) {
		uint64_t x = strtoull(val, NULL, 10);
		if (!strcmp(key, "state"))
			s->st.state = !strcmp(val, "running") ? VOL_SCRUB_RUNNING
				      : !strcmp(val, "done")  ? VOL_SCRUB_DONE
							      : VOL_SCRUB_STOPPED;
		else if (!strcmp(key, "ino"))
			s->cur_ino = x;
		else if (!strcmp(key, "off"))
			s->cur_off = x;
		else if (!strcmp(key, "done"))
			s->st.bytes_done = x;
		else if (!strcmp(key, "total"))
			s->st.bytes_total = x;
		else if (!strcmp(key, "bad"))
			s->st.bad = x;
		else if (!strcmp(key, "rate"))
			s->st.rate = x;
		else if (!strcmp(key, "started"))
			s->st.started_s = (int64_t)x;
		else if (!strcmp(key, "finished"))
			s->st.finished_s = (int64_t)x;
	}
	fclose(f);
}

/* One line per bad chunk, by path, in META/scrub.report. */
static void report(struct vol *v, uint64_t ino, uint64_t off, const struct idx_extent *e,
		   uint32_t idx, const char *what)
{
	char path[PATH_MAX], name[PATH_MAX];
	FILE *f;

	if (vol_ino_path(v, ino, name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "(a file with no name left)");
	tfs_err("scrub: %s (inode %" PRIu64 ") at offset %" PRIu64 ": %s on disk %s track %" PRIu32
		" chunk %" PRIu32 "; restore the file from a backup",
		name, ino, off, what, trk_pool_disk_path(v->pool, e->disk), e->track,
		e->chunk + idx);
	meta_path(v, SCRUB_REPORT, path, sizeof(path));
	f = fopen(path, "ae");
	if (!f)
		return;
	fprintf(f,
		"%s\tinode %" PRIu64 " offset %" PRIu64 " disk %s track %" PRIu32 " chunk %" PRIu32
		": %s\n",
		name, ino, off, trk_pool_disk_path(v->pool, e->disk), e->track, e->chunk + idx,
		what);
	fclose(f);
}

/* ---- one batch ------------------------------------------------------------------ */

static int first_cb(void *arg, uint64_t ino, const struct idx_extent *e)
{
	uint64_t *out = arg;

	(void)e;
	*out = ino;
	return 1;
}

/* The file holding the next chunk at or after the cursor: 1 with *ino, 0 at
 * the end of the index. */
static int next_ino(struct vol *v, uint64_t ino, uint64_t off, uint64_t *out)
{
	struct idx_extent e;
	struct idx_txn *txn;
	int rc = idx_txn_begin_read(v->idx, &txn);

	if (rc < 0)
		return rc;
	rc = idx_extent_seek(txn, ino, off, &e);
	if (rc == 0) {
		*out = ino;
		rc = 1;
	} else if (rc == -ENOENT && ino < UINT64_MAX) {
		rc = idx_extent_iter_from(txn, ino + 1, 0, first_cb, out);
	}
	idx_txn_abort(txn);
	return rc;
}

/* Read and check up to SCRUB_BATCH bytes from the cursor, moving it.
 * @return bytes checked (0: a skip), 1 << 62 at the end, or -errno. */
static int64_t batch(struct vol *v, struct vol_scrubber *s, uint8_t *buf)
{
	uint32_t cs = v->chunk_size, per = SCRUB_BATCH / cs ? SCRUB_BATCH / cs : 1;
	uint64_t ino, off;
	struct idx_extent e;
	struct idx_txn *txn;
	int64_t got = 0;
	int rc;

	pthread_mutex_lock(&s->mu);
	ino = s->cur_ino;
	off = s->cur_off;
	pthread_mutex_unlock(&s->mu);
	uint64_t was = ino;
	rc = next_ino(v, ino, off, &ino);
	if (rc <= 0)
		return rc < 0 ? rc : (int64_t)1 << 62;
	if (ino != was)
		off = 0;

	pthread_rwlock_t *il = vol_ilock(v, ino);
	pthread_rwlock_rdlock(il);
	rc = idx_txn_begin_read(v->idx, &txn);
	if (rc == 0) {
		rc = idx_extent_seek(txn, ino, off, &e);
		idx_txn_abort(txn);
	}
	if (rc == -ENOENT) { /* changed meanwhile: on with the next file */
		pthread_rwlock_unlock(il);
		pthread_mutex_lock(&s->mu);
		s->cur_ino = ino + 1;
		s->cur_off = 0;
		pthread_mutex_unlock(&s->mu);
		return 0;
	}
	if (rc < 0) {
		pthread_rwlock_unlock(il);
		return rc;
	}
	uint32_t first = off > e.off ? (uint32_t)((off - e.off) / cs) : 0;
	uint32_t n = e.nchunks - first < per ? e.nchunks - first : per;
	uint64_t at = e.off + (uint64_t)first * cs;

	if (trk_pool_disk_missing(v->pool, e.disk)) {
		if (!(s->missing_noted & (1ull << e.disk))) {
			s->missing_noted |= 1ull << e.disk;
			tfs_warn("scrub of %s: disk %u (%s) is missing: its chunks are skipped",
				 v->meta_dir, e.disk, trk_pool_disk_path(v->pool, e.disk));
		}
	} else {
		struct trk_run run = vol_ext_run(&e, first, n);
		rc = trk_io_read(v->pool, &run, 0, buf, (size_t)n * cs);
		if (rc < 0) {
			report(v, ino, at, &e, first, tfs_strerror(rc));
			pthread_mutex_lock(&s->mu);
			s->st.bad += n;
			pthread_mutex_unlock(&s->mu);
		} else {
			for (uint32_t j = 0; j < n; j++) {
				if (trk_checksum(buf + (size_t)j * cs, cs) == e.sums[first + j])
					continue;
				if (e.disk < VOL_MAX_DISKS)
					atomic_fetch_add(&v->ctr.csum_bad[e.disk], 1);
				report(v, ino, at + (uint64_t)j * cs, &e, first + j,
				       "checksum mismatch");
				pthread_mutex_lock(&s->mu);
				s->st.bad++;
				pthread_mutex_unlock(&s->mu);
			}
		}
		got = (int64_t)n * cs;
	}
	pthread_rwlock_unlock(il);
	pthread_mutex_lock(&s->mu);
	s->cur_ino = ino;
	s->cur_off = at + (uint64_t)n * cs;
	s->st.bytes_done += (uint64_t)n * cs;
	pthread_mutex_unlock(&s->mu);
	return got;
}

/* ---- the thread ----------------------------------------------------------------- */

/* Sleep until @p until_ms (monotonic) or a stop; @return true when stopped. */
static bool pause_until(struct vol_scrubber *s, uint64_t until_ms)
{
	bool stop;

	pthread_mutex_lock(&s->mu);
	while (!s->stop && !s->closing && now_ms() < until_ms) {
		struct timespec ts;
		uint64_t left = until_ms - now_ms();
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)(left / 1000);
		ts.tv_nsec += (long)(left % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&s->cond, &s->mu, &ts);
	}
	stop = s->stop || s->closing;
	pthread_mutex_unlock(&s->mu);
	return stop;
}

static void run_scrub(struct vol *v, struct vol_scrubber *s, uint8_t *buf)
{
	uint64_t t0 = now_ms(), last_save = t0, base = s->st.bytes_done, rate;
	int rc = 0;

	for (;;) {
		int64_t n = batch(v, s, buf);
		if (n < 0) {
			rc = (int)n;
			break;
		}
		if (n == (int64_t)1 << 62)
			break;
		pthread_mutex_lock(&s->mu);
		rate = s->st.rate;
		uint64_t done = s->st.bytes_done - base;
		s->st.elapsed_ms = now_ms() - t0;
		if (now_ms() - last_save >= SCRUB_SAVE_MS) {
			save_locked(v, s);
			last_save = now_ms();
		}
		pthread_mutex_unlock(&s->mu);
		/* At most @rate bytes per second since this run began. */
		uint64_t due = rate ? t0 + done * 1000 / rate : 0;
		if (pause_until(s, due))
			break;
	}
	pthread_mutex_lock(&s->mu);
	s->st.elapsed_ms = now_ms() - t0;
	if (rc < 0) {
		tfs_err("scrub of %s: stopped by an error: %s; `trackfs scrub` goes on from here",
			v->meta_dir, tfs_strerror(rc));
		s->st.state = VOL_SCRUB_STOPPED;
	} else if (s->stop || s->closing) {
		s->st.state = s->closing && !s->stop ? VOL_SCRUB_RUNNING : VOL_SCRUB_STOPPED;
		tfs_info("scrub of %s: %s at %" PRIu64 " of %" PRIu64 " bytes; %s", v->meta_dir,
			 s->closing && !s->stop ? "interrupted" : "stopped", s->st.bytes_done,
			 s->st.bytes_total,
			 s->closing && !s->stop ? "it goes on at the next mount"
						: "`trackfs scrub` goes on from here");
	} else {
		s->st.state = VOL_SCRUB_DONE;
		s->st.finished_s = (int64_t)time(NULL);
		tfs_info("scrub of %s: done, %" PRIu64 " bytes read, %" PRIu64 " bad chunk%s%s",
			 v->meta_dir, s->st.bytes_done, s->st.bad, s->st.bad == 1 ? "" : "s",
			 s->st.bad ? " (listed in scrub.report in the metadata directory)" : "");
	}
	s->stop = false;
	save_locked(v, s);
	pthread_mutex_unlock(&s->mu);
}

/* A new scrub from the start: counts reset, the report emptied. */
static void begin_locked(struct vol *v, struct vol_scrubber *s)
{
	struct vol_info *info = calloc(1, sizeof(*info));
	char path[PATH_MAX];

	s->cur_ino = 0;
	s->cur_off = 0;
	s->st.bytes_done = 0;
	s->st.bad = 0;
	s->st.started_s = (int64_t)time(NULL);
	s->st.finished_s = 0;
	s->st.bytes_total = 0;
	s->missing_noted = 0;
	if (info) {
		pthread_mutex_unlock(&s->mu);
		if (vol_info(v, info) == 0)
			s->st.bytes_total = info->chunks_used * v->chunk_size;
		pthread_mutex_lock(&s->mu);
		free(info);
	}
	meta_path(v, SCRUB_REPORT, path, sizeof(path));
	if (truncate(path, 0) < 0 && errno != ENOENT)
		tfs_warn("scrub of %s: cannot empty %s: %s", v->meta_dir, path,
			 tfs_strerror(-errno));
}

static void *scrubber_main(void *arg)
{
	struct vol *v = arg;
	struct vol_scrubber *s = v->scrubber;
	uint8_t *buf =
		vol_chunk_buf_alloc(SCRUB_BATCH > v->chunk_size ? SCRUB_BATCH : v->chunk_size);

	/* Users' I/O first: the idle class gets the disk when nobody else wants
	 * it (schedulers that honour it: BFQ; others ignore it). */
	if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, (int)syscall(SYS_gettid),
		    3 << 13 /* IOPRIO_CLASS_IDLE */) < 0)
		tfs_debug("scrub: idle I/O priority: %s", tfs_strerror(-errno));
	pthread_mutex_lock(&s->mu);
	while (!s->closing && buf) {
		if (!s->want && s->every && s->st.state != VOL_SCRUB_RUNNING &&
		    (int64_t)time(NULL) - (s->st.finished_s ? s->st.finished_s : s->st.started_s) >=
			    (int64_t)s->every) {
			tfs_info("scrub of %s: the scheduled scrub (every %" PRIu64 " s) begins",
				 v->meta_dir, s->every);
			if (!s->st.rate)
				s->st.rate = SCRUB_DEFAULT_RATE;
			s->want = true;
			s->st.state = VOL_SCRUB_STOPPED; /* a new one, from the start */
		}
		if (!s->want) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 60;
			pthread_cond_timedwait(&s->cond, &s->mu, &ts);
			continue;
		}
		s->want = false;
		/* Running from here on, for every reader: begin_locked lets go
		 * of the mutex while it counts the chunks in use. */
		s->running = true;
		bool fresh = s->st.state != VOL_SCRUB_RUNNING;
		s->st.state = VOL_SCRUB_RUNNING;
		if (fresh)
			begin_locked(v, s);
		save_locked(v, s);
		pthread_mutex_unlock(&s->mu);
		run_scrub(v, s, buf);
		pthread_mutex_lock(&s->mu);
		s->running = false;
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->mu);
	free(buf);
	return NULL;
}

/* ---- the interface -------------------------------------------------------------- */

int vol_scrubber_init(struct vol *v, uint64_t every_s)
{
	struct vol_scrubber *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->every = every_s;
	load(v, s);
	if (s->st.state == VOL_SCRUB_RUNNING) {
		tfs_info("scrub of %s: going on with the interrupted scrub (%" PRIu64 " of about "
			 "%" PRIu64 " bytes read)",
			 v->meta_dir, s->st.bytes_done, s->st.bytes_total);
		s->want = true;
	}
	v->scrubber = s;
	rc = -pthread_create(&s->thread, NULL, scrubber_main, v);
	if (rc < 0) {
		v->scrubber = NULL;
		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->mu);
		free(s);
	}
	return rc;
}

void vol_scrubber_fini(struct vol *v)
{
	struct vol_scrubber *s = v->scrubber;

	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->closing = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->mu);
	free(s);
	v->scrubber = NULL;
}

int vol_scrub_start(struct vol *v, uint64_t rate, bool restart)
{
	struct vol_scrubber *s = v->scrubber;

	if (!s)
		return v->rdonly ? -EROFS : -ENOTSUP;
	pthread_mutex_lock(&s->mu);
	s->st.rate = rate;
	if (!s->running) {
		/* A stopped scrub goes on from its cursor unless a new one is asked. */
		if (restart || s->st.state == VOL_SCRUB_DONE || !s->st.started_s)
			s->st.state = VOL_SCRUB_NONE;
		else if (s->st.state == VOL_SCRUB_STOPPED)
			s->st.state = VOL_SCRUB_RUNNING;
		s->want = true;
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->mu);
	return 0;
}

int vol_scrub_stop(struct vol *v)
{
	struct vol_scrubber *s = v->scrubber;
	int rc = 0;

	if (!s)
		return -ESRCH;
	pthread_mutex_lock(&s->mu);
	if (s->running || s->want) {
		s->stop = true;
		s->want = false;
		pthread_cond_broadcast(&s->cond);
		while (s->running)
			pthread_cond_wait(&s->cond, &s->mu);
		s->stop = false;
	} else {
		rc = -ESRCH;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int vol_scrub_status(struct vol *v, struct vol_scrub_status *out)
{
	struct vol_scrubber *s = v->scrubber;

	memset(out, 0, sizeof(*out));
	if (!s)
		return -ENOTSUP;
	pthread_mutex_lock(&s->mu);
	*out = s->st;
	if (s->want && !s->running)
		out->state = VOL_SCRUB_RUNNING; /* about to run */
	pthread_mutex_unlock(&s->mu);
	return 0;
}
