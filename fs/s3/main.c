/* trackfs-s3: serve an unmounted trackfs volume over S3, for hosts without
 * /dev/fuse. A mounted volume serves S3 from its FUSE daemon instead
 * (trackfs -o s3=ADDR,s3_auth=FILE); the volume lock tells which applies. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "core/base/progress.h"
#include "fs/s3/s3.h"
#include "fs/vol/vol.h"
#include "fs/vol/volfile.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: trackfs-s3 [--listen HOST:PORT] (--auth FILE | --no-auth) [--region R]\n"
		"                  [--vhost-domain D] [--port-file FILE] [--header-timeout S]\n"
		"                  [--idle-timeout S] [--threads N] [--no-sync] [--inline-writes]\n"
		"                  [--debug] VOLUME\n"
		"Serves the trackfs volume VOLUME (its metadata directory) over the S3 API.\n"
		"  --listen       address to listen on (default 127.0.0.1:9000; port 0 = any)\n"
		"  --auth         auth file: lines 'ACCESS_KEY SECRET_KEY rw|ro BUCKET|*' and\n"
		"                 'anonymous ro BUCKET'\n"
		"  --no-auth      serve without authentication (tests only)\n"
		"  --region       region clients sign for (default us-east-1)\n"
		"  --vhost-domain domain for virtual-hosted-style buckets (default localhost)\n"
		"  --port-file    write the bound port to FILE once listening\n"
		"  --header-timeout  seconds a request may take to send its headers (30)\n"
		"  --idle-timeout    seconds a connection may stay silent (60)\n"
		"  --threads      event-loop threads (default 4)\n"
		"  --no-sync      answer writes before they are durable (faster small PUTs)\n"
		"  --inline-writes  commit and fsync writes on the event loop, not on the\n"
		"                 thread pool (benchmarks: how it was)\n"
		"GET /.trackfs/metrics serves Prometheus metrics to requests signed with a key\n"
		"of the auth file and to unsigned ones from loopback (README \"Metrics\").\n"
		"SIGHUP reloads the auth file (a file that does not load changes nothing).\n"
		"\n"
		"usage: trackfs-s3 reload VOLUME|MOUNTPOINT   (also `trackfs s3 reload ...`)\n"
		"Makes the process serving S3 for VOLUME (trackfs-s3, or the mount daemon\n"
		"started with -o s3=...) read its auth file again; existing connections stay.\n"
		"Exit status: 0 reloaded, 1 not (the old credentials stay), 2 bad usage.\n");
}

/* `trackfs s3 reload VOLUME`: the control request "s3-reload". */
static int reload_cli(int argc, char **argv)
{
	char meta[PATH_MAX], rep[PATH_MAX + 512];
	const char *msg;
	int rc;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--version")) {
			printf("trackfs-s3 %s\n", TRACKFS_VERSION);
			return 0;
		}
	}
	if (argc != 3 || argv[2][0] == '-') {
		usage(stderr);
		return 2;
	}
	tfs_log_set_ident("trackfs s3 reload");
	if (vol_meta_resolve(argv[2], meta) < 0)
		return 1; /* it said what is wrong with the argument */
	rc = vol_control_request(meta, "s3-reload", rep, sizeof(rep));
	if (rc == -ECONNREFUSED || rc == -ENOENT) {
		fprintf(stderr,
			"trackfs s3 reload: no process holds the volume %s open, so nothing "
			"serves S3 for it: start trackfs-s3 or mount it with -o s3=...\n",
			meta);
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "trackfs s3 reload: asking the daemon of %s failed: %s\n", meta,
			rc == -EPERM ? "only root, the daemon's user and the volume's owner may"
				     : tfs_strerror(rc));
		return 1;
	}
	rc = vol_control_reply_errno(rep, &msg);
	if (rc) {
		fprintf(stderr,
			"trackfs s3 reload: %s; the credentials loaded before stay in force\n",
			*msg ? msg : tfs_strerror(-rc));
		return 1;
	}
	printf("%s\n", *msg ? msg : "reloaded");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"auth", required_argument, NULL, 'a'},
		{"no-auth", no_argument, NULL, 'n'},
		{"region", required_argument, NULL, 'r'},
		{"vhost-domain", required_argument, NULL, 'd'},
		{"port-file", required_argument, NULL, 'p'},
		{"header-timeout", required_argument, NULL, 'H'},
		{"idle-timeout", required_argument, NULL, 'I'},
		{"threads", required_argument, NULL, 'T'},
		{"no-sync", no_argument, NULL, 'S'},
		{"inline-writes", no_argument, NULL, 'W'},
		{"debug", no_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	struct s3_config cfg = {0};
	struct vol_open_opts vo = {0};
	const char *port_file = NULL;
	struct s3_server *srv;
	struct vol *v;
	sigset_t set;
	int sig, rc, ch;

	if (argc >= 2 && !strcmp(argv[1], "reload"))
		return reload_cli(argc, argv);
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			cfg.listen = optarg;
			break;
		case 'a':
			cfg.auth_file = optarg;
			break;
		case 'n':
			cfg.no_auth = true;
			break;
		case 'r':
			cfg.region = optarg;
			break;
		case 'd':
			cfg.vhost_domain = optarg;
			break;
		case 'p':
			port_file = optarg;
			break;
		case 'H':
			cfg.header_timeout_s = (unsigned)atoi(optarg);
			break;
		case 'I':
			cfg.idle_timeout_s = cfg.body_timeout_s = (unsigned)atoi(optarg);
			break;
		case 'S':
			cfg.no_sync = true;
			break;
		case 'W':
			cfg.inline_writes = true;
			break;
		case 'T':
			cfg.threads = (unsigned)atoi(optarg);
			break;
		case 'D':
			tfs_log_set_level(TFS_LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("trackfs-s3 %s\n", TRACKFS_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || (!cfg.auth_file && !cfg.no_auth)) {
		usage(stderr);
		return 2;
	}

	tfs_log_set_timestamps(true); /* a daemon: its lines are read later */
	vo.owner = "trackfs-s3";
	vo.flags |= VOL_DRAIN_RESUME;
	struct tfs_progress recovery = {0}; /* drawn when stderr is a terminal */
	vo.progress = tfs_progress_cb;
	vo.progress_arg = &recovery;
	rc = vol_open(argv[optind], &vo, &v);
	if (recovery.label)
		tfs_progress_fini(&recovery);
	if (rc == -EBUSY) {
		fprintf(stderr,
			"trackfs-s3: the volume %s is in use by another process (see the message "
			"above for its pid).\nIf it is mounted, serve S3 from the mounted daemon "
			"instead: trackfs -o s3=%s,s3_auth=%s VOLUME MOUNTPOINT\n",
			argv[optind], cfg.listen ? cfg.listen : "127.0.0.1:9000",
			cfg.auth_file ? cfg.auth_file : "FILE");
		return 1;
	}
	if (rc) {
		if (!tfs_log_errors()) /* else vol_open said why, with more detail */
			fprintf(stderr, "trackfs-s3: cannot open the volume %s: %s\n", argv[optind],
				tfs_strerror(rc));
		return 1;
	}
	rc = s3_reserve_names(v);
	if (rc < 0) {
		fprintf(stderr, "trackfs-s3: cannot reserve the sidecar's names in %s: %s\n",
			argv[optind], tfs_strerror(rc));
		vol_close(v);
		return 1;
	}

	/* Signals are taken synchronously below; every thread inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	rc = s3_server_start(v, &cfg, &srv);
	if (rc) {
		fprintf(stderr, "trackfs-s3: cannot start the S3 server: %s\n", tfs_strerror(rc));
		vol_close(v);
		return 1;
	}
	if (port_file) {
		FILE *f = fopen(port_file, "w");
		if (!f || fprintf(f, "%d\n", s3_server_port(srv)) < 0 || fclose(f)) {
			fprintf(stderr, "trackfs-s3: cannot write %s\n", port_file);
			s3_server_stop(srv);
			vol_close(v);
			return 1;
		}
	}
	/* SIGHUP: the auth file again (swapped under the server's lock; requests
	 * in flight keep the table they started with). */
	while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
		s3_server_sighup(srv);
	tfs_info("%s received, stopping", strsignal(sig));
	s3_server_stop(srv);
	rc = vol_close(v);
	if (rc) {
		fprintf(stderr, "trackfs-s3: closing the volume failed: %s\n", tfs_strerror(rc));
		return 1;
	}
	return 0;
}
