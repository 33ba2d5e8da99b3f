/* vol_disk_drain: every chunk moves off the drained disk with every byte
 * intact, while files are written and truncated; a drain stopped, or killed
 * with the process, goes on after a reopen; new chunks never go to a
 * draining disk; fsck.trackfs finds the volume clean afterwards. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

#define DISK 0u

/* The bytes of file @p seed at @p off: a pure function of both. */
static void pattern(uint64_t seed, uint64_t off, uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint64_t s = seed * 0x100000001b3ull ^ ((off + i) >> 3);
		p[i] = (uint8_t)(fx_rand(&s) >> (8 * ((off + i) & 7)));
	}
}

static void write_pattern(struct fx *f, uint64_t ino, uint64_t seed, uint64_t off, size_t len)
{
	uint8_t *b = malloc(len);
	cr_assert_not_null(b);
	pattern(seed, off, b, len);
	fx_write(f, ino, b, len, off);
	free(b);
}

/* [off, off + len) holds pattern @p seed (or zeros when @p seed is 0). */
static void expect_pattern(struct fx *f, uint64_t ino, uint64_t seed, uint64_t off, size_t len)
{
	uint8_t *b = malloc(len), *w = malloc(len);
	cr_assert(b && w);
	ssize_t n = vol_read(f->v, ino, b, len, (off_t)off);
	cr_assert_eq(n, (ssize_t)len, "read inode %llu %zu at %llu: %zd", (unsigned long long)ino,
		     len, (unsigned long long)off, n);
	if (seed)
		pattern(seed, off, w, len);
	else
		memset(w, 0, len);
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(b[i], w[i], "inode %llu byte %llu is %#x, expected %#x",
			     (unsigned long long)ino, (unsigned long long)(off + i), b[i], w[i]);
	free(b);
	free(w);
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

/* Chunks the index references on @p disk. */
static uint64_t chunks_on(struct fx *f, unsigned disk)
{
	struct count_disk c = {.disk = disk};
	struct idx_txn *txn;
	cr_assert_eq(idx_txn_begin_read(f->v->idx, &txn), 0);
	cr_assert_eq(idx_extent_iter_all(txn, count_cb, &c), 0);
	idx_txn_abort(txn);
	return c.chunks;
}

static uint64_t new_file_on(struct fx *f, const char *name, int disk)
{
	uint64_t ino = fx_create(f, name);
	cr_assert_eq(vol_set_disk(f->v, ino, disk), 0);
	return ino;
}

/* The files of the main test, with what they must hold. */
struct spec {
	const char *name;
	uint64_t ino;
	uint64_t size;
};

static void populate(struct fx *f, struct spec *s, size_t n)
{
	uint32_t cs = f->cs;
	for (size_t i = 0; i < n; i++) {
		s[i].ino = new_file_on(f, s[i].name, (int)DISK);
		if (s[i].size)
			write_pattern(f, s[i].ino, s[i].ino, 0, s[i].size);
	}
	/* A hole in the middle of the large one, and one past a gap. */
	cr_assert_eq(vol_fallocate(f->v, s[n - 1].ino, VOL_FALLOC_PUNCH_HOLE | VOL_FALLOC_KEEP_SIZE,
				   3 * cs, 200 * cs),
		     0);
}

static void expect_files(struct fx *f, const struct spec *s, size_t n)
{
	uint32_t cs = f->cs;
	for (size_t i = 0; i < n; i++) {
		struct vol_attr a = fx_getattr(f, s[i].ino);
		cr_assert_eq(a.size, s[i].size, "%s: size %llu", s[i].name,
			     (unsigned long long)a.size);
		if (i == n - 1) {
			expect_pattern(f, s[i].ino, s[i].ino, 0, 3 * cs);
			expect_pattern(f, s[i].ino, 0, 3 * cs, 200 * cs);
			expect_pattern(f, s[i].ino, s[i].ino, 203 * cs, s[i].size - 203 * cs);
		} else if (s[i].size) {
			expect_pattern(f, s[i].ino, s[i].ino, 0, s[i].size);
		}
		fx_extent_count(f, s[i].ino);
	}
}

static struct spec main_files[] = {
	{"empty", 0, 0},	  {"one byte", 0, 1},	 {"small", 0, 3000},
	{"two chunks", 0, 8192},  {"odd", 0, 70001},	 {"medium", 0, 1 << 20},
	{"five MiB", 0, 5 << 20}, {"large", 0, 9437185},
};
#define NMAIN (sizeof(main_files) / sizeof(main_files[0]))

static void drain_ok(struct fx *f, const struct vol_drain_opts *o)
{
	int rc = vol_disk_drain(f->v, DISK, o);
	cr_assert_eq(rc, 0, "vol_disk_drain: %d", rc);
	struct vol_drain_status st;
	cr_assert_eq(vol_disk_drain_state(f->v, DISK, &st), 0);
	cr_assert_eq(st.state, VOL_DRAIN_DRAINED);
	cr_assert_eq(chunks_on(f, DISK), 0, "chunks left on the drained disk");
}

static uint64_t sparse_seed(struct fx *f)
{
	(void)f;
	return 7;
}

Test(drain, many_files_every_byte)
{
	struct fx f;
	fx_setup(&f, 4096);
	populate(&f, main_files, NMAIN);
	/* A hard link and a file with sparse pieces far apart, on the disk. */
	struct vol_attr la;
	cr_assert_eq(vol_link(f.v, main_files[5].ino, VOL_ROOT_INO, "link", &la), 0);
	uint64_t sp = new_file_on(&f, "sparse", (int)DISK);
	write_pattern(&f, sp, sparse_seed(&f), 100ull << 20, 5000);
	write_pattern(&f, sp, sparse_seed(&f), 1ull << 30, 4096);
	/* Another on the other disk stays where it is. */
	uint64_t other = new_file_on(&f, "other", 1);
	write_pattern(&f, other, 99, 0, 300000);
	uint64_t before = chunks_on(&f, DISK), other_before = chunks_on(&f, 1);
	cr_assert_gt(before, 2000);
	cr_assert_eq(vol_sync(f.v), 0);

	drain_ok(&f, NULL);
	cr_assert_eq(chunks_on(&f, 1), other_before + before);
	expect_files(&f, main_files, NMAIN);
	expect_pattern(&f, la.ino, main_files[5].ino, 0, 1 << 20);
	expect_pattern(&f, sp, 0, 0, 4096);
	expect_pattern(&f, sp, sparse_seed(&f), 100ull << 20, 5000);
	expect_pattern(&f, sp, sparse_seed(&f), 1ull << 30, 4096);
	expect_pattern(&f, other, 99, 0, 300000);

	/* New files avoid the drained disk, before and after a reopen. */
	uint64_t nf = fx_create(&f, "new");
	write_pattern(&f, nf, 5, 0, 100000);
	cr_assert_eq(chunks_on(&f, DISK), 0);
	fx_reopen(&f);
	uint64_t nf2 = fx_create(&f, "new2");
	cr_assert_eq(vol_set_disk(f.v, nf2, (int)DISK), 0);
	write_pattern(&f, nf2, 6, 0, 100000);
	cr_assert_eq(chunks_on(&f, DISK), 0);
	expect_files(&f, main_files, NMAIN);
	/* A drained disk drains at once. */
	drain_ok(&f, NULL);
	/* The drained disk's chunks are all free once the moves are durable. */
	struct trk_disk_stats ds;
	cr_assert_eq(vol_sync(f.v), 0);
	cr_assert_eq(trk_pool_disk_stats(f.v->pool, DISK, &ds), 0);
	cr_assert_eq(ds.chunks_used, 0, "%llu chunks still used on the drained disk",
		     (unsigned long long)ds.chunks_used);
	fx_close_and_fsck(&f);
	fx_teardown(&f);
}

/* ---- writes and truncates during a drain --------------------------------- */

struct writer {
	struct fx *f;
	uint64_t ino[4];
	atomic_bool stop;
	unsigned rounds;
	uint64_t size[4];
	uint64_t gen[4]; /* seed of each file's current content */
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	uint64_t rng = 42;
	uint8_t *b = malloc(1 << 20);
	cr_assert_not_null(b);
	while (!atomic_load(&w->stop) || w->rounds < 20) {
		unsigned k = (unsigned)(fx_rand(&rng) % 4);
		uint64_t op = fx_rand(&rng) % 4;
		if (op == 0) {
			/* Truncate down, then the file is rewritten whole. */
			cr_assert_eq(fx_truncate(w->f, w->ino[k], 0), 0);
			w->size[k] = 0;
		}
		/* Rewrite the whole file with a new seed: its content stays a
		 * pure function of (seed, offset). */
		uint64_t seed = fx_rand(&rng) | 1;
		uint64_t size = (fx_rand(&rng) % (3u << 20)) + 1;
		for (uint64_t off = 0; off < size; off += 1 << 20) {
			size_t len = size - off < (1 << 20) ? size - off : (1 << 20);
			pattern(seed, off, b, len);
			cr_assert_eq(vol_write(w->f->v, w->ino[k], b, len, (off_t)off),
				     (ssize_t)len);
		}
		if (w->size[k] > size)
			cr_assert_eq(fx_truncate(w->f, w->ino[k], size), 0);
		w->size[k] = size;
		w->gen[k] = seed;
		w->rounds++;
	}
	free(b);
	return NULL;
}

Test(drain, concurrent_writes_and_truncates)
{
	struct fx f;
	fx_setup(&f, 4096);
	populate(&f, main_files, NMAIN);
	struct writer w = {.f = &f};
	char name[32];
	for (int k = 0; k < 4; k++) {
		snprintf(name, sizeof(name), "busy%d", k);
		w.ino[k] = new_file_on(&f, name, (int)DISK);
		write_pattern(&f, w.ino[k], 1000 + k, 0, 2 << 20);
		w.size[k] = 2 << 20;
		w.gen[k] = 1000 + k;
	}
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, writer_main, &w), 0);
	/* Slow enough that the writer runs all through it. */
	struct vol_drain_opts o = {.rate = 64u << 20};
	drain_ok(&f, &o);
	atomic_store(&w.stop, true);
	pthread_join(t, NULL);
	cr_assert_eq(chunks_on(&f, DISK), 0, "a write during the drain landed on its disk");
	for (int k = 0; k < 4; k++) {
		cr_assert_eq(fx_getattr(&f, w.ino[k]).size, w.size[k]);
		expect_pattern(&f, w.ino[k], w.gen[k], 0, w.size[k]);
		fx_extent_count(&f, w.ino[k]);
	}
	expect_files(&f, main_files, NMAIN);
	fx_close_and_fsck(&f);
	fx_teardown(&f);
}

/* ---- stopped, then resumed after a reopen --------------------------------- */

struct stopper {
	atomic_bool stop;
	unsigned calls, after;
	uint64_t last_done;
};

static void stop_cb(void *arg, uint64_t done, uint64_t total)
{
	struct stopper *s = arg;
	cr_assert_leq(done, total);
	cr_assert_geq(done, s->last_done, "progress went back");
	s->last_done = done;
	if (++s->calls == s->after)
		atomic_store(&s->stop, true);
}

Test(drain, stopped_and_resumed)
{
	struct fx f;
	fx_setup(&f, 4096);
	populate(&f, main_files, NMAIN);
	uint64_t before = chunks_on(&f, DISK);
	struct stopper s = {.after = 2};
	struct vol_drain_opts o = {.progress_cb = stop_cb, .arg = &s, .stop = &s.stop};
	cr_assert_eq(vol_disk_drain(f.v, DISK, &o), -EINTR);
	struct vol_drain_status st;
	cr_assert_eq(vol_disk_drain_state(f.v, DISK, &st), 0);
	cr_assert_eq(st.state, VOL_DRAIN_DRAINING);
	cr_assert_gt(st.bytes_done, 0);
	uint64_t left = chunks_on(&f, DISK);
	cr_assert(left > 0 && left < before, "left %llu of %llu", (unsigned long long)left,
		  (unsigned long long)before);
	cr_assert_eq(left + st.bytes_done / f.cs, before);
	expect_files(&f, main_files, NMAIN);

	fx_reopen(&f);
	cr_assert_eq(vol_disk_drain_state(f.v, DISK, &st), 0);
	cr_assert_eq(st.state, VOL_DRAIN_DRAINING);
	/* Still draining after the reopen: a new file's hint is not taken. */
	uint64_t nf = new_file_on(&f, "new", (int)DISK);
	write_pattern(&f, nf, 3, 0, 200000);
	cr_assert_eq(chunks_on(&f, DISK), left);
	struct stopper s2 = {.after = 0};
	o.arg = &s2;
	o.stop = &s2.stop;
	drain_ok(&f, &o);
	cr_assert_eq(s2.last_done, before * f.cs, "moved %llu bytes, expected %llu",
		     (unsigned long long)s2.last_done, (unsigned long long)(before * f.cs));
	expect_files(&f, main_files, NMAIN);
	expect_pattern(&f, nf, 3, 0, 200000);
	/* Undrain: the disk takes new chunks again. */
	cr_assert_eq(vol_disk_undrain(f.v, DISK), 0);
	cr_assert_eq(vol_disk_drain_state(f.v, DISK, &st), 0);
	cr_assert_eq(st.state, VOL_DRAIN_NONE);
	uint64_t back = new_file_on(&f, "back", (int)DISK);
	write_pattern(&f, back, 4, 0, 8192);
	cr_assert_eq(chunks_on(&f, DISK), 2);
	fx_close_and_fsck(&f);
	fx_teardown(&f);
}

/* ---- killed mid-drain ------------------------------------------------------ */

struct crasher {
	struct vol *v;
	unsigned calls;
};

/* In the child: make the first moves durable, then die like kill -9
 * while later moves are only in the index's group or half written. */
static void crash_cb(void *arg, uint64_t done, uint64_t total)
{
	struct crasher *c = arg;
	(void)done;
	(void)total;
	c->calls++;
	if (c->calls == 6 && vol_sync(c->v) != 0)
		_exit(3);
	if (c->calls == 9)
		_exit(0);
}

Test(drain, killed_mid_drain_resumes)
{
	struct fx f;
	fx_setup(&f, 4096);
	populate(&f, main_files, NMAIN);
	uint64_t before = chunks_on(&f, DISK);
	fx_close(&f);

	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct vol *v;
		struct vol_open_opts oo = {.owner = "drain child", .flush_ms = 20};
		if (vol_open(f.tv.meta, &oo, &v) != 0)
			_exit(2);
		struct crasher c = {.v = v};
		struct vol_drain_opts o = {.progress_cb = crash_cb, .arg = &c};
		vol_disk_drain(v, DISK, &o);
		_exit(4); /* no vol_close: the volume stays unclean */
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);

	fx_open(&f);
	cr_assert(vol_was_unclean(f.v));
	struct vol_drain_status st;
	cr_assert_eq(vol_disk_drain_state(f.v, DISK, &st), 0);
	cr_assert_eq(st.state, VOL_DRAIN_DRAINING);
	cr_assert_gt(st.bytes_done, 0, "the synced moves were lost");
	uint64_t left = chunks_on(&f, DISK);
	cr_assert_eq(left + st.bytes_done / f.cs, before, "left %llu, done %llu, before %llu",
		     (unsigned long long)left, (unsigned long long)(st.bytes_done / f.cs),
		     (unsigned long long)before);
	expect_files(&f, main_files, NMAIN);
	drain_ok(&f, NULL);
	cr_assert_eq(vol_disk_drain_state(f.v, DISK, &st), 0);
	cr_assert_eq(st.bytes_done, before * f.cs);
	expect_files(&f, main_files, NMAIN);
	fx_close_and_fsck(&f);
	fx_teardown(&f);
}

/* ---- a chunk that fails its checksum ---------------------------------------- */

struct bad_seen {
	unsigned n;
	uint64_t ino, off;
	char path[256];
};

static void bad_cb(void *arg, uint64_t ino, const char *path, uint64_t off)
{
	struct bad_seen *b = arg;
	b->n++;
	b->ino = ino;
	b->off = off;
	snprintf(b->path, sizeof(b->path), "%s", path ? path : "");
}

Test(drain, bad_chunk_reported_never_copied)
{
	struct fx f;
	fx_setup(&f, 4096);
	populate(&f, main_files, NMAIN);
	struct vol_attr d;
	struct vol_cred cred = {.uid = 0, .gid = 0};
	cr_assert_eq(vol_mkdir(f.v, VOL_ROOT_INO, "dir", S_IFDIR | 0755, &cred, &d), 0);
	struct vol_attr a;
	cr_assert_eq(vol_create(f.v, d.ino, "victim", S_IFREG | 0644, &cred, &a), 0);
	cr_assert_eq(vol_set_disk(f.v, a.ino, (int)DISK), 0);
	write_pattern(&f, a.ino, 77, 0, 10 * f.cs);
	/* Chunk 4 is bad on the disk. */
	struct idx_extent e;
	cr_assert_eq(fx_extent_at(&f, a.ino, 4 * f.cs, &e), 0);
	struct trk_run r = {.disk = e.disk,
			    .track = e.track,
			    .chunk = e.chunk + (uint32_t)((4 * f.cs - e.off) / f.cs),
			    .count = 1};
	uint8_t *junk = malloc(f.cs);
	cr_assert_eq(trk_io_read(f.v->pool, &r, 0, junk, f.cs), 0);
	junk[5] ^= 0x10;
	cr_assert_eq(trk_io_write(f.v->pool, &r, 0, junk, f.cs), 0);
	free(junk);

	struct bad_seen b = {0};
	struct vol_drain_opts o = {.bad_cb = bad_cb, .arg = &b};
	cr_assert_eq(vol_disk_drain(f.v, DISK, &o), -EIO);
	cr_assert_geq(b.n, 1);
	cr_assert_eq(b.ino, a.ino);
	cr_assert_eq(b.off, 4 * f.cs);
	cr_assert_str_eq(b.path, "/dir/victim");
	cr_assert_eq(chunks_on(&f, DISK), 1, "only the bad chunk stays");
	struct vol_drain_status st;
	cr_assert_eq(vol_disk_drain_state(f.v, DISK, &st), 0);
	cr_assert_eq(st.state, VOL_DRAIN_DRAINING);
	/* The rest of the file moved and reads; the bad chunk still reads EIO. */
	expect_pattern(&f, a.ino, 77, 0, 4 * f.cs);
	expect_pattern(&f, a.ino, 77, 5 * f.cs, 5 * f.cs);
	uint8_t buf[16];
	cr_assert_eq(vol_read(f.v, a.ino, buf, sizeof(buf), (off_t)(4 * f.cs)), -EIO);
	expect_files(&f, main_files, NMAIN);
	/* Rewriting the bad chunk lets the drain finish. */
	write_pattern(&f, a.ino, 77, 4 * f.cs, f.cs);
	drain_ok(&f, NULL);
	expect_pattern(&f, a.ino, 77, 0, 10 * f.cs);
	fx_close_and_fsck(&f);
	fx_teardown(&f);
}

/* ---- a replace stays a replace ------------------------------------------------ */

/* Chunks on a disk other than @p a and @p b. */
static uint64_t chunks_off(struct fx *f, unsigned a, unsigned b)
{
	uint64_t n = 0;
	for (unsigned d = 0; d < trk_pool_ndisks(f->v->pool); d++)
		if (d != a && d != b)
			n += chunks_on(f, d);
	return n;
}

Test(drain, replace_stopped_resumes_onto_the_new_disk)
{
	struct fx f;
	fx_setup(&f, 4096);
	populate(&f, main_files, NMAIN);
	uint64_t before = chunks_on(&f, DISK), others = chunks_off(&f, DISK, DISK);
	char newdisk[PATH_MAX + 8];
	snprintf(newdisk, sizeof(newdisk), "%s/new", f.tv.root);
	cr_assert_eq(mkdir(newdisk, 0755), 0);

	struct stopper s = {.after = 2};
	struct vol_drain_opts o = {.progress_cb = stop_cb, .arg = &s, .stop = &s.stop};
	unsigned idx = 0;
	cr_assert_eq(vol_disk_replace(f.v, DISK, newdisk, &idx, &o), -EINTR);
	cr_assert_eq(idx, 2);
	struct vol_drain_status st;
	cr_assert_eq(vol_disk_drain_state(f.v, DISK, &st), 0);
	cr_assert_eq(st.state, VOL_DRAIN_DRAINING);
	cr_assert_eq(st.replace_target, 2, "the replace's new disk is not kept: %d",
		     st.replace_target);
	uint64_t moved = chunks_on(&f, 2);
	cr_assert_gt(moved, 0);

	/* After a reopen, a drain with no target goes on with the replace:
	 * everything lands on the new disk, nothing on disk 1. */
	fx_reopen(&f);
	cr_assert_eq(vol_disk_drain_state(f.v, DISK, &st), 0);
	cr_assert_eq(st.replace_target, 2);
	drain_ok(&f, NULL);
	cr_assert_eq(chunks_on(&f, 2), before, "on the new disk: %llu of %llu",
		     (unsigned long long)chunks_on(&f, 2), (unsigned long long)before);
	cr_assert_eq(chunks_off(&f, DISK, 2), others, "a resumed replace put chunks elsewhere");
	cr_assert_eq(vol_disk_drain_state(f.v, DISK, &st), 0);
	cr_assert_eq(st.replace_target, -1, "a drained disk keeps no replace target");
	expect_files(&f, main_files, NMAIN);
	/* The list of what could not be read is written, and empty. */
	char lost[PATH_MAX];
	struct stat sb;
	vol_disk_lost_name(f.tv.meta, DISK, lost, sizeof(lost));
	cr_assert_eq(stat(lost, &sb), 0, "no %s after the resumed replace", lost);
	cr_assert_eq(sb.st_size, 0);
	fx_close_and_fsck(&f);
	fx_teardown(&f);
}
