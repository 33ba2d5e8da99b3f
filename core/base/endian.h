/* Fixed-endian encode/decode for on-disk formats and index keys.
 * On-disk structures are little-endian; index keys are big-endian so that
 * LMDB's byte order is numeric order. */
#ifndef TFS_BASE_ENDIAN_H
#define TFS_BASE_ENDIAN_H

#include <stdint.h>

static inline void tfs_put_le16(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}

static inline void tfs_put_le32(void *p, uint32_t v)
{
	uint8_t *b = p;
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static inline void tfs_put_le64(void *p, uint64_t v)
{
	uint8_t *b = p;
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t tfs_get_le16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] | (b[1] << 8));
}

static inline uint32_t tfs_get_le32(const void *p)
{
	const uint8_t *b = p;
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | b[i];
	return v;
}

static inline uint64_t tfs_get_le64(const void *p)
{
	const uint8_t *b = p;
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | b[i];
	return v;
}

static inline void tfs_put_be64(void *p, uint64_t v)
{
	uint8_t *b = p;
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
}

static inline uint64_t tfs_get_be64(const void *p)
{
	const uint8_t *b = p;
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

#endif
