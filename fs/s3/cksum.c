/* The flexible checksum algorithms S3 knows (x-amz-checksum-crc32, -crc32c,
 * -crc64nvme, -sha1, -sha256): their names, sizes and which can be
 * FULL_OBJECT, the base64 value of a body's digest, and the checksums of a
 * multipart object made from its parts' checksums: COMPOSITE (the digest of
 * the parts' raw digests, "-N" appended) or FULL_OBJECT (the parts' CRCs
 * joined, the CRC of the whole object without reading it again). CopyObject
 * computes the one x-amz-checksum-algorithm asks for, else the source's
 * algorithm, over the bytes it copies. */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "fs/s3/s3_int.h"

static const struct s3_cksum_algo algos[] = {
	{"crc32", "CRC32", S3_HASH_CRC32, 4, true, S3_CRC32},
	{"crc32c", "CRC32C", S3_HASH_CRC32C, 4, true, S3_CRC32C},
	{"crc64nvme", "CRC64NVME", S3_HASH_CRC64NVME, 8, true, S3_CRC64NVME},
	{"sha1", "SHA1", S3_HASH_SHA1, 20, false, 0},
	{"sha256", "SHA256", S3_HASH_SHA256, 32, false, 0},
};

const struct s3_cksum_algo *s3_cksum_algo(const char *name)
{
	for (size_t i = 0; i < sizeof(algos) / sizeof(algos[0]); i++)
		if (!strcasecmp(name, algos[i].name))
			return &algos[i];
	return NULL;
}

static void be_encode(uint64_t v, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t be_decode(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

int s3_cksum_value(const struct s3_cksum_algo *a, struct s3_hash *h, const uint8_t *sha256,
		   char *b64)
{
	uint8_t d[32];

	switch (a->hash) {
	case S3_HASH_CRC32:
		be_encode(h->crc32, 4, d);
		break;
	case S3_HASH_CRC32C:
		be_encode(h->crc32c, 4, d);
		break;
	case S3_HASH_CRC64NVME:
		be_encode(h->crc64nvme, 8, d);
		break;
	case S3_HASH_SHA1:
		if (s3_hash_final_sha1(h, d))
			return -ENOMEM;
		break;
	default:
		memcpy(d, sha256, 32);
		break;
	}
	s3_base64_encode(d, a->raw, b64);
	return 0;
}

int s3_cksum_raw(const struct s3_cksum_algo *a, const char *b64, uint8_t *out)
{
	uint8_t d[48];
	size_t len = strlen(b64);

	if (len > 44 || s3_base64_decode(b64, len, d) != (ssize_t)a->raw)
		return -EINVAL;
	memcpy(out, d, a->raw);
	return 0;
}

int s3_cksum_composite(const struct s3_cksum_algo *a, const uint8_t *raws, size_t n, char *b64)
{
	uint8_t d[32];
	unsigned dl;
	size_t len = n * a->raw;

	if (a->hash == S3_HASH_CRC32)
		be_encode(s3_crc32(0, raws, len), 4, d);
	else if (a->hash == S3_HASH_CRC32C)
		be_encode(s3_crc32c(0, raws, len), 4, d);
	else if (a->hash == S3_HASH_CRC64NVME)
		be_encode(s3_crc64nvme(0, raws, len), 8, d);
	else if (!EVP_Digest(raws, len, d, &dl, a->hash == S3_HASH_SHA1 ? EVP_sha1() : EVP_sha256(),
			     NULL))
		return -ENOMEM;
	s3_base64_encode(d, a->raw, b64);
	sprintf(b64 + strlen(b64), "-%zu", n);
	return 0;
}

void s3_cksum_full(const struct s3_cksum_algo *a, const uint8_t *raws, const uint64_t *sizes,
		   size_t n, char *b64)
{
	uint64_t crc = 0;
	uint8_t d[8];

	for (size_t i = 0; i < n; i++) {
		uint64_t part = be_decode(raws + i * a->raw, a->raw);
		crc = i ? s3_crc_combine(a->kind, crc, part, sizes[i]) : part;
	}
	be_encode(crc, a->raw, d);
	s3_base64_encode(d, a->raw, b64);
}

int s3_cksum_for_copy(struct s3_conn *c, const struct vol_attr *src,
		      const struct s3_cksum_algo **out)
{
	const char *h = s3_hdr(&c->req, "x-amz-checksum-algorithm");
	char ck[16], b64[80];

	*out = NULL;
	if (h) {
		*out = s3_cksum_algo(h);
		if (!*out) {
			s3_req_errmsg(
				c,
				"Checksum algorithm %.32s is not supported: use CRC32, CRC32C, "
				"CRC64NVME, SHA1 or SHA256",
				h);
			return -S3E_INVALID_REQUEST;
		}
		return 0;
	}
	if (!S_ISDIR(src->mode) &&
	    !s3_checksum_get(c->srv->v, src, ck, sizeof(ck), b64, sizeof(b64)))
		*out = s3_cksum_algo(ck);
	return 0;
}
