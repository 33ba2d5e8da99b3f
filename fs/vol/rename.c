/* rename(2) and renameat2(2) (RENAME_NOREPLACE, RENAME_EXCHANGE): every
 * check and change in one index transaction, so a rename is atomic even
 * across a crash. */
#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "core/base/log.h"
#include "fs/vol/data_int.h"
#include "fs/vol/vol_int.h"

/* Guards against a corrupt parent chain that loops. */
#define MAX_DEPTH 100000

/* True (1) if directory @p dir is @p top or lies below it, 0 if not, -errno. */
static int in_subtree(struct vol *v, struct idx_txn *txn, uint64_t dir, uint64_t top)
{
	struct idx_inode inode;

	for (unsigned depth = 0; depth < MAX_DEPTH; depth++) {
		if (dir == top)
			return 1;
		if (dir == VOL_ROOT_INO)
			return 0;
		int rc = idx_inode_get(txn, dir, &inode);
		if (rc < 0)
			return rc == -ENOENT ? -EIO : rc;
		dir = inode.parent;
	}
	tfs_err("volume %s: the parent chain above directory %" PRIu64
		" does not reach the root: run fsck.trackfs",
		v->meta_dir, dir);
	return -EIO;
}

struct side {
	uint64_t dir_ino;
	struct idx_inode dir; /* the parent directory */
	const char *name;
	size_t len;
	struct idx_dirent de;
	bool exists;
	struct idx_inode inode; /* the entry's inode, when it exists */
};

static int load_side(struct idx_txn *txn, struct side *s)
{
	int rc = vol_dir_get(txn, s->dir_ino, &s->dir);
	if (rc < 0)
		return rc;
	rc = idx_dirent_get(txn, s->dir_ino, s->name, s->len, &s->de);
	s->exists = rc == 0;
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	rc = idx_inode_get(txn, s->de.ino, &s->inode);
	return rc == -ENOENT ? -EIO : rc;
}

/* Move a directory between parents: fix its parent field and both link
 * counts. @p from and @p to may be the same struct (nothing changes then). */
static void move_dir(struct idx_inode *d, struct idx_inode *from, struct idx_inode *to)
{
	if (from == to)
		return;
	d->parent = to->ino;
	if (from->nlink > 2)
		from->nlink--;
	to->nlink++;
}

/* Write the parents, each once. */
static int put_parents(struct idx_txn *txn, struct side *a, struct side *b,
		       const struct timespec *now)
{
	vol_dir_touch(&a->dir, now);
	int rc = idx_inode_put(txn, &a->dir);
	if (rc < 0 || a->dir_ino == b->dir_ino)
		return rc;
	vol_dir_touch(&b->dir, now);
	return idx_inode_put(txn, &b->dir);
}

static int do_exchange(struct vol *v, struct idx_txn *txn, struct side *a, struct side *b)
{
	struct idx_inode *bdir = a->dir_ino == b->dir_ino ? &a->dir : &b->dir;
	struct timespec now;
	int rc;

	if (!b->exists)
		return -ENOENT;
	/* Neither directory may move below itself. */
	if (S_ISDIR(a->inode.mode)) {
		rc = in_subtree(v, txn, b->dir_ino, a->inode.ino);
		if (rc != 0)
			return rc < 0 ? rc : -EINVAL;
	}
	if (S_ISDIR(b->inode.mode)) {
		rc = in_subtree(v, txn, a->dir_ino, b->inode.ino);
		if (rc != 0)
			return rc < 0 ? rc : -EINVAL;
	}
	rc = idx_dirent_replace(txn, a->dir_ino, a->name, a->len, b->inode.ino, b->de.type);
	if (rc < 0)
		return rc;
	rc = idx_dirent_replace(txn, b->dir_ino, b->name, b->len, a->inode.ino, a->de.type);
	if (rc < 0)
		return rc;
	if (S_ISDIR(a->inode.mode))
		move_dir(&a->inode, &a->dir, bdir);
	if (S_ISDIR(b->inode.mode))
		move_dir(&b->inode, bdir, &a->dir);
	vol_now(&now);
	a->inode.ctime = now;
	b->inode.ctime = now;
	rc = idx_inode_put(txn, &a->inode);
	if (rc == 0)
		rc = idx_inode_put(txn, &b->inode);
	if (rc == 0)
		rc = put_parents(txn, a, b, &now);
	return rc;
}

/* *@p freed: the replaced inode was freed (vol_inode_drop_locked). */
static int do_rename(struct vol *v, struct idx_txn *txn, struct side *a, struct side *b,
		     struct vol_runs *pending, unsigned flags, bool *freed)
{
	struct idx_inode *bdir = a->dir_ino == b->dir_ino ? &a->dir : &b->dir;
	bool a_dir = S_ISDIR(a->inode.mode);
	struct timespec now;
	int rc;

	if (b->exists && (flags & VOL_RENAME_NOREPLACE))
		return -EEXIST;
	if (a_dir) {
		rc = in_subtree(v, txn, b->dir_ino, a->inode.ino);
		if (rc != 0)
			return rc < 0 ? rc : -EINVAL;
	}
	if (b->exists) {
		bool b_dir = S_ISDIR(b->inode.mode);
		if (a_dir && !b_dir)
			return -ENOTDIR;
		if (!a_dir && b_dir)
			return -EISDIR;
		if (b_dir && !idx_dir_empty(txn, b->inode.ino))
			return -ENOTEMPTY;
	} else if (a_dir && a->dir_ino != b->dir_ino && bdir->nlink >= VOL_LINK_MAX) {
		return -EMLINK;
	}

	vol_now(&now);
	if (b->exists) {
		rc = idx_dirent_replace(txn, b->dir_ino, b->name, b->len, a->inode.ino, a->de.type);
		if (rc < 0)
			return rc;
		/* The replaced inode loses this link; a replaced directory loses
		 * its ".." link to the new parent too. */
		if (S_ISDIR(b->inode.mode)) {
			b->inode.nlink = 0;
			if (bdir->nlink > 2)
				bdir->nlink--;
		} else if (b->inode.nlink > 0) {
			b->inode.nlink--;
		}
		b->inode.ctime = now;
		rc = idx_inode_put(txn, &b->inode);
		if (rc < 0)
			return rc;
	} else {
		rc = idx_dirent_add(txn, b->dir_ino, b->name, b->len, a->inode.ino, a->de.type);
		if (rc < 0)
			return rc;
	}
	rc = idx_dirent_del(txn, a->dir_ino, a->name, a->len);
	if (rc < 0)
		return rc;
	if (a_dir)
		move_dir(&a->inode, &a->dir, bdir);
	a->inode.ctime = now;
	rc = idx_inode_put(txn, &a->inode);
	if (rc == 0)
		rc = put_parents(txn, a, b, &now);
	if (rc == 0 && b->exists && b->inode.nlink == 0)
		rc = vol_inode_drop_locked(v, txn, b->inode.ino, pending, freed);
	return rc;
}

/* renameat2(2) rejects "." and ".." as either last component with EBUSY
 * (EEXIST for the new one under RENAME_NOREPLACE). */
static int check_names(const char *name, size_t *len, const char *newname, size_t *newlen,
		       unsigned flags)
{
	int rc = vol_name_check(name, len);
	if (rc == 0)
		rc = vol_name_check(newname, newlen);
	if (rc < 0)
		return rc;
	if (vol_name_is_dot(name, *len))
		return -EBUSY;
	if (vol_name_is_dot(newname, *newlen))
		return (flags & VOL_RENAME_NOREPLACE) ? -EEXIST : -EBUSY;
	return 0;
}

/* @p b as loaded holds what @p exp expects. */
static bool expected(const struct side *b, const struct vol_expect *exp)
{
	return b->exists && b->de.ino == exp->ino && b->inode.size == exp->size &&
	       b->inode.mtime.tv_sec == exp->mtime.tv_sec &&
	       b->inode.mtime.tv_nsec == exp->mtime.tv_nsec;
}

static int rename_common(struct vol *v, uint64_t parent, const char *name, uint64_t newparent,
			 const char *newname, unsigned flags, const struct vol_expect *exp);

int vol_rename(struct vol *v, uint64_t parent, const char *name, uint64_t newparent,
	       const char *newname, unsigned flags)
{
	return rename_common(v, parent, name, newparent, newname, flags, NULL);
}

int vol_rename_if(struct vol *v, uint64_t parent, const char *name, uint64_t newparent,
		  const char *newname, const struct vol_expect *exp)
{
	if (!exp->ino)
		return rename_common(v, parent, name, newparent, newname, VOL_RENAME_NOREPLACE,
				     NULL);
	return rename_common(v, parent, name, newparent, newname, 0, exp);
}

static int rename_common(struct vol *v, uint64_t parent, const char *name, uint64_t newparent,
			 const char *newname, unsigned flags, const struct vol_expect *exp)
{
	struct side a = {.dir_ino = parent, .name = name};
	struct side b = {.dir_ino = newparent, .name = newname};
	struct vol_runs pending = {0};
	pthread_rwlock_t *il = NULL;
	struct idx_txn *txn;
	bool freed = false;
	uint64_t victim;
	int rc;

	if (v->rdonly)
		return -EROFS;
	if ((flags & ~(unsigned)(VOL_RENAME_NOREPLACE | VOL_RENAME_EXCHANGE)) ||
	    ((flags & VOL_RENAME_NOREPLACE) && (flags & VOL_RENAME_EXCHANGE)))
		return -EINVAL;
	rc = check_names(name, &a.len, newname, &b.len, flags);
	if (rc < 0)
		return rc;

retry:
	/* A replaced inode may lose its last link and have its chunks freed,
	 * which needs its data lock, taken before the transaction. */
	il = NULL;
	victim = 0;
	if (!(flags & (VOL_RENAME_EXCHANGE | VOL_RENAME_NOREPLACE))) {
		rc = vol_peek_entry(v, newparent, newname, b.len, &victim);
		if (rc == 0) {
			il = vol_ilock(v, victim);
			pthread_rwlock_wrlock(il);
		} else if (rc != -ENOENT) {
			return rc;
		}
	}
	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		goto out_unlock;
	rc = load_side(txn, &a);
	if (rc == 0 && !a.exists)
		rc = -ENOENT;
	if (rc < 0)
		goto out_abort_txn;
	rc = load_side(txn, &b);
	if (rc < 0)
		goto out_abort_txn;
	/* The name now points elsewhere than the inode we locked: start over.
	 * (When both parents are one directory, a.dir is the copy that is
	 * changed and written; b.dir is not used.) */
	if (b.exists && !(flags & (VOL_RENAME_EXCHANGE | VOL_RENAME_NOREPLACE)) &&
	    b.de.ino != victim) {
		idx_txn_abort(txn);
		if (il)
			pthread_rwlock_unlock(il);
		goto retry;
	}
	if (b.exists && (flags & VOL_RENAME_NOREPLACE)) {
		rc = -EEXIST; /* even for the same inode, as renameat2(2) checks first */
		goto out_abort_txn;
	}
	if (exp && !expected(&b, exp)) {
		rc = -ESTALE; /* replaced or written since it was looked at */
		goto out_abort_txn;
	}
	if (b.exists && b.de.ino == a.de.ino) {
		/* Two names of one inode: rename(2) does nothing. */
		rc = 0;
		goto out_abort_txn;
	}
	if (flags & VOL_RENAME_EXCHANGE)
		rc = do_exchange(v, txn, &a, &b);
	else
		rc = do_rename(v, txn, &a, &b, &pending, flags, &freed);
	if (rc < 0)
		goto out_abort_txn;
	rc = idx_txn_commit(txn);
	if (rc == 0)
		vol_runs_release(v, &pending);
	if (rc == 0 && freed)
		vol_lost_clear(v, b.inode.ino, 0, UINT64_MAX);
	vol_runs_fini(&pending);
	goto out_unlock;

out_abort_txn:
	idx_txn_abort(txn);
	vol_runs_fini(&pending);
out_unlock:
	if (il)
		pthread_rwlock_unlock(il);
	return rc;
}
