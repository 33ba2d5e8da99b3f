/* CopyObject: copy a file's bytes into a temporary file beside the target
 * and rename it into place, with metadata copied (COPY, the default) or
 * taken from the request (REPLACE); a directory marker ("a/b/") copies as
 * an empty object, and a copy onto one makes the directory (obj_put.c). Also
 * the x-amz-copy-source parsing that UploadPartCopy shares. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "fs/s3/s3_int.h"

/* With @p markers, a source key "a/b/" names directory marker a/b. */
static int copy_source(struct s3_conn *c, struct vol_attr *src, bool markers)
{
	struct s3_server *s = c->srv;
	const char *h = s3_hdr(&c->req, "x-amz-copy-source");
	char *dup, *path, *slash, *q;
	int rc;

	if (!h || !*h)
		return -S3E_INVALID_ARGUMENT;
	dup = strdup(h);
	if (!dup)
		return -ENOMEM;
	q = strchr(dup, '?');
	if (q) {
		if (strncmp(q + 1, "versionId=", 10) || strcmp(q + 11, "null")) {
			s3_req_errmsg(c, "Objects have no versions here (only versionId=null)");
			rc = -S3E_INVALID_ARGUMENT;
			goto out_free;
		}
		*q = '\0';
	}
	if (s3_uri_decode(dup, strlen(dup), false) < 0) {
		s3_req_errmsg(c, "x-amz-copy-source has a bad %%-escape or a NUL byte");
		rc = -S3E_INVALID_ARGUMENT;
		goto out_free;
	}
	/* Checked after decoding exactly as a request's own bucket and key:
	 * "%2e%2e", "." or a hidden name must not reach outside the buckets. */
	path = dup[0] == '/' ? dup + 1 : dup;
	slash = strchr(path, '/');
	if (!slash || !slash[1]) {
		s3_req_errmsg(c, "x-amz-copy-source must be BUCKET/KEY");
		rc = -S3E_INVALID_ARGUMENT;
		goto out_free;
	}
	*slash = '\0';
	if (s3_bucket_req_check(path)) {
		s3_req_errmsg(c, "x-amz-copy-source names an invalid bucket '%s'", path);
		rc = -S3E_INVALID_ARGUMENT;
		goto out_free;
	}
	rc = s3_key_check(c, slash + 1);
	if (rc) {
		const char *why = c->req.err_msg;
		s3_req_errmsg(c, "x-amz-copy-source names an invalid key '%.1024s'%s%s", slash + 1,
			      why ? ": " : "", why ? why : "");
		goto out_free;
	}
	if (!s->cfg.no_auth && !s3_auth_allows(s3_req_auth(c), c->req.id.access_key, path, false)) {
		s3_req_errmsg(c, "No read access to the copy source's bucket '%s'", path);
		rc = -S3E_ACCESS_DENIED;
		goto out_free;
	}
	if (markers && s3_key_is_dir(slash + 1))
		rc = s3_dir_lookup(c, path, slash + 1, src);
	else
		rc = s3_object_lookup(c, path, slash + 1, src);
out_free:
	free(dup);
	return rc;
}

int s3_copy_source(struct s3_conn *c, struct vol_attr *src)
{
	return copy_source(c, src, false);
}

int s3_copy_preconditions(struct s3_conn *c, const char *etag, time_t mtime)
{
	struct s3_req *r = &c->req;
	const char *im = s3_hdr(r, "x-amz-copy-source-if-match");
	const char *inm = s3_hdr(r, "x-amz-copy-source-if-none-match");
	const char *ims = s3_hdr(r, "x-amz-copy-source-if-modified-since");
	const char *ius = s3_hdr(r, "x-amz-copy-source-if-unmodified-since");
	time_t t;

	if (im && !s3_etag_in(im, etag))
		return -S3E_PRECONDITION_FAILED;
	if (inm && s3_etag_in(inm, etag))
		return -S3E_PRECONDITION_FAILED;
	if (!im && ius && !s3_parse_http_date(ius, &t) && mtime > t)
		return -S3E_PRECONDITION_FAILED;
	if (!inm && ims && !s3_parse_http_date(ims, &t) && mtime <= t)
		return -S3E_PRECONDITION_FAILED;
	return 0;
}

/* REPLACE onto itself: only the metadata changes. */
static int replace_meta_in_place(struct s3_conn *c, uint64_t ino)
{
	struct vol *v = c->srv->v;
	ssize_t n = vol_listxattr(v, ino, NULL, 0);
	char *list;

	if (n > 0) {
		list = malloc((size_t)n);
		if (!list)
			return -ENOMEM;
		n = vol_listxattr(v, ino, list, (size_t)n);
		for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(list + i) + 1)
			if (!strncmp(list + i, "user.s3.", 8) && strcmp(list + i, "user.s3.etag") &&
			    strcmp(list + i, S3_TAGGING_X))
				vol_removexattr(v, ino, list + i);
		free(list);
	}
	return s3_meta_store_from_req(c, ino);
}

/* The copy's tag set: the source's (COPY, the default) or the request's
 * x-amz-tagging (REPLACE; none without one); and its ACL. */
static int copy_tags_acl(struct s3_conn *c, uint64_t src, uint64_t dst, bool replace)
{
	int rc = replace      ? s3_tags_store_from_req(c, dst)
		 : src == dst ? 0
			      : s3_xattr_copy(c->srv->v, src, dst, S3_TAGGING_X);

	/* As on S3, a copy's ACL is the request's (private without one). */
	return rc ? rc : s3_acl_store_from_req(c, dst);
}

/* A copy onto a directory marker ("a/b/"): the directory is made and marked,
 * with the source's metadata (or the request's, REPLACE); the source must be
 * empty, as a marker holds no data. */
static int copy_to_marker(struct s3_conn *c, const struct vol_attr *src, bool replace,
			  bool tags_replace)
{
	struct s3_req *r = &c->req;
	struct vol *v = c->srv->v;
	struct s3_sbuf b = {0};
	struct s3_path p;
	struct vol_attr a;
	char date[40];
	uint64_t dir;
	int rc;

	if (!S_ISDIR(src->mode) && src->size) {
		s3_req_errmsg(c, "A key ending in '/' names a directory (a directory marker) and "
				 "cannot hold data");
		return -S3E_INVALID_ARGUMENT;
	}
	if (!replace && S_ISDIR(src->mode) && !s3_dir_lookup(c, r->bucket, r->key, &a)) {
		vol_forget(v, a.ino, 1);
		if (a.ino == src->ino) {
			s3_req_errmsg(c, "This copy request is illegal because it is trying to "
					 "copy an object to itself without changing the object's "
					 "metadata.");
			return -S3E_INVALID_REQUEST;
		}
	}
	rc = s3_marker_make(c, r->bucket, r->key, &p);
	if (rc)
		return rc;
	dir = p.dirs[p.ndirs - 1];
	rc = s3_meta_clear(v, dir);
	if (!rc)
		rc = replace ? s3_meta_store_from_req(c, dir) : s3_meta_copy(v, src->ino, dir);
	if (!rc)
		rc = copy_tags_acl(c, src->ino, dir, tags_replace);
	if (!rc)
		rc = vol_getattr(v, dir, &a);
	if (rc)
		goto out_release;
	s3_fmt_iso_date(&a.mtime, date, sizeof(date));
	s3_xml_begin(&b, "CopyObjectResult");
	s3_xml_text(&b, "LastModified", date);
	s3_sb_printf(&b, "<ETag>&quot;%s&quot;</ETag>", S3_EMPTY_MD5);
	s3_xml_close(&b, "CopyObjectResult");
	s3_resp_xml(c, &b);
out_release:
	s3_path_release(v, &p);
	return rc;
}

static void copy_done(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	struct vol *v = c->srv->v;
	const char *dir = s3_hdr(r, "x-amz-metadata-directive");
	bool replace = dir && !strcasecmp(dir, "REPLACE");
	const char *tdir = s3_hdr(r, "x-amz-tagging-directive");
	bool tags_replace = tdir && !strcasecmp(tdir, "REPLACE");
	struct s3_tmpfile tmp = {0};
	struct s3_path p;
	struct vol_attr src, dst;
	struct s3_hash h;
	char etag[80], date[40], ck_b64[64] = "";
	uint8_t md5[16], sha[32];
	const struct s3_cksum_algo *ka = NULL;
	uint64_t bino;
	bool have_path = false, committed = false;
	int rc;

	if (dir && !replace && strcasecmp(dir, "COPY")) {
		s3_req_errmsg(c, "Unknown metadata directive '%.32s' (COPY or REPLACE)", dir);
		s3_resp_error(c, -S3E_INVALID_ARGUMENT);
		return;
	}
	if (tdir && !tags_replace && strcasecmp(tdir, "COPY")) {
		s3_req_errmsg(c, "Unknown tagging directive '%.32s' (COPY or REPLACE)", tdir);
		s3_resp_error(c, -S3E_INVALID_ARGUMENT);
		return;
	}
	rc = copy_source(c, &src, true);
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	if (S_ISDIR(src.mode)) { /* a directory marker: an empty object */
		strcpy(etag, S3_EMPTY_MD5);
		src.size = 0;
	} else {
		rc = s3_etag_get(v, &src, etag);
	}
	if (!rc)
		rc = s3_copy_preconditions(c, etag, src.mtime.tv_sec);
	if (!rc)
		rc = s3_cksum_for_copy(c, &src, &ka);
	if (rc)
		goto out_forget;
	if (s3_key_is_dir(r->key)) {
		rc = copy_to_marker(c, &src, replace, tags_replace);
		goto out_forget;
	}
	rc = s3_bucket_lookup(v, r->bucket, &bino);
	if (rc)
		goto out_forget;
	rc = s3_path_resolve(c, bino, r->key, true, &p);
	if (rc)
		goto out_forget;
	have_path = true;
	rc = s3_write_precheck(c, p.dirs[p.ndirs - 1], p.name, false);
	if (rc)
		goto out_release;
	if (!vol_lookup(v, p.dirs[p.ndirs - 1], p.name, &dst)) {
		vol_forget(v, dst.ino, 1);
		if (dst.ino == src.ino) {
			if (!replace) {
				s3_req_errmsg(c,
					      "This copy request is illegal because it is trying "
					      "to copy an object to itself without changing the "
					      "object's metadata.");
				rc = -S3E_INVALID_REQUEST;
				goto out_release;
			}
			rc = replace_meta_in_place(c, src.ino);
			if (!rc)
				rc = copy_tags_acl(c, src.ino, src.ino, tags_replace);
			committed = true;
			goto out_respond;
		}
	}
	rc = s3_hash_init(&h, S3_HASH_MD5 | (ka ? ka->hash : 0));
	if (rc)
		goto out_release;
	rc = s3_tmp_open(v, p.dirs[p.ndirs - 1], &tmp);
	if (!rc)
		rc = s3_tmp_copy_from(&tmp, src.ino, 0, src.size, &h);
	s3_hash_final(&h, md5, ka && ka->hash == S3_HASH_SHA256 ? sha : NULL);
	if (!rc && ka)
		rc = s3_cksum_value(ka, &h, sha, ck_b64);
	s3_hash_fini(&h);
	if (!rc)
		rc = replace ? s3_meta_store_from_req(c, tmp.ino)
			     : s3_meta_copy(v, src.ino, tmp.ino);
	if (!rc)
		rc = copy_tags_acl(c, src.ino, tmp.ino, tags_replace);
	if (!rc) {
		/* A multipart source keeps its ETag; others get the MD5 just computed. */
		if (!strchr(etag, '-'))
			s3_hex_encode(md5, 16, etag);
		rc = s3_etag_store(v, tmp.ino, etag, ka ? ka->name : NULL, ck_b64);
		if (!rc && strchr(etag, '-'))
			rc = s3_parts_copy(v, &src, etag, tmp.ino);
	}
	struct vol_expect exp;
	bool cond = false;
	if (!rc)
		rc = s3_write_cond(c, tmp.dir, p.name, false, &exp, &cond);
	if (!rc)
		rc = s3_tmp_commit_if(c, &tmp, p.name, cond ? &exp : NULL);
	rc = s3_cond_outcome(c, rc);
	if (!rc)
		committed = true;
out_respond:
	if (!rc) {
		struct vol_attr a;
		struct s3_sbuf b = {0};
		if (vol_getattr(v, tmp.ino ? tmp.ino : src.ino, &a))
			a = src;
		s3_fmt_iso_date(&a.mtime, date, sizeof(date));
		s3_xml_begin(&b, "CopyObjectResult");
		s3_xml_text(&b, "LastModified", date);
		s3_sb_printf(&b, "<ETag>&quot;%s&quot;</ETag>", etag);
		if (ka && ck_b64[0])
			s3_mpu_cksum_xml(&b, ka->name, ck_b64, true);
		s3_xml_close(&b, "CopyObjectResult");
		s3_resp_xml(c, &b);
	}
out_release:
	s3_tmp_discard(&tmp);
	if (have_path) {
		if (!committed)
			s3_path_prune(c, &p);
		s3_path_release(v, &p);
	}
out_forget:
	vol_forget(v, src.ino, 1);
	if (rc)
		s3_resp_error(c, rc);
}

const struct s3_handler s3_op_copy_object = {
	.name = "CopyObject",
	.write = true,
	.done = copy_done,
};
