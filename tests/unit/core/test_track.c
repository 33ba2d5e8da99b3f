/* Track headers: encode/decode round trip, and every kind of bad header
 * (magic, checksum, unknown incompatible feature, truncation) failing only
 * that track: its I/O returns EIO, the pool still opens, the file is never
 * rewritten. Also disk identity: wrong or swapped disks, formatting rules. */
#include "core_test.h"
#include "core/base/fileio.h"

#include <fcntl.h>
#include <sys/stat.h>

static struct ct c;

static void teardown(void)
{
	ct_teardown(&c);
}

static struct trk_hdr sample_hdr(void)
{
	struct trk_hdr h = {
		.version = TRK_VERSION,
		.incompat = 0,
		.compat = 5,
		.disk_index = 3,
		.track = 42,
		.chunk_size = 65536,
		.chunk_count = 1000,
		.hwm = 700,
		.free_count = 12,
		.free_head = 17,
		.free_tail = 600,
	};
	for (int i = 0; i < 16; i++) {
		h.volume.b[i] = (uint8_t)i;
		h.disk.b[i] = (uint8_t)(0xf0 + i);
	}
	return h;
}

Test(track, header_round_trip)
{
	uint8_t buf[TRK_HDR_SIZE];
	struct trk_hdr h = sample_hdr(), g;
	char why[256];

	trk_hdr_encode(&h, buf);
	cr_assert_eq(memcmp(buf, "TFSTRACK", 8), 0);
	cr_assert_eq(trk_hdr_decode(buf, &g, why, sizeof(why)), 0);
	cr_expect_eq(memcmp(&h, &g, sizeof(h)), 0);
	cr_expect_eq(buf[8], 1, "version is little-endian");
	for (size_t i = sizeof(struct trk_hdr_disk); i < TRK_HDR_SIZE; i++)
		cr_assert_eq(buf[i], 0);

	buf[70] ^= 0x10;
	cr_expect_eq(trk_hdr_decode(buf, &g, why, sizeof(why)), -EIO);
	cr_expect(strstr(why, "checksum") != NULL, "%s", why);
	buf[70] ^= 0x10;
	buf[0] = 'X';
	cr_expect_eq(trk_hdr_decode(buf, &g, why, sizeof(why)), -EIO);
	cr_expect(strstr(why, "magic") != NULL, "%s", why);
}

Test(track, record_round_trip)
{
	uint8_t buf[sizeof(struct trk_rec_disk)];
	struct trk_rec r = {.count = 9, .next = TRK_NIL, .track = 4}, g;

	trk_rec_encode(&r, buf);
	cr_assert_eq(memcmp(buf, "TFRN", 4), 0);
	cr_assert_eq(trk_rec_decode(buf, &g), 0);
	cr_expect_eq(g.count, 9);
	cr_expect_eq(g.next, TRK_NIL);
	cr_expect_eq(g.track, 4);
	buf[5] ^= 1;
	cr_expect_eq(trk_rec_decode(buf, &g), -EIO);
}

enum damage { BAD_MAGIC, FLIP_BYTE, INCOMPAT, TRUNCATE, FOREIGN };

static void read_file_bytes(const char *path, uint8_t *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0);
	memset(buf, 0, len);
	cr_assert_geq(tfs_pread_full(fd, buf, len, 0), 0);
	close(fd);
}

static void count_cb(void *arg, const char *msg)
{
	(void)msg;
	(*(int *)arg)++;
}

/* Write a track, damage its header, reopen: only that track fails. */
static void damaged_track(enum damage how)
{
	struct trk_run r, r2;
	char path[256];
	uint8_t data[4096], back[4096];
	static uint8_t hdr[TRK_HDR_SIZE], after[TRK_HDR_SIZE];

	ct_setup(&c, 2, 4096, 64 * 4096);
	cr_assert_eq(ct_open(&c), 0);
	memset(data, 0x5a, sizeof(data));
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 4, &r), 0);
	cr_assert_eq(trk_pool_alloc(c.pool, 1, 4, &r2), 0);
	ct_fill_run(&c, &r2);
	cr_assert_eq(trk_io_write(c.pool, &r, 0, data, sizeof(data)), 0);
	cr_assert_eq(trk_io_write(c.pool, &r2, 0, data, sizeof(data)), 0);
	ct_close(&c);

	ct_track_path(&c, 0, 0, path, sizeof(path));
	int fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	read_file_bytes(path, hdr, sizeof(hdr));
	switch (how) {
	case BAD_MAGIC:
		hdr[1] = 'x';
		break;
	case FLIP_BYTE:
		hdr[offsetof(struct trk_hdr_disk, hwm)] ^= 0x01;
		break;
	case INCOMPAT:
	case FOREIGN: {
		struct trk_hdr h;
		char why[256];
		cr_assert_eq(trk_hdr_decode(hdr, &h, why, sizeof(why)), 0);
		if (how == INCOMPAT)
			h.incompat |= 0x4;
		else
			h.volume.b[0] ^= 0xff;
		trk_hdr_encode(&h, hdr);
		break;
	}
	case TRUNCATE:
		cr_assert_eq(ftruncate(fd, 100), 0);
		break;
	}
	if (how != TRUNCATE)
		cr_assert_eq(tfs_pwrite_full(fd, hdr, sizeof(hdr), 0), 0);
	close(fd);
	read_file_bytes(path, hdr, sizeof(hdr));

	cr_assert_eq(ct_open(&c), 0, "a bad track does not stop the pool opening");
	cr_expect(trk_disk_track(&c.pool->disks[0], 0)->failed);
	cr_expect_eq(trk_io_read(c.pool, &r, 0, back, sizeof(back)), -EIO);
	cr_expect_eq(trk_io_write(c.pool, &r, 0, data, sizeof(data)), -EIO);
	/* The healthy disk still works. */
	cr_expect_eq(trk_io_read(c.pool, &r2, 0, back, sizeof(back)), 0);
	cr_expect_eq(memcmp(back, data, sizeof(data)), 0);
	/* fsck sees it: reported at check_begin, its references give -ENODEV. */
	int nprob = 0;
	cr_expect_eq(trk_pool_check_begin(c.pool, count_cb, &nprob), 1);
	cr_expect_eq(trk_pool_check_ref(c.pool, &r), -ENODEV);
	cr_expect_eq(trk_pool_check_ref(c.pool, &r2), 0);
	uint64_t leaked = 9;
	cr_expect_eq(trk_pool_check_end(c.pool, &leaked), 0);
	cr_expect_eq(leaked, 0);
	cr_expect_eq(nprob, 2);
	/* The allocator skips the failed track: a new one is made. */
	struct trk_run n;
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 4, &n), 0);
	cr_expect_eq(n.disk, 0);
	cr_expect_eq(n.track, 1);
	ct_close(&c);

	read_file_bytes(path, after, sizeof(after));
	cr_expect_eq(memcmp(hdr, after, sizeof(hdr)), 0, "a bad header is never rewritten");
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	if (how == TRUNCATE)
		cr_expect_eq(st.st_size, 100);
}

Test(track, bad_magic_fails_track, .fini = teardown)
{
	damaged_track(BAD_MAGIC);
}

Test(track, flipped_byte_fails_track, .fini = teardown)
{
	damaged_track(FLIP_BYTE);
}

Test(track, unknown_incompat_refused, .fini = teardown)
{
	damaged_track(INCOMPAT);
}

Test(track, truncated_fails_track, .fini = teardown)
{
	damaged_track(TRUNCATE);
}

Test(track, foreign_volume_fails_track, .fini = teardown)
{
	damaged_track(FOREIGN);
}

Test(track, wrong_or_swapped_disk_refused, .fini = teardown)
{
	ct_setup(&c, 2, 4096, 64 * 4096);
	struct trk_disk_spec swapped[2] = {c.specs[1], c.specs[0]};
	cr_expect_eq(trk_pool_open(&c.cfg, swapped, 2, &c.pool), -EINVAL);
	cr_expect_null(c.pool);

	struct trk_pool_config other = c.cfg;
	other.volume_uuid.b[3] ^= 1;
	cr_expect_eq(trk_pool_open(&other, c.specs, 2, &c.pool), -EINVAL);

	/* Garbage identity file. */
	char id[256];
	snprintf(id, sizeof(id), "%s/trackfs-disk", c.paths[1]);
	cr_assert_eq(tfs_write_file_atomic(id, "hello\n", 6), 0);
	cr_expect_eq(ct_open(&c), -EINVAL);
}

Test(track, format_rules, .fini = teardown)
{
	struct tfs_uuid vol2, disk2;
	char path[256];

	ct_setup(&c, 1, 4096, 64 * 4096);
	cr_assert_eq(tfs_uuid_generate(&vol2), 0);
	cr_assert_eq(tfs_uuid_generate(&disk2), 0);
	/* Belongs to another volume. */
	cr_expect_eq(trk_disk_format(c.paths[0], &vol2, &disk2, 0, 4096, false), -EEXIST);
	/* A non-empty directory. */
	snprintf(path, sizeof(path), "%s/other", c.root);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/other/file", c.root);
	cr_assert_eq(tfs_write_file_atomic(path, "x", 1), 0);
	snprintf(path, sizeof(path), "%s/other", c.root);
	cr_expect_eq(trk_disk_format(path, &vol2, &disk2, 0, 4096, false), -ENOTEMPTY);
	cr_expect_eq(trk_disk_format(path, &vol2, &disk2, 0, 4096, true), 0);
	/* Forced over an old disk: its tracks are gone, its identity replaced. */
	cr_assert_eq(ct_open(&c), 0);
	struct trk_run r;
	cr_assert_eq(trk_pool_alloc(c.pool, 0, 1, &r), 0);
	ct_close(&c);
	cr_expect_eq(trk_disk_format(c.paths[0], &vol2, &disk2, 0, 4096, true), 0);
	ct_track_path(&c, 0, 0, path, sizeof(path));
	struct stat st;
	cr_expect_eq(stat(path, &st), -1);
	cr_expect_eq(ct_open(&c), -EINVAL);
	/* A missing directory is created. */
	snprintf(path, sizeof(path), "%s/fresh", c.root);
	cr_expect_eq(trk_disk_format(path, &vol2, &disk2, 1, 4096, false), 0);
	cr_expect_eq(trk_disk_format(path, &vol2, &disk2, 1, 3000, false), -EINVAL);
}
