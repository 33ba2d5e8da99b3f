/* trackfs-control (`trackfs control COMMAND VOLUME ...`): requests to the
 * process that holds a volume open (the mount daemon or trackfs-s3) over its
 * control socket (the protocol: fs/vol/control.c): the protocol version it
 * speaks, reloading its S3 credentials, its log level, and any request as
 * the protocol spells it. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/base/log.h"
#include "fs/vol/vol.h"
#include "fs/vol/volfile.h"
#include "tools/cli_common.h"

enum { EXIT_DONE = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: trackfs control version VOLUME\n"
		"       trackfs control s3-reload VOLUME\n"
		"       trackfs control log-level VOLUME [error|warning|info|debug]\n"
		"       trackfs control send VOLUME REQUEST...\n"
		"Talks to the process that holds the trackfs volume VOLUME open (its mount\n"
		"daemon or trackfs-s3) over its control socket. VOLUME is the metadata\n"
		"directory, the disk directory holding meta/, or the mount point. Only root,\n"
		"the daemon's user and the volume's owner are served.\n"
		"\n"
		"  version    the control protocol version the daemon speaks and its commands\n"
		"  s3-reload  read the S3 auth file again (also `trackfs s3 reload VOLUME`);\n"
		"             a file that does not load leaves the old credentials in force\n"
		"  log-level  set the daemon's log level from now on, or show it\n"
		"  send       send REQUEST (the words joined by spaces) as it is and print\n"
		"             the reply (the requests: fs/vol/control.c, README)\n"
		"\n"
		"Exit status: 0 done, 1 failed or refused (see the message), 2 bad usage.\n");
}

static int ask_failed(const char *meta, int rc)
{
	if (rc == -ECONNREFUSED || rc == -ENOENT)
		cli_msg("no process holds the volume %s open (not mounted, no trackfs-s3): "
			"nothing to ask",
			meta);
	else if (rc == -EPERM)
		cli_msg("the daemon of %s refused: only root, the daemon's user and the "
			"volume's owner may use its control socket",
			meta);
	else
		cli_fail("asking the daemon of %s failed: %s", meta, tfs_strerror(rc));
	return EXIT_FAILED;
}

/* Send @p req, print the reply's text (to stdout if "ok", else stderr). */
static int request(const char *meta, const char *req, const char *what)
{
	char rep[PATH_MAX + 1024];
	const char *msg;
	int rc = vol_control_request(meta, req, rep, sizeof(rep));

	if (rc < 0)
		return ask_failed(meta, rc);
	rc = vol_control_reply_errno(rep, &msg);
	if (rc) {
		cli_msg("%s: %s", what, *msg ? msg : tfs_strerror(-rc));
		return EXIT_FAILED;
	}
	printf("%s\n", *msg ? msg : "ok");
	return EXIT_DONE;
}

static int cmd_version(const char *meta)
{
	char cmds[1024];
	int version = -1, rc = vol_control_hello(meta, &version, cmds, sizeof(cmds));

	if (rc < 0 && rc != -EPROTONOSUPPORT)
		return ask_failed(meta, rc);
	printf("daemon: control protocol %d\n", version);
	if (version == 0)
		printf("the daemon is from before versioning: restart the mount after "
		       "upgrading\n");
	else
		printf("commands: %s\n", cmds);
	/* A version other than the tool's: vol_control_hello said what to do. */
	return rc == 0 && version == VOL_CONTROL_PROTO ? EXIT_DONE : EXIT_FAILED;
}

static int cmd_send(const char *meta, int argc, char **argv)
{
	char req[PATH_MAX + 64];
	size_t o = 0;

	for (int i = 0; i < argc; i++) {
		int n = snprintf(req + o, sizeof(req) - o, "%s%s", i ? " " : "", argv[i]);
		if (n < 0 || (size_t)n >= sizeof(req) - o || strchr(argv[i], '\n')) {
			cli_msg("the request is too long or holds a newline");
			return EXIT_USAGE;
		}
		o += (size_t)n;
	}
	int fd = vol_control_connect(meta, req);
	if (fd < 0)
		return ask_failed(meta, fd);
	FILE *in = fdopen(fd, "r");
	char line[PATH_MAX * 2 + 128];
	int rc = EXIT_DONE;
	if (!in) {
		close(fd);
		return ask_failed(meta, -errno);
	}
	while (fgets(line, sizeof(line), in)) {
		fputs(line, stdout);
		if (!strncmp(line, "err ", 4))
			rc = EXIT_FAILED;
	}
	fclose(in);
	return rc;
}

int main(int argc, char **argv)
{
	char meta[PATH_MAX];
	const char *cmd;

	cli_init(argv[0]);
	cli_std_args(argc, argv, usage);
	/* Both "trackfs-control version ..." and "trackfs-control control version ...". */
	if (argc >= 2 && !strcmp(argv[1], "control")) {
		argv++;
		argc--;
	}
	if (argc < 3) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (strcmp(cmd, "version") && strcmp(cmd, "s3-reload") && strcmp(cmd, "log-level") &&
	    strcmp(cmd, "send")) {
		cli_msg("unknown command '%s': use version, s3-reload, log-level or send", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (vol_meta_resolve(argv[2], meta) < 0)
		return EXIT_FAILED; /* it said what is wrong with it */
	if (!strcmp(cmd, "version")) {
		if (argc != 3) {
			usage(stderr);
			return EXIT_USAGE;
		}
		return cmd_version(meta);
	}
	if (!strcmp(cmd, "s3-reload")) {
		if (argc != 3) {
			usage(stderr);
			return EXIT_USAGE;
		}
		int rc = request(meta, "s3-reload", "reloading the S3 credentials failed");
		if (rc == EXIT_FAILED)
			cli_msg("the credentials loaded before stay in force");
		return rc;
	}
	if (!strcmp(cmd, "log-level")) {
		char req[64];
		enum tfs_log_level l;
		if (argc > 4 || (argc == 4 && tfs_log_level_parse(argv[3], &l) < 0)) {
			if (argc == 4)
				cli_msg("unknown log level '%s': use error, warning, info or debug",
					argv[3]);
			usage(stderr);
			return EXIT_USAGE;
		}
		snprintf(req, sizeof(req), "log-level%s%s", argc == 4 ? " " : "",
			 argc == 4 ? tfs_log_level_name(l) : "");
		return request(meta, req, "setting the log level failed");
	}
	if (argc < 4) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return cmd_send(meta, argc - 3, argv + 3);
}
