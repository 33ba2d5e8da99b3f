/* vol_reserve_name / vol_name_reserved: a name reserved in the root only,
 * a prefix reserved everywhere, repeats, limits and bad input. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/vol/fixture.h"

static struct fx F;

static void setup(void)
{
	fx_setup(&F, 4096);
}

static void teardown(void)
{
	fx_teardown(&F);
}

TestSuite(vol_reserved, .init = setup, .fini = teardown, .timeout = 60);

static bool reserved(uint64_t parent, const char *name)
{
	return vol_name_reserved(F.v, parent, name, strlen(name));
}

Test(vol_reserved, nothing_reserved_at_open)
{
	cr_assert(!reserved(VOL_ROOT_INO, ".trackfs-s3"));
	cr_assert(!reserved(VOL_ROOT_INO, ""));
}

Test(vol_reserved, root_name_and_prefix)
{
	struct vol_attr d;
	struct vol_cred cred = {.uid = 0, .gid = 0, .umask = 022};

	cr_assert_eq(vol_mkdir(F.v, VOL_ROOT_INO, "sub", 0755, &cred, &d), 0);
	cr_assert_eq(vol_reserve_name(F.v, ".side", VOL_RESERVED_ROOT), 0);
	cr_assert_eq(vol_reserve_name(F.v, ".side-tmp.", VOL_RESERVED_PREFIX), 0);

	cr_assert(reserved(VOL_ROOT_INO, ".side"));
	cr_assert(!reserved(d.ino, ".side"), "a root-only name is free below the root");
	cr_assert(!reserved(VOL_ROOT_INO, ".sidecar"), "an exact name is not a prefix");
	cr_assert(!reserved(VOL_ROOT_INO, ".sid"));
	cr_assert(reserved(VOL_ROOT_INO, ".side-tmp.abc"));
	cr_assert(reserved(d.ino, ".side-tmp.x"), "a prefix is reserved in every directory");
	cr_assert(reserved(d.ino, ".side-tmp."));
	cr_assert(!reserved(d.ino, ".side-tmp"));
	/* Not NUL-terminated: only len bytes count. */
	cr_assert(vol_name_reserved(F.v, VOL_ROOT_INO, ".sideXYZ", 5));
	cr_assert(!vol_name_reserved(F.v, VOL_ROOT_INO, ".side", 4));
}

Test(vol_reserved, repeats_limits_and_bad_input)
{
	cr_assert_eq(vol_reserve_name(F.v, ".a", 0), 0);
	cr_assert_eq(vol_reserve_name(F.v, ".a", 0), 0, "reserving again is a no-op");
	cr_assert_eq(vol_reserve_name(F.v, NULL, 0), -EINVAL);
	cr_assert_eq(vol_reserve_name(F.v, "", 0), -EINVAL);
	cr_assert_eq(vol_reserve_name(F.v, "a/b", 0), -EINVAL);
	cr_assert_eq(vol_reserve_name(F.v, ".b", 0x80), -EINVAL);
	char longname[VOL_RESERVED_NAME_MAX + 1];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	cr_assert_eq(vol_reserve_name(F.v, longname, 0), -EINVAL);
	char name[16];
	for (int i = 1; i < VOL_RESERVED_MAX; i++) {
		snprintf(name, sizeof(name), ".n%d", i);
		cr_assert_eq(vol_reserve_name(F.v, name, 0), 0);
	}
	cr_assert_eq(vol_reserve_name(F.v, ".one-too-many", 0), -ENOSPC);
	cr_assert(reserved(VOL_ROOT_INO, ".a"));
	cr_assert(reserved(VOL_ROOT_INO, ".n7"));
}
