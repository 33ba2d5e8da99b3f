/* Temporary volumes for the C tests: mkdtemp, vol_mkfs over two disks, and
 * running the real fsck.trackfs binary. */
#include "tests/harness/tmpvol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fs/vol/vol.h"

static void die(const char *what, int rc)
{
	fprintf(stderr, "tmpvol: %s failed: %d (%s)\n", what, rc, rc < 0 ? "errno" : "");
	abort();
}

void tmpvol_create(struct tmpvol *tv, uint32_t chunk_size)
{
	snprintf(tv->root, sizeof(tv->root), "/tmp/trackfs-test.XXXXXX");
	if (!mkdtemp(tv->root))
		die("mkdtemp", -1);
	for (int i = 0; i < 2; i++) {
		snprintf(tv->disk[i], sizeof(tv->disk[i]), "%s/disk%d", tv->root, i + 1);
		if (mkdir(tv->disk[i], 0755) < 0)
			die("mkdir disk", -1);
	}
	snprintf(tv->meta, sizeof(tv->meta), "%s/meta", tv->disk[0]);
	const char *disks[2] = {tv->disk[0], tv->disk[1]};
	struct vol_mkfs_opts o = {
		.meta_dir = tv->meta,
		.disks = disks,
		.ndisks = 2,
		.chunk_size = chunk_size,
		.label = "test",
	};
	/* disk1 holds the meta directory, so it is not empty: format with force
	 * off but create meta only after the disks, as mkfs.trackfs does. */
	int rc = vol_mkfs(&o, NULL);
	if (rc < 0)
		die("vol_mkfs", rc);
}

void tmpvol_destroy(struct tmpvol *tv)
{
	char cmd[PATH_MAX + 32];

	if (!tv->root[0] || strncmp(tv->root, "/tmp/trackfs-test.", 18) != 0)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tv->root);
	if (system(cmd) != 0)
		fprintf(stderr, "tmpvol: could not remove %s\n", tv->root);
	tv->root[0] = '\0';
}

int tmpvol_fsck(const struct tmpvol *tv, const char *args)
{
	const char *bin = getenv("TRACKFS_BIN_DIR");
	char cmd[2 * PATH_MAX];

	if (!bin)
		bin = "build";
	snprintf(cmd, sizeof(cmd), "'%s/tools/fsck.trackfs' %s '%s' >&2", bin, args ? args : "",
		 tv->meta);
	int st = system(cmd);
	if (st < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}
