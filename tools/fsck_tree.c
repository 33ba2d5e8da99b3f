/* fsck.trackfs, the directory tree: loading inodes, directory entries and the
 * orphan list, then checking that every entry points at an inode, that every
 * inode is reachable from the root (or an orphan), directories' parent fields,
 * link counts and block counts. Fixes are only scheduled here (fsck_repair.c
 * writes them). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/fsck.h"

struct fsck_inode *fsck_inode_find(struct fsck *f, uint64_t ino)
{
	size_t lo = 0, hi = f->ninodes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->inodes[mid].ino == ino)
			return &f->inodes[mid];
		if (f->inodes[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void fsck_path(struct fsck *f, uint64_t ino, char *buf, size_t size)
{
	char *tmp = malloc(size);
	size_t pos = size - 1;
	unsigned depth = 0;

	if (!tmp || size < 2) {
		snprintf(buf, size, "<inode %llu>", (unsigned long long)ino);
		free(tmp);
		return;
	}
	tmp[pos] = '\0';
	if (ino == IDX_ROOT_INO) {
		snprintf(buf, size, "/");
		free(tmp);
		return;
	}
	/* Walk up the first entry of each inode; a depth limit guards cycles. */
	for (uint64_t cur = ino; cur != IDX_ROOT_INO; depth++) {
		struct fsck_inode *n = fsck_inode_find(f, cur);
		size_t len;

		if (!n || !n->name || !n->dparent || depth > 4096)
			goto unreachable;
		len = strlen(n->name);
		if (len + 1 > pos)
			goto unreachable;
		pos -= len;
		memcpy(tmp + pos, n->name, len);
		tmp[--pos] = '/';
		cur = n->dparent;
	}
	snprintf(buf, size, "%s", tmp + pos);
	free(tmp);
	return;
unreachable:
	snprintf(buf, size, "<inode %llu>", (unsigned long long)ino);
	free(tmp);
}

static int load_inode_cb(void *arg, const struct idx_inode *in)
{
	struct fsck *f = arg;
	struct fsck_inode *n;

	if (fsck_grow((void **)&f->inodes, &f->cap_inodes, f->ninodes + 1, sizeof(*n)) < 0)
		return -ENOMEM;
	if (f->ninodes && f->inodes[f->ninodes - 1].ino >= in->ino)
		return -EIO; /* the iterator promised ascending order */
	n = &f->inodes[f->ninodes++];
	memset(n, 0, sizeof(*n));
	n->ino = in->ino;
	n->mode = in->mode;
	n->nlink = in->nlink;
	n->size = in->size;
	n->blocks = in->blocks;
	n->parent = in->parent;
	if (S_ISDIR(in->mode))
		f->ndirs++;
	else
		f->nfiles++;
	if (S_ISREG(in->mode))
		f->total_chunks += in->blocks;
	return 0;
}

/* Whether the entry (parent, d) can count as a link; the first pass (names for
 * paths) and the second (checks) must agree on it. */
static bool entry_valid(struct fsck *f, uint64_t parent, const struct idx_dirent *d)
{
	struct fsck_inode *p = fsck_inode_find(f, parent);
	struct fsck_inode *t = fsck_inode_find(f, d->ino);

	return p && S_ISDIR(p->mode) && t && d->ino != IDX_ROOT_INO;
}

static int name_cb(void *arg, uint64_t parent, const struct idx_dirent *d)
{
	struct fsck *f = arg;
	struct fsck_inode *t;

	if (!entry_valid(f, parent, d))
		return 0;
	t = fsck_inode_find(f, d->ino);
	if (t->name)
		return 0;
	t->name = strdup(d->name);
	if (!t->name)
		return -ENOMEM;
	t->dparent = parent;
	return 0;
}

static int add_dfix(struct fsck *f, enum fsck_dirent_fix what, uint64_t parent,
		    const struct idx_dirent *d, uint8_t type)
{
	struct fsck_dfix *x;

	if (fsck_grow((void **)&f->dfixes, &f->cap_dfixes, f->ndfixes + 1, sizeof(*x)) < 0)
		return -ENOMEM;
	x = &f->dfixes[f->ndfixes];
	x->name = strdup(d->name);
	if (!x->name)
		return -ENOMEM;
	x->what = what;
	x->parent = parent;
	x->ino = d->ino;
	x->type = type;
	f->ndfixes++;
	return 0;
}

static int entry_cb(void *arg, uint64_t parent, const struct idx_dirent *d)
{
	struct fsck *f = arg;
	struct fsck_inode *p = fsck_inode_find(f, parent);
	struct fsck_inode *t = fsck_inode_find(f, d->ino);
	char path[PATH_MAX];

	fsck_path(f, parent, path, sizeof(path));
	if (!p || !S_ISDIR(p->mode)) {
		if (fsck_problem(f, true, "entry '%s' of inode %llu: %s", d->name,
				 (unsigned long long)parent,
				 p ? "that inode is not a directory"
				   : "that directory does not exist"))
			return add_dfix(f, DFIX_DELETE, parent, d, 0);
		return 0;
	}
	if (!t) {
		if (fsck_problem(f, true, "%s%s%s points to inode %llu, which does not exist", path,
				 strcmp(path, "/") ? "/" : "", d->name, (unsigned long long)d->ino))
			return add_dfix(f, DFIX_DELETE, parent, d, 0);
		return 0;
	}
	if (d->ino == IDX_ROOT_INO) {
		if (fsck_problem(f, true, "%s/%s points to the root directory", path, d->name))
			return add_dfix(f, DFIX_DELETE, parent, d, 0);
		return 0;
	}
	if (S_ISDIR(t->mode) && t->links >= 1) {
		/* Directories have exactly one entry; keep the first (it names the path). */
		if (fsck_problem(f, true, "directory inode %llu has a second entry %s/%s",
				 (unsigned long long)d->ino, path, d->name))
			return add_dfix(f, DFIX_DELETE, parent, d, 0);
		return 0;
	}
	uint8_t want = (uint8_t)IFTODT(t->mode);
	if (d->type != want) {
		if (fsck_problem(f, true, "%s/%s: entry type %u but inode %llu has type %u", path,
				 d->name, d->type, (unsigned long long)d->ino, want)) {
			int rc = add_dfix(f, DFIX_RETYPE, parent, d, want);
			if (rc < 0)
				return rc;
		}
	}
	t->links++;
	if (S_ISDIR(t->mode)) {
		p->subdirs++;
	} else {
		if (fsck_grow((void **)&f->edges, &f->cap_edges, f->nedges + 1, sizeof(*f->edges)) <
		    0)
			return -ENOMEM;
		f->edges[f->nedges++] = (struct fsck_edge){.parent = parent, .ino = d->ino};
	}
	return 0;
}

static int add_odel(struct fsck *f, uint64_t ino)
{
	if (fsck_grow((void **)&f->odel, &f->cap_odel, f->nodel + 1, sizeof(*f->odel)) < 0)
		return -ENOMEM;
	f->odel[f->nodel++] = ino;
	return 0;
}

static int orphan_cb(void *arg, uint64_t ino)
{
	struct fsck *f = arg;
	struct fsck_inode *n = fsck_inode_find(f, ino);

	if (!n) {
		if (fsck_problem(f, true, "the orphan list names inode %llu, which does not exist",
				 (unsigned long long)ino))
			return add_odel(f, ino);
		return 0;
	}
	n->orphan = true;
	return 0;
}

int fsck_tree_load(struct fsck *f, struct idx_txn *txn)
{
	int rc;

	rc = idx_inode_iter(txn, load_inode_cb, f);
	if (rc < 0)
		return rc;
	rc = idx_dirent_iter_all(txn, name_cb, f);
	if (rc < 0)
		return rc;
	rc = idx_dirent_iter_all(txn, entry_cb, f);
	if (rc < 0)
		return rc;
	return idx_orphan_iter(txn, orphan_cb, f);
}

/* Whether directory @p d is reachable from the root through first entries. */
static uint8_t dir_reach(struct fsck *f, struct fsck_inode *d)
{
	struct fsck_inode *cur = d;
	uint8_t result;

	/* Walk up marking WALKING; meeting WALKING again means a cycle. */
	while (cur->reach == REACH_UNKNOWN) {
		cur->reach = REACH_WALKING;
		struct fsck_inode *up = cur->dparent ? fsck_inode_find(f, cur->dparent) : NULL;
		if (!up) {
			result = REACH_NO;
			goto assign;
		}
		cur = up;
	}
	result = cur->reach == REACH_WALKING ? REACH_NO : cur->reach;
assign:
	for (cur = d; cur && cur->reach == REACH_WALKING;) {
		cur->reach = result;
		cur = cur->dparent ? fsck_inode_find(f, cur->dparent) : NULL;
	}
	return result;
}

static void compute_reach(struct fsck *f)
{
	for (size_t i = 0; i < f->ninodes; i++) {
		struct fsck_inode *n = &f->inodes[i];
		if (n->ino == IDX_ROOT_INO || n->relink)
			n->reach = REACH_YES;
		else if (n->reach != REACH_YES)
			n->reach = REACH_UNKNOWN;
	}
	for (size_t i = 0; i < f->ninodes; i++)
		if (S_ISDIR(f->inodes[i].mode))
			dir_reach(f, &f->inodes[i]);
	for (size_t i = 0; i < f->nedges; i++) {
		struct fsck_inode *p = fsck_inode_find(f, f->edges[i].parent);
		struct fsck_inode *t = fsck_inode_find(f, f->edges[i].ino);
		if (p && t && p->reach == REACH_YES)
			t->reach = REACH_YES;
	}
}

/* Find the directory to move into /lost+found so that @p d becomes reachable:
 * the top of its chain (no entry), or a member of the cycle it hangs from. */
static struct fsck_inode *detach_point(struct fsck *f, struct fsck_inode *d)
{
	struct fsck_inode *slow = d, *fast = d;

	for (;;) {
		struct fsck_inode *up = fast->dparent ? fsck_inode_find(f, fast->dparent) : NULL;
		if (!up || up->reach == REACH_YES)
			return fast;
		fast = up;
		up = fast->dparent ? fsck_inode_find(f, fast->dparent) : NULL;
		if (!up || up->reach == REACH_YES)
			return fast;
		fast = up;
		slow = fsck_inode_find(f, slow->dparent);
		if (slow == fast)
			return slow; /* inside a cycle */
	}
}

static int fix_dirs(struct fsck *f)
{
	/* Each round moves at least one directory, so this ends. */
	for (;;) {
		struct fsck_inode *d = NULL;

		compute_reach(f);
		for (size_t i = 0; i < f->ninodes && !d; i++)
			if (S_ISDIR(f->inodes[i].mode) && f->inodes[i].reach != REACH_YES)
				d = &f->inodes[i];
		if (!d)
			return 0;
		struct fsck_inode *top = detach_point(f, d);
		if (top->dparent) {
			struct fsck_inode *p = fsck_inode_find(f, top->dparent);
			bool fix = fsck_problem(
				f, true,
				"directory inode %llu ('%s' in inode %llu) is in a cycle of "
				"directories not reachable from the root",
				(unsigned long long)top->ino, top->name ? top->name : "?",
				(unsigned long long)top->dparent);
			if (fix) {
				struct idx_dirent de = {.ino = top->ino};
				snprintf(de.name, sizeof(de.name), "%s",
					 top->name ? top->name : "");
				int rc = add_dfix(f, DFIX_DELETE, top->dparent, &de, 0);
				if (rc < 0)
					return rc;
			}
			if (p && p->subdirs)
				p->subdirs--;
		} else {
			fsck_problem(f, true, "directory inode %llu is in no directory",
				     (unsigned long long)top->ino);
		}
		/* Pretend it is in /lost+found now, whether or not we repair, so the
		 * rest of the tree is checked once. */
		top->relink = true;
		top->links = 1;
	}
}

static void want(struct fsck_inode *n)
{
	if (!n->dirty) {
		n->dirty = true;
		n->want_nlink = n->nlink;
		n->want_parent = n->parent;
		n->want_blocks = n->blocks;
	}
}

static int check_inode(struct fsck *f, struct fsck_inode *n)
{
	char path[PATH_MAX];

	fsck_path(f, n->ino, path, sizeof(path));
	if (S_ISDIR(n->mode)) {
		uint32_t exp = 2 + n->subdirs;
		uint64_t par = n->ino == IDX_ROOT_INO ? IDX_ROOT_INO : n->dparent;
		if (n->nlink != exp &&
		    fsck_problem(f, true,
				 "directory %s (inode %llu) has link "
				 "count %u, should be %u",
				 path, (unsigned long long)n->ino, n->nlink, exp)) {
			want(n);
			n->want_nlink = exp;
		}
		/* Relinked directories get their parent set when they are moved. */
		if (!n->relink && n->parent != par &&
		    fsck_problem(f, true,
				 "directory %s (inode %llu) records parent %llu, but is in "
				 "inode %llu",
				 path, (unsigned long long)n->ino, (unsigned long long)n->parent,
				 (unsigned long long)par)) {
			want(n);
			n->want_parent = par;
		}
		if (n->orphan && fsck_problem(f, true, "directory %s is on the orphan list", path))
			return add_odel(f, n->ino);
		return 0;
	}

	if (n->links == 0 && n->nlink == 0) {
		/* Unlinked while open: reclaimed by the last close, or by the next
		 * mount after a crash. Left over on a clean volume it is an error. */
		if (!n->orphan) {
			if (fsck_problem(f, true,
					 "inode %llu has no links and is not on the orphan "
					 "list",
					 (unsigned long long)n->ino))
				n->reclaim = true;
		} else if (!f->unclean || f->repair) {
			if (fsck_problem(f, true,
					 "orphan inode %llu (unlinked while open, %llu bytes) "
					 "was not reclaimed",
					 (unsigned long long)n->ino, (unsigned long long)n->size))
				n->reclaim = true;
		} else {
			fsck_note(f, "orphan inode %llu will be reclaimed by the next mount",
				  (unsigned long long)n->ino);
		}
		return 0;
	}
	if (n->links == 0) {
		/* Not in any directory but not unlinked either: lost. */
		fsck_problem(f, true,
			     "inode %llu (%llu bytes, %u links recorded) is in no directory",
			     (unsigned long long)n->ino, (unsigned long long)n->size, n->nlink);
		n->relink = true;
		n->links = 1;
		fsck_path(f, n->ino, path, sizeof(path));
	}
	if (n->orphan) {
		if (fsck_problem(f, true, "%s (inode %llu) is on the orphan list but has links",
				 path, (unsigned long long)n->ino)) {
			int rc = add_odel(f, n->ino);
			if (rc < 0)
				return rc;
		}
	}
	if (n->nlink != n->links &&
	    fsck_problem(f, true, "%s (inode %llu) has link count %u, should be %u", path,
			 (unsigned long long)n->ino, n->nlink, n->links)) {
		want(n);
		n->want_nlink = n->links;
	}
	return 0;
}

int fsck_tree_check(struct fsck *f)
{
	struct fsck_inode *root = fsck_inode_find(f, IDX_ROOT_INO);
	int rc;

	if (!root || !S_ISDIR(root->mode)) {
		fsck_problem(f, false,
			     "the root directory (inode 1) is %s; rebuild the metadata "
			     "directory with fsck.trackfs --restore-meta",
			     root ? "not a directory" : "missing");
		return 0;
	}
	rc = fix_dirs(f);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < f->ninodes; i++) {
		rc = check_inode(f, &f->inodes[i]);
		if (rc < 0)
			return rc;
	}
	/* Block counts, from the extent scan (which ran before this). */
	for (size_t i = 0; i < f->ninodes; i++) {
		struct fsck_inode *n = &f->inodes[i];
		char path[PATH_MAX];

		if (n->reclaim || n->blocks == n->ext_chunks)
			continue;
		fsck_path(f, n->ino, path, sizeof(path));
		if (fsck_problem(f, true,
				 "%s (inode %llu) records %llu chunks, its extents hold %llu", path,
				 (unsigned long long)n->ino, (unsigned long long)n->blocks,
				 (unsigned long long)n->ext_chunks)) {
			want(n);
			n->want_blocks = n->ext_chunks;
		}
	}
	return 0;
}
