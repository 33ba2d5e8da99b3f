/* Index snapshots on the data disks: one is taken at an interval while the
 * volume changes, at clean close and on demand, written once and copied to
 * every present disk (<disk>/meta-snapshots/index-<commit>.snap, written to a
 * temporary name, fsynced and renamed), and the oldest beyond
 * VOL_SNAPSHOT_KEEP pruned. Each carries the volume file, so a restore needs
 * only the disks (tools/restore.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/base/fileio.h"
#include "core/base/log.h"
#include "fs/vol/vol_int.h"

#define SNAP_PREFIX "index-"
#define SNAP_SUFFIX ".snap"
#define TMP_PREFIX ".tmp-"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool snap_name(const char *name, uint64_t *seq)
{
	size_t n = strlen(name);
	char *end = NULL;

	if (n != strlen(SNAP_PREFIX) + 16 + strlen(SNAP_SUFFIX) ||
	    strncmp(name, SNAP_PREFIX, strlen(SNAP_PREFIX)) != 0 ||
	    strcmp(name + n - strlen(SNAP_SUFFIX), SNAP_SUFFIX) != 0)
		return false;
	*seq = strtoull(name + strlen(SNAP_PREFIX), &end, 16);
	return end == name + strlen(SNAP_PREFIX) + 16;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct vol_snapshot_entry *x = a, *y = b;

	if (x->file_seq != y->file_seq)
		return x->file_seq < y->file_seq ? 1 : -1; /* newest first */
	return strcmp(x->path, y->path);
}

int vol_snapshot_list(const char *disk, bool verify, struct vol_snapshot_entry **out, size_t *n)
{
	char dir[PATH_MAX];
	struct vol_snapshot_entry *v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*n = 0;
	if (snprintf(dir, sizeof(dir), "%s/%s", disk, VOL_SNAPSHOT_DIR) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		uint64_t seq;
		if (!snap_name(de->d_name, &seq))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			struct vol_snapshot_entry *nv = realloc(v, cap * sizeof(*nv));
			if (!nv) {
				closedir(d);
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		struct vol_snapshot_entry *e = &v[cnt++];
		memset(e, 0, sizeof(*e));
		e->file_seq = seq;
		snprintf(e->path, sizeof(e->path), "%s/%s", dir, de->d_name);
		int fd = open(e->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			e->rc = -errno;
			snprintf(e->why, sizeof(e->why), "cannot open it: %s", tfs_strerror(e->rc));
			continue;
		}
		struct idx_snap_info info;
		e->rc = verify ? idx_snapshot_verify(fd, &info, NULL, e->why, sizeof(e->why))
			       : idx_snapshot_header(fd, &info, e->why, sizeof(e->why));
		close(fd);
		if (e->rc == 0) {
			e->uuid = info.uuid;
			e->seq = info.seq;
			e->generation = info.generation;
			e->time_ns = info.time_ns;
			e->bytes = IDX_SNAPSHOT_HEADER + info.body_len;
			e->records = info.records;
		}
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_entry);
	*out = v;
	*n = cnt;
	return 0;
}

/* Remove leftovers of interrupted snapshots and all but the newest few. */
static void prune(const char *dir)
{
	struct vol_snapshot_entry *v;
	size_t n;
	char disk[PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(disk, sizeof(disk), "%s", dir);
	char *slash = strrchr(disk, '/');
	if (slash)
		*slash = '\0';
	if (vol_snapshot_list(disk, false, &v, &n) == 0) {
		for (size_t i = VOL_SNAPSHOT_KEEP; i < n; i++)
			if (unlink(v[i].path) != 0)
				tfs_warn("snapshot %s: cannot remove it: %s", v[i].path,
					 tfs_strerror(-errno));
		free(v);
	}
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

/* Open a temporary file in <disk>/meta-snapshots. */
static int open_tmp(const char *disk, char dir[PATH_MAX], char tmp[PATH_MAX])
{
	int fd;

	if (snprintf(dir, PATH_MAX, "%s/%s", disk, VOL_SNAPSHOT_DIR) >= PATH_MAX)
		return -ENAMETOOLONG;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -errno;
	snprintf(tmp, PATH_MAX, "%s/%s%d", dir, TMP_PREFIX, (int)getpid());
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

/* fsync @p fd, rename @p tmp into place as the snapshot of @p seq, fsync the directory. */
static int publish(int fd, const char *dir, const char *tmp, uint64_t seq)
{
	char final[PATH_MAX + 64];

	if (fsync(fd) != 0)
		return -errno;
	snprintf(final, sizeof(final), "%s/" SNAP_PREFIX "%016" PRIx64 SNAP_SUFFIX, dir, seq);
	if (rename(tmp, final) != 0)
		return -errno;
	return tfs_fsync_dir(dir);
}

static int copy_fd(int from, int to, uint64_t len)
{
	static const size_t bufsz = 1u << 20;
	char *buf = malloc(bufsz);
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	for (uint64_t off = 0; off < len && rc == 0;) {
		size_t want = len - off < bufsz ? (size_t)(len - off) : bufsz;
		ssize_t n = tfs_pread_full(from, buf, want, (off_t)off);
		if (n < 0)
			rc = (int)n;
		else if ((size_t)n != want)
			rc = -EIO;
		else
			rc = tfs_pwrite_full(to, buf, want, (off_t)off);
		off += want;
	}
	free(buf);
	return rc;
}

/* The disks a snapshot goes to: present, not removed, not failing. */
uint64_t vol_snapshot_disks(struct vol *v)
{
	uint64_t m = 0;
	unsigned n = trk_pool_ndisks(v->pool);

	for (unsigned i = 0; i < n; i++)
		if (!trk_pool_disk_removed(v->pool, i) && !trk_pool_disk_missing(v->pool, i) &&
		    !trk_pool_disk_failing(v->pool, i))
			m |= 1ull << i;
	return m;
}

int vol_snapshot_to(struct vol *v, uint64_t disks, const struct vol_snapshot_opts *opts,
		    struct vol_snapshot_result *out)
{
	struct idx_snapshot_opts io = {0};
	char vpath[PATH_MAX + 32], dir[PATH_MAX], tmp[PATH_MAX];
	char *volfile = NULL;
	size_t vlen = 0;
	struct idx_snap_info info;
	double t0 = now_s();
	int src = -1, rc;
	unsigned first = VOL_MAX_DISKS;

	memset(out, 0, sizeof(*out));
	snprintf(vpath, sizeof(vpath), "%s/%s", v->meta_dir, VOL_VOLFILE_NAME);
	rc = tfs_read_file(vpath, 512 << 10, &volfile, &vlen);
	if (rc < 0) {
		tfs_err("volume %s: snapshot: cannot read %s: %s", v->meta_dir, vpath,
			tfs_strerror(rc));
		return rc;
	}
	io.attach = volfile;
	io.attach_len = vlen;
	if (opts) {
		io.progress = opts->progress;
		io.progress_arg = opts->progress_arg;
	}
	pthread_mutex_lock(&v->snap_mu);
	/* The disk list may change meanwhile (a disk added): work on a copy. */
	char(*paths)[PATH_MAX] = calloc(VOL_MAX_DISKS, PATH_MAX);
	unsigned ndisks;
	if (!paths) {
		pthread_mutex_unlock(&v->snap_mu);
		free(volfile);
		return -ENOMEM;
	}
	pthread_mutex_lock(&v->disks_mu);
	ndisks = v->vf.ndisks;
	for (unsigned i = 0; i < ndisks; i++)
		snprintf(paths[i], PATH_MAX, "%s", v->vf.disks[i].path);
	pthread_mutex_unlock(&v->disks_mu);
	/* Written once, on the first disk that takes it; copied to the rest. */
	for (unsigned i = 0; i < ndisks && src < 0; i++) {
		if (!(disks & (1ull << i)))
			continue;
		const char *disk = paths[i];
		int fd = open_tmp(disk, dir, tmp);
		if (fd < 0) {
			tfs_warn("volume %s: snapshot: cannot write on disk %u (%s): %s",
				 v->meta_dir, i, disk, tfs_strerror(fd));
			out->failed++;
			continue;
		}
		rc = idx_snapshot_write(v->idx, fd, &io, &info);
		if (rc == 0)
			rc = publish(fd, dir, tmp, info.seq);
		if (rc < 0) {
			close(fd);
			unlink(tmp);
			out->failed++;
			tfs_warn("volume %s: snapshot: writing it on disk %u (%s) failed: %s",
				 v->meta_dir, i, disk, tfs_strerror(rc));
			if (rc == -EBUSY || rc == -ENOMEM || rc == -EIO || rc == -EROFS)
				break; /* the index's trouble, not this disk's */
			continue;
		}
		prune(dir);
		src = fd;
		first = i;
		out->written++;
	}
	if (src < 0) {
		pthread_mutex_unlock(&v->snap_mu);
		free(paths);
		free(volfile);
		if (rc == 0)
			rc = -ENODEV;
		tfs_err("volume %s: no snapshot of the index could be written on any disk (%s): "
			"the index has no copy newer than the last snapshot",
			v->meta_dir, tfs_strerror(rc));
		return rc;
	}
	for (unsigned i = first + 1; i < ndisks; i++) {
		if (!(disks & (1ull << i)))
			continue;
		const char *disk = paths[i];
		int fd = open_tmp(disk, dir, tmp);
		rc = fd;
		if (fd >= 0) {
			rc = copy_fd(src, fd, IDX_SNAPSHOT_HEADER + info.body_len);
			if (rc == 0)
				rc = publish(fd, dir, tmp, info.seq);
			close(fd);
			if (rc < 0)
				unlink(tmp);
		}
		if (rc < 0) {
			out->failed++;
			tfs_warn("volume %s: snapshot: copying it to disk %u (%s) failed: %s",
				 v->meta_dir, i, disk, tfs_strerror(rc));
			continue;
		}
		prune(dir);
		out->written++;
	}
	close(src);
	free(paths);
	v->snap_seq = info.seq;
	v->snap_last_ns = info.time_ns;
	pthread_mutex_unlock(&v->snap_mu);
	free(volfile);
	out->seq = info.seq;
	out->bytes = IDX_SNAPSHOT_HEADER + info.body_len;
	out->records = info.records;
	out->seconds = now_s() - t0;
	out->max_slice_ms = (double)info.max_slice_ns / 1e6;
	out->end_commit_ms = (double)info.end_commit_ns / 1e6;
	tfs_info("volume %s: index snapshot at commit %" PRIu64 " (%" PRIu64
		 " bytes, %.3f s; the index was held %.2f ms at most by a slice, %.2f ms by "
		 "its final commit) written to %u disk%s%s",
		 v->meta_dir, out->seq, out->bytes, out->seconds, out->max_slice_ms,
		 out->end_commit_ms, out->written, out->written == 1 ? "" : "s",
		 out->failed ? " (some disks failed: see above)" : "");
	return 0;
}

int vol_snapshot(struct vol *v, const struct vol_snapshot_opts *opts,
		 struct vol_snapshot_result *out)
{
	return vol_snapshot_to(v, vol_snapshot_disks(v), opts, out);
}

/* ---- the snapshot thread ------------------------------------------------------ */

/* How often the thread wakes to retry a failed mirror, at most. */
#define MIRROR_RETRY_S 60u

static void *snapper_main(void *arg)
{
	struct vol *v = arg;
	bool periodic = v->snap_interval_s != VOL_SNAPSHOT_NEVER;
	unsigned wake_s = periodic && v->snap_interval_s < MIRROR_RETRY_S ? v->snap_interval_s
									  : MIRROR_RETRY_S;
	struct timespec due, now, last;

	clock_gettime(CLOCK_MONOTONIC, &last);
	pthread_mutex_lock(&v->snapper_mu);
	while (!v->snapper_stop) {
		clock_gettime(CLOCK_MONOTONIC, &due);
		due.tv_sec += wake_s;
		while (!v->snapper_stop && !v->snapper_kick &&
		       pthread_cond_timedwait(&v->snapper_cond, &v->snapper_mu, &due) == 0)
			;
		if (v->snapper_stop)
			break;
		/* The volume file changed (a disk added, a mirror set): the
		 * snapshots on the disks must carry the new one soon. */
		bool kicked = v->snapper_kick;
		v->snapper_kick = false;
		pthread_mutex_unlock(&v->snapper_mu);
		vol_mirror_check(v);
		clock_gettime(CLOCK_MONOTONIC, &now);
		bool due_now = periodic && now.tv_sec - last.tv_sec >= (time_t)v->snap_interval_s;
		if (periodic && (kicked || (due_now && idx_env_seq(v->idx) != v->snap_seq))) {
			struct vol_snapshot_result r;
			(void)vol_snapshot(v, NULL, &r); /* it logs what went wrong */
		}
		if (due_now || kicked)
			last = now;
		pthread_mutex_lock(&v->snapper_mu);
	}
	pthread_mutex_unlock(&v->snapper_mu);
	return NULL;
}

void vol_snapshot_kick(struct vol *v)
{
	if (!v->snapper_inited)
		return;
	pthread_mutex_lock(&v->snapper_mu);
	v->snapper_kick = true;
	pthread_cond_signal(&v->snapper_cond);
	pthread_mutex_unlock(&v->snapper_mu);
}

int vol_snapper_start(struct vol *v, unsigned interval_s)
{
	pthread_condattr_t ca;
	int rc;

	pthread_mutex_init(&v->snapper_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&v->snapper_cond, &ca);
	pthread_condattr_destroy(&ca);
	v->snapper_inited = true;
	v->snap_interval_s = interval_s;
	/* Also with no periodic snapshots: it retries a failed mirror. */
	rc = -pthread_create(&v->snapper, NULL, snapper_main, v);
	if (rc < 0) {
		tfs_warn("volume %s: no snapshot thread (%s): snapshots are taken at unmount and "
			 "on demand only",
			 v->meta_dir, tfs_strerror(rc));
		return rc;
	}
	v->snapper_running = true;
	return 0;
}

void vol_snapper_stop(struct vol *v)
{
	if (!v->snapper_inited)
		return;
	if (v->snapper_running) {
		pthread_mutex_lock(&v->snapper_mu);
		v->snapper_stop = true;
		pthread_cond_signal(&v->snapper_cond);
		pthread_mutex_unlock(&v->snapper_mu);
		pthread_join(v->snapper, NULL);
		v->snapper_running = false;
	}
	pthread_cond_destroy(&v->snapper_cond);
	pthread_mutex_destroy(&v->snapper_mu);
	v->snapper_inited = false;
}
