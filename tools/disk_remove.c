/* `trackfs disk remove VOLUME DISK`: take a drained disk out of an unmounted
 * volume (volume.conf and the index's disk count). A mounted volume is
 * refused: unmount it first. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/base/log.h"
#include "fs/vol.h"
#include "fs/volfile.h"
#include "tools/cli_common.h"
#include "tools/disk.h"

int cli_disk_remove(int argc, char **argv)
{
	struct vol_open_opts oo = {.owner = "trackfs disk remove"};
	const char *pos[2] = {NULL, NULL};
	char meta[PATH_MAX], rep[64];
	unsigned npos = 0, disk;
	bool force = false;
	struct vol *v;
	int rc, rc2;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--force"))
			force = true;
		else if (argv[i][0] == '-' && argv[i][1])
			return 2;
		else if (npos < 2)
			pos[npos++] = argv[i];
		else
			return 2;
	}
	if (npos != 2)
		return 2;
	if (vol_meta_resolve(pos[0], meta) < 0 || cli_disk_resolve(meta, pos[1], &disk) < 0)
		return 1;
	if (force) {
		cli_msg("remove --force is not in this version: drain disk %u first (`trackfs "
			"disk drain %s %u`); files it cannot move are named by the drain",
			disk, meta, disk);
		return 1;
	}
	if (vol_control_request(meta, "info", rep, sizeof(rep)) == 0) {
		cli_msg("%s is mounted (or served by trackfs-s3): unmount it, then remove disk %u",
			meta, disk);
		return 1;
	}
	rc = vol_open(meta, &oo, &v);
	if (rc < 0) {
		cli_msg("cannot open the volume %s: %s", meta, tfs_strerror(rc));
		return 1;
	}
	struct vol_drain_status st = {0};
	vol_disk_drain_state(v, disk, &st);
	rc = vol_disk_remove(v, disk);
	rc2 = vol_close(v);
	if (rc == 0 && rc2 < 0)
		rc = rc2;
	if (rc == -EBUSY && st.state != VOL_DRAIN_DRAINED) {
		cli_msg("disk %u is not drained: run `trackfs disk drain %s %u` first (or give "
			"up its files with --force)",
			disk, meta, disk);
		return 1;
	}
	if (rc < 0) {
		cli_msg("could not remove disk %u: %s (the messages above say why)", disk,
			tfs_strerror(rc));
		return 1;
	}
	printf("Removed disk %u from %s; its directory holds no file's data and may be "
	       "deleted or reused.\n",
	       disk, meta);
	return 0;
}
