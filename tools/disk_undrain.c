/* `trackfs disk undrain VOLUME DISK`: give a draining (stopped) or drained
 * disk back to placement: its drain record goes and new data may go to it
 * again. Chunks already moved off stay where they are. Mounted or not. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/base/log.h"
#include "fs/vol/vol.h"
#include "fs/vol/volfile.h"
#include "tools/cli_common.h"
#include "tools/disk.h"

int cli_disk_undrain(int argc, char **argv)
{
	struct vol_open_opts oo = {.owner = "trackfs disk undrain"};
	char meta[PATH_MAX], req[64], rep[128];
	unsigned disk;
	struct vol *v;
	int rc, e = 0;

	if (argc != 2 || argv[0][0] == '-' || argv[1][0] == '-')
		return 2;
	if (vol_meta_resolve(argv[0], meta) < 0 || cli_disk_resolve(meta, argv[1], &disk) < 0)
		return 1;
	snprintf(req, sizeof(req), "disk-undrain %u", disk);
	rc = vol_control_request(meta, req, rep, sizeof(rep));
	if (rc == 0 && strncmp(rep, "ok", 2) != 0)
		rc = sscanf(rep, "err %d", &e) == 1 && e > 0 ? -e : -EPROTO;
	if (rc == -ECONNREFUSED || rc == -ENOENT) {
		rc = vol_open(meta, &oo, &v);
		if (rc < 0) {
			cli_fail("cannot open the volume %s: %s", meta, tfs_strerror(rc));
			return 1;
		}
		rc = vol_disk_undrain(v, disk);
		int rc2 = vol_close(v);
		if (rc == 0 && rc2 < 0)
			rc = rc2;
	}
	if (rc == -EBUSY) {
		cli_msg("disk %u is being drained right now: stop it first (`trackfs disk drain "
			"--stop %s %u`), then undrain it",
			disk, meta, disk);
		return 1;
	}
	if (rc == -EPERM) {
		cli_msg("undrain disk %u: only root or the owner of %s may change its disks", disk,
			meta);
		return 1;
	}
	if (rc < 0) {
		cli_msg("could not undrain disk %u of %s: %s (the daemon's log says more)", disk,
			meta, tfs_strerror(rc));
		return 1;
	}
	printf("Disk %u is in use again: new data may go to it.\n", disk);
	return 0;
}
