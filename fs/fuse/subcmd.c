/* `trackfs SUBCOMMAND ...`: the daemon's binary is also the entry point for
 * the volume tools that are separate programs named trackfs-SUBCOMMAND
 * (trackfs status, trackfs debug, trackfs s3). Looked up next to this binary, in
 * the build tree's tools/ and fs/s3/ directories, then on PATH.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/fuse/main_int.h"

/* A subcommand is a plain lowercase word (digits allowed after the first
 * letter: s3) that is not also a path here (a volume directory could be
 * called "status"). */
static int fs_is_word(const char *s)
{
	struct stat st;

	if (*s < 'a' || *s > 'z' || strlen(s) > 32)
		return 0;
	for (const char *p = s; *p; p++)
		if ((*p < 'a' || *p > 'z') && (*p < '0' || *p > '9') && *p != '-')
			return 0;
	return stat(s, &st) != 0;
}

static int fs_try_exec(const char *dir, const char *prog, char *argv[])
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, prog) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (access(path, X_OK) != 0)
		return -errno;
	char *saved = argv[0];
	argv[0] = path;
	execv(path, argv);
	argv[0] = saved; /* the caller goes on with its arguments */
	return -errno;
}

int fs_subcommand(int argc, char *argv[])
{
	char self[PATH_MAX], prog[64], dir[PATH_MAX + 16];
	ssize_t n;
	int rc;

	if (argc < 2 || !fs_is_word(argv[1]))
		return 0;
	snprintf(prog, sizeof(prog), "trackfs-%s", argv[1]);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash)
			*slash = '\0';
		rc = fs_try_exec(self, prog, argv + 1);
		if (rc != -ENOENT)
			goto out_failed;
		/* In the build tree the daemon is fs/fuse/trackfs, the tools
		 * are tools/trackfs-*. */
		snprintf(dir, sizeof(dir), "%s/../../tools", self);
		rc = fs_try_exec(dir, prog, argv + 1);
		if (rc != -ENOENT)
			goto out_failed;
		/* ... and trackfs-s3 (`trackfs s3 reload`) is fs/s3/trackfs-s3. */
		snprintf(dir, sizeof(dir), "%s/../s3", self);
		rc = fs_try_exec(dir, prog, argv + 1);
		if (rc != -ENOENT)
			goto out_failed;
	}
	char *word = argv[1];
	argv[1] = prog;
	execvp(prog, argv + 1);
	rc = -errno;
	argv[1] = word;
	if (rc == -ENOENT)
		return 0; /* not a subcommand: parse it as a volume argument */
out_failed:
	fprintf(stderr, "trackfs: cannot run %s: %s\n", prog, strerror(-rc));
	return -1;
}
