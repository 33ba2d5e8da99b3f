/* A failing disk in core/: an I/O error marks the disk failing and the
 * allocator avoids it; a failed fdatasync stays failed until the writes it
 * lost are repaired (never retried as if nothing happened); which writes are
 * durable or lost; deferred frees taken back (trk_pool_undefer). */
#include "core_test.h"

static struct ct c;

static void teardown(void)
{
	ct_teardown(&c);
}

#define CHUNKS(n) ((uint64_t)(n)*4096)

static void open_n(unsigned n)
{
	ct_setup(&c, n, 4096, 16 * 4096);
	cr_assert_eq(ct_open(&c), 0);
}

static int write_run(const struct trk_run *r)
{
	uint8_t buf[4096];
	memset(buf, 0x5a, sizeof(buf));
	return trk_io_write(c.pool, r, 0, buf, sizeof(buf));
}

Test(failing, an_io_error_sends_new_chunks_elsewhere, .fini = teardown)
{
	struct trk_run r, s;
	struct trk_disk_stats st;

	open_n(3);
	trk_pool_set_fs_free(c.pool, 0, CHUNKS(100));
	trk_pool_set_fs_free(c.pool, 1, CHUNKS(500));
	trk_pool_set_fs_free(c.pool, 2, CHUNKS(300));
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 1, &r), 0);
	cr_assert_eq(r.disk, 1);
	trk_pool_inject_errors(c.pool, 1, 0, 1);
	cr_assert_eq(write_run(&r), -EIO);
	cr_assert(trk_pool_disk_failing(c.pool, 1));
	cr_assert_eq(trk_pool_disk_stats(c.pool, 1, &st), 0);
	cr_assert(st.failing);
	cr_assert_eq(st.io_errors, 1);
	cr_assert_eq(trk_pool_disk_stats(c.pool, 2, &st), 0);
	cr_assert(!st.failing && st.io_errors == 0);

	/* Neither the most free space nor the file's own disk wins any more. */
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 1, &s), 0);
	cr_expect_eq(s.disk, 2);
	cr_assert_eq(trk_pool_alloc(c.pool, 1, 1, &s), 0, "the hint of a failing disk");
	cr_expect_neq(s.disk, 1);
	cr_expect_eq(trk_pool_pick_disk(c.pool), 2);
	/* ... unless no other disk has room (once what they claimed is used). */
	trk_pool_set_fs_free(c.pool, 0, 0);
	trk_pool_set_fs_free(c.pool, 2, 0);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(trk_pool_alloc(c.pool, -1, 16, &s), 0);
		if (s.disk == 1)
			break;
	}
	cr_expect_eq(s.disk, 1);
	trk_pool_unalloc(c.pool, &r);
	trk_pool_unalloc(c.pool, &s);
}

static int repair_rc;
static int repair_calls;

static int repair_cb(void *arg)
{
	(void)arg;
	repair_calls++;
	return repair_rc;
}

Test(failing, a_failed_sync_stays_failed_until_repaired, .fini = teardown)
{
	struct trk_run old, lost, later;

	open_n(1);
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 1, &old), 0);
	cr_assert_eq(write_run(&old), 0);
	uint64_t old_done = trk_pool_epoch(c.pool);
	cr_assert(!trk_pool_write_durable(c.pool, &old, old_done));
	cr_assert_eq(trk_pool_sync_data(c.pool), 0);
	cr_assert(trk_pool_write_durable(c.pool, &old, old_done), "synced after it returned");

	cr_assert_eq(trk_pool_alloc(c.pool, -1, 1, &lost), 0);
	cr_assert_eq(write_run(&lost), 0);
	uint64_t lost_done = trk_pool_epoch(c.pool);
	trk_pool_inject_errors(c.pool, 0, 1, 0);
	cr_assert_eq(trk_pool_sync_data(c.pool), -EIO);
	cr_assert(trk_pool_disk_failing(c.pool, 0));
	/* fsyncgate: the next fdatasync would succeed; the pool does not ask. */
	cr_assert_eq(trk_pool_sync_data(c.pool), -EIO);
	cr_assert_eq(trk_pool_sync(c.pool), -EIO);
	cr_assert(trk_pool_write_lost(c.pool, &lost, lost_done));
	cr_assert(!trk_pool_write_durable(c.pool, &lost, lost_done));
	cr_assert(trk_pool_write_lost(c.pool, &lost, UINT64_MAX), "a write still running");
	cr_assert(!trk_pool_write_lost(c.pool, &old, old_done), "durable before the failure");

	/* A repair that fails leaves the error; one that succeeds clears it. */
	repair_rc = -ENOMEM;
	cr_assert_eq(trk_pool_sync_repair(c.pool, repair_cb, NULL), -ENOMEM);
	cr_assert_eq(trk_pool_sync_data(c.pool), -EIO);
	repair_rc = 0;
	cr_assert_eq(trk_pool_sync_repair(c.pool, repair_cb, NULL), 0);
	cr_assert_eq(repair_calls, 2);
	cr_assert(!trk_pool_write_lost(c.pool, &lost, lost_done));
	cr_assert_eq(write_run(&lost), 0);
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 1, &later), 0);
	cr_assert_eq(write_run(&later), 0);
	uint64_t later_done = trk_pool_epoch(c.pool);
	cr_assert_eq(trk_pool_sync_data(c.pool), 0);
	cr_assert(trk_pool_write_durable(c.pool, &later, later_done));
	trk_pool_unalloc(c.pool, &lost);
	trk_pool_unalloc(c.pool, &later);
	trk_pool_unalloc(c.pool, &old);
}

Test(failing, undefer_takes_back_part_of_a_deferred_run, .fini = teardown)
{
	struct trk_run a, r;

	open_n(1);
	trk_pool_set_fs_free(c.pool, 0, CHUNKS(16));
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 16, &a), 0);
	struct trk_run d = {0, 0, 2, 10};
	cr_assert_eq(trk_pool_free_deferred(c.pool, &d), 0);
	struct trk_run mid = {0, 0, 5, 2}, head = {0, 0, 2, 1}, tail = {0, 0, 11, 1};
	struct trk_run outside = {0, 0, 0, 2}, across = {0, 0, 6, 4};
	cr_assert_eq(trk_pool_undefer(c.pool, &outside), -ENOENT);
	cr_assert_eq(trk_pool_undefer(c.pool, &mid), 0);
	cr_assert_eq(trk_pool_undefer(c.pool, &across), -ENOENT, "5..6 are no longer deferred");
	cr_assert_eq(trk_pool_undefer(c.pool, &head), 0);
	cr_assert_eq(trk_pool_undefer(c.pool, &tail), 0);
	cr_assert_eq(trk_pool_deferred_count(c.pool), 6);
	/* What is left is released: 3..4 and 7..10. */
	cr_assert_eq(trk_pool_release_deferred(c.pool), 0);
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 16, &r), 0);
	cr_expect_eq(r.chunk, 3);
	cr_expect_eq(r.count, 2);
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 16, &r), 0);
	cr_expect_eq(r.chunk, 7);
	cr_expect_eq(r.count, 4);
	cr_expect_eq(trk_pool_alloc(c.pool, -1, 1, &r), -ENOSPC);
	struct trk_run whole = {0, 0, 0, 1};
	cr_assert_eq(trk_pool_free_deferred(c.pool, &whole), 0);
	cr_assert_eq(trk_pool_undefer(c.pool, &whole), 0);
	cr_assert_eq(trk_pool_deferred_count(c.pool), 0);
}
