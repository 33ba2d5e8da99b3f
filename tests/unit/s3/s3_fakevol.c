/* A stand-in for fs/vol over a plain host directory, for developing and
 * testing the S3 sidecar before (and independently of) the real volume
 * engine. Only the fs/vol/vol.h calls the sidecar uses are implemented; inode
 * numbers are the host's, mapped back to paths in a table. Test code only:
 * it is linked into trackfs-s3-fakevol, never into the product. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fs/vol/vol.h"
#include "fs/vol/volfile.h"

struct ent {
	uint64_t ino;
	char *rel; /* "" for the root, else "a/b" */
	struct ent *next;
};

struct vol {
	char root[PATH_MAX];
	pthread_mutex_t lock;
	struct ent *tab[4096];
};

static uint64_t host_ino(struct vol *v, const struct stat *st)
{
	return st->st_ino == 1 ? 0x7fffffffffffull : st->st_ino;
}

static struct ent *find(struct vol *v, uint64_t ino)
{
	for (struct ent *e = v->tab[ino % 4096]; e; e = e->next)
		if (e->ino == ino)
			return e;
	return NULL;
}

static void remember(struct vol *v, uint64_t ino, const char *rel)
{
	struct ent *e = find(v, ino);

	if (e) {
		char *r = strdup(rel);
		if (r) {
			free(e->rel);
			e->rel = r;
		}
		return;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	e->ino = ino;
	e->rel = strdup(rel);
	e->next = v->tab[ino % 4096];
	v->tab[ino % 4096] = e;
}

/* Host path of inode @p ino (+ "/" + @p name). */
static int path_of(struct vol *v, uint64_t ino, const char *name, char *out)
{
	struct ent *e = ino == VOL_ROOT_INO ? NULL : find(v, ino);
	const char *rel = ino == VOL_ROOT_INO ? "" : e ? e->rel : NULL;

	if (!rel)
		return -ENOENT;
	if (name && (!*name || strchr(name, '/') || strlen(name) > 255))
		return strlen(name) > 255 ? -ENAMETOOLONG : -EINVAL;
	snprintf(out, PATH_MAX, "%s%s%s%s%s", v->root, *rel ? "/" : "", rel, name ? "/" : "",
		 name ? name : "");
	return 0;
}

static void fill(struct vol *v, const struct stat *st, struct vol_attr *a, bool root)
{
	memset(a, 0, sizeof(*a));
	a->ino = root ? VOL_ROOT_INO : host_ino(v, st);
	a->mode = st->st_mode;
	a->nlink = (uint32_t)st->st_nlink;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->size = (uint64_t)st->st_size;
	a->blocks = (uint64_t)st->st_blocks;
	a->blksize = 4096;
	a->atime = st->st_atim;
	a->mtime = st->st_mtim;
	a->ctime = st->st_ctim;
	a->btime = st->st_mtim;
}

int vol_open(const char *meta_dir, const struct vol_open_opts *opts, struct vol **out)
{
	struct vol *v = calloc(1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	if (!realpath(meta_dir, v->root)) {
		int rc = -errno;
		free(v);
		return rc;
	}
	pthread_mutex_init(&v->lock, NULL);
	*out = v;
	return 0;
}

int vol_close(struct vol *v)
{
	if (!v)
		return 0;
	for (size_t i = 0; i < 4096; i++)
		for (struct ent *e = v->tab[i], *n; e; e = n) {
			n = e->next;
			free(e->rel);
			free(e);
		}
	free(v);
	return 0;
}

int vol_getattr(struct vol *v, uint64_t ino, struct vol_attr *out)
{
	char p[PATH_MAX];
	struct stat st;
	int rc;

	pthread_mutex_lock(&v->lock);
	rc = path_of(v, ino, NULL, p);
	pthread_mutex_unlock(&v->lock);
	if (rc)
		return rc;
	if (lstat(p, &st))
		return -errno;
	fill(v, &st, out, ino == VOL_ROOT_INO);
	return 0;
}

int vol_setattr(struct vol *v, uint64_t ino, const struct vol_attr *in, unsigned mask,
		struct vol_attr *out)
{
	return -ENOTSUP;
}

static int entry_done(struct vol *v, uint64_t parent, const char *name, const char *p,
		      struct vol_attr *out)
{
	struct stat st;
	struct ent *e = parent == VOL_ROOT_INO ? NULL : find(v, parent);
	char rel[PATH_MAX];

	if (lstat(p, &st))
		return -errno;
	snprintf(rel, sizeof(rel), "%s%s%s", e ? e->rel : "", e ? "/" : "", name);
	remember(v, host_ino(v, &st), rel);
	fill(v, &st, out, false);
	return 0;
}

int vol_lookup(struct vol *v, uint64_t parent, const char *name, struct vol_attr *out)
{
	char p[PATH_MAX];
	int rc;

	pthread_mutex_lock(&v->lock);
	rc = path_of(v, parent, name, p);
	if (!rc)
		rc = entry_done(v, parent, name, p, out);
	pthread_mutex_unlock(&v->lock);
	return rc;
}

void vol_forget(struct vol *v, uint64_t ino, uint64_t n)
{
}

int vol_create(struct vol *v, uint64_t parent, const char *name, uint32_t mode,
	       const struct vol_cred *cred, struct vol_attr *out)
{
	char p[PATH_MAX];
	int rc, fd;

	pthread_mutex_lock(&v->lock);
	rc = path_of(v, parent, name, p);
	if (!rc) {
		fd = open(p, O_CREAT | O_EXCL | O_WRONLY, mode & 07777);
		if (fd < 0)
			rc = -errno;
		else
			close(fd);
	}
	if (!rc)
		rc = entry_done(v, parent, name, p, out);
	pthread_mutex_unlock(&v->lock);
	return rc;
}

int vol_mkdir(struct vol *v, uint64_t parent, const char *name, uint32_t mode,
	      const struct vol_cred *cred, struct vol_attr *out)
{
	char p[PATH_MAX];
	int rc;

	pthread_mutex_lock(&v->lock);
	rc = path_of(v, parent, name, p);
	if (!rc && mkdir(p, mode & 07777))
		rc = -errno;
	if (!rc)
		rc = entry_done(v, parent, name, p, out);
	pthread_mutex_unlock(&v->lock);
	return rc;
}

int vol_unlink(struct vol *v, uint64_t parent, const char *name)
{
	char p[PATH_MAX];
	struct stat st;
	int rc;

	pthread_mutex_lock(&v->lock);
	rc = path_of(v, parent, name, p);
	if (!rc && lstat(p, &st))
		rc = -errno;
	if (!rc && S_ISDIR(st.st_mode))
		rc = -EISDIR;
	if (!rc && unlink(p))
		rc = -errno;
	pthread_mutex_unlock(&v->lock);
	return rc;
}

int vol_rmdir(struct vol *v, uint64_t parent, const char *name)
{
	char p[PATH_MAX];
	int rc;

	pthread_mutex_lock(&v->lock);
	rc = path_of(v, parent, name, p);
	if (!rc && rmdir(p))
		rc = -errno;
	pthread_mutex_unlock(&v->lock);
	return rc;
}

int vol_rename(struct vol *v, uint64_t parent, const char *name, uint64_t newparent,
	       const char *newname, unsigned flags)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct vol_attr attr;
	int rc;

	pthread_mutex_lock(&v->lock);
	rc = path_of(v, parent, name, a);
	if (!rc)
		rc = path_of(v, newparent, newname, b);
	if (!rc && renameat2(AT_FDCWD, a, AT_FDCWD, b, flags))
		rc = -errno;
	if (!rc)
		rc = entry_done(v, newparent, newname, b, &attr);
	pthread_mutex_unlock(&v->lock);
	return rc;
}

/* The host file at @p p is what @p exp expects. */
static bool fake_expected(struct vol *v, const char *p, const struct vol_expect *exp)
{
	struct stat st;

	return lstat(p, &st) == 0 && host_ino(v, &st) == exp->ino &&
	       (uint64_t)st.st_size == exp->size && st.st_mtim.tv_sec == exp->mtime.tv_sec &&
	       st.st_mtim.tv_nsec == exp->mtime.tv_nsec;
}

int vol_rename_if(struct vol *v, uint64_t parent, const char *name, uint64_t newparent,
		  const char *newname, const struct vol_expect *exp)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct vol_attr attr;
	int rc;

	pthread_mutex_lock(&v->lock);
	rc = path_of(v, parent, name, a);
	if (!rc)
		rc = path_of(v, newparent, newname, b);
	if (!rc && exp->ino && !fake_expected(v, b, exp))
		rc = -ESTALE;
	if (!rc && renameat2(AT_FDCWD, a, AT_FDCWD, b, exp->ino ? 0 : RENAME_NOREPLACE))
		rc = -errno;
	if (!rc)
		rc = entry_done(v, newparent, newname, b, &attr);
	pthread_mutex_unlock(&v->lock);
	return rc;
}

int vol_unlink_if(struct vol *v, uint64_t parent, const char *name, const struct vol_expect *exp)
{
	char p[PATH_MAX];
	int rc;

	pthread_mutex_lock(&v->lock);
	rc = path_of(v, parent, name, p);
	if (!rc && !fake_expected(v, p, exp))
		rc = -ESTALE;
	if (!rc && unlink(p))
		rc = -errno;
	pthread_mutex_unlock(&v->lock);
	return rc;
}

int vol_readdir(struct vol *v, uint64_t ino, uint64_t cookie, bool plus,
		int (*cb)(void *arg, const struct vol_dirent *d, const struct vol_attr *attr),
		void *arg)
{
	char p[PATH_MAX];
	DIR *d;
	struct dirent *de;
	uint64_t idx = 0;
	int rc;

	pthread_mutex_lock(&v->lock);
	rc = path_of(v, ino, NULL, p);
	pthread_mutex_unlock(&v->lock);
	if (rc)
		return rc;
	d = opendir(p);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct vol_dirent e;
		idx++;
		if (idx <= cookie)
			continue;
		e.ino = de->d_ino;
		e.type = de->d_type;
		e.next = idx;
		e.name = de->d_name;
		e.namelen = strlen(de->d_name);
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			struct vol_attr a;
			pthread_mutex_lock(&v->lock);
			char child[PATH_MAX];
			if (!path_of(v, ino, de->d_name, child))
				entry_done(v, ino, de->d_name, child, &a);
			pthread_mutex_unlock(&v->lock);
			e.ino = a.ino;
		}
		if (cb(arg, &e, NULL))
			break;
	}
	closedir(d);
	return 0;
}

static int open_ino(struct vol *v, uint64_t ino, int flags)
{
	char p[PATH_MAX];
	int rc, fd;

	pthread_mutex_lock(&v->lock);
	rc = path_of(v, ino, NULL, p);
	pthread_mutex_unlock(&v->lock);
	if (rc)
		return rc;
	fd = open(p, flags);
	return fd < 0 ? -errno : fd;
}

ssize_t vol_read(struct vol *v, uint64_t ino, void *buf, size_t size, off_t off)
{
	int fd = open_ino(v, ino, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return fd;
	n = pread(fd, buf, size, off);
	if (n < 0)
		n = -errno;
	close(fd);
	return n;
}

ssize_t vol_write(struct vol *v, uint64_t ino, const void *buf, size_t size, off_t off)
{
	int fd = open_ino(v, ino, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return fd;
	n = pwrite(fd, buf, size, off);
	if (n < 0)
		n = -errno;
	close(fd);
	return n;
}

ssize_t vol_getxattr(struct vol *v, uint64_t ino, const char *name, void *buf, size_t size)
{
	char p[PATH_MAX];
	ssize_t n;
	int rc;

	pthread_mutex_lock(&v->lock);
	rc = path_of(v, ino, NULL, p);
	pthread_mutex_unlock(&v->lock);
	if (rc)
		return rc;
	n = lgetxattr(p, name, buf, size);
	return n < 0 ? -errno : n;
}

int vol_setxattr(struct vol *v, uint64_t ino, const char *name, const void *value, size_t size,
		 int flags)
{
	char p[PATH_MAX];
	int rc;

	pthread_mutex_lock(&v->lock);
	rc = path_of(v, ino, NULL, p);
	pthread_mutex_unlock(&v->lock);
	if (rc)
		return rc;
	return lsetxattr(p, name, value, size, flags) ? -errno : 0;
}

ssize_t vol_listxattr(struct vol *v, uint64_t ino, char *buf, size_t size)
{
	char p[PATH_MAX];
	ssize_t n;
	int rc;

	pthread_mutex_lock(&v->lock);
	rc = path_of(v, ino, NULL, p);
	pthread_mutex_unlock(&v->lock);
	if (rc)
		return rc;
	n = llistxattr(p, buf, size);
	return n < 0 ? -errno : n;
}

int vol_removexattr(struct vol *v, uint64_t ino, const char *name)
{
	char p[PATH_MAX];
	int rc;

	pthread_mutex_lock(&v->lock);
	rc = path_of(v, ino, NULL, p);
	pthread_mutex_unlock(&v->lock);
	if (rc)
		return rc;
	return lremovexattr(p, name) ? -errno : 0;
}

int vol_sync(struct vol *v)
{
	return 0;
}

int vol_fsync(struct vol *v, uint64_t ino, bool datasync)
{
	return 0;
}

/* No chunks to move or place on a host directory: the sidecar copies. */
int vol_move_range(struct vol *v, uint64_t src, uint64_t src_off, uint64_t len, uint64_t dst,
		   uint64_t dst_off)
{
	(void)v, (void)src, (void)src_off, (void)len, (void)dst, (void)dst_off;
	return -EXDEV;
}

int vol_pick_disk(struct vol *v)
{
	(void)v;
	return -ENOSPC;
}

int vol_set_disk(struct vol *v, uint64_t ino, int disk)
{
	(void)v, (void)ino, (void)disk;
	return -EINVAL;
}

/* No control socket here: nothing reaches the sidecar's reload. */
void vol_control_set_reload(struct vol *v, int (*fn)(void *arg, char *why, size_t len), void *arg)
{
	(void)v, (void)fn, (void)arg;
}

int vol_meta_resolve(const char *arg, char out[PATH_MAX])
{
	snprintf(out, PATH_MAX, "%s", arg);
	return 0;
}

int vol_control_request(const char *meta_dir, const char *req, char *reply, size_t len)
{
	(void)meta_dir, (void)req, (void)reply, (void)len;
	return -ECONNREFUSED;
}

int vol_control_reply_errno(const char *rep, const char **msg)
{
	if (msg)
		*msg = rep;
	return EPROTO;
}

/* No status to show it in. */
int vol_note_set(struct vol *v, const char *key, const char *text)
{
	(void)v, (void)key, (void)text;
	return 0;
}

/* No other front end to hide the names from. */
int vol_reserve_name(struct vol *v, const char *name, unsigned flags)
{
	(void)v, (void)name, (void)flags;
	return 0;
}

bool vol_name_reserved(struct vol *v, uint64_t parent, const char *name, size_t len)
{
	(void)v, (void)parent, (void)name, (void)len;
	return false;
}

/* No engine behind it: the sidecar's own metrics only. */
int vol_metrics_format(struct vol *v, FILE *out)
{
	return 0;
}

void vol_metrics_head(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}
