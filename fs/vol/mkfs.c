/* vol_mkfs: create a volume — format each disk directory, create the index
 * with its volume record and root directory, and write volume.conf last (a
 * metadata directory without volume.conf is not a volume). */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/log.h"
#include "fs/vol/vol_int.h"

/* @return 1 if @p path is a directory with entries, 0 if empty, -errno. */
static int dir_nonempty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int found = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			found = 1;
			break;
		}
	}
	closedir(d);
	return found;
}

static int check_chunk_size(uint32_t cs)
{
	if (cs < TRK_MIN_CHUNK_SIZE || cs > TRK_MAX_CHUNK_SIZE || (cs & (cs - 1))) {
		tfs_err("mkfs: chunk size %u is not a power of two between %u and %u bytes", cs,
			TRK_MIN_CHUNK_SIZE, TRK_MAX_CHUNK_SIZE);
		return -EINVAL;
	}
	return 0;
}

/* Resolve the disk directories (creating a missing last component) and refuse
 * duplicates, which would give one directory two identities. */
static int resolve_disks(const struct vol_mkfs_opts *o, struct vol_volfile *vf)
{
	for (unsigned i = 0; i < o->ndisks; i++) {
		const char *d = o->disks[i];
		if (!d || !*d) {
			tfs_err("mkfs: disk %u has an empty path", i + 1);
			return -EINVAL;
		}
		if (mkdir(d, 0755) < 0 && errno != EEXIST) {
			int rc = -errno;
			tfs_err("mkfs: cannot create disk directory %s: %s", d, tfs_strerror(rc));
			return rc;
		}
		if (!realpath(d, vf->disks[i].path)) {
			int rc = -errno;
			tfs_err("mkfs: disk directory %s: %s", d, tfs_strerror(rc));
			return rc;
		}
		struct stat st;
		if (stat(vf->disks[i].path, &st) < 0 || !S_ISDIR(st.st_mode)) {
			tfs_err("mkfs: disk %s is not a directory", d);
			return -ENOTDIR;
		}
		for (unsigned j = 0; j < i; j++) {
			if (strcmp(vf->disks[j].path, vf->disks[i].path) == 0) {
				tfs_err("mkfs: disk %s is listed twice (as %s and %s)",
					vf->disks[i].path, o->disks[j], d);
				return -EINVAL;
			}
		}
	}
	vf->ndisks = o->ndisks;
	return 0;
}

/* With force, remove only the files a previous volume left in the metadata
 * directory (never anything else a user may keep there). */
static void clear_old_meta(const char *meta)
{
	static const char *const names[] = {VOL_VOLFILE_NAME, VOL_INDEX_DIR "/data.mdb",
					    VOL_INDEX_DIR "/lock.mdb"};
	char path[PATH_MAX + 64];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", meta, names[i]);
		if (unlink(path) < 0 && errno != ENOENT)
			tfs_warn("mkfs: could not remove old %s: %s", path, strerror(errno));
	}
}

/* True if the directory @p meta would sit directly inside one of the disks
 * (the usual DISK1/meta layout): an empty meta directory there must not make
 * that disk look used while it is formatted. */
static bool meta_in_disk(const char *meta, const struct vol_volfile *vf)
{
	char copy[PATH_MAX], parent[PATH_MAX];

	snprintf(copy, sizeof(copy), "%s", meta);
	if (!realpath(dirname(copy), parent))
		return false;
	for (unsigned i = 0; i < vf->ndisks; i++)
		if (strcmp(parent, vf->disks[i].path) == 0)
			return true;
	return false;
}

/*
 * Check the mirror directory @p mirror (absolute): missing, or empty, or
 * with @p force a previous volume's. *@p recreate: it is an empty directory
 * right inside a disk, taken away until the disks are formatted.
 */
static int check_mirror(const char *mirror, const char *meta, const struct vol_volfile *vf,
			bool force, bool *recreate)
{
	char real[PATH_MAX], mreal[PATH_MAX];
	struct stat st;
	int rc;

	*recreate = true;
	if (mirror[0] != '/' || strlen(mirror) >= sizeof(vf->meta_mirror)) {
		tfs_err("mkfs: the metadata mirror %s must be an absolute path", mirror);
		return -EINVAL;
	}
	if (!strcmp(mirror, meta) ||
	    (realpath(mirror, real) && realpath(meta, mreal) && !strcmp(real, mreal))) {
		tfs_err("mkfs: the metadata mirror %s is the metadata directory itself: give "
			"another directory, ideally on another device",
			mirror);
		return -EINVAL;
	}
	for (unsigned i = 0; i < vf->ndisks; i++) {
		if (!strcmp(mirror, vf->disks[i].path) ||
		    (realpath(mirror, real) && !strcmp(real, vf->disks[i].path))) {
			tfs_err("mkfs: the metadata mirror %s is a disk directory: give a "
				"directory of its own (it may be inside a disk)",
				mirror);
			return -EINVAL;
		}
	}
	if (stat(mirror, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode)) {
		tfs_err("mkfs: the metadata mirror %s is not a directory", mirror);
		return -ENOTDIR;
	}
	rc = dir_nonempty(mirror);
	if (rc < 0) {
		tfs_err("mkfs: cannot read %s: %s", mirror, tfs_strerror(rc));
		return rc;
	}
	if (rc > 0 && !force) {
		tfs_err("mkfs: the metadata mirror %s is not empty (use --force to reuse it)",
			mirror);
		return -ENOTEMPTY;
	}
	if (rc > 0)
		clear_old_meta(mirror);
	else if (!meta_in_disk(mirror, vf) || rmdir(mirror) != 0)
		*recreate = false;
	return 0;
}

static int make_index(const char *meta, const struct vol_volfile *vf, const char *mirror)
{
	char path[PATH_MAX + 16];
	struct idx_env *env;
	struct idx_txn *txn;
	struct timespec now;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", meta, VOL_INDEX_DIR);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		tfs_err("mkfs: cannot create %s: %s", path, tfs_strerror(rc));
		return rc;
	}
	rc = idx_env_open(path, IDX_CREATE, &env);
	if (rc < 0) {
		tfs_err("mkfs: cannot create the index in %s: %s", path, tfs_strerror(rc));
		return rc;
	}
	rc = idx_txn_begin(env, &txn);
	if (rc < 0)
		goto out_close_env;

	struct idx_volume rec = {
		.uuid = vf->uuid,
		.chunk_size = vf->chunk_size,
		.next_ino = VOL_ROOT_INO + 1,
		.generation = 1,
		.clean = true,
	};
	snprintf(rec.label, sizeof(rec.label), "%s", vf->label);
	rc = idx_volume_put(txn, &rec);
	if (rc == 0)
		rc = idx_ndisks_put(txn, vf->ndisks);
	if (rc < 0)
		goto out_abort_txn;

	vol_now(&now);
	struct idx_inode root = {
		.ino = VOL_ROOT_INO,
		.mode = S_IFDIR | 0755,
		.uid = (uint32_t)getuid(),
		.gid = (uint32_t)getgid(),
		.nlink = 2,
		.generation = 1,
		.atime = now,
		.mtime = now,
		.ctime = now,
		.btime = now,
		.parent = VOL_ROOT_INO,
		.disk = IDX_NO_DISK,
	};
	rc = idx_inode_put(txn, &root);
	if (rc < 0)
		goto out_abort_txn;
	rc = idx_txn_commit(txn);
	if (rc < 0)
		goto out_close_env;
	if (mirror) {
		/* An exact copy of what is committed, followed until the close. */
		char mdir[PATH_MAX + 16];
		snprintf(mdir, sizeof(mdir), "%s/%s", mirror, VOL_INDEX_DIR);
		rc = idx_mirror_resync(env, mdir);
		if (rc < 0) {
			tfs_err("mkfs: cannot write the metadata mirror's index in %s: %s", mdir,
				tfs_strerror(rc));
			idx_env_close(env, false);
			return rc;
		}
	}
	rc = idx_env_close(env, true);
	if (rc < 0)
		tfs_err("mkfs: cannot write the index in %s: %s", path, tfs_strerror(rc));
	return rc;

out_abort_txn:
	idx_txn_abort(txn);
out_close_env:
	tfs_err("mkfs: cannot initialize the index in %s: %s", path, tfs_strerror(rc));
	idx_env_close(env, false);
	return rc;
}

int vol_mkfs(const struct vol_mkfs_opts *o, struct tfs_uuid *uuid_out)
{
	struct vol_volfile *vf;
	struct stat st;
	bool recreate_meta = false;
	int rc;

	if (!o || !o->meta_dir || !*o->meta_dir) {
		tfs_err("mkfs: no metadata directory given");
		return -EINVAL;
	}
	if (!o->disks || o->ndisks == 0 || o->ndisks > VOL_MAX_DISKS) {
		tfs_err("mkfs: a volume needs 1 to %d disks (%u given)", VOL_MAX_DISKS, o->ndisks);
		return -EINVAL;
	}
	uint32_t cs = o->chunk_size ? o->chunk_size : TRK_DEFAULT_CHUNK_SIZE;
	rc = check_chunk_size(cs);
	if (rc < 0)
		return rc;
	if (o->label && (strlen(o->label) > IDX_LABEL_MAX || strchr(o->label, '\n'))) {
		tfs_err("mkfs: the label must be at most %d bytes on one line", IDX_LABEL_MAX);
		return -EINVAL;
	}

	vf = calloc(1, sizeof(*vf));
	if (!vf)
		return -ENOMEM;
	vf->chunk_size = cs;
	vf->max_track_bytes = o->max_track_bytes ? o->max_track_bytes : TRK_DEFAULT_TRACK_SIZE;
	if (vf->max_track_bytes < cs) {
		tfs_err("mkfs: the track size %llu is smaller than one chunk",
			(unsigned long long)vf->max_track_bytes);
		rc = -EINVAL;
		goto out_free;
	}
	snprintf(vf->label, sizeof(vf->label), "%s", o->label ? o->label : "");
	enum trk_placement pl = TRK_PLACE_MFS;
	if (o->placement && trk_placement_parse(o->placement, &pl) < 0) {
		tfs_err("mkfs: unknown placement policy \"%s\": use mfs, lus, ff or rand",
			o->placement);
		rc = -EINVAL;
		goto out_free;
	}
	vf->placement = (unsigned)pl;
	vf->reserve = o->reserve_set ? o->reserve : VOL_RESERVE_AUTO;
	rc = resolve_disks(o, vf);
	if (rc < 0)
		goto out_free;
	bool recreate_mirror = false;
	if (o->meta_mirror) {
		rc = check_mirror(o->meta_mirror, o->meta_dir, vf, o->force, &recreate_mirror);
		if (rc < 0)
			goto out_free;
	}

	if (stat(o->meta_dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			tfs_err("mkfs: metadata directory %s is not a directory", o->meta_dir);
			rc = -ENOTDIR;
			goto out_free;
		}
		rc = dir_nonempty(o->meta_dir);
		if (rc < 0) {
			tfs_err("mkfs: cannot read %s: %s", o->meta_dir, tfs_strerror(rc));
			goto out_free;
		}
		if (rc > 0 && !o->force) {
			tfs_err("mkfs: metadata directory %s is not empty (use --force to reuse "
				"it)",
				o->meta_dir);
			rc = -ENOTEMPTY;
			goto out_free;
		}
		if (rc > 0) {
			clear_old_meta(o->meta_dir);
		} else if (meta_in_disk(o->meta_dir, vf)) {
			if (rmdir(o->meta_dir) == 0)
				recreate_meta = true;
		}
	} else {
		recreate_meta = true;
	}

	rc = tfs_uuid_generate(&vf->uuid);
	for (unsigned i = 0; rc == 0 && i < vf->ndisks; i++)
		rc = tfs_uuid_generate(&vf->disks[i].uuid);
	if (rc < 0) {
		tfs_err("mkfs: cannot generate UUIDs: %s", tfs_strerror(rc));
		goto out_free;
	}

	for (unsigned i = 0; i < vf->ndisks; i++) {
		rc = trk_disk_format(vf->disks[i].path, &vf->uuid, &vf->disks[i].uuid, (uint16_t)i,
				     cs, o->force);
		if (rc < 0) {
			tfs_err("mkfs: cannot format disk %s: %s", vf->disks[i].path,
				tfs_strerror(rc));
			goto out_free;
		}
	}

	if (recreate_meta && mkdir(o->meta_dir, 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		tfs_err("mkfs: cannot create metadata directory %s: %s", o->meta_dir,
			tfs_strerror(rc));
		goto out_free;
	}
	if (o->meta_mirror && recreate_mirror && mkdir(o->meta_mirror, 0755) < 0 &&
	    errno != EEXIST) {
		rc = -errno;
		tfs_err("mkfs: cannot create the metadata mirror %s: %s", o->meta_mirror,
			tfs_strerror(rc));
		goto out_free;
	}
	rc = make_index(o->meta_dir, vf, o->meta_mirror);
	if (rc < 0)
		goto out_free;
	if (o->meta_mirror) {
		/* The mirror's own volume file first, where a failure fails mkfs
		 * (vol_volfile_write only warns about the mirror's copy). */
		snprintf(vf->meta_mirror, sizeof(vf->meta_mirror), "%s", o->meta_mirror);
		rc = vol_volfile_write(o->meta_mirror, vf);
		if (rc < 0)
			goto out_free;
	}
	rc = vol_volfile_write(o->meta_dir, vf);
	if (rc < 0)
		goto out_free;
	if (uuid_out)
		*uuid_out = vf->uuid;
out_free:
	free(vf);
	return rc;
}
