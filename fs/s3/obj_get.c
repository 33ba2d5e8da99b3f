/* GetObject and HeadObject: conditional requests (If-Match, If-None-Match,
 * If-Modified-Since, If-Unmodified-Since), single byte ranges, response-*
 * overrides, stored metadata and checksums; the body streams from the file.
 * Also GetObjectAcl, which answers owner-full-control. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fs/s3/s3_int.h"

int s3_range_parse(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
	unsigned long long a, b;
	char *end;

	if (strncmp(h, "bytes=", 6) || strchr(h, ','))
		return 0; /* not bytes, or several ranges: S3 serves the whole object */
	h += 6;
	if (*h == '-') {
		a = strtoull(h + 1, &end, 10);
		if (end == h + 1 || *end)
			return 0;
		if (a == 0 || size == 0)
			return -S3E_INVALID_RANGE;
		if (a > size)
			a = size;
		*off = size - a;
		*len = a;
		return 1;
	}
	a = strtoull(h, &end, 10);
	if (end == h || *end != '-')
		return 0;
	h = end + 1;
	if (*h) {
		b = strtoull(h, &end, 10);
		if (*end || b < a)
			return 0;
	} else {
		b = UINT64_MAX;
	}
	if (a >= size)
		return -S3E_INVALID_RANGE;
	if (b >= size)
		b = size - 1;
	*off = a;
	*len = b - a + 1;
	return 1;
}

/* @return 0 to serve, -S3E_NOT_MODIFIED or -S3E_PRECONDITION_FAILED. */
static int preconditions(struct s3_req *r, const char *etag, time_t mtime)
{
	const char *im = s3_hdr(r, "if-match"), *inm = s3_hdr(r, "if-none-match");
	const char *ims = s3_hdr(r, "if-modified-since");
	const char *ius = s3_hdr(r, "if-unmodified-since");
	time_t t;

	if (im && !s3_etag_in(im, etag))
		return -S3E_PRECONDITION_FAILED;
	if (!im && ius && !s3_parse_http_date(ius, &t) && mtime > t)
		return -S3E_PRECONDITION_FAILED;
	if (inm && s3_etag_in(inm, etag))
		return -S3E_NOT_MODIFIED;
	if (!inm && ims && !s3_parse_http_date(ims, &t) && mtime <= t)
		return -S3E_NOT_MODIFIED;
	return 0;
}

static void get_done(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	struct vol *v = c->srv->v;
	struct vol_attr a;
	char etag[80], date[64];
	uint64_t off = 0, len;
	const char *range = s3_hdr(r, "range");
	struct s3_part_read pr = {0};
	unsigned pn = 0;
	int rc, ranged = 0, part;

	/* A directory marker ("a/b/") answers as an empty object. */
	bool dir = s3_key_is_dir(r->key);

	part = s3_part_number(c, &pn);
	if (part > 0 && range) {
		s3_req_errmsg(c, "Cannot specify both Range header and partNumber query parameter");
		part = -S3E_INVALID_REQUEST;
	}
	if (part < 0) {
		s3_resp_error(c, part);
		return;
	}
	rc = s3_key_lookup(c, r->bucket, r->key, &a);
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	if (dir) {
		strcpy(etag, S3_EMPTY_MD5);
		a.size = 0;
	} else {
		rc = s3_etag_get(v, &a, etag);
		if (rc)
			goto out_forget;
	}
	len = a.size;
	rc = preconditions(r, etag, a.mtime.tv_sec);
	if (rc == -S3E_NOT_MODIFIED) {
		vol_forget(v, a.ino, 1);
		s3_resp_start(c, 304);
		s3_resp_hdr(c, "ETag", "\"%s\"", etag);
		s3_fmt_http_date(a.mtime.tv_sec, date, sizeof(date));
		s3_resp_hdr(c, "Last-Modified", "%s", date);
		s3_resp_finish(c, NULL, 0);
		return;
	}
	if (rc)
		goto out_forget;
	if (range) {
		ranged = s3_range_parse(range, a.size, &off, &len);
		if (ranged < 0) {
			rc = ranged;
			goto out_forget;
		}
	}
	if (part) {
		/* A part of a multipart object is a range; part 1 of a
		 * single-part object is all of it. */
		rc = dir ? (pn == 1 ? 0 : -S3E_INVALID_PART_NUMBER)
			 : s3_part_range(c, &a, etag, pn, &pr);
		if (rc)
			goto out_forget;
		off = pr.off;
		len = pr.len;
		/* An empty part (an empty object's only one) has no byte range. */
		ranged = pr.multipart && pr.len;
	}
	s3_resp_start(c, ranged ? 206 : 200);
	s3_resp_hdr(c, "ETag", "\"%s\"", etag);
	s3_fmt_http_date(a.mtime.tv_sec, date, sizeof(date));
	s3_resp_hdr(c, "Last-Modified", "%s", date);
	s3_resp_hdr(c, "Accept-Ranges", "bytes");
	if (ranged)
		s3_resp_hdr(c, "Content-Range", "bytes %llu-%llu/%llu", (unsigned long long)off,
			    (unsigned long long)(off + len - 1), (unsigned long long)a.size);
	s3_meta_emit(c, a.ino);
	/* The checksum is of the whole object (or of the part read). */
	if ((!ranged || pr.multipart) && !dir)
		s3_checksum_emit(c, &a, &pr);
	if (strchr(etag, '-'))
		s3_resp_hdr(c, "x-amz-mp-parts-count", "%s", strchr(etag, '-') + 1);
	s3_resp_stream(c, a.ino, off, len); /* takes the reference */
	return;

out_forget:
	vol_forget(v, a.ino, 1);
	s3_resp_error(c, rc);
}

const struct s3_handler s3_op_get_object = {
	.name = "GetObject",
	.done = get_done,
};

const struct s3_handler s3_op_head_object = {
	.name = "HeadObject",
	.done = get_done,
};
