/* `trackfs disk drain`: move every chunk off one disk. A mounted volume's
 * daemon drains on a thread of its own while this polls its progress over
 * the control socket (Ctrl-C leaves the daemon's drain running; --stop stops
 * it); an unmounted volume is opened and drained here. A progress bar
 * (bytes, rate, ETA) goes to a terminal's stderr, nothing when it is not one. */
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

/* Ask the daemon; -ECONNREFUSED/-ENOENT when the volume is not held open.
 * The reply's text after "ok" goes to *@p rest. */
static int remote(const char *meta, const char *req, char *rep, size_t len, const char **rest)
{
	return vol_control_call(meta, req, rep, len, rest);
}

static bool not_served(int rc)
{
	return rc == -ECONNREFUSED || rc == -ENOENT;
}

int cli_disk_resolve(const char *meta, const char *arg, unsigned *disk)
{
	struct vol_volfile *vf = malloc(sizeof(*vf));
	char real[PATH_MAX];
	char *end;
	int rc;

	if (!vf)
		return -ENOMEM;
	rc = vol_volfile_read(meta, vf);
	if (rc < 0) {
		cli_fail("cannot read the volume file of %s: %s", meta, tfs_strerror(rc));
		goto out;
	}
	unsigned long n = strtoul(arg, &end, 10);
	if (*arg && !*end) {
		rc = n < vf->ndisks ? 0 : -ENODEV;
		if (rc == 0)
			*disk = (unsigned)n;
	} else {
		rc = -ENODEV;
		bool have_real = realpath(arg, real) != NULL;
		for (unsigned i = 0; i < vf->ndisks && rc < 0; i++)
			if (!strcmp(vf->disks[i].path, arg) ||
			    (have_real && !strcmp(vf->disks[i].path, real))) {
				*disk = i;
				rc = 0;
			}
	}
	if (rc < 0)
		cli_msg("%s is not a disk of %s: give its number or path as `trackfs disk list "
			"%s` shows them",
			arg, meta, meta);
out:
	free(vf);
	return rc;
}

static void drain_progress_cb(void *arg, uint64_t done, uint64_t total)
{
	cli_bar_draw(arg, done, total, false);
}

static void drain_bad_cb(void *arg, uint64_t ino, const char *path, uint64_t off)
{
	struct cli_bar *b = arg;

	cli_bar_end(b);
	cli_msg("a chunk of %s (inode %" PRIu64 ") at offset %" PRIu64
		" fails its checksum: left on the disk, restore that file",
		path ? path : "an unlinked open file", ino, off);
}

/* ---- the outcome ------------------------------------------------------------------- */

static int report(const char *meta, unsigned disk, int rc, uint64_t done, uint64_t total, bool live)
{
	char b1[32], b2[32];
	const char *log = live ? "the daemon's log" : "the messages above";

	switch (rc) {
	case 0:
		printf("Disk %u is drained (%s moved): no file has data on it; `trackfs disk "
		       "remove %s %u` takes it out of the volume.\n",
		       disk, B(done, b1), meta, disk);
		return 0;
	case -EINTR:
		cli_msg("the drain of disk %u stopped at %s of about %s; run `trackfs disk "
			"drain %s %u` to go on%s",
			disk, B(done, b1), B(total, b2), meta, disk,
			live ? " (the daemon also goes on at its next mount)" : "");
		return 1;
	case -EIO:
		cli_msg("disk %u is not drained: chunks that cannot be read or fail their "
			"checksums stay on it (%s names the files; after a replace, so does "
			"%s/disk-%u-lost.txt); restore those files, then drain again",
			disk, log, meta, disk);
		return 1;
	case -ENOSPC:
		cli_msg("disk %u is not drained: the other disks are full; add a disk "
			"(trackfs disk add) or free space, then drain again",
			disk);
		return 1;
	case -ENXIO:
		cli_msg("disk %u is missing, so its data cannot be read: bring it back, or use "
			"`trackfs disk replace`",
			disk);
		return 1;
	case -EPERM:
		cli_msg("only root or the owner of %s may drain its disks", meta);
		return 1;
	default:
		cli_msg("the drain of disk %u failed: %s (%s says more); what was moved stays "
			"moved, run it again once the cause is fixed",
			disk, tfs_strerror(rc), log);
		return 1;
	}
}

/* ---- a mounted volume: the daemon drains ------------------------------------------- */

static int status_remote(const char *meta, unsigned disk, int *running, int *state, uint64_t *done,
			 uint64_t *total, int *last)
{
	char req[64], rep[256];
	const char *rest;

	snprintf(req, sizeof(req), "drain-status %u", disk);
	int rc = remote(meta, req, rep, sizeof(rep), &rest);
	if (rc < 0)
		return rc;
	if (sscanf(rest, "%d %d %" SCNu64 " %" SCNu64 " %d", running, state, done, total, last) !=
	    5)
		return -EPROTO;
	return 0;
}

static int drain_live(const char *meta, unsigned disk)
{
	int running = 0, state = 0, last = 1, rc;
	uint64_t done = 0, total = 0;
	struct cli_bar b;

	cli_bar_init(&b);
	for (;;) {
		rc = status_remote(meta, disk, &running, &state, &done, &total, &last);
		if (rc < 0) {
			cli_bar_end(&b);
			cli_msg("lost touch with the daemon of %s (%s): the drain of disk %u may "
				"go on; `trackfs disk list %s` shows it",
				meta, tfs_strerror(rc), disk, meta);
			return 1;
		}
		if (!running)
			break;
		cli_bar_draw(&b, done, total, false);
		if (atomic_load(&interrupted)) {
			cli_bar_end(&b);
			cli_msg("the daemon goes on draining disk %u; `trackfs disk list %s` shows "
				"its progress, `trackfs disk drain --stop %s %u` stops it",
				disk, meta, meta, disk);
			return 1;
		}
		struct timespec ts = {0, 200 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	cli_bar_draw(&b, done, total, true);
	cli_bar_end(&b);
	if (last == 1)
		last = state == VOL_DRAIN_DRAINED ? 0 : -EINTR;
	return report(meta, disk, last, done, total, true);
}

/* ---- an unmounted volume: drained here ------------------------------------------- */

static int drain_here(const char *meta, unsigned disk, uint64_t rate)
{
	struct vol_open_opts oo = {.owner = "trackfs disk drain"};
	struct vol_drain_status st = {0};
	struct cli_bar b;
	struct vol *v;
	int rc, rc2;

	rc = vol_open(meta, &oo, &v);
	if (rc < 0) {
		cli_fail("cannot open the volume %s: %s", meta, tfs_strerror(rc));
		return 1;
	}
	cli_bar_init(&b);
	struct vol_drain_opts o = {.rate = rate,
				   .progress_cb = drain_progress_cb,
				   .bad_cb = drain_bad_cb,
				   .arg = &b,
				   .stop = &interrupted};
	rc = vol_disk_drain(v, disk, &o);
	vol_disk_drain_state(v, disk, &st);
	cli_bar_draw(&b, st.bytes_done, st.bytes_total, true);
	cli_bar_end(&b);
	rc2 = vol_close(v);
	if (rc == 0 && rc2 < 0)
		rc = rc2;
	return report(meta, disk, rc, st.bytes_done, st.bytes_total, false);
}

static int drain_stop(const char *meta, const char *arg)
{
	char req[64], rep[128];
	unsigned disk = 0;
	int rc;

	if (arg && cli_disk_resolve(meta, arg, &disk) < 0)
		return 1;
	if (arg)
		snprintf(req, sizeof(req), "drain-stop %u", disk);
	else
		snprintf(req, sizeof(req), "drain-stop all");
	rc = remote(meta, req, rep, sizeof(rep), NULL);
	if (not_served(rc)) {
		/* Unmounted: mark the record, so the next mount leaves it. (A
		 * drain run by this command line stops with Ctrl-C.) */
		struct vol_open_opts oo = {.owner = "trackfs disk drain --stop"};
		struct vol *v;
		unsigned n = 0;
		rc = vol_open(meta, &oo, &v);
		if (rc < 0) {
			cli_fail("cannot open the volume %s: %s", meta, tfs_strerror(rc));
			return 1;
		}
		rc = -ESRCH;
		for (unsigned i = arg ? disk : 0; i < (arg ? disk + 1 : VOL_MAX_DISKS); i++) {
			int prc = vol_disk_drain_pause(v, i);
			if (prc == -ENODEV && !arg)
				break;
			if (prc == 0)
				n++;
			else if (prc != -ESRCH && prc != -EALREADY)
				rc = prc;
		}
		int rc2 = vol_close(v);
		if (n && rc == -ESRCH)
			rc = rc2;
	}
	if (rc == -ESRCH || rc == -EALREADY) {
		cli_msg("no drain %s%s to stop on %s%s", arg ? "of disk " : "", arg ? arg : "",
			meta, rc == -EALREADY ? " (the disk is drained)" : "");
		return 1;
	}
	if (rc < 0)
		return report(meta, disk, rc, 0, 0, true);
	printf("Stopping the drain%s%s: it stops after the piece it is moving, what it moved "
	       "stays moved, and it stays stopped across "
	       "mounts until `trackfs disk drain` (go on) or `trackfs disk undrain` (give the "
	       "disk back to placement).\n",
	       arg ? " of disk " : "s", arg ? arg : "");
	return 0;
}

int cli_disk_drain(int argc, char **argv)
{
	const char *pos[2] = {NULL, NULL};
	const char *rate_arg = NULL;
	char meta[PATH_MAX], req[64], rep[128];
	bool stop = false;
	uint64_t rate = 0;
	unsigned npos = 0, disk;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--stop")) {
			stop = true;
		} else if (!strcmp(argv[i], "--rate") && i + 1 < argc) {
			rate_arg = argv[++i];
		} else if (!strncmp(argv[i], "--rate=", 7)) {
			rate_arg = argv[i] + 7;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			cli_msg("unknown option '%s'", argv[i]);
			return 2;
		} else if (npos < 2) {
			pos[npos++] = argv[i];
		} else {
			return 2;
		}
	}
	if (npos < (stop ? 1u : 2u))
		return 2;
	if (rate_arg && cli_parse_rate(rate_arg, &rate) < 0)
		return 2;
	if (vol_meta_resolve(pos[0], meta) < 0)
		return 1;
	if (stop)
		return drain_stop(meta, pos[1]);
	if (cli_disk_resolve(meta, pos[1], &disk) < 0)
		return 1;

	struct sigaction sa = {.sa_handler = on_sigint};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	snprintf(req, sizeof(req), "drain-start %u %" PRIu64, disk, rate);
	rc = remote(meta, req, rep, sizeof(rep), NULL);
	if (rc == 0)
		return drain_live(meta, disk);
	if (not_served(rc))
		return drain_here(meta, disk, rate);
	return report(meta, disk, rc, 0, 0, true);
}
