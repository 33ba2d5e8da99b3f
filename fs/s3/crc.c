/* The CRCs of S3's flexible checksums. CRC32 (zlib's, reflected 0xEDB88320)
 * and CRC32C (Castagnoli, reflected 0x82F63B78) come from ISA-L
 * (libisal-dev), whose crc32_gzip_refl and crc32_iscsi use PCLMULQDQ where
 * the CPU has it; crc32_iscsi keeps the raw register (no inversion on entry
 * or exit), so the inversions are done here. CRC64NVME (the NVMe/Rocksoft
 * CRC-64, reflected 0x9A6C9329AC4BC9B5, init and final xor ~0) is not in
 * Debian 12's ISA-L 2.30 (crc64_rocksoft_refl came in a later release) and
 * ISA-L takes no polynomial of the caller's, so it is a slicing-by-8 table
 * here. s3_crc_combine joins the CRCs of two pieces without their bytes
 * (zlib's method, in GF(2) for any reflected CRC whose init equals its final
 * xor), for the full-object checksums of multipart uploads. */
#include <endian.h>
#include <isa-l/crc.h>
#include <pthread.h>
#include <string.h>

#include "fs/s3/s3_int.h"

#define CRC64NVME_POLY 0x9A6C9329AC4BC9B5ull
#define PIECE (1u << 30) /* ISA-L's crc32_iscsi takes an int length */

static uint64_t crc64_table[8][256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

static void crc64_init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint64_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ CRC64NVME_POLY : c >> 1;
		crc64_table[0][i] = c;
	}
	for (unsigned i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc64_table[t][i] = (crc64_table[t - 1][i] >> 8) ^
					    crc64_table[0][crc64_table[t - 1][i] & 0xff];
}

uint64_t s3_crc64nvme(uint64_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;

	pthread_once(&crc64_once, crc64_init);
	crc = ~crc;
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		w = le64toh(w) ^ crc;
		crc = crc64_table[7][w & 0xff] ^ crc64_table[6][(w >> 8) & 0xff] ^
		      crc64_table[5][(w >> 16) & 0xff] ^ crc64_table[4][(w >> 24) & 0xff] ^
		      crc64_table[3][(w >> 32) & 0xff] ^ crc64_table[2][(w >> 40) & 0xff] ^
		      crc64_table[1][(w >> 48) & 0xff] ^ crc64_table[0][w >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = crc64_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

uint32_t s3_crc32c(uint32_t crc, const void *data, size_t len)
{
	unsigned char *p = (unsigned char *)data; /* ISA-L's prototype lacks const */

	crc = ~crc;
	while (len) {
		size_t n = len > PIECE ? PIECE : len;
		crc = crc32_iscsi(p, (int)n, crc);
		p += n;
		len -= n;
	}
	return ~crc;
}

uint32_t s3_crc32(uint32_t crc, const void *data, size_t len)
{
	return crc32_gzip_refl(crc, data, len);
}

/* a * b modulo the polynomial, both reflected in @p width bits (x^0 is the
 * top bit). */
static uint64_t multmodp(uint64_t a, uint64_t b, uint64_t poly, unsigned width)
{
	uint64_t m = 1ull << (width - 1), p = 0;

	for (;;) {
		if (a & m) {
			p ^= b;
			if ((a & (m - 1)) == 0)
				break;
		}
		m >>= 1;
		b = b & 1 ? (b >> 1) ^ poly : b >> 1;
	}
	return p;
}

uint64_t s3_crc_combine(enum s3_crc_kind kind, uint64_t crc1, uint64_t crc2, uint64_t len2)
{
	uint64_t poly = kind == S3_CRC64NVME ? CRC64NVME_POLY
			: kind == S3_CRC32C  ? 0x82F63B78u
					     : 0xEDB88320u;
	unsigned width = kind == S3_CRC64NVME ? 64 : 32;
	uint64_t xn = 1ull << (width - 1); /* x^0 */
	uint64_t sq = 1ull << (width - 9); /* x^8: one byte */

	/* x^(8 * len2) by squaring, then crc1 shifted over len2 bytes. */
	while (len2) {
		if (len2 & 1)
			xn = multmodp(xn, sq, poly, width);
		len2 >>= 1;
		if (len2)
			sq = multmodp(sq, sq, poly, width);
	}
	return multmodp(xn, crc1, poly, width) ^ crc2;
}
