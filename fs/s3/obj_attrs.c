/* GetObjectAttributes (GET /bucket/key?attributes): the attributes listed
 * in x-amz-object-attributes (ETag, Checksum, ObjectParts, StorageClass,
 * ObjectSize) in one XML answer. ObjectParts lists the parts of an object
 * completed from a multipart upload (obj_parts.c), PartNumber as uploaded,
 * paged by x-amz-max-parts and x-amz-part-number-marker, when the upload had
 * a checksum algorithm (else, as AWS, only their count); an object that was
 * not, or was changed through the mount since, has no ObjectParts, as in
 * AWS for a single-part object. The conditional headers are not honoured
 * here, so a request with one is refused (NotImplemented). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fs/s3/s3_int.h"

enum {
	A_ETAG = 1 << 0,
	A_CHECKSUM = 1 << 1,
	A_PARTS = 1 << 2,
	A_CLASS = 1 << 3,
	A_SIZE = 1 << 4,
};

static const struct {
	const char *name;
	unsigned bit;
} attr_names[] = {
	{"ETag", A_ETAG},	   {"Checksum", A_CHECKSUM}, {"ObjectParts", A_PARTS},
	{"StorageClass", A_CLASS}, {"ObjectSize", A_SIZE},
};

static int parse_attrs(struct s3_conn *c, unsigned *want)
{
	const char *h = s3_hdr(&c->req, "x-amz-object-attributes");

	*want = 0;
	while (h && *h) {
		size_t n;
		bool known = false;

		while (*h == ' ' || *h == ',')
			h++;
		n = strcspn(h, ", ");
		for (size_t i = 0; n && i < sizeof(attr_names) / sizeof(attr_names[0]); i++) {
			if (strlen(attr_names[i].name) == n && !strncmp(h, attr_names[i].name, n)) {
				*want |= attr_names[i].bit;
				known = true;
			}
		}
		if (n && !known) {
			s3_req_errmsg(c,
				      "Invalid attribute name specified: %.*s (x-amz-object-"
				      "attributes takes ETag, Checksum, ObjectParts, StorageClass, "
				      "ObjectSize)",
				      (int)(n > 64 ? 64 : n), h);
			return -S3E_INVALID_ARGUMENT;
		}
		h += n;
	}
	if (!*want) {
		s3_req_errmsg(c, "x-amz-object-attributes must name at least one of ETag, "
				 "Checksum, ObjectParts, StorageClass, ObjectSize");
		return -S3E_INVALID_ARGUMENT;
	}
	return 0;
}

static int parse_uint(struct s3_conn *c, const char *hname, unsigned dflt, unsigned max,
		      unsigned *out)
{
	const char *s = s3_hdr(&c->req, hname);
	char *end;
	unsigned long n;

	*out = dflt;
	if (!s)
		return 0;
	n = strtoul(s, &end, 10);
	if (!*s || *end || n > max) {
		s3_req_errmsg(c, "%s must be an integer from 0 to %u (got %.32s)", hname, max, s);
		return -S3E_INVALID_ARGUMENT;
	}
	*out = (unsigned)n;
	return 0;
}

static void add_parts(struct s3_conn *c, struct s3_sbuf *b, const struct s3_obj_parts *l,
		      const char *ck_name, unsigned max, unsigned marker)
{
	unsigned count = 0, last = 0;
	bool truncated = false;
	struct s3_sbuf items = {0};

	/* As AWS (general purpose buckets): the parts are listed only when
	 * they have checksums; else only their count. */
	if (!l->p[0].ck_b64[0]) {
		s3_xml_open(b, "ObjectParts");
		s3_xml_u64(b, "PartsCount", l->n);
		s3_xml_close(b, "ObjectParts");
		return;
	}
	for (size_t i = 0; i < l->n; i++) {
		if (l->p[i].number <= marker)
			continue;
		if (count == max) {
			truncated = true;
			break;
		}
		s3_xml_open(&items, "Part");
		s3_mpu_cksum_xml(&items, ck_name, l->p[i].ck_b64, false);
		s3_xml_u64(&items, "PartNumber", l->p[i].number);
		s3_xml_u64(&items, "Size", l->p[i].size);
		s3_xml_close(&items, "Part");
		last = l->p[i].number;
		count++;
	}
	s3_xml_open(b, "ObjectParts");
	s3_xml_text(b, "IsTruncated", truncated ? "true" : "false");
	s3_xml_u64(b, "MaxParts", max);
	if (truncated)
		s3_xml_u64(b, "NextPartNumberMarker", last);
	s3_xml_u64(b, "PartNumberMarker", marker);
	s3_sb_add(b, items.p ? items.p : "", items.len);
	if (items.oom)
		b->oom = true;
	s3_xml_u64(b, "PartsCount", l->n);
	s3_xml_close(b, "ObjectParts");
	s3_sb_free(&items);
}

static void attrs_done(struct s3_conn *c)
{
	static const char *const conds[] = {"if-match", "if-none-match", "if-modified-since",
					    "if-unmodified-since"};
	struct s3_req *r = &c->req;
	struct vol *v = c->srv->v;
	bool dir = s3_key_is_dir(r->key);
	struct s3_obj_parts l = {0};
	struct s3_sbuf b = {0};
	struct vol_attr a;
	unsigned want, max, marker;
	char etag[80], date[64], ck[16] = "", b64[80] = "";
	int rc;

	for (size_t i = 0; i < sizeof(conds) / sizeof(conds[0]); i++) {
		if (s3_hdr(r, conds[i])) {
			s3_req_errmsg(c,
				      "%s is not supported on GetObjectAttributes here: ask "
				      "HeadObject with the condition instead",
				      conds[i]);
			s3_resp_error(c, -S3E_NOT_IMPLEMENTED);
			return;
		}
	}
	rc = parse_attrs(c, &want);
	if (!rc)
		rc = parse_uint(c, "x-amz-max-parts", 1000, 1000, &max);
	if (!rc)
		rc = parse_uint(c, "x-amz-part-number-marker", 0, 10000, &marker);
	if (rc) {
		s3_resp_error(c, rc);
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
		if (!rc && s3_checksum_get(v, &a, ck, sizeof(ck), b64, sizeof(b64)))
			ck[0] = '\0';
		if (!rc && (want & A_PARTS)) {
			rc = s3_parts_get(v, &a, etag, &l);
			if (rc == -ENOENT)
				rc = 0;
		}
	}
	vol_forget(v, a.ino, 1);
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	s3_xml_begin(&b, "GetObjectAttributesResponse");
	if (want & A_ETAG)
		s3_xml_text(&b, "ETag", etag);
	if ((want & A_CHECKSUM) && ck[0]) {
		s3_xml_open(&b, "Checksum");
		s3_mpu_cksum_xml(&b, ck, b64, true);
		s3_xml_close(&b, "Checksum");
	}
	if ((want & A_PARTS) && l.n)
		add_parts(c, &b, &l, ck, max, marker);
	if (want & A_CLASS)
		s3_xml_text(&b, "StorageClass", "STANDARD");
	if (want & A_SIZE)
		s3_xml_u64(&b, "ObjectSize", a.size);
	s3_xml_close(&b, "GetObjectAttributesResponse");
	s3_parts_fini(&l);
	if (b.oom) {
		s3_sb_free(&b);
		s3_resp_error(c, -ENOMEM);
		return;
	}
	s3_resp_start(c, 200);
	s3_resp_hdr(c, "Content-Type", "application/xml");
	s3_fmt_http_date(a.mtime.tv_sec, date, sizeof(date));
	s3_resp_hdr(c, "Last-Modified", "%s", date);
	s3_resp_finish(c, b.p, b.len);
	s3_sb_free(&b);
}

const struct s3_handler s3_op_object_attributes = {
	.name = "GetObjectAttributes",
	.done = attrs_done,
};
