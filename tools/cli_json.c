/* The --json output of `trackfs status` and `trackfs disk list` (README
 * "JSON output"): figures in bytes, chunks and seconds since the epoch,
 * states as fixed lowercase words, null where a figure is not known. */
#include <json-c/json.h>
#include <stdio.h>

#include "core/base/log.h"

#include "tools/cli_common.h"
#include "tools/cli_json.h"

#define ADD(o, k, v) json_object_object_add((o), (k), (v))
#define U64(v) json_object_new_uint64(v)
#define STR(v) json_object_new_string(v)
#define BOOL(v) json_object_new_boolean(v)

static const char *health(const struct vol_disk_info *d)
{
	return d->removed ? "removed" : d->missing ? "missing" : d->failing ? "failing" : "ok";
}

/* One word for what matters most about the disk. */
static const char *state(const struct vol_disk_info *d)
{
	if (d->removed || d->missing || d->failing)
		return health(d);
	if (d->drain_state == VOL_DRAIN_DRAINED)
		return "drained";
	if (d->drain_state == VOL_DRAIN_DRAINING)
		return d->drain_stopped ? "drain_stopped" : "draining";
	if (!d->chunks_free)
		return "full";
	if (d->at_reserve)
		return "at_reserve";
	return "ok";
}

static struct json_object *snapshot(const struct vol_disk_info *d)
{
	struct json_object *s;

	if (!d->has_snapshot)
		return NULL;
	s = json_object_new_object();
	ADD(s, "seq", U64(d->snapshot_seq));
	ADD(s, "time", U64(d->snapshot_time_ns / 1000000000u));
	return s;
}

static struct json_object *disk(const struct vol_disk_info *d, unsigned i)
{
	struct json_object *o = json_object_new_object(), *e = json_object_new_object();
	char u[TFS_UUID_STRLEN];

	tfs_uuid_format(&d->uuid, u);
	ADD(o, "id", U64(i));
	ADD(o, "path", STR(d->path));
	ADD(o, "uuid", STR(u));
	ADD(o, "state", STR(state(d)));
	ADD(o, "health", STR(health(d)));
	ADD(o, "bytes_total", U64(d->bytes_used + d->bytes_free));
	ADD(o, "bytes_used", U64(d->bytes_used));
	ADD(o, "bytes_free", U64(d->bytes_free));
	ADD(o, "bytes_on_disk", U64(d->bytes_on_disk));
	ADD(o, "chunks_used", U64(d->chunks_used));
	ADD(o, "chunks_free", U64(d->chunks_free));
	ADD(o, "tracks", U64(d->tracks));
	ADD(o, "reserve_bytes", U64(d->reserve_bytes));
	ADD(o, "at_reserve", BOOL(d->at_reserve));
	ADD(o, "shares_fs_with", d->shares_fs_with >= 0 ? U64((uint64_t)d->shares_fs_with) : NULL);
	ADD(e, "io", U64(d->io_errors));
	ADD(e, "read", U64(d->read_errors));
	ADD(e, "write", U64(d->write_errors));
	ADD(e, "checksum", U64(d->checksum_errors));
	ADD(o, "errors", e);
	ADD(o, "stale_chunks", U64(d->stale ? d->stale_chunks : 0));
	if (d->drain_state) {
		struct json_object *dr = json_object_new_object();
		ADD(dr, "state", STR(d->drain_state == VOL_DRAIN_DRAINED ? "drained" : "draining"));
		ADD(dr, "stopped", BOOL(d->drain_stopped));
		ADD(dr, "bytes_done", U64(d->drain_done));
		ADD(dr, "bytes_total", U64(d->drain_total));
		ADD(dr, "rate", U64(d->drain_rate));
		ADD(dr, "target", d->drain_target >= 0 ? U64((uint64_t)d->drain_target) : NULL);
		ADD(o, "drain", dr);
	} else {
		ADD(o, "drain", NULL);
	}
	ADD(o, "snapshot", snapshot(d));
	return o;
}

static struct json_object *disks(const struct vol_info *info)
{
	struct json_object *a = json_object_new_array();

	for (unsigned i = 0; i < info->ndisks; i++)
		json_object_array_add(a, disk(&info->disks[i], i));
	return a;
}

static struct json_object *volume(const struct vol_info *info, const struct cli_json_ctx *ctx)
{
	struct json_object *o = json_object_new_object();
	char u[TFS_UUID_STRLEN];

	tfs_uuid_format(&info->uuid, u);
	ADD(o, "uuid", STR(u));
	ADD(o, "label", STR(info->label));
	ADD(o, "metadata", STR(ctx->meta));
	ADD(o, "mounted", BOOL(ctx->live));
	ADD(o, "state", STR(ctx->live ? "in_use" : ctx->unclean ? "unclean" : "clean"));
	ADD(o, "chunk_size", U64(info->chunk_size));
	ADD(o, "inodes", U64(info->inodes));
	ADD(o, "index_bytes", U64(info->index_bytes));
	ADD(o, "index_commit", U64(info->index_seq));
	ADD(o, "chunks_used", U64(info->chunks_used));
	ADD(o, "chunks_free", U64(info->chunks_free));
	ADD(o, "bytes_used", U64(info->chunks_used * info->chunk_size));
	ADD(o, "bytes_free", U64(info->chunks_free * info->chunk_size));
	ADD(o, "placement", STR(info->placement[0] ? info->placement : "mfs"));
	ADD(o, "reserve_bytes", info->reserve == UINT64_MAX ? NULL : U64(info->reserve));
	return o;
}

static const char *const mirror_states[] = {"none", "current", "stale", "failed"};
static const char *const scrub_states[] = {"never", "running", "done", "stopped"};

struct json_object *cli_json_status(const struct vol_info *info, const struct cli_json_ctx *ctx)
{
	struct json_object *o = json_object_new_object();
	struct json_object *snaps = json_object_new_array();

	if (!o || !snaps) {
		json_object_put(o);
		json_object_put(snaps);
		return NULL;
	}
	ADD(o, "ok", BOOL(ctx->ok));
	ADD(o, "volume", volume(info, ctx));
	ADD(o, "disks", disks(info));
	for (unsigned i = 0; i < info->ndisks; i++) {
		struct json_object *s = snapshot(&info->disks[i]);
		if (!s)
			continue;
		ADD(s, "disk", U64(i));
		json_object_array_add(snaps, s);
	}
	ADD(o, "snapshots", snaps);
	if (info->mirror_state == VOL_MIRROR_NONE) {
		ADD(o, "mirror", NULL);
	} else {
		struct json_object *m = json_object_new_object();
		int st = info->mirror_state <= VOL_MIRROR_FAILED ? info->mirror_state
								 : VOL_MIRROR_FAILED;
		ADD(m, "path", STR(info->mirror));
		ADD(m, "state", STR(mirror_states[st]));
		ADD(m, "seq", U64(info->mirror_seq));
		ADD(m, "error", info->mirror_error ? STR(tfs_strerror(info->mirror_error)) : NULL);
		ADD(o, "mirror", m);
	}
	const struct vol_scrub_status *sc = &info->scrub;
	struct json_object *s = json_object_new_object();
	int st = sc->state >= 0 && sc->state <= VOL_SCRUB_STOPPED ? sc->state : 0;
	ADD(s, "state", STR(scrub_states[st]));
	ADD(s, "last_run", sc->started_s > 0 ? U64((uint64_t)sc->started_s) : NULL);
	ADD(s, "finished", sc->finished_s > 0 ? U64((uint64_t)sc->finished_s) : NULL);
	ADD(s, "bytes_done", U64(sc->bytes_done));
	ADD(s, "bytes_total", U64(sc->bytes_total));
	ADD(s, "bad", U64(sc->bad));
	ADD(s, "rate", U64(sc->rate));
	ADD(o, "scrub", s);
	return o;
}

struct json_object *cli_json_disks(const struct vol_info *info, const struct cli_json_ctx *ctx)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	ADD(o, "ok", BOOL(ctx->ok));
	ADD(o, "mounted", BOOL(ctx->live));
	ADD(o, "placement", STR(info->placement[0] ? info->placement : "mfs"));
	ADD(o, "reserve_bytes", info->reserve == UINT64_MAX ? NULL : U64(info->reserve));
	ADD(o, "disks", disks(info));
	return o;
}

int cli_json_print(struct json_object *obj)
{
	if (!obj) {
		cli_msg("out of memory");
		return 1;
	}
	puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
	return 0;
}
