/* The volume lock (invariant 6: one process opens a volume for writing):
 * flock on meta/lock, with the holder's pid and owner written inside so a
 * second opener can name it. */
#include "fs/vol/volfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/fileio.h"
#include "core/base/log.h"

int vol_lock_take(const char *meta_dir, const char *owner)
{
	char path[PATH_MAX + 32], text[512];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%s", meta_dir, VOL_LOCK_NAME);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		tfs_err("lock volume %s: cannot open %s: %s", meta_dir, path, tfs_strerror(rc));
		return rc;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		rc = -errno;
		if (rc != -EWOULDBLOCK) {
			tfs_err("lock volume %s: flock %s: %s", meta_dir, path, tfs_strerror(rc));
			close(fd);
			return rc;
		}
		ssize_t n = tfs_pread_full(fd, text, sizeof(text) - 1, 0);
		text[n > 0 ? n : 0] = '\0';
		long pid = 0;
		char who[sizeof(text)] = "unknown owner";
		if (sscanf(text, "%ld %511[^\n]", &pid, who) < 1)
			pid = 0;
		tfs_err("volume %s is in use by pid %ld (%s): unmount it or stop that process "
			"first",
			meta_dir, pid, who);
		close(fd);
		return -EBUSY;
	}
	int len = snprintf(text, sizeof(text), "%ld %s\n", (long)getpid(),
			   owner && *owner ? owner : "unknown owner");
	if (len >= (int)sizeof(text))
		len = sizeof(text) - 1;
	rc = ftruncate(fd, 0) < 0 ? -errno : tfs_pwrite_full(fd, text, (size_t)len, 0);
	if (rc < 0) {
		/* The lock itself is held; only the note for other openers is lost. */
		tfs_warn("lock volume %s: could not write the holder into %s: %s", meta_dir, path,
			 tfs_strerror(rc));
	}
	return fd;
}

void vol_lock_release(int fd)
{
	if (fd < 0)
		return;
	/* Leave the holder's note: the file is rewritten by the next holder, and
	 * truncating without the lock would race with it. */
	flock(fd, LOCK_UN);
	close(fd);
}
