/* fsck.trackfs --repair: writes the fixes the scan scheduled (directory
 * entries, /lost+found, inode fields, extents, orphans) in index transactions,
 * makes them durable, then rebuilds the free lists from the index (chunks are
 * freed only once the index that stopped using them is durable) and marks the
 * volume clean. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/base/log.h"
#include "tools/cli_common.h"
#include "tools/fsck.h"

#define LOST_FOUND "lost+found"

/* Find or create /lost+found. @return 0 with *ino_out set, or -errno. */
static int lost_found(struct fsck *f, struct idx_txn *txn, uint64_t *ino_out)
{
	struct idx_dirent de;
	struct idx_inode root, lf;
	struct timespec now;
	int rc;

	rc = idx_dirent_get(txn, IDX_ROOT_INO, LOST_FOUND, strlen(LOST_FOUND), &de);
	if (rc == 0) {
		if (de.type != DT_DIR) {
			tfs_err("fsck: /%s exists and is not a directory; rename it and run "
				"fsck.trackfs --repair again",
				LOST_FOUND);
			return -ENOTDIR;
		}
		*ino_out = de.ino;
		return 0;
	}
	if (rc != -ENOENT)
		return rc;
	rc = idx_inode_get(txn, IDX_ROOT_INO, &root);
	if (rc < 0)
		return rc;
	memset(&lf, 0, sizeof(lf));
	rc = idx_ino_alloc(txn, &lf.ino);
	if (rc < 0)
		return rc;
	clock_gettime(CLOCK_REALTIME, &now);
	lf.mode = S_IFDIR | 0700;
	lf.nlink = 2;
	lf.generation = f->vrec.generation;
	lf.atime = lf.mtime = lf.ctime = lf.btime = now;
	lf.parent = IDX_ROOT_INO;
	lf.disk = IDX_NO_DISK;
	rc = idx_inode_put(txn, &lf);
	if (rc < 0)
		return rc;
	rc = idx_dirent_add(txn, IDX_ROOT_INO, LOST_FOUND, strlen(LOST_FOUND), lf.ino, DT_DIR);
	if (rc < 0)
		return rc;
	root.nlink++;
	root.mtime = root.ctime = now;
	rc = idx_inode_put(txn, &root);
	if (rc < 0)
		return rc;
	*ino_out = lf.ino;
	return 0;
}

static int fix_inode_fields(struct idx_txn *txn, struct fsck_inode *n)
{
	struct idx_inode in;
	int rc = idx_inode_get(txn, n->ino, &in);

	if (rc < 0)
		return rc;
	in.nlink = n->want_nlink;
	in.parent = n->want_parent;
	in.blocks = n->want_blocks;
	return idx_inode_put(txn, &in);
}

static int relink(struct fsck *f, struct idx_txn *txn, uint64_t lf_ino, struct fsck_inode *n)
{
	struct idx_inode in, lf;
	char name[32];
	int rc;

	snprintf(name, sizeof(name), "#%llu", (unsigned long long)n->ino);
	rc = idx_inode_get(txn, n->ino, &in);
	if (rc < 0)
		return rc;
	rc = idx_dirent_add(txn, lf_ino, name, strlen(name), n->ino, (uint8_t)IFTODT(in.mode));
	if (rc < 0)
		return rc;
	if (S_ISDIR(in.mode)) {
		in.parent = lf_ino;
		rc = idx_inode_get(txn, lf_ino, &lf);
		if (rc < 0)
			return rc;
		lf.nlink++;
		rc = idx_inode_put(txn, &lf);
		if (rc < 0)
			return rc;
	}
	rc = idx_inode_put(txn, &in);
	if (rc < 0)
		return rc;
	printf("moved inode %llu to /%s/%s\n", (unsigned long long)n->ino, LOST_FOUND, name);
	return 0;
}

/* Remove an inode and everything it owns; its chunks become unreferenced and
 * the rebuild puts them on the free lists. */
static int reclaim(struct idx_txn *txn, uint64_t ino)
{
	struct idx_extent e;
	int rc;

	while ((rc = idx_extent_seek(txn, ino, 0, &e)) == 0) {
		rc = idx_extent_del(txn, ino, e.off);
		if (rc < 0)
			return rc;
	}
	if (rc != -ENOENT)
		return rc;
	rc = idx_xattr_clear(txn, ino);
	if (rc < 0 && rc != -ENOENT && rc != -ENODATA)
		return rc;
	rc = idx_inline_del(txn, ino);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	rc = idx_orphan_del(txn, ino);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	return idx_inode_del(txn, ino);
}

static int fix_index(struct fsck *f, struct idx_txn *txn, bool *freed)
{
	uint64_t lf_ino = 0;
	int rc;

	for (size_t i = 0; i < f->ndfixes; i++) {
		struct fsck_dfix *x = &f->dfixes[i];
		size_t len = strlen(x->name);
		if (x->what == DFIX_DELETE)
			rc = idx_dirent_del(txn, x->parent, x->name, len);
		else
			rc = idx_dirent_replace(txn, x->parent, x->name, len, x->ino, x->type);
		if (rc < 0 && rc != -ENOENT)
			return rc;
	}
	for (size_t i = 0; i < f->ninodes; i++) {
		struct fsck_inode *n = &f->inodes[i];
		if (n->dirty && !n->reclaim) {
			rc = fix_inode_fields(txn, n);
			if (rc < 0)
				return rc;
		}
	}
	for (size_t i = 0; i < f->ninodes; i++) {
		struct fsck_inode *n = &f->inodes[i];
		if (!n->relink)
			continue;
		if (!lf_ino) {
			rc = lost_found(f, txn, &lf_ino);
			if (rc < 0)
				return rc;
		}
		rc = relink(f, txn, lf_ino, n);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < f->nxfixes; i++) {
		rc = idx_extent_del(txn, f->xfixes[i].ino, f->xfixes[i].off);
		if (rc < 0 && rc != -ENOENT)
			return rc;
		*freed = true;
	}
	for (size_t i = 0; i < f->nodel; i++) {
		rc = idx_orphan_del(txn, f->odel[i]);
		if (rc < 0 && rc != -ENOENT)
			return rc;
	}
	for (size_t i = 0; i < f->ninodes; i++) {
		if (!f->inodes[i].reclaim)
			continue;
		rc = reclaim(txn, f->inodes[i].ino);
		if (rc < 0)
			return rc;
		*freed = true;
	}
	return 0;
}

static int mark_cb(void *arg, uint64_t ino, const struct idx_extent *e)
{
	struct trk_pool *pool = arg;
	struct trk_run run = {
		.disk = e->disk, .track = e->track, .chunk = e->chunk, .count = e->nchunks};
	int rc = trk_pool_rebuild_mark(pool, &run);

	/* What is left wrong after the fixes was reported by the scan. */
	if (rc < 0)
		tfs_warn("fsck: inode %llu offset %llu: cannot mark disk %u track %u chunk %u: %s",
			 (unsigned long long)ino, (unsigned long long)e->off, e->disk, e->track,
			 e->chunk, tfs_strerror(rc));
	return 0;
}

static int rebuild(struct fsck *f)
{
	struct idx_txn *txn;
	int rc;

	rc = trk_pool_rebuild_begin(f->pool);
	if (rc < 0)
		return rc;
	rc = idx_txn_begin(f->idx, &txn);
	if (rc < 0)
		return rc;
	rc = idx_extent_iter_all(txn, mark_cb, f->pool);
	idx_txn_abort(txn);
	if (rc < 0)
		return rc;
	rc = trk_pool_rebuild_end(f->pool);
	if (rc < 0)
		return rc;
	printf("rebuilt the free lists from the index\n");
	return 0;
}

/* After a rebuild with every disk present: no free list lags any more. */
static int clear_stale(struct fsck *f)
{
	struct idx_txn *txn;
	bool cleared = false;
	int rc;

	rc = idx_txn_begin(f->idx, &txn);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < f->vf.ndisks; i++) {
		rc = idx_disk_stale_clear(txn, (uint16_t)i);
		if (rc == -ENOENT)
			continue;
		if (rc < 0) {
			idx_txn_abort(txn);
			return rc;
		}
		cleared = true;
	}
	if (!cleared) {
		idx_txn_abort(txn);
		return 0;
	}
	rc = idx_txn_commit(txn);
	if (rc < 0)
		return rc;
	rc = idx_env_sync(f->idx);
	if (rc == 0)
		printf("cleared the records of frees made while a disk was missing\n");
	return rc;
}

static int mark_clean(struct fsck *f)
{
	struct idx_txn *txn;
	struct idx_volume v;
	int rc;

	rc = idx_txn_begin(f->idx, &txn);
	if (rc < 0)
		return rc;
	rc = idx_volume_get(txn, &v);
	if (rc < 0)
		goto out_abort;
	v.clean = true;
	rc = idx_volume_put(txn, &v);
	if (rc < 0)
		goto out_abort;
	rc = idx_txn_commit(txn);
	if (rc < 0)
		return rc;
	return idx_env_sync(f->idx);
out_abort:
	idx_txn_abort(txn);
	return rc;
}

int fsck_repair(struct fsck *f)
{
	struct idx_txn *txn;
	bool freed = false;
	int rc;

	rc = idx_txn_begin(f->idx, &txn);
	if (rc < 0)
		return rc;
	rc = fix_index(f, txn, &freed);
	if (rc < 0) {
		idx_txn_abort(txn);
		return rc;
	}
	rc = idx_txn_commit(txn);
	if (rc < 0)
		return rc;
	/* The index must be durable before any chunk it dropped is reused. */
	rc = idx_env_sync(f->idx);
	if (rc < 0)
		return rc;
	if (freed)
		f->need_rebuild = true;
	if (f->need_rebuild || f->unclean || f->stale_disk) {
		if (f->missing_disk) {
			fsck_problem(f, false,
				     "the free lists were not rebuilt because a disk is "
				     "missing; reattach it and run fsck.trackfs --repair "
				     "again");
			return 0;
		}
		rc = rebuild(f);
		if (rc < 0)
			return rc;
		rc = clear_stale(f);
		if (rc < 0)
			return rc;
		if (f->unclean) {
			rc = mark_clean(f);
			if (rc < 0)
				return rc;
			printf("marked the volume clean\n");
		}
	}
	return 0;
}
