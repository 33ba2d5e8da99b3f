/* `trackfs meta mirror VOLUME DIR`: make DIR the volume's metadata mirror (a
 * copy of the metadata directory kept current with every commit), or resync
 * the one it has. A mounted volume's daemon does it ("meta-mirror DIR" on
 * its control socket); an unmounted volume is opened here. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/log.h"
#include "fs/vol/vol.h"
#include "fs/vol/volfile.h"
#include "tools/cli_common.h"
#include "tools/meta_cmd.h"

void meta_mirror_usage(FILE *out)
{
	fprintf(out, "Usage: trackfs meta mirror VOLUME DIR\n"
		     "Keep a second copy of the metadata directory of VOLUME (its metadata\n"
		     "directory, or the disk directory holding meta/) in DIR, ideally on another\n"
		     "device: DIR gets the volume file and an exact copy of the index, and every\n"
		     "commit of the index goes to both from then on, so losing either loses\n"
		     "nothing. DIR is named in the volume file (meta_mirror) and resynced at\n"
		     "mount when it fell behind. DIR must be new, empty, or a mirror of this\n"
		     "volume: run it again with the same DIR to resync a mirror that failed,\n"
		     "with another to move it (the old copy is left as it is). A mounted\n"
		     "volume's daemon does it (root or the volume's owner only); writes wait\n"
		     "for the copy.\n"
		     "\n"
		     "Exit status: 0 the mirror is current, 8 failed, 2 bad usage.\n");
}

/* @p arg made absolute (realpath when it exists; its parent must). */
static int mirror_path(const char *arg, char out[PATH_MAX])
{
	char copy[PATH_MAX], parent[PATH_MAX], base[NAME_MAX + 1];

	if (realpath(arg, out))
		return 0;
	if (errno != ENOENT)
		return -errno;
	if (strlen(arg) >= sizeof(copy))
		return -ENAMETOOLONG;
	snprintf(copy, sizeof(copy), "%s", arg);
	snprintf(base, sizeof(base), "%s", basename(copy));
	snprintf(copy, sizeof(copy), "%s", arg);
	if (!realpath(dirname(copy), parent))
		return -errno;
	if (!strcmp(base, ".") || !strcmp(base, "..") || !strcmp(base, "/"))
		return -EINVAL;
	if ((size_t)snprintf(out, PATH_MAX, "%s/%s", strcmp(parent, "/") ? parent : "", base) >=
	    PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * DIR may be new, empty, or a metadata directory of this very volume (its
 * mirror, to resync). @return 0, or -errno after saying what is wrong.
 */
static int check_dir(const char *meta, const char *dir)
{
	char conf[PATH_MAX + 32];
	struct vol_volfile *vf, *mine;
	struct stat st, mst;
	int rc = 0;

	if (!strcmp(dir, meta)) {
		cli_msg("%s is the metadata directory of the volume itself: give another "
			"directory, ideally on another device",
			dir);
		return -EINVAL;
	}
	if (strncmp(dir, meta, strlen(meta)) == 0 && dir[strlen(meta)] == '/') {
		cli_msg("%s is inside the metadata directory %s: give a directory outside it, "
			"ideally on another device",
			dir, meta);
		return -EINVAL;
	}
	if (stat(dir, &st) != 0) {
		/* New: its parent tells the device it will be on. */
		char copy[PATH_MAX];
		snprintf(copy, sizeof(copy), "%s", dir);
		if (stat(dirname(copy), &st) != 0)
			return 0;
	} else if (!S_ISDIR(st.st_mode)) {
		cli_msg("%s is not a directory: give a new or empty directory for the mirror", dir);
		return -ENOTDIR;
	}
	if (stat(meta, &mst) == 0 && st.st_dev == mst.st_dev)
		cli_msg("warning: %s is on the same filesystem as %s: the mirror does not "
			"survive the loss of that device",
			dir, meta);
	snprintf(conf, sizeof(conf), "%s/%s", dir, VOL_VOLFILE_NAME);
	if (stat(conf, &st) != 0) {
		DIR *d = opendir(dir);
		struct dirent *de;
		if (!d)
			return 0; /* new */
		while ((de = readdir(d)) && rc == 0)
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				rc = -ENOTEMPTY;
		closedir(d);
		if (rc < 0)
			cli_msg("%s is not empty and holds no metadata of this volume: give a new "
				"or empty directory for the mirror",
				dir);
		return rc;
	}
	vf = malloc(sizeof(*vf));
	mine = malloc(sizeof(*mine));
	if (!vf || !mine) {
		rc = -ENOMEM;
	} else if (vol_volfile_read(dir, vf) < 0 || vol_volfile_read(meta, mine) < 0) {
		cli_fail("cannot read the volume file %s: give a new or empty directory for the "
			 "mirror",
			 conf);
		rc = -EINVAL;
	} else if (!tfs_uuid_equal(&vf->uuid, &mine->uuid)) {
		char u[TFS_UUID_STRLEN];
		tfs_uuid_format(&vf->uuid, u);
		cli_msg("%s holds the metadata of another volume (%s): give a new or empty "
			"directory for the mirror",
			dir, u);
		rc = -EEXIST;
	}
	free(vf);
	free(mine);
	return rc;
}

static int failed(const char *meta, const char *dir, int rc, bool live)
{
	if (rc == -EPERM)
		cli_msg("only root or the owner of %s may set its metadata mirror", meta);
	else
		cli_msg("%s is not the metadata mirror of %s: %s (%s says why); the volume "
			"keeps the mirror it had, if any",
			dir, meta, tfs_strerror(rc),
			live ? "the daemon's log" : "the message above");
	return META_EXIT_FAILED;
}

int meta_mirror_cli(int argc, char **argv)
{
	struct vol_open_opts oo = {.owner = "trackfs meta mirror",
				   .snapshot_s = VOL_SNAPSHOT_NEVER};
	char meta[PATH_MAX], dir[PATH_MAX], req[PATH_MAX + 16], rep[128];
	struct vol *v;
	uint64_t seq = 0;
	int rc, e = 0;

	if (argc != 2 || argv[0][0] == '-' || argv[1][0] == '-')
		return META_EXIT_USAGE;
	if (vol_meta_resolve(argv[0], meta) < 0)
		return META_EXIT_FAILED; /* it says what is wrong with it */
	rc = mirror_path(argv[1], dir);
	if (rc < 0) {
		cli_msg("bad mirror directory %s: %s; give a new or empty directory whose parent "
			"exists",
			argv[1], tfs_strerror(rc));
		return META_EXIT_FAILED;
	}
	if (check_dir(meta, dir) < 0)
		return META_EXIT_FAILED;
	snprintf(req, sizeof(req), "meta-mirror %s", dir);
	rc = vol_control_request(meta, req, rep, sizeof(rep));
	if (rc == 0) {
		if (sscanf(rep, "ok %" SCNu64, &seq) == 1) {
			printf("The metadata mirror of %s is %s, current at commit %" PRIu64 ".\n",
			       meta, dir, seq);
			return META_EXIT_OK;
		}
		rc = sscanf(rep, "err %d", &e) == 1 && e > 0 ? -e : -EPROTO;
		return failed(meta, dir, rc, true);
	}
	if (rc != -ECONNREFUSED && rc != -ENOENT)
		return failed(meta, dir, rc, true);
	rc = vol_open(meta, &oo, &v);
	if (rc == -EBUSY)
		return META_EXIT_FAILED; /* vol_open named the holder */
	if (rc < 0) {
		cli_fail("cannot open the volume %s: %s", meta, tfs_strerror(rc));
		return META_EXIT_FAILED;
	}
	rc = vol_mirror_set(v, dir);
	int rc2 = vol_close(v);
	if (rc < 0)
		return failed(meta, dir, rc, false);
	if (rc2 < 0) {
		cli_msg("closing the volume %s failed: %s; the mirror is set, the next mount "
			"resyncs it if it fell behind",
			meta, tfs_strerror(rc2));
		return META_EXIT_FAILED;
	}
	printf("The metadata mirror of %s is %s, current.\n", meta, dir);
	return META_EXIT_OK;
}
