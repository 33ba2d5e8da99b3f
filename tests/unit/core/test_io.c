/* Per-disk I/O workers: bytes written at any offset read back, never-written
 * space reads as zeros, large reads and writes bypass the track's page cache, a missing disk fails
 * only its own I/O, and several threads doing I/O on two disks at once. */
#include "core_test.h"

#include <pthread.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

static struct ct c;

static void teardown(void)
{
	ct_teardown(&c);
}

static void fill(uint8_t *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
}

Test(io, write_read_offsets, .fini = teardown)
{
	struct trk_run r;
	static uint8_t w[16384], b[16384];

	ct_setup(&c, 1, 4096, 64 * 4096);
	cr_assert_eq(ct_open(&c), 0);
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 4, &r), 0);
	cr_assert_eq(r.count, 4);

	/* Never written: zeros (the track file ends before these chunks). */
	memset(b, 0xee, sizeof(b));
	cr_assert_eq(trk_io_read(c.pool, &r, 0, b, sizeof(b)), 0);
	for (size_t i = 0; i < sizeof(b); i++)
		cr_assert_eq(b[i], 0, "byte %zu", i);

	const struct {
		uint64_t off;
		size_t len;
	} cases[] = {{0, 4096}, {100, 5000}, {16383, 1}, {4095, 2}, {8192, 8192}};
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		fill(w, cases[k].len, k + 1);
		cr_assert_eq(trk_io_write(c.pool, &r, cases[k].off, w, cases[k].len), 0);
		memset(b, 0, cases[k].len);
		cr_assert_eq(trk_io_read(c.pool, &r, cases[k].off, b, cases[k].len), 0);
		cr_expect_eq(memcmp(w, b, cases[k].len), 0, "case %u", k);
	}
	/* Out of the run's bounds. */
	cr_expect_eq(trk_io_read(c.pool, &r, 16000, b, 1000), -EINVAL);
	struct trk_run nodisk = {9, 0, 0, 1};
	cr_expect_eq(trk_io_read(c.pool, &nodisk, 0, b, 10), -EIO);

	/* Bytes survive a close and reopen. */
	fill(w, 8192, 77);
	cr_assert_eq(trk_io_write(c.pool, &r, 8192, w, 8192), 0);
	cr_assert_eq(trk_pool_sync(c.pool), 0);
	ct_close(&c);
	cr_assert_eq(ct_open(&c), 0);
	cr_assert_eq(trk_io_read(c.pool, &r, 8192, b, 8192), 0);
	cr_expect_eq(memcmp(w, b, 8192), 0);
}

/* How many pages of @p path's first @p len bytes are in the page cache. */
static size_t cached_pages(const char *path, size_t len)
{
	int fd = open(path, O_RDONLY);
	size_t pages = len / 4096, n = 0;
	unsigned char *vec = calloc(pages, 1);

	cr_assert(fd >= 0 && vec);
	void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	cr_assert_neq(m, MAP_FAILED);
	cr_assert_eq(mincore(m, len, vec), 0);
	for (size_t i = 0; i < pages; i++)
		n += vec[i] & 1;
	munmap(m, len);
	free(vec);
	close(fd);
	return n;
}

/* Large writes and reads go to the track with O_DIRECT, from and into
 * unaligned buffers (as FUSE payloads are) and across the 1 MiB bounce
 * buffer: the bytes read back, and the track's page cache did not get a
 * second copy of them. Small writes stay buffered. */
Test(io, large_io_bypasses_the_page_cache, .fini = teardown)
{
	const size_t len = 3 * 1024 * 1024 + 8192;
	struct trk_run r;
	char track[256];
	uint8_t *raw = malloc(len + 80), *w = raw + 80, *b = malloc(len);

	cr_assert(raw && b);
	ct_setup(&c, 1, 4096, 4096 + 2 * len);
	cr_assert_eq(ct_open(&c), 0);
	cr_assert_eq(trk_pool_alloc(c.pool, 0, (uint32_t)(len / 4096), &r), 0);
	cr_assert_eq(r.count, len / 4096);
	snprintf(track, sizeof(track), "%s/tracks/track-%06u.trk", c.paths[0], r.track);

	fill(w, len, 5);
	cr_assert_eq(trk_io_write(c.pool, &r, 0, w, len), 0);
	size_t chunk0 = trk_chunk_off(c.pool, r.chunk);
	int dfd = open(track, O_RDONLY | O_DIRECT);
	if (dfd >= 0) {
		close(dfd);
		cr_expect_lt(cached_pages(track, chunk0 + len), 64,
			     "a %zu-byte write left its bytes in the track's page cache", len);
	} else {
		cr_log_warn("%s has no O_DIRECT (tmpfs?): all writes are buffered there", track);
	}
	cr_assert_eq(trk_io_read(c.pool, &r, 0, b, len), 0);
	cr_expect_eq(memcmp(w, b, len), 0, "large write read back");
	if (dfd >= 0)
		cr_expect_lt(cached_pages(track, chunk0 + len), 64,
			     "a %zu-byte read filled the track's page cache", len);
	/* A large read into an unaligned buffer (as FUSE reply buffers are). */
	uint8_t *rb = malloc(len + 80);
	cr_assert_not_null(rb);
	cr_assert_eq(trk_io_read(c.pool, &r, 0, rb + 80, len), 0);
	cr_expect_eq(memcmp(w, rb + 80, len), 0, "large read into an unaligned buffer");
	free(rb);

	/* A large read past the end of the track file: zeros. */
	struct trk_run r2;
	cr_assert_eq(trk_pool_alloc(c.pool, 0, (uint32_t)(len / 4096), &r2), 0);
	memset(b, 0xee, len);
	cr_assert_eq(trk_io_read(c.pool, &r2, 0, b, len), 0);
	for (size_t i = 0; i < len; i += 4093)
		cr_assert_eq(b[i], 0, "never-written byte %zu", i);

	/* A small write next to it is buffered and reads back as well. */
	fill(w, 4096, 6);
	cr_assert_eq(trk_io_write(c.pool, &r, 4096, w, 4096), 0);
	cr_assert_eq(trk_io_read(c.pool, &r, 4096, b, 4096), 0);
	cr_expect_eq(memcmp(w, b, 4096), 0, "small write read back");

	/* And both survive a sync, close and reopen. */
	cr_assert_eq(trk_pool_sync(c.pool), 0);
	ct_close(&c);
	cr_assert_eq(ct_open(&c), 0);
	cr_assert_eq(trk_io_read(c.pool, &r, 4096, b, 4096), 0);
	cr_expect_eq(memcmp(w, b, 4096), 0, "small write after reopen");
	fill(w, len, 5);
	cr_assert_eq(trk_io_read(c.pool, &r, 8192, b, len - 8192), 0);
	cr_expect_eq(memcmp(w + 8192, b, len - 8192), 0, "large write after reopen");
	free(raw);
	free(b);
}

Test(io, async_submit_wait, .fini = teardown)
{
	struct trk_run r;
	static uint8_t w[8][4096], b[8][4096];
	struct trk_io ios[8];

	ct_setup(&c, 1, 4096, 64 * 4096);
	cr_assert_eq(ct_open(&c), 0);
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 8, &r), 0);
	for (int i = 0; i < 8; i++) {
		fill(w[i], 4096, (unsigned)i);
		ios[i] = (struct trk_io){.write = true,
					 .run = r,
					 .byte_off = (uint64_t)i * 4096,
					 .buf = w[i],
					 .len = 4096};
		trk_io_submit(c.pool, &ios[i]);
	}
	for (int i = 0; i < 8; i++)
		cr_assert_eq(trk_io_wait(c.pool, &ios[i]), 0);
	for (int i = 0; i < 8; i++) {
		ios[i] = (struct trk_io){.write = false,
					 .run = r,
					 .byte_off = (uint64_t)i * 4096,
					 .buf = b[i],
					 .len = 4096};
		trk_io_submit(c.pool, &ios[i]);
	}
	for (int i = 7; i >= 0; i--) {
		cr_assert_eq(trk_io_wait(c.pool, &ios[i]), 0);
		cr_expect_eq(memcmp(w[i], b[i], 4096), 0);
	}
}

Test(io, missing_disk_fails_only_its_io, .fini = teardown)
{
	struct trk_run r0, r1;
	uint8_t w[4096], b[4096];

	ct_setup(&c, 2, 4096, 64 * 4096);
	cr_assert_eq(ct_open(&c), 0);
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 1, &r0), 0);
	cr_assert_eq(trk_pool_alloc(c.pool, 1, 1, &r1), 0);
	fill(w, sizeof(w), 3);
	cr_assert_eq(trk_io_write(c.pool, &r0, 0, w, sizeof(w)), 0);
	cr_assert_eq(trk_io_write(c.pool, &r1, 0, w, sizeof(w)), 0);
	ct_close(&c);

	ct_rmrf(c.paths[1]);
	cr_assert_eq(ct_open(&c), 0, "a missing disk does not stop the pool opening");
	cr_expect(trk_pool_disk_missing(c.pool, 1));
	cr_expect_not(trk_pool_disk_missing(c.pool, 0));
	cr_expect_eq(trk_io_read(c.pool, &r1, 0, b, sizeof(b)), -EIO);
	cr_expect_eq(trk_io_write(c.pool, &r1, 0, w, sizeof(w)), -EIO);
	cr_assert_eq(trk_io_read(c.pool, &r0, 0, b, sizeof(b)), 0);
	cr_expect_eq(memcmp(w, b, sizeof(b)), 0);

	/* New data goes to the disk that is there, even when hinted elsewhere. */
	struct trk_run n;
	cr_assert_eq(trk_pool_alloc(c.pool, 1, 2, &n), 0);
	cr_expect_eq(n.disk, 0);
	struct trk_disk_stats ds;
	cr_assert_eq(trk_pool_disk_stats(c.pool, 1, &ds), 0);
	cr_expect(ds.missing);
	ct_close(&c);

	/* Every disk missing: no allocation possible. */
	ct_rmrf(c.paths[0]);
	cr_assert_eq(ct_open(&c), 0);
	cr_expect_eq(trk_pool_alloc(c.pool, -1, 1, &n), -EIO);
}

struct worker_arg {
	unsigned id;
	int failures;
};

static void *io_worker(void *p)
{
	struct worker_arg *a = p;
	uint8_t w[3 * 4096], b[3 * 4096];

	for (unsigned it = 0; it < 40; it++) {
		struct trk_run r;
		/* Alternate disks so both queues are busy at once. */
		if (trk_pool_alloc(c.pool, (int)((a->id + it) % 2), 3, &r) != 0) {
			a->failures++;
			continue;
		}
		fill(w, sizeof(w), a->id * 1000 + it);
		size_t len = (size_t)r.count * 4096;
		if (trk_io_write(c.pool, &r, 0, w, len) != 0 ||
		    trk_io_read(c.pool, &r, 0, b, len) != 0 || memcmp(w, b, len) != 0)
			a->failures++;
		if (it % 3 == 0)
			trk_pool_unalloc(c.pool, &r);
		if (it % 10 == 0 && trk_pool_sync(c.pool) != 0)
			a->failures++;
	}
	return NULL;
}

Test(io, parallel_two_disks, .fini = teardown)
{
	pthread_t th[6];
	struct worker_arg args[6];

	ct_setup(&c, 2, 4096, 64 * 4096);
	c.cfg.io_threads = 2;
	cr_assert_eq(ct_open(&c), 0);
	for (unsigned i = 0; i < 6; i++) {
		args[i] = (struct worker_arg){.id = i};
		cr_assert_eq(pthread_create(&th[i], NULL, io_worker, &args[i]), 0);
	}
	for (unsigned i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		cr_expect_eq(args[i].failures, 0, "thread %u", i);
	}
	/* The lists written concurrently with allocations are still coherent. */
	ct_close(&c);
	cr_assert_eq(ct_open(&c), 0);
	cr_expect_not(trk_pool_needs_rebuild(c.pool));
}
