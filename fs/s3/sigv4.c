/* AWS Signature Version 4 as S3 uses it: the canonical request, the string to
 * sign and the signing key, and the check of a request signed in its
 * Authorization header or in a presigned URL's query (clock skew 15 minutes,
 * presigned expiry at most 7 days). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "fs/s3/s3_int.h"

#define SKEW_S (15 * 60)
#define PRESIGN_MAX_S (7 * 24 * 3600)
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct qpair {
	struct s3_sbuf name, value; /* re-encoded */
};

static int qpair_cmp(const void *a, const void *b)
{
	const struct qpair *x = a, *y = b;
	int r = strcmp(x->name.p ? x->name.p : "", y->name.p ? y->name.p : "");

	return r ? r : strcmp(x->value.p ? x->value.p : "", y->value.p ? y->value.p : "");
}

/* Decode then encode again, so that whatever escaping the client chose, the
 * canonical form is the one SigV4 defines. */
static int recode(struct s3_sbuf *out, const char *s, size_t len, bool keep_slash)
{
	char *tmp = malloc(len + 1);
	ssize_t n;

	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, s, len);
	n = s3_uri_decode(tmp, len, false);
	if (n < 0) {
		free(tmp);
		return (int)n;
	}
	s3_uri_encode(out, tmp, (size_t)n, keep_slash);
	free(tmp);
	return out->oom ? -ENOMEM : 0;
}

static int canonical_query(const char *q, bool presigned, struct s3_sbuf *out)
{
	struct qpair *pairs = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);
		const char *eq = memchr(q, '=', len);
		size_t nlen = eq ? (size_t)(eq - q) : len;

		if (len == 0)
			goto next;
		if (presigned && nlen == 15 && !strncmp(q, "X-Amz-Signature", 15))
			goto next;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			struct qpair *np = realloc(pairs, cap * sizeof(*np));
			if (!np) {
				rc = -ENOMEM;
				goto out_free;
			}
			pairs = np;
		}
		memset(&pairs[n], 0, sizeof(pairs[n]));
		n++;
		rc = recode(&pairs[n - 1].name, q, nlen, false);
		if (!rc && eq)
			rc = recode(&pairs[n - 1].value, eq + 1, len - nlen - 1, false);
		if (rc)
			goto out_free;
	next:
		q = amp ? amp + 1 : q + len;
	}
	if (n)
		qsort(pairs, n, sizeof(*pairs), qpair_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i)
			s3_sb_putc(out, '&');
		s3_sb_puts(out, pairs[i].name.p ? pairs[i].name.p : "");
		s3_sb_putc(out, '=');
		s3_sb_puts(out, pairs[i].value.p ? pairs[i].value.p : "");
	}
out_free:
	for (size_t i = 0; i < n; i++) {
		s3_sb_free(&pairs[i].name);
		s3_sb_free(&pairs[i].value);
	}
	free(pairs);
	return rc;
}

/* Trim and fold runs of spaces to one, as the canonical header value wants. */
static void put_header_value(struct s3_sbuf *out, const char *v)
{
	bool space = false, any = false;

	for (; *v; v++) {
		if (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n') {
			space = any;
			continue;
		}
		if (space)
			s3_sb_putc(out, ' ');
		space = false;
		any = true;
		s3_sb_putc(out, *v);
	}
}

int s3_sigv4_canonical_request(const struct s3_sigv4_input *in, struct s3_sbuf *out)
{
	const char *path = in->path_raw && *in->path_raw ? in->path_raw : "/";
	const char *sh = in->signed_headers;
	int rc;

	s3_sb_puts(out, in->method);
	s3_sb_putc(out, '\n');
	rc = recode(out, path, strlen(path), true);
	if (rc)
		return rc;
	s3_sb_putc(out, '\n');
	rc = canonical_query(in->query_raw, in->presigned, out);
	if (rc)
		return rc;
	s3_sb_putc(out, '\n');
	while (*sh) {
		const char *semi = strchr(sh, ';');
		size_t len = semi ? (size_t)(semi - sh) : strlen(sh);
		bool found = false;

		s3_sb_add(out, sh, len);
		s3_sb_putc(out, ':');
		for (size_t i = 0; i < in->nhdrs; i++) {
			if (strlen(in->hdrs[i].name) != len || strncmp(in->hdrs[i].name, sh, len))
				continue;
			if (found)
				s3_sb_putc(out, ',');
			put_header_value(out, in->hdrs[i].value);
			found = true;
		}
		if (!found)
			return -EINVAL;
		s3_sb_putc(out, '\n');
		sh += len;
		if (*sh == ';')
			sh++;
	}
	s3_sb_putc(out, '\n');
	s3_sb_puts(out, in->signed_headers);
	s3_sb_putc(out, '\n');
	s3_sb_puts(out, in->payload_hash);
	return out->oom ? -ENOMEM : 0;
}

void s3_sigv4_signing_key(const char *secret, const char *date8, const char *region,
			  const char *service, uint8_t key[32])
{
	struct s3_sbuf k = {0};
	uint8_t a[32], b[32];

	s3_sb_puts(&k, "AWS4");
	s3_sb_puts(&k, secret);
	s3_hmac_sha256(k.p, k.len, date8, strlen(date8), a);
	s3_hmac_sha256(a, 32, region, strlen(region), b);
	s3_hmac_sha256(b, 32, service, strlen(service), a);
	s3_hmac_sha256(a, 32, "aws4_request", 12, key);
	if (k.p)
		memset(k.p, 0, k.len);
	s3_sb_free(&k);
}

void s3_sigv4_string_to_sign(const char *amz_date, const char *scope, const char *creq,
			     size_t creq_len, struct s3_sbuf *out)
{
	char hex[65];

	s3_sha256_hex(creq, creq_len, hex);
	s3_sb_printf(out, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, hex);
}

void s3_sigv4_sign(const uint8_t key[32], const char *data, size_t len, char hex[65])
{
	uint8_t mac[32];

	s3_hmac_sha256(key, 32, data, len, mac);
	s3_hex_encode(mac, 32, hex);
}

struct sig_parts {
	char cred[256];
	char signed_headers[1024];
	char signature[80];
	char amz_date[20];
};

/* "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." */
static int parse_auth_header(const char *h, struct sig_parts *p)
{
	const char *s = h + strlen("AWS4-HMAC-SHA256");

	while (*s) {
		while (*s == ' ' || *s == ',')
			s++;
		const char *eq = strchr(s, '=');
		if (!eq)
			break;
		const char *end = eq + 1 + strcspn(eq + 1, ", ");
		size_t nlen = (size_t)(eq - s), vlen = (size_t)(end - eq - 1);
		char *dst = NULL;
		size_t dsize = 0;

		if (nlen == 10 && !strncmp(s, "Credential", 10)) {
			dst = p->cred;
			dsize = sizeof(p->cred);
		} else if (nlen == 13 && !strncmp(s, "SignedHeaders", 13)) {
			dst = p->signed_headers;
			dsize = sizeof(p->signed_headers);
		} else if (nlen == 9 && !strncmp(s, "Signature", 9)) {
			dst = p->signature;
			dsize = sizeof(p->signature);
		}
		if (dst) {
			if (vlen >= dsize)
				return -S3E_AUTH_HEADER_MALFORMED;
			memcpy(dst, eq + 1, vlen);
			dst[vlen] = '\0';
		}
		s = end;
	}
	if (!p->cred[0] || !p->signed_headers[0] || !p->signature[0])
		return -S3E_AUTH_HEADER_MALFORMED;
	return 0;
}

/* Credential = AK/DATE/REGION/SERVICE/aws4_request: split into the key and the scope. */
static int split_credential(struct s3_conn *c, char *cred, const char **ak, char *scope,
			    size_t ssize, int bad)
{
	struct s3_server *srv = c->srv;
	char *slash = strchr(cred, '/');
	char date[16], region[64], service[16], term[32];

	if (!slash || strlen(slash + 1) >= ssize)
		return bad;
	*slash = '\0';
	*ak = cred;
	strcpy(scope, slash + 1);
	if (sscanf(scope, "%15[^/]/%63[^/]/%15[^/]/%31s", date, region, service, term) != 4 ||
	    strcmp(term, "aws4_request") || strcmp(service, "s3") || strlen(date) != 8)
		return bad;
	if (strcmp(region, srv->region)) {
		s3_req_errmsg(c, "the region '%s' is wrong; expecting '%s'", region, srv->region);
		return bad;
	}
	return 0;
}

int s3_sigv4_check(struct s3_conn *c, time_t now)
{
	struct s3_req *r = &c->req;
	struct s3_server *srv = c->srv;
	const char *authz = s3_hdr(r, "authorization");
	struct sig_parts p = {0};
	struct s3_sigv4_input in = {0};
	struct s3_sbuf creq = {0}, sts = {0};
	const char *ak = NULL, *secret, *payload;
	char sig[65];
	time_t t;
	bool presigned = false;
	int rc, bad;

	if (authz && !strncmp(authz, "AWS4-HMAC-SHA256", 16)) {
		bad = -S3E_AUTH_HEADER_MALFORMED;
		rc = parse_auth_header(authz, &p);
		if (rc)
			return rc;
		const char *d = s3_hdr(r, "x-amz-date");
		if (d) {
			if (s3_parse_amz_date(d, &t))
				return bad;
			snprintf(p.amz_date, sizeof(p.amz_date), "%s", d);
		} else {
			struct tm tm;
			d = s3_hdr(r, "date");
			if (!d || s3_parse_http_date(d, &t))
				return -S3E_ACCESS_DENIED;
			gmtime_r(&t, &tm);
			strftime(p.amz_date, sizeof(p.amz_date), "%Y%m%dT%H%M%SZ", &tm);
		}
		if (t > now + SKEW_S || t < now - SKEW_S)
			return -S3E_TIME_SKEWED;
		payload = s3_hdr(r, "x-amz-content-sha256");
		if (!payload) {
			s3_req_errmsg(c, "Missing required header for this request: "
					 "x-amz-content-sha256");
			return -S3E_INVALID_REQUEST;
		}
	} else if (authz) {
		s3_req_errmsg(c, "Only AWS Signature Version 4 (AWS4-HMAC-SHA256) is supported");
		return -S3E_INVALID_REQUEST;
	} else if (s3_qparam(r, "AWSAccessKeyId") && s3_qparam(r, "Signature")) {
		s3_req_errmsg(c, "Only AWS Signature Version 4 presigned URLs are supported (sign "
				 "with signature_version='s3v4')");
		return -S3E_INVALID_REQUEST;
	} else if (s3_qparam(r, "X-Amz-Algorithm")) {
		const char *cred = s3_qparam(r, "X-Amz-Credential");
		const char *d = s3_qparam(r, "X-Amz-Date"), *e = s3_qparam(r, "X-Amz-Expires");
		const char *sh = s3_qparam(r, "X-Amz-SignedHeaders");
		const char *sg = s3_qparam(r, "X-Amz-Signature");
		char *end;
		long exp;

		presigned = true;
		bad = -S3E_AUTH_QUERY_ERROR;
		if (strcmp(s3_qparam(r, "X-Amz-Algorithm"), "AWS4-HMAC-SHA256") || !cred || !d ||
		    !e || !sh || !sg || strlen(cred) >= sizeof(p.cred) ||
		    strlen(sh) >= sizeof(p.signed_headers) || strlen(sg) >= sizeof(p.signature) ||
		    strlen(d) >= sizeof(p.amz_date))
			return bad;
		strcpy(p.cred, cred);
		strcpy(p.signed_headers, sh);
		strcpy(p.signature, sg);
		strcpy(p.amz_date, d);
		exp = strtol(e, &end, 10);
		if (*end || exp < 0 || exp > PRESIGN_MAX_S) {
			s3_req_errmsg(c, "X-Amz-Expires must be between 0 and 604800 seconds");
			return bad;
		}
		if (s3_parse_amz_date(d, &t))
			return bad;
		if (t > now + SKEW_S)
			return -S3E_TIME_SKEWED;
		if (now > t + exp)
			return -S3E_EXPIRED;
		payload = s3_qparam(r, "X-Amz-Content-Sha256");
		if (!payload)
			payload = "UNSIGNED-PAYLOAD";
	} else {
		/* Anonymous: the router decides whether the bucket allows it. */
		memset(&r->id, 0, sizeof(r->id));
		r->authed = false;
		r->payload = S3_PAYLOAD_UNSIGNED;
		return 0;
	}

	rc = split_credential(c, p.cred, &ak, r->id.scope, sizeof(r->id.scope), bad);
	if (rc)
		return rc;
	if (strncmp(r->id.scope, p.amz_date, 8)) {
		s3_req_errmsg(c, "The credential's date does not match the request's date");
		return bad;
	}
	const struct s3_auth *auth = s3_req_auth(c);
	secret = s3_auth_secret(auth, ak);
	if (!secret)
		return -S3E_INVALID_ACCESS_KEY;

	in.method = r->method;
	in.path_raw = r->path_raw;
	in.query_raw = r->query_raw;
	in.hdrs = r->hdrs;
	in.nhdrs = r->nhdrs;
	in.signed_headers = p.signed_headers;
	in.payload_hash = payload;
	in.presigned = presigned;
	rc = s3_sigv4_canonical_request(&in, &creq);
	if (rc == -ENOMEM)
		goto out_free;
	if (rc) {
		s3_req_errmsg(c, "A signed header is missing from the request, or the URL has "
				 "a bad escape");
		rc = bad;
		goto out_free;
	}
	s3_sigv4_string_to_sign(p.amz_date, r->id.scope, creq.p, creq.len, &sts);
	if (sts.oom) {
		rc = -ENOMEM;
		goto out_free;
	}
	{
		char date8[9];
		memcpy(date8, p.amz_date, 8);
		date8[8] = '\0';
		s3_sigv4_signing_key(secret, date8, srv->region, "s3", r->id.key);
	}
	s3_sigv4_sign(r->id.key, sts.p, sts.len, sig);
	if (!s3_str_equal_ct(sig, p.signature)) {
		tfs_debug("s3: signature mismatch for %s; canonical request:\n%s", ak, creq.p);
		rc = -S3E_SIGNATURE_MISMATCH;
		goto out_free;
	}

	/* Point into the auth table, which the request holds until it ends. */
	for (size_t i = 0; i < auth->n; i++)
		if (auth->g[i].access_key && !strcmp(auth->g[i].access_key, ak))
			r->id.access_key = auth->g[i].access_key;
	memcpy(r->id.amz_date, p.amz_date, 16);
	r->id.amz_date[16] = '\0';
	snprintf(r->id.seed_sig, sizeof(r->id.seed_sig), "%s", sig);
	r->authed = true;
	if (!strcmp(payload, "UNSIGNED-PAYLOAD")) {
		r->payload = S3_PAYLOAD_UNSIGNED;
	} else if (!strcmp(payload, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")) {
		r->payload = S3_PAYLOAD_STREAM_SIGNED;
	} else if (!strcmp(payload, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER")) {
		r->payload = S3_PAYLOAD_STREAM_SIGNED_TRAILER;
	} else if (!strcmp(payload, "STREAMING-UNSIGNED-PAYLOAD-TRAILER")) {
		r->payload = S3_PAYLOAD_STREAM_UNSIGNED_TRAILER;
	} else if (strlen(payload) == 64 && strspn(payload, "0123456789abcdef") == 64) {
		r->payload = S3_PAYLOAD_SHA256;
		memcpy(r->payload_sha256, payload, 65);
	} else {
		s3_req_errmsg(c, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-* "
				 "value or a lower-case hex SHA-256");
		rc = -S3E_INVALID_ARGUMENT;
	}
out_free:
	s3_sb_free(&creq);
	s3_sb_free(&sts);
	return rc;
}
