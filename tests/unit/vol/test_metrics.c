/* vol_metrics_format: every sample has its # TYPE, the data counters count
 * calls and bytes, a corrupted chunk read back counts as a checksum failure
 * of its disk, and label values are escaped. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/track_int.h" /* TRK_HDR_SIZE: where chunk 0 starts in a track file */
#include "fs/vol/data_int.h"
#include "tests/unit/vol/fixture.h"

static struct vol_cred cred = {.uid = 0, .gid = 0};

/* The scrape as one string (malloc'ed). */
static char *scrape(struct vol *v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	cr_assert_not_null(out);
	cr_assert_eq(vol_metrics_format(v, out), 0);
	fclose(out);
	return buf;
}

/* The value of the sample @p name (with its labels), or -1. */
static long long sample(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, name, n) && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
	return -1;
}

Test(metrics, every_sample_is_typed)
{
	struct fx f;
	fx_setup(&f, 4096);
	char *m = scrape(f.v);
	char line[1024];
	FILE *in = fmemopen(m, strlen(m), "r");
	char typed[64][80];
	int ntyped = 0, samples = 0;

	while (fgets(line, sizeof(line), in)) {
		char name[80];
		if (!strncmp(line, "# TYPE ", 7)) {
			cr_assert_eq(sscanf(line + 7, "%79s", typed[ntyped]), 1);
			cr_assert_lt(++ntyped, 64);
			continue;
		}
		if (line[0] == '#')
			continue;
		cr_assert_eq(sscanf(line, "%79[a-z_]", name), 1, "bad line: %s", line);
		bool found = false;
		for (int i = 0; i < ntyped; i++)
			found |= !strcmp(typed[i], name);
		cr_assert(found, "sample without # TYPE: %s", line);
		samples++;
	}
	fclose(in);
	cr_assert_gt(samples, 20);
	cr_assert_eq(sample(m, "trackfs_volume_disks"), 2);
	cr_assert_eq(sample(m, "trackfs_volume_chunk_size_bytes"), 4096);
	free(m);
	fx_teardown(&f);
}

Test(metrics, counts_data_calls_and_checksum_failures)
{
	struct fx f;
	struct vol_attr a;
	char name[PATH_MAX + 64];
	static char buf[3 * 4096];

	fx_setup(&f, 4096);
	cr_assert_eq(vol_create(f.v, VOL_ROOT_INO, "f", 0100644, &cred, &a), 0);
	memset(buf, 'x', sizeof(buf));
	cr_assert_eq(vol_write(f.v, a.ino, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	cr_assert_eq(vol_read(f.v, a.ino, buf, 4096, 0), 4096);
	char *m = scrape(f.v);
	cr_assert_eq(sample(m, "trackfs_ops_total{op=\"write\"}"), 1);
	cr_assert_eq(sample(m, "trackfs_ops_total{op=\"read\"}"), 1);
	cr_assert_eq(sample(m, "trackfs_written_bytes_total"), (long long)sizeof(buf));
	cr_assert_eq(sample(m, "trackfs_read_bytes_total"), 4096);
	cr_assert_eq(sample(m, "trackfs_volume_inodes"), 2);
	free(m);

	/* Flip a byte of the file's second chunk in its track file. */
	struct idx_extent e;
	uint32_t idx;
	cr_assert_eq(vol_chunk_lookup(f.v, a.ino, 4096, &e, &idx), 0);
	snprintf(name, sizeof(name), "%s/tracks/track-%06u.trk", f.tv.disk[e.disk], e.track);
	FILE *t = fopen(name, "r+b");
	cr_assert_not_null(t, "open %s", name);
	long off = (long)(TRK_HDR_SIZE + (uint64_t)(e.chunk + idx) * 4096 + 7);
	cr_assert_eq(fseek(t, off, SEEK_SET), 0);
	fputc('y', t);
	fclose(t);
	cr_assert_eq(vol_read(f.v, a.ino, buf, 4096, 4096), -EIO);
	m = scrape(f.v);
	snprintf(name, sizeof(name),
		 "trackfs_disk_checksum_failures_total{disk=\"%u\",path=\"%s\"}", (unsigned)e.disk,
		 f.tv.disk[e.disk]);
	cr_assert_eq(sample(m, name), 1, "%s in:\n%s", name, m);
	cr_assert_eq(sample(m, "trackfs_op_errors_total{op=\"read\"}"), 1);
	free(m);
	fx_teardown(&f);
}

Test(metrics, label_values_are_escaped)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	vol_metrics_label(out, "a\"b\\c\nd");
	fclose(out);
	cr_assert_str_eq(buf, "a\\\"b\\\\c\\nd");
	free(buf);
}
