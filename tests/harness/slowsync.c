/* slowsync: an LD_PRELOAD library that makes fsync, fdatasync and
 * sync_file_range take TFS_SLOWSYNC_MS milliseconds longer while the file
 * TFS_SLOWSYNC_FLAG exists, for files whose path holds TFS_SLOWSYNC_MATCH
 * (all files without it): a slow disk, switched on and off by a test.
 *
 *   TFS_SLOWSYNC_FLAG=/tmp/slow TFS_SLOWSYNC_MS=1500 TFS_SLOWSYNC_MATCH=/tracks/ \
 *   LD_PRELOAD=libtfs_slowsync.so cmd
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void slow(int fd)
{
	const char *flag = getenv("TFS_SLOWSYNC_FLAG");
	const char *ms = getenv("TFS_SLOWSYNC_MS");
	const char *match = getenv("TFS_SLOWSYNC_MATCH");

	if (!flag || !ms || access(flag, F_OK) != 0)
		return;
	if (match) {
		char link[64], path[4096];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, path, sizeof(path) - 1);
		if (n < 0)
			return;
		path[n] = '\0';
		if (!strstr(path, match))
			return;
	}
	long n = atol(ms);
	struct timespec ts = {n / 1000, (n % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

int fsync(int fd)
{
	static int (*real)(int);

	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	slow(fd);
	return real(fd);
}

int fdatasync(int fd)
{
	static int (*real)(int);

	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	slow(fd);
	return real(fd);
}

int sync_file_range(int fd, off_t off, off_t n, unsigned int flags)
{
	static int (*real)(int, off_t, off_t, unsigned int);

	if (!real)
		real = (int (*)(int, off_t, off_t, unsigned int))dlsym(RTLD_NEXT,
								       "sync_file_range");
	slow(fd);
	return real(fd, off, n, flags);
}
