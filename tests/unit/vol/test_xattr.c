/* Extended attributes through fs/vol: getxattr(2) size semantics, create and
 * replace flags, listing, removal, ctime, persistence, and that they go with
 * the inode. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>

#include "fs/vol/vol_int.h"
#include "tests/unit/vol/fixture.h"

static struct fx f;

static void setup(void)
{
	fx_setup(&f, 0);
}

static void teardown(void)
{
	fx_teardown(&f);
}

TestSuite(xattr, .init = setup, .fini = teardown);

static bool ts_lt(struct timespec a, struct timespec b)
{
	return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

static void tick(void)
{
	struct timespec ts = {0, 2000000};
	nanosleep(&ts, NULL);
}

Test(xattr, set_get_sizes)
{
	uint64_t ino = fx_create(&f, "f");
	char buf[64];

	cr_assert_eq(vol_getxattr(f.v, ino, "user.k", buf, sizeof(buf)), -ENODATA);
	struct vol_attr before = fx_getattr(&f, ino);
	tick();
	cr_assert_eq(vol_setxattr(f.v, ino, "user.k", "value", 5, 0), 0);
	struct vol_attr after = fx_getattr(&f, ino);
	cr_assert(ts_lt(before.ctime, after.ctime), "setxattr changes ctime");
	cr_assert_eq(vol_getxattr(f.v, ino, "user.k", NULL, 0), 5, "size 0 asks for the length");
	cr_assert_eq(vol_getxattr(f.v, ino, "user.k", buf, 4), -ERANGE);
	memset(buf, 0, sizeof(buf));
	cr_assert_eq(vol_getxattr(f.v, ino, "user.k", buf, sizeof(buf)), 5);
	cr_assert_str_eq(buf, "value");
	/* an empty value is a value */
	cr_assert_eq(vol_setxattr(f.v, ino, "user.empty", "", 0, 0), 0);
	cr_assert_eq(vol_getxattr(f.v, ino, "user.empty", buf, sizeof(buf)), 0);
	/* binary values */
	char bin[300];
	for (int i = 0; i < 300; i++)
		bin[i] = (char)i;
	cr_assert_eq(vol_setxattr(f.v, ino, "user.bin", bin, sizeof(bin), 0), 0);
	char back[300];
	cr_assert_eq(vol_getxattr(f.v, ino, "user.bin", back, sizeof(back)), 300);
	cr_assert(memcmp(bin, back, 300) == 0);
	vol_forget(f.v, ino, 1);
}

Test(xattr, create_and_replace_flags)
{
	uint64_t ino = fx_create(&f, "f");
	char buf[16];

	cr_assert_eq(vol_setxattr(f.v, ino, "user.a", "1", 1, XATTR_REPLACE), -ENODATA);
	cr_assert_eq(vol_setxattr(f.v, ino, "user.a", "1", 1, XATTR_CREATE), 0);
	cr_assert_eq(vol_setxattr(f.v, ino, "user.a", "2", 1, XATTR_CREATE), -EEXIST);
	cr_assert_eq(vol_setxattr(f.v, ino, "user.a", "33", 2, XATTR_REPLACE), 0);
	cr_assert_eq(vol_getxattr(f.v, ino, "user.a", buf, sizeof(buf)), 2);
	cr_assert(memcmp(buf, "33", 2) == 0);
	cr_assert_eq(vol_setxattr(f.v, ino, "user.a", "4", 1, 0), 0);
	cr_assert_eq(vol_getxattr(f.v, ino, "user.a", buf, sizeof(buf)), 1);
	cr_assert_eq(buf[0], '4');
	cr_assert_eq(vol_setxattr(f.v, ino, "user.a", "4", 1, 0x100), -EINVAL);
	vol_forget(f.v, ino, 1);
}

Test(xattr, list_and_remove)
{
	uint64_t ino = fx_create(&f, "f");
	char buf[256];

	cr_assert_eq(vol_listxattr(f.v, ino, NULL, 0), 0);
	cr_assert_eq(vol_setxattr(f.v, ino, "user.one", "1", 1, 0), 0);
	cr_assert_eq(vol_setxattr(f.v, ino, "trusted.two", "2", 1, 0), 0);
	ssize_t len = vol_listxattr(f.v, ino, NULL, 0);
	cr_assert_eq(len, (ssize_t)(sizeof("user.one") + sizeof("trusted.two")));
	cr_assert_eq(vol_listxattr(f.v, ino, buf, (size_t)len - 1), -ERANGE);
	cr_assert_eq(vol_listxattr(f.v, ino, buf, sizeof(buf)), len);
	bool one = false, two = false;
	for (char *p = buf; p < buf + len; p += strlen(p) + 1) {
		one |= strcmp(p, "user.one") == 0;
		two |= strcmp(p, "trusted.two") == 0;
	}
	cr_assert(one && two);

	struct vol_attr before = fx_getattr(&f, ino);
	tick();
	cr_assert_eq(vol_removexattr(f.v, ino, "user.one"), 0);
	cr_assert(ts_lt(before.ctime, fx_getattr(&f, ino).ctime), "removexattr changes ctime");
	cr_assert_eq(vol_removexattr(f.v, ino, "user.one"), -ENODATA);
	cr_assert_eq(vol_getxattr(f.v, ino, "user.one", buf, sizeof(buf)), -ENODATA);
	cr_assert_eq(vol_listxattr(f.v, ino, buf, sizeof(buf)), (ssize_t)sizeof("trusted.two"));
	vol_forget(f.v, ino, 1);
}

Test(xattr, bad_names_sizes_and_inodes)
{
	uint64_t ino = fx_create(&f, "f");
	char name[300];

	cr_assert_eq(vol_setxattr(f.v, ino, "", "x", 1, 0), -ERANGE);
	memset(name, 'n', 256);
	memcpy(name, "user.", 5);
	name[256] = '\0';
	cr_assert_eq(vol_setxattr(f.v, ino, name, "x", 1, 0), -ERANGE);
	cr_assert_eq(vol_getxattr(f.v, ino, name, NULL, 0), -ERANGE);
	static char big[IDX_XATTR_SIZE_MAX + 1];
	cr_assert_eq(vol_setxattr(f.v, ino, "user.big", big, sizeof(big), 0), -E2BIG);
	cr_assert_eq(vol_setxattr(f.v, ino, "user.max", big, IDX_XATTR_SIZE_MAX, 0), 0);
	cr_assert_eq(vol_getxattr(f.v, ino, "user.max", NULL, 0), IDX_XATTR_SIZE_MAX);
	cr_assert_eq(vol_setxattr(f.v, 999999, "user.a", "x", 1, 0), -ENOENT);
	cr_assert_eq(vol_getxattr(f.v, 999999, "user.a", NULL, 0), -ENOENT);
	cr_assert_eq(vol_listxattr(f.v, 999999, NULL, 0), -ENOENT);
	cr_assert_eq(vol_removexattr(f.v, 999999, "user.a"), -ENOENT);
	vol_forget(f.v, ino, 1);
}

Test(xattr, persist_follow_links_and_go_with_the_inode)
{
	uint64_t ino = fx_create(&f, "f");
	char buf[16];
	struct vol_attr l;

	cr_assert_eq(vol_setxattr(f.v, ino, "user.p", "kept", 4, 0), 0);
	cr_assert_eq(vol_setxattr(f.v, VOL_ROOT_INO, "user.root", "r", 1, 0), 0);
	cr_assert_eq(vol_link(f.v, ino, VOL_ROOT_INO, "g", &l), 0);
	vol_forget(f.v, ino, 2);
	fx_reopen(&f);
	cr_assert_eq(vol_getxattr(f.v, ino, "user.p", buf, sizeof(buf)), 4);
	cr_assert(memcmp(buf, "kept", 4) == 0);
	cr_assert_eq(vol_getxattr(f.v, VOL_ROOT_INO, "user.root", buf, sizeof(buf)), 1);
	cr_assert_eq(vol_unlink(f.v, VOL_ROOT_INO, "f"), 0);
	cr_assert_eq(vol_getxattr(f.v, ino, "user.p", buf, sizeof(buf)), 4, "one link left");
	cr_assert_eq(vol_unlink(f.v, VOL_ROOT_INO, "g"), 0);
	cr_assert_eq(vol_getxattr(f.v, ino, "user.p", buf, sizeof(buf)), -ENOENT);
	/* a new inode never sees an old one's attributes */
	uint64_t n = fx_create(&f, "new");
	cr_assert_eq(vol_listxattr(f.v, n, NULL, 0), 0);
	vol_forget(f.v, n, 1);
}
