/* PutObject, and the temporary-file helpers that every write over S3 uses:
 * data goes to .trackfs-s3-tmp.<random> beside the target as it arrives,
 * digests are checked, and only then is the file renamed onto the key, so a
 * failed or truncated upload never leaves a half-written object. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/log.h"
#include "fs/s3/s3_int.h"

#define TMP_BUF (1u << 20)

/* This process's mark in the names of its temporary files, so that the sweep
 * of left-overs never takes one of them, whatever the clock does. */
static char tmp_token[9] = "00000000";

int s3_tmp_token_init(void)
{
	uint8_t rnd[4];

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return -EIO;
	s3_hex_encode(rnd, sizeof(rnd), tmp_token);
	return 0;
}

bool s3_tmp_is_ours(const char *name)
{
	size_t plen = strlen(S3_TMP_PREFIX);

	return !strncmp(name, S3_TMP_PREFIX, plen) && !strncmp(name + plen, tmp_token, 8) &&
	       name[plen + 8] == '.';
}

int s3_tmp_open(struct vol *v, uint64_t dir, struct s3_tmpfile *t)
{
	struct vol_cred cred = {getuid(), getgid(), S3_UMASK};
	struct vol_attr a;
	uint8_t rnd[8];
	char hex[17];
	int rc;

	memset(t, 0, sizeof(*t));
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return -EIO;
	s3_hex_encode(rnd, sizeof(rnd), hex);
	snprintf(t->name, sizeof(t->name), S3_TMP_PREFIX "%s.%s", tmp_token, hex);
	t->buf = malloc(TMP_BUF);
	if (!t->buf)
		return -ENOMEM;
	rc = vol_create(v, dir, t->name, S_IFREG | 0666, &cred, &a);
	if (rc) {
		free(t->buf);
		t->buf = NULL;
		return rc;
	}
	t->v = v;
	t->dir = dir;
	t->ino = a.ino;
	t->open = true;
	return 0;
}

int s3_tmp_flush(struct s3_tmpfile *t)
{
	size_t done = 0;

	while (done < t->blen) {
		ssize_t n = vol_write(t->v, t->ino, t->buf + done, t->blen - done,
				      (off_t)(t->off + done));
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	t->off += t->blen;
	t->blen = 0;
	return 0;
}

int s3_tmp_write(struct s3_tmpfile *t, const void *data, size_t len)
{
	const char *p = data;
	int rc;

	while (len) {
		size_t n = TMP_BUF - t->blen < len ? TMP_BUF - t->blen : len;
		memcpy(t->buf + t->blen, p, n);
		t->blen += n;
		p += n;
		len -= n;
		if (t->blen == TMP_BUF) {
			rc = s3_tmp_flush(t);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int s3_tmp_copy_from(struct s3_tmpfile *t, uint64_t src, uint64_t off, uint64_t len,
		     struct s3_hash *h)
{
	int rc = s3_tmp_flush(t);

	while (!rc && len) {
		size_t n = len < TMP_BUF ? (size_t)len : TMP_BUF;
		rc = s3_read_full(t->v, src, t->buf, n, off);
		if (rc)
			break;
		if (h)
			s3_hash_update(h, t->buf, n);
		t->blen = n;
		rc = s3_tmp_flush(t);
		off += n;
		len -= n;
	}
	return rc;
}

int s3_tmp_commit(struct s3_conn *c, struct s3_tmpfile *t, const char *name)
{
	return s3_tmp_commit_if(c, t, name, NULL);
}

int s3_tmp_commit_if(struct s3_conn *c, struct s3_tmpfile *t, const char *name,
		     const struct vol_expect *exp)
{
	struct vol_attr a;
	int rc = s3_tmp_flush(t);

	if (rc)
		return rc;
	rc = vol_lookup(t->v, t->dir, name, &a);
	if (!rc) {
		vol_forget(t->v, a.ino, 1);
		if (S_ISDIR(a.mode))
			return -S3E_KEY_IS_PREFIX;
	}
	rc = exp ? vol_rename_if(t->v, t->dir, t->name, t->dir, name, exp)
		 : vol_rename(t->v, t->dir, t->name, t->dir, name, 0);
	if (rc == -EISDIR || rc == -ENOTEMPTY)
		return -S3E_KEY_IS_PREFIX;
	if (exp && (rc == -EEXIST || rc == -ESTALE))
		return -S3E_PRECONDITION_FAILED; /* created, replaced or written meanwhile */
	if (rc)
		return rc;
	t->open = false;
	s3_notify(c->srv, t->dir, name, t->ino);
	/* S3 clients take a 200 as "stored": make the object and its name
	 * durable before answering, unless configured otherwise. */
	if (!c->srv->cfg.no_sync) {
		rc = vol_fsync(t->v, t->ino, false);
		if (rc)
			tfs_err("s3: making %s durable failed: %s", name, tfs_strerror(rc));
	}
	return rc;
}

void s3_tmp_discard(struct s3_tmpfile *t)
{
	if (!t->v)
		return;
	if (t->open) {
		int rc = vol_unlink(t->v, t->dir, t->name);
		if (rc)
			tfs_warn("s3: removing temporary file %s failed: %s", t->name,
				 tfs_strerror(rc));
	}
	vol_forget(t->v, t->ino, 1);
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

/* ---- PutObject ----------------------------------------------------------------------- */

struct put_op {
	struct s3_path path;
	bool have_path, committed, folder;
	struct s3_tmpfile tmp;
};

/* x-amz-acl's value is checked with the other headers (refuse.c). */
static int check_acl_header(struct s3_conn *c)
{
	for (size_t i = 0; i < c->req.nhdrs; i++)
		if (!strncmp(c->req.hdrs[i].name, "x-amz-grant-", 12)) {
			s3_req_errmsg(c, "ACL grants are not supported");
			return -S3E_NOT_IMPLEMENTED;
		}
	return 0;
}

/* A marker key's body must be empty: known from the length the client
 * declares (the decoded one for aws-chunked bodies), else seen as it comes. */
static bool folder_has_data(struct s3_conn *c)
{
	const char *dl = s3_hdr(&c->req, "x-amz-decoded-content-length");

	if (dl)
		return strcmp(dl, "0") != 0;
	return !(c->parser.flags & F_CHUNKED) && c->parser.content_length > 0 &&
	       c->parser.content_length != UINT64_MAX;
}

static int folder_refuse(struct s3_conn *c)
{
	s3_req_errmsg(c, "A key ending in '/' names a directory (a directory marker) and "
			 "cannot hold data");
	return -S3E_INVALID_ARGUMENT;
}

static int put_start(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	struct vol *v = c->srv->v;
	struct put_op *op;
	struct vol_attr a;
	uint64_t bino;
	size_t klen = strlen(r->key);
	int rc;

	rc = check_acl_header(c);
	if (rc)
		return rc;
	if (!s3_hdr(r, "content-length") && !(c->parser.flags & F_CHUNKED))
		return -S3E_MISSING_CONTENT_LENGTH;
	if (r->key[klen - 1] == '/' && folder_has_data(c))
		return folder_refuse(c);
	op = calloc(1, sizeof(*op));
	if (!op)
		return -ENOMEM;
	r->op = op;
	if (r->key[klen - 1] == '/') {
		/* A directory marker: made once the body is in and empty. */
		op->folder = true;
		return 0;
	}
	/* A DELETE of a sibling may prune a directory this PUT has just found
	 * or made (it was empty): resolve again in that case. */
	for (int attempt = 0;; attempt++) {
		rc = s3_bucket_lookup(v, r->bucket, &bino);
		if (rc)
			return rc;
		rc = s3_path_resolve(c, bino, r->key, true, &op->path);
		if (rc)
			return rc;
		op->have_path = true;
		rc = vol_lookup(v, op->path.dirs[op->path.ndirs - 1], op->path.name, &a);
		if (!rc) {
			vol_forget(v, a.ino, 1);
			if (S_ISDIR(a.mode))
				return -S3E_KEY_IS_PREFIX;
		}
		rc = s3_write_precheck(c, op->path.dirs[op->path.ndirs - 1], op->path.name, false);
		if (rc)
			return rc;
		rc = s3_tmp_open(v, op->path.dirs[op->path.ndirs - 1], &op->tmp);
		if (rc != -ENOENT || attempt == 3)
			return rc;
		s3_path_release(v, &op->path);
		op->have_path = false;
	}
}

static int put_body(struct s3_conn *c, const char *data, size_t len)
{
	struct put_op *op = c->req.op;

	if (op->folder)
		return len ? folder_refuse(c) : 0;
	return s3_tmp_write(&op->tmp, data, len);
}

/* Make and mark the directory of marker key r->key and give it the request's
 * metadata, which replaces what an earlier marker PUT left. */
static int put_marker(struct s3_conn *c, struct put_op *op)
{
	struct vol *v = c->srv->v;
	uint64_t dir;
	int rc = s3_marker_make(c, c->req.bucket, c->req.key, &op->path);

	if (rc)
		return rc;
	op->have_path = true;
	op->committed = true; /* marked, the directory is wanted: nothing to prune */
	dir = op->path.dirs[op->path.ndirs - 1];
	rc = s3_meta_clear(v, dir);
	if (!rc)
		rc = s3_meta_store_from_req(c, dir);
	if (!rc)
		rc = s3_tags_store_from_req(c, dir);
	if (!rc)
		rc = s3_acl_store_from_req(c, dir);
	return rc;
}

static void put_done(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	struct put_op *op = r->op;
	char etag[33];
	int rc;

	if (op->folder) {
		rc = put_marker(c, op);
		if (rc) {
			s3_resp_error(c, rc);
			return;
		}
		s3_resp_etag(c, S3_EMPTY_MD5);
		return;
	}
	s3_hex_encode(r->md5, 16, etag);
	rc = s3_tmp_flush(&op->tmp);
	if (!rc)
		rc = s3_meta_store_from_req(c, op->tmp.ino);
	if (!rc)
		rc = s3_tags_store_from_req(c, op->tmp.ino);
	if (!rc)
		rc = s3_acl_store_from_req(c, op->tmp.ino);
	if (!rc)
		rc = s3_etag_store(c->srv->v, op->tmp.ino, etag, r->cksum_name, r->cksum_b64);
	struct vol_expect exp;
	bool cond = false;
	if (!rc)
		rc = s3_write_cond(c, op->tmp.dir, op->path.name, false, &exp, &cond);
	if (!rc)
		rc = s3_tmp_commit_if(c, &op->tmp, op->path.name, cond ? &exp : NULL);
	if (rc) {
		s3_resp_error(c, s3_cond_outcome(c, rc));
		return;
	}
	op->committed = true;
	s3_resp_etag(c, etag);
}

static void put_cleanup(struct s3_conn *c)
{
	struct put_op *op = c->req.op;

	if (!op)
		return;
	s3_tmp_discard(&op->tmp);
	if (op->have_path) {
		if (!op->committed)
			s3_path_prune(c, &op->path);
		s3_path_release(c->srv->v, &op->path);
	}
	free(op);
	c->req.op = NULL;
}

const struct s3_handler s3_op_put_object = {
	.name = "PutObject",
	.write = true,
	.hashes = S3_HASH_MD5,
	.start = put_start,
	.body = put_body,
	.done = put_done,
	.cleanup = put_cleanup,
};
