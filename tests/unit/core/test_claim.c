/* Claiming host space before chunks are handed out: the claim comes first
 * and in steps, a host filesystem that refuses it (ENOSPC, EIO) sends the
 * allocation to another disk, a smaller claim is tried before giving up,
 * zeros are written where fallocate is missing, disks on one host filesystem
 * count its space once, a rebuild on a full disk needs no new space, and a
 * check finds referenced chunks that were never written. */
#include "core_test.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

static struct ct c;

/* The fault the fallocate hook injects, for track files whose path contains
 * fault_path (NULL: every track). */
static int fault_errno;
static const char *fault_path;
static off_t fault_above; /* only for claims longer than this */
static int fault_calls;

static int fault_fallocate(int fd, int mode, off_t off, off_t len)
{
	char link[64], path[PATH_MAX];
	ssize_t n;

	fault_calls++;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = '\0';
	if (fault_errno && len > fault_above && (!fault_path || strstr(path, fault_path))) {
		errno = fault_errno;
		return -1;
	}
	return fallocate(fd, mode, off, len);
}

static void setup(void)
{
	fault_errno = 0;
	fault_path = NULL;
	fault_above = 0;
	fault_calls = 0;
	trk_sys.fallocate = fault_fallocate;
}

static void teardown(void)
{
	trk_sys.fallocate = NULL;
	ct_teardown(&c);
}

TestSuite(claim, .init = setup, .fini = teardown);

#define CS 4096u
#define CHUNKS(n) ((uint64_t)(n)*CS)

static struct stat track_stat(unsigned disk, uint32_t track)
{
	char path[256];
	struct stat st;

	ct_track_path(&c, disk, track, path, sizeof(path));
	cr_assert_eq(stat(path, &st), 0, "%s", path);
	return st;
}

Test(claim, space_is_claimed_before_chunks_are_handed_out)
{
	struct trk_run r;

	/* 4096 chunks per track: claims come in TRK_CLAIM_STEP (2048 chunks). */
	ct_setup(&c, 1, CS, 4096ull * CS);
	cr_assert_eq(ct_open(&c), 0);
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 1, &r), 0);
	struct stat st = track_stat(0, 0);
	cr_expect_eq(st.st_size, TRK_HDR_SIZE + TRK_CLAIM_STEP, "size %lld", (long long)st.st_size);
	cr_expect_geq((uint64_t)st.st_blocks * 512, (uint64_t)st.st_size, "blocks, not a hole");

	cr_assert_eq(trk_pool_alloc(c.pool, 0, 2047, &r), 0);
	cr_expect_eq(r.count, 2047);
	cr_expect_eq(track_stat(0, 0).st_size, st.st_size, "within the claim: no new one");
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 1, &r), 0);
	cr_expect_eq(r.chunk, 2048);
	cr_expect_eq(track_stat(0, 0).st_size, TRK_HDR_SIZE + 4096ull * CS);

	/* Claimed space survives a close as the file's size. */
	ct_close(&c);
	cr_assert_eq(ct_open(&c), 0);
	cr_expect_eq(trk_disk_track(&c.pool->disks[0], 0)->claimed, 4096);
}

Test(claim, refused_claim_sends_allocation_elsewhere)
{
	struct trk_run r;

	ct_setup(&c, 2, CS, 64 * CS);
	cr_assert_eq(ct_open(&c), 0);
	/* The test's disks share /tmp: give each a host filesystem of its own. */
	trk_pool_set_fs_free(c.pool, 0, CHUNKS(1000));
	trk_pool_set_fs_free(c.pool, 1, CHUNKS(100));
	fault_errno = ENOSPC;
	fault_path = "/d0/";
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 8, &r), 0);
	cr_expect_eq(r.disk, 1, "disk 0's host filesystem refused the claim");
	struct trk_track *t0 = trk_disk_track(&c.pool->disks[0], 0);
	cr_assert_not_null(t0);
	cr_expect_eq(t0->hwm, 0, "nothing was handed out on disk 0");
	cr_expect_eq(t0->claimed, 0);

	/* Disk 0 now counts as full (until the next statvfs, without the
	 * test's override). */
	struct trk_disk_stats ds;
	cr_assert_eq(trk_pool_disk_stats(c.pool, 0, &ds), 0);
	cr_expect_eq(ds.fs_chunks_free, 0);
	int calls = fault_calls;
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 8, &r), 0);
	cr_expect_eq(r.disk, 1);
	cr_expect_eq(fault_calls, calls, "no new claim on a disk known to be full");
}

Test(claim, enospc_only_when_no_disk_can_claim)
{
	struct trk_run r;

	ct_setup(&c, 1, CS, 64 * CS);
	cr_assert_eq(ct_open(&c), 0);
	fault_errno = ENOSPC;
	cr_expect_eq(trk_pool_alloc(c.pool, -1, 8, &r), -ENOSPC);
	fault_errno = EIO;
	cr_expect_eq(trk_pool_alloc(c.pool, -1, 8, &r), -EIO, "not ENOSPC: the disk failed");
	cr_expect(trk_pool_disk_failing(c.pool, 0), "an EIO of a claim marks the disk failing");
	fault_errno = 0;
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 8, &r), 0, "space came back: the claim works");
	cr_expect_eq(r.chunk, 0);
}

Test(claim, smaller_claim_when_the_step_does_not_fit)
{
	struct trk_run r;

	ct_setup(&c, 1, CS, 64 * CS);
	cr_assert_eq(ct_open(&c), 0);
	fault_errno = ENOSPC;
	fault_above = 3 * CS; /* the host filesystem has room for 3 chunks */
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 10, &r), 0);
	cr_expect_eq(r.chunk, 0);
	cr_expect_eq(r.count, 2, "64, 32, ... 4 chunks failed; 2 fit");
	cr_expect_eq(track_stat(0, 0).st_size, TRK_HDR_SIZE + 2 * CS);
}

Test(claim, zeros_where_there_is_no_fallocate)
{
	struct trk_run r;
	uint8_t buf[CS];

	ct_setup(&c, 1, CS, 64 * CS);
	cr_assert_eq(ct_open(&c), 0);
	fault_errno = EOPNOTSUPP;
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 4, &r), 0);
	struct stat st = track_stat(0, 0);
	cr_expect_eq(st.st_size, TRK_HDR_SIZE + 64 * CS);
	cr_expect_geq((uint64_t)st.st_blocks * 512, (uint64_t)st.st_size, "zeros were written");
	cr_assert_eq(trk_io_read(c.pool, &r, 0, buf, CS), 0);
	for (size_t i = 0; i < CS; i++)
		cr_assert_eq(buf[i], 0);
	cr_expect(c.pool->disks[0].fs->no_fallocate);

	/* The next track is claimed with zeros straight away. */
	int calls = fault_calls;
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 64, &r), 0);
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 64, &r), 0);
	cr_expect_eq(r.track, 1);
	cr_expect_eq(fault_calls, calls);
	cr_expect_eq(track_stat(0, 1).st_size, TRK_HDR_SIZE + 64 * CS);
}

Test(claim, shared_host_filesystem_counted_once)
{
	struct trk_run r;
	uint64_t used, free0, got = 0;
	int rc;

	ct_setup(&c, 2, CS, 16 * CS);
	cr_assert_eq(ct_open(&c), 0);
	trk_pool_set_fs_free(c.pool, 0, CHUNKS(40));
	trk_pool_share_fs(c.pool, 1, 0);
	/* 40 chunks of space: two tracks of 16 (+ a header each), then 5. */
	cr_assert_eq(trk_pool_space(c.pool, &used, &free0), 0);
	cr_expect_eq(free0, 37);
	struct trk_disk_stats d0, d1;
	cr_assert_eq(trk_pool_disk_stats(c.pool, 0, &d0), 0);
	cr_assert_eq(trk_pool_disk_stats(c.pool, 1, &d1), 0);
	cr_expect_eq(d0.fs_first, 0);
	cr_expect_eq(d1.fs_first, 0, "disk 1 shares disk 0's filesystem");
	cr_expect_eq(d1.fs_chunks_free, 37, "each disk could take all of it...");
	for (int i = 0; (rc = trk_pool_alloc(c.pool, i % 2, 3, &r)) == 0; i++)
		got += r.count;
	cr_expect_eq(rc, -ENOSPC);
	cr_expect_eq(got, 37, "...but together they get it once");
	cr_assert_eq(trk_pool_space(c.pool, &used, &free0), 0);
	cr_expect_eq(used, 37);
	cr_expect_eq(free0, 0);
}

Test(claim, disks_sharing_a_filesystem_take_turns)
{
	struct trk_run r;

	/* The test's disks share /tmp. What disk 0 claimed and did not use is
	 * room on that filesystem for disk 1 too: the disk with less data gets
	 * the next file, as the placement did before claims. */
	ct_setup(&c, 2, CS, 4096ull * CS);
	cr_assert_eq(ct_open(&c), 0);
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 1, &r), 0);
	cr_expect_eq(r.disk, 0);
	cr_expect_eq(trk_pool_pick_disk(c.pool), 1);
	cr_assert_eq(trk_pool_alloc(c.pool, -1, 2, &r), 0);
	cr_expect_eq(r.disk, 1);
	cr_expect_eq(trk_pool_pick_disk(c.pool), 0, "disk 0 has less data now");
}

/* Write chunks [from, to) of track 0 of disk 0. */
static void write_chunks(uint32_t from, uint32_t to)
{
	uint8_t buf[CS];

	memset(buf, 0xab, sizeof(buf));
	for (uint32_t i = from; i < to; i++) {
		struct trk_run one = {0, 0, i, 1};
		cr_assert_eq(trk_io_write(c.pool, &one, 0, buf, CS), 0);
	}
}

/* Cut track 0 of disk 0 to @p chunks chunks, as an older trackfs left a
 * track whose later writes were lost when its disk filled. */
static void cut_track(uint32_t chunks)
{
	char path[256];

	ct_track_path(&c, 0, 0, path, sizeof(path));
	cr_assert_eq(truncate(path, TRK_HDR_SIZE + (off_t)chunks * CS), 0);
}

Test(claim, rebuild_on_a_full_disk_needs_no_new_space)
{
	struct trk_run r;

	ct_setup(&c, 1, CS, 64 * CS);
	cr_assert_eq(ct_open(&c), 0);
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 30, &r), 0);
	write_chunks(0, 10);
	ct_close(&c);
	/* The header says 30 chunks were handed out; the file holds 10. */
	cut_track(10);
	fault_errno = ENOSPC; /* and the host filesystem is full */
	cr_assert_eq(ct_open(&c), 0);
	cr_expect_eq(trk_disk_track(&c.pool->disks[0], 0)->claimed, 10);

	cr_assert_eq(trk_pool_rebuild_begin(c.pool), 0);
	struct trk_run a = {0, 0, 0, 4}, b = {0, 0, 8, 2};
	cr_assert_eq(trk_pool_rebuild_mark(c.pool, &a), 0);
	cr_assert_eq(trk_pool_rebuild_mark(c.pool, &b), 0);
	cr_expect_eq(trk_pool_rebuild_end(c.pool), 0, "no record needs space past the claim");
	cr_expect_eq(track_stat(0, 0).st_size, TRK_HDR_SIZE + 10 * CS, "the file did not grow");
	struct trk_track *t = trk_disk_track(&c.pool->disks[0], 0);
	cr_expect_eq(t->hwm, 10, "the unclaimed, unreferenced chunks are never-used again");
	cr_expect_eq(t->fifo.nfree, 4, "chunks 4..7 are free");

	/* What was written is a trusted list. */
	ct_close(&c);
	cr_assert_eq(ct_open(&c), 0);
	cr_expect_not(trk_pool_needs_rebuild(c.pool));
	cr_assert_eq(trk_pool_check_begin(c.pool, NULL, NULL), 0);
	cr_expect_eq(trk_pool_check_ref(c.pool, &a), 0);
	cr_expect_eq(trk_pool_check_ref(c.pool, &b), 0);
	uint64_t leaked = 99;
	cr_expect_eq(trk_pool_check_end(c.pool, &leaked), 0);
	cr_expect_eq(leaked, 0);
}

Test(claim, sparse_track_is_backed_at_open)
{
	struct trk_run r;
	char path[256];

	ct_setup(&c, 1, CS, 64 * CS);
	cr_assert_eq(ct_open(&c), 0);
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 20, &r), 0);
	ct_close(&c);
	/* Make chunks 5.. a hole, as a sparse track of an older trackfs. */
	cut_track(5);
	ct_track_path(&c, 0, 0, path, sizeof(path));
	cr_assert_eq(truncate(path, TRK_HDR_SIZE + 20 * CS), 0);
	cr_assert_lt((uint64_t)track_stat(0, 0).st_blocks * 512, TRK_HDR_SIZE + 20 * CS);

	cr_assert_eq(ct_open(&c), 0);
	cr_expect_geq((uint64_t)track_stat(0, 0).st_blocks * 512, TRK_HDR_SIZE + 20 * CS,
		      "the holes below the high-water mark got blocks");
	cr_expect_geq(trk_disk_track(&c.pool->disks[0], 0)->claimed, 20);
}

Test(claim, check_finds_chunks_never_written)
{
	struct trk_run r;
	char path[256];

	ct_setup(&c, 1, CS, 64 * CS);
	cr_assert_eq(ct_open(&c), 0);
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 20, &r), 0);
	write_chunks(0, 10);
	ct_close(&c);
	c.cfg.readonly = true;
	cr_assert_eq(ct_open(&c), 0);
	cr_assert_eq(trk_pool_check_begin(c.pool, NULL, NULL), 0);
	struct trk_run written = {0, 0, 0, 10}, unwritten = {0, 0, 10, 5};
	cr_expect_eq(trk_pool_check_ref(c.pool, &written), 0);
	ct_track_path(&c, 0, 0, path, sizeof(path));
	int fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0);
	off_t hole = lseek(fd, (off_t)TRK_HDR_SIZE + 10 * CS, SEEK_HOLE);
	close(fd);
	if (hole == (off_t)TRK_HDR_SIZE + 10 * CS)
		cr_expect_eq(trk_pool_check_ref(c.pool, &unwritten), -ENODATA,
			     "claimed, referenced, never written");
	ct_close(&c);

	cut_track(12);
	cr_assert_eq(ct_open(&c), 0);
	cr_assert_eq(trk_pool_check_begin(c.pool, NULL, NULL), 0);
	struct trk_run past = {0, 0, 8, 6};
	cr_expect_eq(trk_pool_check_ref(c.pool, &past), -ENODATA, "past the end of the file");
}
