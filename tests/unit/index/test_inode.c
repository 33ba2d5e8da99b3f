/* index/inode.c: every field survives a round trip (and a reopen), missing
 * inodes, overwrite and delete, iteration order and early stop, and a
 * malformed record reported as -EIO. */
#include "idx_fixture.h"

static struct fx f;

static void setup(void)
{
	fx_setup(&f);
}

static void teardown(void)
{
	fx_teardown(&f);
}

static struct idx_inode sample(uint64_t ino)
{
	struct idx_inode in = {
		.ino = ino,
		.mode = 040755,
		.uid = 1000,
		.gid = 0xfffffffe,
		.nlink = 3,
		.size = 0x123456789abcull,
		.rdev = 0x0801,
		.blocks = 77,
		.generation = 0xdeadbeefcafeull,
		.atime = {-5, 999999999},
		.mtime = {1700000000, 1},
		.ctime = {0x7fffffffffffll, 0},
		.btime = {3, 4},
		.parent = 9,
		.flags = 0x5,
		.disk = 12,
	};
	return in;
}

static void assert_same(const struct idx_inode *a, const struct idx_inode *b)
{
	cr_assert_eq(a->ino, b->ino);
	cr_assert_eq(a->mode, b->mode);
	cr_assert_eq(a->uid, b->uid);
	cr_assert_eq(a->gid, b->gid);
	cr_assert_eq(a->nlink, b->nlink);
	cr_assert_eq(a->size, b->size);
	cr_assert_eq(a->rdev, b->rdev);
	cr_assert_eq(a->blocks, b->blocks);
	cr_assert_eq(a->generation, b->generation);
	cr_assert_eq(a->atime.tv_sec, b->atime.tv_sec);
	cr_assert_eq(a->atime.tv_nsec, b->atime.tv_nsec);
	cr_assert_eq(a->mtime.tv_sec, b->mtime.tv_sec);
	cr_assert_eq(a->mtime.tv_nsec, b->mtime.tv_nsec);
	cr_assert_eq(a->ctime.tv_sec, b->ctime.tv_sec);
	cr_assert_eq(a->btime.tv_nsec, b->btime.tv_nsec);
	cr_assert_eq(a->parent, b->parent);
	cr_assert_eq(a->flags, b->flags);
	cr_assert_eq(a->disk, b->disk);
}

Test(inode, round_trip, .init = setup, .fini = teardown)
{
	struct idx_inode in = sample(7), out;
	struct idx_txn *txn = fx_begin(&f);

	cr_assert_eq(idx_inode_put(txn, &in), 0);
	memset(&out, 0xff, sizeof(out));
	cr_assert_eq(idx_inode_get(txn, 7, &out), 0);
	assert_same(&in, &out);
	fx_commit(txn);
	cr_assert_eq(idx_env_close(f.env, false), 0);
	f.env = NULL;
	fx_open(&f, 0);
	txn = fx_begin(&f);
	cr_assert_eq(idx_inode_get(txn, 7, &out), 0);
	assert_same(&in, &out);
	fx_abort(txn);
}

Test(inode, missing_overwrite_delete, .init = setup, .fini = teardown)
{
	struct idx_inode in = sample(8), out;
	struct idx_txn *txn = fx_begin(&f);

	cr_assert_eq(idx_inode_get(txn, 8, &out), -ENOENT);
	cr_assert_eq(idx_inode_del(txn, 8), -ENOENT);
	cr_assert_eq(idx_inode_put(txn, &in), 0);
	in.size = 1;
	in.nlink = 0;
	cr_assert_eq(idx_inode_put(txn, &in), 0);
	cr_assert_eq(idx_inode_get(txn, 8, &out), 0);
	cr_assert_eq(out.size, 1);
	cr_assert_eq(out.nlink, 0);
	cr_assert_eq(idx_inode_del(txn, 8), 0);
	cr_assert_eq(idx_inode_get(txn, 8, &out), -ENOENT);
	/* Bad arguments are refused, not stored. */
	in.ino = 0;
	cr_assert_eq(idx_inode_put(txn, &in), -EINVAL);
	in.ino = 9;
	in.mtime.tv_nsec = 1000000000;
	cr_assert_eq(idx_inode_put(txn, &in), -EINVAL);
	fx_commit(txn);
}

struct iter_state {
	uint64_t seen[16];
	int n;
	int stop_after;
};

static int iter_cb(void *arg, const struct idx_inode *in)
{
	struct iter_state *s = arg;

	s->seen[s->n++] = in->ino;
	return s->n == s->stop_after ? 42 : 0;
}

Test(inode, iter_order_and_stop, .init = setup, .fini = teardown)
{
	/* 256 and 1 would swap under little-endian keys. */
	uint64_t inos[] = {256, 1, 70000, 2, 1ull << 40};
	uint64_t sorted[] = {1, 2, 256, 70000, 1ull << 40};
	struct iter_state s = {.n = 0};
	struct idx_txn *txn = fx_begin(&f);

	for (size_t i = 0; i < 5; i++) {
		struct idx_inode in = sample(inos[i]);

		cr_assert_eq(idx_inode_put(txn, &in), 0);
	}
	cr_assert_eq(idx_inode_iter(txn, iter_cb, &s), 0);
	cr_assert_eq(s.n, 5);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(s.seen[i], sorted[i]);
	s.n = 0;
	s.stop_after = 2;
	cr_assert_eq(idx_inode_iter(txn, iter_cb, &s), 42);
	cr_assert_eq(s.n, 2);
	fx_commit(txn);
}

Test(inode, corrupt_record_is_eio, .init = setup, .fini = teardown)
{
	struct idx_inode in = sample(11), out;
	struct idx_txn *txn = fx_begin(&f);
	uint8_t key[8], bad[5] = {1, 2, 3, 4, 5}, badver[112] = {99};

	cr_assert_eq(idx_inode_put(txn, &in), 0);
	fx_commit(txn);
	cr_assert_eq(idx_env_close(f.env, true), 0);
	f.env = NULL;
	fx_be64(key, 12);
	fx_raw_put(f.dir, "inode", key, 8, bad, sizeof(bad));
	fx_be64(key, 13);
	fx_raw_put(f.dir, "inode", key, 8, badver, sizeof(badver));
	fx_open(&f, 0);
	txn = fx_begin(&f);
	cr_assert_eq(idx_inode_get(txn, 12, &out), -EIO);
	cr_assert_eq(idx_inode_get(txn, 13, &out), -EIO);
	/* The transaction goes on: other records are still readable. */
	cr_assert_eq(idx_inode_get(txn, 11, &out), 0);
	assert_same(&in, &out);
	fx_abort(txn);
}
