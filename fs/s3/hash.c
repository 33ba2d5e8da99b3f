/* Digests of request bodies computed as the bytes stream past: MD5 (ETags,
 * Content-MD5), SHA-256 (payload hashes, x-amz-checksum-sha256) through
 * OpenSSL's EVP, CRC32 through zlib, and CRC32C through a small table here
 * because no Debian library exposes it conveniently. */
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <openssl/hmac.h>
#include <string.h>
#include <zlib.h>

#include "fs/s3/s3_int.h"

static uint32_t crc32c_table[256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static void crc32c_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc32c_table[i] = c;
	}
}

uint32_t s3_crc32c(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;

	pthread_once(&crc32c_once, crc32c_init);
	crc = ~crc;
	while (len--)
		crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

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
	h->crc32 = (uint32_t)crc32(0, NULL, 0);
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
	if (h->want & S3_HASH_CRC32) {
		const unsigned char *p = data;
		size_t left = len;
		while (left) {
			uInt n = left > (1u << 30) ? (1u << 30) : (uInt)left;
			h->crc32 = (uint32_t)crc32(h->crc32, p, n);
			p += n;
			left -= n;
		}
	}
	if (h->want & S3_HASH_CRC32C)
		h->crc32c = s3_crc32c(h->crc32c, data, len);
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

void s3_hash_fini(struct s3_hash *h)
{
	EVP_MD_CTX_free(h->md5);
	EVP_MD_CTX_free(h->sha256);
	h->md5 = h->sha256 = NULL;
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
