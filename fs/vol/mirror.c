/* The metadata mirror (`meta_mirror = DIR` in the volume file): DIR is a
 * second metadata directory, its volume file written with the volume's
 * (volfile.c) and its index kept current by index/mirror.c. At open a mirror
 * that fell behind is resynced; one that fails while mounted is retried by
 * the snapshot thread, and `trackfs meta mirror` sets, moves or resyncs it. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/base/log.h"
#include "fs/vol/vol_int.h"

static int index_dir(const char *mirror, char out[PATH_MAX])
{
	if (snprintf(out, PATH_MAX, "%s/%s", mirror, VOL_INDEX_DIR) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* Attach, or resync when it is behind or unreadable. */
static int attach(struct vol *v, const char *mirror)
{
	char dir[PATH_MAX];
	struct stat st;
	int rc = index_dir(mirror, dir);

	if (rc)
		return rc;
	if (stat(dir, &st) == 0) {
		rc = idx_mirror_attach(v->idx, dir);
		if (rc == 0)
			return 0;
		tfs_warn("volume %s: the metadata mirror %s is not current (%s): resyncing it",
			 v->meta_dir, mirror, tfs_strerror(rc));
	}
	/* The mirror's directory must be there: one that is gone is most
	 * likely a device that is not mounted, and recreating it would put the
	 * "mirror" on the filesystem below. */
	if (stat(mirror, &st) != 0 || !S_ISDIR(st.st_mode)) {
		rc = -ENOENT;
		tfs_err("volume %s: the metadata mirror directory %s is missing (is its device "
			"mounted?): the index has no mirror until it is back; create it empty to "
			"have the mirror rebuilt there",
			v->meta_dir, mirror);
		return rc;
	}
	return idx_mirror_resync(v->idx, dir);
}

int vol_mirror_open(struct vol *v)
{
	int rc;

	if (!v->vf.meta_mirror[0] || v->rdonly)
		return 0;
	/* The mirror mounted as the metadata directory (after the main one was
	 * lost): it cannot mirror itself. */
	if (!strcmp(v->vf.meta_mirror, v->meta_dir)) {
		tfs_warn("volume %s: the volume file names this directory as its own metadata "
			 "mirror: running without a mirror (set another with `trackfs meta "
			 "mirror`)",
			 v->meta_dir);
		return 0;
	}
	/* Its volume file first: a mirror is a whole metadata directory. */
	rc = vol_volfile_write(v->meta_dir, &v->vf);
	if (rc == 0)
		rc = attach(v, v->vf.meta_mirror);
	if (rc < 0)
		tfs_err("volume %s: the metadata mirror %s is not in use (%s): the index has a "
			"single copy until it is fixed (run `trackfs meta mirror %s %s` once the "
			"mirror's device is back)",
			v->meta_dir, v->vf.meta_mirror, tfs_strerror(rc), v->meta_dir,
			v->vf.meta_mirror);
	return 0; /* the volume works without it; status says so */
}

void vol_mirror_check(struct vol *v)
{
	struct idx_mirror_status ms;

	if (!v->vf.meta_mirror[0] || v->rdonly)
		return;
	idx_mirror_status(v->idx, &ms);
	if (ms.attached && ms.error == 0)
		return;
	/* Each retry resyncs, holding the index for the copy: back off while
	 * it keeps failing (1 min, doubling to 1 h). */
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec < v->mirror_next_s)
		return;
	tfs_info("volume %s: retrying the metadata mirror %s", v->meta_dir, v->vf.meta_mirror);
	if (attach(v, v->vf.meta_mirror) == 0) {
		v->mirror_backoff_s = 0;
		return;
	}
	v->mirror_backoff_s = v->mirror_backoff_s ? v->mirror_backoff_s * 2 : 60;
	if (v->mirror_backoff_s > 3600)
		v->mirror_backoff_s = 3600;
	v->mirror_next_s = now.tv_sec + v->mirror_backoff_s;
}

int vol_mirror_set(struct vol *v, const char *mirror)
{
	char old[PATH_MAX];
	int rc;

	if (v->rdonly)
		return -EROFS;
	if (mirror[0] != '/' || strlen(mirror) >= sizeof(v->vf.meta_mirror))
		return -EINVAL;
	if (!strcmp(mirror, v->meta_dir))
		return -EINVAL;
	/* Asked for by name: the directory may be new. */
	if (mkdir(mirror, 0755) != 0 && errno != EEXIST) {
		rc = -errno;
		tfs_err("volume %s: cannot create the metadata mirror %s: %s", v->meta_dir, mirror,
			tfs_strerror(rc));
		return rc;
	}
	pthread_mutex_lock(&v->disks_mu);
	snprintf(old, sizeof(old), "%s", v->vf.meta_mirror);
	rc = attach(v, mirror);
	if (rc == 0) {
		snprintf(v->vf.meta_mirror, sizeof(v->vf.meta_mirror), "%s", mirror);
		rc = vol_volfile_write(v->meta_dir, &v->vf);
		if (rc < 0)
			snprintf(v->vf.meta_mirror, sizeof(v->vf.meta_mirror), "%s", old);
	}
	pthread_mutex_unlock(&v->disks_mu);
	if (rc < 0) {
		tfs_err("volume %s: the metadata mirror %s could not be set up: %s", v->meta_dir,
			mirror, tfs_strerror(rc));
		if (old[0])
			(void)attach(v, old);
		else
			idx_mirror_detach(v->idx);
	} else {
		tfs_info("volume %s: metadata mirror %s is current", v->meta_dir, mirror);
		vol_snapshot_kick(v); /* so that a restore from the disks finds it */
	}
	return rc;
}
