/* UUID generation, formatting and parsing. */
#include "core/base/uuid.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

int tfs_uuid_generate(struct tfs_uuid *out)
{
	size_t got = 0;

	while (got < sizeof(out->b)) {
		ssize_t n = getrandom(out->b + got, sizeof(out->b) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	out->b[6] = (uint8_t)((out->b[6] & 0x0f) | 0x40);
	out->b[8] = (uint8_t)((out->b[8] & 0x3f) | 0x80);
	return 0;
}

void tfs_uuid_format(const struct tfs_uuid *u, char buf[TFS_UUID_STRLEN])
{
	const uint8_t *b = u->b;

	snprintf(buf, TFS_UUID_STRLEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		 b[15]);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int tfs_uuid_parse(const char *s, struct tfs_uuid *out)
{
	struct tfs_uuid u;
	int n = 0;

	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -EINVAL;
			continue;
		}
		int hi = hexval(s[i]);
		if (hi < 0)
			return -EINVAL;
		i++;
		int lo = hexval(s[i]);
		if (lo < 0)
			return -EINVAL;
		u.b[n++] = (uint8_t)(hi << 4 | lo);
	}
	if (s[36] != '\0' && s[36] != '\n' && s[36] != ' ')
		return -EINVAL;
	*out = u;
	return 0;
}

bool tfs_uuid_equal(const struct tfs_uuid *a, const struct tfs_uuid *b)
{
	return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

bool tfs_uuid_is_nil(const struct tfs_uuid *u)
{
	static const struct tfs_uuid nil;
	return tfs_uuid_equal(u, &nil);
}
