/* Helpers of the daemon's main(): going into the background with a
 * handshake (daemon.c), kernel tuning of the mount, the S3 sidecar started in
 * the daemon (sidecar.c), and `trackfs SUBCOMMAND` dispatch to the
 * trackfs-SUBCOMMAND tools (subcmd.c).
 */
#ifndef FS_FUSE_MAIN_INT_H
#define FS_FUSE_MAIN_INT_H

#include <stdbool.h>

struct fs_daemon;
struct s3_server;

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
/** Where a daemon logs in its metadata directory when no syslog listens. */
#define FS_LOG_FILE "trackfs.log"
/** Parent: wait for the daemon's outcome. @return the exit code for the parent
 * (0 mounted, 1 failed or died). */
int fs_bg_wait(struct fs_bg *bg);
/** Daemon: the mount stands. Points stdio at /dev/null, logs to syslog from
 * now on (or, with no syslog listening on /dev/log, appends timestamped lines
 * to @p meta_dir/trackfs.log, and says so on the terminal first) and lets
 * the parent exit 0. */
void fs_bg_ready(struct fs_bg *bg, const char *meta_dir);
/** Daemon: report failure (the parent exits 1); a no-op after fs_bg_ready(). */
void fs_bg_fail(struct fs_bg *bg);

/** The S3 sidecar's mount options (-o s3=...,s3_auth=...). */
struct fs_s3_opts {
	char *listen; /* s3=HOST:PORT; NULL: no sidecar */
	char *auth;   /* s3_auth=FILE, made absolute by main() */
	char *region; /* s3_region=R, or NULL for the sidecar's default */
	int no_auth;  /* s3_no_auth: serve without authentication */
};

/**
 * Start the S3 sidecar on the daemon's open volume @p d->vol, with a change
 * hook that drops the kernel's cached entries, attributes and pages of what
 * S3 changed. Call once the session is mounted (d->se set) and before the
 * loop runs; the sidecar's threads do not take SIGINT/SIGTERM/SIGHUP.
 * @return 0, or the errors of s3_server_start() (-EADDRINUSE, -EACCES,
 * -EINVAL for a bad address or auth file, -ENOENT, -ENOMEM), logged there.
 */
int fs_s3_start(struct fs_daemon *d, const struct fs_s3_opts *o, struct s3_server **out);

/** Stop the sidecar @p s (NULL: nothing) once the FUSE loop has ended and
 * before the session is unmounted: notifications stop first. */
void fs_s3_stop(struct fs_daemon *d, struct s3_server *s);

/* ---- the metrics listener (metrics_http.c) ------------------------------ */

struct fs_metrics;
/** Check that @p listen (-o metrics=HOST:PORT) names an address to listen
 * on. @return 0, or -1 with the reason on stderr, naming it. */
int fs_metrics_check(const char *listen);
/** Listen on @p listen and serve GET /metrics on a thread of its own.
 * @return 0, -EADDRINUSE, -EACCES, -EINVAL, -ENOENT, -ENOMEM (logged). */
int fs_metrics_start(struct fs_daemon *d, const char *listen, struct fs_metrics **out);
/** Stop the listener @p m (NULL: nothing). */
void fs_metrics_stop(struct fs_metrics *m);

/**
 * `trackfs status VOLUME` and the like: if argv[1] names a subcommand for
 * which a trackfs-<name> program exists (next to this binary, in the build
 * tree's tools/, or on PATH), exec it with the remaining arguments.
 * @return 0 if argv[1] is not a subcommand; -1 if exec failed (reported).
 * Does not return on success.
 */
int fs_subcommand(int argc, char *argv[]);

struct fs_hup;
/**
 * Make SIGHUP reload @p s3's auth file (s3_server_sighup; NULL @p s3: log
 * that there is nothing to reload) instead of ending the daemon, from a
 * thread of its own.
 * Call after libfuse installed its handlers. @return 0 or -errno.
 */
int fs_hup_start(struct s3_server *s3, struct fs_hup **out);
/** Ignore SIGHUP from now on and end the thread (NULL: no-op). */
void fs_hup_stop(struct fs_hup *h);

#endif
