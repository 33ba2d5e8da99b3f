/* The strict HTTP chunked decoder (te_chunked.c): well-framed bodies decode
 * the same however they are split across reads, and every framing that
 * http_parser would let through loosely is refused. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "fs/s3/s3_int.h"

struct out {
	char buf[4096];
	size_t len;
};

static int sink(void *arg, const char *data, size_t len)
{
	struct out *o = arg;

	cr_assert_leq(o->len + len, sizeof(o->buf));
	memcpy(o->buf + o->len, data, len);
	o->len += len;
	return 0;
}

/* Decode @p in fed @p piece bytes at a time; @return 0 (done, *used bytes
 * consumed), 1 (wants more), or the error. */
static int decode(const char *in, size_t n, size_t piece, struct out *o, size_t *used)
{
	struct s3_te_chunked t;
	size_t off = 0;

	s3_te_init(&t);
	memset(o, 0, sizeof(*o));
	while (off < n && !s3_te_done(&t)) {
		size_t k = n - off < piece ? n - off : piece;
		ssize_t r = s3_te_feed(&t, in + off, k, sink, o);
		if (r < 0)
			return (int)r;
		cr_assert(r > 0);
		off += (size_t)r;
	}
	*used = off;
	return s3_te_done(&t) ? 0 : 1;
}

Test(te_chunked, well_framed_in_any_split)
{
	static const char in[] = "3\r\nabc\r\n5;ext=1\r\nabcde\r\n0\r\nx-a: b\r\n\r\nGET /next";
	size_t n = strlen(in), body = n - strlen("GET /next"), used;
	struct out o;

	for (size_t piece = 1; piece <= n; piece++) {
		cr_assert_eq(decode(in, n, piece, &o, &used), 0, "piece %zu", piece);
		cr_assert_eq(used, body, "stops at the body's end (piece %zu)", piece);
		cr_assert_eq(o.len, 8);
		cr_assert(!memcmp(o.buf, "abcabcde", 8));
	}
}

Test(te_chunked, incomplete_wants_more)
{
	struct out o;
	size_t used;

	cr_assert_eq(decode("3\r\nabc\r\n0\r\n", 11, 4, &o, &used), 1);
}

Test(te_chunked, bad_framing_refused)
{
	static const char *const bad[] = {
		"3\r\nabcXX5\r\nabcde\r\n0\r\n\r\n", /* no CRLF after the data */
		"3\r\nabcd\r\n0\r\n\r\n",	     /* data longer than its size */
		"3\r\nabc\n0\r\n\r\n",		     /* LF without CR */
		"zz\r\n",			     /* not hex */
		"\r\n",				     /* no size */
		"-1\r\n",			     /* sign */
		"3 \r\nabc\r\n0\r\n\r\n",	     /* space after the size */
		"0x3\r\nabc\r\n0\r\n\r\n",	     /* 0x prefix */
		"3\nabc\r\n0\r\n\r\n",		     /* bare LF after the size */
		"3\rXabc\r\n0\r\n\r\n",		     /* CR not followed by LF */
		"1000000000000000\r\n",		     /* 16 hex digits: too large */
		"3;a\nb\r\nabc\r\n0\r\n\r\n",	     /* bare LF in an extension */
		"0\r\nx-a: b\n\r\n",		     /* bare LF in a trailer */
		"0\r\n\rX",			     /* final CRLF broken */
	};
	struct out o;
	size_t used;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		for (size_t piece = 1; piece <= 3; piece++)
			cr_assert_eq(decode(bad[i], strlen(bad[i]), piece, &o, &used),
				     -S3E_BAD_REQUEST, "case %zu piece %zu: %s", i, piece, bad[i]);
}

Test(te_chunked, fifteen_hex_digits_accepted)
{
	struct s3_te_chunked t;
	struct out o = {0};

	s3_te_init(&t);
	cr_assert_eq(s3_te_feed(&t, "00000000000000a\r\n0123456789", 27, sink, &o), 27);
	cr_assert(!s3_te_done(&t));
	cr_assert_eq(o.len, 10);
}
