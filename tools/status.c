/* trackfs-status (run by `trackfs status VOLUME`): open a volume read-only
 * without recovery and print its identity, index size and a per-disk table
 * of tracks, chunks and bytes, with totals. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/fileio.h"
#include "core/base/log.h"
#include "fs/vol/vol.h"
#include "fs/vol/volfile.h"
#include "tools/cli_common.h"
#include "tools/cli_json.h"

static void usage(FILE *out)
{
	fprintf(out, "Usage: trackfs status VOLUME [--json]\n"
		     "Show a trackfs volume's disks and space, the newest snapshot of the index\n"
		     "on each disk and the metadata mirror (VOLUME is its metadata directory,\n"
		     "a disk directory holding meta/, or where it is mounted), mounted or not.\n"
		     "--json prints the same as one JSON object (README \"JSON output\").\n"
		     "\n"
		     "Exit status: 0 all is well, 1 something needs attention (a disk missing\n"
		     "or failing, the mirror failed) or the volume could not be read, 2 bad\n"
		     "usage.\n");
}

/* A mounted volume is locked by its daemon: say who holds it and show what
 * volume.conf alone can tell. */
static int print_locked(const char *arg, bool json)
{
	char meta[PATH_MAX], lockpath[PATH_MAX + 16], uuid[TFS_UUID_STRLEN];
	char *holder = NULL;
	size_t len;
	struct vol_volfile *vf;

	if (vol_meta_resolve(arg, meta) < 0)
		return 1;
	snprintf(lockpath, sizeof(lockpath), "%s/%s", meta, VOL_LOCK_NAME);
	if (tfs_read_file(lockpath, 4096, &holder, &len) == 0) {
		for (size_t i = 0; i < len; i++)
			if (holder[i] == '\n')
				holder[i] = ' ';
		while (len && holder[len - 1] == ' ')
			holder[--len] = '\0';
	}
	cli_msg("the volume %s is in use (lock held by %s); live figures need the mount, "
		"showing its configuration only",
		meta, holder && *holder ? holder : "another process");
	free(holder);
	vf = malloc(sizeof(*vf));
	if (!vf || vol_volfile_read(meta, vf) < 0) {
		free(vf);
		return 1;
	}
	if (json) {
		/* Only what volume.conf says: the disks' figures need the mount. */
		struct vol_info *info = calloc(1, sizeof(*info));
		struct cli_json_ctx ctx = {.meta = meta, .live = true, .ok = false};
		if (!info) {
			free(vf);
			return 1;
		}
		info->uuid = vf->uuid;
		snprintf(info->label, sizeof(info->label), "%s", vf->label);
		info->ndisks = vf->ndisks;
		info->reserve = UINT64_MAX;
		for (unsigned i = 0; i < vf->ndisks; i++) {
			snprintf(info->disks[i].path, sizeof(info->disks[i].path), "%s",
				 vf->disks[i].path);
			info->disks[i].uuid = vf->disks[i].uuid;
			info->disks[i].removed = vf->disks[i].removed;
			info->disks[i].shares_fs_with = -1;
			info->disks[i].drain_target = -1;
		}
		free(vf);
		cli_json_print(cli_json_status(info, &ctx));
		free(info);
		return 1;
	}
	tfs_uuid_format(&vf->uuid, uuid);
	printf("Volume    %s%s%s\n", vf->label[0] ? "\"" : "",
	       vf->label[0] ? vf->label : "(no label)", vf->label[0] ? "\"" : "");
	printf("UUID      %s\n", uuid);
	printf("Metadata  %s\n", meta);
	for (unsigned i = 0; i < vf->ndisks; i++)
		printf("Disk %-4u %s\n", i, vf->disks[i].path);
	/* The disks' snapshot directories can be read without the volume. */
	uint64_t now = cli_now_ns();
	printf("\nSnapshots   of the index on the data disks (newest on each)\n");
	for (unsigned i = 0; i < vf->ndisks; i++) {
		struct vol_disk_info *d = calloc(1, sizeof(*d));
		struct vol_snapshot_entry *e = NULL;
		size_t n = 0;
		char st[128];
		if (!d)
			break;
		d->removed = vf->disks[i].removed;
		if (!d->removed && vol_snapshot_list(vf->disks[i].path, false, &e, &n) == 0)
			for (size_t j = 0; j < n && !d->has_snapshot; j++)
				if (e[j].rc == 0) {
					d->has_snapshot = true;
					d->snapshot_seq = e[j].seq;
					d->snapshot_time_ns = e[j].time_ns;
				}
		printf("  disk %-4u %s\n", i, cli_snapshot_state(d, now, st, sizeof(st)));
		free(e);
		free(d);
	}
	if (vf->meta_mirror[0])
		printf("Mirror      %s\n", vf->meta_mirror);
	free(vf);
	return 1;
}

#define B(v, buf) cli_fmt_bytes((v), (buf), sizeof(buf))

/* The exit status's verdict: nothing needs attention. */
static bool all_well(const struct vol_info *info, const char *meta, bool live)
{
	char st[PATH_MAX + 256];
	bool bad = cli_mirror_state(info, meta, live, st, sizeof(st)) || info->scrub.bad;

	for (unsigned i = 0; i < info->ndisks; i++)
		bad |= info->disks[i].missing || info->disks[i].failing;
	return !bad;
}

/* The report as JSON (cli_json.c), with print_info's exit status. */
static int print_json(const struct vol_info *info, const char *meta, bool unclean, bool live)
{
	struct cli_json_ctx ctx = {
		.meta = meta, .live = live, .unclean = unclean, .ok = all_well(info, meta, live)};

	if (cli_json_print(cli_json_status(info, &ctx)))
		return 1;
	return ctx.ok ? 0 : 1;
}

/* The report, from a volume opened here or from the daemon that holds it. */
static int print_info(const struct vol_info *info, const char *meta, bool unclean, bool live)
{
	char uuid[TFS_UUID_STRLEN], b1[32], b2[32], b3[32];

	tfs_uuid_format(&info->uuid, uuid);
	printf("Volume      %s%s%s\n", info->label[0] ? "\"" : "",
	       info->label[0] ? info->label : "(no label)", info->label[0] ? "\"" : "");
	printf("UUID        %s\n", uuid);
	if (live)
		printf("Mounted     yes (figures from the process that holds the volume)\n");
	printf("Metadata    %s\n", meta);
	printf("Chunk size  %s\n", B(info->chunk_size, b1));
	printf("Inodes      %llu\n", (unsigned long long)info->inodes);
	printf("Index       %s\n", B(info->index_bytes, b1));
	if (info->index_seq) /* (a daemon from before it was told) */
		printf("Commit      %llu\n", (unsigned long long)info->index_seq);
	if (live)
		printf("State       in use\n");
	else if (unclean)
		printf("State       not shut down cleanly (the next mount rebuilds the free "
		       "lists)\n");
	else
		printf("State       clean\n");
	printf("\n%-4s %-32s %6s %12s %12s %10s %10s %10s  %s\n", "DISK", "PATH", "TRACKS",
	       "CHUNKS USED", "CHUNKS FREE", "USED", "FREE", "ON DISK", "STATE");

	uint64_t t_tracks = 0, t_od = 0;
	unsigned missing = 0, failing = 0, shared = 0;
	for (unsigned i = 0; i < info->ndisks; i++) {
		const struct vol_disk_info *d = &info->disks[i];
		char state[192];
		cli_disk_state(d, i, true, state, sizeof(state));
		printf("%-4u %-32s %6u %12llu %12llu %10s %10s %10s  %s\n", i, d->path, d->tracks,
		       (unsigned long long)d->chunks_used, (unsigned long long)d->chunks_free,
		       B(d->bytes_used, b1), B(d->bytes_free, b2), B(d->bytes_on_disk, b3), state);
		failing += !d->missing && d->failing;
		t_tracks += d->tracks;
		t_od += d->bytes_on_disk;
		missing += d->missing;
		shared += !d->missing && d->shares_fs_with >= 0;
	}
	/* The totals count a host filesystem that holds several disks once. */
	const char *total = missing ? "DISKS MISSING" : failing ? "DISKS FAILING" : "ok";
	printf("%-4s %-32s %6llu %12llu %12llu %10s %10s %10s  %s\n", "", "total",
	       (unsigned long long)t_tracks, (unsigned long long)info->chunks_used,
	       (unsigned long long)info->chunks_free, B(info->chunks_used * info->chunk_size, b1),
	       B(info->chunks_free * info->chunk_size, b2), B(t_od, b3), total);
	if (shared)
		printf("\nDisks that share a host filesystem each show its free space; the total "
		       "counts it once.\n");
	if (missing)
		printf("\n%u disk(s) missing: files on them read as I/O errors until the disk is "
		       "back.\n",
		       missing);
	for (unsigned i = 0; i < info->ndisks; i++) {
		const struct vol_disk_info *d = &info->disks[i];
		if (!d->stale)
			continue;
		if (d->missing)
			printf("Disk %u: %llu chunks freed while it is missing wait for it to "
			       "return; the first mount with it puts them back on its free "
			       "lists.\n",
			       i, (unsigned long long)d->stale_chunks);
		else
			printf("Disk %u: back after being missing; the next mount puts the %llu "
			       "chunks freed meanwhile back on its free lists.\n",
			       i, (unsigned long long)d->stale_chunks);
	}
	if (failing)
		printf("\n%u disk(s) failing: I/O errors since the mount. New data goes to the "
		       "other disks; writes that had not reached a failing disk were undone "
		       "and their files' fsync returns EIO. Check the device (dmesg, smartctl), "
		       "copy its files elsewhere or replace it; the mark is cleared at the next "
		       "mount.\n",
		       failing);

	char st[PATH_MAX + 256];
	uint64_t now = cli_now_ns();
	printf("\nSnapshots   of the index on the data disks (newest on each)\n");
	for (unsigned i = 0; i < info->ndisks; i++)
		printf("  disk %-4u %s\n", i,
		       cli_snapshot_state(&info->disks[i], now, st, sizeof(st)));
	bool mirror_bad = cli_mirror_state(info, meta, live, st, sizeof(st));
	printf("Mirror      %s\n", st);
	const struct vol_scrub_status *sc = &info->scrub;
	if (sc->state != VOL_SCRUB_NONE) {
		printf("Scrub       %s, %s of about %s read, %" PRIu64 " bad chunk%s%s\n",
		       sc->state == VOL_SCRUB_RUNNING ? "running"
		       : sc->state == VOL_SCRUB_DONE  ? "done"
						      : "stopped",
		       B(sc->bytes_done, b1), B(sc->bytes_total, b2), sc->bad,
		       sc->bad == 1 ? "" : "s",
		       sc->bad ? " (see " VOL_SCRUB_REPORT_NAME " in the metadata directory)" : "");
	}
	/* Front ends' notes ("S3\tpublic-read buckets: ..."): KEY as the label. */
	for (const char *n = info->notes; *n;) {
		const char *tab = strchr(n, '\t'), *nl = strchr(n, '\n');
		if (!nl)
			break;
		if (tab && tab < nl)
			printf("%-11.*s %.*s\n", (int)(tab - n), n, (int)(nl - tab - 1), tab + 1);
		n = nl + 1;
	}
	return missing || failing || mirror_bad || sc->bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct vol_open_opts oo = {.flags = VOL_RDONLY | VOL_NO_RECOVER, .owner = "trackfs status"};
	struct vol_info *info;
	struct vol *v;
	int rc;

	cli_init(argv[0]);
	cli_std_args(argc, argv, usage);
	/* Accept both "trackfs-status VOLUME" and "trackfs-status status VOLUME". */
	if (argc >= 3 && strcmp(argv[1], "status") == 0) {
		argv++;
		argc--;
	}
	/* --json anywhere; what is left is the volume. */
	bool json = false;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--json")) {
			json = true;
			memmove(&argv[i], &argv[i + 1], (size_t)(argc - i) * sizeof(*argv));
			argc--;
			i--;
		}
	int (*report)(const struct vol_info *, const char *, bool, bool) =
		json ? print_json : print_info;
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-') {
		if (argc == 2)
			cli_msg("unknown option %s", argv[1]);
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	info = calloc(1, sizeof(*info));
	if (!info) {
		cli_msg("out of memory");
		return 1;
	}
	/* Mounted (or served by trackfs-s3): the process that holds the volume
	 * answers on its status socket. Ask it first, so that a mounted volume
	 * does not first print the lock error of vol_open. */
	char meta[PATH_MAX];
	if (vol_meta_resolve(argv[1], meta) == 0) {
		rc = vol_info_remote(meta, info);
		if (rc == 0) {
			rc = report(info, meta, false, true);
			free(info);
			return rc;
		}
		if (rc == -EPERM) {
			cli_msg("the process serving %s answers only root and the owner of %s "
				"(you are uid %u): run trackfs status as one of them",
				meta, meta, (unsigned)getuid());
			free(info);
			return CLI_EXIT_FAIL;
		}
		if (rc == -EPROTONOSUPPORT) {
			/* Another version of the control protocol: said, with what to do. */
			free(info);
			return CLI_EXIT_FAIL;
		}
	}
	rc = vol_open(argv[1], &oo, &v);
	if (rc == -EBUSY) {
		free(info);
		return print_locked(argv[1], json);
	}
	if (rc < 0) {
		cli_fail("cannot open the volume %s: %s", argv[1], tfs_strerror(rc));
		free(info);
		return 1;
	}
	rc = vol_info(v, info);
	if (rc < 0) {
		cli_fail("cannot read the volume %s: %s", argv[1], tfs_strerror(rc));
		vol_close(v);
		free(info);
		return 1;
	}

	rc = report(info, vol_meta_dir(v), vol_was_unclean(v), false);
	vol_close(v);
	free(info);
	return rc;
}
