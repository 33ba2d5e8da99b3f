/* Bucket names and keys that can (and cannot) be paths. */
#include <criterion/criterion.h>
#include <string.h>

#include "fs/s3/s3_int.h"

Test(keymap, bucket_names)
{
	const char *good[] = {"abc",   "my-bucket.1", "a23",	"0bucket0", "123",     "a--b",
			      "1.2.3", "1.2.3.4.5",   "xn-abc", "sthree",   "s3alias", "a-ol-s3"};
	const char *bad[] = {"ab",
			     "Abc",
			     "a_b",
			     "-abc",
			     "abc-",
			     "a..b",
			     "foo-.bar",
			     "foo.-bar",
			     ".abc",
			     "abc.",
			     "xn--abc",
			     "sthree-abc",
			     "abc-s3alias",
			     "abc--ol-s3",
			     "a b c",
			     "192.168.1.1",
			     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert_eq(s3_bucket_name_check(good[i]), 0, "%s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(s3_bucket_name_check(bad[i]), -S3E_INVALID_BUCKET_NAME, "%s", bad[i]);
	cr_assert_str_eq(s3_bucket_name_problem("foo-.bar"),
			 "a bucket name must not have '..', '.-' or '-.'");
	cr_assert_null(s3_bucket_name_problem("foo.bar"));
}

Test(keymap, keys)
{
	char long_key[S3_KEY_MAX + 2], long_seg[300];
	const char *good[] = {"a", "a/b/c.txt", "dir/", "a b/ü/+x", ".hidden", "..x", "a/.b/c"};
	const char *invalid[] = {
		"/a", "a//b", "a/./b", "a/..", "..", ".", "x/.trackfs-s3-tmp.1", ".trackfs-s3"};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert_eq(s3_key_check(NULL, good[i]), 0, "%s", good[i]);
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
		cr_assert_eq(s3_key_check(NULL, invalid[i]), -S3E_INVALID_KEY, "%s", invalid[i]);
	memset(long_key, 'k', S3_KEY_MAX + 1);
	long_key[S3_KEY_MAX + 1] = '\0';
	cr_assert_eq(s3_key_check(NULL, long_key), -S3E_KEY_TOO_LONG);
	long_key[S3_KEY_MAX] = '\0';
	memset(long_key, 'k', S3_KEY_MAX);
	for (int i = 200; i < S3_KEY_MAX; i += 200)
		long_key[i] = '/';
	cr_assert_eq(s3_key_check(NULL, long_key), 0, "1024 bytes in short segments");
	memset(long_seg, 's', 256);
	long_seg[256] = '\0';
	cr_assert_eq(s3_key_check(NULL, long_seg), -S3E_KEY_TOO_LONG, "a 256-byte segment");
}

Test(keymap, hidden_names)
{
	cr_assert(s3_name_hidden(S3_HIDDEN_DIR, strlen(S3_HIDDEN_DIR)));
	cr_assert(s3_name_hidden(S3_TMP_PREFIX "abc", strlen(S3_TMP_PREFIX) + 3));
	cr_assert_not(s3_name_hidden(".trackfs", 8));
	cr_assert_not(s3_name_hidden("trackfs-s3", 10));
}

Test(keymap, marker_keys)
{
	cr_assert(s3_key_is_dir("a/"));
	cr_assert(s3_key_is_dir("a/b/"));
	cr_assert_not(s3_key_is_dir("a/b"));
	cr_assert_not(s3_key_is_dir(""));
	cr_assert_not(s3_key_is_dir(NULL));
	cr_assert_eq(s3_key_check(NULL, "a/b/"), 0, "a marker key can be a path");
	cr_assert_eq(s3_key_check(NULL, "a//"), -S3E_INVALID_KEY,
		     "a marker under an empty segment");
}

Test(keymap, errors_map_to_codes)
{
	cr_assert_str_eq(s3_err_info(-ENOENT)->code, "NoSuchKey");
	cr_assert_eq(s3_err_info(-ENOSPC)->status, 507);
	cr_assert_str_eq(s3_err_info(-S3E_INVALID_RANGE)->code, "InvalidRange");
	cr_assert_eq(s3_err_info(-S3E_INVALID_RANGE)->status, 416);
	cr_assert_eq(s3_err_info(-S3E_NOT_MODIFIED)->status, 304);
	cr_assert_str_eq(s3_err_info(-S3E_EXPIRED)->code, "AccessDenied");
	cr_assert_str_eq(s3_err_info(-12345)->code, "InternalError");
	for (int e = S3E_BASE + 1; e < S3E_END; e++)
		cr_assert_neq(strcmp(s3_err_info(-e)->code, "InternalError") == 0 &&
				      e != S3E_INTERNAL,
			      true, "S3 error %d has a table entry", e);
}

Test(keymap, ranges)
{
	uint64_t off, len;

	cr_assert_eq(s3_range_parse("bytes=0-9", 100, &off, &len), 1);
	cr_assert(off == 0 && len == 10);
	cr_assert_eq(s3_range_parse("bytes=90-", 100, &off, &len), 1);
	cr_assert(off == 90 && len == 10);
	cr_assert_eq(s3_range_parse("bytes=-30", 100, &off, &len), 1);
	cr_assert(off == 70 && len == 30);
	cr_assert_eq(s3_range_parse("bytes=50-1000", 100, &off, &len), 1);
	cr_assert(off == 50 && len == 50);
	cr_assert_eq(s3_range_parse("bytes=100-", 100, &off, &len), -S3E_INVALID_RANGE);
	cr_assert_eq(s3_range_parse("bytes=0-1,5-6", 100, &off, &len), 0, "several: whole object");
	cr_assert_eq(s3_range_parse("items=0-1", 100, &off, &len), 0);
	cr_assert_eq(s3_range_parse("bytes=9-3", 100, &off, &len), 0);
}
