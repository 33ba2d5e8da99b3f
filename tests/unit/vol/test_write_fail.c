/* A chunk write that fails (ENOSPC, EIO, injected below core/io.c) commits
 * nothing: vol_write returns the error, the file keeps its bytes and size,
 * the new chunks go back to the free list, and fsck (with --scrub) finds the
 * volume clean after a remount. */
#include "core/pool_int.h"
#include "tests/unit/vol/fixture.h"

static struct fx F;
static int fault; /* the -errno every chunk write gets, or 0 */

static int write_fault(const char *track, off_t off, size_t len)
{
	(void)track;
	(void)off;
	(void)len;
	return fault;
}

static void setup(void)
{
	fault = 0;
	trk_sys.write_fault = write_fault;
	fx_setup(&F, 4096);
}

static void teardown(void)
{
	trk_sys.write_fault = NULL;
	fx_teardown(&F);
}

TestSuite(write_fail, .init = setup, .fini = teardown, .timeout = 120);

static void failed_write_keeps_bytes(int err)
{
	const size_t len = 64 << 10;
	uint64_t ino = fx_create(&F, "f");
	uint8_t *b = malloc(len);

	cr_assert_not_null(b);
	fx_fill(&F, ino, 0xa1, len, 0);
	cr_assert_eq(vol_sync_all(F.v), 0);
	uint64_t used = fx_used(&F);

	fault = err;
	memset(b, 0xb2, len);
	/* An overwrite inside the file, a partial chunk, and an append. */
	cr_expect_eq(vol_write(F.v, ino, b, 16 << 10, 8 << 10), err);
	cr_expect_eq(vol_write(F.v, ino, b, 100, 5000), err);
	cr_expect_eq(vol_write(F.v, ino, b, len, len), err);
	fault = 0;

	cr_expect_eq(fx_getattr(&F, ino).size, len, "the size did not change");
	fx_expect_bytes(&F, ino, 0xa1, len, 0);
	cr_expect_eq(fx_used(&F), used, "the chunks of the failed writes went back");
	cr_expect_eq(fx_chunks(&F, ino), len / F.cs);

	fx_close(&F);
	cr_assert_eq(tmpvol_fsck(&F.tv, "--scrub"), 0);
	fx_open(&F);
	fx_expect_bytes(&F, ino, 0xa1, len, 0);
	/* And the file can be written again once the disk works. */
	fx_fill(&F, ino, 0xc3, len, len);
	fx_expect_bytes(&F, ino, 0xc3, len, len);
	free(b);
}

Test(write_fail, enospc_commits_nothing)
{
	failed_write_keeps_bytes(-ENOSPC);
}

Test(write_fail, eio_commits_nothing)
{
	failed_write_keeps_bytes(-EIO);
}
