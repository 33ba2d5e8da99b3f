/* Chunk and on-disk structure checksums: xxh3-64 from libxxhash (the same
 * function the index records per chunk). */
#include <xxhash.h>

#include "core/pool.h"

uint64_t trk_checksum(const void *buf, size_t len)
{
	return XXH3_64bits(buf, len);
}
