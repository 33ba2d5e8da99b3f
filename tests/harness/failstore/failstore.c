/* tfs-failstore: a backing store that can be made to fail, for the failing
 * device test (tests/integration/test_failing_disk.sh). A FUSE filesystem
 * with one file, "disk.img", passed through to a backing file, with direct
 * I/O so that every read and write reaches this process. While failing is on
 * (SIGUSR1; SIGUSR2 turns it off) every read, write and fsync of it returns
 * EIO, as a dying disk's would; a loop device over the file turns it into a
 * block device that ext4 can sit on.
 *
 *   tfs-failstore BACKING MOUNTPOINT [-f] [FUSE options]
 *
 * It prints "failstore: failing on/off" on each switch and, at exit, how many
 * requests it failed.
 */
#define FUSE_USE_VERSION 314
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IMAGE_NAME "disk.img"

static int backing_fd = -1;
static atomic_bool failing;
static atomic_ulong failed_ops;

static void on_signal(int sig)
{
	atomic_store(&failing, sig == SIGUSR1);
	/* write(2) is async-signal-safe; the message is for the test's log. */
	const char *m = sig == SIGUSR1 ? "failstore: failing on\n" : "failstore: failing off\n";
	ssize_t n = write(STDERR_FILENO, m, strlen(m));
	(void)n;
}

static bool is_image(const char *path)
{
	return strcmp(path, "/" IMAGE_NAME) == 0;
}

static int fail_now(void)
{
	if (!atomic_load(&failing))
		return 0;
	atomic_fetch_add(&failed_ops, 1);
	return -EIO;
}

static int fst_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	memset(st, 0, sizeof(*st));
	if (strcmp(path, "/") == 0) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	}
	if (!is_image(path))
		return -ENOENT;
	if (fstat(backing_fd, st) < 0)
		return -errno;
	st->st_ino = 2;
	return 0;
}

static int fst_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		       struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off;
	(void)fi;
	(void)flags;
	if (strcmp(path, "/") != 0)
		return -ENOTDIR;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, IMAGE_NAME, NULL, 0, 0);
	return 0;
}

static int fst_open(const char *path, struct fuse_file_info *fi)
{
	if (!is_image(path))
		return -ENOENT;
	/* Every request reaches this process, so a failure is never hidden
	 * by the kernel's cache of this file. */
	fi->direct_io = 1;
	return 0;
}

static int fst_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	int rc = fail_now();
	if (rc)
		return rc;
	ssize_t n = pread(backing_fd, buf, size, off);
	return n < 0 ? -errno : (int)n;
}

static int fst_write(const char *path, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	int rc = fail_now();
	if (rc)
		return rc;
	ssize_t n = pwrite(backing_fd, buf, size, off);
	return n < 0 ? -errno : (int)n;
}

static int fst_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	int rc = fail_now();
	if (rc)
		return rc;
	return (datasync ? fdatasync(backing_fd) : fsync(backing_fd)) < 0 ? -errno : 0;
}

static int fst_flush(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	return 0;
}

static int fst_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	(void)fi;
	if (!is_image(path))
		return -ENOENT;
	return ftruncate(backing_fd, size) < 0 ? -errno : 0;
}

static int fst_fallocate(const char *path, int mode, off_t off, off_t len,
			 struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	int rc = fail_now();
	if (rc)
		return rc;
	return fallocate(backing_fd, mode, off, len) < 0 ? -errno : 0;
}

static const struct fuse_operations ops = {
	.getattr = fst_getattr,
	.readdir = fst_readdir,
	.open = fst_open,
	.read = fst_read,
	.write = fst_write,
	.fsync = fst_fsync,
	.flush = fst_flush,
	.truncate = fst_truncate,
	.fallocate = fst_fallocate,
};

int main(int argc, char *argv[])
{
	struct sigaction sa = {.sa_handler = on_signal};

	if (argc < 3) {
		fprintf(stderr, "usage: %s BACKING MOUNTPOINT [-f] [FUSE options]\n", argv[0]);
		return 2;
	}
	backing_fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (backing_fd < 0) {
		fprintf(stderr, "failstore: cannot open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGUSR1, &sa, NULL) < 0 || sigaction(SIGUSR2, &sa, NULL) < 0) {
		perror("failstore: sigaction");
		return 1;
	}
	/* fuse_main sees: PROG MOUNTPOINT [options]. */
	argv[1] = argv[0];
	int rc = fuse_main(argc - 1, argv + 1, &ops, NULL);
	fprintf(stderr, "failstore: %lu requests failed\n", atomic_load(&failed_ops));
	close(backing_fd);
	return rc;
}
