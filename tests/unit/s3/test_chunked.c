/* aws-chunked decoding against AWS's published examples.
 *
 * Test data, copied as data from the Amazon S3 API Reference: "Signature
 * Calculations for the Authorization Header: Transferring Payload in Multiple
 * Chunks" (66560 bytes of 'a' as 65536 + 1024 + 0, seed signature 4f232c43...)
 * and "... Including Trailing Headers" (same data, seed 106e2a8a..., trailer
 * x-amz-checksum-crc32c:sOO8/Q==), credentials AKIAIOSFODNN7EXAMPLE /
 * wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, 2013-05-24, us-east-1.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/s3/s3_int.h"

#define DOC_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define NDATA 66560

static const char *const signed_sigs[3] = {
	"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
	"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
	"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
};
static const char *const trailer_sigs[3] = {
	"b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
	"1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
	"2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
};

struct out {
	char *p;
	size_t len;
};

static int sink(void *arg, const char *data, size_t len)
{
	struct out *o = arg;

	o->p = realloc(o->p, o->len + len + 1);
	memcpy(o->p + o->len, data, len);
	o->len += len;
	return 0;
}

static void identity(struct s3_identity *id, const char *seed)
{
	memset(id, 0, sizeof(*id));
	s3_sigv4_signing_key(DOC_SECRET, "20130524", "us-east-1", "s3", id->key);
	strcpy(id->amz_date, "20130524T000000Z");
	strcpy(id->scope, "20130524/us-east-1/s3/aws4_request");
	strcpy(id->seed_sig, seed);
}

/* 10000;chunk-signature=... framing of the example's data. */
static char *signed_body(const char *const sigs[3], const char *trailer, size_t *len)
{
	struct s3_sbuf b = {0};
	char *data = malloc(NDATA);

	memset(data, 'a', NDATA);
	s3_sb_printf(&b, "10000;chunk-signature=%s\r\n", sigs[0]);
	s3_sb_add(&b, data, 65536);
	s3_sb_printf(&b, "\r\n400;chunk-signature=%s\r\n", sigs[1]);
	s3_sb_add(&b, data + 65536, 1024);
	s3_sb_printf(&b, "\r\n0;chunk-signature=%s\r\n", sigs[2]);
	s3_sb_puts(&b, trailer ? trailer : "\r\n");
	free(data);
	*len = b.len;
	return s3_sb_take(&b);
}

/* Feed @p body in pieces of @p piece bytes. @return the first error or the finish result. */
static int decode(enum s3_payload mode, const struct s3_identity *id, const char *body, size_t len,
		  size_t piece, struct out *o, struct s3_chunked **keep)
{
	struct s3_chunked *ch = s3_chunked_create(mode, id, true);
	int rc = 0;

	cr_assert_not_null(ch);
	for (size_t off = 0; off < len && !rc; off += piece)
		rc = s3_chunked_feed(ch, body + off, len - off < piece ? len - off : piece, sink,
				     o);
	if (!rc)
		rc = s3_chunked_finish(ch);
	if (keep)
		*keep = ch;
	else
		s3_chunked_destroy(ch);
	return rc;
}

static void assert_all_a(const struct out *o)
{
	cr_assert_eq(o->len, NDATA);
	for (size_t i = 0; i < o->len; i++)
		cr_assert_eq(o->p[i], 'a');
}

Test(chunked, signed_example_in_any_split)
{
	static const size_t pieces[] = {1, 7, 4096, 70000};
	struct s3_identity id;
	size_t len;
	char *body = signed_body(signed_sigs, NULL, &len);

	identity(&id, "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
	cr_assert_eq(len, 66824, "the documented Content-Length");
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		struct out o = {0};
		cr_assert_eq(decode(S3_PAYLOAD_STREAM_SIGNED, &id, body, len, pieces[i], &o, NULL),
			     0, "piece %zu", pieces[i]);
		assert_all_a(&o);
		free(o.p);
	}
	free(body);
}

Test(chunked, any_changed_signature_or_byte_is_refused)
{
	struct s3_identity id;
	size_t len;

	identity(&id, "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
	for (int k = 0; k < 3; k++) {
		const char *sigs[3] = {signed_sigs[0], signed_sigs[1], signed_sigs[2]};
		char bad[65];
		strcpy(bad, sigs[k]);
		bad[10] = bad[10] == '0' ? '1' : '0';
		sigs[k] = bad;
		char *body = signed_body(sigs, NULL, &len);
		struct out o = {0};
		cr_assert_eq(decode(S3_PAYLOAD_STREAM_SIGNED, &id, body, len, 4096, &o, NULL),
			     -S3E_SIGNATURE_MISMATCH, "chunk %d", k);
		free(o.p);
		free(body);
	}
	/* A flipped data byte: the chunk's signature no longer matches. */
	char *body = signed_body(signed_sigs, NULL, &len);
	struct out o = {0};
	body[100] = 'b';
	cr_assert_eq(decode(S3_PAYLOAD_STREAM_SIGNED, &id, body, len, 4096, &o, NULL),
		     -S3E_SIGNATURE_MISMATCH);
	free(o.p);
	/* Cut short: incomplete. */
	body[100] = 'a';
	o = (struct out){0};
	cr_assert_eq(decode(S3_PAYLOAD_STREAM_SIGNED, &id, body, len - 30, 4096, &o, NULL),
		     -S3E_INCOMPLETE_BODY);
	free(o.p);
	free(body);
}

Test(chunked, signed_trailer_example)
{
	const char *trailer = "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:"
			      "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n"
			      "\r\n";
	struct s3_identity id;
	struct s3_chunked *ch;
	struct out o = {0};
	size_t len;
	char *body = signed_body(trailer_sigs, trailer, &len);
	uint8_t be[4];
	char b64[16];

	identity(&id, "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e");
	cr_assert_eq(decode(S3_PAYLOAD_STREAM_SIGNED_TRAILER, &id, body, len, 333, &o, &ch), 0);
	assert_all_a(&o);
	cr_assert_str_eq(s3_chunked_trailer(ch, "x-amz-checksum-crc32c"), "sOO8/Q==");
	s3_chunked_destroy(ch);
	/* Our CRC32C of the data is the trailer's value. */
	uint32_t crc = s3_crc32c(0, o.p, o.len);
	be[0] = (uint8_t)(crc >> 24);
	be[1] = (uint8_t)(crc >> 16);
	be[2] = (uint8_t)(crc >> 8);
	be[3] = (uint8_t)crc;
	s3_base64_encode(be, 4, b64);
	cr_assert_str_eq(b64, "sOO8/Q==");
	free(o.p);
	free(body);

	/* A changed trailer value breaks the trailer signature. */
	char *bad = strdup(trailer);
	bad[strlen("x-amz-checksum-crc32c:")] = 't';
	body = signed_body(trailer_sigs, bad, &len);
	o = (struct out){0};
	cr_assert_eq(decode(S3_PAYLOAD_STREAM_SIGNED_TRAILER, &id, body, len, 333, &o, NULL),
		     -S3E_SIGNATURE_MISMATCH);
	free(o.p);
	free(body);
	free(bad);
}

Test(chunked, unsigned_trailer_and_empty_body)
{
	const char *body =
		"5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
	struct s3_identity id = {0};
	struct s3_chunked *ch;
	struct out o = {0};

	cr_assert_eq(
		decode(S3_PAYLOAD_STREAM_UNSIGNED_TRAILER, &id, body, strlen(body), 3, &o, &ch), 0);
	cr_assert_eq(o.len, 11);
	cr_assert(!memcmp(o.p, "hello world", 11));
	cr_assert_str_eq(s3_chunked_trailer(ch, "x-amz-checksum-crc32"), "DUoRhQ==");
	s3_chunked_destroy(ch);
	free(o.p);

	/* Zero bytes of data: only the last chunk and the trailer. */
	body = "0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
	o = (struct out){0};
	cr_assert_eq(
		decode(S3_PAYLOAD_STREAM_UNSIGNED_TRAILER, &id, body, strlen(body), 1, &o, NULL),
		0);
	cr_assert_eq(o.len, 0);
	free(o.p);

	/* Garbage for a chunk size. */
	body = "zz\r\nhello\r\n";
	o = (struct out){0};
	cr_assert_eq(
		decode(S3_PAYLOAD_STREAM_UNSIGNED_TRAILER, &id, body, strlen(body), 100, &o, NULL),
		-S3E_INCOMPLETE_BODY);
	free(o.p);
}
