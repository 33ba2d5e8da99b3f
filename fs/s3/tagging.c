/* Tag sets of objects and buckets: parsing one from x-amz-tagging (a URL
 * query, "k1=v1&k2=v2") or from a <Tagging> document (expat), checking it
 * against S3's rules, and keeping it in the xattr user.s3.tagging of the
 * file or bucket directory, written as the canonical query so that it reads
 * well through the mount (getfattr -n user.s3.tagging) and goes with the
 * file on rename. */
#include <errno.h>
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fs/s3/s3_int.h"

/* The largest xattr value there is (Linux's XATTR_SIZE_MAX). */
#define TAGS_XATTR_MAX 65536

void s3_tags_fini(struct s3_tags *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->key[i]);
		free(t->val[i]);
	}
	t->n = 0;
}

static int tags_add(struct s3_tags *t, const char *k, size_t kl, const char *v, size_t vl)
{
	if (t->n == S3_TAGS_BUCKET_MAX + 1)
		return 0; /* over every limit already: counted, not kept */
	t->key[t->n] = strndup(k, kl);
	t->val[t->n] = strndup(v, vl);
	if (!t->key[t->n] || !t->val[t->n]) {
		free(t->key[t->n]);
		free(t->val[t->n]);
		return -ENOMEM;
	}
	t->n++;
	return 0;
}

/* Characters of UTF-8 string @p s, or -1 when it is not valid UTF-8 or holds
 * a control character. */
static long utf8_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	long n = 0;

	while (*p) {
		unsigned cont = 0;

		if (*p < 0x20 || *p == 0x7f)
			return -1;
		if (*p >= 0xf0 && *p <= 0xf4)
			cont = 3;
		else if (*p >= 0xe0)
			cont = *p <= 0xef ? 2 : 99;
		else if (*p >= 0xc2)
			cont = *p <= 0xdf ? 1 : 99;
		else if (*p >= 0x80)
			return -1;
		if (cont == 99)
			return -1;
		p++;
		for (unsigned i = 0; i < cont; i++, p++)
			if ((*p & 0xc0) != 0x80)
				return -1;
		n++;
	}
	return n;
}

static int tags_check(const struct s3_tags *t, size_t max, char *why, size_t wsize)
{
	if (t->n > max) {
		snprintf(why, wsize, "%s tags cannot be greater than %zu",
			 max == S3_TAGS_OBJECT_MAX ? "Object" : "Bucket", max);
		return max == S3_TAGS_OBJECT_MAX ? -S3E_BAD_REQUEST : -S3E_INVALID_TAG;
	}
	for (size_t i = 0; i < t->n; i++) {
		long kl = utf8_chars(t->key[i]), vl = utf8_chars(t->val[i]);

		if (kl < 1 || kl > 128) {
			snprintf(why, wsize,
				 "The TagKey you have provided is invalid: '%.64s' (a key is 1 to "
				 "128 UTF-8 characters, without control characters)",
				 t->key[i]);
			return -S3E_INVALID_TAG;
		}
		if (vl < 0 || vl > 256) {
			snprintf(why, wsize,
				 "The TagValue you have provided is invalid: the value of '%.64s' "
				 "(a value is at most 256 UTF-8 characters, without control "
				 "characters)",
				 t->key[i]);
			return -S3E_INVALID_TAG;
		}
		if (!strncasecmp(t->key[i], "aws:", 4)) {
			snprintf(why, wsize,
				 "Your TagKey cannot be prefixed with aws: ('%.64s'); that prefix "
				 "is reserved",
				 t->key[i]);
			return -S3E_INVALID_TAG;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(t->key[i], t->key[j])) {
				snprintf(why, wsize,
					 "Cannot provide multiple Tags with the same key ('%.64s')",
					 t->key[i]);
				return -S3E_INVALID_TAG;
			}
	}
	return 0;
}

int s3_tags_parse_query(const char *q, size_t max, struct s3_tags *t, char *why, size_t wsize)
{
	const char *seg = q;
	int rc = 0;

	t->n = 0;
	while (*seg && !rc) {
		const char *amp = strchr(seg, '&');
		size_t sl = amp ? (size_t)(amp - seg) : strlen(seg);
		char *s = strndup(seg, sl), *eq;
		ssize_t kl, vl = 0;

		if (!s)
			return s3_tags_fini(t), -ENOMEM;
		eq = strchr(s, '=');
		if (eq)
			*eq = '\0';
		kl = s3_uri_decode(s, strlen(s), true);
		if (eq && kl >= 0)
			vl = s3_uri_decode(eq + 1, strlen(eq + 1), true);
		if (kl < 0 || vl < 0) {
			snprintf(why, wsize,
				 "x-amz-tagging is not a URL-encoded query "
				 "(key1=value1&key2=value2): "
				 "bad %%-escape in '%.64s'",
				 s);
			rc = -S3E_INVALID_ARGUMENT;
		} else if (sl) {
			rc = tags_add(t, s, (size_t)kl, eq ? eq + 1 : "", (size_t)vl);
		}
		free(s);
		seg = amp ? amp + 1 : seg + sl;
	}
	if (!rc)
		rc = tags_check(t, max, why, wsize);
	if (rc)
		s3_tags_fini(t);
	return rc;
}

/* ---- the <Tagging> document ------------------------------------------------------------- */

struct tags_xp {
	XML_Parser p;
	int depth;
	char path[5][16];
	struct s3_sbuf text, key, val;
	bool have_key, have_val;
	struct s3_tags *t;
	int err;
	char why[200];
};

static void xp_fail(struct tags_xp *x, int err, const char *what)
{
	if (x->err)
		return;
	x->err = err;
	snprintf(x->why, sizeof(x->why), "%s", what);
	XML_StopParser(x->p, XML_FALSE);
}

static const char *lname(const char *n)
{
	const char *c = strrchr(n, ':');
	return c ? c + 1 : n;
}

static void XMLCALL tx_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	static const char *const want[] = {"", "Tagging", "TagSet", "Tag", NULL};
	struct tags_xp *x = ud;
	const char *n = lname(name);

	(void)attrs;
	x->depth++;
	s3_sb_reset(&x->text);
	if (x->depth > 4) {
		xp_fail(x, -S3E_MALFORMED_XML,
			"a <Tagging> document is Tagging/TagSet/Tag/Key,Value");
		return;
	}
	snprintf(x->path[x->depth], sizeof(x->path[0]), "%s", n);
	if (x->depth < 4 && strcmp(n, want[x->depth]))
		xp_fail(x, -S3E_MALFORMED_XML,
			"a <Tagging> document is Tagging/TagSet/Tag/Key,Value");
	if (x->depth == 4 && strcmp(n, "Key") && strcmp(n, "Value"))
		xp_fail(x, -S3E_MALFORMED_XML, "a <Tag> holds a <Key> and a <Value>");
	if (x->depth == 3) {
		s3_sb_reset(&x->key);
		s3_sb_reset(&x->val);
		x->have_key = x->have_val = false;
	}
}

static void XMLCALL tx_text(void *ud, const XML_Char *s, int len)
{
	struct tags_xp *x = ud;

	if (x->depth != 4)
		return;
	if (x->text.len + (size_t)len > 4096) {
		xp_fail(x, -S3E_INVALID_TAG, "a tag key or value is longer than 4096 bytes");
		return;
	}
	s3_sb_add(&x->text, s, (size_t)len);
}

static void XMLCALL tx_end(void *ud, const XML_Char *name)
{
	struct tags_xp *x = ud;

	(void)name;
	if (x->err)
		return;
	if (x->depth == 4) {
		bool k = !strcmp(x->path[4], "Key");
		struct s3_sbuf *dst = k ? &x->key : &x->val;
		if (k ? x->have_key : x->have_val)
			xp_fail(x, -S3E_MALFORMED_XML, "a <Tag> holds one <Key> and one <Value>");
		s3_sb_reset(dst);
		s3_sb_add(dst, x->text.p ? x->text.p : "", x->text.len);
		if (k)
			x->have_key = true;
		else
			x->have_val = true;
	} else if (x->depth == 3) {
		if (!x->have_key || !x->have_val) {
			xp_fail(x, -S3E_MALFORMED_XML, "a <Tag> holds a <Key> and a <Value>");
		} else if (x->key.oom || x->val.oom ||
			   tags_add(x->t, x->key.p, x->key.len, x->val.p ? x->val.p : "",
				    x->val.len)) {
			xp_fail(x, -ENOMEM, "out of memory");
		} else if (strlen(x->t->key[x->t->n - 1]) != x->key.len ||
			   strlen(x->t->val[x->t->n - 1]) != x->val.len) {
			xp_fail(x, -S3E_INVALID_TAG, "a tag key or value holds a NUL character");
		}
	}
	s3_sb_reset(&x->text);
	x->depth--;
}

int s3_tags_parse_xml(const char *xml, size_t len, size_t max, struct s3_tags *t, char *why,
		      size_t wsize)
{
	struct tags_xp x = {0};
	int rc = 0;

	t->n = 0;
	x.t = t;
	x.p = XML_ParserCreate(NULL);
	if (!x.p)
		return -ENOMEM;
	XML_SetUserData(x.p, &x);
	XML_SetElementHandler(x.p, tx_start, tx_end);
	XML_SetCharacterDataHandler(x.p, tx_text);
	if (XML_Parse(x.p, xml, (int)len, XML_TRUE) != XML_STATUS_OK) {
		rc = x.err ? x.err : -S3E_MALFORMED_XML;
		if (!x.err)
			snprintf(x.why, sizeof(x.why), "%s",
				 XML_ErrorString(XML_GetErrorCode(x.p)));
	}
	XML_ParserFree(x.p);
	s3_sb_free(&x.text);
	s3_sb_free(&x.key);
	s3_sb_free(&x.val);
	if (rc)
		snprintf(why, wsize, "The XML you provided was not well-formed: %s", x.why);
	else
		rc = tags_check(t, max, why, wsize);
	if (rc)
		s3_tags_fini(t);
	return rc;
}

void s3_tags_to_query(const struct s3_tags *t, struct s3_sbuf *b)
{
	for (size_t i = 0; i < t->n; i++) {
		if (i)
			s3_sb_putc(b, '&');
		s3_uri_encode(b, t->key[i], strlen(t->key[i]), false);
		s3_sb_putc(b, '=');
		s3_uri_encode(b, t->val[i], strlen(t->val[i]), false);
	}
}

void s3_tags_to_xml(const struct s3_tags *t, struct s3_sbuf *b)
{
	s3_xml_begin(b, "Tagging");
	s3_xml_open(b, "TagSet");
	for (size_t i = 0; i < t->n; i++) {
		s3_xml_open(b, "Tag");
		s3_xml_text(b, "Key", t->key[i]);
		s3_xml_text(b, "Value", t->val[i]);
		s3_xml_close(b, "Tag");
	}
	s3_xml_close(b, "TagSet");
	s3_xml_close(b, "Tagging");
}

/* ---- kept as an xattr ---------------------------------------------------------------------- */

int s3_tags_load(struct vol *v, uint64_t ino, struct s3_tags *t, char *why, size_t wsize)
{
	char *buf = malloc(TAGS_XATTR_MAX + 1);
	ssize_t n;
	int rc;

	t->n = 0;
	if (!buf)
		return -ENOMEM;
	n = vol_getxattr(v, ino, S3_TAGGING_X, buf, TAGS_XATTR_MAX);
	if (n < 0) {
		free(buf);
		return (int)n; /* -ENODATA: none */
	}
	buf[n] = '\0';
	/* Set through the mount, it may break S3's rules: read with the
	 * bucket's limit so that a reader can still see and fix it. */
	rc = s3_tags_parse_query(buf, S3_TAGS_BUCKET_MAX, t, why, wsize);
	free(buf);
	return rc ? -EUCLEAN : 0;
}

int s3_tags_store(struct vol *v, uint64_t ino, const struct s3_tags *t)
{
	struct s3_sbuf b = {0};
	int rc;

	if (!t || !t->n) {
		rc = vol_removexattr(v, ino, S3_TAGGING_X);
		return rc == -ENODATA ? 0 : rc;
	}
	s3_tags_to_query(t, &b);
	rc = b.oom ? -ENOMEM : vol_setxattr(v, ino, S3_TAGGING_X, b.p, b.len, 0);
	s3_sb_free(&b);
	return rc;
}

int s3_tags_check_header(struct s3_conn *c, const char *value)
{
	struct s3_tags t;
	char why[300] = "";
	int rc = s3_tags_parse_query(value, S3_TAGS_OBJECT_MAX, &t, why, sizeof(why));

	if (rc && why[0])
		s3_req_errmsg(c, "x-amz-tagging: %s", why);
	s3_tags_fini(&t);
	return rc;
}

int s3_tags_store_from_req(struct s3_conn *c, uint64_t ino)
{
	const char *h = s3_hdr(&c->req, "x-amz-tagging");
	struct s3_tags t = {0};
	char why[300] = "";
	int rc;

	if (h) {
		rc = s3_tags_parse_query(h, S3_TAGS_OBJECT_MAX, &t, why, sizeof(why));
		if (rc) {
			if (why[0])
				s3_req_errmsg(c, "x-amz-tagging: %s", why);
			return rc;
		}
	}
	rc = s3_tags_store(c->srv->v, ino, &t);
	s3_tags_fini(&t);
	return rc;
}

int s3_tags_count(struct vol *v, uint64_t ino)
{
	struct s3_tags t;
	char why[8];
	int rc = s3_tags_load(v, ino, &t, why, sizeof(why));
	int n = rc ? 0 : (int)t.n;

	s3_tags_fini(&t);
	return n;
}
