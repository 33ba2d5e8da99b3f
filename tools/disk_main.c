/* trackfs-disk (run by `trackfs disk ...`): the disks of a volume. `list`
 * shows each disk's state, `add` adds a disk, `policy` and `reserve` change
 * how new files are placed. A mounted volume is changed by its daemon (over
 * its control socket); an unmounted one is opened here.
 * Exit codes: 0 done (list: every disk ok), 1 failed (list: some disk is not
 * ok), 2 bad usage. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/log.h"
#include "fs/vol/vol.h"
#include "fs/vol/volfile.h"
#include "tools/cli_common.h"
#include "tools/cli_json.h"
#include "tools/disk.h"

#ifndef TRACKFS_VERSION
#define TRACKFS_VERSION "unknown"
#endif

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: trackfs disk list VOLUME [--json]\n"
		"       trackfs disk add VOLUME PATH\n"
		"       trackfs disk policy VOLUME mfs|lus|ff|rand\n"
		"       trackfs disk reserve VOLUME SIZE|auto\n"
		"       trackfs disk drain VOLUME DISK [--rate SIZE/s]\n"
		"       trackfs disk drain --stop VOLUME [DISK]\n"
		"       trackfs disk undrain VOLUME DISK\n"
		"       trackfs disk remove VOLUME DISK [--force]\n"
		"       trackfs disk replace VOLUME OLD NEW [--rate SIZE/s]\n"
		"       trackfs disk files VOLUME DISK\n"
		"The disks of a trackfs volume (VOLUME is its metadata directory, or a disk\n"
		"directory holding meta/), mounted or not.\n"
		"\n"
		"  list     each disk's state: ok, missing, failing, at reserve, full, and\n"
		"           whether it shares a host filesystem with another disk; --json:\n"
		"           the same as one JSON object (README \"JSON output\")\n"
		"  add      format the empty directory PATH as a new disk; a mounted volume\n"
		"           puts new files on it at once\n"
		"  policy   how new files choose a disk: mfs (most free space), lus (least\n"
		"           used space), ff (first found), rand (random, weighted by free\n"
		"           space)\n"
		"  reserve  space kept free on each disk (e.g. 10G; auto: the smaller of 4G\n"
		"           and 5%% of the disk): new files avoid a disk down to it, and a\n"
		"           file on it continues on another disk\n"
		"  drain    move every file's data off DISK (its number or path) onto the\n"
		"           others while files stay in use; new files avoid it from the\n"
		"           start. A mounted volume's daemon drains (Ctrl-C here leaves it\n"
		"           going; --stop stops it, and it stays stopped across mounts until\n"
		"           drain is run again; one cut by an unmount, kill or power loss\n"
		"           goes on at the next mount); --rate is kept for a resumed drain;\n"
		"           a progress bar shows on a terminal\n"
		"  undrain  give a draining or drained disk back to placement (what was\n"
		"           moved off stays moved)\n"
		"  remove   take a drained disk out of an unmounted volume; a middle disk\n"
		"           leaves a slot shown as removed (files name disks by number);\n"
		"           --force gives up an undrained or missing disk: every file with\n"
		"           data on it is listed as lost, those ranges then read as zeros\n"
		"           and are named in the file's user.trackfs.lost xattr\n"
		"  replace  make the empty directory NEW a disk and copy everything that\n"
		"           still reads on disk OLD (failing or missing) onto it; what cannot\n"
		"           be read is listed by path and offset\n"
		"  files    the files with data on DISK: those only on it (lost with it),\n"
		"           then those also on other disks (partly lost with it)\n"
		"\n"
		"Exit status: 0 done (list: every disk ok), 1 failed (list: a disk needs\n"
		"attention), 2 bad usage.\n");
}

#define B(v, buf) cli_fmt_bytes((v), (buf), sizeof(buf))

/* What list's exit status says: a disk needs attention. */
static bool disk_bad(const struct vol_disk_info *d)
{
	return !d->removed && (d->missing || d->failing ||
			       (!d->drain_state && (!d->chunks_free || d->at_reserve)));
}

static int list_json(const struct vol_info *info, const char *meta, bool live)
{
	struct cli_json_ctx ctx = {.meta = meta, .live = live, .ok = true};

	for (unsigned i = 0; i < info->ndisks; i++)
		if (disk_bad(&info->disks[i]))
			ctx.ok = false;
	if (cli_json_print(cli_json_disks(info, &ctx)))
		return 1;
	return ctx.ok ? 0 : 1;
}

static int list(const struct vol_info *info, bool live)
{
	char b1[32], b2[32], b3[32];
	int bad = 0;

	printf("Placement %s, reserve %s per disk%s\n",
	       info->placement[0] ? info->placement : "mfs",
	       info->reserve == UINT64_MAX ? "auto (min 4 GiB, 5%)" : B(info->reserve, b1),
	       live ? " (mounted)" : "");
	printf("%-4s %-36s %10s %10s %10s  %s\n", "DISK", "PATH", "USED", "FREE", "RESERVE",
	       "STATE");
	for (unsigned i = 0; i < info->ndisks; i++) {
		const struct vol_disk_info *d = &info->disks[i];
		char state[192];
		cli_disk_state(d, i, false, state, sizeof(state));
		bad |= disk_bad(d);
		printf("%-4u %-36s %10s %10s %10s  %s\n", i, d->path, B(d->bytes_used, b1),
		       B(d->bytes_free, b2), B(d->reserve_bytes, b3), state);
	}
	for (unsigned i = 0; i < info->ndisks; i++)
		if (info->disks[i].missing)
			printf("Disk %u is missing: its files read as I/O errors, nothing is "
			       "written "
			       "to %s, and its data is safe once the device is mounted there "
			       "again.\n",
			       i, info->disks[i].path);
	return bad ? 1 : 0;
}

/* Ask the daemon; -ECONNREFUSED/-ENOENT when the volume is not held open. */
static int remote(const char *meta, const char *req, char *rep, size_t len)
{
	return vol_control_call(meta, req, rep, len, NULL);
}

static bool not_served(int rc)
{
	return rc == -ECONNREFUSED || rc == -ENOENT;
}

/* Open an unmounted volume for a change. */
static int open_rw(const char *meta, struct vol **v)
{
	struct vol_open_opts oo = {.owner = "trackfs disk"};
	int rc = vol_open(meta, &oo, v);

	if (rc < 0)
		cli_fail("cannot open the volume %s: %s", meta, tfs_strerror(rc));
	return rc;
}

static int cmd_list(const char *meta, bool json)
{
	struct vol_open_opts oo = {.flags = VOL_RDONLY | VOL_NO_RECOVER, .owner = "trackfs disk"};
	struct vol_info *info = calloc(1, sizeof(*info));
	struct vol *v;
	int rc;

	if (!info)
		return 1;
	if (vol_info_remote(meta, info) == 0) {
		rc = json ? list_json(info, meta, true) : list(info, true);
		free(info);
		return rc;
	}
	rc = vol_open(meta, &oo, &v);
	if (rc < 0) {
		cli_fail("cannot open the volume %s: %s", meta, tfs_strerror(rc));
		free(info);
		return 1;
	}
	rc = vol_info(v, info);
	vol_close(v);
	if (rc < 0) {
		cli_fail("cannot read the volume %s: %s", meta, tfs_strerror(rc));
		free(info);
		return 1;
	}
	rc = json ? list_json(info, meta, false) : list(info, false);
	free(info);
	return rc;
}

static int cmd_add(const char *meta, const char *arg)
{
	char path[PATH_MAX], req[PATH_MAX + 16], rep[128];
	unsigned idx = 0;
	int shares = -1, rc;

	if (!realpath(arg, path)) {
		/* A directory not made yet is created by the format. */
		char cwd[PATH_MAX];
		rc = -errno;
		if (rc != -ENOENT || (arg[0] != '/' && !getcwd(cwd, sizeof(cwd))) ||
		    (size_t)snprintf(path, sizeof(path), "%s%s%s", arg[0] == '/' ? "" : cwd,
				     arg[0] == '/' ? "" : "/", arg) >= sizeof(path)) {
			cli_msg("add disk %s: %s; give the path of an empty directory", arg,
				tfs_strerror(rc));
			return 1;
		}
	}
	snprintf(req, sizeof(req), "disk-add %s", path);
	rc = remote(meta, req, rep, sizeof(rep));
	if (rc == 0) {
		if (sscanf(rep, "ok %u %d", &idx, &shares) < 1)
			shares = -1;
	} else if (not_served(rc)) {
		struct vol *v;
		if (open_rw(meta, &v) < 0)
			return 1;
		rc = vol_disk_add(v, path, &idx, &shares);
		int rc2 = vol_close(v);
		if (rc == 0 && rc2 < 0)
			rc = rc2;
	}
	if (rc == -EPERM) {
		cli_msg("add disk %s: only root or the owner of %s may change its disks", path,
			meta);
		return 1;
	}
	if (rc < 0) {
		cli_msg("could not add disk %s: %s%s", path, tfs_strerror(rc),
			rc == -ENOTEMPTY || rc == -EEXIST
				? " (give an empty directory that belongs to no volume)"
				: " (the daemon's log says more)");
		return 1;
	}
	printf("Added disk %u: %s\n", idx, path);
	if (shares >= 0)
		cli_msg("warning: %s is on the same host filesystem as disk %d: both draw on one "
			"device's space, and losing that device loses both disks' files",
			path, shares);
	return 0;
}

static int cmd_placement(const char *meta, const char *policy, const char *reserve_arg)
{
	char req[64], rep[128];
	uint64_t reserve = UINT64_MAX;
	int rc;

	if (reserve_arg && strcmp(reserve_arg, "auto") != 0 &&
	    (cli_parse_size(reserve_arg, &reserve) < 0 || reserve == UINT64_MAX)) {
		cli_msg("bad reserve '%s' (e.g. 0, 512M, 10G, auto)", reserve_arg);
		return 2;
	}
	if (policy)
		snprintf(req, sizeof(req), "placement %s", policy);
	else if (reserve == UINT64_MAX)
		snprintf(req, sizeof(req), "reserve auto");
	else
		snprintf(req, sizeof(req), "reserve %llu", (unsigned long long)reserve);
	rc = remote(meta, req, rep, sizeof(rep));
	if (not_served(rc)) {
		struct vol *v;
		if (open_rw(meta, &v) < 0)
			return 1;
		rc = vol_set_placement(v, policy, !policy, reserve);
		int rc2 = vol_close(v);
		if (rc == 0 && rc2 < 0)
			rc = rc2;
	}
	if (rc < 0) {
		cli_msg("could not change the %s of %s: %s",
			policy ? "placement policy" : "reserve", meta,
			rc == -EPERM ? "only root or the volume's owner may" : tfs_strerror(rc));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char meta[PATH_MAX];

	cli_init(argv[0]);
	/* Accept both "trackfs-disk list ..." and "trackfs-disk disk list ...". */
	if (argc >= 2 && strcmp(argv[1], "disk") == 0) {
		argv++;
		argc--;
	}
	/* --help anywhere ("trackfs disk drain --help" too): the one usage. */
	for (int a = 1; a < argc && strcmp(argv[a], "--") != 0; a++)
		if (!strcmp(argv[a], "-h") || !strcmp(argv[a], "--help")) {
			usage(stdout);
			return 0;
		}
	if (argc == 2 && (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))) {
		printf("trackfs disk %s\n", TRACKFS_VERSION);
		return 0;
	}
	if (argc < 3) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "files") || !strcmp(cmd, "undrain")) {
		int rc = !strcmp(cmd, "files") ? cli_disk_files(argc - 2, argv + 2)
					       : cli_disk_undrain(argc - 2, argv + 2);
		if (rc == 2)
			usage(stderr);
		return rc;
	}
	if (!strcmp(cmd, "replace")) {
		int rc = cli_disk_replace(argc - 2, argv + 2);
		if (rc == 2)
			usage(stderr);
		return rc;
	}
	if (!strcmp(cmd, "drain") || !strcmp(cmd, "remove")) {
		int rc = !strcmp(cmd, "drain") ? cli_disk_drain(argc - 2, argv + 2)
					       : cli_disk_remove(argc - 2, argv + 2);
		if (rc == 2)
			usage(stderr);
		return rc;
	}
	bool json = false;
	if (!strcmp(cmd, "list"))
		for (int i = 2; i < argc; i++)
			if (!strcmp(argv[i], "--json")) {
				json = true;
				memmove(&argv[i], &argv[i + 1], (size_t)(argc - i) * sizeof(*argv));
				argc--;
				i--;
			}
	int want = !strcmp(cmd, "list") ? 3 : 4;
	if (strcmp(cmd, "list") && strcmp(cmd, "add") && strcmp(cmd, "policy") &&
	    strcmp(cmd, "reserve")) {
		cli_msg("unknown subcommand '%s'", cmd);
		usage(stderr);
		return 2;
	}
	if (argc != want) {
		usage(stderr);
		return 2;
	}
	if (vol_meta_resolve(argv[2], meta) < 0)
		return 1;
	if (!strcmp(cmd, "list"))
		return cmd_list(meta, json);
	if (!strcmp(cmd, "add"))
		return cmd_add(meta, argv[3]);
	if (!strcmp(cmd, "policy")) {
		if (strcmp(argv[3], "mfs") && strcmp(argv[3], "lus") && strcmp(argv[3], "ff") &&
		    strcmp(argv[3], "rand")) {
			cli_msg("unknown placement policy '%s': use mfs, lus, ff or rand", argv[3]);
			return 2;
		}
		return cmd_placement(meta, argv[3], NULL);
	}
	return cmd_placement(meta, NULL, argv[3]);
}
