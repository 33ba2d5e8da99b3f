/* SigV4 against AWS's published vectors.
 *
 * Test data, copied as data (not code) from public sources:
 *  - "aws-sig-v4-test-suite" (AWS General Reference, Signature Version 4 test
 *    suite, 2015-08-30, credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY,
 *    region us-east-1, service "service"): get-vanilla,
 *    get-vanilla-query-order-key-case, post-vanilla, post-header-value-case.
 *  - Amazon S3 API Reference, "Authenticating Requests (AWS Signature Version 4)":
 *    the GET Object example (header auth, Range) and the presigned-URL example
 *    (examplebucket/test.txt, 2013-05-24, credentials AKIAIOSFODNN7EXAMPLE /
 *    wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "fs/s3/s3_int.h"

#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define DOC_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct vec {
	const char *name, *method, *path, *query;
	struct s3_kv hdrs[4];
	size_t nhdrs;
	const char *signed_headers, *creq, *sig;
};

static const struct vec suite[] = {
	{"get-vanilla",
	 "GET",
	 "/",
	 NULL,
	 {{"host", "example.amazonaws.com"}, {"x-amz-date", "20150830T123600Z"}},
	 2,
	 "host;x-amz-date",
	 "GET\n/"
	 "\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-"
	 "date\n" EMPTY_SHA,
	 "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
	{"get-vanilla-query-order-key-case",
	 "GET",
	 "/",
	 "Param2=value2&Param1=value1",
	 {{"host", "example.amazonaws.com"}, {"x-amz-date", "20150830T123600Z"}},
	 2,
	 "host;x-amz-date",
	 "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\n"
	 "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_SHA,
	 "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
	{"post-vanilla",
	 "POST",
	 "/",
	 NULL,
	 {{"host", "example.amazonaws.com"}, {"x-amz-date", "20150830T123600Z"}},
	 2,
	 "host;x-amz-date",
	 NULL,
	 "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
	{"post-header-value-case",
	 "POST",
	 "/",
	 NULL,
	 {{"host", "example.amazonaws.com"},
	  {"my-header1", "VALUE1"},
	  {"x-amz-date", "20150830T123600Z"}},
	 3,
	 "host;my-header1;x-amz-date",
	 NULL,
	 "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"},
};

static void sign_vector(const struct vec *t, const char *secret, const char *date8,
			const char *amz_date, const char *scope, const char *region,
			const char *payload, bool presigned, char sig[65], struct s3_sbuf *creq)
{
	struct s3_sigv4_input in = {t->method, t->path,		  t->query, t->hdrs,
				    t->nhdrs,  t->signed_headers, payload,  presigned};
	struct s3_sbuf sts = {0};
	uint8_t key[32];

	cr_assert_eq(s3_sigv4_canonical_request(&in, creq), 0, "%s: canonical request", t->name);
	s3_sigv4_string_to_sign(amz_date, scope, creq->p, creq->len, &sts);
	s3_sigv4_signing_key(secret, date8, region, strstr(scope, "/s3/") ? "s3" : "service", key);
	s3_sigv4_sign(key, sts.p, sts.len, sig);
	s3_sb_free(&sts);
}

Test(sigv4, aws_test_suite)
{
	for (size_t i = 0; i < sizeof(suite) / sizeof(suite[0]); i++) {
		const struct vec *t = &suite[i];
		struct s3_sbuf creq = {0};
		char sig[65];

		sign_vector(t, SUITE_SECRET, "20150830", "20150830T123600Z",
			    "20150830/us-east-1/service/aws4_request", "us-east-1", EMPTY_SHA,
			    false, sig, &creq);
		if (t->creq)
			cr_assert_str_eq(creq.p, t->creq, "%s: canonical request", t->name);
		cr_assert_str_eq(sig, t->sig, "%s: signature", t->name);
		s3_sb_free(&creq);
	}
}

Test(sigv4, s3_get_object_example)
{
	const struct vec t = {"s3-get-object",
			      "GET",
			      "/test.txt",
			      NULL,
			      {{"host", "examplebucket.s3.amazonaws.com"},
			       {"range", "bytes=0-9"},
			       {"x-amz-content-sha256", EMPTY_SHA},
			       {"x-amz-date", "20130524T000000Z"}},
			      4,
			      "host;range;x-amz-content-sha256;x-amz-date",
			      NULL,
			      "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"};
	struct s3_sbuf creq = {0};
	char sig[65];

	sign_vector(&t, DOC_SECRET, "20130524", "20130524T000000Z",
		    "20130524/us-east-1/s3/aws4_request", "us-east-1", EMPTY_SHA, false, sig,
		    &creq);
	cr_assert_str_eq(sig, t.sig);
	s3_sb_free(&creq);
}

Test(sigv4, canonical_form_is_independent_of_client_escaping)
{
	/* A client may escape '~' or not, and write hex in either case; the
	 * canonical request must come out the same. */
	struct s3_kv h[] = {{"host", "h"}};
	struct s3_sigv4_input a = {"GET", "/b/a%7eb%2fc", "x=%2a&y=1", h,
				   1,	  "host",	  EMPTY_SHA,   false};
	struct s3_sigv4_input b = {"GET", "/b/a~b%2Fc", "y=1&x=*", h, 1, "host", EMPTY_SHA, false};
	struct s3_sbuf ca = {0}, cb = {0};

	cr_assert_eq(s3_sigv4_canonical_request(&a, &ca), 0);
	cr_assert_eq(s3_sigv4_canonical_request(&b, &cb), 0);
	cr_assert_str_eq(ca.p, cb.p);
	cr_assert(strstr(ca.p, "\n/b/a~b/c\nx=%2A&y=1\n"), "got %s", ca.p);
	s3_sb_free(&ca);
	s3_sb_free(&cb);
	/* A signed header that is not there is an error, not an empty value. */
	struct s3_sigv4_input m = {"GET", "/", NULL, h, 1, "host;x-amz-date", EMPTY_SHA, false};
	cr_assert_eq(s3_sigv4_canonical_request(&m, &ca), -EINVAL);
	s3_sb_free(&ca);
}

/* ---- the whole check, on a request as the parser leaves it ------------------------- */

static struct s3_server srv;
static struct s3_auth auth;
static struct s3_grant grant = {"AKIAIOSFODNN7EXAMPLE", DOC_SECRET, true, "*"};

static void conn_for(struct s3_conn *c, const char *path, const char *query, struct s3_kv *hdrs,
		     size_t nhdrs)
{
	memset(c, 0, sizeof(*c));
	auth.g = &grant;
	auth.n = 1;
	srv.auth = &auth;
	srv.region = "us-east-1";
	c->srv = &srv;
	c->req.method = "GET";
	c->req.path_raw = strdup(path);
	c->req.query_raw = query ? strdup(query) : NULL;
	c->req.hdrs = hdrs;
	c->req.nhdrs = nhdrs;
	/* Decode the query as the router does. */
	const char *q = query;
	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);
		const char *eq = memchr(q, '=', len);
		c->req.q = realloc(c->req.q, (c->req.nq + 1) * sizeof(*c->req.q));
		struct s3_kv *kv = &c->req.q[c->req.nq++];
		kv->name = strndup(q, (size_t)(eq - q));
		kv->value = strndup(eq + 1, len - (size_t)(eq - q) - 1);
		s3_uri_decode(kv->name, strlen(kv->name), true);
		s3_uri_decode(kv->value, strlen(kv->value), true);
		q = amp ? amp + 1 : q + len;
	}
}

static void conn_free(struct s3_conn *c)
{
	for (size_t i = 0; i < c->req.nq; i++) {
		free(c->req.q[i].name);
		free(c->req.q[i].value);
	}
	free(c->req.q);
	free(c->req.path_raw);
	free(c->req.query_raw);
	free(c->req.err_msg);
}

#define PRESIGN_QUERY                                                                              \
	"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-"  \
	"east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-"        \
	"SignedHeaders=host&X-Amz-Signature="                                                      \
	"aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"

static time_t at(const char *amz)
{
	time_t t;

	cr_assert_eq(s3_parse_amz_date(amz, &t), 0);
	return t;
}

Test(sigv4, presigned_url_example_and_expiry)
{
	struct s3_kv h[] = {{"host", "examplebucket.s3.amazonaws.com"}};
	struct s3_conn c;

	conn_for(&c, "/test.txt", PRESIGN_QUERY, h, 1);
	cr_assert_eq(s3_sigv4_check(&c, at("20130524T010000Z")), 0);
	cr_assert(c.req.authed);
	cr_assert_str_eq(c.req.id.access_key, "AKIAIOSFODNN7EXAMPLE");
	cr_assert_eq(c.req.payload, S3_PAYLOAD_UNSIGNED);
	/* Past X-Amz-Expires: expired. */
	cr_assert_eq(s3_sigv4_check(&c, at("20130525T000001Z")), -S3E_EXPIRED);
	conn_free(&c);

	/* Another path under the same signature does not match. */
	conn_for(&c, "/test.txx", PRESIGN_QUERY, h, 1);
	cr_assert_eq(s3_sigv4_check(&c, at("20130524T010000Z")), -S3E_SIGNATURE_MISMATCH);
	conn_free(&c);
}

Test(sigv4, header_auth_example_skew_and_unknown_key)
{
	struct s3_kv h[] = {
		{"host", "examplebucket.s3.amazonaws.com"},
		{"range", "bytes=0-9"},
		{"x-amz-content-sha256", EMPTY_SHA},
		{"x-amz-date", "20130524T000000Z"},
		{"authorization",
		 "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
		 "aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature="
		 "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"},
	};
	struct s3_conn c;

	conn_for(&c, "/test.txt", NULL, h, 5);
	cr_assert_eq(s3_sigv4_check(&c, at("20130524T001000Z")), 0);
	cr_assert_eq(c.req.payload, S3_PAYLOAD_SHA256);
	cr_assert_str_eq(c.req.payload_sha256, EMPTY_SHA);
	/* 16 minutes off: RequestTimeTooSkewed. */
	cr_assert_eq(s3_sigv4_check(&c, at("20130524T001600Z")), -S3E_TIME_SKEWED);
	/* A changed signed header breaks the signature. */
	h[1].value = "bytes=0-10";
	cr_assert_eq(s3_sigv4_check(&c, at("20130524T000000Z")), -S3E_SIGNATURE_MISMATCH);
	h[1].value = "bytes=0-9";
	/* A wrong region is a malformed header, with a message naming ours. */
	srv.region = "eu-west-1";
	cr_assert_eq(s3_sigv4_check(&c, at("20130524T000000Z")), -S3E_AUTH_HEADER_MALFORMED);
	cr_assert(c.req.err_msg && strstr(c.req.err_msg, "eu-west-1"));
	conn_free(&c);

	grant.access_key = "SOMEONEELSE";
	conn_for(&c, "/test.txt", NULL, h, 5);
	cr_assert_eq(s3_sigv4_check(&c, at("20130524T000000Z")), -S3E_INVALID_ACCESS_KEY);
	grant.access_key = "AKIAIOSFODNN7EXAMPLE";
	conn_free(&c);
}

Test(sigv4, anonymous_when_unsigned)
{
	struct s3_kv h[] = {{"host", "x"}};
	struct s3_conn c;

	conn_for(&c, "/b/k", NULL, h, 1);
	cr_assert_eq(s3_sigv4_check(&c, time(NULL)), 0);
	cr_assert_not(c.req.authed);
	cr_assert_null(c.req.id.access_key);
	conn_free(&c);
}
