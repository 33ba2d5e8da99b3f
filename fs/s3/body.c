/* The request body pipeline: aws-chunked decoding, then the digests the
 * request asked us to check (x-amz-content-sha256, Content-MD5,
 * x-amz-checksum-* in a header or a trailer), then the operation's own body
 * callback. Nothing is committed by an operation before s3_body_end has
 * verified everything. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fs/s3/s3_int.h"

#define SMALL_BODY_MAX (8u << 20)

/* Take algorithm @p name for the request's checksum; one only, as AWS. */
static int take_checksum(struct s3_conn *c, const char *name, unsigned *hash)
{
	struct s3_req *r = &c->req;
	const struct s3_cksum_algo *a = s3_cksum_algo(name);

	if (!a)
		return -S3E_UNSUPPORTED_CHECKSUM;
	if (r->cksum_name[0] && strcmp(r->cksum_name, a->name)) {
		s3_req_errmsg(c, "Expecting a single x-amz-checksum- header (got %s and %s)",
			      r->cksum_name, a->name);
		return -S3E_INVALID_REQUEST;
	}
	snprintf(r->cksum_name, sizeof(r->cksum_name), "%s", a->name);
	*hash |= a->hash;
	return 0;
}

/* Which checksum does the request carry or announce? */
static int pick_checksum(struct s3_conn *c, unsigned *hash)
{
	struct s3_req *r = &c->req;
	const char *trailer = s3_hdr(r, "x-amz-trailer");
	const char *algo = s3_hdr(r, "x-amz-sdk-checksum-algorithm");
	int rc;

	/* CompleteMultipartUpload's x-amz-checksum-* is the object's checksum
	 * (multipart.c checks it), not the XML body's. */
	if (r->h == &s3_op_mpu_complete)
		return 0;
	for (size_t i = 0; i < r->nhdrs; i++) {
		const char *n = r->hdrs[i].name;
		if (strncmp(n, "x-amz-checksum-", 15) || !strcmp(n, "x-amz-checksum-mode") ||
		    !strcmp(n, "x-amz-checksum-algorithm") || !strcmp(n, "x-amz-checksum-type"))
			continue;
		rc = take_checksum(c, n + 15, hash);
		if (rc)
			return rc;
	}
	if (trailer) {
		if (strncasecmp(trailer, "x-amz-checksum-", 15))
			return -S3E_UNSUPPORTED_CHECKSUM;
		rc = take_checksum(c, trailer + 15, hash);
		if (rc)
			return rc;
	}
	if (algo) {
		const struct s3_cksum_algo *a = s3_cksum_algo(algo);
		if (!a)
			return -S3E_UNSUPPORTED_CHECKSUM;
		if (r->cksum_name[0] && strcmp(r->cksum_name, a->name)) {
			s3_req_errmsg(c,
				      "Value for x-amz-sdk-checksum-algorithm header is invalid: "
				      "%s, but the checksum sent is %s",
				      algo, r->cksum_name);
			return -S3E_INVALID_REQUEST;
		}
		/* Announced without a value: compute it so it can be returned. */
		return take_checksum(c, a->name, hash);
	}
	return 0;
}

int s3_body_begin(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	const struct s3_handler *h = r->h;
	const char *dl = s3_hdr(r, "x-amz-decoded-content-length");
	const char *md5 = s3_hdr(r, "content-md5");
	unsigned want = h ? h->hashes : 0;
	int rc;

	if (md5) {
		uint8_t d[20];
		if (strlen(md5) != 24 || s3_base64_decode(md5, 24, d) != 16)
			return -S3E_INVALID_DIGEST;
		want |= S3_HASH_MD5;
	}
	rc = pick_checksum(c, &want);
	if (rc)
		return rc;
	if (r->payload == S3_PAYLOAD_SHA256)
		want |= S3_HASH_SHA256;
	if (dl) {
		char *end;
		r->decoded_len = (int64_t)strtoll(dl, &end, 10);
		if (*end || r->decoded_len < 0)
			return -S3E_INVALID_ARGUMENT;
	}
	if (r->payload >= S3_PAYLOAD_STREAM_SIGNED) {
		r->chunked = s3_chunked_create(r->payload, &r->id, r->authed);
		if (!r->chunked)
			return -ENOMEM;
	}
	return s3_hash_init(&r->hash, want);
}

static int sink(void *arg, const char *data, size_t len)
{
	struct s3_conn *c = arg;
	struct s3_req *r = &c->req;

	s3_hash_update(&r->hash, data, len);
	r->body_bytes += len;
	if (r->h && r->h->small_body) {
		if (r->body.len + len > SMALL_BODY_MAX)
			return -S3E_ENTITY_TOO_LARGE;
		s3_sb_add(&r->body, data, len);
		return r->body.oom ? -ENOMEM : 0;
	}
	if (r->h && r->h->body)
		return r->h->body(c, data, len);
	return 0;
}

int s3_body_feed(struct s3_conn *c, const char *data, size_t len)
{
	struct s3_req *r = &c->req;

	if (r->chunked)
		return s3_chunked_feed(r->chunked, data, len, sink, c);
	return sink(c, data, len);
}

int s3_body_end(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	uint8_t sha[32];
	const char *md5h = s3_hdr(r, "content-md5");
	int rc;

	if (r->chunked) {
		rc = s3_chunked_finish(r->chunked);
		if (rc)
			return rc;
	}
	if (r->decoded_len >= 0 && (uint64_t)r->decoded_len != r->body_bytes)
		return -S3E_INCOMPLETE_BODY;
	if (s3_hash_final(&r->hash, (r->hash.want & S3_HASH_MD5) ? r->md5 : NULL,
			  (r->hash.want & S3_HASH_SHA256) ? sha : NULL))
		return -ENOMEM;
	if (r->payload == S3_PAYLOAD_SHA256) {
		char hex[65];
		s3_hex_encode(sha, 32, hex);
		if (strcmp(hex, r->payload_sha256))
			return -S3E_SHA256_MISMATCH;
	}
	if (md5h) {
		uint8_t d[20];
		if (s3_base64_decode(md5h, strlen(md5h), d) != 16 || memcmp(d, r->md5, 16))
			return -S3E_BAD_DIGEST;
	}
	if (r->cksum_name[0]) {
		char hname[40];
		const char *sent;

		if (s3_cksum_value(s3_cksum_algo(r->cksum_name), &r->hash, sha, r->cksum_b64))
			return -ENOMEM;
		snprintf(hname, sizeof(hname), "x-amz-checksum-%s", r->cksum_name);
		sent = s3_hdr(r, hname);
		if (!sent && r->chunked)
			sent = s3_chunked_trailer(r->chunked, hname);
		if (sent && strcmp(sent, r->cksum_b64)) {
			s3_req_errmsg(c, "Value for %s header is invalid: computed %s", hname,
				      r->cksum_b64);
			return -S3E_BAD_DIGEST;
		}
	}
	return 0;
}

void s3_body_fini(struct s3_conn *c)
{
	struct s3_req *r = &c->req;

	s3_chunked_destroy(r->chunked);
	r->chunked = NULL;
	s3_hash_fini(&r->hash);
}

/* Does the request carry the body's Content-MD5 or flexible checksum (in
 * a header, or with @p trailers in the trailer x-amz-trailer announced)?
 * body.c checks the value against the body. */
bool s3_req_has_integrity(struct s3_conn *c, bool trailers)
{
	static const char *const names[] = {
		"content-md5",		 "x-amz-checksum-crc32",     "x-amz-checksum-crc32c",
		"x-amz-checksum-sha256", "x-amz-checksum-crc64nvme", "x-amz-checksum-sha1"};
	struct s3_req *r = &c->req;
	const char *t = s3_hdr(r, "x-amz-trailer");

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (s3_hdr(r, names[i]))
			return true;
	if (!t || strncasecmp(t, "x-amz-checksum-", 15))
		return false;
	if (!trailers)
		return true; /* announced: checked once the trailer is in */
	return r->chunked && r->cksum_name[0] && s3_chunked_trailer(r->chunked, t);
}
