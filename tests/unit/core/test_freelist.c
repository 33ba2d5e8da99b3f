/* The FIFO free list of runs: oldest freed comes back first, splitting and
 * merging, persistence across close/open, and distrust of corrupt lists. */
#include "core_test.h"
#include "core/base/fileio.h"

#include <fcntl.h>

static struct ct c;

static void setup(void)
{
	ct_setup(&c, 1, 4096, 256 * 4096);
	cr_assert_eq(ct_open(&c), 0);
}

static void teardown(void)
{
	ct_teardown(&c);
}

TestSuite(freelist, .init = setup, .fini = teardown);

static struct trk_run alloc_ok(uint32_t want)
{
	struct trk_run r;
	cr_assert_eq(trk_pool_alloc(c.pool, 0, want, &r), 0);
	return r;
}

static void expect_run(uint32_t want, uint32_t chunk, uint32_t count)
{
	struct trk_run r = alloc_ok(want);
	cr_expect_eq(r.disk, 0);
	cr_expect_eq(r.track, 0);
	cr_expect_eq(r.chunk, chunk, "want chunk %u, got %u", chunk, r.chunk);
	cr_expect_eq(r.count, count, "want %u chunks, got %u", count, r.count);
}

static struct trk_track *track0(void)
{
	return trk_disk_track(&c.pool->disks[0], 0);
}

Test(freelist, fifo_oldest_first)
{
	struct trk_run r[5];
	for (int i = 0; i < 5; i++)
		r[i] = alloc_ok(10);
	cr_assert_eq(r[4].chunk, 40);
	trk_pool_unalloc(c.pool, &r[2]);
	trk_pool_unalloc(c.pool, &r[0]);
	trk_pool_unalloc(c.pool, &r[4]);
	expect_run(10, 20, 10);
	expect_run(10, 0, 10);
	expect_run(10, 40, 10);
	expect_run(10, 50, 10); /* list empty: from the high-water mark */
}

Test(freelist, split_and_merge)
{
	struct trk_run a = alloc_ok(10);
	trk_pool_unalloc(c.pool, &a);
	expect_run(4, 0, 4);
	expect_run(10, 4, 6); /* the remainder of the head run, shorter than wanted */

	struct trk_run b = alloc_ok(20); /* 10..29 */
	cr_assert_eq(b.chunk, 10);
	struct trk_run lo = {0, 0, 10, 5}, hi = {0, 0, 15, 5};
	trk_pool_unalloc(c.pool, &lo);
	trk_pool_unalloc(c.pool, &hi);
	cr_expect_eq(track0()->fifo.len, 1, "adjacent run merged into the tail");
	expect_run(20, 10, 10);
}

Test(freelist, persists_in_order)
{
	struct trk_run r[5];
	for (int i = 0; i < 5; i++)
		r[i] = alloc_ok(10);
	trk_pool_unalloc(c.pool, &r[3]);
	trk_pool_unalloc(c.pool, &r[1]);
	trk_pool_unalloc(c.pool, &r[4]);
	trk_pool_unalloc(c.pool, &r[0]);
	expect_run(3, 30, 3); /* split the head before closing */
	cr_assert_eq(trk_pool_sync(c.pool), 0);
	ct_close(&c);

	cr_assert_eq(ct_open(&c), 0);
	cr_assert_not(trk_pool_needs_rebuild(c.pool));
	cr_expect_eq(track0()->fifo.nfree, 37);
	expect_run(10, 33, 7);
	expect_run(10, 10, 10);
	expect_run(10, 40, 10);
	expect_run(10, 0, 10);
	expect_run(10, 50, 10);
	/* After that all was taken, a second round trip keeps an empty list. */
	ct_close(&c);
	cr_assert_eq(ct_open(&c), 0);
	cr_assert_not(trk_pool_needs_rebuild(c.pool));
	expect_run(10, 60, 10);
}

static void write_at(const char *path, off_t off, const void *buf, size_t len)
{
	int fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(tfs_pwrite_full(fd, buf, len, off), 0);
	close(fd);
}

Test(freelist, corrupt_record_needs_rebuild)
{
	char path[256];
	struct trk_run a = alloc_ok(10), b = alloc_ok(10);
	(void)b;
	trk_pool_unalloc(c.pool, &a);
	ct_close(&c);

	ct_track_path(&c, 0, 0, path, sizeof(path));
	uint8_t junk[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	write_at(path, 4096 + 4, junk, sizeof(junk)); /* inside the record at chunk 0 */

	cr_assert_eq(ct_open(&c), 0);
	cr_expect(trk_pool_needs_rebuild(c.pool));
	/* An untrusted list hands out nothing: allocation goes above the hwm. */
	expect_run(10, 20, 10);
}

Test(freelist, cycle_detected)
{
	char path[256];
	struct trk_run a = alloc_ok(5), gap = alloc_ok(5), b = alloc_ok(5);
	(void)gap;
	trk_pool_unalloc(c.pool, &a);
	trk_pool_unalloc(c.pool, &b);
	ct_close(&c);

	/* Make the tail record point back at the head, with a valid checksum. */
	ct_track_path(&c, 0, 0, path, sizeof(path));
	uint8_t rec[sizeof(struct trk_rec_disk)];
	trk_rec_encode(&(struct trk_rec){.count = 5, .next = 0, .track = 0}, rec);
	write_at(path, 4096 + 10 * 4096, rec, sizeof(rec));

	cr_assert_eq(ct_open(&c), 0);
	cr_expect(trk_pool_needs_rebuild(c.pool));
}

Test(freelist, count_mismatch_detected)
{
	char path[256];
	struct trk_run a = alloc_ok(5), b = alloc_ok(5);
	(void)b;
	trk_pool_unalloc(c.pool, &a);
	ct_close(&c);

	/* A record that claims a longer run than the header counts. */
	ct_track_path(&c, 0, 0, path, sizeof(path));
	uint8_t rec[sizeof(struct trk_rec_disk)];
	trk_rec_encode(&(struct trk_rec){.count = 7, .next = TRK_NIL, .track = 0}, rec);
	write_at(path, 4096, rec, sizeof(rec));

	cr_assert_eq(ct_open(&c), 0);
	cr_expect(trk_pool_needs_rebuild(c.pool));
}

Test(freelist, many_runs_fifo_ring_wraps)
{
	/* Interleave frees and allocations so the ring buffer wraps and grows. */
	struct trk_run r[100];
	for (int i = 0; i < 100; i++)
		r[i] = alloc_ok(2);
	for (int i = 0; i < 100; i += 2)
		trk_pool_unalloc(c.pool, &r[i]);
	for (int i = 0; i < 20; i += 2)
		expect_run(2, r[i].chunk, 2);
	for (int i = 1; i < 100; i += 2)
		trk_pool_unalloc(c.pool, &r[i]);
	ct_close(&c);
	cr_assert_eq(ct_open(&c), 0);
	cr_assert_not(trk_pool_needs_rebuild(c.pool));
	for (int i = 20; i < 100; i += 2)
		expect_run(2, r[i].chunk, 2);
	for (int i = 1; i < 100; i += 2)
		expect_run(2, r[i].chunk, 2);
}
