/* vol_move_range: chunks change owner without being copied. Bytes read back
 * the same through the new owner (checksums travel with the chunks), no
 * chunk is allocated or freed, the source keeps what was not moved, every
 * refusal (-EXDEV) leaves both files exactly as they were, and fsck.trackfs
 * finds the volume clean afterwards (invariants 1 and 3). */
#include <unistd.h>

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

TestSuite(vol_move, .init = setup_4k, .fini = teardown, .timeout = 120);

static uint8_t *random_file(uint64_t ino, size_t len, uint64_t seed)
{
	uint8_t *b = malloc(len);
	cr_assert_not_null(b);
	fx_random_bytes(&seed, b, len);
	fx_write(&F, ino, b, len, 0);
	return b;
}

static void expect_file(uint64_t ino, const uint8_t *want, size_t len)
{
	uint8_t *b = malloc(len + 1);
	cr_assert_not_null(b);
	ssize_t n = vol_read(F.v, ino, b, len + 1, 0);
	cr_assert_eq(n, (ssize_t)len, "read %zd bytes, want %zu", n, len);
	cr_assert(!memcmp(b, want, len), "bytes differ");
	free(b);
}

Test(vol_move, parts_put_together_end_to_end)
{
	uint32_t cs = F.cs;
	size_t len[3] = {5 * cs, 3 * cs, 2 * cs + 777};
	uint64_t part[3], dst = fx_create(&F, "whole");
	uint8_t *data[3], *whole = malloc(10 * cs + 777);
	uint64_t off = 0;

	/* New files take turns on the two disks (most free space first);
	 * parts to be joined are placed on one, as the S3 sidecar does. */
	int disk = vol_pick_disk(F.v);
	cr_assert_geq(disk, 0);
	for (int i = 0; i < 3; i++) {
		char name[8] = {'p', (char)('0' + i), 0};
		part[i] = fx_create(&F, name);
		cr_assert_eq(vol_set_disk(F.v, part[i], disk), 0);
		data[i] = random_file(part[i], len[i], 100 + i);
	}
	cr_assert_eq(vol_set_disk(F.v, part[0], !disk), -EBUSY, "a file with chunks stays put");
	uint64_t used = fx_used(&F);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(vol_move_range(F.v, part[i], 0, len[i], dst, off), 0, "part %d", i);
		memcpy(whole + off, data[i], len[i]);
		off += len[i];
		cr_assert_eq(fx_getattr(&F, part[i]).size, 0, "a part moved whole is empty");
		cr_assert_eq(fx_chunks(&F, part[i]), 0);
	}
	cr_assert_eq(fx_used(&F), used, "no chunk allocated or freed");
	cr_assert_eq(fx_getattr(&F, dst).size, 10 * cs + 777);
	cr_assert_eq(fx_chunks(&F, dst), 11);
	fx_extent_count(&F, dst);
	expect_file(dst, whole, 10 * cs + 777);

	/* The same after the chunks are read from the disks again. */
	fx_reopen(&F);
	expect_file(dst, whole, 10 * cs + 777);
	for (int i = 0; i < 3; i++)
		free(data[i]);
	free(whole);
	fx_close_and_fsck(&F);
}

Test(vol_move, a_middle_range_leaves_a_hole_and_can_go_back)
{
	uint32_t cs = F.cs;
	uint64_t src = fx_create(&F, "src"), tmp = fx_create(&F, "tmp");
	uint8_t *data = random_file(src, 10 * cs, 7);

	cr_assert_eq(vol_move_range(F.v, src, 2 * cs, 3 * cs, tmp, 0), 0);
	cr_assert_eq(fx_getattr(&F, src).size, 10 * cs, "a range inside the file keeps its size");
	cr_assert_eq(fx_chunks(&F, src), 7);
	fx_expect_bytes(&F, src, 0, 3 * cs, 2 * cs);
	expect_file(tmp, data + 2 * cs, 3 * cs);
	fx_extent_count(&F, src);

	/* Back out into a third file, the way a failed multipart completion
	 * gives its parts back. */
	uint64_t back = fx_create(&F, "back");
	cr_assert_eq(vol_move_range(F.v, tmp, 0, 3 * cs, back, 0), 0);
	cr_assert_eq(fx_getattr(&F, tmp).size, 0);
	expect_file(back, data + 2 * cs, 3 * cs);
	free(data);
	fx_close_and_fsck(&F);
}

/* Every refusal: both files byte for byte as before. */
Test(vol_move, refusals_change_nothing)
{
	uint32_t cs = F.cs;
	uint64_t src = fx_create(&F, "src"), dst = fx_create(&F, "dst");
	uint8_t *sdata = random_file(src, 4 * cs + 10, 1);
	uint8_t *ddata = random_file(dst, 2 * cs, 2);

	cr_assert_eq(vol_move_range(F.v, src, 1, cs, dst, 2 * cs), -EXDEV, "unaligned source");
	cr_assert_eq(vol_move_range(F.v, src, 0, cs, dst, 2 * cs + 1), -EXDEV, "unaligned target");
	cr_assert_eq(vol_move_range(F.v, src, 0, cs + 1, dst, 2 * cs), -EXDEV,
		     "a length ending inside a chunk before the end of file");
	cr_assert_eq(vol_move_range(F.v, src, 0, cs, dst, cs), -EXDEV, "target not empty there");
	cr_assert_eq(vol_move_range(F.v, src, 0, 5 * cs, dst, 2 * cs), -EINVAL, "past EOF");
	cr_assert_eq(vol_move_range(F.v, src, 0, cs, src, 4 * cs), -EINVAL, "onto itself");

	/* Chunks allocated past the target's end of file (KEEP_SIZE). */
	cr_assert_eq(vol_fallocate(F.v, dst, VOL_FALLOC_KEEP_SIZE, 3 * cs, cs), 0);
	cr_assert_eq(vol_move_range(F.v, src, 0, cs, dst, 2 * cs), -EXDEV, "chunks past EOF");

	/* An empty target whose chunks belong on another disk. */
	uint64_t other = fx_create(&F, "other");
	struct idx_extent e;
	cr_assert_eq(fx_extent_at(&F, src, 0, &e), 0);
	cr_assert_eq(vol_set_disk(F.v, other, !e.disk), 0);
	cr_assert_eq(vol_move_range(F.v, src, 0, 4 * cs + 10, other, 0), -EXDEV, "other disk");
	cr_assert_eq(fx_getattr(&F, other).size, 0);

	expect_file(src, sdata, 4 * cs + 10);
	expect_file(dst, ddata, 2 * cs);
	cr_assert_eq(fx_getattr(&F, dst).size, 2 * cs);
	fx_extent_count(&F, src);
	fx_extent_count(&F, dst);
	free(sdata);
	free(ddata);
	fx_close_and_fsck(&F);
}

/* Growing the target past a partly used chunk: the bytes a truncate left
 * behind its end of file read as zeros (the EOF rule). */
Test(vol_move, the_target_tail_reads_zero)
{
	uint32_t cs = F.cs;
	uint64_t src = fx_create(&F, "src"), dst = fx_create(&F, "dst");
	int disk = vol_pick_disk(F.v);

	cr_assert_eq(vol_set_disk(F.v, src, disk), 0);
	cr_assert_eq(vol_set_disk(F.v, dst, disk), 0);
	uint8_t *sdata = random_file(src, cs, 3);
	fx_fill(&F, dst, 0xAA, cs, 0);
	cr_assert_eq(fx_truncate(&F, dst, 100), 0);
	cr_assert_eq(vol_move_range(F.v, src, 0, cs, dst, cs), 0);
	fx_expect_bytes(&F, dst, 0xAA, 100, 0);
	fx_expect_bytes(&F, dst, 0, cs - 100, 100);
	uint8_t *b = malloc(cs);
	cr_assert_eq(vol_read(F.v, dst, b, cs, cs), (ssize_t)cs);
	cr_assert(!memcmp(b, sdata, cs));
	free(b);
	free(sdata);
	fx_close_and_fsck(&F);
}
