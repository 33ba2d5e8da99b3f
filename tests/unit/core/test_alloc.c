/* The allocator: disk choice by free space, the disk hint, tracks filling
 * and new ones being created, full disks spilling over, ENOSPC, and deferred
 * frees staying unusable until released. */
#include "core_test.h"

#include <sys/stat.h>

static struct ct c;

static void teardown(void)
{
	ct_teardown(&c);
}

/* 16 chunks per track keeps tracks small enough to fill in a test. */
static void open3(void)
{
	ct_setup(&c, 3, 4096, 16 * 4096);
	cr_assert_eq(ct_open(&c), 0);
}

#define CHUNKS(n) ((uint64_t)(n)*4096)

Test(alloc, most_free_disk_chosen, .fini = teardown)
{
	struct trk_run r;

	open3();
	trk_pool_set_fs_free(c.pool, 0, CHUNKS(100));
	trk_pool_set_fs_free(c.pool, 1, CHUNKS(500));
	trk_pool_set_fs_free(c.pool, 2, CHUNKS(300));
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 8, &r), 0);
	cr_expect_eq(r.disk, 1);
	cr_expect_eq(r.count, 8);

	/* Free space on a free list counts too, and so does space claimed
	 * on the host filesystem but not handed out yet (the claim covered
	 * the whole 16-chunk track). */
	trk_pool_set_fs_free(c.pool, 1, 0);
	trk_pool_set_fs_free(c.pool, 2, CHUNKS(5));
	trk_pool_set_fs_free(c.pool, 0, CHUNKS(7));
	trk_pool_unalloc(c.pool, &r); /* disk 1 now has 8 free on its list */
	struct trk_run s;
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 8, &s), 0);
	cr_expect_eq(s.disk, 1);
	cr_expect_eq(s.chunk, r.chunk);
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 8, &s), 0);
	cr_expect_eq(s.disk, 1);
	cr_expect_eq(s.chunk, 8, "claimed, never used");
	/* Disk 0 can make a track of 6 chunks (7 less its header), disk 2 of 4. */
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 1, &s), 0);
	cr_expect_eq(s.disk, 0);
}

Test(alloc, hint_honoured, .fini = teardown)
{
	struct trk_run r;

	open3();
	trk_pool_set_fs_free(c.pool, 0, CHUNKS(10));
	trk_pool_set_fs_free(c.pool, 1, CHUNKS(500));
	trk_pool_set_fs_free(c.pool, 2, CHUNKS(50));
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 4, &r), 0);
	cr_expect_eq(r.disk, 0);
	cr_assert_eq(trk_pool_alloc(c.pool, 2, 4, &r), 0);
	cr_expect_eq(r.disk, 2);
	cr_assert_eq(trk_pool_alloc(c.pool, 7, 4, &r), 0, "a bad hint is ignored");
	cr_expect_eq(r.disk, 1);
}

Test(alloc, tracks_fill_and_grow, .fini = teardown)
{
	struct trk_run r;
	char path[256];
	struct stat st;

	open3();
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 10, &r), 0);
	cr_expect_eq(r.track, 0);
	cr_expect_eq(r.chunk, 0);
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 10, &r), 0);
	cr_expect_eq(r.track, 0);
	cr_expect_eq(r.chunk, 10);
	cr_expect_eq(r.count, 6, "at most the rest of the track");
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 100, &r), 0);
	cr_expect_eq(r.track, 1);
	cr_expect_eq(r.chunk, 0);
	cr_expect_eq(r.count, 16, "a run never exceeds a track");
	ct_track_path(&c, 0, 1, path, sizeof(path));
	cr_expect_eq(stat(path, &st), 0, "track 1 was created");

	/* A freed run in track 0 is reused before a new track is made. */
	struct trk_run back = {0, 0, 3, 2};
	trk_pool_unalloc(c.pool, &back);
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 10, &r), 0);
	cr_expect_eq(r.track, 0);
	cr_expect_eq(r.chunk, 3);
	cr_expect_eq(r.count, 2);

	struct trk_disk_stats ds;
	cr_assert_eq(trk_pool_disk_stats(c.pool, 0, &ds), 0);
	cr_expect_eq(ds.tracks, 2);
	cr_expect_eq(ds.chunks_used, 32);
	cr_expect_geq(ds.chunks_total, 32);
	cr_expect_eq(ds.chunks_free, ds.chunks_total - ds.chunks_used);
	cr_assert_eq(trk_pool_disk_stats(c.pool, 9, &ds), -ENODEV);

	/* Tracks and high-water marks survive a close. */
	ct_close(&c);
	cr_assert_eq(ct_open(&c), 0);
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 100, &r), 0);
	cr_expect_eq(r.track, 2);
}

Test(alloc, full_disk_spills_over, .fini = teardown)
{
	struct trk_run r;

	open3();
	trk_pool_set_fs_free(c.pool, 0, CHUNKS(12));
	trk_pool_set_fs_free(c.pool, 1, CHUNKS(100));
	trk_pool_set_fs_free(c.pool, 2, 0);
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 10, &r), 0);
	cr_expect_eq(r.disk, 0);
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 10, &r), 0);
	cr_expect_eq(r.disk, 0);
	cr_expect_eq(r.count, 1, "bounded by the host filesystem's space, the header included");
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 10, &r), 0);
	cr_expect_eq(r.disk, 1, "disk 0 is full: the allocation goes elsewhere");
}

Test(alloc, enospc_when_all_full, .fini = teardown)
{
	struct trk_run r;
	uint64_t got = 0;
	int rc;

	open3();
	trk_pool_set_fs_free(c.pool, 0, CHUNKS(20));
	trk_pool_set_fs_free(c.pool, 1, CHUNKS(5));
	trk_pool_set_fs_free(c.pool, 2, CHUNKS(40));
	/* Tracks of 16 chunks, each with a one-chunk header: 16 + 2 on disk 0,
	 * 4 on disk 1, 16 + 16 + 5 on disk 2. */
	uint64_t used, free0;
	cr_assert_eq(trk_pool_space(c.pool, &used, &free0), 0);
	cr_expect_eq(used, 0);
	cr_expect_eq(free0, 59, "free space is counted exactly, headers included");
	while ((rc = trk_pool_alloc(c.pool, -1, 7, &r)) == 0)
		got += r.count;
	cr_expect_eq(rc, -ENOSPC);
	cr_expect_eq(got, 59);
	cr_assert_eq(trk_pool_space(c.pool, &used, &free0), 0);
	cr_expect_eq(used, 59);
	cr_expect_eq(free0, 0);
}

Test(alloc, deferred_not_reused_until_released, .fini = teardown)
{
	struct trk_run r, a;

	ct_setup(&c, 1, 4096, 16 * 4096);
	cr_assert_eq(ct_open(&c), 0);
	trk_pool_set_fs_free(c.pool, 0, CHUNKS(17)); /* a track and its header */
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 16, &a), 0);
	cr_assert_eq(a.count, 16);
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 1, &r), -ENOSPC);

	struct trk_run d1 = {0, 0, 4, 4}, d2 = {0, 0, 0, 2};
	cr_assert_eq(trk_pool_free_deferred(c.pool, &d1), 0);
	cr_assert_eq(trk_pool_free_deferred(c.pool, &d2), 0);
	cr_expect_eq(trk_pool_deferred_count(c.pool), 6);
	cr_expect_eq(trk_pool_alloc(c.pool, -1, 1, &r), -ENOSPC, "deferred runs are not free");

	cr_assert_eq(trk_pool_release_deferred(c.pool), 0);
	cr_expect_eq(trk_pool_deferred_count(c.pool), 0);
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 10, &r), 0);
	cr_expect_eq(r.chunk, 4, "released in the order they were freed");
	cr_expect_eq(r.count, 4);
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 10, &r), 0);
	cr_expect_eq(r.chunk, 0);
	cr_expect_eq(r.count, 2);
	cr_expect_eq(trk_pool_alloc(c.pool, -1, 1, &r), -ENOSPC);
}

Test(alloc, deferred_dropped_at_close, .fini = teardown)
{
	struct trk_run a, r;

	ct_setup(&c, 1, 4096, 16 * 4096);
	cr_assert_eq(ct_open(&c), 0);
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 8, &a), 0);
	cr_assert_eq(trk_pool_free_deferred(c.pool, &a), 0);
	ct_close(&c);
	cr_assert_eq(ct_open(&c), 0);
	cr_expect_eq(trk_pool_deferred_count(c.pool), 0);
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 8, &r), 0);
	cr_expect_eq(r.chunk, 8, "never released: not on the free list");
}

Test(alloc, readonly_refuses, .fini = teardown)
{
	struct trk_run r;

	ct_setup(&c, 1, 4096, 16 * 4096);
	c.cfg.readonly = true;
	cr_assert_eq(ct_open(&c), 0);
	cr_expect_eq(trk_pool_alloc(c.pool, -1, 1, &r), -EROFS);
}

Test(alloc, bad_config_refused, .fini = teardown)
{
	ct_setup(&c, 1, 4096, 16 * 4096);
	c.cfg.chunk_size = 5000;
	cr_expect_eq(ct_open(&c), -EINVAL);
	c.cfg.chunk_size = 8192; /* the disks were formatted with 4096 */
	cr_expect_eq(ct_open(&c), -EINVAL);
	cr_expect_null(c.pool);
}
