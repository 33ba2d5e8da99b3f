/* The volume's disks as a set that changes: the disk count the index keeps
 * (a disk line deleted from volume.conf by hand is refused at open), adding
 * a disk to an open volume, and changing the placement policy and reserve.
 * volume.conf is rewritten first, then the index, then the pool takes the
 * disk: a crash in between leaves a disk that the next open uses. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/log.h"
#include "fs/vol/vol_int.h"

int vol_disks_check(struct vol *v)
{
	struct idx_txn *txn;
	uint32_t known;
	int rc;

	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		return rc;
	rc = idx_ndisks_get(txn, &known);
	if (rc == -ENOENT || (rc == 0 && known < v->vf.ndisks)) {
		/* An index from before the record, or a disk added by hand
		 * (identity file written, line appended): trust volume.conf. */
		if (v->rdonly) {
			idx_txn_abort(txn);
			return 0;
		}
		rc = idx_ndisks_put(txn, v->vf.ndisks);
		if (rc < 0) {
			idx_txn_abort(txn);
			return rc;
		}
		return idx_txn_commit(txn);
	}
	idx_txn_abort(txn);
	if (rc < 0)
		return rc;
	if (known > v->vf.ndisks) {
		tfs_err("volume %s: %s names %u disk(s) but the volume has %" PRIu32 ": the line "
			"of disk %u was deleted from it by hand. Its files are still in the "
			"index; put the `disk = %u ...` line back (its UUID is in that disk's "
			"trackfs-disk file), or give the disk up with `trackfs disk remove %s %u`",
			v->meta_dir, VOL_VOLFILE_NAME, v->vf.ndisks, known, v->vf.ndisks,
			v->vf.ndisks, v->meta_dir, v->vf.ndisks);
		return -EINVAL;
	}
	return 0;
}

/* The first disk of @p vf on the host filesystem @p dev, or -1. */
static int same_fs(const struct vol_volfile *vf, dev_t dev)
{
	struct stat st;

	for (unsigned i = 0; i < vf->ndisks; i++)
		if (stat(vf->disks[i].path, &st) == 0 && st.st_dev == dev)
			return (int)i;
	return -1;
}

int vol_disk_add(struct vol *v, const char *path, unsigned *index_out, int *shares_out)
{
	struct trk_disk_spec spec = {0};
	struct vol_volfile *nvf;
	struct idx_txn *txn;
	struct stat st;
	unsigned idx;
	bool written = false;
	int rc;

	if (v->rdonly)
		return -EROFS;
	if (!path || path[0] != '/' || strlen(path) >= sizeof(v->vf.disks[0].path)) {
		tfs_err("add disk %s: give the disk directory as an absolute path",
			path ? path : "(none)");
		return -EINVAL;
	}
	nvf = malloc(sizeof(*nvf));
	if (!nvf)
		return -ENOMEM;
	pthread_mutex_lock(&v->disks_mu);
	*nvf = v->vf;
	unsigned n = nvf->ndisks;
	if (n >= VOL_MAX_DISKS) {
		tfs_err("add disk %s: volume %s has %u disks, the most it can have", path,
			v->meta_dir, n);
		rc = -ENOSPC;
		goto out_unlock;
	}
	for (unsigned i = 0; i < n; i++) {
		if (strcmp(nvf->disks[i].path, path) == 0) {
			tfs_err("add disk %s: it is disk %u of volume %s already", path, i,
				v->meta_dir);
			rc = -EEXIST;
			goto out_unlock;
		}
	}
	rc = tfs_uuid_generate(&nvf->disks[n].uuid);
	if (rc < 0)
		goto out_unlock;
	rc = trk_disk_format(path, &nvf->uuid, &nvf->disks[n].uuid, (uint16_t)n, v->chunk_size,
			     false);
	if (rc < 0) {
		tfs_err("add disk %s to volume %s: %s; give an empty directory (on the device "
			"to add)",
			path, v->meta_dir, tfs_strerror(rc));
		goto out_unlock;
	}
	int shares = stat(path, &st) == 0 ? same_fs(nvf, st.st_dev) : -1;
	strcpy(nvf->disks[n].path, path);
	nvf->ndisks = n + 1;
	rc = vol_volfile_write(v->meta_dir, nvf);
	if (rc < 0)
		goto out_unlock;
	written = true;
	rc = idx_txn_begin(v->idx, &txn);
	if (rc == 0) {
		rc = idx_ndisks_put(txn, n + 1);
		if (rc == 0)
			rc = idx_txn_commit(txn);
		else
			idx_txn_abort(txn);
	}
	if (rc < 0) {
		/* volume.conf has it: the next open records it (vol_disks_check). */
		tfs_err("add disk %s: the index did not record it (%s); it is in %s and is used "
			"from the next mount",
			path, tfs_strerror(rc), VOL_VOLFILE_NAME);
		goto out_unlock;
	}
	spec.path = nvf->disks[n].path;
	spec.uuid = nvf->disks[n].uuid;
	rc = trk_pool_add_disk(v->pool, &spec, &idx);
	if (rc < 0) {
		tfs_err("add disk %s: formatted and in %s, but the running volume could not "
			"take it (%s): it is used from the next mount",
			path, VOL_VOLFILE_NAME, tfs_strerror(rc));
		goto out_unlock;
	}
	v->vf.disks[n] = nvf->disks[n];
	v->vf.ndisks = n + 1;
	tfs_info("volume %s: disk %u (%s) added and in use%s", v->meta_dir, n, path,
		 shares >= 0 ? "; it shares its host filesystem with another disk" : "");
	*index_out = n;
	*shares_out = shares;
out_unlock:
	pthread_mutex_unlock(&v->disks_mu);
	/* The snapshots must carry the new volume file, and go to the new
	 * disk too: asked for once the disk is in the pool and in v->vf. */
	if (written)
		vol_snapshot_kick(v);
	free(nvf);
	return rc;
}

int vol_set_placement(struct vol *v, const char *policy, bool set_reserve, uint64_t reserve)
{
	struct vol_volfile *nvf;
	enum trk_placement pl;
	int rc = 0;

	if (v->rdonly)
		return -EROFS;
	nvf = malloc(sizeof(*nvf));
	if (!nvf)
		return -ENOMEM;
	pthread_mutex_lock(&v->disks_mu);
	*nvf = v->vf;
	if (policy) {
		if (trk_placement_parse(policy, &pl) < 0) {
			tfs_err("volume %s: unknown placement policy \"%s\": use mfs, lus, ff or "
				"rand",
				v->meta_dir, policy);
			rc = -EINVAL;
			goto out_unlock;
		}
		nvf->placement = (unsigned)pl;
	}
	if (set_reserve)
		nvf->reserve = reserve;
	rc = vol_volfile_write(v->meta_dir, nvf);
	if (rc < 0)
		goto out_unlock;
	vol_snapshot_kick(v);
	v->vf.placement = nvf->placement;
	v->vf.reserve = nvf->reserve;
	trk_pool_set_placement(v->pool, (enum trk_placement)nvf->placement,
			       nvf->reserve == VOL_RESERVE_AUTO ? TRK_RESERVE_AUTO : nvf->reserve);
out_unlock:
	pthread_mutex_unlock(&v->disks_mu);
	free(nvf);
	return rc;
}

struct on_disk {
	uint16_t disk;
	uint64_t ino; /* the first inode found with a chunk there */
	bool found;
};

static int on_disk_cb(void *arg, uint64_t ino, const struct idx_extent *e)
{
	struct on_disk *f = arg;

	if (e->disk != f->disk)
		return 0;
	f->ino = ino;
	f->found = true;
	return 1;
}

int vol_disk_remove(struct vol *v, unsigned disk)
{
	struct vol_volfile *nvf;
	struct idx_disk_drain rec;
	struct on_disk f = {.disk = (uint16_t)disk};
	struct idx_txn *txn;
	int rc;

	if (v->rdonly)
		return -EROFS;
	nvf = malloc(sizeof(*nvf));
	if (!nvf)
		return -ENOMEM;
	pthread_mutex_lock(&v->disks_mu);
	*nvf = v->vf;
	const char *path = v->vf.disks[disk < nvf->ndisks ? disk : 0].path;
	if (disk >= nvf->ndisks || nvf->disks[disk].removed) {
		rc = -ENODEV;
		goto out_unlock;
	}
	unsigned in_use = 0;
	for (unsigned i = 0; i < nvf->ndisks; i++)
		in_use += !nvf->disks[i].removed;
	if (in_use == 1) {
		tfs_err("remove disk %u (%s): it is the volume's only disk", disk, path);
		rc = -EINVAL;
		goto out_unlock;
	}
	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		goto out_unlock;
	rc = idx_disk_drain_get(txn, (uint16_t)disk, &rec);
	if (rc == -ENOENT || (rc == 0 && rec.state != IDX_DRAIN_DRAINED)) {
		tfs_err("remove disk %u (%s): it is not drained; run `trackfs disk drain %s %u` "
			"first",
			disk, path, v->meta_dir, disk);
		rc = -EBUSY;
		goto out_abort;
	}
	if (rc < 0)
		goto out_abort;
	/* The drain's word, checked against every extent. */
	rc = idx_extent_iter_from(txn, 0, 0, on_disk_cb, &f);
	if (rc < 0)
		goto out_abort;
	if (f.found) {
		tfs_err("remove disk %u (%s): inode %" PRIu64 " still has data on it although "
			"it is marked drained; run fsck.trackfs, then drain it again",
			disk, path, f.ino);
		rc = -EBUSY;
		goto out_abort;
	}
	/* The index first: a crash before volume.conf is rewritten leaves a
	 * line that the next open records again (vol_disks_check), an empty
	 * disk back in use; the other order would be refused at open. */
	/* Extents name disks by number: a middle disk leaves its slot as a
	 * tombstone ("disk = N removed"), so the disks after it keep theirs;
	 * the last disk goes, with any tombstones before it. */
	unsigned n = nvf->ndisks;
	memset(&nvf->disks[disk], 0, sizeof(nvf->disks[disk]));
	nvf->disks[disk].removed = true;
	while (n > 1 && nvf->disks[n - 1].removed)
		n--;
	rc = idx_disk_drain_del(txn, (uint16_t)disk);
	if (rc == 0) {
		/* A missing disk given up with --force has nothing to wait for. */
		rc = idx_disk_stale_clear(txn, (uint16_t)disk);
		if (rc == -ENOENT)
			rc = 0;
	}
	if (rc == 0 && n != nvf->ndisks)
		rc = idx_ndisks_put(txn, n);
	if (rc < 0)
		goto out_abort;
	rc = idx_txn_commit(txn);
	if (rc < 0)
		goto out_unlock;
	nvf->ndisks = n;
	rc = vol_volfile_write(v->meta_dir, nvf);
	if (rc < 0) {
		tfs_err("remove disk %u (%s): the index no longer counts it but %s could not be "
			"rewritten (%s); the next open takes the disk back, empty",
			disk, path, VOL_VOLFILE_NAME, tfs_strerror(rc));
		goto out_unlock;
	}
	tfs_info("volume %s: disk %u (%s) removed", v->meta_dir, disk, path);
	vol_snapshot_kick(v);
	/* The pool keeps the disk until close; nothing refers to it. */
	v->vf.ndisks = nvf->ndisks;
	v->vf.disks[disk].removed = disk < nvf->ndisks;
	goto out_unlock;

out_abort:
	idx_txn_abort(txn);
out_unlock:
	pthread_mutex_unlock(&v->disks_mu);
	free(nvf);
	return rc;
}
