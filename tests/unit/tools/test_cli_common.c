/* The tools' size parser and byte formatter (tools/cli_common.c). */
#include <criterion/criterion.h>
#include <errno.h>

#include "tools/cli_common.c"

Test(cli_common, sizes)
{
	uint64_t v;

	cr_assert_eq(cli_parse_size("4096", &v), 0);
	cr_assert_eq(v, 4096);
	cr_assert_eq(cli_parse_size("4K", &v), 0);
	cr_assert_eq(v, 4096);
	cr_assert_eq(cli_parse_size("64k", &v), 0);
	cr_assert_eq(v, 65536);
	cr_assert_eq(cli_parse_size("1M", &v), 0);
	cr_assert_eq(v, 1u << 20);
	cr_assert_eq(cli_parse_size("4G", &v), 0);
	cr_assert_eq(v, 4ull << 30);
	cr_assert_eq(cli_parse_size("4KiB", &v), 0);
	cr_assert_eq(v, 4096);
	cr_assert_eq(cli_parse_size("2GB", &v), 0);
	cr_assert_eq(v, 2ull << 30);
}

Test(cli_common, bad_sizes)
{
	uint64_t v = 7;

	cr_assert_eq(cli_parse_size("", &v), -EINVAL);
	cr_assert_eq(cli_parse_size("K", &v), -EINVAL);
	cr_assert_eq(cli_parse_size("-4K", &v), -EINVAL);
	cr_assert_eq(cli_parse_size("4Q", &v), -EINVAL);
	cr_assert_eq(cli_parse_size("4Kx", &v), -EINVAL);
	cr_assert_eq(cli_parse_size("99999999999T", &v), -EINVAL);
	cr_assert_eq(v, 7, "the output is untouched on error");
}

Test(cli_common, format)
{
	char b[32];

	cr_assert_str_eq(cli_fmt_bytes(512, b, sizeof(b)), "512 B");
	cr_assert_str_eq(cli_fmt_bytes(4096, b, sizeof(b)), "4 KiB");
	cr_assert_str_eq(cli_fmt_bytes(1536ull << 20, b, sizeof(b)), "1.5 GiB");
}
