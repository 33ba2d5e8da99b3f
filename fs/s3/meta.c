/* Object metadata kept with the file as xattrs: Content-Type and the other
 * standard headers as user.s3.<header>, x-amz-meta-* as user.s3.meta.<name>,
 * and the ETag record user.s3.etag = "ETAG MTIME_S MTIME_NS SIZE [ALGO B64]",
 * valid only while the file's mtime and size are the ones it was made for
 * (so files changed through the mount get a fresh MD5 when next asked). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "core/base/log.h"
#include "fs/s3/s3_int.h"

#define XPFX "user.s3."
#define ETAG_XATTR "user.s3.etag"
#define META_MAX 2048
/* The largest xattr value there is (Linux's XATTR_SIZE_MAX). */
#define XATTR_COPY_MAX 65536

static const char *const std_headers[] = {
	"content-type",	    "content-disposition", "cache-control",
	"content-encoding", "content-language",	   "expires",
};

int s3_read_full(struct vol *v, uint64_t ino, void *buf, size_t len, uint64_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = vol_read(v, ino, p, len, (off_t)off);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EIO; /* shrank under us */
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Content-Encoding as sent, without the aws-chunked coding, which is transfer
 * framing (as AWS stores it): the other codings keep their spelling and
 * separators ("deflate, gzip" stays so). */
static void strip_aws_chunked(const char *in, char *out, size_t size)
{
	const char *seg = in;
	size_t o = 0;

	out[0] = '\0';
	while (seg) {
		const char *comma = strchr(seg, ',');
		size_t sl = comma ? (size_t)(comma - seg) : strlen(seg);
		const char *t = seg;
		size_t tl = sl;

		while (tl && (*t == ' ' || *t == '\t'))
			t++, tl--;
		while (tl && (t[tl - 1] == ' ' || t[tl - 1] == '\t'))
			tl--;
		if (tl && !(tl == 11 && !strncasecmp(t, "aws-chunked", 11))) {
			/* The first coding kept loses the whitespace before it. */
			const char *from = o ? seg : t;
			size_t fl = o ? sl : (size_t)(seg + sl - t);
			int n = snprintf(out + o, size - o, "%s%.*s", o ? "," : "", (int)fl, from);
			if (n < 0 || (size_t)n >= size - o)
				break;
			o += (size_t)n;
		}
		seg = comma ? comma + 1 : NULL;
	}
	while (o && (out[o - 1] == ' ' || out[o - 1] == '\t'))
		out[--o] = '\0';
}

int s3_meta_store_from_req(struct s3_conn *c, uint64_t ino)
{
	struct s3_req *r = &c->req;
	struct vol *v = c->srv->v;
	char name[300], val[META_MAX + 1];

	for (size_t i = 0; i < r->nhdrs; i++) {
		const char *h = r->hdrs[i].name, *value = r->hdrs[i].value;
		bool keep = false;
		int rc;

		for (size_t k = 0; k < sizeof(std_headers) / sizeof(std_headers[0]); k++)
			if (!strcmp(h, std_headers[k]))
				keep = true;
		if (!strcmp(h, "content-encoding")) {
			if (strlen(value) > META_MAX)
				return -S3E_INVALID_ARGUMENT;
			strip_aws_chunked(value, val, sizeof(val));
			if (!val[0])
				continue;
			value = val;
		}
		if (keep) {
			snprintf(name, sizeof(name), XPFX "%s", h);
		} else if (!strncmp(h, "x-amz-meta-", 11) && h[11] && strlen(h) < 250) {
			snprintf(name, sizeof(name), XPFX "meta.%s", h + 11);
		} else {
			continue;
		}
		if (strlen(value) > META_MAX)
			return -S3E_INVALID_ARGUMENT;
		rc = vol_setxattr(v, ino, name, value, strlen(value), 0);
		if (rc)
			return rc;
	}
	return 0;
}

static bool internal_attr(const char *n)
{
	/* The tag set and the ACL are not metadata: their own calls govern them. */
	return !strcmp(n, ETAG_XATTR) || !strcmp(n, S3_DIR_MADE_X) || !strcmp(n, S3_DIR_MARKER_X) ||
	       !strcmp(n, S3_TAGGING_X) || !strcmp(n, S3_ACL_X) ||
	       !strncmp(n, XPFX "mpu.", strlen(XPFX "mpu."));
}

/* Call @p cb for each user.s3.* attribute of @p ino. */
static int each_attr(struct vol *v, uint64_t ino, int (*cb)(void *, const char *), void *arg)
{
	ssize_t n = vol_listxattr(v, ino, NULL, 0);
	char *list;
	int rc = 0;

	if (n <= 0)
		return n < 0 && n != -ENOTSUP ? (int)n : 0;
	list = malloc((size_t)n);
	if (!list)
		return -ENOMEM;
	n = vol_listxattr(v, ino, list, (size_t)n);
	for (ssize_t i = 0; n > 0 && i < n && !rc; i += (ssize_t)strlen(list + i) + 1)
		if (!strncmp(list + i, XPFX, strlen(XPFX)))
			rc = cb(arg, list + i);
	free(list);
	return n < 0 ? (int)n : rc;
}

struct clear_arg {
	struct vol *v;
	uint64_t ino;
};

static int clear_one(void *a, const char *name)
{
	struct clear_arg *ca = a;
	int rc;

	if (internal_attr(name))
		return 0;
	rc = vol_removexattr(ca->v, ca->ino, name);
	return rc == -ENODATA ? 0 : rc;
}

int s3_meta_clear(struct vol *v, uint64_t ino)
{
	struct clear_arg ca = {v, ino};

	return each_attr(v, ino, clear_one, &ca);
}

struct copy_arg {
	struct vol *v;
	uint64_t src, dst;
};

static int copy_one(void *a, const char *name)
{
	struct copy_arg *ca = a;
	char val[META_MAX + 1];
	ssize_t n;

	if (internal_attr(name))
		return 0;
	n = vol_getxattr(ca->v, ca->src, name, val, sizeof(val));
	if (n < 0)
		return n == -ENODATA ? 0 : (int)n;
	return vol_setxattr(ca->v, ca->dst, name, val, (size_t)n, 0);
}

int s3_meta_copy(struct vol *v, uint64_t src, uint64_t dst)
{
	struct copy_arg ca = {v, src, dst};

	return each_attr(v, src, copy_one, &ca);
}

struct emit_arg {
	struct s3_conn *c;
	uint64_t ino;
	bool has_type;
};

static int emit_one(void *a, const char *name)
{
	struct emit_arg *ea = a;
	const char *n = name + strlen(XPFX);
	char val[META_MAX + 1], hname[300];
	ssize_t len;

	if (internal_attr(name))
		return 0;
	len = vol_getxattr(ea->c->srv->v, ea->ino, name, val, sizeof(val) - 1);
	if (len < 0)
		return 0;
	val[len] = '\0';
	if (!strncmp(n, "meta.", 5)) {
		snprintf(hname, sizeof(hname), "x-amz-meta-%s", n + 5);
	} else {
		/* content-type -> Content-Type */
		bool up = true;
		size_t i;
		for (i = 0; n[i] && i < sizeof(hname) - 1; i++) {
			hname[i] = up && n[i] >= 'a' && n[i] <= 'z' ? (char)(n[i] - 32) : n[i];
			up = n[i] == '-';
		}
		hname[i] = '\0';
		if (!strcmp(n, "content-type"))
			ea->has_type = true;
		/* response-* query parameters override these. */
		char q[64];
		snprintf(q, sizeof(q), "response-%s", n);
		if (s3_qparam(&ea->c->req, q))
			return 0;
	}
	s3_resp_hdr(ea->c, hname, "%s", val);
	return 0;
}

void s3_meta_emit(struct s3_conn *c, uint64_t ino)
{
	struct emit_arg ea = {c, ino, false};

	each_attr(c->srv->v, ino, emit_one, &ea);
	for (size_t k = 0; k < sizeof(std_headers) / sizeof(std_headers[0]); k++) {
		char q[64];
		const char *val;
		snprintf(q, sizeof(q), "response-%s", std_headers[k]);
		val = s3_qparam(&c->req, q);
		if (!val)
			continue;
		if (!strcmp(std_headers[k], "content-type"))
			ea.has_type = true;
		char hname[64];
		bool up = true;
		size_t i;
		for (i = 0; std_headers[k][i]; i++) {
			char ch = std_headers[k][i];
			hname[i] = up && ch >= 'a' && ch <= 'z' ? (char)(ch - 32) : ch;
			up = ch == '-';
		}
		hname[i] = '\0';
		s3_resp_hdr(c, hname, "%s", val);
	}
	if (!ea.has_type)
		s3_resp_hdr(c, "Content-Type", "binary/octet-stream");
	int tags = s3_tags_count(c->srv->v, ino);
	if (tags)
		s3_resp_hdr(c, "x-amz-tagging-count", "%d", tags);
}

int s3_xattr_copy(struct vol *v, uint64_t src, uint64_t dst, const char *name)
{
	char *val = malloc(XATTR_COPY_MAX);
	ssize_t n;
	int rc;

	if (!val)
		return -ENOMEM;
	n = vol_getxattr(v, src, name, val, XATTR_COPY_MAX);
	if (n >= 0)
		rc = vol_setxattr(v, dst, name, val, (size_t)n, 0);
	free(val);
	if (n >= 0)
		return rc;
	if (n != -ENODATA)
		return (int)n;
	rc = vol_removexattr(v, dst, name);
	return rc == -ENODATA ? 0 : rc;
}

int s3_etag_store(struct vol *v, uint64_t ino, const char *etag, const char *cksum_name,
		  const char *cksum_b64)
{
	struct vol_attr a;
	char rec[256];
	int rc = vol_getattr(v, ino, &a);

	if (rc)
		return rc;
	if (cksum_name && cksum_name[0])
		snprintf(rec, sizeof(rec), "%s %lld %ld %" PRIu64 " %s %s", etag,
			 (long long)a.mtime.tv_sec, a.mtime.tv_nsec, a.size, cksum_name, cksum_b64);
	else
		snprintf(rec, sizeof(rec), "%s %lld %ld %" PRIu64, etag, (long long)a.mtime.tv_sec,
			 a.mtime.tv_nsec, a.size);
	return vol_setxattr(v, ino, ETAG_XATTR, rec, strlen(rec), 0);
}

/* Parse the record; @return true if it is valid for @p a. */
static bool etag_record(struct vol *v, const struct vol_attr *a, char *etag, char *ck, char *b64)
{
	char rec[256];
	ssize_t n = vol_getxattr(v, a->ino, ETAG_XATTR, rec, sizeof(rec) - 1);
	long long sec;
	long nsec;
	uint64_t size;
	char e[80], c1[16] = "", c2[80] = "";

	if (n <= 0)
		return false;
	rec[n] = '\0';
	int f = sscanf(rec, "%79s %lld %ld %" SCNu64 " %15s %79s", e, &sec, &nsec, &size, c1, c2);
	if (f < 4 || sec != (long long)a->mtime.tv_sec || nsec != a->mtime.tv_nsec ||
	    size != a->size)
		return false;
	if (etag)
		strcpy(etag, e);
	if (ck)
		strcpy(ck, f == 6 ? c1 : "");
	if (b64)
		strcpy(b64, f == 6 ? c2 : "");
	return true;
}

int s3_etag_get(struct vol *v, const struct vol_attr *a, char *etag)
{
	EVP_MD_CTX *md;
	uint8_t d[16];
	unsigned dl;
	char *buf;
	uint64_t off = 0;
	int rc = 0;

	if (etag_record(v, a, etag, NULL, NULL))
		return 0;
	/* Written through the mount (or changed since): hash it now, once. */
	md = EVP_MD_CTX_new();
	buf = malloc(1 << 20);
	if (!md || !buf || !EVP_DigestInit_ex(md, EVP_md5(), NULL)) {
		rc = -ENOMEM;
		goto out_free;
	}
	while (off < a->size) {
		size_t n = a->size - off < (1u << 20) ? (size_t)(a->size - off) : (1u << 20);
		rc = s3_read_full(v, a->ino, buf, n, off);
		if (rc)
			goto out_free;
		EVP_DigestUpdate(md, buf, n);
		off += n;
	}
	EVP_DigestFinal_ex(md, d, &dl);
	s3_hex_encode(d, 16, etag);
	rc = s3_etag_store(v, a->ino, etag, NULL, NULL);
	if (rc)
		tfs_debug("s3: keeping the ETag of inode %llu failed: %s",
			  (unsigned long long)a->ino, tfs_strerror(rc));
	rc = 0;
out_free:
	free(buf);
	EVP_MD_CTX_free(md);
	return rc;
}

int s3_checksum_get(struct vol *v, const struct vol_attr *a, char *name, size_t nsize, char *b64,
		    size_t bsize)
{
	char ck[16], val[80];

	if (!etag_record(v, a, NULL, ck, val) || !ck[0])
		return -ENOENT;
	snprintf(name, nsize, "%s", ck);
	snprintf(b64, bsize, "%s", val);
	return 0;
}
