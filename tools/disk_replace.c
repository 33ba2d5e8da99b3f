/* `trackfs disk replace VOLUME OLD NEW`: NEW (an empty directory) becomes a
 * disk and everything that still reads on OLD (failing, or missing: then
 * nothing reads) is copied onto it by a drain of OLD onto NEW alone. What
 * cannot be read stays on OLD and is listed by path and offset, from the
 * list the volume writes into its metadata directory. A mounted volume's
 * daemon does the copy (progress as for drain); an unmounted one is opened
 * here. */
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
#include "tools/disk.h"

#define B(v, buf) cli_fmt_bytes((v), (buf), sizeof(buf))

static atomic_bool interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	atomic_store(&interrupted, true);
}

/* Ask the daemon; -ECONNREFUSED/-ENOENT when the volume is not held open. */
static int remote(const char *meta, const char *req, char *rep, size_t len)
{
	return vol_control_call(meta, req, rep, len, NULL);
}

static void progress_cb(void *arg, uint64_t done, uint64_t total)
{
	cli_bar_draw(arg, done, total, false);
}

/* Print the volume's list of what stayed on @p old. @return the lines. */
static uint64_t print_lost(const char *meta, unsigned old)
{
	char path[PATH_MAX], line[PATH_MAX + 128];
	uint64_t n = 0;
	FILE *f;

	vol_disk_lost_name(meta, old, path, sizeof(path));
	f = fopen(path, "r");
	if (!f) {
		cli_fail("cannot read the list of lost data %s: %s", path, strerror(errno));
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		if (!n)
			cli_msg("could not be read (these stay on disk %u and give EIO there):",
				old);
		fprintf(stderr, "  lost: %s", line);
		n++;
	}
	fclose(f);
	if (n)
		cli_msg("%" PRIu64 " stretches listed above (also in %s): restore those files "
			"from a backup",
			n, path);
	return n;
}

static int report(const char *meta, unsigned old, unsigned nw, int rc, uint64_t done, bool live)
{
	char b1[32];

	switch (rc) {
	case 0:
		print_lost(meta, old);
		printf("Disk %u is replaced by disk %u (%s copied): disk %u holds no file's data; "
		       "`trackfs disk remove %s %u` takes it out once it is the last disk.\n",
		       old, nw, B(done, b1), old, meta, old);
		return 0;
	case -EIO:
		print_lost(meta, old);
		cli_msg("disk %u is replaced by disk %u except for what is listed above (%s "
			"copied); disk %u takes no new data",
			old, nw, B(done, b1), old);
		return 1;
	case -EINTR:
		cli_msg("the copy of disk %u onto disk %u stopped at %s; run `trackfs disk drain "
			"%s %u` to go on",
			old, nw, B(done, b1), meta, old);
		return 1;
	case -ENOSPC:
		cli_msg("disk %u does not fit on disk %u: the new disk is full (%s copied); add "
			"another disk and run `trackfs disk drain %s %u` for the rest",
			old, nw, B(done, b1), meta, old);
		return 1;
	default:
		cli_msg("the replace of disk %u by disk %u failed: %s (%s says more); what was "
			"copied stays copied, `trackfs disk drain %s %u` goes on",
			old, nw, tfs_strerror(rc), live ? "the daemon's log" : "the messages above",
			meta, old);
		return 1;
	}
}

static int replace_live(const char *meta, unsigned old, unsigned nw)
{
	int running = 1, state = 0, last = 1, rc;
	uint64_t done = 0, total = 0;
	char req[64], rep[256];
	struct cli_bar b;

	cli_bar_init(&b);
	snprintf(req, sizeof(req), "drain-status %u", old);
	for (;;) {
		rc = remote(meta, req, rep, sizeof(rep));
		if (rc == 0 && sscanf(rep + 2, "%d %d %" SCNu64 " %" SCNu64 " %d", &running, &state,
				      &done, &total, &last) != 5)
			rc = -EPROTO;
		if (rc < 0) {
			cli_bar_end(&b);
			cli_msg("lost touch with the daemon of %s (%s): the copy of disk %u may go "
				"on; `trackfs disk list %s` shows it",
				meta, tfs_strerror(rc), old, meta);
			return 1;
		}
		if (!running)
			break;
		cli_bar_draw(&b, done, total, false);
		if (atomic_load(&interrupted)) {
			cli_bar_end(&b);
			cli_msg("the daemon goes on copying disk %u onto disk %u; `trackfs disk "
				"list "
				"%s` shows its progress",
				old, nw, meta);
			return 1;
		}
		struct timespec ts = {0, 200 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	cli_bar_draw(&b, done, total, true);
	cli_bar_end(&b);
	if (last == 1)
		last = state == VOL_DRAIN_DRAINED ? 0 : -EINTR;
	return report(meta, old, nw, last, done, true);
}

static int replace_here(const char *meta, unsigned old, const char *path, uint64_t rate)
{
	struct vol_open_opts oo = {.owner = "trackfs disk replace"};
	struct vol_drain_status st = {0};
	struct cli_bar b;
	unsigned nw = 0;
	struct vol *v;
	int rc, rc2;

	rc = vol_open(meta, &oo, &v);
	if (rc < 0) {
		cli_fail("cannot open the volume %s: %s", meta, tfs_strerror(rc));
		return 1;
	}
	cli_bar_init(&b);
	struct vol_drain_opts o = {
		.rate = rate, .progress_cb = progress_cb, .arg = &b, .stop = &interrupted};
	rc = vol_disk_replace(v, old, path, &nw, &o);
	vol_disk_drain_state(v, old, &st);
	cli_bar_draw(&b, st.bytes_done, st.bytes_total, true);
	cli_bar_end(&b);
	rc2 = vol_close(v);
	if (rc == 0 && rc2 < 0)
		rc = rc2;
	if (nw == 0 && rc < 0) {
		cli_msg("could not replace disk %u by %s: %s", old, path, tfs_strerror(rc));
		return 1;
	}
	return report(meta, old, nw, rc, st.bytes_done, false);
}

int cli_disk_replace(int argc, char **argv)
{
	const char *pos[3] = {NULL, NULL, NULL};
	const char *rate_arg = NULL;
	char meta[PATH_MAX], path[PATH_MAX], req[PATH_MAX + 64], rep[128];
	uint64_t rate = 0;
	unsigned npos = 0, old, nw = 0;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--rate") && i + 1 < argc) {
			rate_arg = argv[++i];
		} else if (!strncmp(argv[i], "--rate=", 7)) {
			rate_arg = argv[i] + 7;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			cli_msg("unknown option '%s'", argv[i]);
			return 2;
		} else if (npos < 3) {
			pos[npos++] = argv[i];
		} else {
			return 2;
		}
	}
	if (npos != 3)
		return 2;
	if (rate_arg && cli_parse_rate(rate_arg, &rate) < 0)
		return 2;
	if (vol_meta_resolve(pos[0], meta) < 0)
		return 1;
	if (cli_disk_resolve(meta, pos[1], &old) < 0)
		return 1;
	if (!realpath(pos[2], path)) {
		cli_msg("replace disk %u: %s: %s; give an empty directory for the new disk", old,
			pos[2], strerror(errno));
		return 1;
	}

	struct sigaction sa = {.sa_handler = on_sigint};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	snprintf(req, sizeof(req), "replace-start %u %" PRIu64 " %s", old, rate, path);
	rc = remote(meta, req, rep, sizeof(rep));
	if (rc == 0 && sscanf(rep, "ok %u", &nw) == 1)
		return replace_live(meta, old, nw);
	if (rc == -ECONNREFUSED || rc == -ENOENT)
		return replace_here(meta, old, path, rate);
	if (rc == -EPERM)
		cli_msg("only root or the owner of %s may replace its disks", meta);
	else
		cli_msg("could not replace disk %u by %s: %s%s", old, path, tfs_strerror(rc),
			rc == -ENOTEMPTY || rc == -EEXIST
				? " (give an empty directory that belongs to no volume)"
				: " (the daemon's log says more)");
	return 1;
}
