/* Names: lookup, create, mkdir, mknod, symlink/readlink, link, unlink and
 * rmdir, with the errors POSIX gives. Every call that returns an entry adds
 * one reference to it inside its transaction, so a concurrent unlink always
 * sees the reference and orphans the inode instead of freeing it. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/log.h"
#include "fs/vol/data_int.h"
#include "fs/vol/vol_int.h"

int vol_name_check(const char *name, size_t *len_out)
{
	if (!name || !*name)
		return -ENOENT;
	size_t len = strnlen(name, IDX_NAME_MAX + 1);
	if (len > IDX_NAME_MAX)
		return -ENAMETOOLONG;
	if (memchr(name, '/', len))
		return -EINVAL;
	*len_out = len;
	return 0;
}

bool vol_name_is_dot(const char *name, size_t len)
{
	return (len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.');
}

int vol_dir_get(struct idx_txn *txn, uint64_t ino, struct idx_inode *out)
{
	int rc = idx_inode_get(txn, ino, out);
	if (rc < 0)
		return rc;
	if (!S_ISDIR(out->mode))
		return -ENOTDIR;
	/* A removed directory that is still open accepts no new entries. */
	if (out->nlink == 0)
		return -ENOENT;
	return 0;
}

void vol_dir_touch(struct idx_inode *dir, const struct timespec *now)
{
	struct timespec t = *now;

	/* Every change of a directory's entries gets a ctime of its own, even
	 * if the clock stepped back: the S3 sidecar keys its sorted listings
	 * on it (fs/s3/list_snap.c). */
	if (t.tv_sec < dir->ctime.tv_sec ||
	    (t.tv_sec == dir->ctime.tv_sec && t.tv_nsec <= dir->ctime.tv_nsec)) {
		t = dir->ctime;
		if (++t.tv_nsec == 1000000000) {
			t.tv_sec++;
			t.tv_nsec = 0;
		}
	}
	dir->mtime = t;
	dir->ctime = t;
}

/* ---- lookup ----------------------------------------------------------------- */

int vol_lookup(struct vol *v, uint64_t parent, const char *name, struct vol_attr *out)
{
	struct idx_inode dir, inode;
	struct idx_dirent de;
	struct idx_txn *txn;
	size_t len;
	int rc;

	rc = vol_name_check(name, &len);
	if (rc < 0)
		return rc;
	rc = idx_txn_begin_read(v->idx, &txn);
	if (rc < 0)
		return rc;
	rc = idx_inode_get(txn, parent, &dir);
	if (rc < 0)
		goto out_abort_txn;
	if (!S_ISDIR(dir.mode)) {
		rc = -ENOTDIR;
		goto out_abort_txn;
	}
	uint64_t ino;
	if (len == 1 && name[0] == '.') {
		ino = parent;
	} else if (len == 2 && name[0] == '.' && name[1] == '.') {
		ino = dir.parent;
	} else {
		rc = idx_dirent_get(txn, parent, name, len, &de);
		if (rc < 0)
			goto out_abort_txn;
		ino = de.ino;
	}
	rc = idx_inode_get(txn, ino, &inode);
	if (rc == -ENOENT) {
		tfs_err("volume %s: entry %s in directory %" PRIu64 " names inode %" PRIu64
			" which does not exist: run fsck.trackfs",
			v->meta_dir, name, parent, ino);
		rc = -EIO;
	}
	if (rc < 0)
		goto out_abort_txn;
	rc = vol_ref_get(v, ino, 1);
	if (rc < 0)
		goto out_abort_txn;
	idx_txn_abort(txn);
	vol_attr_from_inode(v, &inode, out);
	return 0;

out_abort_txn:
	idx_txn_abort(txn);
	return rc;
}

/* ---- creating entries ----------------------------------------------------------- */

struct new_node {
	uint32_t mode; /* type bits included */
	uint64_t rdev;
	const char *target; /* symlinks */
	size_t target_len;
};

static int make_node(struct vol *v, uint64_t parent, const char *name, const struct new_node *nn,
		     const struct vol_cred *cred, struct vol_attr *out)
{
	struct vol_acl_new acl = {0};
	struct idx_inode dir, inode;
	struct idx_txn *txn;
	struct timespec now, born;
	size_t len;
	int rc;

	if (v->rdonly)
		return -EROFS;
	rc = vol_name_check(name, &len);
	if (rc < 0)
		return rc;
	if (vol_name_is_dot(name, len))
		return -EEXIST;
	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		return rc;
	rc = vol_dir_get(txn, parent, &dir);
	if (rc < 0)
		goto out_abort_txn;
	rc = idx_dirent_get(txn, parent, name, len, NULL);
	if (rc == 0)
		rc = -EEXIST;
	if (rc != -ENOENT)
		goto out_abort_txn;
	bool is_dir = S_ISDIR(nn->mode);
	if (is_dir && dir.nlink >= VOL_LINK_MAX) {
		rc = -EMLINK;
		goto out_abort_txn;
	}

	vol_now(&now);
	vol_now_born(&born);
	inode = (struct idx_inode){
		.mode = nn->mode,
		.uid = cred ? cred->uid : (uint32_t)getuid(),
		.gid = cred ? cred->gid : (uint32_t)getgid(),
		.nlink = is_dir ? 2 : 1,
		.rdev = (S_ISCHR(nn->mode) || S_ISBLK(nn->mode)) ? nn->rdev : 0,
		.generation = v->generation,
		.atime = born,
		.mtime = born,
		.ctime = born,
		.btime = born,
		.parent = is_dir ? parent : 0,
		.disk = IDX_NO_DISK,
	};
	/* BSD group semantics inside a setgid directory, as Linux does. */
	if (dir.mode & S_ISGID) {
		inode.gid = dir.gid;
		if (is_dir)
			inode.mode |= S_ISGID;
	}
	/* The directory's default ACL, or the umask (acl.c). */
	rc = vol_acl_inherit(txn, parent, &inode.mode, cred ? cred->umask : 0, &acl);
	if (rc < 0)
		goto out_abort_txn;
	rc = idx_ino_alloc(txn, &inode.ino);
	if (rc < 0)
		goto out_abort_txn;
	rc = vol_acl_store_new(txn, inode.ino, is_dir, &acl);
	if (rc < 0)
		goto out_abort_txn;
	if (nn->target) {
		rc = idx_inline_put(txn, inode.ino, nn->target, nn->target_len);
		if (rc < 0)
			goto out_abort_txn;
		inode.size = nn->target_len;
	}
	rc = idx_inode_put(txn, &inode);
	if (rc < 0)
		goto out_abort_txn;
	rc = idx_dirent_add(txn, parent, name, len, inode.ino, (uint8_t)IFTODT(nn->mode));
	if (rc < 0)
		goto out_abort_txn;
	if (is_dir)
		dir.nlink++;
	vol_dir_touch(&dir, &now);
	rc = idx_inode_put(txn, &dir);
	if (rc < 0)
		goto out_abort_txn;
	rc = vol_ref_get(v, inode.ino, 1);
	if (rc < 0)
		goto out_abort_txn;
	vol_acl_new_fini(&acl);
	rc = idx_txn_commit(txn);
	if (rc < 0) {
		vol_ref_put(v, inode.ino, 1);
		return rc;
	}
	if (out)
		vol_attr_from_inode(v, &inode, out);
	return 0;

out_abort_txn:
	vol_acl_new_fini(&acl);
	idx_txn_abort(txn);
	return rc;
}

int vol_create(struct vol *v, uint64_t parent, const char *name, uint32_t mode,
	       const struct vol_cred *cred, struct vol_attr *out)
{
	struct new_node nn = {.mode = S_IFREG | (mode & 07777)};
	return make_node(v, parent, name, &nn, cred, out);
}

int vol_mkdir(struct vol *v, uint64_t parent, const char *name, uint32_t mode,
	      const struct vol_cred *cred, struct vol_attr *out)
{
	struct new_node nn = {.mode = S_IFDIR | (mode & 07777)};
	return make_node(v, parent, name, &nn, cred, out);
}

int vol_mknod(struct vol *v, uint64_t parent, const char *name, uint32_t mode, uint64_t rdev,
	      const struct vol_cred *cred, struct vol_attr *out)
{
	struct new_node nn = {.mode = mode, .rdev = rdev};

	switch (mode & S_IFMT) {
	case 0: /* mknod(2): a zero type means a regular file */
		nn.mode |= S_IFREG;
		break;
	case S_IFREG:
	case S_IFIFO:
	case S_IFSOCK:
	case S_IFCHR:
	case S_IFBLK:
		break;
	default:
		return -EINVAL;
	}
	return make_node(v, parent, name, &nn, cred, out);
}

int vol_symlink(struct vol *v, uint64_t parent, const char *name, const char *target,
		const struct vol_cred *cred, struct vol_attr *out)
{
	struct new_node nn = {.mode = S_IFLNK | 0777, .target = target};

	if (!target || !*target)
		return -ENOENT; /* symlink(2) with an empty target */
	nn.target_len = strnlen(target, IDX_INLINE_MAX);
	if (nn.target_len >= IDX_INLINE_MAX)
		return -ENAMETOOLONG;
	return make_node(v, parent, name, &nn, cred, out);
}

int vol_readlink(struct vol *v, uint64_t ino, char *buf, size_t size, size_t *len_out)
{
	char target[IDX_INLINE_MAX];
	struct idx_inode inode;
	struct idx_txn *txn;
	size_t len;
	int rc;

	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		return rc;
	rc = idx_inode_get(txn, ino, &inode);
	if (rc == 0 && !S_ISLNK(inode.mode))
		rc = -EINVAL;
	if (rc == 0)
		rc = idx_inline_get(txn, ino, target, sizeof(target), &len);
	idx_txn_abort(txn);
	if (rc == -ENOENT || rc == -ERANGE) {
		tfs_err("volume %s: symlink inode %" PRIu64 " has no readable target (%s): run "
			"fsck.trackfs",
			v->meta_dir, ino, tfs_strerror(rc));
		rc = -EIO;
	}
	if (rc < 0)
		return rc;
	memcpy(buf, target, len < size ? len : size);
	if (len < size)
		buf[len] = '\0';
	if (len_out)
		*len_out = len;
	return 0;
}

int vol_link(struct vol *v, uint64_t ino, uint64_t newparent, const char *newname,
	     struct vol_attr *out)
{
	struct idx_inode dir, inode;
	struct idx_txn *txn;
	struct timespec now;
	size_t len;
	int rc;

	if (v->rdonly)
		return -EROFS;
	rc = vol_name_check(newname, &len);
	if (rc < 0)
		return rc;
	if (vol_name_is_dot(newname, len))
		return -EEXIST;
	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		return rc;
	rc = idx_inode_get(txn, ino, &inode);
	if (rc < 0)
		goto out_abort_txn;
	if (S_ISDIR(inode.mode)) {
		rc = -EPERM;
		goto out_abort_txn;
	}
	if (inode.nlink == 0) {
		rc = -ENOENT; /* linkat(2) of an unlinked file */
		goto out_abort_txn;
	}
	if (inode.nlink >= VOL_LINK_MAX) {
		rc = -EMLINK;
		goto out_abort_txn;
	}
	rc = vol_dir_get(txn, newparent, &dir);
	if (rc < 0)
		goto out_abort_txn;
	rc = idx_dirent_add(txn, newparent, newname, len, ino, (uint8_t)IFTODT(inode.mode));
	if (rc < 0)
		goto out_abort_txn;
	vol_now(&now);
	inode.nlink++;
	inode.ctime = now;
	rc = idx_inode_put(txn, &inode);
	if (rc < 0)
		goto out_abort_txn;
	vol_dir_touch(&dir, &now);
	rc = idx_inode_put(txn, &dir);
	if (rc < 0)
		goto out_abort_txn;
	rc = vol_ref_get(v, ino, 1);
	if (rc < 0)
		goto out_abort_txn;
	rc = idx_txn_commit(txn);
	if (rc < 0) {
		vol_ref_put(v, ino, 1);
		return rc;
	}
	if (out)
		vol_attr_from_inode(v, &inode, out);
	return 0;

out_abort_txn:
	idx_txn_abort(txn);
	return rc;
}

/* ---- removing entries -------------------------------------------------------------- */

int vol_peek_entry(struct vol *v, uint64_t parent, const char *name, size_t len, uint64_t *ino_out)
{
	struct idx_inode dir;
	struct idx_dirent de;
	struct idx_txn *txn;
	int rc;

	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		return rc;
	rc = idx_inode_get(txn, parent, &dir);
	if (rc == 0 && !S_ISDIR(dir.mode))
		rc = -ENOTDIR;
	if (rc == 0)
		rc = idx_dirent_get(txn, parent, name, len, &de);
	idx_txn_abort(txn);
	if (rc == 0)
		*ino_out = de.ino;
	return rc;
}

static int unlink_common(struct vol *v, uint64_t parent, const char *name,
			 const struct vol_expect *exp);

int vol_unlink(struct vol *v, uint64_t parent, const char *name)
{
	return unlink_common(v, parent, name, NULL);
}

int vol_unlink_if(struct vol *v, uint64_t parent, const char *name, const struct vol_expect *exp)
{
	if (!exp->ino)
		return -EINVAL;
	return unlink_common(v, parent, name, exp);
}

static int unlink_common(struct vol *v, uint64_t parent, const char *name,
			 const struct vol_expect *exp)
{
	struct vol_runs pending = {0};
	struct idx_inode dir, inode;
	struct idx_dirent de;
	struct idx_txn *txn;
	struct timespec now;
	bool freed = false;
	uint64_t ino = 0;
	size_t len;
	int rc;

	if (v->rdonly)
		return -EROFS;
	rc = vol_name_check(name, &len);
	if (rc < 0)
		return rc;
	if (vol_name_is_dot(name, len))
		return -EISDIR;
retry:
	/* The inode's data lock must be taken before the transaction, so find
	 * out which inode the name points at first, then check it again. */
	rc = vol_peek_entry(v, parent, name, len, &ino);
	if (rc < 0)
		return rc;
	pthread_rwlock_t *il = vol_ilock(v, ino);
	pthread_rwlock_wrlock(il);
	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		goto out_unlock;
	idx_txn_use_reserve(txn); /* frees space: works on a full metadata disk */
	rc = vol_dir_get(txn, parent, &dir);
	if (rc < 0)
		goto out_abort_txn;
	rc = idx_dirent_get(txn, parent, name, len, &de);
	if (rc < 0)
		goto out_abort_txn;
	if (de.ino != ino) {
		/* Renamed over in between: lock the new inode instead. */
		idx_txn_abort(txn);
		pthread_rwlock_unlock(il);
		goto retry;
	}
	rc = idx_inode_get(txn, ino, &inode);
	if (rc == -ENOENT)
		rc = -EIO;
	if (rc < 0)
		goto out_abort_txn;
	if (S_ISDIR(inode.mode)) {
		rc = -EISDIR;
		goto out_abort_txn;
	}
	if (exp && (ino != exp->ino || inode.size != exp->size ||
		    inode.mtime.tv_sec != exp->mtime.tv_sec ||
		    inode.mtime.tv_nsec != exp->mtime.tv_nsec)) {
		rc = -ESTALE; /* replaced or written since it was looked at */
		goto out_abort_txn;
	}
	rc = idx_dirent_del(txn, parent, name, len);
	if (rc < 0)
		goto out_abort_txn;
	vol_now(&now);
	inode.nlink = inode.nlink ? inode.nlink - 1 : 0;
	inode.ctime = now;
	rc = idx_inode_put(txn, &inode);
	if (rc < 0)
		goto out_abort_txn;
	vol_dir_touch(&dir, &now);
	rc = idx_inode_put(txn, &dir);
	if (rc < 0)
		goto out_abort_txn;
	if (inode.nlink == 0) {
		rc = vol_inode_drop_locked(v, txn, ino, &pending, &freed);
		if (rc < 0)
			goto out_abort_txn;
	}
	rc = idx_txn_commit(txn);
	if (rc == 0) {
		vol_runs_release(v, &pending);
		if (freed)
			vol_lost_clear(v, ino, 0, UINT64_MAX);
	}
	vol_runs_fini(&pending);
	goto out_unlock;

out_abort_txn:
	idx_txn_abort(txn);
	vol_runs_fini(&pending);
out_unlock:
	pthread_rwlock_unlock(il);
	return rc;
}

int vol_rmdir(struct vol *v, uint64_t parent, const char *name)
{
	struct vol_runs pending = {0};
	struct idx_inode dir, inode;
	struct idx_dirent de;
	struct idx_txn *txn;
	struct timespec now;
	size_t len;
	int rc;

	if (v->rdonly)
		return -EROFS;
	rc = vol_name_check(name, &len);
	if (rc < 0)
		return rc;
	if (len == 1 && name[0] == '.')
		return -EINVAL;
	if (len == 2 && name[0] == '.' && name[1] == '.')
		return -ENOTEMPTY;
	/* A directory holds no chunks, so no data lock is needed to free it. */
	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		return rc;
	idx_txn_use_reserve(txn);
	rc = vol_dir_get(txn, parent, &dir);
	if (rc < 0)
		goto out_abort_txn;
	rc = idx_dirent_get(txn, parent, name, len, &de);
	if (rc < 0)
		goto out_abort_txn;
	rc = idx_inode_get(txn, de.ino, &inode);
	if (rc == -ENOENT)
		rc = -EIO;
	if (rc < 0)
		goto out_abort_txn;
	if (!S_ISDIR(inode.mode)) {
		rc = -ENOTDIR;
		goto out_abort_txn;
	}
	if (!idx_dir_empty(txn, de.ino)) {
		rc = -ENOTEMPTY;
		goto out_abort_txn;
	}
	rc = idx_dirent_del(txn, parent, name, len);
	if (rc < 0)
		goto out_abort_txn;
	vol_now(&now);
	inode.nlink = 0;
	inode.ctime = now;
	rc = idx_inode_put(txn, &inode);
	if (rc < 0)
		goto out_abort_txn;
	if (dir.nlink > 2)
		dir.nlink--;
	vol_dir_touch(&dir, &now);
	rc = idx_inode_put(txn, &dir);
	if (rc < 0)
		goto out_abort_txn;
	rc = vol_inode_drop_locked(v, txn, de.ino, &pending, NULL); /* no data, no marks */
	if (rc < 0)
		goto out_abort_txn;
	rc = idx_txn_commit(txn);
	if (rc == 0)
		vol_runs_release(v, &pending);
	vol_runs_fini(&pending);
	return rc;

out_abort_txn:
	idx_txn_abort(txn);
	vol_runs_fini(&pending);
	return rc;
}
