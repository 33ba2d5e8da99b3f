/* vol_fallocate (preallocation, KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE) and
 * vol_lseek (SEEK_DATA / SEEK_HOLE) on sparse files, plus a small random
 * mix of writes, punches and zero ranges checked against a model. */
#include <inttypes.h>
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

TestSuite(vol_falloc, .init = setup_4k, .fini = teardown, .timeout = 120);

#define KEEP VOL_FALLOC_KEEP_SIZE
#define PUNCH VOL_FALLOC_PUNCH_HOLE
#define ZERO VOL_FALLOC_ZERO_RANGE

static off_t seek(uint64_t ino, off_t off, int whence)
{
	off_t out = -12345;
	int rc = vol_lseek(F.v, ino, off, whence, &out);
	return rc < 0 ? rc : out;
}

Test(vol_falloc, allocates_and_reads_zeros)
{
	uint64_t ino = fx_create(&F, "f");
	uint32_t cs = F.cs;

	cr_assert_eq(vol_fallocate(F.v, ino, 0, 0, 10 * cs + 7), 0);
	cr_assert_eq(fx_getattr(&F, ino).size, 10 * cs + 7);
	cr_assert_eq(fx_chunks(&F, ino), 11);
	cr_assert_eq(fx_getattr(&F, ino).blocks, 11 * cs / 512);
	fx_expect_bytes(&F, ino, 0, 10 * cs + 7, 0);
	cr_assert_eq(seek(ino, 0, SEEK_HOLE), 10 * cs + 7, "preallocated: no hole before EOF");
	/* Again over the same range: nothing new is allocated. */
	cr_assert_eq(vol_fallocate(F.v, ino, 0, 0, 10 * cs + 7), 0);
	cr_assert_eq(fx_chunks(&F, ino), 11);
	/* Existing data is kept; only holes are filled. */
	fx_fill(&F, ino, 0x42, cs, 20 * cs);
	cr_assert_eq(vol_fallocate(F.v, ino, 0, 15 * cs, 7 * cs), 0);
	cr_assert_eq(fx_chunks(&F, ino), 11 + 7);
	fx_expect_bytes(&F, ino, 0x42, cs, 20 * cs);
	fx_expect_bytes(&F, ino, 0, 5 * cs, 15 * cs);
	cr_assert_eq(fx_getattr(&F, ino).size, 22 * cs);
	fx_reopen(&F);
	fx_expect_bytes(&F, ino, 0, 10 * cs, 0);
}

Test(vol_falloc, keep_size_keeps_size)
{
	uint64_t ino = fx_create(&F, "f");
	uint32_t cs = F.cs;

	fx_write(&F, ino, "abc", 3, 0);
	cr_assert_eq(vol_fallocate(F.v, ino, KEEP, 0, 8 * cs), 0);
	cr_assert_eq(fx_getattr(&F, ino).size, 3);
	cr_assert_eq(fx_chunks(&F, ino), 8);
	fx_expect_bytes(&F, ino, 'a', 1, 0);
	/* Writing into the preallocated range past EOF reads zeros in the gap. */
	fx_write(&F, ino, "x", 1, 5 * cs);
	cr_assert_eq(fx_chunks(&F, ino), 8);
	fx_expect_bytes(&F, ino, 0, 5 * cs - 3, 3);
}

Test(vol_falloc, grow_applies_the_eof_rule)
{
	uint64_t ino = fx_create(&F, "f");
	uint32_t cs = F.cs;

	fx_fill(&F, ino, 0x77, 2 * cs, 0);
	cr_assert_eq(fx_truncate(&F, ino, 100), 0);
	cr_assert_eq(vol_fallocate(F.v, ino, 0, 0, 3 * cs), 0);
	cr_assert_eq(fx_getattr(&F, ino).size, 3 * cs);
	fx_expect_bytes(&F, ino, 0x77, 100, 0);
	fx_expect_bytes(&F, ino, 0, 3 * cs - 100, 100);
}

Test(vol_falloc, punch_hole_reads_zeros_and_frees)
{
	uint64_t ino = fx_create(&F, "f");
	uint32_t cs = F.cs;

	fx_fill(&F, ino, 0xEE, 8 * cs, 0);
	uint64_t d0 = trk_pool_deferred_count(F.v->pool);
	cr_assert_eq(vol_fallocate(F.v, ino, PUNCH | KEEP, cs + 10, 4 * cs + 10), 0);
	cr_assert_eq(fx_getattr(&F, ino).size, 8 * cs);
	fx_expect_bytes(&F, ino, 0xEE, cs + 10, 0);
	fx_expect_bytes(&F, ino, 0, 4 * cs + 10, cs + 10);
	fx_expect_bytes(&F, ino, 0xEE, 3 * cs - 20, 5 * cs + 20);
	/* Chunks 2, 3, 4 lie wholly inside; 1 and 5 were rewritten. */
	cr_assert_eq(fx_chunks(&F, ino), 5);
	cr_assert_eq(trk_pool_deferred_count(F.v->pool), d0 + 5);
	cr_assert_eq(seek(ino, 0, SEEK_HOLE), 2 * cs);
	cr_assert_eq(seek(ino, 2 * cs, SEEK_DATA), 5 * cs);
	fx_extent_count(&F, ino);

	/* Inside one chunk, and past EOF (a no-op that succeeds). */
	cr_assert_eq(vol_fallocate(F.v, ino, PUNCH | KEEP, 7 * cs + 5, 10), 0);
	fx_expect_bytes(&F, ino, 0xEE, 5, 7 * cs);
	fx_expect_bytes(&F, ino, 0, 10, 7 * cs + 5);
	fx_expect_bytes(&F, ino, 0xEE, cs - 15, 7 * cs + 15);
	cr_assert_eq(vol_fallocate(F.v, ino, PUNCH | KEEP, 100 * cs, cs), 0);
	cr_assert_eq(fx_getattr(&F, ino).size, 8 * cs);
	/* The whole file. */
	cr_assert_eq(vol_fallocate(F.v, ino, PUNCH | KEEP, 0, 8 * cs), 0);
	cr_assert_eq(fx_chunks(&F, ino), 0);
	fx_expect_bytes(&F, ino, 0, 8 * cs, 0);
	cr_assert_eq(vol_sync_all(F.v), 0);
	cr_assert_eq(trk_pool_deferred_count(F.v->pool), 0);
}

Test(vol_falloc, bad_modes_and_ranges)
{
	uint64_t ino = fx_create(&F, "f");

	cr_assert_eq(vol_fallocate(F.v, ino, PUNCH, 0, 10), -EOPNOTSUPP);
	cr_assert_eq(vol_fallocate(F.v, ino, PUNCH | ZERO | KEEP, 0, 10), -EOPNOTSUPP);
	cr_assert_eq(vol_fallocate(F.v, ino, 1u << 7, 0, 10), -EOPNOTSUPP);
	cr_assert_eq(vol_fallocate(F.v, ino, 0, 0, 0), -EINVAL);
	cr_assert_eq(vol_fallocate(F.v, ino, 0, -1, 10), -EINVAL);
	cr_assert_eq(vol_fallocate(F.v, ino, 0, 0, -5), -EINVAL);
	cr_assert_eq(vol_fallocate(F.v, ino, 0, (off_t)VOL_MAX_FILE_SIZE, 1), -EFBIG);
	cr_assert_eq(vol_fallocate(F.v, VOL_ROOT_INO, 0, 0, 10), -EISDIR);
	cr_assert_eq(fx_getattr(&F, ino).size, 0);
	cr_assert_eq(fx_chunks(&F, ino), 0);
}

Test(vol_falloc, seek_data_and_hole_on_a_sparse_file)
{
	uint64_t ino = fx_create(&F, "sparse");
	off_t cs = F.cs;

	fx_fill(&F, ino, 1, (size_t)cs, 0);	     /* chunk 0 */
	fx_fill(&F, ino, 2, (size_t)cs + 5, 5 * cs); /* chunks 5, 6 */
	fx_fill(&F, ino, 3, 100, 10 * cs);	     /* chunk 10, partial */
	cr_assert_eq(fx_getattr(&F, ino).size, 10 * cs + 100);

	cr_assert_eq(seek(ino, 0, SEEK_DATA), 0);
	cr_assert_eq(seek(ino, 0, SEEK_HOLE), cs);
	cr_assert_eq(seek(ino, 17, SEEK_HOLE), cs);
	cr_assert_eq(seek(ino, cs, SEEK_DATA), 5 * cs);
	cr_assert_eq(seek(ino, cs + 7, SEEK_DATA), 5 * cs);
	cr_assert_eq(seek(ino, cs + 7, SEEK_HOLE), cs + 7);
	cr_assert_eq(seek(ino, 5 * cs + 1, SEEK_DATA), 5 * cs + 1);
	cr_assert_eq(seek(ino, 5 * cs + 1, SEEK_HOLE), 7 * cs);
	cr_assert_eq(seek(ino, 7 * cs, SEEK_DATA), 10 * cs);
	cr_assert_eq(seek(ino, 10 * cs, SEEK_HOLE), 10 * cs + 100, "implicit hole at EOF");
	cr_assert_eq(seek(ino, 10 * cs + 99, SEEK_DATA), 10 * cs + 99);
	cr_assert_eq(seek(ino, 10 * cs + 100, SEEK_DATA), -ENXIO);
	cr_assert_eq(seek(ino, 10 * cs + 100, SEEK_HOLE), -ENXIO);
	cr_assert_eq(seek(ino, 1 << 30, SEEK_HOLE), -ENXIO);
	cr_assert_eq(seek(ino, -1, SEEK_DATA), -ENXIO);
	cr_assert_eq(seek(ino, 0, SEEK_SET), -EINVAL);

	/* Grown with a hole at the end: no data after chunk 10. */
	cr_assert_eq(fx_truncate(&F, ino, 20 * cs), 0);
	cr_assert_eq(seek(ino, 10 * cs + 200, SEEK_DATA), 10 * cs + 200);
	cr_assert_eq(seek(ino, 10 * cs + 200, SEEK_HOLE), 11 * cs);
	cr_assert_eq(seek(ino, 11 * cs, SEEK_DATA), -ENXIO);
	cr_assert_eq(seek(ino, 15 * cs, SEEK_HOLE), 15 * cs);

	/* KEEP_SIZE chunks past EOF are not data. */
	cr_assert_eq(vol_fallocate(F.v, ino, KEEP, 20 * cs, 4 * cs), 0);
	cr_assert_eq(seek(ino, 11 * cs, SEEK_DATA), -ENXIO);

	/* An empty file has no data and no hole. */
	uint64_t e = fx_create(&F, "empty");
	cr_assert_eq(seek(e, 0, SEEK_DATA), -ENXIO);
	cr_assert_eq(seek(e, 0, SEEK_HOLE), -ENXIO);
}

Test(vol_falloc, zero_range)
{
	uint64_t ino = fx_create(&F, "f");
	uint32_t cs = F.cs;

	fx_fill(&F, ino, 0x11, 4 * cs, 0);
	cr_assert_eq(vol_fallocate(F.v, ino, ZERO, 100, 2 * cs - 50), 0);
	cr_assert_eq(fx_getattr(&F, ino).size, 4 * cs);
	fx_expect_bytes(&F, ino, 0x11, 100, 0);
	fx_expect_bytes(&F, ino, 0, 2 * cs - 50, 100);
	fx_expect_bytes(&F, ino, 0x11, 2 * cs - 50, 2 * cs + 50);

	/* Past EOF without KEEP_SIZE: grows, and the EOF rule applies. */
	cr_assert_eq(fx_truncate(&F, ino, 3 * cs + 7), 0);
	cr_assert_eq(vol_fallocate(F.v, ino, ZERO, 5 * cs, 10), 0);
	cr_assert_eq(fx_getattr(&F, ino).size, 5 * cs + 10);
	fx_expect_bytes(&F, ino, 0x11, 7, 3 * cs);
	fx_expect_bytes(&F, ino, 0, 2 * cs + 3, 3 * cs + 7);

	/* With KEEP_SIZE the size stays. */
	cr_assert_eq(vol_fallocate(F.v, ino, ZERO | KEEP, 4 * cs, 10 * cs), 0);
	cr_assert_eq(fx_getattr(&F, ino).size, 5 * cs + 10);
}

Test(vol_falloc, random_mix_matches_a_model)
{
	const size_t max = 256 * 1024;
	uint64_t seed = 0xfa11, s = seed;
	uint8_t *model = calloc(1, max + 64 * 1024), *buf = malloc(max), *rb = malloc(max);
	size_t size = 0;
	uint64_t ino = fx_create(&F, "mix");

	cr_assert(model && buf && rb);
	for (int step = 0; step < 300; step++) {
		size_t off = fx_rand(&s) % max;
		size_t len = 1 + fx_rand(&s) % (max - off < 40000 ? max - off : 40000);
		int rc = 0;
		switch (fx_rand(&s) % 6) {
		case 0:
		case 1:
			fx_random_bytes(&s, buf, len);
			fx_write(&F, ino, buf, len, off);
			memcpy(model + off, buf, len);
			if (off + len > size)
				size = off + len;
			break;
		case 2:
			rc = vol_fallocate(F.v, ino, PUNCH | KEEP, (off_t)off, (off_t)len);
			if (off < size)
				memset(model + off, 0, (off + len < size ? off + len : size) - off);
			break;
		case 3:
			rc = vol_fallocate(F.v, ino, ZERO, (off_t)off, (off_t)len);
			memset(model + off, 0, len);
			if (off + len > size)
				size = off + len;
			break;
		case 4:
			rc = fx_truncate(&F, ino, off);
			if (off > size)
				memset(model + size, 0, off - size);
			else
				memset(model + off, 0, size - off);
			size = off;
			break;
		default:
			rc = vol_fallocate(F.v, ino, fx_rand(&s) % 2 ? KEEP : 0, (off_t)off,
					   (off_t)len);
			break;
		}
		cr_assert_eq(rc, 0, "seed %" PRIx64 " step %d: rc %d", seed, step, rc);
		struct vol_attr a = fx_getattr(&F, ino);
		if (a.size != size) {
			/* Only the mode-0 fallocate grows without the model knowing. */
			cr_assert_gt(a.size, size, "seed %" PRIx64 " step %d", seed, step);
			memset(model + size, 0, a.size - size);
			size = a.size;
		}
		ssize_t n = vol_read(F.v, ino, rb, max, 0);
		cr_assert_eq(n, (ssize_t)(size < max ? size : max));
		cr_assert(memcmp(rb, model, (size_t)n) == 0, "seed %" PRIx64 " step %d differs",
			  seed, step);
	}
	fx_extent_count(&F, ino);
	fx_close_and_fsck(&F);
	free(model);
	free(buf);
	free(rb);
}
