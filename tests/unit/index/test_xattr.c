/* index/xattr.c: set with XATTR_CREATE / XATTR_REPLACE, get with size 0 and
 * -ERANGE, name and size limits, list in byte order, remove and clear, and
 * inodes that keep their own attributes. */
#include <sys/xattr.h>

#include "idx_fixture.h"

static struct fx f;

static void setup(void)
{
	fx_setup(&f);
}

static void teardown(void)
{
	fx_teardown(&f);
}

Test(xattr, set_get_flags, .init = setup, .fini = teardown)
{
	struct idx_txn *txn = fx_begin(&f);
	char buf[16];
	size_t len = 99;

	cr_assert_eq(idx_xattr_get(txn, 5, "user.a", buf, sizeof(buf), &len), -ENODATA);
	cr_assert_eq(idx_xattr_set(txn, 5, "user.a", "v1", 2, XATTR_REPLACE), -ENODATA);
	cr_assert_eq(idx_xattr_set(txn, 5, "user.a", "v1", 2, XATTR_CREATE), 0);
	cr_assert_eq(idx_xattr_set(txn, 5, "user.a", "v2", 2, XATTR_CREATE), -EEXIST);
	cr_assert_eq(idx_xattr_get(txn, 5, "user.a", buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, 2);
	cr_assert_eq(memcmp(buf, "v1", 2), 0);
	cr_assert_eq(idx_xattr_set(txn, 5, "user.a", "value3", 6, XATTR_REPLACE), 0);
	cr_assert_eq(idx_xattr_set(txn, 5, "user.a", "value4", 6, 0), 0);
	/* size 0 asks for the length only */
	len = 0;
	cr_assert_eq(idx_xattr_get(txn, 5, "user.a", NULL, 0, &len), 0);
	cr_assert_eq(len, 6);
	cr_assert_eq(idx_xattr_get(txn, 5, "user.a", buf, 5, &len), -ERANGE);
	cr_assert_eq(idx_xattr_get(txn, 5, "user.a", buf, 6, &len), 0);
	cr_assert_eq(memcmp(buf, "value4", 6), 0);
	/* Empty values exist. */
	cr_assert_eq(idx_xattr_set(txn, 5, "user.empty", "", 0, 0), 0);
	cr_assert_eq(idx_xattr_get(txn, 5, "user.empty", buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, 0);
	/* Other inodes do not see it. */
	cr_assert_eq(idx_xattr_get(txn, 4, "user.a", buf, sizeof(buf), &len), -ENODATA);
	cr_assert_eq(idx_xattr_get(txn, 6, "user.a", buf, sizeof(buf), &len), -ENODATA);
	cr_assert_eq(idx_xattr_set(txn, 5, "user.a", "x", 1, XATTR_CREATE | XATTR_REPLACE),
		     -EINVAL);
	fx_commit(txn);
}

Test(xattr, limits, .init = setup, .fini = teardown)
{
	static uint8_t big[IDX_XATTR_SIZE_MAX + 1], out[IDX_XATTR_SIZE_MAX];
	struct idx_txn *txn = fx_begin(&f);
	char name[300];
	size_t len;

	memset(name, 'n', sizeof(name));
	name[IDX_XATTR_NAME_MAX] = '\0';
	cr_assert_eq(idx_xattr_set(txn, 5, name, "x", 1, 0), 0);
	cr_assert_eq(idx_xattr_get(txn, 5, name, out, sizeof(out), &len), 0);
	name[IDX_XATTR_NAME_MAX] = 'n';
	name[IDX_XATTR_NAME_MAX + 1] = '\0';
	cr_assert_eq(idx_xattr_set(txn, 5, name, "x", 1, 0), -ERANGE);
	cr_assert_eq(idx_xattr_set(txn, 5, "", "x", 1, 0), -EINVAL);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	cr_assert_eq(idx_xattr_set(txn, 5, "user.big", big, sizeof(big), 0), -E2BIG);
	cr_assert_eq(idx_xattr_set(txn, 5, "user.big", big, IDX_XATTR_SIZE_MAX, 0), 0);
	cr_assert_eq(idx_xattr_get(txn, 5, "user.big", out, sizeof(out), &len), 0);
	cr_assert_eq(len, IDX_XATTR_SIZE_MAX);
	cr_assert_eq(memcmp(out, big, len), 0);
	fx_commit(txn);
}

Test(xattr, list_remove_clear, .init = setup, .fini = teardown)
{
	struct idx_txn *txn = fx_begin(&f);
	const char expect[] = "security.x\0trusted.t\0user.a\0user.b";
	char buf[64];
	size_t len = 0;

	cr_assert_eq(idx_xattr_list(txn, 5, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, 0);
	cr_assert_eq(idx_xattr_set(txn, 5, "user.b", "1", 1, 0), 0);
	cr_assert_eq(idx_xattr_set(txn, 5, "user.a", "2", 1, 0), 0);
	cr_assert_eq(idx_xattr_set(txn, 5, "trusted.t", "3", 1, 0), 0);
	cr_assert_eq(idx_xattr_set(txn, 5, "security.x", "4", 1, 0), 0);
	cr_assert_eq(idx_xattr_set(txn, 4, "user.z", "5", 1, 0), 0);
	cr_assert_eq(idx_xattr_set(txn, 6, "user.y", "6", 1, 0), 0);
	cr_assert_eq(idx_xattr_list(txn, 5, NULL, 0, &len), 0);
	cr_assert_eq(len, sizeof(expect));
	cr_assert_eq(idx_xattr_list(txn, 5, buf, sizeof(expect) - 1, &len), -ERANGE);
	cr_assert_eq(idx_xattr_list(txn, 5, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, sizeof(expect));
	cr_assert_eq(memcmp(buf, expect, len), 0);

	cr_assert_eq(idx_xattr_remove(txn, 5, "user.a"), 0);
	cr_assert_eq(idx_xattr_remove(txn, 5, "user.a"), -ENODATA);
	cr_assert_eq(idx_xattr_list(txn, 5, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, sizeof("security.x\0trusted.t\0user.b"));

	cr_assert_eq(idx_xattr_clear(txn, 5), 0);
	cr_assert_eq(idx_xattr_list(txn, 5, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, 0);
	cr_assert_eq(idx_xattr_clear(txn, 5), 0);
	/* Neighbours keep theirs. */
	cr_assert_eq(idx_xattr_list(txn, 4, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, sizeof("user.z"));
	cr_assert_eq(idx_xattr_list(txn, 6, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, sizeof("user.y"));
	fx_commit(txn);
}

Test(xattr, clear_many, .init = setup, .fini = teardown)
{
	struct idx_txn *txn = fx_begin(&f);
	char name[32], buf[16];
	size_t len;

	/* Enough values to span several pages. */
	for (int i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "user.k%04d", i);
		cr_assert_eq(idx_xattr_set(txn, 7, name, "0123456789abcdef", 16, 0), 0);
	}
	cr_assert_eq(idx_xattr_set(txn, 8, "user.keep", "1", 1, 0), 0);
	fx_commit(txn);
	txn = fx_begin(&f);
	cr_assert_eq(idx_xattr_clear(txn, 7), 0);
	cr_assert_eq(idx_xattr_list(txn, 7, NULL, 0, &len), 0);
	cr_assert_eq(len, 0);
	cr_assert_eq(idx_xattr_get(txn, 8, "user.keep", buf, sizeof(buf), &len), 0);
	fx_commit(txn);
}
