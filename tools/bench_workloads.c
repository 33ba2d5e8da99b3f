/* trackfs-bench-engine workloads: the same four (sequential write, sequential
 * read, 4 KiB random reads, small-file create and delete) once through fs/vol
 * and once with pwrite/pread/open/unlink on plain files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/log.h"
#include "core/base/progress.h"
#include "fs/vol/vol.h"
#include "tools/bench.h"
#include "tools/cli_common.h"

#define SEQ_IO (1u << 20)
#define SMALL_IO 4096u

static const char *const row_names[ROW_COUNT] = {
	[ROW_SEQ_WRITE] = "sequential write (1 MiB)",
	[ROW_SEQ_READ] = "sequential read (1 MiB)",
	[ROW_RAND_READ] = "random read (4 KiB)",
	[ROW_CREATE] = "create + 4 KiB write",
	[ROW_DELETE] = "delete",
};
static const char *const row_units[ROW_COUNT] = {
	[ROW_SEQ_WRITE] = "MiB/s", [ROW_SEQ_READ] = "MiB/s", [ROW_RAND_READ] = "ops/s",
	[ROW_CREATE] = "ops/s",	   [ROW_DELETE] = "ops/s",
};

static void set_row(struct bench_row *rows, int i, bool ext4, double v)
{
	rows[i].name = row_names[i];
	rows[i].unit = row_units[i];
	if (ext4)
		rows[i].ext4 = v;
	else
		rows[i].trackfs = v;
}

static double mib_per_s(uint64_t bytes, double secs)
{
	return secs > 0 ? (double)bytes / (1 << 20) / secs : 0;
}

/* ---- through fs/vol --------------------------------------------------------- */

static int vol_seq(struct vol *v, const struct bench_opts *o, struct bench_row *rows,
		   uint64_t *ino_out)
{
	struct vol_cred cred = {.uid = 0, .gid = 0};
	struct tfs_progress p;
	struct vol_attr a;
	char *buf = malloc(SEQ_IO);
	double t0;
	int rc;

	if (!buf)
		return -ENOMEM;
	bench_fill(buf, SEQ_IO, 1);
	rc = vol_create(v, VOL_ROOT_INO, "big", S_IFREG | 0644, &cred, &a);
	if (rc < 0)
		goto out_free;
	*ino_out = a.ino;
	tfs_progress_init(&p, "trackfs write", o->size >> 20);
	t0 = cli_now();
	for (uint64_t off = 0; off < o->size; off += SEQ_IO) {
		memcpy(buf, &off, sizeof(off)); /* every block differs */
		ssize_t n = vol_write(v, a.ino, buf, SEQ_IO, (off_t)off);
		if (n != SEQ_IO) {
			rc = n < 0 ? (int)n : -EIO;
			cli_msg("vol_write at %llu: %s", (unsigned long long)off, tfs_strerror(rc));
			goto out_free;
		}
		tfs_progress_update(&p, off >> 20);
	}
	rc = vol_fsync(v, a.ino, false);
	if (rc < 0)
		goto out_free;
	set_row(rows, ROW_SEQ_WRITE, false, mib_per_s(o->size, cli_now() - t0));
	tfs_progress_fini(&p);

	if (o->drop_caches)
		bench_drop_caches();
	tfs_progress_init(&p, "trackfs read", o->size >> 20);
	t0 = cli_now();
	for (uint64_t off = 0; off < o->size; off += SEQ_IO) {
		ssize_t n = vol_read(v, a.ino, buf, SEQ_IO, (off_t)off);
		if (n != SEQ_IO || memcmp(buf, &off, sizeof(off)) != 0) {
			rc = n < 0 ? (int)n : -EIO;
			cli_msg("vol_read at %llu: %s", (unsigned long long)off,
				n < 0 ? tfs_strerror(rc) : "wrong bytes");
			goto out_free;
		}
		tfs_progress_update(&p, off >> 20);
	}
	set_row(rows, ROW_SEQ_READ, false, mib_per_s(o->size, cli_now() - t0));
	tfs_progress_fini(&p);
out_free:
	free(buf);
	return rc;
}

static int vol_random(struct vol *v, uint64_t ino, const struct bench_opts *o,
		      struct bench_row *rows)
{
	char buf[SMALL_IO];
	uint64_t s = 42, blocks = o->size / SMALL_IO;
	struct tfs_progress p;
	double t0;

	tfs_progress_init(&p, "trackfs random reads", o->randreads);
	t0 = cli_now();
	for (unsigned i = 0; i < o->randreads; i++) {
		uint64_t off = bench_rand(&s) % blocks * SMALL_IO;
		ssize_t n = vol_read(v, ino, buf, SMALL_IO, (off_t)off);
		if (n != SMALL_IO) {
			cli_msg("vol_read at %llu failed", (unsigned long long)off);
			return n < 0 ? (int)n : -EIO;
		}
		tfs_progress_update(&p, i);
	}
	set_row(rows, ROW_RAND_READ, false, o->randreads / (cli_now() - t0));
	tfs_progress_fini(&p);
	return 0;
}

static int vol_small(struct vol *v, const struct bench_opts *o, struct bench_row *rows)
{
	struct vol_cred cred = {.uid = 0, .gid = 0};
	struct tfs_progress p;
	struct vol_attr a, d;
	char buf[SMALL_IO], name[32];
	double t0;
	int rc;

	bench_fill(buf, sizeof(buf), 7);
	rc = vol_mkdir(v, VOL_ROOT_INO, "small", S_IFDIR | 0755, &cred, &d);
	if (rc < 0)
		return rc;
	tfs_progress_init(&p, "trackfs creates", o->small);
	t0 = cli_now();
	for (unsigned i = 0; i < o->small; i++) {
		snprintf(name, sizeof(name), "f%07u", i);
		rc = vol_create(v, d.ino, name, S_IFREG | 0644, &cred, &a);
		if (rc < 0)
			goto out_forget;
		ssize_t n = vol_write(v, a.ino, buf, sizeof(buf), 0);
		vol_forget(v, a.ino, 1);
		if (n != (ssize_t)sizeof(buf)) {
			rc = n < 0 ? (int)n : -EIO;
			goto out_forget;
		}
		tfs_progress_update(&p, i);
	}
	rc = vol_sync(v);
	if (rc < 0)
		goto out_forget;
	set_row(rows, ROW_CREATE, false, o->small / (cli_now() - t0));
	tfs_progress_fini(&p);

	tfs_progress_init(&p, "trackfs deletes", o->small);
	t0 = cli_now();
	for (unsigned i = 0; i < o->small; i++) {
		snprintf(name, sizeof(name), "f%07u", i);
		rc = vol_unlink(v, d.ino, name);
		if (rc < 0)
			goto out_forget;
		tfs_progress_update(&p, i);
	}
	rc = vol_sync(v);
	if (rc < 0)
		goto out_forget;
	set_row(rows, ROW_DELETE, false, o->small / (cli_now() - t0));
	tfs_progress_fini(&p);
out_forget:
	if (rc < 0)
		cli_msg("small files through fs/vol: %s", tfs_strerror(rc));
	vol_forget(v, d.ino, 1);
	return rc;
}

int bench_vol(const struct bench_opts *o, struct bench_row rows[ROW_COUNT])
{
	char root[PATH_MAX], meta[PATH_MAX];
	struct vol *v;
	uint64_t ino = 0;
	int rc;

	if ((size_t)snprintf(root, sizeof(root), "%s/trackfs", o->dir) >= sizeof(root))
		return -ENAMETOOLONG;
	bench_rmtree(root);
	rc = bench_mkvol(root, meta);
	if (rc < 0)
		return rc;
	rc = vol_open(meta, NULL, &v);
	if (rc < 0) {
		cli_msg("opening the volume %s: %s", meta, tfs_strerror(rc));
		goto out_rm;
	}
	rc = vol_seq(v, o, rows, &ino);
	if (rc == 0)
		rc = vol_random(v, ino, o, rows);
	if (ino)
		vol_forget(v, ino, 1);
	if (rc == 0)
		rc = vol_small(v, o, rows);
	int crc = vol_close(v);
	if (rc == 0)
		rc = crc;
out_rm:
	bench_rmtree(root);
	return rc;
}

/* ---- plain files -------------------------------------------------------------- */

static int ext4_seq(const char *root, const struct bench_opts *o, struct bench_row *rows)
{
	char path[PATH_MAX + 8];
	struct tfs_progress p;
	char *buf = malloc(SEQ_IO);
	double t0;
	int fd, rc = 0;

	if (!buf)
		return -ENOMEM;
	bench_fill(buf, SEQ_IO, 1);
	snprintf(path, sizeof(path), "%s/big", root);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		rc = -errno;
		goto out_free;
	}
	tfs_progress_init(&p, "ext4 write", o->size >> 20);
	t0 = cli_now();
	for (uint64_t off = 0; off < o->size; off += SEQ_IO) {
		memcpy(buf, &off, sizeof(off));
		if (pwrite(fd, buf, SEQ_IO, (off_t)off) != SEQ_IO) {
			rc = -EIO;
			goto out_close;
		}
		tfs_progress_update(&p, off >> 20);
	}
	if (fsync(fd) < 0) {
		rc = -errno;
		goto out_close;
	}
	set_row(rows, ROW_SEQ_WRITE, true, mib_per_s(o->size, cli_now() - t0));
	tfs_progress_fini(&p);

	if (o->drop_caches)
		bench_drop_caches();
	tfs_progress_init(&p, "ext4 read", o->size >> 20);
	t0 = cli_now();
	for (uint64_t off = 0; off < o->size; off += SEQ_IO) {
		if (pread(fd, buf, SEQ_IO, (off_t)off) != SEQ_IO) {
			rc = -EIO;
			goto out_close;
		}
		tfs_progress_update(&p, off >> 20);
	}
	set_row(rows, ROW_SEQ_READ, true, mib_per_s(o->size, cli_now() - t0));
	tfs_progress_fini(&p);

	uint64_t s = 42, blocks = o->size / SMALL_IO;
	tfs_progress_init(&p, "ext4 random reads", o->randreads);
	t0 = cli_now();
	for (unsigned i = 0; i < o->randreads; i++) {
		uint64_t off = bench_rand(&s) % blocks * SMALL_IO;
		if (pread(fd, buf, SMALL_IO, (off_t)off) != SMALL_IO) {
			rc = -EIO;
			goto out_close;
		}
		tfs_progress_update(&p, i);
	}
	set_row(rows, ROW_RAND_READ, true, o->randreads / (cli_now() - t0));
	tfs_progress_fini(&p);
out_close:
	close(fd);
	unlink(path);
out_free:
	free(buf);
	return rc;
}

static int ext4_small(const char *root, const struct bench_opts *o, struct bench_row *rows)
{
	char dir[PATH_MAX], path[PATH_MAX + 32], buf[SMALL_IO];
	struct tfs_progress p;
	double t0;
	int fd;

	bench_fill(buf, sizeof(buf), 7);
	snprintf(dir, sizeof(dir), "%s/small", root);
	if (mkdir(dir, 0755) < 0)
		return -errno;
	tfs_progress_init(&p, "ext4 creates", o->small);
	t0 = cli_now();
	for (unsigned i = 0; i < o->small; i++) {
		snprintf(path, sizeof(path), "%s/f%07u", dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0)
			return -errno;
		ssize_t n = pwrite(fd, buf, sizeof(buf), 0);
		close(fd);
		if (n != (ssize_t)sizeof(buf))
			return -EIO;
		tfs_progress_update(&p, i);
	}
	/* Same durability point as vol_sync on the trackfs side: data and
	 * metadata of every file (syncfs: the host's other dirty data too). */
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		syncfs(fd);
		close(fd);
	}
	set_row(rows, ROW_CREATE, true, o->small / (cli_now() - t0));
	tfs_progress_fini(&p);

	tfs_progress_init(&p, "ext4 deletes", o->small);
	t0 = cli_now();
	for (unsigned i = 0; i < o->small; i++) {
		snprintf(path, sizeof(path), "%s/f%07u", dir, i);
		if (unlink(path) < 0)
			return -errno;
		tfs_progress_update(&p, i);
	}
	/* Deletes need only the metadata durable: fsync of the directory commits
	 * ext4's journal (syncfs would also flush other processes' data). */
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	set_row(rows, ROW_DELETE, true, o->small / (cli_now() - t0));
	tfs_progress_fini(&p);
	return 0;
}

int bench_ext4(const struct bench_opts *o, struct bench_row rows[ROW_COUNT])
{
	char root[PATH_MAX];
	int rc;

	if ((size_t)snprintf(root, sizeof(root), "%s/ext4ref", o->dir) >= sizeof(root))
		return -ENAMETOOLONG;
	bench_rmtree(root);
	if (mkdir(root, 0755) < 0)
		return -errno;
	rc = ext4_seq(root, o, rows);
	if (rc == 0)
		rc = ext4_small(root, o, rows);
	if (rc < 0)
		cli_msg("plain files in %s: %s", root, tfs_strerror(rc));
	bench_rmtree(root);
	return rc;
}
