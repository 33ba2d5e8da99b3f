/* `trackfs disk remove VOLUME DISK [--force]`: take a drained disk out of an
 * unmounted volume (volume.conf and the index's disk count, or a removed
 * slot for a middle disk). --force gives up an undrained (or missing) disk's
 * data: each file with chunks there is listed by path, keeps its size with
 * those ranges reading as zeros, and carries user.trackfs.lost naming them.
 * A mounted volume is refused: unmount it first. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/base/log.h"
#include "fs/vol/vol.h"
#include "fs/vol/volfile.h"
#include "tools/cli_common.h"
#include "tools/disk.h"

struct lost {
	unsigned disk;
	unsigned long long n;
};

/* Each file is named before its extents go, so even a failure part way
 * leaves no file given up unnamed. */
static int lost_cb(void *arg, const struct vol_disk_file *f)
{
	struct lost *l = arg;
	char esc[PATH_MAX * 2], b1[32];

	if (!l->n++)
		printf("Lost with disk %u (bytes on it, path):\n", l->disk);
	if (*f->path)
		vol_path_escape(f->path, esc, sizeof(esc));
	else
		snprintf(esc, sizeof(esc), "(inode %llu, deleted but still open)",
			 (unsigned long long)f->ino);
	printf("lost %10s  %s%s\n", cli_fmt_bytes(f->bytes_here, b1, sizeof(b1)), esc,
	       f->bytes_elsewhere ? " (the rest of it is on other disks)" : "");
	fflush(stdout);
	return 0;
}

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
	if (vol_control_request(meta, "info", rep, sizeof(rep)) == 0) {
		cli_msg("%s is mounted (or served by trackfs-s3): unmount it, then remove disk %u",
			meta, disk);
		return 1;
	}
	rc = vol_open(meta, &oo, &v);
	if (rc < 0) {
		cli_fail("cannot open the volume %s: %s", meta, tfs_strerror(rc));
		return 1;
	}
	struct vol_drain_status st = {0};
	vol_disk_drain_state(v, disk, &st);
	rc = 0;
	if (force && st.state != VOL_DRAIN_DRAINED) {
		struct lost l = {.disk = disk};
		rc = vol_disk_forget(v, disk, lost_cb, &l);
		if (rc == 0 && l.n)
			printf("%llu files lost data on disk %u: those ranges now read as zeros "
			       "and "
			       "are listed in each file's " VOL_LOST_XATTR
			       " xattr (getfattr -n " VOL_LOST_XATTR
			       "); restore them from a backup.\n",
			       (unsigned long long)l.n, disk);
		if (rc == 0)
			st.state = VOL_DRAIN_DRAINED;
		else
			cli_msg("could not give up the data of disk %u: %s; files listed above may "
				"be done already, run the command again",
				disk, tfs_strerror(rc));
	}
	if (rc == 0)
		rc = vol_disk_remove(v, disk);
	rc2 = vol_close(v);
	if (rc == 0 && rc2 < 0)
		rc = rc2;
	if (rc == -EBUSY && st.state != VOL_DRAIN_DRAINED) {
		cli_msg("disk %u is not drained: run `trackfs disk drain %s %u` first (or give "
			"up its files with --force: they are listed, and what was on the disk "
			"reads "
			"as zeros)",
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
