/* trackfs-debug locate: find where a file's byte lives on disk by reading the
 * index directly (the path's directory entries, then the extent holding the
 * offset), for corruption tests and for people chasing a bad sector. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/log.h"
#include "core/pool.h"
#include "fs/vol/volfile.h"
#include "index/index.h"
#include "tools/cli_common.h"
#include "tools/debug.h"

static int lookup_path(struct idx_txn *txn, const char *path, uint64_t *ino_out)
{
	char *copy = strdup(path), *save = NULL;
	uint64_t cur = IDX_ROOT_INO;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		struct idx_dirent d;
		rc = idx_dirent_get(txn, cur, c, strlen(c), &d);
		if (rc < 0) {
			cli_msg("locate %s: cannot find '%s': %s", path, c, tfs_strerror(rc));
			break;
		}
		cur = d.ino;
	}
	free(copy);
	if (rc == 0)
		*ino_out = cur;
	return rc;
}

int debug_locate(const char *volume, const char *path, const char *offset_arg)
{
	char meta[PATH_MAX], idx_dir[PATH_MAX + 16];
	struct vol_volfile *vf;
	struct idx_env *env;
	struct idx_txn *txn;
	struct idx_extent e;
	uint64_t off, ino = 0;
	int lock, rc;

	if (cli_parse_size(offset_arg, &off) < 0) {
		cli_msg("locate: bad offset '%s'", offset_arg);
		return -EINVAL;
	}
	rc = vol_meta_resolve(volume, meta);
	if (rc < 0)
		return rc;
	vf = malloc(sizeof(*vf));
	if (!vf)
		return -ENOMEM;
	rc = vol_volfile_read(meta, vf);
	if (rc < 0)
		goto out_free;
	lock = vol_lock_take(meta, "trackfs-debug locate");
	if (lock < 0) {
		rc = lock;
		goto out_free;
	}
	snprintf(idx_dir, sizeof(idx_dir), "%s/%s", meta, VOL_INDEX_DIR);
	rc = idx_env_open(idx_dir, IDX_RDONLY, &env);
	if (rc < 0)
		goto out_unlock;
	rc = idx_txn_begin(env, &txn);
	if (rc < 0)
		goto out_close;
	rc = lookup_path(txn, path, &ino);
	if (rc < 0)
		goto out_abort;
	rc = idx_extent_seek(txn, ino, off, &e);
	uint32_t cs = vf->chunk_size;
	if (rc == 0 && (e.off > off || off >= e.off + (uint64_t)e.nchunks * cs))
		rc = -ENOENT;
	if (rc < 0) {
		cli_msg("locate %s: no chunk holds offset %llu (a hole, inline data or past the "
			"end)",
			path, (unsigned long long)off);
		goto out_abort;
	}
	if (e.disk >= vf->ndisks) {
		cli_msg("locate %s: the extent names disk %u, the volume has %u", path, e.disk,
			vf->ndisks);
		rc = -EIO;
		goto out_abort;
	}
	uint32_t chunk = e.chunk + (uint32_t)((off - e.off) / cs);
	printf("inode %llu\n", (unsigned long long)ino);
	printf("disk %u %s\n", e.disk, vf->disks[e.disk].path);
	printf("track %u\n", e.track);
	printf("chunk %u\n", chunk);
	char tpath[PATH_MAX];
	uint64_t toff;
	rc = trk_chunk_locate(vf->disks[e.disk].path, cs, e.track, chunk, tpath, sizeof(tpath),
			      &toff);
	if (rc < 0) {
		cli_msg("locate %s: the track file's path under %s is too long", path,
			vf->disks[e.disk].path);
		goto out_abort;
	}
	printf("file %s\n", tpath);
	printf("offset %llu\n", (unsigned long long)toff);
	printf("chunk_size %u\n", cs);
out_abort:
	idx_txn_abort(txn);
out_close:
	idx_env_close(env, false);
out_unlock:
	vol_lock_release(lock);
out_free:
	if (rc < 0 && rc != -ENOENT)
		cli_msg("locate %s in %s: %s", path, volume, tfs_strerror(rc));
	free(vf);
	return rc;
}
