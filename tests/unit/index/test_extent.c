/* index/extent.c: put/seek (exact start, inside, in a hole, past the end,
 * before the first), inodes that do not bleed into each other, overwrite,
 * delete, checksums round trip, iter_all order, malformed records. */
#include "idx_fixture.h"

#define CS 65536u /* fx_setup's chunk size */

static struct fx f;

static void setup(void)
{
	fx_setup(&f);
}

static void teardown(void)
{
	fx_teardown(&f);
}

static void put(struct idx_txn *txn, uint64_t ino, uint64_t chunk_idx, uint32_t n, uint32_t tag)
{
	struct idx_extent e = {.off = chunk_idx * CS,
			       .disk = (uint16_t)(tag % 7),
			       .track = tag,
			       .chunk = tag * 10,
			       .nchunks = n};

	for (uint32_t i = 0; i < n; i++)
		e.sums[i] = ((uint64_t)tag << 32) | i;
	cr_assert_eq(idx_extent_put(txn, ino, &e), 0);
}

/* Seek @p off in @p ino; the found extent's track (its tag), or -errno. */
static int64_t seek_tag(struct idx_txn *txn, uint64_t ino, uint64_t off)
{
	struct idx_extent e;
	int rc = idx_extent_seek(txn, ino, off, &e);

	if (rc)
		return rc;
	for (uint32_t i = 0; i < e.nchunks; i++)
		cr_assert_eq(e.sums[i], ((uint64_t)e.track << 32) | i);
	cr_assert_eq(e.chunk, e.track * 10);
	return e.track;
}

Test(extent, seek, .init = setup, .fini = teardown)
{
	struct idx_txn *txn = fx_begin(&f);

	/* ino 5: [0,2) tag 1, hole [2,4), [4,5) tag 2, [5,133) tag 3 (128 chunks). */
	put(txn, 5, 0, 2, 1);
	put(txn, 5, 4, 1, 2);
	put(txn, 5, 5, 128, 3);
	/* Neighbours on both sides that must never be returned for ino 5. */
	put(txn, 4, 0, 128, 40);
	put(txn, 6, 0, 1, 60);

	cr_assert_eq(seek_tag(txn, 5, 0), 1);		/* exact start */
	cr_assert_eq(seek_tag(txn, 5, 1), 1);		/* inside */
	cr_assert_eq(seek_tag(txn, 5, 2 * CS - 1), 1);	/* last byte */
	cr_assert_eq(seek_tag(txn, 5, 2 * CS), 2);	/* hole: the next one */
	cr_assert_eq(seek_tag(txn, 5, 3 * CS + 17), 2); /* hole */
	cr_assert_eq(seek_tag(txn, 5, 4 * CS), 2);
	cr_assert_eq(seek_tag(txn, 5, 5 * CS), 3);
	cr_assert_eq(seek_tag(txn, 5, 100 * CS + 5), 3);
	cr_assert_eq(seek_tag(txn, 5, 133 * CS - 1), 3);
	cr_assert_eq(seek_tag(txn, 5, 133 * CS), -ENOENT); /* past the end */
	cr_assert_eq(seek_tag(txn, 5, UINT64_MAX), -ENOENT);
	cr_assert_eq(seek_tag(txn, 7, 0), -ENOENT); /* no extents (after the last key) */
	cr_assert_eq(seek_tag(txn, 3, 0), -ENOENT); /* no extents (before the first) */
	cr_assert_eq(seek_tag(txn, 4, 127 * CS), 40);
	cr_assert_eq(seek_tag(txn, 4, 128 * CS), -ENOENT); /* not ino 5's first extent */
	cr_assert_eq(seek_tag(txn, 6, 0), 60);
	cr_assert_eq(seek_tag(txn, 6, CS), -ENOENT);
	fx_commit(txn);
}

Test(extent, first_extent_above_zero, .init = setup, .fini = teardown)
{
	struct idx_txn *txn = fx_begin(&f);

	put(txn, 9, 3, 1, 5);
	put(txn, 8, 0, 64, 4); /* ends past ino 9's offsets but is another inode */
	cr_assert_eq(seek_tag(txn, 9, 0), 5);
	cr_assert_eq(seek_tag(txn, 9, 3 * CS), 5);
	cr_assert_eq(seek_tag(txn, 9, 4 * CS), -ENOENT);
	fx_commit(txn);
}

Test(extent, overwrite_and_delete, .init = setup, .fini = teardown)
{
	struct idx_txn *txn = fx_begin(&f);
	struct idx_extent e = {.off = 0, .nchunks = 0};

	put(txn, 5, 0, 4, 1);
	put(txn, 5, 0, 1, 2); /* shorter replacement */
	cr_assert_eq(seek_tag(txn, 5, 0), 2);
	cr_assert_eq(seek_tag(txn, 5, CS), -ENOENT);
	cr_assert_eq(idx_extent_del(txn, 5, CS), -ENOENT);
	cr_assert_eq(idx_extent_del(txn, 5, 0), 0);
	cr_assert_eq(seek_tag(txn, 5, 0), -ENOENT);
	cr_assert_eq(idx_extent_put(txn, 5, &e), -EINVAL);
	e.nchunks = IDX_EXTENT_MAX_CHUNKS + 1;
	cr_assert_eq(idx_extent_put(txn, 5, &e), -EINVAL);
	fx_commit(txn);
}

struct iter_state {
	uint64_t ino[8], off[8];
	int n;
};

static int iter_cb(void *arg, uint64_t ino, const struct idx_extent *e)
{
	struct iter_state *s = arg;

	cr_assert_lt(s->n, 8);
	s->ino[s->n] = ino;
	s->off[s->n++] = e->off;
	return 0;
}

Test(extent, iter_all, .init = setup, .fini = teardown)
{
	struct iter_state s = {.n = 0};
	struct idx_txn *txn = fx_begin(&f);

	put(txn, 300, 1, 1, 1);
	put(txn, 2, 256, 1, 2);
	put(txn, 2, 1, 1, 3);
	cr_assert_eq(idx_extent_iter_all(txn, iter_cb, &s), 0);
	cr_assert_eq(s.n, 3);
	cr_assert_eq(s.ino[0], 2);
	cr_assert_eq(s.off[0], CS);
	cr_assert_eq(s.off[1], 256ull * CS);
	cr_assert_eq(s.ino[2], 300);
	fx_commit(txn);
}

Test(extent, survives_reopen_and_detects_corruption, .init = setup, .fini = teardown)
{
	struct idx_txn *txn = fx_begin(&f);
	uint8_t key[16], bad[14 + 8] = {0};

	put(txn, 5, 0, 128, 9);
	fx_commit(txn);
	cr_assert_eq(idx_env_close(f.env, true), 0);
	f.env = NULL;
	/* Claims 2 chunks but carries one checksum. */
	fx_be64(key, 6);
	fx_be64(key + 8, 0);
	bad[10] = 2;
	fx_raw_put(f.dir, "extent", key, 16, bad, sizeof(bad));
	fx_open(&f, 0);
	txn = fx_begin(&f);
	cr_assert_eq(seek_tag(txn, 5, 127 * CS), 9);
	cr_assert_eq(seek_tag(txn, 6, 0), -EIO);
	fx_abort(txn);
}
