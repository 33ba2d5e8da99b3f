/* Digests of request bodies computed as the bytes stream past: MD5 (ETags,
 * Content-MD5), SHA-256 (payload hashes, x-amz-checksum-sha256) and SHA-1
 * (x-amz-checksum-sha1) through OpenSSL's EVP, and the CRCs of the flexible
 * checksums (CRC32, CRC32C, CRC64NVME) through crc.c. */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "fs/s3/s3_int.h"

int s3_hash_init(struct s3_hash *h, unsigned want)
{
	memset(h, 0, sizeof(*h));
	h->want = want;
	if (want & S3_HASH_MD5) {
		h->md5 = EVP_MD_CTX_new();
		if (!h->md5 || !EVP_DigestInit_ex(h->md5, EVP_md5(), NULL))
			goto out_fini;
	}
	if (want & S3_HASH_SHA256) {
		h->sha256 = EVP_MD_CTX_new();
		if (!h->sha256 || !EVP_DigestInit_ex(h->sha256, EVP_sha256(), NULL))
			goto out_fini;
	}
	if (want & S3_HASH_SHA1) {
		h->sha1 = EVP_MD_CTX_new();
		if (!h->sha1 || !EVP_DigestInit_ex(h->sha1, EVP_sha1(), NULL))
			goto out_fini;
	}
	return 0;

out_fini:
	s3_hash_fini(h);
	return -ENOMEM;
}

void s3_hash_update(struct s3_hash *h, const void *data, size_t len)
{
	h->bytes += len;
	if (h->md5)
		EVP_DigestUpdate(h->md5, data, len);
	if (h->sha256)
		EVP_DigestUpdate(h->sha256, data, len);
	if (h->sha1)
		EVP_DigestUpdate(h->sha1, data, len);
	if (h->want & S3_HASH_CRC32)
		h->crc32 = s3_crc32(h->crc32, data, len);
	if (h->want & S3_HASH_CRC32C)
		h->crc32c = s3_crc32c(h->crc32c, data, len);
	if (h->want & S3_HASH_CRC64NVME)
		h->crc64nvme = s3_crc64nvme(h->crc64nvme, data, len);
}

int s3_hash_final(struct s3_hash *h, uint8_t *md5, uint8_t *sha256)
{
	unsigned n;

	if (md5 && (!h->md5 || !EVP_DigestFinal_ex(h->md5, md5, &n)))
		return -EINVAL;
	if (sha256 && (!h->sha256 || !EVP_DigestFinal_ex(h->sha256, sha256, &n)))
		return -EINVAL;
	return 0;
}

int s3_hash_final_sha1(struct s3_hash *h, uint8_t *out)
{
	unsigned n;

	return h->sha1 && EVP_DigestFinal_ex(h->sha1, out, &n) ? 0 : -EINVAL;
}

void s3_hash_fini(struct s3_hash *h)
{
	EVP_MD_CTX_free(h->md5);
	EVP_MD_CTX_free(h->sha256);
	EVP_MD_CTX_free(h->sha1);
	h->md5 = h->sha256 = h->sha1 = NULL;
}

void s3_sha256(const void *data, size_t len, uint8_t out[32])
{
	unsigned n;

	EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

void s3_sha256_hex(const void *data, size_t len, char out[65])
{
	uint8_t d[32];

	s3_sha256(data, len, d);
	s3_hex_encode(d, 32, out);
}

void s3_hmac_sha256(const void *key, size_t klen, const void *data, size_t len, uint8_t out[32])
{
	unsigned n = 32;

	HMAC(EVP_sha256(), key, (int)klen, data, len, out, &n);
}
