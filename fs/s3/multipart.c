/* Multipart uploads. Each upload in progress is a directory
 * /.trackfs-s3/uploads/<id> (hidden from listings; the FUSE front end should
 * hide it too) holding its parts as files named by number, with the target
 * bucket, key and metadata as xattrs. Complete concatenates the parts into a
 * temporary file beside the key and renames it into place; abort and the
 * expiry sweep remove the directory. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/log.h"
#include "fs/s3/s3_int.h"

#define MIN_PART (5ull << 20)
#define MAX_PART_NUMBER 10000

/* /.trackfs-s3/uploads, made on first use. @return 0 (*ino, one reference). */
int s3_mpu_uploads_dir(struct s3_conn *c, bool create, uint64_t *ino)
{
	struct vol *v = c->srv->v;
	struct vol_cred cred = {getuid(), getgid(), 0};
	struct vol_attr a, b;
	int rc;

	rc = vol_lookup(v, VOL_ROOT_INO, S3_HIDDEN_DIR, &a);
	if (rc == -ENOENT && create) {
		rc = vol_mkdir(v, VOL_ROOT_INO, S3_HIDDEN_DIR, S_IFDIR | 0700, &cred, &a);
		if (rc == -EEXIST)
			rc = vol_lookup(v, VOL_ROOT_INO, S3_HIDDEN_DIR, &a);
	}
	if (rc)
		return rc;
	rc = vol_lookup(v, a.ino, "uploads", &b);
	if (rc == -ENOENT && create) {
		rc = vol_mkdir(v, a.ino, "uploads", S_IFDIR | 0700, &cred, &b);
		if (rc == -EEXIST)
			rc = vol_lookup(v, a.ino, "uploads", &b);
	}
	vol_forget(v, a.ino, 1);
	if (rc)
		return rc;
	*ino = b.ino;
	return 0;
}

bool s3_mpu_valid_id(const char *id)
{
	return id && strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32;
}

ssize_t s3_mpu_get_str(struct vol *v, uint64_t ino, const char *name, char *buf, size_t size)
{
	ssize_t n = vol_getxattr(v, ino, name, buf, size - 1);

	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* The request's upload: its directory (one reference on *dir) after checking
 * that it belongs to this bucket and key. */
int s3_mpu_open(struct s3_conn *c, uint64_t *up, uint64_t *dir)
{
	struct s3_req *r = &c->req;
	struct vol *v = c->srv->v;
	const char *id = s3_qparam(r, "uploadId");
	char val[S3_KEY_MAX + 1];
	struct vol_attr a;
	int rc;

	if (!s3_mpu_valid_id(id))
		return -S3E_NO_SUCH_UPLOAD;
	rc = s3_mpu_uploads_dir(c, false, up);
	if (rc)
		return rc == -ENOENT ? -S3E_NO_SUCH_UPLOAD : rc;
	rc = vol_lookup(v, *up, id, &a);
	if (rc) {
		vol_forget(v, *up, 1);
		return rc == -ENOENT ? -S3E_NO_SUCH_UPLOAD : rc;
	}
	if (s3_mpu_get_str(v, a.ino, S3_MPU_X_BUCKET, val, sizeof(val)) < 0 ||
	    strcmp(val, r->bucket) ||
	    s3_mpu_get_str(v, a.ino, S3_MPU_X_KEY, val, sizeof(val)) < 0 || strcmp(val, r->key)) {
		vol_forget(v, a.ino, 1);
		vol_forget(v, *up, 1);
		return -S3E_NO_SUCH_UPLOAD;
	}
	*dir = a.ino;
	return 0;
}

int s3_mpu_names_cb(void *arg, const struct vol_dirent *d, const struct vol_attr *attr)
{
	struct s3_mpu_names *l = arg;

	if (s3_dot_name(d->name, d->namelen))
		return 0;
	char **n = realloc(l->n, (l->count + 1) * sizeof(*n));
	if (!n) {
		l->err = -ENOMEM;
		return 1;
	}
	l->n = n;
	n[l->count] = strndup(d->name, d->namelen);
	if (!n[l->count]) {
		l->err = -ENOMEM;
		return 1;
	}
	l->count++;
	return 0;
}

void s3_mpu_names_free(struct s3_mpu_names *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->n[i]);
	free(l->n);
}

int s3_mpu_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Remove upload @p id (its parts, then the directory). */
int s3_mpu_remove(struct vol *v, uint64_t up, const char *id)
{
	struct s3_mpu_names l = {0};
	struct vol_attr a;
	int rc = vol_lookup(v, up, id, &a);

	if (rc)
		return rc;
	rc = vol_readdir(v, a.ino, 0, false, s3_mpu_names_cb, &l);
	if (!rc)
		rc = l.err;
	for (size_t i = 0; !rc && i < l.count; i++) {
		rc = vol_unlink(v, a.ino, l.n[i]);
		if (rc == -ENOENT)
			rc = 0;
	}
	vol_forget(v, a.ino, 1);
	s3_mpu_names_free(&l);
	if (!rc)
		rc = vol_rmdir(v, up, id);
	return rc;
}

/* ---- CreateMultipartUpload ------------------------------------------------------------ */

/* Choose the disk for the parts of upload directory @p dir: the one a new
 * file would go to now. Without it (every disk full, or the upload began
 * before this existed) the parts go where the allocator puts them and the
 * completion copies those that are not together. */
static void pick_disk(struct vol *v, uint64_t dir)
{
	char s[16];
	int d = vol_pick_disk(v);

	if (d < 0)
		return;
	int n = snprintf(s, sizeof(s), "%d", d);
	int rc = vol_setxattr(v, dir, S3_MPU_X_DISK, s, (size_t)n, 0);
	if (rc)
		tfs_debug("s3: recording the disk of an upload failed: %s", tfs_strerror(rc));
}

/* Put the chunks of new file @p ino on the disk chosen for upload @p dir. */
static void place_on_upload_disk(struct vol *v, uint64_t dir, uint64_t ino)
{
	char s[16];
	ssize_t n = s3_mpu_get_str(v, dir, S3_MPU_X_DISK, s, sizeof(s));
	char *end;
	long d;

	if (n <= 0)
		return;
	d = strtol(s, &end, 10);
	if (*end || d < 0 || d > INT_MAX)
		return;
	int rc = vol_set_disk(v, ino, (int)d);
	if (rc)
		tfs_debug("s3: placing a part on disk %ld failed: %s", d, tfs_strerror(rc));
}

static void create_done(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	struct vol *v = c->srv->v;
	struct vol_cred cred = {getuid(), getgid(), 0};
	struct s3_sbuf b = {0};
	struct vol_attr a;
	uint64_t up, bino;
	uint8_t rnd[16];
	char id[33];
	struct s3_mpu_cksum ck;
	int rc;

	rc = s3_mpu_cksum_from_req(c, &ck);
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	if (s3_key_is_dir(r->key)) {
		s3_req_errmsg(c, "A key ending in '/' names a directory (a directory marker), "
				 "which holds no data to upload in parts");
		s3_resp_error(c, -S3E_INVALID_ARGUMENT);
		return;
	}
	rc = s3_bucket_lookup(v, r->bucket, &bino);
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	vol_forget(v, bino, 1);
	rc = s3_mpu_uploads_dir(c, true, &up);
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		rc = -EIO;
		goto out_forget;
	}
	s3_hex_encode(rnd, sizeof(rnd), id);
	rc = vol_mkdir(v, up, id, S_IFDIR | 0700, &cred, &a);
	if (rc)
		goto out_forget;
	rc = vol_setxattr(v, a.ino, S3_MPU_X_BUCKET, r->bucket, strlen(r->bucket), 0);
	if (!rc)
		rc = vol_setxattr(v, a.ino, S3_MPU_X_KEY, r->key, strlen(r->key), 0);
	if (!rc)
		rc = s3_meta_store_from_req(c, a.ino);
	if (!rc)
		rc = s3_tags_store_from_req(c, a.ino); /* given to the object at Complete */
	if (!rc)
		rc = s3_acl_store_from_req(c, a.ino);
	if (!rc)
		rc = s3_mpu_cksum_store(v, a.ino, &ck);
	if (!rc)
		pick_disk(v, a.ino);
	vol_forget(v, a.ino, 1);
	if (rc) {
		s3_mpu_remove(v, up, id);
		goto out_forget;
	}
	s3_xml_begin(&b, "InitiateMultipartUploadResult");
	s3_xml_text(&b, "Bucket", r->bucket);
	s3_xml_text(&b, "Key", r->key);
	s3_xml_text(&b, "UploadId", id);
	s3_xml_close(&b, "InitiateMultipartUploadResult");
	if (b.oom) {
		s3_sb_free(&b);
		rc = -ENOMEM;
		goto out_forget;
	}
	s3_resp_start(c, 200);
	s3_resp_hdr(c, "Content-Type", "application/xml");
	s3_mpu_cksum_headers(c, &ck);
	s3_resp_finish(c, b.p, b.len);
	s3_sb_free(&b);
out_forget:
	vol_forget(v, up, 1);
	if (rc)
		s3_resp_error(c, rc);
}

const struct s3_handler s3_op_mpu_create = {
	.name = "CreateMultipartUpload",
	.write = true,
	.done = create_done,
};

/* ---- UploadPart and UploadPartCopy ------------------------------------------------------ */

struct part_op {
	uint64_t up, dir;
	bool have_dir;
	unsigned number;
	struct s3_tmpfile tmp;
	struct s3_mpu_cksum ck; /* the upload's checksum algorithm */
};

static int part_number(struct s3_conn *c, unsigned *out)
{
	const char *pn = s3_qparam(&c->req, "partNumber");
	char *end;
	unsigned long n = pn ? strtoul(pn, &end, 10) : 0;

	if (!pn || *end || n < 1 || n > MAX_PART_NUMBER) {
		s3_req_errmsg(c, "Part number must be an integer between 1 and 10000, inclusive");
		return -S3E_INVALID_ARGUMENT;
	}
	*out = (unsigned)n;
	return 0;
}

static int part_start(struct s3_conn *c)
{
	struct part_op *op = calloc(1, sizeof(*op));
	int rc;

	if (!op)
		return -ENOMEM;
	c->req.op = op;
	rc = part_number(c, &op->number);
	if (rc)
		return rc;
	rc = s3_mpu_open(c, &op->up, &op->dir);
	if (rc)
		return rc;
	op->have_dir = true;
	rc = s3_mpu_cksum_get(c->srv->v, op->dir, &op->ck);
	if (!rc)
		rc = s3_tmp_open(c->srv->v, op->dir, &op->tmp);
	if (!rc)
		place_on_upload_disk(c->srv->v, op->dir, op->tmp.ino);
	return rc;
}

static int part_body(struct s3_conn *c, const char *data, size_t len)
{
	struct part_op *op = c->req.op;

	return s3_tmp_write(&op->tmp, data, len);
}

static int part_commit(struct s3_conn *c, struct part_op *op, const char *etag, const char *ck_name,
		       const char *ck_b64)
{
	char name[16];
	int rc;

	snprintf(name, sizeof(name), "%05u", op->number);
	rc = s3_tmp_flush(&op->tmp);
	if (!rc)
		rc = s3_etag_store(c->srv->v, op->tmp.ino, etag, ck_name, ck_b64);
	if (!rc)
		rc = s3_tmp_commit(c, &op->tmp, name);
	return rc;
}

static void part_done(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	struct part_op *op = r->op;
	char etag[33];
	int rc;

	s3_hex_encode(r->md5, 16, etag);
	rc = s3_mpu_cksum_part(c, &op->ck, r->cksum_name);
	if (!rc)
		rc = part_commit(c, op, etag, r->cksum_name, r->cksum_b64);
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	s3_resp_etag(c, etag);
}

static void part_cleanup(struct s3_conn *c)
{
	struct part_op *op = c->req.op;

	if (!op)
		return;
	s3_tmp_discard(&op->tmp);
	if (op->have_dir) {
		vol_forget(c->srv->v, op->dir, 1);
		vol_forget(c->srv->v, op->up, 1);
	}
	free(op);
	c->req.op = NULL;
}

const struct s3_handler s3_op_mpu_part = {
	.name = "UploadPart",
	.write = true,
	.hashes = S3_HASH_MD5,
	.start = part_start,
	.body = part_body,
	.done = part_done,
	.cleanup = part_cleanup,
};

static void part_copy_done(struct s3_conn *c)
{
	struct part_op *op = c->req.op;
	struct vol *v = c->srv->v;
	const char *rh = s3_hdr(&c->req, "x-amz-copy-source-range");
	struct vol_attr src;
	uint64_t off = 0, len;
	struct s3_hash h;
	uint8_t md5[16], sha[32];
	char etag[80], date[40], ck_b64[64] = "";
	const struct s3_cksum_algo *ka = op->ck.a;
	int rc;

	rc = s3_copy_source(c, &src);
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	len = src.size;
	rc = s3_etag_get(v, &src, etag);
	if (!rc)
		rc = s3_copy_preconditions(c, etag, src.mtime.tv_sec);
	if (!rc && rh && s3_range_parse(rh, src.size, &off, &len) != 1)
		rc = -S3E_INVALID_RANGE;
	/* In an upload with a checksum algorithm, the part's checksum too. */
	if (!rc)
		rc = s3_hash_init(&h, S3_HASH_MD5 | (ka ? ka->hash : 0));
	if (!rc) {
		rc = s3_tmp_copy_from(&op->tmp, src.ino, off, len, &h);
		s3_hash_final(&h, md5, ka && ka->hash == S3_HASH_SHA256 ? sha : NULL);
		if (!rc && ka)
			rc = s3_cksum_value(ka, &h, sha, ck_b64);
		s3_hash_fini(&h);
	}
	vol_forget(v, src.ino, 1);
	if (!rc) {
		s3_hex_encode(md5, 16, etag);
		rc = part_commit(c, op, etag, ka ? ka->name : NULL, ka ? ck_b64 : NULL);
	}
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	struct s3_sbuf b = {0};
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	s3_fmt_iso_date(&now, date, sizeof(date));
	s3_xml_begin(&b, "CopyPartResult");
	s3_xml_text(&b, "LastModified", date);
	s3_sb_printf(&b, "<ETag>&quot;%s&quot;</ETag>", etag);
	if (ka)
		s3_mpu_cksum_xml(&b, ka->name, ck_b64, false);
	s3_xml_close(&b, "CopyPartResult");
	s3_resp_xml(c, &b);
}

const struct s3_handler s3_op_mpu_part_copy = {
	.name = "UploadPartCopy",
	.write = true,
	.start = part_start,
	.done = part_copy_done,
	.cleanup = part_cleanup,
};

/* ---- CompleteMultipartUpload ----------------------------------------------------------- */

static int complete(struct s3_conn *c, uint64_t up, uint64_t dir, struct s3_complete_list *l,
		    char *final_etag, const struct s3_mpu_cksum *ck, char *ck_b64)
{
	struct s3_req *r = &c->req;
	struct vol *v = c->srv->v;
	struct s3_tmpfile tmp = {0};
	struct s3_mpu_part *parts;
	struct s3_path p;
	uint64_t bino;
	uint32_t blksize = 4096;
	struct s3_hash all;
	uint8_t md5[16];
	bool committed = false, claimed = false;
	int rc = 0;

	/* A second completion of the same upload (a client's retry) would find
	 * parts the first has moved: it waits for the outcome instead. */
	if (s3_mpu_claimed(v, dir))
		return -S3E_OPERATION_ABORTED;
	parts = calloc(l->n, sizeof(*parts));
	if (!parts)
		return -ENOMEM;
	/* Check everything before writing anything. */
	for (size_t i = 0; i < l->n; i++) {
		char name[16];
		struct vol_attr a;

		if (i && l->parts[i].number <= l->parts[i - 1].number) {
			rc = -S3E_INVALID_PART_ORDER;
			goto out_forget;
		}
		snprintf(name, sizeof(name), "%05u", l->parts[i].number);
		rc = vol_lookup(v, dir, name, &a);
		if (rc) {
			rc = rc == -ENOENT ? -S3E_INVALID_PART : rc;
			goto out_forget;
		}
		parts[i] = (struct s3_mpu_part){
			.ino = a.ino, .size = a.size, .number = l->parts[i].number};
		blksize = a.blksize;
		if (s3_checksum_get(v, &a, parts[i].ck, sizeof(parts[i].ck), parts[i].ck_b64,
				    sizeof(parts[i].ck_b64)))
			parts[i].ck[0] = '\0';
		rc = s3_etag_get(v, &a, parts[i].etag);
		if (rc)
			goto out_forget;
		if (strcmp(parts[i].etag, l->parts[i].etag)) {
			s3_req_errmsg(c, "Part %u's ETag is \"%s\", not \"%s\"", l->parts[i].number,
				      parts[i].etag, l->parts[i].etag);
			rc = -S3E_INVALID_PART;
			goto out_forget;
		}
	}
	/* Sizes last: a missing or wrong part is the more useful message. */
	for (size_t i = 0; i + 1 < l->n; i++) {
		if (parts[i].size < MIN_PART) {
			s3_req_errmsg(c,
				      "Part %u is %llu bytes; every part but the last must be "
				      "at least 5 MiB",
				      l->parts[i].number, (unsigned long long)parts[i].size);
			rc = -S3E_ENTITY_TOO_SMALL;
			goto out_forget;
		}
	}
	rc = s3_mpu_cksum_complete(c, ck, l, parts, ck_b64);
	if (rc)
		goto out_forget;
	rc = s3_bucket_lookup(v, r->bucket, &bino);
	if (rc)
		goto out_forget;
	rc = s3_path_resolve(c, bino, r->key, true, &p);
	if (rc)
		goto out_forget;
	rc = s3_write_precheck(c, p.dirs[p.ndirs - 1], p.name, false);
	if (rc)
		goto out_release;
	rc = s3_hash_init(&all, S3_HASH_MD5);
	if (rc)
		goto out_release;
	rc = s3_tmp_open(v, p.dirs[p.ndirs - 1], &tmp);
	if (!rc)
		rc = s3_mpu_claim(v, dir, &tmp);
	if (!rc) {
		claimed = true;
		place_on_upload_disk(v, dir, tmp.ino);
	}
	for (size_t i = 0; !rc && i < l->n; i++)
		rc = s3_mpu_join_part(c, &tmp, &parts[i], blksize, i + 1 == l->n);
	for (size_t i = 0; i < l->n; i++) {
		uint8_t pm[16];
		/* The ETag of the whole is the MD5 of the parts' MD5s. */
		for (int k = 0; k < 16; k++) {
			unsigned x;
			sscanf(l->parts[i].etag + 2 * k, "%2x", &x);
			pm[k] = (uint8_t)x;
		}
		s3_hash_update(&all, pm, 16);
	}
	s3_hash_final(&all, md5, NULL);
	s3_hash_fini(&all);
	s3_hex_encode(md5, 16, final_etag);
	sprintf(final_etag + 32, "-%zu", l->n);
	if (!rc)
		rc = s3_meta_copy(v, dir, tmp.ino);
	if (!rc)
		rc = s3_xattr_copy(v, dir, tmp.ino, S3_TAGGING_X);
	if (!rc)
		rc = s3_xattr_copy(v, dir, tmp.ino, S3_ACL_X);
	if (!rc)
		rc = s3_etag_store(v, tmp.ino, final_etag, ck->a ? ck->a->name : NULL, ck_b64);
	if (!rc)
		rc = s3_parts_store(v, tmp.ino, parts, l->n, ck->a != NULL);
	if (!rc) {
		const char *id = s3_qparam(r, "uploadId");
		rc = vol_setxattr(v, tmp.ino, S3_MPU_X_COMPLETED, id, strlen(id), 0);
	}
	struct vol_expect exp;
	bool cond = false;
	if (!rc)
		rc = s3_write_cond(c, tmp.dir, p.name, false, &exp, &cond);
	if (!rc)
		rc = s3_tmp_commit_if(c, &tmp, p.name, cond ? &exp : NULL);
	rc = s3_cond_outcome(c, rc);
	/* Named once renamed, even if making it durable then failed: the
	 * parts are in the object, the claim stays until the upload goes. */
	committed = claimed && !tmp.open;
	if (claimed && !committed) {
		if (s3_mpu_give_back(c, &tmp, parts, l->n) == 0) {
			s3_mpu_unclaim(v, dir);
		} else {
			/* Keep the chunks and the claim: the next start of the
			 * sidecar tries again (s3_mpu_recover). */
			tmp.open = false;
		}
	}
	s3_tmp_discard(&tmp);
out_release:
	if (!committed)
		s3_path_prune(c, &p);
	s3_path_release(v, &p);
out_forget:
	for (size_t i = 0; i < l->n; i++)
		if (parts[i].ino)
			vol_forget(v, parts[i].ino, 1);
	free(parts);
	/* A check that failed because another completion began meanwhile. */
	if (rc && !claimed && s3_mpu_claimed(v, dir))
		rc = -S3E_OPERATION_ABORTED;
	return rc;
}

/* A completion repeated (a client's retry whose first answer was lost): the
 * object the upload became still carries its id and, while it is unchanged,
 * its multipart ETag, which is answered again as AWS does. @return 0 (the
 * ETag in @p etag) or -S3E_NO_SUCH_UPLOAD. */
static int completed_before(struct s3_conn *c, char *etag, char *ck_name, char *ck_b64)
{
	struct s3_req *r = &c->req;
	struct vol *v = c->srv->v;
	const char *id = s3_qparam(r, "uploadId");
	char val[40], cur[80];
	struct vol_attr a;
	int rc;

	if (!s3_mpu_valid_id(id) || s3_object_lookup(c, r->bucket, r->key, &a))
		return -S3E_NO_SUCH_UPLOAD;
	rc = s3_mpu_get_str(v, a.ino, S3_MPU_X_COMPLETED, val, sizeof(val)) < 0 || strcmp(val, id)
		     ? -S3E_NO_SUCH_UPLOAD
		     : s3_etag_get(v, &a, cur);
	if (!rc && s3_checksum_get(v, &a, ck_name, 16, ck_b64, 64))
		ck_name[0] = ck_b64[0] = '\0';
	vol_forget(v, a.ino, 1);
	/* Changed through the mount since: a fresh MD5, not the upload's ETag. */
	if (rc || !strchr(cur, '-') || strlen(cur) >= 48)
		return -S3E_NO_SUCH_UPLOAD;
	strcpy(etag, cur);
	return 0;
}

static void complete_done(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	struct vol *v = c->srv->v;
	struct s3_complete_list l;
	struct s3_sbuf b = {0};
	uint64_t up, dir;
	struct s3_mpu_cksum ck;
	char etag[48], ck_name[16] = "", ck_b64[64] = "";
	int rc;

	rc = s3_mpu_open(c, &up, &dir);
	if (rc == -S3E_NO_SUCH_UPLOAD && !completed_before(c, etag, ck_name, ck_b64))
		goto answer;
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	rc = s3_mpu_cksum_get(v, dir, &ck);
	if (!rc)
		rc = s3_xml_parse_complete(r->body.p ? r->body.p : "", r->body.len, &l);
	if (!rc) {
		rc = complete(c, up, dir, &l, etag, &ck, ck_b64);
		s3_complete_list_fini(&l);
		if (ck.a)
			snprintf(ck_name, sizeof(ck_name), "%s", ck.a->name);
	}
	vol_forget(v, dir, 1);
	if (!rc) {
		int rm = s3_mpu_remove(v, up, s3_qparam(r, "uploadId"));
		if (rm)
			tfs_warn("s3: removing completed upload %s failed: %s; the expiry sweep "
				 "will retry",
				 s3_qparam(r, "uploadId"), tfs_strerror(rm));
	}
	vol_forget(v, up, 1);
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
answer:
	s3_xml_begin(&b, "CompleteMultipartUploadResult");
	s3_sb_puts(&b, "<Location>/");
	s3_xml_escape(&b, r->bucket, strlen(r->bucket));
	s3_sb_putc(&b, '/');
	s3_xml_escape(&b, r->key, strlen(r->key));
	s3_sb_puts(&b, "</Location>");
	s3_xml_text(&b, "Bucket", r->bucket);
	s3_xml_text(&b, "Key", r->key);
	s3_sb_printf(&b, "<ETag>&quot;%s&quot;</ETag>", etag);
	s3_mpu_cksum_xml(&b, ck_name, ck_b64, true);
	s3_xml_close(&b, "CompleteMultipartUploadResult");
	s3_resp_xml(c, &b);
}

const struct s3_handler s3_op_mpu_complete = {
	.name = "CompleteMultipartUpload",
	.write = true,
	.small_body = true,
	.done = complete_done,
};
