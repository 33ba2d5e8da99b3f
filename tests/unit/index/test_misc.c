/* index/volrec.c, diskstale.c, inline.c and orphan.c: the volume record
 * round trip and its corruption checks, stale-disk records, inode number allocation, inline data
 * and the orphan list. */
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

Test(volume, fresh_env_has_none)
{
	struct idx_volume vol;
	struct idx_txn *txn;
	uint64_t ino;
	struct fx g;

	fx_mkdir(&g);
	fx_open(&g, IDX_CREATE);
	txn = fx_begin(&g);
	cr_assert_eq(idx_volume_get(txn, &vol), -ENOENT);
	cr_assert_eq(idx_ino_alloc(txn, &ino), -EIO);
	fx_abort(txn);
	fx_teardown(&g);
}

Test(volume, round_trip_and_alloc, .init = setup, .fini = teardown)
{
	struct idx_volume vol, out;
	struct idx_txn *txn = fx_begin(&f);
	uint64_t a, b;

	memset(&vol, 0, sizeof(vol));
	for (int i = 0; i < 16; i++)
		vol.uuid.b[i] = (uint8_t)(i * 17);
	vol.chunk_size = 1 << 20;
	vol.format = 3;
	vol.next_ino = 2;
	vol.generation = 0x1122334455ull;
	vol.clean = true;
	memset(vol.label, 'L', IDX_LABEL_MAX);
	vol.label[IDX_LABEL_MAX] = '\0';
	cr_assert_eq(idx_volume_put(txn, &vol), 0);
	cr_assert_eq(idx_ino_alloc(txn, &a), 0);
	cr_assert_eq(idx_ino_alloc(txn, &b), 0);
	cr_assert_gt(a, IDX_ROOT_INO);
	cr_assert_eq(a, 2);
	cr_assert_eq(b, 3);
	fx_commit(txn);
	cr_assert_eq(idx_env_close(f.env, true), 0);
	f.env = NULL;
	fx_open(&f, 0);
	txn = fx_begin(&f);
	cr_assert_eq(idx_volume_get(txn, &out), 0);
	cr_assert(tfs_uuid_equal(&out.uuid, &vol.uuid));
	cr_assert_eq(out.chunk_size, vol.chunk_size);
	cr_assert_eq(out.format, 3);
	cr_assert_eq(out.next_ino, 4);
	cr_assert_eq(out.generation, vol.generation);
	cr_assert(out.clean);
	cr_assert_str_eq(out.label, vol.label);
	out.clean = false;
	out.label[0] = '\0';
	cr_assert_eq(idx_volume_put(txn, &out), 0);
	cr_assert_eq(idx_volume_get(txn, &vol), 0);
	cr_assert_not(vol.clean);
	cr_assert_str_eq(vol.label, "");
	/* An aborted allocation hands the same number out again. */
	cr_assert_eq(idx_ino_alloc(txn, &a), 0);
	fx_commit(txn);
	txn = fx_begin(&f);
	cr_assert_eq(idx_ino_alloc(txn, &b), 0);
	fx_abort(txn);
	txn = fx_begin(&f);
	cr_assert_eq(idx_ino_alloc(txn, &b), 0);
	cr_assert_eq(b, a + 1);
	out.chunk_size = 0;
	cr_assert_eq(idx_volume_put(txn, &out), -EINVAL);
	fx_commit(txn);
}

Test(volume, corrupt_is_eio, .init = setup, .fini = teardown)
{
	uint8_t bad[50];
	struct idx_volume vol;
	struct idx_txn *txn;
	uint64_t ino;

	cr_assert_eq(idx_env_close(f.env, true), 0);
	f.env = NULL;
	memset(bad, 0, sizeof(bad));
	bad[4] = 1;   /* chunk size 1 */
	bad[41] = 60; /* label length beyond the value */
	fx_raw_put(f.dir, "volume", "volume", 6, bad, sizeof(bad));
	fx_open(&f, 0);
	txn = fx_begin(&f);
	cr_assert_eq(idx_volume_get(txn, &vol), -EIO);
	cr_assert_eq(idx_ino_alloc(txn, &ino), -EIO);
	fx_abort(txn);
}

Test(disk_stale, add_sums_get_clear, .init = setup, .fini = teardown)
{
	struct idx_disk_stale st;
	struct idx_volume vol;
	struct idx_txn *txn = fx_begin(&f);

	cr_assert_eq(idx_volume_get(txn, &vol), 0);
	cr_assert_eq(idx_disk_stale_get(txn, 1, &st), -ENOENT);
	cr_assert_eq(idx_disk_stale_add(txn, 1, 100, 0), 0);
	cr_assert_eq(idx_disk_stale_add(txn, 1, 28, IDX_DISK_STALE_MISSED_REBUILD), 0);
	cr_assert_eq(idx_disk_stale_add(txn, 300, 5, 0), 0);
	fx_commit(txn);
	cr_assert_eq(idx_env_close(f.env, true), 0);
	f.env = NULL;
	fx_open(&f, 0);
	txn = fx_begin(&f);
	cr_assert_eq(idx_disk_stale_get(txn, 1, &st), 0);
	cr_assert_eq(st.chunks, 128);
	cr_assert_eq(st.flags, IDX_DISK_STALE_MISSED_REBUILD);
	cr_assert_eq(idx_disk_stale_get(txn, 300, &st), 0);
	cr_assert_eq(st.chunks, 5);
	cr_assert_eq(st.flags, 0);
	cr_assert_eq(idx_disk_stale_get(txn, 0, &st), -ENOENT);
	/* They share the volume table with the volume record, which stays intact. */
	cr_assert_eq(idx_volume_get(txn, &vol), 0);
	cr_assert_eq(idx_disk_stale_clear(txn, 1), 0);
	cr_assert_eq(idx_disk_stale_clear(txn, 1), -ENOENT);
	cr_assert_eq(idx_disk_stale_get(txn, 1, &st), -ENOENT);
	cr_assert_eq(idx_disk_stale_get(txn, 300, &st), 0);
	fx_commit(txn);
}

Test(disk_stale, bad_length_is_eio, .init = setup, .fini = teardown)
{
	static const char key[] = {'s', 't', 'a', 'l', 'e', 0, 2};
	uint8_t bad[5] = {0};
	struct idx_disk_stale st;
	struct idx_txn *txn;

	cr_assert_eq(idx_env_close(f.env, true), 0);
	f.env = NULL;
	fx_raw_put(f.dir, "volume", key, sizeof(key), bad, sizeof(bad));
	fx_open(&f, 0);
	txn = fx_begin(&f);
	cr_assert_eq(idx_disk_stale_get(txn, 2, &st), -EIO);
	fx_abort(txn);
}

Test(inline_data, put_get_del, .init = setup, .fini = teardown)
{
	static uint8_t big[IDX_INLINE_MAX + 1], out[IDX_INLINE_MAX];
	struct idx_txn *txn = fx_begin(&f);
	char buf[32];
	size_t len = 0;

	cr_assert_eq(idx_inline_get(txn, 5, buf, sizeof(buf), &len), -ENOENT);
	cr_assert_eq(idx_inline_put(txn, 5, "/target/path", 12), 0);
	cr_assert_eq(idx_inline_get(txn, 5, NULL, 0, &len), 0);
	cr_assert_eq(len, 12);
	cr_assert_eq(idx_inline_get(txn, 5, buf, 11, &len), -ERANGE);
	cr_assert_eq(idx_inline_get(txn, 5, buf, sizeof(buf), &len), 0);
	cr_assert_eq(memcmp(buf, "/target/path", 12), 0);
	cr_assert_eq(idx_inline_get(txn, 6, buf, sizeof(buf), &len), -ENOENT);
	memset(big, 'b', sizeof(big));
	cr_assert_eq(idx_inline_put(txn, 6, big, sizeof(big)), -E2BIG);
	cr_assert_eq(idx_inline_put(txn, 6, big, IDX_INLINE_MAX), 0);
	cr_assert_eq(idx_inline_get(txn, 6, out, sizeof(out), &len), 0);
	cr_assert_eq(len, IDX_INLINE_MAX);
	cr_assert_eq(idx_inline_del(txn, 5), 0);
	cr_assert_eq(idx_inline_del(txn, 5), -ENOENT);
	cr_assert_eq(idx_inline_get(txn, 5, buf, sizeof(buf), &len), -ENOENT);
	fx_commit(txn);
}

struct orphans {
	uint64_t ino[8];
	int n, stop_after;
};

static int orphan_cb(void *arg, uint64_t ino)
{
	struct orphans *o = arg;

	o->ino[o->n++] = ino;
	return o->n == o->stop_after ? -EINTR : 0;
}

Test(orphan, add_del_iter, .init = setup, .fini = teardown)
{
	struct orphans o = {.n = 0};
	struct idx_txn *txn = fx_begin(&f);

	cr_assert_eq(idx_orphan_iter(txn, orphan_cb, &o), 0);
	cr_assert_eq(o.n, 0);
	cr_assert_eq(idx_orphan_add(txn, 300), 0);
	cr_assert_eq(idx_orphan_add(txn, 2), 0);
	cr_assert_eq(idx_orphan_add(txn, 2), 0); /* idempotent */
	cr_assert_eq(idx_orphan_add(txn, 40), 0);
	fx_commit(txn);
	cr_assert_eq(idx_env_close(f.env, true), 0);
	f.env = NULL;
	fx_open(&f, 0);
	txn = fx_begin(&f);
	cr_assert_eq(idx_orphan_iter(txn, orphan_cb, &o), 0);
	cr_assert_eq(o.n, 3);
	cr_assert_eq(o.ino[0], 2);
	cr_assert_eq(o.ino[1], 40);
	cr_assert_eq(o.ino[2], 300);
	cr_assert_eq(idx_orphan_del(txn, 40), 0);
	cr_assert_eq(idx_orphan_del(txn, 40), -ENOENT);
	o.n = 0;
	o.stop_after = 1;
	cr_assert_eq(idx_orphan_iter(txn, orphan_cb, &o), -EINTR);
	cr_assert_eq(o.n, 1);
	fx_commit(txn);
}
