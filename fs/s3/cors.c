/* A bucket's CORS configuration: parsing and checking a CORSConfiguration
 * (expat), writing it back as XML, keeping it in the bucket directory's
 * xattr user.s3.cors (the validated XML, so it survives restarts and goes
 * with the bucket), and matching a request's Origin, method and headers
 * against its rules in order, as S3 does. */
#include <errno.h>
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fs/s3/s3_int.h"

#define CORS_TEXT_MAX 4096

static const char *const method_names[] = {"GET", "PUT", "POST", "DELETE", "HEAD"};

int s3_cors_method_bit(const char *m)
{
	for (size_t i = 0; i < sizeof(method_names) / sizeof(method_names[0]); i++)
		if (!strcmp(m, method_names[i]))
			return 1 << i;
	return 0;
}

static void list_free(struct s3_cors_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void s3_cors_fini(struct s3_cors *cfg)
{
	for (size_t i = 0; i < cfg->n; i++) {
		struct s3_cors_rule *r = &cfg->r[i];
		free(r->id);
		list_free(&r->origins);
		list_free(&r->headers);
		list_free(&r->expose);
	}
	free(cfg->r);
	memset(cfg, 0, sizeof(*cfg));
}

static int list_add(struct s3_cors_list *l, const char *s)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	l->v = v;
	l->v[l->n] = strdup(s);
	if (!l->v[l->n])
		return -ENOMEM;
	l->n++;
	return 0;
}

/* ---- parsing ------------------------------------------------------------------------- */

struct cors_xp {
	XML_Parser p;
	int depth;
	char path[4][32];
	struct s3_sbuf text;
	struct s3_cors *cfg;
	int err;
	char why[200];
};

static void xp_fail(struct cors_xp *x, int err, const char *fmt, const char *arg)
{
	if (x->err)
		return;
	x->err = err;
	snprintf(x->why, sizeof(x->why), fmt, arg);
	XML_StopParser(x->p, XML_FALSE);
}

static const char *lname(const char *n)
{
	const char *c = strrchr(n, ':');
	return c ? c + 1 : n;
}

static void XMLCALL cx_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct cors_xp *x = ud;
	struct s3_cors *cfg = x->cfg;

	(void)attrs;
	x->depth++;
	if (x->depth > 3) {
		xp_fail(x, -S3E_MALFORMED_XML, "unexpected element <%s>", lname(name));
		return;
	}
	snprintf(x->path[x->depth], sizeof(x->path[0]), "%s", lname(name));
	s3_sb_reset(&x->text);
	if (x->depth == 1 && strcmp(x->path[1], "CORSConfiguration"))
		xp_fail(x, -S3E_MALFORMED_XML, "the root element is <%s>, not <CORSConfiguration>",
			x->path[1]);
	else if (x->depth == 2 && strcmp(x->path[2], "CORSRule"))
		xp_fail(x, -S3E_MALFORMED_XML, "unexpected element <%s> in <CORSConfiguration>",
			x->path[2]);
	else if (x->depth == 2) {
		if (cfg->n == S3_CORS_MAX_RULES) {
			xp_fail(x, -S3E_MALFORMED_XML,
				"The number of CORS rules should not exceed allowed limit of %s "
				"rules",
				"100");
			return;
		}
		struct s3_cors_rule *r = realloc(cfg->r, (cfg->n + 1) * sizeof(*r));
		if (!r) {
			xp_fail(x, -ENOMEM, "%s", "out of memory");
			return;
		}
		cfg->r = r;
		memset(&r[cfg->n], 0, sizeof(r[0]));
		r[cfg->n].max_age = -1;
		cfg->n++;
	}
}

static void XMLCALL cx_text(void *ud, const XML_Char *s, int len)
{
	struct cors_xp *x = ud;

	if (x->text.len + (size_t)len > CORS_TEXT_MAX) {
		xp_fail(x, -S3E_MALFORMED_XML, "%s", "a value is longer than 4096 bytes");
		return;
	}
	s3_sb_add(&x->text, s, (size_t)len);
}

static unsigned stars(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '*';
	return n;
}

static void rule_field(struct cors_xp *x, struct s3_cors_rule *r, const char *tag, const char *t)
{
	int rc = 0;

	if (!strcmp(tag, "ID")) {
		free(r->id);
		r->id = strdup(t);
		rc = r->id ? 0 : -ENOMEM;
	} else if (!strcmp(tag, "AllowedOrigin")) {
		if (stars(t) > 1) {
			xp_fail(x, -S3E_INVALID_REQUEST,
				"AllowedOrigin can not have more than one wildcard: %s", t);
			return;
		}
		rc = list_add(&r->origins, t);
	} else if (!strcmp(tag, "AllowedMethod")) {
		int bit = s3_cors_method_bit(t);
		if (!bit) {
			xp_fail(x, -S3E_INVALID_REQUEST,
				"Found unsupported HTTP method in CORS config. Unsupported method "
				"is %s (GET, PUT, POST, DELETE and HEAD are allowed)",
				t);
			return;
		}
		r->methods |= (unsigned)bit;
	} else if (!strcmp(tag, "AllowedHeader")) {
		if (stars(t) > 1) {
			xp_fail(x, -S3E_INVALID_REQUEST,
				"AllowedHeader can not have more than one wildcard: %s", t);
			return;
		}
		rc = list_add(&r->headers, t);
	} else if (!strcmp(tag, "ExposeHeader")) {
		if (strchr(t, '*')) {
			xp_fail(x, -S3E_INVALID_REQUEST,
				"ExposeHeader \"%s\" contains wildcard. We currently do not "
				"support "
				"wildcard for ExposeHeader",
				t);
			return;
		}
		rc = list_add(&r->expose, t);
	} else if (!strcmp(tag, "MaxAgeSeconds")) {
		char *end;
		long v = strtol(t, &end, 10);
		if (!*t || *end || v < 0) {
			xp_fail(x, -S3E_MALFORMED_XML, "MaxAgeSeconds '%s' is not a whole number",
				t);
			return;
		}
		r->max_age = v;
	} else {
		xp_fail(x, -S3E_MALFORMED_XML, "unexpected element <%s> in <CORSRule>", tag);
		return;
	}
	if (rc)
		xp_fail(x, rc, "%s", "out of memory");
}

static void XMLCALL cx_end(void *ud, const XML_Char *name)
{
	struct cors_xp *x = ud;
	struct s3_cors *cfg = x->cfg;
	const char *t = x->text.p ? x->text.p : "";

	(void)name;
	if (x->err)
		return;
	if (x->depth == 3) {
		rule_field(x, &cfg->r[cfg->n - 1], x->path[3], t);
	} else if (x->depth == 2) {
		struct s3_cors_rule *r = &cfg->r[cfg->n - 1];
		if (!r->origins.n || !r->methods)
			xp_fail(x, -S3E_MALFORMED_XML, "%s",
				"each CORSRule needs at least one AllowedOrigin and one "
				"AllowedMethod");
	} else if (x->depth == 1 && !cfg->n) {
		xp_fail(x, -S3E_MALFORMED_XML, "%s", "a CORSConfiguration needs a CORSRule");
	}
	s3_sb_reset(&x->text);
	x->depth--;
}

int s3_cors_parse(const char *xml, size_t len, struct s3_cors *out, char *why, size_t wsize)
{
	struct cors_xp x = {0};
	int rc = 0;

	memset(out, 0, sizeof(*out));
	x.cfg = out;
	x.p = XML_ParserCreate(NULL);
	if (!x.p)
		return -ENOMEM;
	XML_SetUserData(x.p, &x);
	XML_SetElementHandler(x.p, cx_start, cx_end);
	XML_SetCharacterDataHandler(x.p, cx_text);
	if (XML_Parse(x.p, xml, (int)len, XML_TRUE) != XML_STATUS_OK) {
		rc = x.err ? x.err : -S3E_MALFORMED_XML;
		if (!x.err)
			snprintf(x.why, sizeof(x.why), "%s",
				 XML_ErrorString(XML_GetErrorCode(x.p)));
	} else if (!out->n) {
		rc = -S3E_MALFORMED_XML;
		snprintf(x.why, sizeof(x.why), "a CORSConfiguration needs a CORSRule");
	}
	XML_ParserFree(x.p);
	s3_sb_free(&x.text);
	if (rc) {
		if (why)
			snprintf(why, wsize, "%s", x.why);
		s3_cors_fini(out);
	}
	return rc;
}

/* ---- writing ------------------------------------------------------------------------- */

static void list_xml(struct s3_sbuf *b, const char *tag, const struct s3_cors_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		s3_xml_text(b, tag, l->v[i]);
}

void s3_cors_to_xml(const struct s3_cors *cfg, struct s3_sbuf *b)
{
	s3_xml_begin(b, "CORSConfiguration");
	for (size_t i = 0; i < cfg->n; i++) {
		const struct s3_cors_rule *r = &cfg->r[i];
		s3_xml_open(b, "CORSRule");
		if (r->id)
			s3_xml_text(b, "ID", r->id);
		list_xml(b, "AllowedHeader", &r->headers);
		for (size_t m = 0; m < sizeof(method_names) / sizeof(method_names[0]); m++)
			if (r->methods & (1u << m))
				s3_xml_text(b, "AllowedMethod", method_names[m]);
		list_xml(b, "AllowedOrigin", &r->origins);
		list_xml(b, "ExposeHeader", &r->expose);
		if (r->max_age >= 0)
			s3_xml_u64(b, "MaxAgeSeconds", (uint64_t)r->max_age);
		s3_xml_close(b, "CORSRule");
	}
	s3_xml_close(b, "CORSConfiguration");
}

/* ---- storage ------------------------------------------------------------------------- */

int s3_cors_load(struct vol *v, uint64_t bucket_ino, struct s3_cors *out)
{
	ssize_t n = vol_getxattr(v, bucket_ino, S3_CORS_X, NULL, 0);
	char *buf;
	int rc;

	memset(out, 0, sizeof(*out));
	if (n == -ENODATA || n == -ENOENT)
		return -ENOENT;
	if (n < 0)
		return (int)n;
	buf = malloc((size_t)n + 1);
	if (!buf)
		return -ENOMEM;
	n = vol_getxattr(v, bucket_ino, S3_CORS_X, buf, (size_t)n);
	if (n < 0) {
		free(buf);
		return n == -ENODATA ? -ENOENT : (int)n;
	}
	rc = s3_cors_parse(buf, (size_t)n, out, NULL, 0);
	free(buf);
	return rc ? -EIO : 0;
}

/* ---- matching ------------------------------------------------------------------------ */

/* @p pat with at most one '*' matching any run of characters. */
static bool wild_match(const char *pat, const char *s, bool icase)
{
	const char *star = strchr(pat, '*');
	size_t sl = strlen(s);
	int (*cmp)(const char *, const char *, size_t) = icase ? strncasecmp : strncmp;

	if (!star)
		return icase ? !strcasecmp(pat, s) : !strcmp(pat, s);
	size_t pre = (size_t)(star - pat), post = strlen(star + 1);
	return sl >= pre + post && !cmp(pat, s, pre) && !cmp(star + 1, s + sl - post, post);
}

static bool header_allowed(const struct s3_cors_rule *r, const char *h, size_t len)
{
	char name[256];

	if (len >= sizeof(name))
		return false;
	memcpy(name, h, len);
	name[len] = '\0';
	for (size_t i = 0; i < r->headers.n; i++)
		if (wild_match(r->headers.v[i], name, true))
			return true;
	return false;
}

/* Every name of the comma-separated @p list is allowed by @p r. */
static bool headers_allowed(const struct s3_cors_rule *r, const char *list)
{
	const char *p = list;

	while (p && *p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *e = p;
		while (*e && *e != ',')
			e++;
		size_t len = (size_t)(e - p);
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len && !header_allowed(r, p, len))
			return false;
		p = e;
	}
	return true;
}

const struct s3_cors_rule *s3_cors_match(const struct s3_cors *cfg, const char *origin,
					 const char *method, const char *req_headers)
{
	int bit = s3_cors_method_bit(method);

	if (!bit)
		return NULL;
	for (size_t i = 0; i < cfg->n; i++) {
		const struct s3_cors_rule *r = &cfg->r[i];
		bool o = false;

		if (!(r->methods & (unsigned)bit))
			continue;
		for (size_t k = 0; k < r->origins.n && !o; k++)
			o = wild_match(r->origins.v[k], origin, false);
		if (o && headers_allowed(r, req_headers))
			return r;
	}
	return NULL;
}

void s3_cors_emit(struct s3_conn *c, const struct s3_cors_rule *r, const char *origin,
		  bool preflight)
{
	struct s3_sbuf b = {0};
	bool any = false;

	for (size_t k = 0; k < r->origins.n; k++)
		any |= !strcmp(r->origins.v[k], "*");
	if (any) {
		s3_resp_hdr(c, "Access-Control-Allow-Origin", "*");
	} else {
		s3_resp_hdr(c, "Access-Control-Allow-Origin", "%s", origin);
		s3_resp_hdr(c, "Access-Control-Allow-Credentials", "true");
	}
	for (size_t m = 0; m < sizeof(method_names) / sizeof(method_names[0]); m++)
		if (r->methods & (1u << m)) {
			if (b.len)
				s3_sb_puts(&b, ", ");
			s3_sb_puts(&b, method_names[m]);
		}
	s3_resp_hdr(c, "Access-Control-Allow-Methods", "%s", b.p ? b.p : "");
	s3_sb_reset(&b);
	if (preflight) {
		const char *rh = s3_hdr(&c->req, "access-control-request-headers");
		if (rh && *rh)
			s3_resp_hdr(c, "Access-Control-Allow-Headers", "%s", rh);
	}
	for (size_t k = 0; k < r->expose.n; k++) {
		if (b.len)
			s3_sb_puts(&b, ", ");
		s3_sb_puts(&b, r->expose.v[k]);
	}
	if (b.len)
		s3_resp_hdr(c, "Access-Control-Expose-Headers", "%s", b.p);
	if (r->max_age >= 0)
		s3_resp_hdr(c, "Access-Control-Max-Age", "%ld", r->max_age);
	s3_resp_hdr(c, "Vary",
		    "Origin, Access-Control-Request-Headers, Access-Control-Request-Method");
	s3_sb_free(&b);
}

void s3_cors_resp_headers(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	const char *origin = s3_hdr(r, "origin");
	struct s3_cors cfg;
	const struct s3_cors_rule *rule;
	uint64_t ino;

	if (!origin || !r->bucket || !r->method || !strcmp(r->method, "OPTIONS") ||
	    s3_bucket_req_check(r->bucket))
		return;
	if (s3_bucket_lookup(c->srv->v, r->bucket, &ino))
		return;
	int rc = s3_cors_load(c->srv->v, ino, &cfg);
	vol_forget(c->srv->v, ino, 1);
	if (rc)
		return;
	rule = s3_cors_match(&cfg, origin, r->method, NULL);
	if (rule)
		s3_cors_emit(c, rule, origin, false);
	s3_cors_fini(&cfg);
}
