/* The volume's metrics in the Prometheus text exposition format 0.0.4: the
 * figures of vol_info() and the counters of struct vol (ctr), written once
 * here for every front end that serves them (the FUSE daemon's -o metrics
 * listener, the S3 sidecar's /.trackfs/metrics). README "Metrics" lists the
 * names; they are part of the interface: add, never rename. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "fs/vol/vol_int.h"

void vol_io_counters(struct vol *v, struct vol_io_counters *out)
{
	out->reads = atomic_load(&v->ctr.reads);
	out->writes = atomic_load(&v->ctr.writes);
	out->read_fails = atomic_load(&v->ctr.read_fails);
	out->write_fails = atomic_load(&v->ctr.write_fails);
	out->bytes_read = atomic_load(&v->ctr.bytes_read);
	out->bytes_written = atomic_load(&v->ctr.bytes_written);
}

void vol_metrics_head(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void vol_metrics_label(FILE *out, const char *in)
{
	for (; *in; in++) {
		if (*in == '\\' || *in == '"')
			fputc('\\', out);
		if (*in == '\n')
			fputs("\\n", out);
		else
			fputc(*in, out);
	}
}

/* One figure of a volume-wide metric. */
static void one(FILE *out, const char *name, const char *type, const char *help, uint64_t val)
{
	vol_metrics_head(out, name, type, help);
	fprintf(out, "%s %" PRIu64 "\n", name, val);
}

/* The per-disk figures, a getter each. */
struct disk_metric {
	const char *name, *type, *help;
	uint64_t (*get)(const struct vol_disk_info *d);
};

static uint64_t d_total(const struct vol_disk_info *d)
{
	return d->bytes_used + d->bytes_free;
}
static uint64_t d_used(const struct vol_disk_info *d)
{
	return d->bytes_used;
}
static uint64_t d_free(const struct vol_disk_info *d)
{
	return d->bytes_free;
}
static uint64_t d_on_disk(const struct vol_disk_info *d)
{
	return d->bytes_on_disk;
}
static uint64_t d_chunks(const struct vol_disk_info *d)
{
	return d->chunks_used;
}
static uint64_t d_missing(const struct vol_disk_info *d)
{
	return d->missing;
}
static uint64_t d_failing(const struct vol_disk_info *d)
{
	return !d->missing && d->failing;
}
static uint64_t d_io_errors(const struct vol_disk_info *d)
{
	return d->io_errors;
}
static uint64_t d_read_errors(const struct vol_disk_info *d)
{
	return d->read_errors;
}
static uint64_t d_write_errors(const struct vol_disk_info *d)
{
	return d->write_errors;
}
static uint64_t d_csum(const struct vol_disk_info *d)
{
	return d->checksum_errors;
}
static uint64_t d_snap_time(const struct vol_disk_info *d)
{
	return d->has_snapshot ? d->snapshot_time_ns / 1000000000u : 0;
}

static const struct disk_metric disk_metrics[] = {
	{"trackfs_disk_bytes_total", "gauge", "Chunk bytes the disk holds and could still take.",
	 d_total},
	{"trackfs_disk_bytes_used", "gauge", "Chunk bytes in use on the disk.", d_used},
	{"trackfs_disk_bytes_free", "gauge",
	 "Chunk bytes the disk could still take (a host filesystem shared by disks counts in "
	 "each).",
	 d_free},
	{"trackfs_disk_bytes_on_disk", "gauge", "Bytes the disk's track files occupy on the host.",
	 d_on_disk},
	{"trackfs_disk_chunks_used", "gauge", "Chunks in use on the disk.", d_chunks},
	{"trackfs_disk_missing", "gauge", "1 when the disk's directory was not there at open.",
	 d_missing},
	{"trackfs_disk_failing", "gauge",
	 "1 when the disk had an I/O error since open (new data goes elsewhere).", d_failing},
	{"trackfs_disk_io_errors_total", "counter",
	 "Failed track reads, writes and syncs on the disk since open.", d_io_errors},
	{"trackfs_disk_read_errors_total", "counter", "Failed track reads on the disk since open.",
	 d_read_errors},
	{"trackfs_disk_write_errors_total", "counter",
	 "Failed track writes on the disk since open.", d_write_errors},
	{"trackfs_disk_checksum_failures_total", "counter",
	 "Chunks on the disk that failed their checksum since open (reads and the scrub).", d_csum},
	{"trackfs_disk_snapshot_timestamp_seconds", "gauge",
	 "When the disk's newest index snapshot was taken (0: none).", d_snap_time},
};

static void disks(FILE *out, const struct vol_info *info)
{
	for (size_t m = 0; m < sizeof(disk_metrics) / sizeof(disk_metrics[0]); m++) {
		const struct disk_metric *dm = &disk_metrics[m];
		vol_metrics_head(out, dm->name, dm->type, dm->help);
		for (unsigned i = 0; i < info->ndisks; i++) {
			if (info->disks[i].removed)
				continue;
			fprintf(out, "%s{disk=\"%u\",path=\"", dm->name, i);
			vol_metrics_label(out, info->disks[i].path);
			fprintf(out, "\"} %" PRIu64 "\n", dm->get(&info->disks[i]));
		}
	}
}

static const char *const scrub_states[] = {"never", "running", "done", "stopped"};

static void scrub(FILE *out, const struct vol_info *info)
{
	const struct vol_scrub_status *sc = &info->scrub;
	int st = sc->state >= VOL_SCRUB_NONE && sc->state <= VOL_SCRUB_STOPPED ? sc->state : 0;

	vol_metrics_head(out, "trackfs_scrub_state", "gauge",
			 "1 for the online scrub's state (never, running, done, stopped).");
	for (int i = 0; i <= VOL_SCRUB_STOPPED; i++)
		fprintf(out, "trackfs_scrub_state{state=\"%s\"} %d\n", scrub_states[i], i == st);
	one(out, "trackfs_scrub_last_start_timestamp_seconds", "gauge",
	    "When the current or last scrub began (0: never).",
	    sc->started_s > 0 ? (uint64_t)sc->started_s : 0);
	one(out, "trackfs_scrub_last_finish_timestamp_seconds", "gauge",
	    "When the last scrub finished (0: never, or one runs).",
	    sc->finished_s > 0 ? (uint64_t)sc->finished_s : 0);
	one(out, "trackfs_scrub_bytes_checked", "gauge",
	    "Bytes the current or last scrub has read and checked.", sc->bytes_done);
	one(out, "trackfs_scrub_chunks_checked", "gauge",
	    "Chunks the current or last scrub has read and checked.",
	    info->chunk_size ? sc->bytes_done / info->chunk_size : 0);
	one(out, "trackfs_scrub_bad_chunks", "gauge",
	    "Chunks the current or last scrub found bad (checksum or read error).", sc->bad);
}

int vol_metrics_format(struct vol *v, FILE *out)
{
	struct vol_info *info = calloc(1, sizeof(*info));
	struct vol_io_counters io;
	char u[TFS_UUID_STRLEN];
	int rc;

	if (!info)
		return -ENOMEM;
	rc = vol_info(v, info);
	if (rc < 0) {
		free(info);
		return rc;
	}
	tfs_uuid_format(&info->uuid, u);
	vol_metrics_head(out, "trackfs_volume_info", "gauge",
			 "The volume's identity in labels; always 1.");
	fprintf(out, "trackfs_volume_info{uuid=\"%s\",label=\"", u);
	vol_metrics_label(out, info->label);
	fprintf(out, "\"} 1\n");
	one(out, "trackfs_volume_chunk_size_bytes", "gauge", "The volume's chunk size.",
	    info->chunk_size);
	one(out, "trackfs_volume_inodes", "gauge", "Inodes in use.", info->inodes);
	one(out, "trackfs_index_bytes", "gauge", "Size of the index (LMDB) in bytes.",
	    info->index_bytes);
	one(out, "trackfs_index_commit", "gauge", "The index's commit sequence number.",
	    info->index_seq);
	one(out, "trackfs_volume_bytes_used", "gauge", "Chunk bytes in use over the present disks.",
	    info->chunks_used * info->chunk_size);
	one(out, "trackfs_volume_bytes_free", "gauge",
	    "Chunk bytes free over the present disks (a shared host filesystem counted once).",
	    info->chunks_free * info->chunk_size);
	unsigned ndisks = 0;
	for (unsigned i = 0; i < info->ndisks; i++)
		ndisks += !info->disks[i].removed;
	one(out, "trackfs_volume_disks", "gauge", "Disks of the volume (removed slots excluded).",
	    ndisks);
	disks(out, info);

	vol_io_counters(v, &io);
	vol_metrics_head(out, "trackfs_ops_total", "counter",
			 "Data calls into the volume by every front end, by operation.");
	fprintf(out, "trackfs_ops_total{op=\"read\"} %" PRIu64 "\n", io.reads);
	fprintf(out, "trackfs_ops_total{op=\"write\"} %" PRIu64 "\n", io.writes);
	vol_metrics_head(out, "trackfs_op_errors_total", "counter",
			 "Data calls into the volume that returned an error, by operation.");
	fprintf(out, "trackfs_op_errors_total{op=\"read\"} %" PRIu64 "\n", io.read_fails);
	fprintf(out, "trackfs_op_errors_total{op=\"write\"} %" PRIu64 "\n", io.write_fails);
	one(out, "trackfs_read_bytes_total", "counter", "Bytes read from the volume's files.",
	    io.bytes_read);
	one(out, "trackfs_written_bytes_total", "counter", "Bytes written to the volume's files.",
	    io.bytes_written);

	scrub(out, info);
	vol_metrics_head(out, "trackfs_mirror_state", "gauge",
			 "1 for the metadata mirror's state (none, current, stale, failed).");
	static const char *const ms[] = {"none", "current", "stale", "failed"};
	for (int i = 0; i <= VOL_MIRROR_FAILED; i++)
		fprintf(out, "trackfs_mirror_state{state=\"%s\"} %d\n", ms[i],
			i == info->mirror_state);
	free(info);
	return ferror(out) ? -EIO : 0;
}
