/* Replacing a disk: a new disk is added and the old one drained onto it
 * alone, reading what still reads; what does not stays on the old disk and
 * is listed by path and offset in a file of the metadata directory, so that
 * nothing is lost silently. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/log.h"
#include "fs/vol/data_int.h"
#include "fs/vol/vol_int.h"

struct lost_ext {
	uint64_t ino, off, len;
};

struct lost_list {
	unsigned disk;
	uint32_t cs;
	struct lost_ext *e;
	size_t n, cap;
};

static int lost_cb(void *arg, uint64_t ino, const struct idx_extent *e)
{
	struct lost_list *l = arg;

	if (e->disk != l->disk)
		return 0;
	if (l->n && l->e[l->n - 1].ino == ino &&
	    l->e[l->n - 1].off + l->e[l->n - 1].len == e->off) {
		l->e[l->n - 1].len += (uint64_t)e->nchunks * l->cs;
		return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct lost_ext *ne = realloc(l->e, cap * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		l->e = ne;
		l->cap = cap;
	}
	l->e[l->n++] = (struct lost_ext){ino, e->off, (uint64_t)e->nchunks * l->cs};
	return 0;
}

void vol_disk_lost_name(const char *meta_dir, unsigned disk, char *buf, size_t size)
{
	snprintf(buf, size, "%s/disk-%u-lost.txt", meta_dir, disk);
}

int vol_disk_lost_write(struct vol *v, unsigned disk, char *path, size_t size, uint64_t *count)
{
	struct lost_list l = {.disk = disk, .cs = v->chunk_size};
	char tmp[PATH_MAX + 8], name[PATH_MAX];
	struct idx_txn *txn;
	FILE *f;
	int rc = idx_txn_begin_read(v->idx, &txn);

	if (rc < 0)
		return rc;
	rc = idx_extent_iter_from(txn, 0, 0, lost_cb, &l);
	idx_txn_abort(txn);
	if (rc < 0)
		goto out_free;
	vol_disk_lost_name(v->meta_dir, disk, path, size);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f) {
		rc = -errno;
		tfs_err("replace disk %u: cannot write the list of lost data %s: %s", disk, tmp,
			tfs_strerror(rc));
		goto out_free;
	}
	for (size_t i = 0; i < l.n; i++) {
		bool named = vol_ino_path(v, l.e[i].ino, name, sizeof(name)) == 0;
		fprintf(f, "%s\tinode %" PRIu64 "\toffset %" PRIu64 "\tlength %" PRIu64 "\n",
			named ? name : "(unlinked open file)", l.e[i].ino, l.e[i].off, l.e[i].len);
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc < 0) {
		tfs_err("replace disk %u: cannot write the list of lost data %s: %s", disk, path,
			tfs_strerror(rc));
		unlink(tmp);
		goto out_free;
	}
	*count = l.n;
out_free:
	free(l.e);
	return rc;
}

int vol_disk_replace(struct vol *v, unsigned old, const char *new_path, unsigned *new_out,
		     const struct vol_drain_opts *o)
{
	struct vol_drain_opts ro = {0};
	unsigned idx = 0;
	int shares = -1, rc;

	if (v->rdonly)
		return -EROFS;
	if (old >= trk_pool_ndisks(v->pool))
		return -ENODEV;
	if (o)
		ro = *o;
	rc = vol_disk_add(v, new_path, &idx, &shares);
	if (rc < 0)
		return rc;
	tfs_info("replace disk %u (%s): copying what reads onto the new disk %u (%s)", old,
		 trk_pool_disk_path(v->pool, old), idx, new_path);
	ro.targeted = true;
	ro.target = idx;
	rc = vol_disk_drain(v, old, &ro);
	*new_out = idx;
	return rc;
}

int vol_replace_serve(struct vol *v, int fd, const char *args)
{
	char lost[PATH_MAX];
	unsigned old, idx = 0;
	uint64_t rate;
	int shares = -1, off = 0, rc;

	if (sscanf(args, "%u %" SCNu64 " %n", &old, &rate, &off) != 2 || !args[off])
		return -EINVAL;
	if (old >= trk_pool_ndisks(v->pool))
		return -ENODEV;
	vol_disk_lost_name(v->meta_dir, old, lost, sizeof(lost));
	if (unlink(lost) < 0 && errno != ENOENT) {
		rc = -errno;
		return rc;
	}
	rc = vol_disk_add(v, args + off, &idx, &shares);
	if (rc < 0)
		return rc;
	tfs_info("replace disk %u (%s): copying what reads onto the new disk %u (%s)", old,
		 trk_pool_disk_path(v->pool, old), idx, args + off);
	rc = vol_drainer_replace(v, old, idx, rate);
	if (rc < 0) {
		tfs_err("replace disk %u: the new disk %u is added but the copy did not start: "
			"%s; run `trackfs disk replace` again with the new disk's path removed "
			"from the command, or drain disk %u",
			old, idx, tfs_strerror(rc), old);
		return rc;
	}
	dprintf(fd, "ok %u %d\n", idx, shares);
	return 0;
}
