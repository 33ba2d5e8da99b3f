/* trackfs-meta (`trackfs meta COMMAND`): the index's snapshots, its mirror
 * and restoring a metadata directory. */
#include <stdio.h>
#include <string.h>

#include "core/base/log.h"
#include "fs/vol/vol.h"
#include "tools/cli_common.h"
#include "tools/meta.h"
#include "tools/meta_cmd.h"

#ifndef TRACKFS_VERSION
#define TRACKFS_VERSION "unknown"
#endif

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: trackfs meta snapshot VOLUME\n"
		"       trackfs meta list DISK...\n"
		"       trackfs meta mirror VOLUME DIR\n"
		"       trackfs meta restore [--disk PATH]... [--from SNAPSHOT|MIRROR] [OPTIONS] "
		"METADIR\n"
		"The index of a trackfs volume: its snapshots on the data disks, its mirror,\n"
		"and restoring a lost or damaged metadata directory from either. VOLUME is\n"
		"the metadata directory, or the disk directory holding meta/; a mounted\n"
		"volume is served by its daemon.\n"
		"\n"
		"  snapshot  take a snapshot of the index now and write it to every disk\n"
		"            (DISK/meta-snapshots/, the newest %d kept); the daemon also\n"
		"            takes one every snapshot_interval seconds and at unmount\n"
		"  list      the snapshots on the given disk directories, newest first,\n"
		"            each read whole and checked\n"
		"  mirror    keep a second copy of the metadata directory in DIR (ideally\n"
		"            on another device), updated with every commit; run it again to\n"
		"            resync a mirror that fell behind or failed, or to move it\n"
		"  restore   rebuild a metadata directory from a snapshot or the mirror\n"
		"\n"
		"`trackfs meta COMMAND --help` tells more about each.\n"
		"Exit status: 0 done, 1 done in part (see the message), 8 failed,\n"
		"2 bad usage.\n",
		VOL_SNAPSHOT_KEEP);
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	void (*usage)(FILE *out);
} cmds[] = {
	{"snapshot", meta_snapshot_cli, meta_snapshot_usage},
	{"list", meta_list_cli, meta_list_usage},
	{"mirror", meta_mirror_cli, meta_mirror_usage},
};

static bool is_help(const char *a)
{
	return !strcmp(a, "-h") || !strcmp(a, "--help");
}

static bool is_version(const char *a)
{
	return !strcmp(a, "-V") || !strcmp(a, "--version");
}

int main(int argc, char **argv)
{
	cli_init(argv[0]);
	/* Accept both "trackfs-meta snapshot ..." and "trackfs-meta meta snapshot ...". */
	if (argc >= 2 && !strcmp(argv[1], "meta")) {
		argv++;
		argc--;
	}
	if (argc < 2) {
		usage(stderr);
		return META_EXIT_USAGE;
	}
	if (is_help(argv[1])) {
		usage(stdout);
		return 0;
	}
	if (is_version(argv[1])) {
		printf("trackfs meta %s\n", TRACKFS_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "restore")) {
		/* Its options are its own (restore.c, with --help); the version is
		 * every subcommand's. */
		for (int a = 2; a < argc && strcmp(argv[a], "--") != 0; a++)
			if (!strcmp(argv[a], "--version")) {
				printf("trackfs meta restore %s\n", TRACKFS_VERSION);
				return 0;
			}
		int rc = meta_restore_cli(argc - 1, argv + 1, "trackfs meta restore");
		/* fsck.trackfs --restore-meta keeps fsck(8)'s 16 for bad usage. */
		return rc == 16 ? META_EXIT_USAGE : rc;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name) != 0)
			continue;
		for (int a = 2; a < argc && strcmp(argv[a], "--") != 0; a++) {
			if (is_help(argv[a])) {
				cmds[i].usage(stdout);
				return 0;
			}
			if (is_version(argv[a])) {
				printf("trackfs meta %s %s\n", cmds[i].name, TRACKFS_VERSION);
				return 0;
			}
		}
		/* The tool says what was done; the engine's notes would say it twice. */
		tfs_log_set_level(TFS_LOG_WARN);
		int rc = cmds[i].run(argc - 2, argv + 2);
		if (rc == META_EXIT_USAGE)
			cmds[i].usage(stderr);
		return rc;
	}
	cli_msg("unknown command '%s': use snapshot, list, mirror or restore", argv[1]);
	usage(stderr);
	return META_EXIT_USAGE;
}
