/* Placement: each policy's choice among candidates (trk_place_choose), the
 * reserve keeping new files off a nearly full disk, a file leaving its disk
 * only once that disk is at its reserve, and a disk added to an open pool
 * taking new files at once. */
#include "core_test.h"

static struct ct c;

static void teardown(void)
{
	ct_teardown(&c);
}

#define CHUNKS(n) ((uint64_t)(n)*4096)

static const struct trk_place_cand cands[] = {
	{.free = 100, .used = 50},  /* 0 */
	{.free = 500, .used = 900}, /* 1: most free */
	{.free = 300, .used = 10},  /* 2: least used */
};

Test(place, mfs_takes_most_free)
{
	cr_expect_eq(trk_place_choose(TRK_PLACE_MFS, cands, 3, 0), 1);
	struct trk_place_cand tie[] = {{.free = 5, .used = 9}, {.free = 5, .used = 2}};
	cr_expect_eq(trk_place_choose(TRK_PLACE_MFS, tie, 2, 0), 1, "ties go to the less used");
}

Test(place, lus_takes_least_used)
{
	cr_expect_eq(trk_place_choose(TRK_PLACE_LUS, cands, 3, 0), 2);
	struct trk_place_cand tie[] = {{.free = 5, .used = 2}, {.free = 9, .used = 2}};
	cr_expect_eq(trk_place_choose(TRK_PLACE_LUS, tie, 2, 0), 1, "ties go to the more free");
}

Test(place, ff_takes_first)
{
	cr_expect_eq(trk_place_choose(TRK_PLACE_FF, cands, 3, 12345), 0);
	cr_expect_eq(trk_place_choose(TRK_PLACE_FF, cands, 0, 0), -1);
}

Test(place, rand_is_weighted_by_free_space)
{
	unsigned hits[3] = {0};
	uint64_t x = 88172645463325252ull;

	for (int i = 0; i < 9000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int k = trk_place_choose(TRK_PLACE_RAND, cands, 3, x);
		cr_assert(k >= 0 && k < 3);
		hits[k]++;
	}
	/* Expected 1000, 5000 and 3000 of 9000. */
	cr_expect(hits[0] > 700 && hits[0] < 1300, "disk 0 chosen %u times", hits[0]);
	cr_expect(hits[1] > 4500 && hits[1] < 5500, "disk 1 chosen %u times", hits[1]);
	cr_expect(hits[2] > 2600 && hits[2] < 3400, "disk 2 chosen %u times", hits[2]);
	/* Every free chunk weighs the same: r below 100 is disk 0, and so on. */
	cr_expect_eq(trk_place_choose(TRK_PLACE_RAND, cands, 3, 99), 0);
	cr_expect_eq(trk_place_choose(TRK_PLACE_RAND, cands, 3, 100), 1);
	cr_expect_eq(trk_place_choose(TRK_PLACE_RAND, cands, 3, 600), 2);
}

Test(place, names_round_trip)
{
	enum trk_placement p;

	for (unsigned i = 0; i < TRK_PLACE_COUNT; i++) {
		cr_assert_eq(trk_placement_parse(trk_placement_name((enum trk_placement)i), &p), 0);
		cr_expect_eq(p, (enum trk_placement)i);
	}
	cr_expect_eq(trk_placement_parse("most-free", &p), -EINVAL);
}

/* 64-chunk tracks, a reserve of 40 chunks. */
static void open2(enum trk_placement p)
{
	ct_setup(&c, 2, 4096, 64 * 4096);
	c.cfg.placement = p;
	c.cfg.reserve = CHUNKS(40);
	cr_assert_eq(ct_open(&c), 0);
}

/* Room for @p n chunks in a new track: its header, then the chunks. */
#define ROOM(n) (CHUNKS(n) + 4096)

Test(place, reserve_keeps_new_files_off, .fini = teardown)
{
	struct trk_run r;

	open2(TRK_PLACE_MFS);
	/* Disk 0 has the most room but is at its reserve. */
	trk_pool_set_fs_free(c.pool, 0, ROOM(40));
	trk_pool_set_fs_free(c.pool, 1, ROOM(30) + CHUNKS(20));
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 1, &r), 0);
	cr_expect_eq(r.disk, 1);
	struct trk_disk_stats st;
	cr_assert_eq(trk_pool_disk_stats(c.pool, 0, &st), 0);
	cr_expect(st.at_reserve);
	cr_expect_eq(st.reserve_bytes, CHUNKS(40));
	cr_assert_eq(trk_pool_disk_stats(c.pool, 1, &st), 0);
	cr_expect(!st.at_reserve);
	/* Disk 1 down to 29 chunks: both are at their reserve, and the one with
	 * the most room takes it (the reserve is for new files, never a
	 * reason for ENOSPC). */
	trk_pool_set_fs_free(c.pool, 1, 0);
	cr_assert_eq(trk_pool_alloc(c.pool, 1, 20, &r), 0);
	cr_expect_eq(r.disk, 1);
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 1, &r), 0);
	cr_expect_eq(r.disk, 0);
}

Test(place, file_continues_elsewhere_only_at_reserve, .fini = teardown)
{
	struct trk_run r;

	open2(TRK_PLACE_MFS);
	trk_pool_set_fs_free(c.pool, 0, ROOM(50));
	trk_pool_set_fs_free(c.pool, 1, ROOM(64) + ROOM(64));
	/* Disk 1 has more room, but a file on disk 0 stays there while it is
	 * above its reserve... */
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 8, &r), 0);
	cr_expect_eq(r.disk, 0);
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 2, &r), 0);
	cr_expect_eq(r.disk, 0);
	/* ... and continues elsewhere once it is at it (40 chunks left). */
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 1, &r), 0);
	cr_expect_eq(r.disk, 1, "a file whose disk is at its reserve continues elsewhere");
	/* When no other disk is above its reserve, it stays on its disk. */
	cr_assert_eq(trk_pool_alloc(c.pool, 1, 63, &r), 0);
	cr_expect_eq(r.disk, 1);
	trk_pool_set_fs_free(c.pool, 1, 0);
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 1, &r), 0);
	cr_expect_eq(r.disk, 0);
}

Test(place, policies_in_the_pool, .fini = teardown)
{
	struct trk_run r;

	open2(TRK_PLACE_FF);
	trk_pool_set_fs_free(c.pool, 0, CHUNKS(100));
	trk_pool_set_fs_free(c.pool, 1, CHUNKS(500));
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 4, &r), 0);
	cr_expect_eq(r.disk, 0, "ff: the first disk above its reserve");
	trk_pool_set_placement(c.pool, TRK_PLACE_LUS, CHUNKS(40));
	cr_expect_eq(trk_pool_placement(c.pool), TRK_PLACE_LUS);
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 4, &r), 0);
	cr_expect_eq(r.disk, 1, "lus: disk 1 holds nothing");
	trk_pool_set_placement(c.pool, TRK_PLACE_MFS, CHUNKS(40));
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 4, &r), 0);
	cr_expect_eq(r.disk, 1, "mfs");
}

Test(place, added_disk_takes_new_files, .fini = teardown)
{
	struct trk_run r;
	struct trk_disk_spec spec = {0};
	char path[160];
	unsigned idx = 99;

	open2(TRK_PLACE_MFS);
	trk_pool_set_fs_free(c.pool, 0, CHUNKS(100));
	trk_pool_set_fs_free(c.pool, 1, CHUNKS(100));
	snprintf(path, sizeof(path), "%s/d2", c.root);
	spec.path = path;
	cr_assert_eq(tfs_uuid_generate(&spec.uuid), 0);
	cr_assert_eq(trk_disk_format(path, &c.cfg.volume_uuid, &spec.uuid, 2, 4096, false), 0);
	cr_assert_eq(trk_pool_add_disk(c.pool, &spec, &idx), 0);
	cr_expect_eq(idx, 2);
	cr_expect_eq(trk_pool_ndisks(c.pool), 3);
	trk_pool_set_fs_free(c.pool, 2, CHUNKS(1000));
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 4, &r), 0);
	cr_expect_eq(r.disk, 2);
	char buf[4096] = "hello";
	cr_assert_eq(trk_io_write(c.pool, &r, 0, buf, sizeof(buf)), 0);
	cr_assert_eq(trk_pool_sync(c.pool), 0);
	/* A directory without an identity file is refused, not used. */
	snprintf(path, sizeof(path), "%s/empty", c.root);
	cr_assert_eq(mkdir(path, 0755), 0);
	cr_expect_eq(trk_pool_add_disk(c.pool, &spec, &idx) < 0, 1);
	spec.path = path;
	cr_expect_eq(trk_pool_add_disk(c.pool, &spec, &idx), -ENOENT);
	cr_expect_eq(trk_pool_ndisks(c.pool), 3);
}

Test(place, empty_dir_disk_is_missing, .fini = teardown)
{
	ct_setup(&c, 2, 4096, 64 * 4096);
	char idp[200];
	snprintf(idp, sizeof(idp), "%s/%s", c.paths[1], TRK_IDENTITY_FILE);
	cr_assert_eq(unlink(idp), 0);
	cr_assert_eq(ct_open(&c), 0, "a disk without its identity file is missing, not fatal");
	cr_expect(trk_pool_disk_missing(c.pool, 1));
	cr_expect(!trk_pool_disk_missing(c.pool, 0));
}
