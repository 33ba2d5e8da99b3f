/* Going into the background without losing errors: the daemon is forked
 * before the volume is opened (its threads and lock must live in the serving
 * process) and tells the waiting parent through a pipe whether the mount
 * stands. Also the tuning of the mount's backing device.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/base/log.h"
#include "fs/fuse/fs_fuse.h"
#include "fs/fuse/main_int.h"

/* The kernel's readahead window for the mount. A window of several 1 MiB
 * requests keeps several direct reads of a track in flight at once, where a
 * 1 MiB window kept about one (cold 2 GiB read: 0.8-1.0 -> 1.2-1.3 GB/s). */
#define FS_READAHEAD_KB 4096

int fs_bg_start(struct fs_bg *bg)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int rc = -errno;

		close(fds[0]);
		close(fds[1]);
		return rc;
	}
	if (pid > 0) {
		close(fds[1]);
		bg->fd = fds[0];
		bg->done = false;
		return 1;
	}
	close(fds[0]);
	bg->fd = fds[1];
	bg->done = false;
	/* Leave the terminal's session: its hangup must not end the daemon. */
	if (setsid() < 0)
		fprintf(stderr, "trackfs: setsid: %s\n", strerror(errno));
	return 0;
}

int fs_bg_wait(struct fs_bg *bg)
{
	char status = 1;
	ssize_t n;

	do {
		n = read(bg->fd, &status, 1);
	} while (n < 0 && errno == EINTR);
	close(bg->fd);
	/* End of file without a status: the daemon died before reporting. */
	return n == 1 && status == 0 ? 0 : 1;
}

static void fs_bg_report(struct fs_bg *bg, char status)
{
	ssize_t n;

	if (bg->done)
		return;
	do {
		n = write(bg->fd, &status, 1);
	} while (n < 0 && errno == EINTR);
	close(bg->fd);
	bg->done = true;
}

/* With no syslog to take them, the daemon's lines go to a file beside the
 * index rather than nowhere. @return the file's descriptor or -1. */
static int fs_log_file(const char *meta_dir)
{
	char path[PATH_MAX];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/" FS_LOG_FILE, meta_dir) >= sizeof(path))
		return -1;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		fprintf(stderr,
			"trackfs: no syslog listens on /dev/log and %s cannot be opened (%s): "
			"the daemon's messages are lost; run it with -f to see them\n",
			path, strerror(errno));
	else
		fprintf(stderr, "trackfs: no syslog listens on /dev/log: logging to %s\n", path);
	return fd;
}

void fs_bg_ready(struct fs_bg *bg, const char *meta_dir)
{
	int fd = open("/dev/null", O_RDWR), logfd = -1;

	if (tfs_syslog_reachable())
		tfs_log_use_syslog(true, "trackfs");
	else
		logfd = fs_log_file(meta_dir);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(logfd >= 0 ? logfd : fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	if (logfd >= 0)
		close(logfd);
	fs_bg_report(bg, 0);
}

void fs_bg_fail(struct fs_bg *bg)
{
	fs_bg_report(bg, 1);
}

/* Undo the octal escapes (\040 for a space) of a /proc/self/mountinfo field. */
static void fs_unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

int fs_bdi_find(const char *mountpoint, char *dev, size_t size)
{
	char line[2 * PATH_MAX];
	FILE *f;
	int rc = -ENOENT;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	/* The last line for this mount point is the mount just made. */
	while (fgets(line, sizeof(line), f)) {
		char mdev[32], mpoint[PATH_MAX];

		if (sscanf(line, "%*u %*u %31s %*s %4095s", mdev, mpoint) != 2)
			continue;
		fs_unescape(mpoint);
		if (strcmp(mpoint, mountpoint) == 0) {
			snprintf(dev, size, "%s", mdev);
			rc = 0;
		}
	}
	fclose(f);
	return rc;
}

void fs_bdi_tune(const char *dev)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", dev);
	f = fopen(path, "we");
	if (!f) {
		tfs_debug("%s: %s (readahead stays at the default)", path, strerror(errno));
		return;
	}
	fprintf(f, "%d\n", FS_READAHEAD_KB);
	if (fclose(f) != 0)
		tfs_debug("writing %s: %s", path, strerror(errno));
	else
		tfs_debug("readahead of %s set to %d KiB", dev, FS_READAHEAD_KB);
}

int fs_keep_dev_last(struct fuse_session *se)
{
	struct rlimit rl;
	int top = 65535;
	int fd;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur - 1 < (rlim_t)top)
		top = (int)rl.rlim_cur - 1;
	fd = fcntl(fuse_session_fd(se), F_DUPFD_CLOEXEC, top);
	if (fd < 0)
		fd = fcntl(fuse_session_fd(se), F_DUPFD_CLOEXEC, top / 2);
	return fd < 0 ? -errno : fd;
}
