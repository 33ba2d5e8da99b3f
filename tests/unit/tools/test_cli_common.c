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

Test(cli_common, ages)
{
	char b[48];

	cr_assert_str_eq(cli_fmt_age(0, b, sizeof(b)), "just now");
	cr_assert_str_eq(cli_fmt_age(40, b, sizeof(b)), "40 s ago");
	cr_assert_str_eq(cli_fmt_age(180, b, sizeof(b)), "3 min ago");
	cr_assert_str_eq(cli_fmt_age(2 * 3600 + 300, b, sizeof(b)), "2 h 5 min ago");
	cr_assert_str_eq(cli_fmt_age(5 * 3600, b, sizeof(b)), "5 h ago");
	cr_assert_str_eq(cli_fmt_age(3 * 86400 + 5, b, sizeof(b)), "3 days ago");
}

Test(cli_common, snapshot_and_mirror_states)
{
	static struct vol_info info;
	struct vol_disk_info *d = &info.disks[0];
	uint64_t now = 1000ull * 1000000000ull;
	char b[PATH_MAX + 256];

	cr_assert_str_eq(cli_snapshot_state(d, now, b, sizeof(b)), "no snapshot yet");
	d->has_snapshot = true;
	d->snapshot_seq = 1234;
	d->snapshot_time_ns = now - 180ull * 1000000000ull;
	cr_assert_str_eq(cli_snapshot_state(d, now, b, sizeof(b)),
			 "snapshot 3 min ago, commit 1234");
	d->snapshot_time_ns = now + 5; /* a clock that went back */
	cr_assert_str_eq(cli_snapshot_state(d, now, b, sizeof(b)),
			 "snapshot just now, commit 1234");
	d->missing = true;
	cr_assert_str_eq(cli_snapshot_state(d, now, b, sizeof(b)), "missing");

	cr_assert(!cli_mirror_state(&info, "/m", false, b, sizeof(b)));
	cr_assert_str_eq(b, "none");
	snprintf(info.mirror, sizeof(info.mirror), "/mir");
	info.mirror_state = VOL_MIRROR_CURRENT;
	info.mirror_seq = 7;
	cr_assert(!cli_mirror_state(&info, "/m", true, b, sizeof(b)));
	cr_assert_str_eq(b, "/mir: current (commit 7)");
	info.mirror_state = VOL_MIRROR_STALE;
	info.index_seq = 9;
	info.mirror_error = -ESTALE;
	cr_assert(!cli_mirror_state(&info, "/m", false, b, sizeof(b)), "the next mount fixes it");
	cr_assert_str_eq(b, "/mir: behind (holds commit 7, the index is at 9); the next mount "
			    "resyncs it");
	cr_assert(cli_mirror_state(&info, "/m", true, b, sizeof(b)), "not followed while mounted");
	info.mirror_state = VOL_MIRROR_FAILED;
	info.mirror_error = -ENOSPC;
	cr_assert(cli_mirror_state(&info, "/m", false, b, sizeof(b)));
	cr_assert(strstr(b, "/mir: FAILED (No space left on device)") == b, "%s", b);
	cr_assert(strstr(b, "trackfs meta mirror /m /mir"), "%s", b);
}
