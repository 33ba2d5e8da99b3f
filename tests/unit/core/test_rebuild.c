/* Rebuilding free lists from marked runs (exactly the complement becomes
 * free, in ascending order) and checking lists against references (double
 * references, referenced-but-free chunks, leaks). */
#include "core_test.h"
#include "core/base/fileio.h"

#include <fcntl.h>
#include <sys/stat.h>

static struct ct c;

static void setup(void)
{
	ct_setup(&c, 1, 4096, 64 * 4096);
	cr_assert_eq(ct_open(&c), 0);
}

static void teardown(void)
{
	ct_teardown(&c);
}

TestSuite(rebuild, .init = setup, .fini = teardown);

static void expect_run(uint32_t want, uint32_t track, uint32_t chunk, uint32_t count)
{
	struct trk_run r;
	cr_assert_eq(trk_pool_alloc(c.pool, 0, want, &r), 0);
	cr_expect_eq(r.track, track, "want track %u, got %u", track, r.track);
	cr_expect_eq(r.chunk, chunk, "want chunk %u, got %u", chunk, r.chunk);
	cr_expect_eq(r.count, count, "want %u chunks, got %u", count, r.count);
}

static int mark(uint32_t track, uint32_t chunk, uint32_t count)
{
	struct trk_run r = {0, track, chunk, count};
	return trk_pool_rebuild_mark(c.pool, &r);
}

Test(rebuild, complement_becomes_free)
{
	struct trk_run r;
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 50, &r), 0);
	cr_assert_eq(r.count, 50);
	/* Whatever the list said before is forgotten. */
	struct trk_run back = {0, 0, 40, 10};
	trk_pool_unalloc(c.pool, &back);

	cr_assert_eq(trk_pool_rebuild_begin(c.pool), 0);
	cr_assert_eq(mark(0, 0, 5), 0);
	cr_assert_eq(mark(0, 30, 20), 0);
	cr_assert_eq(mark(0, 10, 5), 0);
	cr_assert_eq(trk_pool_rebuild_end(c.pool), 0);
	cr_assert_not(trk_pool_needs_rebuild(c.pool));

	struct trk_disk_stats ds;
	cr_assert_eq(trk_pool_disk_stats(c.pool, 0, &ds), 0);
	cr_expect_eq(ds.chunks_used, 30);

	/* Written and synced: a reopen sees the same list. */
	ct_close(&c);
	cr_assert_eq(ct_open(&c), 0);
	cr_assert_not(trk_pool_needs_rebuild(c.pool));
	expect_run(100, 0, 5, 5);
	expect_run(100, 0, 15, 15);
	expect_run(100, 0, 50, 14); /* then above the high-water mark */
}

Test(rebuild, mark_raises_hwm_and_creates_tracks)
{
	cr_assert_eq(trk_pool_rebuild_begin(c.pool), 0);
	cr_assert_eq(mark(2, 3, 1), 0);
	cr_assert_eq(trk_pool_rebuild_end(c.pool), 0);
	cr_expect_eq(atomic_load(&c.pool->disks[0].ntracks), 3);

	char path[256];
	struct stat st;
	ct_track_path(&c, 0, 2, path, sizeof(path));
	cr_expect_eq(stat(path, &st), 0);
	/* Tracks 0 and 1 were never used; track 2 has 0..2 free. */
	expect_run(100, 2, 0, 3);
	expect_run(100, 0, 0, 64);
}

Test(rebuild, mark_errors)
{
	cr_assert_eq(trk_pool_rebuild_begin(c.pool), 0);
	cr_assert_eq(mark(0, 10, 10), 0);
	cr_expect_eq(mark(0, 15, 2), -EEXIST);
	cr_expect_eq(mark(0, 19, 5), -EEXIST);
	cr_expect_eq(mark(0, 60, 5), -ERANGE);
	cr_expect_eq(mark(TRK_MAX_TRACKS, 0, 1), -ERANGE);
	cr_expect_eq(mark(0, 0, 0), -ERANGE);
	struct trk_run bad = {5, 0, 0, 1};
	cr_expect_eq(trk_pool_rebuild_mark(c.pool, &bad), -ENODEV);
	cr_assert_eq(trk_pool_rebuild_end(c.pool), 0);
	expect_run(100, 0, 0, 10);
}

struct probs {
	int n;
	bool named_track;
	char last[512];
};

static void problem_cb(void *arg, const char *msg)
{
	struct probs *p = arg;
	p->n++;
	if (strstr(msg, "track-000000.trk"))
		p->named_track = true;
	snprintf(p->last, sizeof(p->last), "%s", msg);
}

static int ref(uint32_t chunk, uint32_t count)
{
	struct trk_run r = {0, 0, chunk, count};
	return trk_pool_check_ref(c.pool, &r);
}

Test(rebuild, check_finds_double_free_ref_and_leaks)
{
	struct trk_run r;
	struct probs p = {0};
	uint64_t leaked = 99;

	cr_assert_eq(trk_pool_alloc(c.pool, 0, 30, &r), 0);
	ct_fill_run(&c, &r);
	struct trk_run back = {0, 0, 20, 10};
	trk_pool_unalloc(c.pool, &back);
	ct_close(&c);
	cr_assert_eq(ct_open(&c), 0);

	cr_assert_eq(trk_pool_check_begin(c.pool, problem_cb, &p), 0);
	cr_expect_eq(p.n, 0);
	cr_expect_eq(ref(0, 10), 0);
	cr_expect_eq(ref(5, 2), -EEXIST);
	cr_expect_eq(ref(25, 1), -EBUSY);
	cr_expect_eq(ref(28, 5), -ERANGE); /* above the high-water mark */
	struct trk_run nodisk = {3, 0, 0, 1}, notrack = {0, 9, 0, 1};
	cr_expect_eq(trk_pool_check_ref(c.pool, &nodisk), -ENODEV);
	cr_expect_eq(trk_pool_check_ref(c.pool, &notrack), -ENODEV);
	int before = p.n;
	cr_expect_eq(before, 5);
	cr_expect(p.named_track);

	cr_expect_eq(trk_pool_check_end(c.pool, &leaked), 1);
	cr_expect_eq(leaked, 10, "chunks 10..19 are neither free nor referenced");
	cr_expect_eq(p.n, before + 1);
	cr_expect(strstr(p.last, "leak") != NULL, "%s", p.last);
}

Test(rebuild, check_clean_volume)
{
	struct trk_run a, b;
	struct probs p = {0};
	uint64_t leaked = 99;

	cr_assert_eq(trk_pool_alloc(c.pool, 0, 30, &a), 0);
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 30, &b), 0);
	ct_fill_run(&c, &b);
	trk_pool_unalloc(c.pool, &a);
	ct_close(&c);
	cr_assert_eq(ct_open(&c), 0);
	cr_assert_eq(trk_pool_check_begin(c.pool, problem_cb, &p), 0);
	cr_expect_eq(trk_pool_check_ref(c.pool, &b), 0);
	cr_expect_eq(trk_pool_check_end(c.pool, &leaked), 0);
	cr_expect_eq(leaked, 0);
	cr_expect_eq(p.n, 0, "%s", p.last);
}

Test(rebuild, check_reports_corrupt_list)
{
	struct trk_run a, b;
	struct probs p = {0};
	char path[256];

	cr_assert_eq(trk_pool_alloc(c.pool, 0, 10, &a), 0);
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 10, &b), 0);
	ct_fill_run(&c, &b);
	trk_pool_unalloc(c.pool, &a);
	ct_close(&c);
	ct_track_path(&c, 0, 0, path, sizeof(path));
	int fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(tfs_pwrite_full(fd, "garbage!", 8, 4096), 0);
	close(fd);

	cr_assert_eq(ct_open(&c), 0);
	cr_expect(trk_pool_needs_rebuild(c.pool));
	cr_expect_eq(trk_pool_check_begin(c.pool, problem_cb, &p), 1);
	cr_expect(p.named_track, "%s", p.last);
	uint64_t leaked;
	cr_expect_eq(trk_pool_check_ref(c.pool, &b), 0);
	cr_expect_eq(trk_pool_check_end(c.pool, &leaked), 1);
	cr_expect_eq(leaked, 10);

	/* A rebuild from the references repairs it. */
	cr_assert_eq(trk_pool_rebuild_begin(c.pool), 0);
	cr_assert_eq(trk_pool_rebuild_mark(c.pool, &b), 0);
	cr_assert_eq(trk_pool_rebuild_end(c.pool), 0);
	ct_close(&c);
	cr_assert_eq(ct_open(&c), 0);
	cr_expect_not(trk_pool_needs_rebuild(c.pool));
	p.n = 0;
	cr_expect_eq(trk_pool_check_begin(c.pool, problem_cb, &p), 0);
	cr_expect_eq(trk_pool_check_ref(c.pool, &b), 0);
	cr_expect_eq(trk_pool_check_end(c.pool, &leaked), 0);
	cr_expect_eq(leaked, 0);
}
