/* Truncation: shrinking frees chunks (deferred until the index is durable),
 * growing reads zeros, and the EOF rule (bytes past an unaligned EOF are
 * zeroed before the size grows over them). */
#include "tests/unit/vol/fixture.h"

static struct fx F;

static void setup_4k(void)
{
	fx_setup(&F, 4096);
}

static void teardown(void)
{
	fx_teardown(&F);
}

TestSuite(vol_trunc, .init = setup_4k, .fini = teardown, .timeout = 120);

Test(vol_trunc, down_unaligned_then_up_reads_zero_tail)
{
	uint64_t ino = fx_create(&F, "f");
	uint32_t cs = F.cs;

	fx_fill(&F, ino, 0xAB, 3 * cs, 0);
	cr_assert_eq(fx_truncate(&F, ino, cs + 100), 0);
	cr_assert_eq(fx_getattr(&F, ino).size, cs + 100);
	cr_assert_eq(fx_chunks(&F, ino), 2);
	cr_assert_eq(fx_getattr(&F, ino).blocks, 2 * cs / 512);
	cr_assert_eq(fx_truncate(&F, ino, 3 * cs), 0);
	cr_assert_eq(fx_getattr(&F, ino).size, 3 * cs);
	fx_expect_bytes(&F, ino, 0xAB, cs + 100, 0);
	fx_expect_bytes(&F, ino, 0, 2 * cs - 100, cs + 100);
	fx_reopen(&F);
	fx_expect_bytes(&F, ino, 0, 2 * cs - 100, cs + 100);
	fx_expect_bytes(&F, ino, 0xAB, cs + 100, 0);
}

Test(vol_trunc, down_then_up_inside_one_chunk)
{
	uint64_t ino = fx_create(&F, "f");

	fx_fill(&F, ino, 0x5A, 1000, 0);
	cr_assert_eq(fx_truncate(&F, ino, 10), 0);
	cr_assert_eq(fx_truncate(&F, ino, 2000), 0);
	fx_expect_bytes(&F, ino, 0x5A, 10, 0);
	fx_expect_bytes(&F, ino, 0, 1990, 10);
	cr_assert_eq(fx_chunks(&F, ino), 1);
}

Test(vol_trunc, to_zero_frees_space_after_sync)
{
	uint64_t ino = fx_create(&F, "f");
	uint32_t cs = F.cs;

	cr_assert_eq(vol_sync_all(F.v), 0);
	uint64_t used0 = fx_used(&F);
	fx_fill(&F, ino, 7, 100 * cs, 0);
	uint64_t used1 = fx_used(&F);
	cr_assert_eq(used1, used0 + 100, "100 chunks in use: %llu -> %llu",
		     (unsigned long long)used0, (unsigned long long)used1);
	uint64_t d0 = trk_pool_deferred_count(F.v->pool);
	cr_assert_eq(fx_truncate(&F, ino, 0), 0);
	cr_assert_eq(fx_getattr(&F, ino).size, 0);
	cr_assert_eq(fx_getattr(&F, ino).blocks, 0);
	cr_assert_eq(fx_chunks(&F, ino), 0);
	cr_assert_eq(fx_extent_count(&F, ino), 0);
	cr_assert_eq(trk_pool_deferred_count(F.v->pool), d0 + 100, "frees wait for the index");
	cr_assert_eq(fx_used(&F), used1, "not free before the index is durable");
	cr_assert_eq(vol_sync_all(F.v), 0);
	cr_assert_eq(trk_pool_deferred_count(F.v->pool), 0);
	cr_assert_eq(fx_used(&F), used0);
	char b;
	cr_assert_eq(vol_read(F.v, ino, &b, 1, 0), 0);
	fx_close_and_fsck(&F);
}

Test(vol_trunc, write_past_eof_after_truncate_down_zeroes_gap)
{
	uint64_t ino = fx_create(&F, "f");
	uint32_t cs = F.cs;

	fx_fill(&F, ino, 0xCD, 2 * cs, 0);
	cr_assert_eq(fx_truncate(&F, ino, 100), 0);
	/* A write in a later chunk: the old last chunk's tail must read zeros. */
	fx_write(&F, ino, "Z", 1, 2 * cs + 5);
	cr_assert_eq(fx_getattr(&F, ino).size, 2 * cs + 6);
	fx_expect_bytes(&F, ino, 0xCD, 100, 0);
	fx_expect_bytes(&F, ino, 0, 2 * cs + 5 - 100, 100);
	fx_expect_bytes(&F, ino, 'Z', 1, 2 * cs + 5);

	/* A write in the same chunk as the unaligned EOF. */
	uint64_t g = fx_create(&F, "g");
	fx_fill(&F, g, 0xEE, cs, 0);
	cr_assert_eq(fx_truncate(&F, g, 50), 0);
	fx_write(&F, g, "Q", 1, 300);
	fx_expect_bytes(&F, g, 0xEE, 50, 0);
	fx_expect_bytes(&F, g, 0, 250, 50);
	fx_expect_bytes(&F, g, 'Q', 1, 300);
	cr_assert_eq(fx_getattr(&F, g).size, 301);
}

Test(vol_trunc, shrink_splits_an_extent_and_keeps_data)
{
	uint64_t ino = fx_create(&F, "f");
	uint32_t cs = F.cs;
	uint64_t s = 3;
	uint8_t *buf = malloc(10 * cs), *rb = malloc(10 * cs);

	cr_assert(buf && rb);
	fx_random_bytes(&s, buf, 10 * cs);
	fx_write(&F, ino, buf, 10 * cs, 0);
	cr_assert_eq(fx_truncate(&F, ino, 5 * cs + 1), 0);
	cr_assert_eq(fx_chunks(&F, ino), 6);
	fx_extent_count(&F, ino);
	cr_assert_eq(vol_read(F.v, ino, rb, 10 * cs, 0), 5 * cs + 1);
	cr_assert(memcmp(rb, buf, 5 * cs + 1) == 0);
	/* Truncating to the same size changes nothing but the times. */
	cr_assert_eq(fx_truncate(&F, ino, 5 * cs + 1), 0);
	cr_assert_eq(fx_chunks(&F, ino), 6);
	free(buf);
	free(rb);
}

Test(vol_trunc, errors)
{
	uint64_t ino = fx_create(&F, "f");

	cr_assert_eq(fx_truncate(&F, VOL_ROOT_INO, 0), -EISDIR);
	cr_assert_eq(fx_truncate(&F, ino, VOL_MAX_FILE_SIZE + 1), -EFBIG);
	cr_assert_eq(fx_truncate(&F, ino, VOL_MAX_FILE_SIZE), 0, "a huge sparse file is fine");
	cr_assert_eq(fx_chunks(&F, ino), 0);
	cr_assert_eq(fx_truncate(&F, ino, 0), 0);
}

Test(vol_trunc, setattr_size_goes_through_the_data_path)
{
	uint64_t ino = fx_create(&F, "f");
	uint32_t cs = F.cs;
	struct vol_attr in = {.size = 10}, out;

	fx_fill(&F, ino, 0x33, 2 * cs, 0);
	cr_assert_eq(vol_setattr(F.v, ino, &in, VOL_SET_SIZE, &out), 0);
	cr_assert_eq(out.size, 10);
	in.size = 3 * cs;
	cr_assert_eq(vol_setattr(F.v, ino, &in, VOL_SET_SIZE, &out), 0);
	fx_expect_bytes(&F, ino, 0x33, 10, 0);
	fx_expect_bytes(&F, ino, 0, 3 * cs - 10, 10);
	cr_assert_eq(fx_chunks(&F, ino), 1);
}

Test(vol_trunc, extents_free_from_inside_a_txn)
{
	/* What vol-meta does when a file is deleted: free everything in its txn. */
	uint64_t ino = fx_create(&F, "f");
	uint32_t cs = F.cs;
	struct idx_txn *txn;
	struct idx_inode in;

	fx_fill(&F, ino, 1, 5 * cs, 0);
	fx_fill(&F, ino, 2, cs, 20 * cs);
	uint64_t d0 = trk_pool_deferred_count(F.v->pool);
	cr_assert_eq(idx_txn_begin(F.v->idx, &txn), 0);
	cr_assert_eq(idx_inode_get(txn, ino, &in), 0);
	cr_assert_eq(vol_extents_free_range(F.v, txn, &in, 100, 3 * cs), 0);
	cr_assert_eq(in.blocks, 4, "only chunks 1 and 2 lie wholly inside");
	cr_assert_eq(vol_extents_free_from(F.v, txn, &in, 0), 0);
	cr_assert_eq(in.blocks, 0);
	cr_assert_eq(idx_inode_put(txn, &in), 0);
	cr_assert_eq(idx_txn_commit(txn), 0);
	cr_assert_eq(trk_pool_deferred_count(F.v->pool), d0 + 6);
	cr_assert_eq(fx_extent_count(&F, ino), 0);
}
