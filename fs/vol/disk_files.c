/* Which files live on a disk: one scan of every extent finds the inodes with
 * chunks on the disk (and whether they have chunks on others too), one scan
 * of every directory entry names them. Served to `trackfs disk files`
 * directly on an unmounted volume and over the control socket on a mounted
 * one ("disk-files DISK"). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/base/log.h"
#include "fs/vol/vol_int.h"

struct df_file {
	uint64_t ino;
	uint64_t here, elsewhere; /* chunks on the disk, on other disks */
	uint64_t parent;	  /* 0 until a name is found */
	char *name;
};

struct df_dir {
	uint64_t ino, parent;
	char *name;
};

struct df_scan {
	unsigned disk;
	struct df_file *files;
	size_t nfiles, cap;
	struct df_file cur; /* the inode being summed (extents come in ino order) */
	struct df_dir *dirs;
	size_t ndirs, dcap;
};

static int df_flush(struct df_scan *s)
{
	if (!s->cur.ino || !s->cur.here)
		return 0;
	if (s->nfiles == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct df_file *f = realloc(s->files, cap * sizeof(*f));
		if (!f)
			return -ENOMEM;
		s->files = f;
		s->cap = cap;
	}
	s->files[s->nfiles++] = s->cur;
	return 0;
}

static int df_extent_cb(void *arg, uint64_t ino, const struct idx_extent *e)
{
	struct df_scan *s = arg;

	if (ino != s->cur.ino) {
		int rc = df_flush(s);
		if (rc < 0)
			return rc;
		memset(&s->cur, 0, sizeof(s->cur));
		s->cur.ino = ino;
	}
	if (e->disk == s->disk)
		s->cur.here += e->nchunks;
	else
		s->cur.elsewhere += e->nchunks;
	return 0;
}

static struct df_file *df_find(struct df_scan *s, uint64_t ino)
{
	size_t lo = 0, hi = s->nfiles;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->files[mid].ino == ino)
			return &s->files[mid];
		if (s->files[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int df_dirent_cb(void *arg, uint64_t parent, const struct idx_dirent *d)
{
	struct df_scan *s = arg;

	if (d->type == DT_DIR) {
		if (s->ndirs == s->dcap) {
			size_t cap = s->dcap ? s->dcap * 2 : 64;
			struct df_dir *n = realloc(s->dirs, cap * sizeof(*n));
			if (!n)
				return -ENOMEM;
			s->dirs = n;
			s->dcap = cap;
		}
		char *name = strdup(d->name);
		if (!name)
			return -ENOMEM;
		s->dirs[s->ndirs++] =
			(struct df_dir){.ino = d->ino, .parent = parent, .name = name};
		return 0;
	}
	struct df_file *f = df_find(s, d->ino);
	if (!f || f->parent)
		return 0; /* not on the disk, or a second hard link */
	f->name = strdup(d->name);
	if (!f->name)
		return -ENOMEM;
	f->parent = parent;
	return 0;
}

static int df_dir_cmp(const void *a, const void *b)
{
	const struct df_dir *x = a, *y = b;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static const struct df_dir *df_dir_find(const struct df_scan *s, uint64_t ino)
{
	struct df_dir key = {.ino = ino};
	return bsearch(&key, s->dirs, s->ndirs, sizeof(key), df_dir_cmp);
}

/* The path of @p f from its directory chain; "" when it has no name. */
static void df_path(const struct df_scan *s, const struct df_file *f, char *buf, size_t size)
{
	const char *parts[256];
	unsigned n = 0;
	size_t len = 0;

	buf[0] = '\0';
	if (!f->name)
		return;
	parts[n++] = f->name;
	for (uint64_t p = f->parent; p != VOL_ROOT_INO && n < 256;) {
		const struct df_dir *d = df_dir_find(s, p);
		if (!d)
			return;
		parts[n++] = d->name;
		p = d->parent;
	}
	while (n-- > 0 && len < size) {
		int w = snprintf(buf + len, size - len, "/%s", parts[n]);
		if (w < 0)
			break;
		len += (size_t)w;
	}
}

int vol_disk_files(struct vol *v, unsigned disk,
		   int (*cb)(void *arg, const struct vol_disk_file *f), void *arg)
{
	struct df_scan s = {.disk = disk};
	struct idx_txn *txn;
	char *path;
	int rc;

	pthread_mutex_lock(&v->disks_mu);
	unsigned ndisks = v->vf.ndisks;
	pthread_mutex_unlock(&v->disks_mu);
	if (disk >= ndisks)
		return -ENODEV;
	path = malloc(PATH_MAX);
	if (!path)
		return -ENOMEM;
	rc = idx_txn_begin_read(v->idx, &txn);
	if (rc < 0)
		goto out_free;
	rc = idx_extent_iter_all(txn, df_extent_cb, &s);
	if (rc == 0)
		rc = df_flush(&s);
	if (rc == 0 && s.nfiles)
		rc = idx_dirent_iter_all(txn, df_dirent_cb, &s);
	idx_txn_abort(txn);
	if (rc < 0)
		goto out_free;
	qsort(s.dirs, s.ndirs, sizeof(*s.dirs), df_dir_cmp);
	for (size_t i = 0; i < s.nfiles && rc == 0; i++) {
		const struct df_file *f = &s.files[i];
		df_path(&s, f, path, PATH_MAX);
		struct vol_disk_file out = {.ino = f->ino,
					    .path = path,
					    .bytes_here = f->here * v->chunk_size,
					    .bytes_elsewhere = f->elsewhere * v->chunk_size};
		rc = cb(arg, &out);
	}
out_free:
	for (size_t i = 0; i < s.nfiles; i++)
		free(s.files[i].name);
	for (size_t i = 0; i < s.ndirs; i++)
		free(s.dirs[i].name);
	free(s.files);
	free(s.dirs);
	free(path);
	return rc < 0 ? rc : 0;
}

/* A path on the wire and on the terminal: a newline or a backslash in a name
 * is written \n or \\ so that each file stays one line. */
void vol_path_escape(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (; *in && o + 3 < size; in++) {
		if (*in == '\n' || *in == '\\') {
			out[o++] = '\\';
			out[o++] = *in == '\n' ? 'n' : '\\';
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
}

static int serve_cb(void *arg, const struct vol_disk_file *f)
{
	FILE *out = arg;
	char esc[PATH_MAX * 2];

	vol_path_escape(f->path, esc, sizeof(esc));
	if (fprintf(out, "file %" PRIu64 " %" PRIu64 " %" PRIu64 " %s\n", f->ino, f->bytes_here,
		    f->bytes_elsewhere, esc) < 0)
		return -EPIPE;
	return 0;
}

void vol_disk_files_serve(struct vol *v, int fd, const char *arg)
{
	unsigned disk;
	int rc = -EINVAL;
	FILE *out = fdopen(fd, "w");

	if (!out) {
		close(fd);
		return;
	}
	if (sscanf(arg, "%u", &disk) == 1)
		rc = vol_disk_files(v, disk, serve_cb, out);
	/* The last line says whether the list is whole. */
	if (rc < 0)
		fprintf(out, "err %d\n", -rc);
	else
		fprintf(out, "ok\n");
	fclose(out);
}

int vol_disk_files_remote(const char *meta_dir, unsigned disk,
			  int (*cb)(void *arg, const struct vol_disk_file *f), void *arg)
{
	char *line = malloc(PATH_MAX * 2 + 128), *path = malloc(PATH_MAX);
	char req[64];
	FILE *in = NULL;
	int rc, fd = -1;

	if (!line || !path) {
		rc = -ENOMEM;
		goto out_free;
	}
	snprintf(req, sizeof(req), "disk-files %u", disk);
	fd = vol_control_connect(meta_dir, req);
	if (fd < 0) {
		rc = fd;
		goto out_free;
	}
	in = fdopen(fd, "r");
	if (!in) {
		rc = -errno;
		close(fd);
		goto out_free;
	}
	rc = -EPROTO; /* until the closing "ok" */
	while (fgets(line, PATH_MAX * 2 + 128, in)) {
		struct vol_disk_file f;
		int pos = 0, e = 0;
		line[strcspn(line, "\n")] = '\0';
		if (!strcmp(line, "ok")) {
			rc = 0;
			break;
		}
		if (sscanf(line, "err %d", &e) == 1) {
			rc = e > 0 ? -e : -EPROTO;
			break;
		}
		if (sscanf(line, "file %" SCNu64 " %" SCNu64 " %" SCNu64 " %n", &f.ino,
			   &f.bytes_here, &f.bytes_elsewhere, &pos) < 3 ||
		    !pos)
			continue;
		size_t o = 0;
		for (const char *c = line + pos; *c && o + 1 < PATH_MAX; c++) {
			if (*c == '\\' && (c[1] == 'n' || c[1] == '\\'))
				path[o++] = *++c == 'n' ? '\n' : '\\';
			else
				path[o++] = *c;
		}
		path[o] = '\0';
		f.path = path;
		int crc = cb(arg, &f);
		if (crc < 0) {
			rc = crc;
			break;
		}
	}
	fclose(in);
out_free:
	free(line);
	free(path);
	return rc;
}
