/* readdir and readdirplus. Cookies: 0 starts, "." carries next = 1 and ".."
 * next = 2; an entry in slot s (slots start at 1) carries next = s + 3, so
 * resuming from cookie c lists slots >= c - 2. Slots never move, so an entry
 * present for a whole scan is returned exactly once whatever else changes. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/log.h"
#include "fs/vol/vol_int.h"

typedef int (*readdir_cb)(void *arg, const struct vol_dirent *d, const struct vol_attr *attr);

struct list_ctx {
	struct vol *v;
	struct idx_txn *txn;
	uint64_t dir;
	bool plus;
	readdir_cb cb;
	void *arg;
};

/* Hand one entry to the caller; with plus, read its attributes and add a
 * reference when the caller keeps it (returns 0). The reference is taken
 * inside the transaction, like vol_lookup's. */
static int emit(struct list_ctx *c, uint64_t ino, uint32_t type, uint64_t next, const char *name,
		size_t namelen, bool counted)
{
	struct vol_dirent d = {
		.ino = ino, .type = type, .next = next, .name = name, .namelen = namelen};
	struct vol_attr attr, *ap = NULL;
	int rc;

	if (c->plus) {
		struct idx_inode inode;
		rc = idx_inode_get(c->txn, ino, &inode);
		if (rc < 0) {
			tfs_err("volume %s: entry %.*s of directory %" PRIu64
				" names inode %" PRIu64
				" which cannot be read (%s): run fsck.trackfs",
				c->v->meta_dir, (int)namelen, name, c->dir, ino, tfs_strerror(rc));
			return rc == -ENOENT ? -EIO : rc;
		}
		vol_attr_from_inode(c->v, &inode, &attr);
		ap = &attr;
	}
	rc = c->cb(c->arg, &d, ap);
	if (rc != 0)
		return 1; /* the caller is full: stop, not an error */
	if (c->plus && counted) {
		rc = vol_ref_get(c->v, ino, 1);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int list_cb(void *arg, const struct idx_dirent *de)
{
	return emit(arg, de->ino, de->type, de->slot + 3, de->name, de->namelen, true);
}

/*
 * The callback runs inside an index transaction: it must only copy the
 * entry out (as a FUSE reply buffer does) and must not call vol_* itself.
 * With plus, "." and ".." are not counted (libfuse's readdirplus rule: the
 * kernel sends no forget for them).
 */
int vol_readdir(struct vol *v, uint64_t ino, uint64_t cookie, bool plus, readdir_cb cb, void *arg)
{
	struct list_ctx c = {.v = v, .dir = ino, .plus = plus, .cb = cb, .arg = arg};
	struct idx_inode dir;
	int rc;

	rc = idx_txn_begin(v->idx, &c.txn);
	if (rc < 0)
		return rc;
	rc = idx_inode_get(c.txn, ino, &dir);
	if (rc < 0)
		goto out_abort_txn;
	if (!S_ISDIR(dir.mode)) {
		rc = -ENOTDIR;
		goto out_abort_txn;
	}
	if (cookie == 0) {
		rc = emit(&c, ino, DT_DIR, 1, ".", 1, false);
		if (rc != 0)
			goto out_abort_txn;
	}
	if (cookie <= 1) {
		rc = emit(&c, dir.parent ? dir.parent : ino, DT_DIR, 2, "..", 2, false);
		if (rc != 0)
			goto out_abort_txn;
	}
	rc = idx_dirent_list(c.txn, ino, cookie <= 2 ? 1 : cookie - 2, list_cb, &c);
out_abort_txn:
	/* Only read: aborting ends the transaction without a commit. */
	idx_txn_abort(c.txn);
	return rc > 0 ? 0 : rc;
}
