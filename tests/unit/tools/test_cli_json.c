/* The --json builders (tools/cli_json.c): field names, states and nulls of
 * README "JSON output", from a struct vol_info filled by hand. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli_json.h"

static struct vol_info *sample_info(void)
{
	struct vol_info *in = calloc(1, sizeof(*in));

	cr_assert_not_null(in);
	cr_assert_eq(tfs_uuid_parse("01234567-89ab-cdef-0123-456789abcdef", &in->uuid), 0);
	strcpy(in->label, "media");
	in->chunk_size = 4096;
	in->inodes = 7;
	in->index_bytes = 65536;
	in->index_seq = 42;
	in->chunks_used = 10;
	in->chunks_free = 90;
	in->reserve = UINT64_MAX;
	in->ndisks = 3;
	for (unsigned i = 0; i < 3; i++) {
		struct vol_disk_info *d = &in->disks[i];
		snprintf(d->path, sizeof(d->path), "/srv/disk%u", i + 1);
		d->shares_fs_with = -1;
		d->drain_target = -1;
		d->chunks_free = 30;
	}
	in->disks[0].bytes_used = 40960;
	in->disks[0].bytes_free = 4096;
	in->disks[0].checksum_errors = 2;
	in->disks[0].read_errors = 1;
	in->disks[0].io_errors = 1;
	in->disks[0].has_snapshot = true;
	in->disks[0].snapshot_seq = 41;
	in->disks[0].snapshot_time_ns = 1700000000123456789ull;
	in->disks[1].missing = true;
	in->disks[2].drain_state = VOL_DRAIN_DRAINING;
	in->disks[2].drain_done = 5;
	in->disks[2].drain_total = 9;
	in->disks[2].shares_fs_with = 0;
	in->mirror_state = VOL_MIRROR_STALE;
	strcpy(in->mirror, "/ssd/meta");
	in->mirror_seq = 40;
	in->scrub.state = VOL_SCRUB_DONE;
	in->scrub.started_s = 1700000000;
	in->scrub.finished_s = 1700000100;
	in->scrub.bad = 3;
	return in;
}

static struct json_object *get(struct json_object *o, const char *path)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
		if (json_object_is_type(o, json_type_array))
			o = json_object_array_get_idx(o, (size_t)atoi(k));
		else
			cr_assert(json_object_object_get_ex(o, k, &o), "no field %s in %s", k,
				  path);
	}
	return o;
}

static const char *str(struct json_object *o, const char *path)
{
	return json_object_get_string(get(o, path));
}

static uint64_t u64(struct json_object *o, const char *path)
{
	return json_object_get_uint64(get(o, path));
}

Test(cli_json, status_fields)
{
	struct vol_info *in = sample_info();
	struct cli_json_ctx ctx = {.meta = "/srv/disk1/meta", .live = true, .ok = false};
	struct json_object *o = cli_json_status(in, &ctx);

	cr_assert_not_null(o);
	/* Round trip through the text, as a script sees it. */
	struct json_object *j = json_tokener_parse(json_object_to_json_string(o));
	cr_assert_not_null(j);
	cr_assert_not(json_object_get_boolean(get(j, "ok")));
	cr_assert_str_eq(str(j, "volume.uuid"), "01234567-89ab-cdef-0123-456789abcdef");
	cr_assert_str_eq(str(j, "volume.label"), "media");
	cr_assert_str_eq(str(j, "volume.state"), "in_use");
	cr_assert_eq(u64(j, "volume.chunk_size"), 4096);
	cr_assert_eq(u64(j, "volume.inodes"), 7);
	cr_assert_eq(u64(j, "volume.bytes_used"), 40960);
	cr_assert_null(get(j, "volume.reserve_bytes"));
	cr_assert_eq(json_object_array_length(get(j, "disks")), 3);
	cr_assert_eq(u64(j, "disks.0.id"), 0);
	cr_assert_str_eq(str(j, "disks.0.path"), "/srv/disk1");
	cr_assert_str_eq(str(j, "disks.0.state"), "ok");
	cr_assert_eq(u64(j, "disks.0.bytes_total"), 45056);
	cr_assert_eq(u64(j, "disks.0.errors.checksum"), 2);
	cr_assert_eq(u64(j, "disks.0.errors.read"), 1);
	cr_assert_eq(u64(j, "disks.0.snapshot.time"), 1700000000);
	cr_assert_str_eq(str(j, "disks.1.health"), "missing");
	cr_assert_str_eq(str(j, "disks.1.state"), "missing");
	cr_assert_null(get(j, "disks.1.snapshot"));
	cr_assert_null(get(j, "disks.1.shares_fs_with"));
	cr_assert_str_eq(str(j, "disks.2.state"), "draining");
	cr_assert_eq(u64(j, "disks.2.drain.bytes_total"), 9);
	cr_assert_eq(u64(j, "disks.2.shares_fs_with"), 0);
	cr_assert_eq(json_object_array_length(get(j, "snapshots")), 1);
	cr_assert_eq(u64(j, "snapshots.0.disk"), 0);
	cr_assert_eq(u64(j, "snapshots.0.seq"), 41);
	cr_assert_str_eq(str(j, "mirror.state"), "stale");
	cr_assert_str_eq(str(j, "mirror.path"), "/ssd/meta");
	cr_assert_str_eq(str(j, "scrub.state"), "done");
	cr_assert_eq(u64(j, "scrub.last_run"), 1700000000);
	cr_assert_eq(u64(j, "scrub.bad"), 3);
	json_object_put(j);
	json_object_put(o);
	free(in);
}

Test(cli_json, nulls_and_disk_list)
{
	struct vol_info *in = sample_info();
	struct cli_json_ctx ctx = {.meta = "/m", .ok = true};

	in->mirror_state = VOL_MIRROR_NONE;
	in->scrub.state = VOL_SCRUB_NONE;
	in->scrub.started_s = 0;
	struct json_object *o = cli_json_status(in, &ctx);
	cr_assert_null(get(o, "mirror"));
	cr_assert_str_eq(str(o, "scrub.state"), "never");
	cr_assert_null(get(o, "scrub.last_run"));
	cr_assert_str_eq(str(o, "volume.state"), "clean");
	json_object_put(o);

	o = cli_json_disks(in, &ctx);
	cr_assert(json_object_get_boolean(get(o, "ok")));
	cr_assert_str_eq(str(o, "placement"), "mfs");
	cr_assert_eq(json_object_array_length(get(o, "disks")), 3);
	cr_assert_str_eq(str(o, "disks.1.health"), "missing");
	json_object_put(o);
	free(in);
}
