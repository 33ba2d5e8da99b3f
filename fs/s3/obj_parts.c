/* The parts of an object completed from a multipart upload, kept with it so
 * that GET and HEAD ?partNumber=N can answer a part's bytes and
 * GetObjectAttributes its parts: user.s3.mpu.parts holds one line per part,
 * "NUMBER SIZE [CHECKSUM]" (the part's base64 checksum when the upload had
 * an algorithm), continued in user.s3.mpu.parts.1, .2, ... when it outgrows
 * one attribute. It is written at the completion on the temporary file,
 * beside the ETag record, and trusted only while that record is (the file's
 * ETag is still the upload's "-N" one, N matching and the sizes adding up
 * to the file's): a file changed through the mount since is one part.
 * CopyObject, which keeps a multipart source's ETag, keeps its part sizes. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fs/s3/s3_int.h"

#define PARTS_X "user.s3.mpu.parts"
#define PIECE_MAX 60000 /* below the index's 64 KiB per attribute */

static void piece_name(char *name, size_t size, unsigned k)
{
	if (k)
		snprintf(name, size, PARTS_X ".%u", k);
	else
		snprintf(name, size, PARTS_X);
}

int s3_parts_store(struct vol *v, uint64_t ino, const struct s3_mpu_part *parts, size_t n,
		   bool with_ck)
{
	struct s3_sbuf b = {0};
	char name[64];
	unsigned k = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		size_t before = b.len;
		bool ck = with_ck && parts[i].ck[0];
		s3_sb_printf(&b, "%u %" PRIu64 "%s%s\n", parts[i].number, parts[i].size,
			     ck ? " " : "", ck ? parts[i].ck_b64 : "");
		if (b.oom)
			break;
		if (b.len > PIECE_MAX) {
			piece_name(name, sizeof(name), k++);
			rc = vol_setxattr(v, ino, name, b.p, before, 0);
			if (rc)
				goto out;
			memmove(b.p, b.p + before, b.len - before);
			b.len -= before;
		}
	}
	if (b.oom) {
		rc = -ENOMEM;
		goto out;
	}
	piece_name(name, sizeof(name), k);
	rc = vol_setxattr(v, ino, name, b.p ? b.p : "", b.len, 0);
out:
	s3_sb_free(&b);
	return rc;
}

void s3_parts_fini(struct s3_obj_parts *l)
{
	free(l->p);
	memset(l, 0, sizeof(*l));
}

static int parse_piece(struct s3_obj_parts *l, size_t *cap, char *s)
{
	char *save = NULL;

	for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct s3_obj_part p = {0};
		if (sscanf(line, "%u %" SCNu64 " %47s", &p.number, &p.size, p.ck_b64) < 2)
			return -EINVAL;
		if (!s3_grow((void **)&l->p, cap, l->n + 1, sizeof(*l->p)))
			return -ENOMEM;
		l->p[l->n++] = p;
	}
	return 0;
}

int s3_parts_get(struct vol *v, const struct vol_attr *a, const char *etag,
		 struct s3_obj_parts *out)
{
	const char *dash = strchr(etag, '-');
	char name[64], *buf;
	size_t cap = 0;
	uint64_t sum = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!dash)
		return -ENOENT;
	buf = malloc(65537);
	if (!buf)
		return -ENOMEM;
	for (unsigned k = 0;; k++) {
		piece_name(name, sizeof(name), k);
		ssize_t n = vol_getxattr(v, a->ino, name, buf, 65536);
		if (n == -ENODATA && k > 0)
			break;
		if (n < 0) {
			rc = n == -ENODATA ? -ENOENT : (int)n;
			break;
		}
		buf[n] = '\0';
		rc = parse_piece(out, &cap, buf);
		if (rc)
			break;
	}
	free(buf);
	for (size_t i = 0; !rc && i < out->n; i++)
		sum += out->p[i].size;
	/* The record is the upload's only while the ETag is. */
	if (!rc && (out->n != strtoul(dash + 1, NULL, 10) || sum != a->size))
		rc = -ENOENT;
	if (rc)
		s3_parts_fini(out);
	return rc;
}

int s3_part_number(struct s3_conn *c, unsigned *pn)
{
	const char *s = s3_qparam(&c->req, "partNumber");
	char *end;
	unsigned long n;

	if (!s)
		return 0;
	n = strtoul(s, &end, 10);
	if (!*s || *end || n < 1 || n > 10000) {
		s3_req_errmsg(c,
			      "Part number must be an integer between 1 and 10000, inclusive "
			      "(got partNumber=%.32s)",
			      s);
		return -S3E_INVALID_ARGUMENT;
	}
	*pn = (unsigned)n;
	return 1;
}

int s3_part_range(struct s3_conn *c, const struct vol_attr *a, const char *etag, unsigned pn,
		  struct s3_part_read *out)
{
	struct s3_obj_parts l;
	int rc = s3_parts_get(c->srv->v, a, etag, &l);

	memset(out, 0, sizeof(*out));
	if (rc == -ENOENT) {
		/* One part: the whole object. */
		if (pn != 1) {
			s3_req_errmsg(c,
				      "The requested partnumber is not satisfiable: %s/%s has one "
				      "part (it was not uploaded in parts, or was changed since)",
				      c->req.bucket, c->req.key);
			return -S3E_INVALID_PART_NUMBER;
		}
		out->len = a->size;
		out->count = 1;
		return 0;
	}
	if (rc)
		return rc;
	if (pn > l.n) {
		s3_req_errmsg(c, "The requested partnumber is not satisfiable: %s/%s has %zu parts",
			      c->req.bucket, c->req.key, l.n);
		s3_parts_fini(&l);
		return -S3E_INVALID_PART_NUMBER;
	}
	for (unsigned i = 0; i + 1 < pn; i++)
		out->off += l.p[i].size;
	out->len = l.p[pn - 1].size;
	out->count = (unsigned)l.n;
	out->multipart = true;
	snprintf(out->ck_b64, sizeof(out->ck_b64), "%s", l.p[pn - 1].ck_b64);
	s3_parts_fini(&l);
	return 0;
}

void s3_checksum_emit(struct s3_conn *c, const struct vol_attr *a, const struct s3_part_read *pr)
{
	const char *mode = s3_hdr(&c->req, "x-amz-checksum-mode");
	char ck[16], b64[80], hn[40];

	if (!mode || strcasecmp(mode, "ENABLED") ||
	    s3_checksum_get(c->srv->v, a, ck, sizeof(ck), b64, sizeof(b64)))
		return;
	snprintf(hn, sizeof(hn), "x-amz-checksum-%s", ck);
	if (pr && pr->multipart) {
		/* A part of a multipart object: that part's own checksum. */
		if (pr->ck_b64[0])
			s3_resp_hdr(c, hn, "%s", pr->ck_b64);
		return;
	}
	s3_resp_hdr(c, hn, "%s", b64);
	s3_resp_hdr(c, "x-amz-checksum-type", "%s", strchr(b64, '-') ? "COMPOSITE" : "FULL_OBJECT");
}

int s3_parts_copy(struct vol *v, const struct vol_attr *src, const char *etag, uint64_t dst)
{
	struct s3_obj_parts l;
	struct s3_mpu_part *mp;
	int rc = s3_parts_get(v, src, etag, &l);

	if (rc)
		return rc == -ENOENT ? 0 : rc;
	mp = calloc(l.n, sizeof(*mp));
	if (!mp) {
		s3_parts_fini(&l);
		return -ENOMEM;
	}
	for (size_t i = 0; i < l.n; i++) {
		mp[i].number = l.p[i].number;
		mp[i].size = l.p[i].size;
	}
	rc = s3_parts_store(v, dst, mp, l.n, false);
	free(mp);
	s3_parts_fini(&l);
	return rc;
}
