/* libFuzzer target for the sidecar's parsers of untrusted input: the SigV4
 * canonical request (path, query and headers as sent), aws-chunked framing
 * (signed, with verification, and unsigned), HTTP chunked framing, the XML bodies, keys, ranges,
 * percent and base64 decoding. Built with clang when TRACKFS_FUZZ is on:
 *   fuzz_s3 -max_total_time=60 CORPUS_DIR */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/s3/s3_int.h"

static int sink(void *arg, const char *data, size_t len)
{
	*(size_t *)arg += len;
	return 0;
}

/* The input is split at NUL bytes into fields. */
static char *field(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *z = memchr(*p, 0, (size_t)(end - *p));
	size_t len = z ? (size_t)(z - *p) : (size_t)(end - *p);
	char *s = malloc(len + 1);

	memcpy(s, *p, len);
	s[len] = '\0';
	*p += len + (z ? 1 : 0);
	return s;
}

static int form_begin(void *arg, const char *name, const char *filename, const char *ctype)
{
	(void)arg;
	return name[0] == '\0' && !filename && !ctype[0];
}

static int form_data(void *arg, const char *d, size_t n)
{
	(void)arg;
	(void)d;
	(void)n;
	return 0;
}

static int form_end(void *arg)
{
	(void)arg;
	return 0;
}

static const struct s3_form_cb fuzz_form_cb = {form_begin, form_data, form_end};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	struct s3_identity id = {0};
	char *path, *query, *h1, *h2, *rest;
	size_t out = 0;
	uint64_t off, len;

	if (size < 2)
		return 0;
	path = field(&p, end);
	query = field(&p, end);
	h1 = field(&p, end);
	h2 = field(&p, end);
	rest = field(&p, end);

	struct s3_kv hdrs[] = {{"host", h1}, {"x-amz-date", h2}};
	struct s3_sigv4_input in = {
		"GET", path, query, hdrs, 2, "host;x-amz-date", "UNSIGNED-PAYLOAD", data[0] & 1};
	struct s3_sbuf creq = {0};
	s3_sigv4_canonical_request(&in, &creq);
	s3_sb_free(&creq);

	strcpy(id.amz_date, "20130524T000000Z");
	strcpy(id.scope, "20130524/us-east-1/s3/aws4_request");
	memset(id.seed_sig, 'a', 64);
	enum s3_payload modes[] = {S3_PAYLOAD_STREAM_SIGNED, S3_PAYLOAD_STREAM_SIGNED_TRAILER,
				   S3_PAYLOAD_STREAM_UNSIGNED_TRAILER};
	for (size_t m = 0; m < 3; m++) {
		struct s3_chunked *ch = s3_chunked_create(modes[m], &id, data[1] & 1);
		size_t piece = 1 + data[1] % 7, n = strlen(rest);
		for (size_t o = 0; o < n; o += piece)
			if (s3_chunked_feed(ch, rest + o, n - o < piece ? n - o : piece, sink,
					    &out))
				break;
		s3_chunked_finish(ch);
		s3_chunked_trailer(ch, "x-amz-checksum-crc32");
		s3_chunked_destroy(ch);
	}

	/* HTTP chunked framing, strictly: split the same way. */
	struct s3_te_chunked te;
	s3_te_init(&te);
	for (size_t o = 0, piece = 1 + data[0] % 5, n = strlen(rest); o < n && !s3_te_done(&te);) {
		ssize_t k = s3_te_feed(&te, rest + o, n - o < piece ? n - o : piece, sink, &out);
		if (k <= 0)
			break;
		o += (size_t)k;
	}

	/* Browser form bodies, split the same way. */
	struct s3_form form;
	if (s3_form_init(&form, "multipart/form-data; boundary=XyZ", &fuzz_form_cb, NULL) == 0) {
		for (size_t o = 0, piece = 1 + data[1] % 11, n = strlen(rest); o < n; o += piece)
			if (s3_form_feed(&form, rest + o, n - o < piece ? n - o : piece))
				break;
		s3_form_fini(&form);
	}

	struct s3_delete_list d;
	if (!s3_xml_parse_delete(rest, strlen(rest), &d))
		s3_delete_list_fini(&d);
	struct s3_complete_list l;
	if (!s3_xml_parse_complete(rest, strlen(rest), &l))
		s3_complete_list_fini(&l);
	s3_key_check(NULL, path);
	s3_bucket_name_check(query);
	s3_range_parse(h1, (uint64_t)size * 1000, &off, &len);
	char *b64 = malloc(strlen(h2) + 1);
	s3_base64_decode(h2, strlen(h2), b64);
	free(b64);
	s3_uri_decode(query, strlen(query), true);

	free(path);
	free(query);
	free(h1);
	free(h2);
	free(rest);
	return 0;
}
