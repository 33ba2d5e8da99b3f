/* mkfs.trackfs: create a volume over one or more disk directories (vol_mkfs)
 * and print a short summary: UUID, label, chunk size, the metadata directory
 * (the VOLUME argument of the other tools) and one line per disk. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/base/log.h"
#include "core/pool.h"
#include "fs/vol/vol.h"
#include "fs/vol/volfile.h"
#include "tools/cli_common.h"

/* Labels are stored in a 65-byte field (vol_volfile.label). */
#define IDX_LABEL_MAX_CLI 64

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: mkfs.trackfs --disk DIR [--disk DIR ...] [options]\n"
		"Create a trackfs volume over one or more disk directories.\n"
		"\n"
		"  -d, --disk DIR            a disk directory (repeat for each disk)\n"
		"  -m, --meta DIR            metadata directory (default: FIRST_DISK/meta)\n"
		"  -c, --chunk-size SIZE     allocation unit, a power of two from 4K to 4M\n"
		"                            (default 4K)\n"
		"  -t, --max-track-size SIZE chunk data per track file (default 4G)\n"
		"  -L, --label NAME          a name for the volume (up to %d characters)\n"
		"  -p, --placement POLICY    how new files choose a disk: mfs (most free space,\n"
		"                            the default), lus (least used space), ff (first\n"
		"                            found), rand (random, weighted by free space)\n"
		"  -r, --reserve SIZE        space kept free on each disk: new files go to\n"
		"                            other disks once a disk is down to it (default:\n"
		"                            the smaller of 4G and 5%% of the disk)\n"
		"  -M, --meta-mirror DIR     keep a second copy of the metadata directory in\n"
		"                            DIR (ideally on another device), updated with\n"
		"                            every commit of the index: made now, named in\n"
		"                            the volume file, resynced at mount if behind\n"
		"  -f, --force               reuse non-empty directories and disks of another\n"
		"                            volume (their trackfs data is lost)\n"
		"  -h, --help                show this help\n"
		"\n"
		"SIZE accepts K, M, G suffixes (binary): 4K, 64K, 1M, 4G.\n",
		IDX_LABEL_MAX_CLI);
}

static bool dir_is_empty(const char *path, bool *exists)
{
	DIR *d = opendir(path);
	struct dirent *e;
	bool empty = true;

	*exists = d != NULL;
	if (!d)
		return true;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			empty = false;
			break;
		}
	}
	closedir(d);
	return empty;
}

/* Make @p in absolute without requiring it to exist: the volume file records
 * the disks' paths, and a relative path would only work from one directory. */
static int abs_path(const char *in, char out[PATH_MAX])
{
	char cwd[PATH_MAX];

	if (realpath(in, out))
		return 0;
	if (in[0] == '/') {
		if (strlen(in) >= PATH_MAX)
			return -ENAMETOOLONG;
		strcpy(out, in);
		return 0;
	}
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	if ((size_t)snprintf(out, PATH_MAX, "%s/%s", cwd, in) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static void print_summary(const char *meta)
{
	struct vol_volfile *vf = malloc(sizeof(*vf));
	char uuid[TFS_UUID_STRLEN], b1[32], b2[32];

	if (!vf || vol_volfile_read(meta, vf) < 0) {
		free(vf);
		printf("Created the volume; its metadata directory is %s\n", meta);
		return;
	}
	tfs_uuid_format(&vf->uuid, uuid);
	printf("Created trackfs volume%s%s%s\n", vf->label[0] ? " \"" : "", vf->label,
	       vf->label[0] ? "\"" : "");
	printf("  UUID        %s\n", uuid);
	printf("  chunk size  %s (tracks up to %s)\n",
	       cli_fmt_bytes(vf->chunk_size, b1, sizeof(b1)),
	       cli_fmt_bytes(vf->max_track_bytes ? vf->max_track_bytes : TRK_DEFAULT_TRACK_SIZE, b2,
			     sizeof(b2)));
	printf("  placement   %s, reserve %s per disk\n",
	       trk_placement_name((enum trk_placement)vf->placement),
	       vf->reserve == VOL_RESERVE_AUTO ? "min(4 GiB, 5%)"
					       : cli_fmt_bytes(vf->reserve, b1, sizeof(b1)));
	printf("  metadata    %s\n", meta);
	if (vf->meta_mirror[0])
		printf("  mirror      %s\n", vf->meta_mirror);
	printf("  disks       %u\n", vf->ndisks);
	for (unsigned i = 0; i < vf->ndisks; i++) {
		struct statvfs st;
		char free_s[32] = "?";

		if (statvfs(vf->disks[i].path, &st) == 0)
			cli_fmt_bytes((uint64_t)st.f_bavail * st.f_frsize, free_s, sizeof(free_s));
		tfs_uuid_format(&vf->disks[i].uuid, uuid);
		printf("    %-2u %s  (%s free, disk %s)\n", i, vf->disks[i].path, free_s, uuid);
	}
	printf("\nMount:  trackfs %s MOUNTPOINT\n", meta);
	printf("Check:  fsck.trackfs %s\n", meta);
	free(vf);
}

/* vol_mkfs logs the precise reason; this adds which directory to look at and
 * what to do, so the user sees it even if the log went elsewhere. */
static void explain_failure(int rc, const char *meta, const char *mirror, char (*disks)[PATH_MAX],
			    unsigned ndisks)
{
	bool exists;

	if (rc == -ENOTEMPTY && mirror[0] && !dir_is_empty(mirror, &exists)) {
		cli_msg("the metadata mirror %s is not empty; use an empty directory, or "
			"--force to overwrite it",
			mirror);
		return;
	}

	if (rc == -ENOTEMPTY && !dir_is_empty(meta, &exists)) {
		cli_msg("metadata directory %s is not empty; use an empty directory, or "
			"--force to overwrite it",
			meta);
		return;
	}
	if (rc == -ENOTEMPTY || rc == -EEXIST) {
		for (unsigned i = 0; i < ndisks; i++) {
			if (!dir_is_empty(disks[i], &exists)) {
				cli_msg("%s is not empty or belongs to another trackfs volume; "
					"use an empty directory, or --force to overwrite it",
					disks[i]);
				return;
			}
		}
		if (!dir_is_empty(meta, &exists)) {
			cli_msg("metadata directory %s is not empty; use an empty directory, or "
				"--force to overwrite it",
				meta);
			return;
		}
	}
	if (rc == -ENOENT) {
		for (unsigned i = 0; i < ndisks; i++) {
			dir_is_empty(disks[i], &exists);
			if (!exists) {
				cli_msg("disk directory %s does not exist; create it first",
					disks[i]);
				return;
			}
		}
	}
	cli_msg("could not create the volume: %s", tfs_strerror(rc));
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"disk", required_argument, NULL, 'd'},
		{"meta", required_argument, NULL, 'm'},
		{"chunk-size", required_argument, NULL, 'c'},
		{"max-track-size", required_argument, NULL, 't'},
		{"label", required_argument, NULL, 'L'},
		{"placement", required_argument, NULL, 'p'},
		{"reserve", required_argument, NULL, 'r'},
		{"meta-mirror", required_argument, NULL, 'M'},
		{"force", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static char disks[VOL_MAX_DISKS][PATH_MAX];
	const char *disk_ptrs[VOL_MAX_DISKS];
	char meta[PATH_MAX] = "", mirror[PATH_MAX] = "";
	unsigned ndisks = 0;
	uint64_t chunk = TRK_DEFAULT_CHUNK_SIZE, track = 0;
	const char *label = NULL, *placement = NULL;
	uint64_t reserve = 0;
	bool force = false, reserve_set = false;
	struct tfs_uuid uuid;
	int c, rc;

	cli_init(argv[0]);
	cli_std_args(argc, argv, usage);
	while ((c = getopt_long(argc, argv, "d:m:c:t:L:p:r:M:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (ndisks == VOL_MAX_DISKS) {
				cli_msg("at most %d disks", VOL_MAX_DISKS);
				return CLI_EXIT_USAGE;
			}
			if (abs_path(optarg, disks[ndisks]) < 0) {
				cli_msg("bad disk path %s", optarg);
				return CLI_EXIT_USAGE;
			}
			for (unsigned i = 0; i < ndisks; i++) {
				if (strcmp(disks[i], disks[ndisks]) == 0) {
					cli_msg("disk %s given twice", disks[i]);
					return CLI_EXIT_USAGE;
				}
			}
			ndisks++;
			break;
		case 'm':
			if (abs_path(optarg, meta) < 0) {
				cli_msg("bad metadata path %s", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'c':
			if (cli_parse_size(optarg, &chunk) < 0 || !is_pow2(chunk) ||
			    chunk < TRK_MIN_CHUNK_SIZE || chunk > TRK_MAX_CHUNK_SIZE) {
				cli_msg("bad chunk size '%s': it must be a power of two from 4K to "
					"4M (e.g. 4K, 64K, 1M)",
					optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 't':
			if (cli_parse_size(optarg, &track) < 0 || track == 0) {
				cli_msg("bad track size '%s' (e.g. 1G, 4G)", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'L':
			if (strlen(optarg) > IDX_LABEL_MAX_CLI) {
				cli_msg("the label is longer than %d characters",
					IDX_LABEL_MAX_CLI);
				return CLI_EXIT_USAGE;
			}
			label = optarg;
			break;
		case 'p': {
			enum trk_placement pl;
			if (trk_placement_parse(optarg, &pl) < 0) {
				cli_msg("bad placement policy '%s': use mfs, lus, ff or rand",
					optarg);
				return CLI_EXIT_USAGE;
			}
			placement = optarg;
			break;
		}
		case 'r':
			if (strcmp(optarg, "auto") == 0) {
				reserve_set = false;
			} else if (cli_parse_size(optarg, &reserve) < 0 || reserve == UINT64_MAX) {
				cli_msg("bad reserve '%s' (e.g. 0, 512M, 4G, auto)", optarg);
				return CLI_EXIT_USAGE;
			} else {
				reserve_set = true;
			}
			break;
		case 'M':
			if (!optarg[0] || abs_path(optarg, mirror) < 0) {
				cli_msg("bad metadata mirror path '%s'", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'f':
			force = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_msg("unexpected argument '%s' (disks are given with --disk DIR)", argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if (ndisks == 0) {
		cli_msg("no disk given: use --disk DIR (once per disk)");
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (track && (track < chunk || track % chunk)) {
		cli_msg("the track size must be a multiple of the chunk size");
		return CLI_EXIT_USAGE;
	}
	if (!meta[0] && (size_t)snprintf(meta, sizeof(meta), "%s/meta", disks[0]) >= sizeof(meta)) {
		cli_msg("path too long: %s/meta", disks[0]);
		return CLI_EXIT_USAGE;
	}
	for (unsigned i = 0; i < ndisks; i++)
		disk_ptrs[i] = disks[i];

	struct vol_mkfs_opts o = {
		.meta_dir = meta,
		.disks = disk_ptrs,
		.ndisks = ndisks,
		.chunk_size = (uint32_t)chunk,
		.max_track_bytes = track,
		.label = label,
		.placement = placement,
		.reserve = reserve,
		.reserve_set = reserve_set,
		.force = force,
		.meta_mirror = mirror[0] ? mirror : NULL,
	};
	rc = vol_mkfs(&o, &uuid);
	if (rc < 0) {
		explain_failure(rc, meta, mirror, disks, ndisks);
		return 1;
	}
	print_summary(meta);
	return 0;
}
