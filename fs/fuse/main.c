/* The trackfs daemon's main: command line and mount options, opening the
 * volume, mounting, starting the S3 sidecar if asked, going into the
 * background only once the mount stands (so that every error reaches the
 * terminal and the exit code), the multi-threaded loop, and the clean
 * shutdown that marks the volume clean.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "core/base/progress.h"
#include "fs/fuse/fs_fuse.h"
#include "fs/fuse/main_int.h"
#include "fs/s3/s3.h"

#ifndef TRACKFS_VERSION
#define TRACKFS_VERSION "unknown"
#endif

#define FS_DEFAULT_TIMEOUT 86400.0
#define FS_DEFAULT_IDLE_THREADS 10

/* Options of our own, filled by fuse_opt_parse before libfuse sees the rest. */
struct fs_opts {
	char *volume; /* first non-option argument */
	int nonopts;  /* non-option arguments seen */
	int show_help;
	int show_version;
	int debug;
	int foreground; /* -d implies it, as in libfuse */
	int has_fsname;
	int has_subtype;
	int no_auto_unmount;
	int ro; /* -o ro: the volume is opened read-only too (S3 included) */
	double timeout;
	unsigned snapshot_s; /* -o snapshot_interval=SECONDS (0: never, only at unmount) */
	int has_snapshot_s;
	unsigned scrub_every_s; /* -o scrub_every=SECONDS (0: only when asked) */
	struct fs_s3_opts s3;	/* -o s3=...: the S3 sidecar (sidecar.c) */
	char *metrics;		/* -o metrics=HOST:PORT (metrics_http.c), or NULL */
};

enum {
	KEY_HELP,
	KEY_VERSION,
	KEY_DASH_D,
	KEY_DEBUG,
	KEY_FSNAME,
	KEY_SUBTYPE,
	KEY_IGNORE,
	KEY_NO_AUTO_UNMOUNT,
	KEY_RO,
	KEY_RW,
};

static const struct fuse_opt fs_opt_spec[] = {
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("-d", KEY_DASH_D),
	FUSE_OPT_KEY("debug", KEY_DEBUG),
	FUSE_OPT_KEY("fsname=", KEY_FSNAME),
	FUSE_OPT_KEY("subtype=", KEY_SUBTYPE),
	FUSE_OPT_KEY("no_auto_unmount", KEY_NO_AUTO_UNMOUNT),
	FUSE_OPT_KEY("ro", KEY_RO),
	FUSE_OPT_KEY("rw", KEY_RW),
	{"timeout=%lf", offsetof(struct fs_opts, timeout), 0},
	{"snapshot_interval=%u", offsetof(struct fs_opts, snapshot_s), 0},
	{"snapshot_interval=", offsetof(struct fs_opts, has_snapshot_s), 1},
	{"scrub_every=%u", offsetof(struct fs_opts, scrub_every_s), 0},
	{"s3=%s", offsetof(struct fs_opts, s3.listen), 0},
	{"metrics=%s", offsetof(struct fs_opts, metrics), 0},
	{"s3_auth=%s", offsetof(struct fs_opts, s3.auth), 0},
	{"s3_region=%s", offsetof(struct fs_opts, s3.region), 0},
	{"s3_no_auth", offsetof(struct fs_opts, s3.no_auth), 1},
	/* What mount(8) and fstab pass that means nothing to a FUSE mount
	 * (mount.fuse3 drops some of them itself, not all). */
	FUSE_OPT_KEY("defaults", KEY_IGNORE),
	FUSE_OPT_KEY("auto", KEY_IGNORE),
	FUSE_OPT_KEY("noauto", KEY_IGNORE),
	FUSE_OPT_KEY("user", KEY_IGNORE),
	FUSE_OPT_KEY("nouser", KEY_IGNORE),
	FUSE_OPT_KEY("users", KEY_IGNORE),
	FUSE_OPT_KEY("owner", KEY_IGNORE),
	FUSE_OPT_KEY("group", KEY_IGNORE),
	FUSE_OPT_KEY("_netdev", KEY_IGNORE),
	FUSE_OPT_KEY("nofail", KEY_IGNORE),
	FUSE_OPT_KEY("comment=", KEY_IGNORE),
	FUSE_OPT_KEY("nobootwait", KEY_IGNORE),
	/* Access-time variants libfuse cannot pass on: the kernel's default
	 * (relatime) applies. */
	FUSE_OPT_KEY("relatime", KEY_IGNORE),
	FUSE_OPT_KEY("norelatime", KEY_IGNORE),
	FUSE_OPT_KEY("strictatime", KEY_IGNORE),
	FUSE_OPT_KEY("nostrictatime", KEY_IGNORE),
	FUSE_OPT_KEY("diratime", KEY_IGNORE),
	FUSE_OPT_KEY("nodiratime", KEY_IGNORE),
	FUSE_OPT_KEY("lazytime", KEY_IGNORE),
	FUSE_OPT_KEY("nolazytime", KEY_IGNORE),
	FUSE_OPT_END,
};

static int fs_opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct fs_opts *o = data;

	switch (key) {
	case KEY_HELP:
		o->show_help = 1;
		return 0;
	case KEY_VERSION:
		o->show_version = 1;
		return 0;
	case KEY_DASH_D:
		o->foreground = 1;
		o->debug = 1;
		return 0;
	case KEY_DEBUG:
		o->debug = 1;
		return 0;
	case KEY_FSNAME:
		o->has_fsname = 1;
		return 1;
	case KEY_SUBTYPE:
		o->has_subtype = 1;
		return 1;
	case KEY_IGNORE:
		return 0;
	case KEY_NO_AUTO_UNMOUNT:
		o->no_auto_unmount = 1;
		return 0;
	case KEY_RO:
	case KEY_RW:
		/* Kept for the kernel's mount flags; the last one wins. */
		o->ro = key == KEY_RO;
		return 1;
	case FUSE_OPT_KEY_OPT:
		/* systemd and util-linux options (x-systemd.*, x-gvfs-*). */
		if (strncmp(arg, "x-", 2) == 0)
			return 0;
		return 1;
	case FUSE_OPT_KEY_NONOPT:
		o->nonopts++;
		if (!o->volume) {
			o->volume = strdup(arg);
			if (!o->volume) {
				fprintf(stderr, "trackfs: out of memory\n");
				return -1;
			}
			return 0;
		}
		if (o->nonopts == 2)
			return 1; /* the mount point, for fuse_parse_cmdline */
		fprintf(stderr,
			"trackfs: unexpected argument '%s' (usage: trackfs [-f] [-o "
			"OPTIONS] VOLUME MOUNTPOINT)\n",
			arg);
		return -1;
	}
	return 1;
}

static void fs_usage(FILE *f)
{
	fprintf(f,
		"usage: trackfs [-f] [-d] [-o OPTIONS] VOLUME MOUNTPOINT\n"
		"       trackfs --help | --version\n"
		"\n"
		"Mount the trackfs volume whose metadata directory is VOLUME (as printed by\n"
		"mkfs.trackfs) on MOUNTPOINT. Unmount with fusermount3 -u MOUNTPOINT or umount.\n");
}

static void fs_help(void)
{
	fs_usage(stdout);
	printf("\n"
	       "options:\n"
	       "    -h, --help             print this help and exit\n"
	       "    -V, --version          print the version and exit\n"
	       "    -f                     stay in the foreground (log to stderr)\n"
	       "    -d, -o debug           trace every operation (-d implies -f)\n"
	       "    -s                     single-threaded\n"
	       "    -o allow_other         let all users access the mount (permissions are\n"
	       "                           checked by the kernel: default_permissions is on)\n"
	       "    -o ro                  mount read-only\n"
	       "    -o timeout=SECONDS     how long the kernel caches names and attributes\n"
	       "                           (default 86400: this daemon is the only writer)\n"
	       "    -o snapshot_interval=SECONDS\n"
	       "                           how often the index is snapshotted onto every data\n"
	       "                           disk while it changes (default 300; 0: only at\n"
	       "                           unmount and on `trackfs meta snapshot`)\n"
	       "    -o scrub_every=SECONDS  scrub the mounted volume by itself once the last\n"
	       "                           scrub finished that long ago (e.g. 2592000: 30\n"
	       "                           days; default: only on `trackfs scrub`)\n"
	       "    -o max_threads=N       at most N worker threads (default 10)\n"
	       "    -o max_idle_threads=N  at most N idle worker threads (default 10)\n"
	       "    -o fsname=NAME         source shown in /proc/mounts (default trackfs:VOLUME)\n"
	       "    -o no_auto_unmount     leave the mount point mounted (and dead) if the daemon\n"
	       "                           is killed; by default it is released\n"
	       "    -o metrics=HOST:PORT   serve Prometheus metrics at http://HOST:PORT/metrics\n"
	       "                           (e.g. 127.0.0.1:9100; no authentication: keep it on\n"
	       "                           loopback or a management network)\n"
	       "\n"
	       "S3 sidecar (the same volume over the S3 API, served by this daemon):\n"
	       "    -o s3=HOST:PORT        serve S3 on HOST:PORT (e.g. 127.0.0.1:9000); bucket =\n"
	       "                           top-level directory, key = path below it\n"
	       "    -o s3_auth=FILE        users allowed in: lines 'ACCESS_KEY SECRET_KEY rw|ro\n"
	       "                           BUCKET|*' and 'anonymous ro BUCKET' (keep it mode 600)\n"
	       "    -o s3_region=REGION    region clients sign for (default us-east-1)\n"
	       "    -o s3_no_auth          serve without authentication (tests only)\n"
	       "  GET /.trackfs/metrics on that port: Prometheus metrics, for requests signed\n"
	       "  with a key of the auth file and unsigned ones from loopback.\n"
	       "  With -o ro, S3 clients can read but not write (AccessDenied).\n"
	       "  Objects written over S3 show in the mount at once; files written in the\n"
	       "  mount are objects once closed (or fsync'ed). An unmounted volume is served\n"
	       "  by trackfs-s3 --listen HOST:PORT --auth FILE VOLUME. After editing the auth\n"
	       "  file, `trackfs s3 reload MOUNTPOINT` or SIGHUP makes the daemon read it\n"
	       "  again (SIGHUP does not unmount; SIGTERM and fusermount3 -u do).\n"
	       "\n"
	       "From /etc/fstab:  VOLUME MOUNTPOINT fuse.trackfs defaults,allow_other 0 0\n"
	       "By hand:          mount -t fuse.trackfs VOLUME MOUNTPOINT\n"
	       "\n"
	       "FUSE mount options:\n");
	fuse_lowlevel_help();
}

/* The S3 options go together: s3= names the listener, and either an auth file
 * or s3_no_auth must be given. The auth file's path is made absolute (the
 * daemon leaves the working directory). @return 0 or -1 (reported). */
static int fs_s3_opts_check(struct fs_s3_opts *s3)
{
	char path[PATH_MAX];

	if (!s3->listen) {
		if (s3->auth || s3->region || s3->no_auth) {
			fprintf(stderr, "trackfs: s3_auth, s3_region and s3_no_auth need "
					"-o s3=HOST:PORT (see trackfs --help)\n");
			return -1;
		}
		return 0;
	}
	if (!s3->auth && !s3->no_auth) {
		fprintf(stderr,
			"trackfs: -o s3=%s needs -o s3_auth=FILE (or s3_no_auth to "
			"serve without authentication)\n",
			s3->listen);
		return -1;
	}
	if (s3->auth && s3->no_auth) {
		fprintf(stderr, "trackfs: s3_auth and s3_no_auth exclude each other\n");
		return -1;
	}
	if (!s3->auth)
		return 0;
	if (!realpath(s3->auth, path)) {
		fprintf(stderr, "trackfs: S3 auth file %s: %s\n", s3->auth, strerror(errno));
		return -1;
	}
	free(s3->auth);
	s3->auth = strdup(path);
	if (!s3->auth) {
		fprintf(stderr, "trackfs: out of memory\n");
		return -1;
	}
	return 0;
}

/* Add "-o NAME=VALUE" with VALUE escaped for fuse_opt (commas, backslashes). */
static int fs_add_opt(struct fuse_args *args, const char *name, const char *value)
{
	char *opts = NULL;
	char *opt;
	int rc;

	if (asprintf(&opt, "%s%s", name, value) < 0)
		return -ENOMEM;
	rc = fuse_opt_add_opt_escaped(&opts, opt);
	free(opt);
	if (rc < 0)
		return -ENOMEM;
	if (fuse_opt_add_arg(args, "-o") < 0 || fuse_opt_add_arg(args, opts) < 0)
		rc = -ENOMEM;
	free(opts);
	return rc;
}

/* Run the session until unmount or a signal. @return 0 or -errno. */
static int fs_run_loop(struct fuse_session *se, const struct fuse_cmdline_opts *copts)
{
	struct fuse_loop_config *cfg;
	int ret;

	if (copts->singlethread)
		return fuse_session_loop(se) < 0 ? -EIO : 0;
	cfg = fuse_loop_cfg_create();
	if (!cfg)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, (unsigned)copts->clone_fd);
	fuse_loop_cfg_set_max_threads(cfg, copts->max_threads);
	fuse_loop_cfg_set_idle_threads(cfg, copts->max_idle_threads == UINT_MAX
						    ? FS_DEFAULT_IDLE_THREADS
						    : copts->max_idle_threads);
	ret = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	/* A positive value is the signal (SIGTERM, SIGINT; SIGHUP reloads) that ended
	 * the loop: a requested, clean shutdown. */
	return ret < 0 ? ret : 0;
}

/* Open, mount, serve, unmount, close. @p bg is the daemonizing handshake
 * (NULL in the foreground): the parent is told the outcome of the mount. */
/* Whether libfuse takes the options left in @p args (it says which it does
 * not), tried on a copy before anything is opened: a bad option is a usage
 * error, found before the volume is opened or the daemon forks. */
static bool fs_fuse_args_valid(const struct fuse_args *args)
{
	struct fuse_args copy = FUSE_ARGS_INIT(0, NULL);
	struct fuse_lowlevel_ops ops = {0};

	for (int i = 0; i < args->argc; i++)
		if (fuse_opt_add_arg(&copy, args->argv[i]) < 0) {
			fuse_opt_free_args(&copy);
			return true; /* out of memory: the real session will say */
		}
	struct fuse_session *se = fuse_session_new(&copy, &ops, sizeof(ops), NULL);
	fuse_opt_free_args(&copy);
	if (!se)
		return false;
	fuse_session_destroy(se);
	return true;
}

static int fs_serve(struct fs_opts *o, struct fuse_args *args,
		    const struct fuse_cmdline_opts *copts, struct fs_bg *bg)
{
	struct fs_daemon d = {.timeout = o->timeout, .debug = o->debug != 0};
	/* A read-only mount opens the volume read-only: the kernel refuses
	 * writes through the mount, the volume refuses them from S3 (EROFS:
	 * AccessDenied) and from everything else in this process. */
	struct vol_open_opts vopts = {.owner = copts->mountpoint,
				      .flags = o->ro ? VOL_RDONLY : VOL_DRAIN_RESUME,
				      .snapshot_s = !o->has_snapshot_s ? 0
						    : o->snapshot_s    ? o->snapshot_s
								       : VOL_SNAPSHOT_NEVER,
				      .scrub_every_s = o->scrub_every_s};
	struct tfs_progress recovery = {0}; /* drawn when stderr is a terminal */
	struct fuse_lowlevel_ops ops;
	struct s3_server *s3 = NULL;
	struct fs_metrics *metrics = NULL;
	struct fs_hup *hup = NULL;
	struct fuse_session *se;
	int rc, close_rc;

	vopts.progress = tfs_progress_cb;
	vopts.progress_arg = &recovery;
	rc = vol_open(o->volume, &vopts, &d.vol);
	if (recovery.label)
		tfs_progress_fini(&recovery);
	if (rc < 0) {
		fprintf(stderr, "trackfs: cannot open volume %s: %s%s\n", o->volume,
			tfs_strerror(rc),
			rc == -EBUSY ? " (it is in use: already mounted, or being checked)" : "");
		return rc;
	}
	if (vol_was_unclean(d.vol))
		tfs_warn("volume %s was not shut down cleanly; it has been recovered", o->volume);
	/* Hidden from the mount whether or not this daemon serves S3: the volume
	 * may be served over S3 by trackfs-s3 later. */
	rc = s3_reserve_names(d.vol);
	if (rc < 0) {
		fprintf(stderr, "trackfs: cannot reserve the S3 sidecar's names in %s: %s\n",
			o->volume, tfs_strerror(rc));
		goto out_close_vol;
	}

	fs_ops_fill(&ops);
	se = fuse_session_new(args, &ops, sizeof(ops), &d);
	if (!se) {
		fprintf(stderr, "trackfs: bad mount options (see trackfs --help)\n");
		rc = -EINVAL;
		goto out_close_vol;
	}
	if (fuse_set_signal_handlers(se) != 0) {
		fprintf(stderr, "trackfs: cannot install signal handlers\n");
		rc = -EIO;
		goto out_destroy_session;
	}
	if (fuse_session_mount(se, copts->mountpoint) != 0) {
		fprintf(stderr, "trackfs: cannot mount on %s (see the message above)\n",
			copts->mountpoint);
		rc = -EIO;
		goto out_remove_handlers;
	}
	d.se = se;
	vol_set_lost_cb(d.vol, fs_lost_write_cb, &d);
	rc = fs_keep_dev_last(se);
	if (rc < 0)
		tfs_debug("cannot duplicate /dev/fuse (%s): if killed, the mount may stay behind",
			  tfs_strerror(rc));
	if (fs_bdi_find(copts->mountpoint, d.bdi, sizeof(d.bdi)) < 0)
		tfs_debug("%s not found in /proc/self/mountinfo; readahead not tuned",
			  copts->mountpoint);
	/* Nothing of ours refers to the working directory any more, and a
	 * daemon must not keep a directory busy. */
	if (chdir("/") < 0)
		tfs_warn("chdir /: %s", tfs_strerror(-errno));
	/* The sidecar comes up once the mount stands (its changes notify the
	 * session) and before the parent is told, so that a port in use or a
	 * bad auth file is seen on the terminal and no mount stays behind. */
	if (o->s3.listen) {
		rc = fs_s3_start(&d, &o->s3, &s3);
		if (rc < 0) {
			fprintf(stderr, "trackfs: cannot serve S3 on %s: %s; not mounting %s\n",
				o->s3.listen, tfs_strerror(rc), copts->mountpoint);
			goto out_unmount;
		}
	}
	if (o->metrics) {
		rc = fs_metrics_start(&d, o->metrics, &metrics);
		if (rc < 0) {
			fprintf(stderr,
				"trackfs: cannot serve metrics on %s: %s; not mounting %s\n",
				o->metrics, tfs_strerror(rc), copts->mountpoint);
			fs_s3_stop(&d, s3);
			goto out_unmount;
		}
	}
	rc = fs_hup_start(s3, &hup);
	if (rc < 0)
		tfs_warn("cannot take SIGHUP for reloading (%s): it unmounts", tfs_strerror(rc));
	if (bg)
		fs_bg_ready(bg, vol_meta_dir(d.vol));
	/* Under systemd (Type=notify) the unit is started from here on: the
	 * mount answers and the sidecar listens. Outside it, a no-op. */
	sd_notifyf(0, "READY=1\nSTATUS=volume %s mounted on %s", o->volume, copts->mountpoint);
	tfs_info("volume %s mounted on %s", o->volume, copts->mountpoint);

	rc = fs_run_loop(se, copts);
	if (rc < 0)
		tfs_err("the FUSE loop of %s failed: %s; unmounting", copts->mountpoint,
			tfs_strerror(rc));
	sd_notify(0, "STOPPING=1");
	fs_hup_stop(hup);
	/* Before the unmount: the sidecar's notifications write to the
	 * session's device, which the unmount closes. */
	fs_s3_stop(&d, s3);
	fs_metrics_stop(metrics);
out_unmount:
	/* Its notifications write to the session's device, as the sidecar's:
	 * none starts from here on. One in progress may be waiting for the
	 * kernel, and the kernel (dropping pages of a file with writeback
	 * cache) for the reply to a write that the loop, which ended, will
	 * never give: it is waited for only once the unmount has ended that. */
	if (!vol_lost_cb_stop(d.vol, 1000))
		tfs_warn("unmounting %s while the kernel has not answered a request to drop "
			 "a file's cache",
			 copts->mountpoint);
	fuse_session_unmount(se);
	vol_set_lost_cb(d.vol, NULL, NULL);
out_remove_handlers:
	fuse_remove_signal_handlers(se);
out_destroy_session:
	/* Calls destroy (a flush) if the kernel had initialised the session. */
	fuse_session_destroy(se);
out_close_vol:
	close_rc = vol_close(d.vol);
	if (close_rc < 0) {
		tfs_err("closing volume %s failed: %s; the next mount will recover it", o->volume,
			tfs_strerror(close_rc));
		if (rc == 0)
			rc = close_rc;
	} else if (rc == 0) {
		tfs_info("volume %s unmounted from %s%s", o->volume, copts->mountpoint,
			 o->ro ? " (it was read-only)" : " and marked clean");
	}
	return rc;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fs_opts o = {.timeout = FS_DEFAULT_TIMEOUT};
	struct fuse_cmdline_opts copts = {0};
	char volume[PATH_MAX];
	struct fs_bg bg;
	int rc, ret = 1;

	if (argc >= 2 && fs_subcommand(argc, argv) < 0)
		return 1; /* a subcommand was found but could not be run */

	ret = 2; /* bad usage, until the arguments are understood */
	if (fuse_opt_parse(&args, &o, fs_opt_spec, fs_opt_proc) != 0)
		goto out_free_args;
	if (o.show_help) {
		fs_help();
		ret = 0;
		goto out_free_args;
	}
	if (o.show_version) {
		printf("trackfs %s (libfuse %s)\n", TRACKFS_VERSION, fuse_pkgversion());
		ret = 0;
		goto out_free_args;
	}
	if (fuse_parse_cmdline(&args, &copts) != 0)
		goto out_free_args;
	if (!o.volume || !copts.mountpoint) {
		fs_usage(stderr);
		goto out_free_args;
	}
	if (o.timeout < 0) {
		fprintf(stderr, "trackfs: timeout must not be negative\n");
		goto out_free_args;
	}
	ret = 1; /* from here on, what fails is the mount, not its arguments */
	if (fs_s3_opts_check(&o.s3) < 0)
		goto out_free_args;
	if (o.metrics && fs_metrics_check(o.metrics) < 0)
		goto out_free_args;
	if (!realpath(o.volume, volume)) {
		fprintf(stderr, "trackfs: volume %s: %s\n", o.volume, strerror(errno));
		goto out_free_args;
	}
	free(o.volume);
	o.volume = strdup(volume);
	if (!o.volume)
		goto out_free_args;

	/* Kernel-side permission checks; how the mount shows in /proc/mounts;
	 * and a mount point that is released even if the daemon is killed
	 * (fusermount3 watches the session and unmounts it). */
	if (fs_add_opt(&args, "default_permissions", "") < 0 ||
	    (!o.no_auto_unmount && fs_add_opt(&args, "auto_unmount", "") < 0) ||
	    (!o.has_fsname && fs_add_opt(&args, "fsname=trackfs:", o.volume) < 0) ||
	    (!o.has_subtype && fs_add_opt(&args, "subtype=", "trackfs") < 0)) {
		fprintf(stderr, "trackfs: out of memory\n");
		goto out_free_args;
	}

	if (!fs_fuse_args_valid(&args)) {
		fprintf(stderr, "trackfs: bad mount options (see trackfs --help)\n");
		ret = 2;
		goto out_free_args;
	}
	if (o.debug)
		tfs_log_set_level(TFS_LOG_DEBUG);
	tfs_log_set_timestamps(true);
	if (copts.foreground || o.foreground) {
		rc = fs_serve(&o, &args, &copts, NULL);
		ret = rc < 0 ? 1 : 0;
		goto out_free_args;
	}

	/* The volume's threads and lock must belong to the process that
	 * serves, so the fork comes first; the parent waits for the mount's
	 * outcome and exits with it, while errors still reach the terminal. */
	rc = fs_bg_start(&bg);
	if (rc < 0) {
		fprintf(stderr, "trackfs: cannot go into the background: %s\n", tfs_strerror(rc));
		goto out_free_args;
	}
	if (rc > 0) {
		ret = fs_bg_wait(&bg);
		goto out_free_args;
	}
	rc = fs_serve(&o, &args, &copts, &bg);
	fs_bg_fail(&bg); /* no-op once ready was sent */
	ret = rc < 0 ? 1 : 0;

out_free_args:
	free(copts.mountpoint);
	free(o.volume);
	free(o.s3.listen);
	free(o.metrics);
	free(o.s3.auth);
	free(o.s3.region);
	fuse_opt_free_args(&args);
	return ret;
}
