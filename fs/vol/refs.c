/* Reference (lookup) counts of inodes, and what happens when an inode loses
 * its last link: freed at once if nobody holds it, else put on the orphan
 * list and reclaimed when its last reference is forgotten. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "core/base/log.h"
#include "fs/vol/data_int.h"
#include "fs/vol/vol_int.h"

#define REFS_BUCKETS 4096u

static size_t bucket(const struct vol *v, uint64_t ino)
{
	return (size_t)((ino * 0x9E3779B97F4A7C15ull) >> 32) % v->refs_buckets;
}

int vol_refs_init(struct vol *v)
{
	v->refs = calloc(REFS_BUCKETS, sizeof(*v->refs));
	if (!v->refs)
		return -ENOMEM;
	v->refs_buckets = REFS_BUCKETS;
	pthread_mutex_init(&v->refs_lock, NULL);
	return 0;
}

void vol_refs_fini(struct vol *v)
{
	if (!v->refs)
		return;
	for (size_t i = 0; i < v->refs_buckets; i++) {
		struct vol_ref *r = v->refs[i];
		while (r) {
			struct vol_ref *next = r->next;
			free(r);
			r = next;
		}
	}
	free(v->refs);
	v->refs = NULL;
	v->refs_buckets = 0;
	pthread_mutex_destroy(&v->refs_lock);
}

int vol_ref_get(struct vol *v, uint64_t ino, uint64_t n)
{
	int rc = 0;

	if (n == 0)
		return 0;
	pthread_mutex_lock(&v->refs_lock);
	struct vol_ref **head = &v->refs[bucket(v, ino)], *r;
	for (r = *head; r; r = r->next)
		if (r->ino == ino)
			break;
	if (!r) {
		r = malloc(sizeof(*r));
		if (!r) {
			rc = -ENOMEM;
			goto out_unlock;
		}
		r->ino = ino;
		r->count = 0;
		r->next = *head;
		*head = r;
	}
	r->count += n;
out_unlock:
	pthread_mutex_unlock(&v->refs_lock);
	return rc;
}

uint64_t vol_ref_put(struct vol *v, uint64_t ino, uint64_t n)
{
	uint64_t left = 0;

	pthread_mutex_lock(&v->refs_lock);
	struct vol_ref **pp = &v->refs[bucket(v, ino)], *r;
	while ((r = *pp) && r->ino != ino)
		pp = &r->next;
	if (!r) {
		tfs_warn("volume %s: forget of inode %" PRIu64 " that holds no references",
			 v->meta_dir, ino);
		goto out_unlock;
	}
	if (r->count < n) {
		tfs_warn("volume %s: inode %" PRIu64 " forgets %" PRIu64
			 " references but has %" PRIu64,
			 v->meta_dir, ino, n, r->count);
		n = r->count;
	}
	r->count -= n;
	left = r->count;
	if (left == 0) {
		*pp = r->next;
		free(r);
	}
out_unlock:
	pthread_mutex_unlock(&v->refs_lock);
	return left;
}

uint64_t vol_ref_count(struct vol *v, uint64_t ino)
{
	uint64_t n = 0;

	pthread_mutex_lock(&v->refs_lock);
	for (struct vol_ref *r = v->refs[bucket(v, ino)]; r; r = r->next) {
		if (r->ino == ino) {
			n = r->count;
			break;
		}
	}
	pthread_mutex_unlock(&v->refs_lock);
	return n;
}

void vol_forget(struct vol *v, uint64_t ino, uint64_t n)
{
	pthread_rwlock_t *il = vol_ilock(v, ino);
	struct idx_inode inode;
	struct idx_txn *txn;
	bool reclaim = false;

	if (n == 0)
		return;
	/* The ilock (shared) orders this against an unlink, which holds it
	 * exclusive while it decides between freeing and orphaning: either the
	 * unlink sees our reference, or we see its nlink of 0. */
	pthread_rwlock_rdlock(il);
	if (vol_ref_put(v, ino, n) == 0 && !v->rdonly && idx_txn_begin(v->idx, &txn) == 0) {
		reclaim = idx_inode_get(txn, ino, &inode) == 0 && inode.nlink == 0;
		idx_txn_abort(txn);
	}
	pthread_rwlock_unlock(il);
	if (reclaim)
		vol_orphan_reclaim(v, ino);
}

/* Free everything an unlinked, unreferenced inode holds, inside @p txn. */
static int inode_free(struct vol *v, struct idx_txn *txn, struct idx_inode *inode,
		      struct vol_runs *pending)
{
	int rc;

	if (S_ISREG(inode->mode) || inode->blocks) {
		rc = vol_extents_cut(v, txn, inode, 0, UINT64_MAX, pending);
		if (rc < 0)
			return rc;
	}
	rc = idx_xattr_clear(txn, inode->ino);
	if (rc < 0 && rc != -ENOENT && rc != -ENODATA)
		return rc;
	rc = idx_inline_del(txn, inode->ino);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	/* Its lost marks go once this commits (the callers): until then the
	 * file may yet stay as it was. */
	return idx_inode_del(txn, inode->ino);
}

int vol_inode_drop_locked(struct vol *v, struct idx_txn *txn, uint64_t ino,
			  struct vol_runs *pending, bool *freed)
{
	struct idx_inode inode;
	int rc;

	if (freed)
		*freed = false;
	rc = idx_inode_get(txn, ino, &inode);
	if (rc < 0)
		return rc == -ENOENT ? -EIO : rc;
	if (vol_ref_count(v, ino) > 0) {
		rc = idx_orphan_add(txn, ino);
		if (rc == -EEXIST)
			rc = 0;
		return rc;
	}
	rc = inode_free(v, txn, &inode, pending);
	if (rc < 0)
		tfs_err("volume %s: freeing inode %" PRIu64 " failed: %s", v->meta_dir, ino,
			tfs_strerror(rc));
	else if (freed)
		*freed = true;
	return rc;
}

int vol_orphan_reclaim(struct vol *v, uint64_t ino)
{
	pthread_rwlock_t *il = vol_ilock(v, ino);
	struct vol_runs pending = {0};
	struct idx_inode inode;
	struct idx_txn *txn;
	int rc;

	if (v->rdonly)
		return -EROFS;
	pthread_rwlock_wrlock(il);
	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		goto out_unlock;
	idx_txn_use_reserve(txn);
	rc = idx_inode_get(txn, ino, &inode);
	if (rc == 0 && (inode.nlink > 0 || vol_ref_count(v, ino) > 0)) {
		/* Linked again or still open: not ours to free (yet). */
		idx_txn_abort(txn);
		goto out_unlock;
	}
	if (rc == 0)
		rc = inode_free(v, txn, &inode, &pending);
	else if (rc == -ENOENT)
		rc = 0; /* already gone: only the list entry is left */
	if (rc == 0) {
		rc = idx_orphan_del(txn, ino);
		if (rc == -ENOENT)
			rc = 0;
	}
	if (rc < 0) {
		idx_txn_abort(txn);
		vol_runs_fini(&pending);
		goto out_err;
	}
	rc = idx_txn_commit(txn);
	if (rc == 0) {
		vol_runs_release(v, &pending);
		vol_lost_clear(v, ino, 0, UINT64_MAX);
		goto out_unlock;
	}
	vol_runs_fini(&pending);
out_err:
	tfs_err("volume %s: reclaiming orphan inode %" PRIu64 " failed: %s; it stays on the "
		"orphan list for the next open",
		v->meta_dir, ino, tfs_strerror(rc));
out_unlock:
	pthread_rwlock_unlock(il);
	return rc;
}
