/* `trackfs scrub VOLUME|MOUNTPOINT`: start (or go on with) the online scrub
 * of a mounted volume in the daemon that holds it, and follow it with a
 * progress bar (bytes, rate, ETA) on a terminal; Ctrl-C leaves it running
 * there. At the end the bad chunks are listed by path from the report. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/base/log.h"
#include "fs/vol/vol.h"
#include "fs/vol/volfile.h"
#include "tools/cli_common.h"

#define DEFAULT_RATE "64M/s"

static volatile sig_atomic_t interrupted;

static void on_int(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: trackfs scrub [--rate RATE] [--restart] [--no-wait] VOLUME\n"
		"       trackfs scrub --stop VOLUME\n"
		"       trackfs scrub --status VOLUME\n"
		"Read every chunk of a mounted trackfs volume through its daemon and check it\n"
		"against its checksum, while the volume stays in use (VOLUME: the metadata\n"
		"directory or the mount point). The scrub runs in the daemon at idle I/O\n"
		"priority and at most RATE (default " DEFAULT_RATE
		", 0: no limit); it goes on where it\n"
		"stopped after --stop, an unmount or a crash, unless --restart. This command\n"
		"follows it until it is done (Ctrl-C stops following, not the scrub); bad\n"
		"chunks are named by path here, in the daemon's log and in\n"
		"METADIR/" VOL_SCRUB_REPORT_NAME ". An unmounted volume is scrubbed by "
		"fsck.trackfs --scrub.\n"
		"\n"
		"Exit status: 0 done and clean (or, with --status/--stop/--no-wait, the request\n"
		"was taken), 1 bad chunks found or the scrub could not run, 2 bad usage.\n");
}

/* One request; "ok..." -> 0, "err N" -> -N. */
static int request(const char *meta, const char *req)
{
	char line[128] = "";
	int fd = vol_control_connect(meta, req);
	ssize_t n;

	if (fd < 0)
		return fd;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n <= 0)
		return -EPROTO;
	line[n] = '\0';
	if (!strncmp(line, "ok", 2))
		return 0;
	if (!strncmp(line, "err ", 4) && atoi(line + 4) > 0)
		return -atoi(line + 4);
	return -EPROTO;
}

static const char *state_word(int st)
{
	switch (st) {
	case VOL_SCRUB_RUNNING:
		return "running";
	case VOL_SCRUB_DONE:
		return "done";
	case VOL_SCRUB_STOPPED:
		return "stopped";
	default:
		return "never run";
	}
}

static void print_status(const struct vol_scrub_status *s)
{
	char b1[32], b2[32], b3[32], when[64] = "";

	if (s->finished_s) {
		time_t t = (time_t)s->finished_s;
		strftime(when, sizeof(when), ", finished %Y-%m-%d %H:%M", localtime(&t));
	}
	printf("Scrub %s: %s of about %s read, %" PRIu64 " bad chunk%s, %s%s%s%s\n",
	       state_word(s->state), cli_fmt_bytes(s->bytes_done, b1, sizeof(b1)),
	       cli_fmt_bytes(s->bytes_total, b2, sizeof(b2)), s->bad, s->bad == 1 ? "" : "s",
	       s->rate ? "at most " : "no rate limit",
	       s->rate ? cli_fmt_bytes(s->rate, b3, sizeof(b3)) : "", s->rate ? "/s" : "", when);
}

static void print_report(const char *meta)
{
	char path[PATH_MAX + 32], line[PATH_MAX + 256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", meta, VOL_SCRUB_REPORT_NAME);
	f = fopen(path, "re");
	if (!f)
		return;
	printf("Bad chunks (also in %s):\n", path);
	while (fgets(line, sizeof(line), f))
		printf("  %s", line);
	fclose(f);
}

int main(int argc, char **argv)
{
	const char *rate_arg = DEFAULT_RATE, *vol = NULL;
	bool restart = false, nowait = false, stop = false, status = false;
	struct vol_info *info;
	char meta[PATH_MAX], req[96];
	uint64_t rate = 0;
	int rc;

	cli_init(argv[0]);
	cli_std_args(argc, argv, usage);
	if (argc >= 2 && !strcmp(argv[1], "scrub")) { /* `trackfs-scrub scrub VOLUME` */
		argv++;
		argc--;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rate") && i + 1 < argc)
			rate_arg = argv[++i];
		else if (!strcmp(argv[i], "--restart"))
			restart = true;
		else if (!strcmp(argv[i], "--no-wait"))
			nowait = true;
		else if (!strcmp(argv[i], "--stop"))
			stop = true;
		else if (!strcmp(argv[i], "--status"))
			status = true;
		else if (argv[i][0] == '-' || vol) {
			cli_msg("unexpected argument '%s'", argv[i]);
			usage(stderr);
			return CLI_EXIT_USAGE;
		} else
			vol = argv[i];
	}
	if (!vol || (stop && status)) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(rate_arg, "0") != 0 && cli_parse_rate(rate_arg, &rate) < 0)
		return CLI_EXIT_USAGE;
	if (vol_meta_resolve(vol, meta) < 0)
		return CLI_EXIT_FAIL;
	tfs_log_set_level(TFS_LOG_WARN);

	if (stop) {
		rc = request(meta, "scrub-stop");
	} else if (status) {
		rc = 0;
	} else {
		snprintf(req, sizeof(req), "scrub-start %" PRIu64 " %d", rate, restart ? 1 : 0);
		rc = request(meta, req);
	}
	if (rc == -ECONNREFUSED || rc == -ENOENT) {
		cli_msg("no daemon holds %s: it is not mounted (scrub it unmounted with "
			"fsck.trackfs --scrub %s)",
			meta, meta);
		return CLI_EXIT_FAIL;
	}
	if (rc == -EPERM) {
		cli_msg("the daemon serving %s takes requests from root and the owner of %s only",
			meta, meta);
		return CLI_EXIT_FAIL;
	}
	if (rc == -ESRCH && stop) {
		cli_msg("no scrub of %s is running", meta);
		return CLI_EXIT_FAIL;
	}
	if (rc < 0) {
		cli_fail("the scrub of %s: %s", meta, tfs_strerror(rc));
		return CLI_EXIT_FAIL;
	}
	info = calloc(1, sizeof(*info));
	if (!info)
		return CLI_EXIT_FAIL;
	if (stop || status || nowait) {
		rc = vol_info_remote(meta, info);
		if (rc == 0)
			print_status(&info->scrub);
		free(info);
		return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	}

	/* Follow it: the state reads "running" until the thread is done. */
	struct cli_bar bar;
	signal(SIGINT, on_int);
	cli_bar_init(&bar);
	for (;;) {
		rc = vol_info_remote(meta, info);
		if (rc < 0)
			break;
		if (info->scrub.state != VOL_SCRUB_RUNNING)
			break;
		cli_bar_draw(&bar, info->scrub.bytes_done, info->scrub.bytes_total, false);
		if (interrupted)
			break;
		usleep(250 * 1000);
	}
	cli_bar_end(&bar);
	if (rc < 0) {
		cli_msg("lost the daemon of %s while following the scrub: %s (it goes on at the "
			"next mount)",
			meta, tfs_strerror(rc));
		free(info);
		return CLI_EXIT_FAIL;
	}
	if (interrupted) {
		print_status(&info->scrub);
		printf("The scrub goes on in the daemon: `trackfs scrub --status %s` shows it, "
		       "`trackfs scrub --stop %s` stops it.\n",
		       vol, vol);
		free(info);
		return CLI_EXIT_OK;
	}
	print_status(&info->scrub);
	rc = info->scrub.state == VOL_SCRUB_DONE && !info->scrub.bad ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	if (info->scrub.bad)
		print_report(meta);
	else if (info->scrub.state != VOL_SCRUB_DONE)
		cli_msg("the scrub of %s did not finish (%s): the daemon's log says why", meta,
			state_word(info->scrub.state));
	free(info);
	return rc;
}
