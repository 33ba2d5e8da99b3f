/* The flexible checksums' CRCs (crc.c, cksum.c) against known vectors, in
 * pieces, and joined with s3_crc_combine as a multipart object's are. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fs/s3/s3_int.h"

static const char check[] = "123456789";

Test(crc, known_vectors)
{
	cr_assert_eq(s3_crc32(0, check, 9), 0xCBF43926u);
	cr_assert_eq(s3_crc32c(0, check, 9), 0xE3069283u);
	cr_assert_eq(s3_crc64nvme(0, check, 9), 0xAE8B14860A799888ull);
	cr_assert_eq(s3_crc32(0, "", 0), 0);
	cr_assert_eq(s3_crc32c(0, "", 0), 0);
	cr_assert_eq(s3_crc64nvme(0, "", 0), 0);
	/* 32 bytes of zeros and of 0xff (RFC 3720 B.4 for CRC32C). */
	uint8_t z[32] = {0}, f[32];
	memset(f, 0xff, sizeof(f));
	cr_assert_eq(s3_crc32c(0, z, 32), 0x8A9136AAu);
	cr_assert_eq(s3_crc32c(0, f, 32), 0x62A8AB43u);
}

/* A buffer with every byte value and odd lengths, to cross the 8-byte
 * stride of the CRC64 tables and ISA-L's SIMD blocks. */
static uint8_t *pattern(size_t n)
{
	uint8_t *p = malloc(n);

	cr_assert_not_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 131 + (i >> 7));
	return p;
}

/* Bit-at-a-time references, independent of the tables and of ISA-L. */
static uint64_t slow_crc(const uint8_t *p, size_t n, uint64_t poly, unsigned width)
{
	uint64_t mask = width == 64 ? ~0ull : (1ull << width) - 1, c = mask;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ poly : c >> 1;
	}
	return ~c & mask;
}

Test(crc, pieces_match_whole)
{
	size_t n = 100003;
	uint8_t *p = pattern(n);

	cr_assert_eq(s3_crc32(0, p, n), (uint32_t)crc32(0, p, (uInt)n));
	cr_assert_eq(s3_crc32c(0, p, n), slow_crc(p, n, 0x82F63B78u, 32));
	cr_assert_eq(s3_crc64nvme(0, p, n), slow_crc(p, n, 0x9A6C9329AC4BC9B5ull, 64));
	for (size_t cut = 0; cut < 40; cut += 3) {
		cr_assert_eq(s3_crc32c(s3_crc32c(0, p, cut), p + cut, n - cut), s3_crc32c(0, p, n));
		cr_assert_eq(s3_crc64nvme(s3_crc64nvme(0, p, cut), p + cut, n - cut),
			     s3_crc64nvme(0, p, n));
		cr_assert_eq(s3_crc32(s3_crc32(0, p, cut), p + cut, n - cut), s3_crc32(0, p, n));
	}
	free(p);
}

Test(crc, combine)
{
	size_t n = 70001;
	uint8_t *p = pattern(n);
	size_t cuts[] = {0, 1, 7, 8, 4096, 65536, 70000, 70001};

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		size_t a = cuts[i], b = n - a;
		cr_assert_eq(s3_crc_combine(S3_CRC32, s3_crc32(0, p, a), s3_crc32(0, p + a, b), b),
			     s3_crc32(0, p, n), "crc32 cut at %zu", a);
		cr_assert_eq(
			s3_crc_combine(S3_CRC32C, s3_crc32c(0, p, a), s3_crc32c(0, p + a, b), b),
			s3_crc32c(0, p, n), "crc32c cut at %zu", a);
		cr_assert_eq(s3_crc_combine(S3_CRC64NVME, s3_crc64nvme(0, p, a),
					    s3_crc64nvme(0, p + a, b), b),
			     s3_crc64nvme(0, p, n), "crc64nvme cut at %zu", a);
	}
	/* A length of several GiB: agrees with zlib's combine. */
	uint64_t big = 5ull << 30;
	cr_assert_eq(s3_crc_combine(S3_CRC32, 0x12345678u, 0x9abcdef0u, big),
		     (uint32_t)crc32_combine64(0x12345678u, 0x9abcdef0u, (z_off64_t)big));
	free(p);
}

Test(crc, full_object_and_composite)
{
	const struct s3_cksum_algo *a = s3_cksum_algo("CRC64NVME");
	uint8_t raws[16];
	uint64_t sizes[2] = {4, 5};
	char b64[64], want[64];
	uint64_t c1 = s3_crc64nvme(0, check, 4), c2 = s3_crc64nvme(0, check + 4, 5);

	cr_assert_not_null(a);
	cr_assert_eq(a->raw, 8);
	for (int i = 0; i < 8; i++) {
		raws[i] = (uint8_t)(c1 >> (56 - 8 * i));
		raws[8 + i] = (uint8_t)(c2 >> (56 - 8 * i));
	}
	s3_cksum_full(a, raws, sizes, 2, b64);
	uint8_t be[8];
	for (int i = 0; i < 8; i++)
		be[i] = (uint8_t)(0xAE8B14860A799888ull >> (56 - 8 * i));
	s3_base64_encode(be, 8, want);
	cr_assert_str_eq(b64, want);

	/* COMPOSITE: the CRC32 of the two raw CRC32s, then "-2". */
	const struct s3_cksum_algo *c = s3_cksum_algo("crc32");
	uint8_t r32[8];
	uint32_t p1 = s3_crc32(0, "abc", 3), p2 = s3_crc32(0, "de", 2);
	for (int i = 0; i < 4; i++) {
		r32[i] = (uint8_t)(p1 >> (24 - 8 * i));
		r32[4 + i] = (uint8_t)(p2 >> (24 - 8 * i));
	}
	cr_assert_eq(s3_cksum_composite(c, r32, 2, b64), 0);
	uint32_t whole = s3_crc32(0, r32, 8);
	uint8_t wb[4] = {(uint8_t)(whole >> 24), (uint8_t)(whole >> 16), (uint8_t)(whole >> 8),
			 (uint8_t)whole};
	s3_base64_encode(wb, 4, want);
	strcat(want, "-2");
	cr_assert_str_eq(b64, want);
	cr_assert_null(s3_cksum_algo("md5"));
	cr_assert_eq(s3_cksum_raw(c, "AAAA", r32), -EINVAL, "3 bytes is no CRC32");
}
