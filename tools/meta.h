/* `trackfs meta` (tools/meta_main.c): snapshots of the index, the metadata
 * mirror, and restoring a lost or damaged metadata directory from either
 * (tools/restore.c, also fsck.trackfs --restore-meta). */
#ifndef CLI_META_H
#define CLI_META_H

/**
 * `restore [--disk PATH]... [--from SNAPSHOT|MIRROR] [--mirror DIR] [--yes]
 * METADIR`: rebuild METADIR from the newest valid snapshot on the disks (or
 * the mirror), then reconcile it with the tracks. @p argv[0] is the first
 * argument after the command word; @p prog names the command in messages.
 * @return an fsck(8) exit code: 0 everything restored, 1 restored with files
 * moved to lost+found, 8 could not restore, 16 usage.
 */
int meta_restore_cli(int argc, char **argv, const char *prog);

#endif
