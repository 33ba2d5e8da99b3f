/* Random (version 4) UUIDs naming volumes and disks. */
#ifndef TFS_BASE_UUID_H
#define TFS_BASE_UUID_H

#include <stdbool.h>
#include <stdint.h>

struct tfs_uuid {
	uint8_t b[16];
};

#define TFS_UUID_STRLEN 37 /* 36 characters and the NUL */

/** Fill @p out from getrandom(). @return 0 or -errno. */
int tfs_uuid_generate(struct tfs_uuid *out);
/** Format as 8-4-4-4-12 lowercase hex into @p buf (TFS_UUID_STRLEN bytes). */
void tfs_uuid_format(const struct tfs_uuid *u, char buf[TFS_UUID_STRLEN]);
/** Parse the 8-4-4-4-12 form. @return 0 or -EINVAL. */
int tfs_uuid_parse(const char *s, struct tfs_uuid *out);
bool tfs_uuid_equal(const struct tfs_uuid *a, const struct tfs_uuid *b);
bool tfs_uuid_is_nil(const struct tfs_uuid *u);

#endif
