/* The subcommands of trackfs-meta besides restore (tools/meta.h): each takes
 * the arguments after its name (--help and --version are handled by
 * meta_main.c) and returns the exit status; META_EXIT_USAGE has the caller
 * print its usage. */
#ifndef TOOLS_META_CMD_H
#define TOOLS_META_CMD_H

#include <stdio.h>

enum {
	META_EXIT_OK = 0,
	META_EXIT_PARTLY = 1, /* done, but not everywhere (a disk lacks the snapshot) */
	META_EXIT_FAILED = 8, /* nothing done: the message says why */
	META_EXIT_USAGE = 2,  /* as every tool's but fsck.trackfs */
};

/** `trackfs meta snapshot VOLUME` (tools/meta_snapshot.c). */
int meta_snapshot_cli(int argc, char **argv);
void meta_snapshot_usage(FILE *out);

/** `trackfs meta list DISK...` (tools/meta_snapshot.c). */
int meta_list_cli(int argc, char **argv);
void meta_list_usage(FILE *out);

/** `trackfs meta mirror VOLUME DIR` (tools/meta_mirror.c). */
int meta_mirror_cli(int argc, char **argv);
void meta_mirror_usage(FILE *out);

#endif
