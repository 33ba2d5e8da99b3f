/* Removing the temporary files (S3_TMP_PREFIX) that PUTs, copies, parts and
 * completions leave behind when the process is killed: hidden from both
 * front ends, they would hold their space for good. After a start, a thread
 * walks the whole tree once and removes those that another process made
 * (their names lack this one's mark, s3_tmp_is_ours) and that were born
 * before the start (a second before, for the coarse clock new files are
 * stamped with). Interrupted completions are undone first
 * (s3_mpu_recover); if one cannot be, the sweep waits for a later start,
 * so no part's chunks are ever in a file it removes. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "fs/s3/s3_int.h"

struct sweep_dir {
	uint64_t *dirs; /* directories still to read */
	size_t ndirs, cap;
	char **tmps; /* temporary names found in the one being read */
	size_t ntmps, tcap;
	int err;
};

static int sweep_cb(void *arg, const struct vol_dirent *d, const struct vol_attr *attr)
{
	struct sweep_dir *w = arg;
	size_t plen = strlen(S3_TMP_PREFIX);

	(void)attr;
	if (s3_dot_name(d->name, d->namelen))
		return 0;
	if (d->type == DT_DIR) {
		if (!s3_grow((void **)&w->dirs, &w->cap, w->ndirs + 1, sizeof(*w->dirs)))
			goto out_oom;
		w->dirs[w->ndirs++] = d->ino;
	} else if (d->type == DT_REG && d->namelen > plen &&
		   !memcmp(d->name, S3_TMP_PREFIX, plen)) {
		if (!s3_grow((void **)&w->tmps, &w->tcap, w->ntmps + 1, sizeof(*w->tmps)))
			goto out_oom;
		w->tmps[w->ntmps] = strndup(d->name, d->namelen);
		if (!w->tmps[w->ntmps])
			goto out_oom;
		w->ntmps++;
	}
	return 0;
out_oom:
	w->err = -ENOMEM;
	return 1;
}

static void sweep_thread(void *arg)
{
	struct s3_server *s = arg;
	struct sweep_dir w = {0};
	uint64_t files = 0, bytes = 0;
	int rc = 0;

	if (!s3_grow((void **)&w.dirs, &w.cap, 1, sizeof(*w.dirs)))
		return;
	w.dirs[w.ndirs++] = VOL_ROOT_INO;
	while (w.ndirs && !atomic_load(&s->sweep_stop) && !rc) {
		uint64_t dir = w.dirs[--w.ndirs];

		rc = vol_readdir(s->v, dir, 0, false, sweep_cb, &w);
		if (rc == -ENOENT || rc == -ENOTDIR)
			rc = 0; /* removed since it was listed */
		if (!rc)
			rc = w.err;
		for (size_t i = 0; i < w.ntmps; i++) {
			struct vol_attr a;
			if (!rc && !vol_lookup(s->v, dir, w.tmps[i], &a)) {
				vol_forget(s->v, a.ino, 1);
				if (!s3_tmp_is_ours(w.tmps[i]) &&
				    a.btime.tv_sec < s->sweep_before) {
					int urc = vol_unlink(s->v, dir, w.tmps[i]);
					if (urc == 0) {
						files++;
						bytes += a.size;
					} else if (urc == -EROFS) {
						rc = urc;
					}
				}
			}
			free(w.tmps[i]);
		}
		w.ntmps = 0;
	}
	if (rc && rc != -EROFS)
		tfs_warn("s3: looking for temporary files left by interrupted uploads failed: %s",
			 tfs_strerror(rc));
	if (files)
		tfs_info("s3: removed %" PRIu64 " temporary files (%" PRIu64
			 " bytes) left by uploads a stop interrupted",
			 files, bytes);
	free(w.dirs);
	free(w.tmps);
}

void s3_tmp_sweep_prepare(struct s3_server *s)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME_COARSE, &now);
	s->sweep_before = now.tv_sec - 1;
}

int s3_tmp_sweep_start(struct s3_server *s)
{
	int rc;

	atomic_store(&s->sweep_stop, false);
	rc = uv_thread_create(&s->sweep, sweep_thread, s);
	if (rc)
		return rc;
	s->sweep_running = true;
	return 0;
}

void s3_tmp_sweep_stop(struct s3_server *s)
{
	if (!s->sweep_running)
		return;
	atomic_store(&s->sweep_stop, true);
	uv_thread_join(&s->sweep);
	s->sweep_running = false;
}
