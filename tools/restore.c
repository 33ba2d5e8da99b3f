/* Restoring a lost or damaged metadata directory (fsck.trackfs --restore-meta,
 * trackfs meta restore): the disks are found by their identity files, the
 * newest valid index snapshot on them (or the metadata mirror, if newer) is
 * chosen, METADIR is rebuilt from it (the volume file comes with the
 * snapshot; the disk paths are the ones given), a damaged METADIR is kept
 * aside, never deleted, and the restored volume is reconciled with its
 * tracks (fs/vol/reconcile.c): files whose chunks changed since the snapshot
 * go to /lost+found with the changed ranges as holes. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/base/fileio.h"
#include "core/base/log.h"
#include "core/base/progress.h"
#include "core/pool.h"
#include "fs/vol/vol.h"
#include "fs/vol/volfile.h"
#include "index/index.h"
#include "tools/fsck.h"
#include "tools/meta.h"

enum cand_kind { CAND_SNAPSHOT, CAND_MIRROR };

struct cand {
	enum cand_kind kind;
	char path[PATH_MAX]; /* the snapshot file, or the mirror directory */
	uint64_t seq, time_ns;
};

struct restore {
	const char *prog;
	const char *meta; /* METADIR as given */
	const char *disks[VOL_MAX_DISKS];
	struct trk_disk_identity ids[VOL_MAX_DISKS];
	unsigned ndisks;
	const char *from;   /* --from */
	const char *mirror; /* --mirror */
	bool force;
	bool check_all; /* --check-all: read every chunk, even in tracks not written since */
	bool have_uuid;
	/* tracks written since the copy was taken, a bit each per disk slot */
	uint8_t *written[VOL_MAX_DISKS];
	uint32_t nwritten[VOL_MAX_DISKS];
	struct tfs_uuid uuid;
	struct cand best;
	bool have_best;
	/* the volume file best (a snapshot) carries, read once */
	char *attach;
	size_t attach_len;
};

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
		"Usage: %s [--disk PATH]... [--from SNAPSHOT|MIRROR] [--mirror DIR] [--force] "
		"METADIR\n"
		"Rebuild the metadata directory METADIR of a volume from the newest valid index\n"
		"snapshot on its data disks (or its metadata mirror, when that is newer), then\n"
		"check every file's chunks against their checksums: a file whose chunks changed\n"
		"since the snapshot is moved to /lost+found, the changed ranges as holes, and\n"
		"named here. Changes made after the snapshot are not in it.\n"
		"  --disk PATH   a data disk of the volume, as mkfs.trackfs took them (repeat)\n"
		"  --from PATH   restore from this snapshot file or mirror directory\n"
		"  --mirror DIR  also consider the metadata mirror in DIR\n"
		"  --force       replace a METADIR whose index is still readable\n"
		"  --check-all   read every chunk, also in track files not written since the\n"
		"                copy was taken (by default those are trusted: reads still\n"
		"                verify every chunk's checksum)\n"
		"Exit: 0 all restored, 1 restored with files moved to /lost+found, 8 not\n"
		"restored, %d usage error.\n",
		prog, strncmp(prog, "fsck", 4) == 0 ? 16 : 2);
}

static void fmt_time(uint64_t ns, char *out, size_t size)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, size, "%Y-%m-%d %H:%M:%S", &tm);
}

static void consider(struct restore *r, const struct cand *c)
{
	/* Newest commit wins; at a tie the checksummed snapshot. */
	if (!r->have_best || c->seq > r->best.seq ||
	    (c->seq == r->best.seq && c->kind == CAND_SNAPSHOT && r->best.kind == CAND_MIRROR)) {
		r->best = *c;
		r->have_best = true;
	}
}

/*
 * Open the index in @p idir read-only and read all of it, in a child
 * process: LMDB follows page numbers it finds, and a damaged file can send it
 * past the end of its map (SIGBUS). @return 0 (reads whole), -EIO (damaged,
 * @p why says how), -ENOENT (no index there).
 */
static int probe_index(const char *idir, char *why, size_t whylen)
{
	int pfd[2];
	pid_t pid;
	int status;

	if (pipe(pfd) != 0)
		return -errno;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (pid == 0) {
		struct idx_env *env;
		char msg[256] = "";
		int rc;

		close(pfd[0]);
		tfs_log_set_level(TFS_LOG_ERR - 1); /* the parent says what matters */
		rc = idx_env_open(idir, IDX_RDONLY, &env);
		if (rc == 0) {
			rc = idx_env_walk(env, msg, sizeof(msg));
			idx_env_close(env, false);
		} else {
			snprintf(msg, sizeof(msg), "it does not open: %s", tfs_strerror(rc));
		}
		if (write(pfd[1], msg, strlen(msg)) < 0)
			_exit(3);
		_exit(rc == 0 ? 0 : rc == -ENOENT ? 2 : 1);
	}
	close(pfd[1]);
	ssize_t n = read(pfd[0], why, whylen - 1);
	why[n > 0 ? n : 0] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status)) {
		snprintf(why, whylen, "reading it crashed (%s): its pages are garbage",
			 strsignal(WTERMSIG(status)));
		return -EIO;
	}
	if (WEXITSTATUS(status) == 0)
		return 0;
	if (!why[0])
		snprintf(why, whylen, "it cannot be read");
	return WEXITSTATUS(status) == 2 ? -ENOENT : -EIO;
}

/* A mirror directory (DIR/volume.conf, DIR/index): usable if its index reads whole. */
static int mirror_cand(struct restore *r, const char *dir, struct cand *out, bool loud)
{
	char idir[PATH_MAX + 16], why[256];
	struct idx_env *env;
	struct idx_txn *txn;
	struct idx_volume vol;
	int rc;

	snprintf(idir, sizeof(idir), "%s/%s", dir, VOL_INDEX_DIR);
	(void)loud;
	rc = probe_index(idir, why, sizeof(why));
	if (rc < 0) {
		printf("  mirror %s: not usable (%s)\n", dir, why);
		return rc;
	}
	rc = idx_env_open(idir, IDX_RDONLY, &env);
	if (rc < 0) {
		printf("  mirror %s: not usable (%s)\n", dir, tfs_strerror(rc));
		return rc;
	}
	rc = idx_txn_begin(env, &txn);
	if (rc == 0) {
		rc = idx_volume_get(txn, &vol);
		idx_txn_abort(txn);
	}
	if (rc == 0 && r->have_uuid && !tfs_uuid_equal(&vol.uuid, &r->uuid)) {
		snprintf(why, sizeof(why), "it belongs to another volume");
		rc = -EINVAL;
	}
	if (rc < 0) {
		printf("  mirror %s: not usable (%s)\n", dir, why);
		idx_env_close(env, false);
		return rc;
	}
	memset(out, 0, sizeof(*out));
	out->kind = CAND_MIRROR;
	snprintf(out->path, sizeof(out->path), "%s", dir);
	out->seq = idx_env_seq(env);
	struct stat st;
	snprintf(idir, sizeof(idir), "%s/%s/data.mdb", dir, VOL_INDEX_DIR);
	if (stat(idir, &st) == 0)
		out->time_ns =
			(uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
	idx_env_close(env, false);
	printf("  mirror %s: commit %" PRIu64 "\n", dir, out->seq);
	return 0;
}

static int snapshot_cand(struct restore *r, const char *file, struct cand *out)
{
	struct idx_snap_info info;
	char why[256];
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0) {
		rc = -errno;
		printf("  snapshot %s: cannot open it: %s\n", file, tfs_strerror(rc));
		return rc;
	}
	rc = idx_snapshot_verify(fd, &info, NULL, why, sizeof(why));
	close(fd);
	if (rc == 0 && r->have_uuid && !tfs_uuid_equal(&info.uuid, &r->uuid)) {
		snprintf(why, sizeof(why), "it belongs to another volume");
		rc = -EINVAL;
	}
	if (rc < 0) {
		printf("  snapshot %s: not usable (%s)\n", file, why);
		return rc;
	}
	memset(out, 0, sizeof(*out));
	out->kind = CAND_SNAPSHOT;
	snprintf(out->path, sizeof(out->path), "%s", file);
	out->seq = info.seq;
	out->time_ns = info.time_ns;
	return 0;
}

/*
 * The volume file the chosen snapshot carries, read once (it was checked
 * whole when it was chosen). @return 0, or -errno with a message.
 */
static int best_attachment(struct restore *r)
{
	char why[256];
	int fd, rc;

	if (r->attach)
		return 0;
	fd = open(r->best.path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = idx_snapshot_attachment(fd, (void **)&r->attach, &r->attach_len, why, sizeof(why));
	close(fd);
	if (rc == 0 && !r->attach) {
		snprintf(why, sizeof(why), "it carries no volume file");
		rc = -EINVAL;
	}
	if (rc < 0)
		fprintf(stderr, "%s: snapshot %s: %s\n", r->prog, r->best.path, why);
	return rc;
}

/* The meta_mirror line of the chosen snapshot's volume file. */
static int snapshot_mirror(struct restore *r, char *out, size_t size)
{
	if (best_attachment(r) < 0)
		return -ENOENT;
	const char *p = strstr(r->attach, "\nmeta_mirror = ");
	if (!p)
		return -ENOENT;
	p += strlen("\nmeta_mirror = ");
	size_t n = strcspn(p, "\n");
	if (!n || n >= size)
		return -ENOENT;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* Every snapshot on every disk, the mirrors named, or just --from. */
static int find_candidates(struct restore *r)
{
	struct cand c;
	struct stat st;

	if (r->from) {
		if (stat(r->from, &st) != 0) {
			fprintf(stderr, "%s: %s: %s\n", r->prog, r->from, strerror(errno));
			return -errno;
		}
		int rc = S_ISDIR(st.st_mode) ? mirror_cand(r, r->from, &c, true)
					     : snapshot_cand(r, r->from, &c);
		if (rc == 0)
			consider(r, &c);
		return rc;
	}
	for (unsigned i = 0; i < r->ndisks; i++) {
		struct vol_snapshot_entry *v;
		size_t n;
		int rc = vol_snapshot_list(r->disks[i], true, &v, &n);
		if (rc < 0) {
			printf("  disk %s: cannot list its snapshots: %s\n", r->disks[i],
			       tfs_strerror(rc));
			continue;
		}
		if (!n)
			printf("  disk %s: no snapshots\n", r->disks[i]);
		for (size_t j = 0; j < n; j++) {
			char when[32];
			if (v[j].rc < 0) {
				printf("  snapshot %s: not usable (%s)\n", v[j].path, v[j].why);
				continue;
			}
			if (r->have_uuid && !tfs_uuid_equal(&v[j].uuid, &r->uuid)) {
				printf("  snapshot %s: not usable (it belongs to another volume)\n",
				       v[j].path);
				continue;
			}
			fmt_time(v[j].time_ns, when, sizeof(when));
			printf("  snapshot %s: commit %" PRIu64 ", taken %s\n", v[j].path, v[j].seq,
			       when);
			c = (struct cand){
				.kind = CAND_SNAPSHOT, .seq = v[j].seq, .time_ns = v[j].time_ns};
			snprintf(c.path, sizeof(c.path), "%s", v[j].path);
			consider(r, &c);
		}
		free(v);
	}
	if (r->mirror && mirror_cand(r, r->mirror, &c, true) == 0)
		consider(r, &c);
	/* The mirror METADIR's own volume file names (the index may be damaged
	 * while the volume file is not), and the one the newest snapshot's
	 * volume file names. */
	char named[PATH_MAX];
	struct vol_volfile *vf = calloc(1, sizeof(*vf));
	struct stat vst;
	char vpath[PATH_MAX + 32];
	snprintf(vpath, sizeof(vpath), "%s/%s", r->meta, VOL_VOLFILE_NAME);
	if (vf && stat(vpath, &vst) == 0 && vol_volfile_read(r->meta, vf) == 0 &&
	    vf->meta_mirror[0] && (!r->mirror || strcmp(r->mirror, vf->meta_mirror) != 0) &&
	    mirror_cand(r, vf->meta_mirror, &c, false) == 0)
		consider(r, &c);
	free(vf);
	if (r->have_best && r->best.kind == CAND_SNAPSHOT &&
	    snapshot_mirror(r, named, sizeof(named)) == 0 &&
	    (!r->mirror || strcmp(r->mirror, named) != 0) && mirror_cand(r, named, &c, false) == 0)
		consider(r, &c);
	return 0;
}

/* The volume file the chosen copy carries, written into @p dir. */
static int write_volfile(struct restore *r, const char *dir)
{
	char path[PATH_MAX + 32];
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, VOL_VOLFILE_NAME);
	if (r->best.kind == CAND_MIRROR) {
		char from[PATH_MAX + 32], *text;
		size_t len;
		snprintf(from, sizeof(from), "%s/%s", r->best.path, VOL_VOLFILE_NAME);
		rc = tfs_read_file(from, 1 << 20, &text, &len);
		if (rc < 0) {
			fprintf(stderr, "%s: cannot read %s: %s\n", r->prog, from,
				tfs_strerror(rc));
			return rc;
		}
		rc = tfs_write_file_atomic(path, text, len);
		free(text);
		return rc;
	}
	rc = best_attachment(r);
	return rc < 0 ? rc : tfs_write_file_atomic(path, r->attach, r->attach_len);
}

/* Point the restored volume file at the disks as given (matched by disk UUID). */
static int fix_disk_paths(struct restore *r, const char *dir)
{
	struct vol_volfile *vf = calloc(1, sizeof(*vf));
	bool used[VOL_MAX_DISKS] = {false};
	int rc;

	if (!vf)
		return -ENOMEM;
	rc = vol_volfile_read(dir, vf);
	if (rc < 0)
		goto out;
	for (unsigned s = 0; s < vf->ndisks; s++) {
		if (vf->disks[s].removed)
			continue;
		unsigned i;
		for (i = 0; i < r->ndisks; i++)
			if (tfs_uuid_equal(&r->ids[i].disk, &vf->disks[s].uuid))
				break;
		if (i < r->ndisks) {
			used[i] = true;
			if (strcmp(vf->disks[s].path, r->disks[i]) != 0)
				printf("  disk %u: %s (was %s)\n", s, r->disks[i],
				       vf->disks[s].path);
			snprintf(vf->disks[s].path, sizeof(vf->disks[s].path), "%s", r->disks[i]);
			continue;
		}
		struct trk_disk_identity id;
		char why[128];
		if (trk_disk_identify(vf->disks[s].path, &id, why, sizeof(why)) == 0 &&
		    tfs_uuid_equal(&id.disk, &vf->disks[s].uuid)) {
			printf("  disk %u: %s (not given, found where the volume file says)\n", s,
			       vf->disks[s].path);
			continue;
		}
		printf("  disk %u: MISSING (not given, and not at %s): its files read as missing "
		       "until it is back; they were not checked\n",
		       s, vf->disks[s].path);
	}
	for (unsigned i = 0; i < r->ndisks; i++)
		if (!used[i])
			printf("  disk %s: not in the snapshot's volume file (added after it?): "
			       "its "
			       "data is not in the restored index; it is left out\n",
			       r->disks[i]);
	rc = vol_volfile_write(dir, vf);
out:
	free(vf);
	return rc;
}

static void progress_cb(void *arg, uint64_t done, uint64_t total)
{
	struct tfs_progress *p = arg;

	p->total = total;
	tfs_progress_update(p, done);
}

/* Build the index in @p dir/index from the chosen copy, marked unclean. */
static int build_index(struct restore *r, const char *dir)
{
	char idir[PATH_MAX + 16], why[256];
	struct idx_env *env;
	int rc;

	snprintf(idir, sizeof(idir), "%s/%s", dir, VOL_INDEX_DIR);
	if (mkdir(idir, 0755) != 0)
		return -errno;
	if (r->best.kind == CAND_MIRROR) {
		char mdir[PATH_MAX + 16];
		snprintf(mdir, sizeof(mdir), "%s/%s", r->best.path, VOL_INDEX_DIR);
		rc = idx_env_open(mdir, IDX_RDONLY, &env);
		if (rc < 0)
			return rc;
		rc = idx_env_copy(env, idir);
		idx_env_close(env, false);
	} else {
		struct tfs_progress p;
		struct idx_snapshot_opts o = {.progress = progress_cb, .progress_arg = &p};
		int fd = open(r->best.path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		tfs_progress_init(&p, "restoring the index", 0);
		rc = idx_snapshot_restore(fd, idir, &o, why, sizeof(why));
		tfs_progress_fini(&p);
		close(fd);
		if (rc < 0)
			fprintf(stderr, "%s: restoring %s: %s\n", r->prog, r->best.path, why);
	}
	if (rc < 0)
		return rc;
	/* Its free lists must be rebuilt from it at the open that reconciles. */
	rc = idx_env_open(idir, 0, &env);
	if (rc == 0) {
		rc = idx_mark_unclean(env);
		int crc = idx_env_close(env, true);
		if (rc == 0)
			rc = crc;
	}
	return rc;
}

/* An existing METADIR: refused while its index reads whole (unless --force),
 * else renamed aside. */
static int set_aside(struct restore *r, char *aside, size_t size)
{
	char idir[PATH_MAX + 16], why[256] = "";
	struct stat st;
	int rc;

	aside[0] = '\0';
	if (stat(r->meta, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	snprintf(idir, sizeof(idir), "%s/%s", r->meta, VOL_INDEX_DIR);
	rc = probe_index(idir, why, sizeof(why));
	if (rc == 0 && !r->force) {
		fprintf(stderr,
			"%s: %s holds an index that reads whole: it is not lost. Check it with "
			"fsck.trackfs %s; to replace it with the snapshot anyway (changes since "
			"the snapshot are lost) add --force\n",
			r->prog, r->meta, r->meta);
		return -EEXIST;
	}
	if (rc != 0)
		printf("The index in %s is damaged: %s\n", r->meta, why);
	time_t now = time(NULL);
	struct tm tm;
	char stamp[32];
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	snprintf(aside, size, "%s.damaged-%s", r->meta, stamp);
	for (int n = 2; stat(aside, &st) == 0 && n < 1000; n++)
		snprintf(aside, size, "%s.damaged-%s-%d", r->meta, stamp, n);
	if (rename(r->meta, aside) != 0) {
		rc = -errno;
		fprintf(stderr, "%s: cannot move %s aside to %s: %s\n", r->prog, r->meta, aside,
			strerror(errno));
		return rc;
	}
	printf("Kept the old metadata directory as %s\n", aside);
	return 0;
}

struct report_ctx {
	unsigned shown;
};

static int damaged_cb(void *arg, const struct vol_reconcile_file *f)
{
	struct report_ctx *c = arg;

	c->shown++;
	printf("  %s -> %s: %" PRIu64 " of %" PRIu64 " bytes changed since the snapshot "
	       "(holes now)\n",
	       f->path[0] ? f->path : "(no name)", f->moved_to, f->bad_bytes, f->size);
	return 0;
}

struct track_scan {
	struct restore *r;
	unsigned slot;
	int64_t since_s; /* mtime at or after this: written since the copy */
};

static int track_cb(void *arg, uint32_t track, const struct stat *st)
{
	struct track_scan *t = arg;
	struct restore *r = t->r;

	if (st->st_mtim.tv_sec < t->since_s)
		return 0;
	if (track >= r->nwritten[t->slot]) {
		uint32_t n = track + 1024;
		uint8_t *nv = realloc(r->written[t->slot], (n + 7) / 8);
		if (!nv)
			return -ENOMEM;
		memset(nv + (r->nwritten[t->slot] + 7) / 8, 0,
		       (n + 7) / 8 - (r->nwritten[t->slot] + 7) / 8);
		r->written[t->slot] = nv;
		r->nwritten[t->slot] = n;
	}
	r->written[t->slot][track / 8] |= (uint8_t)(1u << (track % 8));
	return 0;
}

/*
 * Before the open that rebuilds the free lists (which writes every track):
 * which track files were written since the copy was taken. Two seconds of
 * margin for coarse timestamps. A disk that cannot be listed is checked whole.
 */
static void scan_written(struct restore *r, bool *whole)
{
	struct vol_volfile *vf = calloc(1, sizeof(*vf));

	if (!vf || vol_volfile_read(r->meta, vf) < 0) {
		free(vf);
		for (unsigned i = 0; i < VOL_MAX_DISKS; i++)
			whole[i] = true;
		return;
	}
	for (unsigned i = 0; i < vf->ndisks; i++) {
		struct track_scan t = {.r = r,
				       .slot = i,
				       .since_s = (int64_t)(r->best.time_ns / 1000000000ull) - 2};
		if (vf->disks[i].removed)
			continue;
		if (trk_disk_tracks(vf->disks[i].path, track_cb, &t) < 0)
			whole[i] = true;
	}
	free(vf);
}

struct check_ctx {
	struct restore *r;
	bool whole[VOL_MAX_DISKS];
};

static bool need_check(void *arg, unsigned disk, uint32_t track)
{
	struct check_ctx *c = arg;
	struct restore *r = c->r;

	if (disk >= VOL_MAX_DISKS || c->whole[disk])
		return true;
	return track < r->nwritten[disk] && (r->written[disk][track / 8] & (1u << (track % 8)));
}

static int unverified_cb(void *arg, uint64_t ino, const char *path)
{
	(void)arg;
	printf("  %s (inode %" PRIu64 "): not checked, it has chunks on a missing disk\n",
	       path[0] ? path : "(no name)", ino);
	return 0;
}

static int reconcile(struct restore *r)
{
	struct vol_open_opts oo = {.owner = "fsck.trackfs --restore-meta",
				   .snapshot_s = VOL_SNAPSHOT_NEVER};
	struct vol_reconcile_report rep;
	struct report_ctx ctx = {0};
	struct tfs_progress p;
	char note[160], when[32];
	struct vol *v;
	int rc, crc;

	fmt_time(r->best.time_ns, when, sizeof(when));
	snprintf(note, sizeof(note), "restored from the index %s of %s (commit %" PRIu64 ")",
		 r->best.kind == CAND_MIRROR ? "mirror" : "snapshot", when, r->best.seq);
	struct vol_reconcile_opts o = {.progress = progress_cb,
				       .progress_arg = &p,
				       .damaged = damaged_cb,
				       .unverified = unverified_cb,
				       .arg = &ctx,
				       .note = note};
	struct check_ctx cc = {0};
	cc.r = r;
	if (!r->check_all) {
		scan_written(r, cc.whole);
		o.need_check = need_check;
		o.check_arg = &cc;
	}
	tfs_log_set_level(TFS_LOG_ERR);
	rc = vol_open(r->meta, &oo, &v);
	tfs_log_set_level(TFS_LOG_WARN);
	if (rc < 0) {
		fprintf(stderr, "%s: the restored volume %s does not open: %s\n", r->prog, r->meta,
			tfs_strerror(rc));
		return FSCK_OPERATIONAL;
	}
	printf("Checking every chunk against its checksum:\n");
	tfs_progress_init(&p, "checking chunks", 0);
	rc = vol_reconcile(v, &o, &rep);
	tfs_progress_fini(&p);
	crc = vol_close(v);
	if (rc == 0)
		rc = crc;
	if (rc < 0) {
		fprintf(stderr,
			"%s: checking the restored volume %s failed: %s; run fsck.trackfs "
			"--repair %s\n",
			r->prog, r->meta, tfs_strerror(rc), r->meta);
		return FSCK_OPERATIONAL;
	}
	printf("Restored %s from the %s %s (commit %" PRIu64 ", %s).\n", r->meta,
	       r->best.kind == CAND_MIRROR ? "mirror" : "snapshot", r->best.path, r->best.seq,
	       when);
	printf("  %" PRIu64 " files with data (%" PRIu64 " chunks, %" PRIu64
	       " bytes read and checked): %" PRIu64 " intact, %" PRIu64 " moved to /%s\n",
	       rep.files, rep.chunks, rep.bytes_checked,
	       rep.files - rep.files_damaged - rep.files_unverified, rep.files_damaged,
	       VOL_LOST_FOUND);
	if (rep.chunks_trusted)
		printf("  %" PRIu64
		       " chunks are in track files not written since the %s was taken: "
		       "trusted, not read (--check-all reads them too)\n",
		       rep.chunks_trusted, r->best.kind == CAND_MIRROR ? "mirror" : "snapshot");
	if (rep.files_unverified)
		printf("  %" PRIu64 " files have chunks on a missing disk and were not checked\n",
		       rep.files_unverified);
	if (r->best.kind == CAND_SNAPSHOT)
		printf("Changes made after %s are not in the snapshot: files created since are "
		       "gone, files deleted since are back, renames are undone.\n",
		       when);
	for (unsigned i = 0; i < VOL_MAX_DISKS; i++)
		free(r->written[i]);
	free(r->attach);
	r->attach = NULL;
	return rep.files_damaged ? FSCK_CORRECTED : FSCK_OK;
}

int meta_restore_cli(int argc, char **argv, const char *prog)
{
	static const struct option longopts[] = {{"disk", required_argument, NULL, 'd'},
						 {"from", required_argument, NULL, 'f'},
						 {"mirror", required_argument, NULL, 'm'},
						 {"force", no_argument, NULL, 'F'},
						 {"check-all", no_argument, NULL, 'A'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	struct restore r = {.prog = prog};
	char tmp[PATH_MAX + 32], aside[PATH_MAX + 64], why[256];
	int c, rc;

	tfs_log_set_level(TFS_LOG_WARN);
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:f:m:FAh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (r.ndisks == VOL_MAX_DISKS) {
				fprintf(stderr, "%s: at most %d disks\n", prog, VOL_MAX_DISKS);
				return 16;
			}
			r.disks[r.ndisks++] = optarg;
			break;
		case 'f':
			r.from = optarg;
			break;
		case 'm':
			r.mirror = optarg;
			break;
		case 'F':
			r.force = true;
			break;
		case 'A':
			r.check_all = true;
			break;
		case 'h':
			usage(stdout, prog);
			return FSCK_OK;
		default:
			usage(stderr, prog);
			return 16;
		}
	}
	if (optind + 1 != argc || (!r.ndisks && !r.from)) {
		usage(stderr, prog);
		return 16;
	}
	r.meta = argv[optind];
	setvbuf(stdout, NULL, _IOLBF, 0);

	for (unsigned i = 0; i < r.ndisks; i++) {
		rc = trk_disk_identify(r.disks[i], &r.ids[i], why, sizeof(why));
		if (rc < 0) {
			fprintf(stderr, "%s: %s is not a trackfs data disk: %s\n", prog, r.disks[i],
				why);
			return FSCK_OPERATIONAL;
		}
		if (r.have_uuid && !tfs_uuid_equal(&r.uuid, &r.ids[i].volume)) {
			fprintf(stderr,
				"%s: %s belongs to another volume than %s: give the disks "
				"of one volume\n",
				prog, r.disks[i], r.disks[0]);
			return FSCK_OPERATIONAL;
		}
		r.uuid = r.ids[i].volume;
		r.have_uuid = true;
	}
	printf("Looking for copies of the index:\n");
	rc = find_candidates(&r);
	if (!r.have_best) {
		fprintf(stderr,
			"%s: no usable snapshot or mirror of the index was found%s; the "
			"volume cannot be restored from the disks\n",
			prog, r.from ? " at --from" : " on the disks given");
		return FSCK_OPERATIONAL;
	}
	printf("Using the %s %s (commit %" PRIu64 ")\n",
	       r.best.kind == CAND_MIRROR ? "mirror" : "snapshot", r.best.path, r.best.seq);
	if (set_aside(&r, aside, sizeof(aside)) < 0)
		return FSCK_OPERATIONAL;

	snprintf(tmp, sizeof(tmp), "%s.restoring-%d", r.meta, (int)getpid());
	if (mkdir(tmp, 0755) != 0) {
		fprintf(stderr, "%s: cannot create %s: %s\n", prog, tmp, strerror(errno));
		return FSCK_OPERATIONAL;
	}
	rc = write_volfile(&r, tmp);
	if (rc == 0)
		rc = fix_disk_paths(&r, tmp);
	if (rc == 0)
		rc = build_index(&r, tmp);
	if (rc == 0 && rename(tmp, r.meta) != 0)
		rc = -errno;
	if (rc == 0) {
		char parent[PATH_MAX];
		snprintf(parent, sizeof(parent), "%s", r.meta);
		char *slash = strrchr(parent, '/');
		if (slash && slash != parent)
			*slash = '\0';
		else
			snprintf(parent, sizeof(parent), "%s", slash ? "/" : ".");
		rc = tfs_fsync_dir(parent);
	}
	if (rc < 0) {
		fprintf(stderr, "%s: building %s failed: %s; what was built is left in %s\n", prog,
			r.meta, tfs_strerror(rc), tmp);
		return FSCK_OPERATIONAL;
	}
	return reconcile(&r);
}
