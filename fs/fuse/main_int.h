/* Helpers of the daemon's main(): going into the background with a
 * handshake (daemon.c), kernel tuning of the mount, and `trackfs SUBCOMMAND`
 * dispatch to the trackfs-SUBCOMMAND tools (subcmd.c).
 */
#ifndef FS_FUSE_MAIN_INT_H
#define FS_FUSE_MAIN_INT_H

#include <stdbool.h>

/** The handshake between the process started from the terminal and the
 * daemon it forks. */
struct fs_bg {
	int fd;	   /* the pipe's read end (parent) or write end (daemon) */
	bool done; /* the daemon has reported its outcome */
};

/**
 * Fork. The parent gets 1 and must call fs_bg_wait(); the child (the
 * daemon-to-be, now a session leader) gets 0 and must report with
 * fs_bg_ready() or fs_bg_fail(). Until then the daemon's stdio is still the
 * terminal, so its errors are seen. @return 1, 0 or -errno.
 */
int fs_bg_start(struct fs_bg *bg);
/** Parent: wait for the daemon's outcome. @return the exit code for the parent
 * (0 mounted, 1 failed or died). */
int fs_bg_wait(struct fs_bg *bg);
/** Daemon: the mount stands. Points stdio at /dev/null, logs to syslog from
 * now on and lets the parent exit 0. */
void fs_bg_ready(struct fs_bg *bg);
/** Daemon: report failure (the parent exits 1); a no-op after fs_bg_ready(). */
void fs_bg_fail(struct fs_bg *bg);

/**
 * `trackfs status VOLUME` and the like: if argv[1] names a subcommand for
 * which a trackfs-<name> program exists (next to this binary, in the build
 * tree's tools/, or on PATH), exec it with the remaining arguments.
 * @return 0 if argv[1] is not a subcommand; -1 if exec failed (reported).
 * Does not return on success.
 */
int fs_subcommand(int argc, char *argv[]);

#endif
