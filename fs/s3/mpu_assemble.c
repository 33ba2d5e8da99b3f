/* Putting a multipart upload's parts together (CompleteMultipartUpload): the
 * parts' chunks move into the object's temporary file (vol_move_range), or
 * are copied when they cannot; a completion that fails before the object is
 * named moves them back; one that a crash interrupted is undone when the
 * sidecar next starts, from the records it leaves on the upload:
 *   - the upload directory says which temporary file is being assembled
 *     (S3_MPU_X_TMP, taken with XATTR_CREATE: one completion at a time);
 *   - each part says where its chunks went (S3_MPU_X_MOVED), written before
 *     they move.
 * The index makes changes durable in order, so after a crash a part either
 * still has its chunks or its record says where they are. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "core/base/log.h"
#include "fs/s3/s3_int.h"

int s3_mpu_claim(struct vol *v, uint64_t dir, const struct s3_tmpfile *tmp)
{
	char rec[96];
	int n = snprintf(rec, sizeof(rec), "%" PRIu64 " %s", tmp->dir, tmp->name);
	int rc = vol_setxattr(v, dir, S3_MPU_X_TMP, rec, (size_t)n, XATTR_CREATE);

	return rc == -EEXIST ? -S3E_OPERATION_ABORTED : rc;
}

bool s3_mpu_claimed(struct vol *v, uint64_t dir)
{
	return vol_getxattr(v, dir, S3_MPU_X_TMP, NULL, 0) >= 0;
}

void s3_mpu_unclaim(struct vol *v, uint64_t dir)
{
	int rc = vol_removexattr(v, dir, S3_MPU_X_TMP);

	if (rc && rc != -ENODATA)
		tfs_warn("s3: clearing the completion record of an upload failed: %s",
			 tfs_strerror(rc));
}

static int move_record(struct vol *v, uint64_t part, uint64_t off, uint64_t len)
{
	char rec[48];
	int n = snprintf(rec, sizeof(rec), "%" PRIu64 " %" PRIu64, off, len);

	return vol_setxattr(v, part, S3_MPU_X_MOVED, rec, (size_t)n, 0);
}

static void drop_record(struct vol *v, uint64_t part)
{
	int rc = vol_removexattr(v, part, S3_MPU_X_MOVED);

	if (rc && rc != -ENODATA)
		tfs_warn("s3: clearing the record of a moved part failed: %s", tfs_strerror(rc));
}

int s3_mpu_join_part(struct s3_conn *c, struct s3_tmpfile *tmp, struct s3_mpu_part *p,
		     uint32_t blksize, bool last)
{
	struct vol *v = tmp->v;
	int rc = s3_tmp_flush(tmp);

	if (rc)
		return rc;
	/* Every part moved must be movable back: only the last may end inside
	 * a chunk (it ends the object too). */
	if (last || p->size % blksize == 0) {
		rc = move_record(v, p->ino, tmp->off, p->size);
		if (rc)
			return rc;
		rc = vol_move_range(v, p->ino, 0, p->size, tmp->ino, tmp->off);
		if (rc == 0) {
			p->moved = true;
			p->off = tmp->off;
			tmp->off += p->size;
			return 0;
		}
		drop_record(v, p->ino);
		if (rc == -EINVAL) {
			/* Shorter than when it was checked: taken by another
			 * completion of the same upload. */
			s3_req_errmsg(c, "Part %u changed while the upload was being completed",
				      p->number);
			return -S3E_INVALID_PART;
		}
		if (rc != -EXDEV)
			return rc;
	}
	return s3_tmp_copy_from(tmp, p->ino, 0, p->size, NULL);
}

int s3_mpu_give_back(struct s3_conn *c, struct s3_tmpfile *tmp, struct s3_mpu_part *parts, size_t n)
{
	int failed = 0;

	for (size_t i = n; i-- > 0;) {
		struct s3_mpu_part *p = &parts[i];
		if (!p->moved)
			continue;
		int rc = vol_move_range(tmp->v, tmp->ino, p->off, p->size, p->ino, 0);
		if (rc) {
			tfs_err("s3: completing the upload of %s/%s failed, and giving part %u's "
				"data back failed too (%s): tried again at the next start",
				c->req.bucket, c->req.key, p->number, tfs_strerror(rc));
			failed++;
			continue;
		}
		p->moved = false;
		drop_record(tmp->v, p->ino);
		/* The move set its mtime: its ETag record would not match and a
		 * retry would hash the whole part again. */
		rc = s3_etag_store(tmp->v, p->ino, p->etag, p->ck[0] ? p->ck : NULL,
				   p->ck[0] ? p->ck_b64 : NULL);
		if (rc)
			tfs_debug("s3: keeping part %u's ETag failed: %s", p->number,
				  tfs_strerror(rc));
	}
	return failed;
}

/* ---- after a crash --------------------------------------------------------------------- */

struct moved_part {
	uint64_t ino, off, len;
};

static int by_offset_desc(const void *a, const void *b)
{
	const struct moved_part *x = a, *y = b;

	return x->off < y->off ? 1 : x->off > y->off ? -1 : 0;
}

/* The parts of upload directory @p dir that carry a move record. A part that
 * cannot be read is an error (recovery waits), not a part without one. */
static int moved_parts(struct vol *v, uint64_t dir, struct moved_part **out, size_t *n)
{
	struct s3_mpu_names l = {0};
	struct moved_part *m = NULL;
	size_t k = 0;
	int rc;

	rc = vol_readdir(v, dir, 0, false, s3_mpu_names_cb, &l);
	if (!rc)
		rc = l.err;
	if (!rc && l.count && !(m = calloc(l.count, sizeof(*m))))
		rc = -ENOMEM;
	for (size_t i = 0; !rc && i < l.count; i++) {
		struct vol_attr a;
		char rec[48];
		rc = vol_lookup(v, dir, l.n[i], &a);
		if (rc == -ENOENT) {
			rc = 0;
			continue;
		}
		if (rc)
			break;
		vol_forget(v, a.ino, 1);
		ssize_t got = s3_mpu_get_str(v, a.ino, S3_MPU_X_MOVED, rec, sizeof(rec));
		if (got == -ENODATA || got == 0)
			continue;
		if (got < 0) {
			rc = (int)got;
			break;
		}
		m[k].ino = a.ino;
		if (sscanf(rec, "%" SCNu64 " %" SCNu64, &m[k].off, &m[k].len) == 2)
			k++;
		else
			drop_record(v, a.ino); /* malformed: nothing to go by */
	}
	s3_mpu_names_free(&l);
	if (rc) {
		free(m);
		return rc;
	}
	qsort(m, k, sizeof(*m), by_offset_desc);
	*out = m;
	*n = k;
	return 0;
}

/* Move the chunks of parts @p m back from temporary file @p tmp, last first.
 * @return how many could not be moved (their records stay). */
static int put_back(struct vol *v, const char *id, uint64_t tmp, const struct moved_part *m,
		    size_t n)
{
	int failed = 0;

	for (size_t i = 0; i < n; i++) {
		struct vol_attr pa;
		int rc = vol_getattr(v, m[i].ino, &pa);

		if (rc == 0 && m[i].len && pa.size == 0)
			rc = vol_move_range(v, tmp, m[i].off, m[i].len, m[i].ino, 0);
		if (rc) {
			tfs_err("s3: upload %s: a part could not get its data back after an "
				"interrupted completion (%s); tried again at the next start",
				id, tfs_strerror(rc));
			failed++;
			continue;
		}
		drop_record(v, m[i].ino);
	}
	return failed;
}

/* Upload @p id (directory @p dir, in @p up) was being completed when the
 * process stopped: move its parts back, or finish forgetting it.
 * @return false when it must wait for a later start (its temporary file
 * still holds chunks of parts). */
static bool recover_one(struct vol *v, uint64_t up, const char *id, uint64_t dir)
{
	char rec[96], name[64];
	uint64_t tdir;
	struct moved_part *m = NULL;
	struct vol_attr t;
	size_t n = 0;
	ssize_t got;
	int rc;

	got = s3_mpu_get_str(v, dir, S3_MPU_X_TMP, rec, sizeof(rec));
	if (got == -ENODATA)
		return true;
	if (got < 0)
		goto out_later;
	if (sscanf(rec, "%" SCNu64 " %63s", &tdir, name) != 2 ||
	    strncmp(name, S3_TMP_PREFIX, strlen(S3_TMP_PREFIX))) {
		tfs_warn("s3: upload %s: unreadable completion record '%s'; dropped", id, rec);
		s3_mpu_unclaim(v, dir);
		return true;
	}
	rc = moved_parts(v, dir, &m, &n);
	if (rc)
		goto out_later;
	rc = vol_lookup(v, tdir, name, &t);
	if (rc == 0) {
		/* Not named yet: the parts get their chunks back. */
		int failed = put_back(v, id, t.ino, m, n);
		vol_forget(v, t.ino, 1);
		if (failed) {
			free(m);
			return false;
		}
		rc = vol_unlink(v, tdir, name);
		if (rc)
			tfs_warn("s3: upload %s: removing the temporary file %s failed: %s", id,
				 name, tfs_strerror(rc));
		tfs_info("s3: upload %s: its completion was interrupted; %zu parts moved back, "
			 "it can be completed again",
			 id, n);
		s3_mpu_unclaim(v, dir);
	} else if (rc != -ENOENT) {
		free(m);
		goto out_later;
	} else if (n) {
		/* Named: the object is whole; only the upload was left. */
		rc = s3_mpu_remove(v, up, id);
		if (rc)
			tfs_warn("s3: removing completed upload %s failed: %s", id,
				 tfs_strerror(rc));
		else
			tfs_info("s3: upload %s: completed before the restart; removed", id);
	} else {
		s3_mpu_unclaim(v, dir);
	}
	free(m);
	return true;

out_later:
	tfs_warn("s3: upload %s: its interrupted completion cannot be checked now (%s); left "
		 "for a later start",
		 id, tfs_strerror(got < 0 ? (int)got : rc));
	return false;
}

static int recover_cb(struct s3_server *s, uint64_t up, const char *id, const struct vol_attr *dir,
		      void *arg)
{
	bool *settled = arg;

	if (!recover_one(s->v, up, id, dir->ino))
		*settled = false;
	return 0;
}

bool s3_mpu_recover(struct s3_server *s)
{
	bool settled = true;
	int rc = s3_mpu_each(s, recover_cb, &settled);

	return settled && (rc == 0 || rc == -EROFS);
}
