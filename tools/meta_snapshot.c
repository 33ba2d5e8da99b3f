/* `trackfs meta snapshot VOLUME`: a snapshot of the index now, taken by the
 * daemon of a mounted volume ("meta-snapshot" on its control socket) or here,
 * from the volume opened read-only (the index as it is, with no commit of
 * this tool's own in it); `trackfs meta list DISK...`: the snapshots on the
 * given disks, each read whole and checked. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/base/log.h"
#include "core/base/progress.h"
#include "fs/vol/vol.h"
#include "fs/vol/volfile.h"
#include "tools/cli_common.h"
#include "tools/meta_cmd.h"

#define B(v, buf) cli_fmt_bytes((v), (buf), sizeof(buf))

void meta_snapshot_usage(FILE *out)
{
	fprintf(out,
		"Usage: trackfs meta snapshot VOLUME\n"
		"Take a snapshot of the index of VOLUME (its metadata directory, or the disk\n"
		"directory holding meta/) now and write it to every present disk, as\n"
		"DISK/%s/index-COMMIT.snap; the newest %d on each disk are kept.\n"
		"A mounted volume's daemon takes it (root or the volume's owner only); an\n"
		"unmounted one is opened read-only here, with a progress bar on a terminal.\n"
		"\n"
		"Exit status: 0 every present disk has it, 1 some disk could not take it,\n"
		"8 no disk could, 2 bad usage.\n",
		VOL_SNAPSHOT_DIR, VOL_SNAPSHOT_KEEP);
}

void meta_list_usage(FILE *out)
{
	fprintf(out,
		"Usage: trackfs meta list DISK...\n"
		"List the snapshots of the index on each data disk directory DISK (in\n"
		"DISK/%s), newest first: the commit each holds, when it was taken, its\n"
		"size and records, each read whole and its checksum checked; an invalid one\n"
		"is listed with the reason. A metadata directory (holding volume.conf) may\n"
		"be given instead of disks: its volume's disks are listed. Needs neither the\n"
		"metadata directory nor the volume unmounted.\n"
		"\n"
		"Exit status: 0 every disk has a valid snapshot and none is invalid, 1 some\n"
		"disk has none or an invalid one, 8 a disk could not be read, 2 bad usage.\n",
		VOL_SNAPSHOT_DIR);
}

/* ---- snapshot ------------------------------------------------------------------------ */

/* Disks the snapshot should reach: those not removed from the volume. */
static unsigned volume_disks(const char *meta)
{
	struct vol_volfile *vf = malloc(sizeof(*vf));
	unsigned n = 0;

	if (vf && vol_volfile_read(meta, vf) == 0)
		for (unsigned i = 0; i < vf->ndisks; i++)
			n += !vf->disks[i].removed;
	free(vf);
	return n;
}

static int report(const char *meta, const struct vol_snapshot_result *r, bool live)
{
	char b1[32];
	unsigned want = volume_disks(meta);

	printf("Snapshot of the index of %s at commit %" PRIu64 " (%s) written to %u disk%s in "
	       "%.2f s%s.\n",
	       meta, r->seq, B(r->bytes, b1), r->written, r->written == 1 ? "" : "s", r->seconds,
	       live ? " by the daemon" : "");
	if (r->failed) {
		cli_msg("%u disk%s could not take the snapshot: %s names them and why; fix them "
			"(space, permissions, the device) and run `trackfs meta snapshot %s` again",
			r->failed, r->failed == 1 ? "" : "s",
			live ? "the daemon's log" : "the messages above", meta);
		return META_EXIT_PARTLY;
	}
	if (want > r->written)
		printf("%u disk%s of the volume got none: missing or failing (`trackfs status %s` "
		       "shows which).\n",
		       want - r->written, want - r->written == 1 ? "" : "s", meta);
	return META_EXIT_OK;
}

static int snapshot_failed(const char *meta, int rc, bool live)
{
	if (rc == -EPERM)
		cli_msg("only root or the owner of %s may take a snapshot of its index", meta);
	else if (rc == -ENODEV)
		cli_msg("no snapshot of %s was taken: no disk can take one (every disk is "
			"missing, removed or failing)",
			meta);
	else if (rc == -EBUSY)
		cli_msg("a snapshot of %s is being taken right now; run it again once it is done",
			meta);
	else
		cli_msg("no snapshot of %s was taken: %s (%s says more)", meta, tfs_strerror(rc),
			live ? "the daemon's log" : "the message above");
	return META_EXIT_FAILED;
}

static void progress_cb(void *arg, uint64_t done, uint64_t total)
{
	struct tfs_progress *p = arg;

	/* Records committed while it runs come on top of the count it began with. */
	p->total = total > done ? total : done;
	tfs_progress_update(p, done);
}

static int snapshot_here(const char *meta)
{
	/* Read-only: the snapshot holds the index as it is, and closing adds
	 * no commit (nor a second snapshot at close). */
	struct vol_open_opts oo = {.flags = VOL_RDONLY | VOL_NO_RECOVER,
				   .owner = "trackfs meta snapshot"};
	struct vol_snapshot_result r;
	struct tfs_progress p;
	struct vol *v;
	int rc;

	rc = vol_open(meta, &oo, &v);
	if (rc == -EBUSY)
		return META_EXIT_FAILED; /* vol_open named the holder */
	if (rc < 0) {
		cli_fail("cannot open the volume %s: %s", meta, tfs_strerror(rc));
		return META_EXIT_FAILED;
	}
	tfs_progress_init(&p, "snapshot", 0);
	struct vol_snapshot_opts so = {.progress = progress_cb, .progress_arg = &p};
	rc = vol_snapshot(v, &so, &r);
	if (rc == 0)
		tfs_progress_fini(&p);
	else if (p.tty && p.last_ms)
		fputc('\n', stderr);
	vol_close(v);
	if (rc < 0)
		return snapshot_failed(meta, rc, false);
	return report(meta, &r, false);
}

int meta_snapshot_cli(int argc, char **argv)
{
	char meta[PATH_MAX], rep[256];
	struct vol_snapshot_result r = {0};
	int rc, e = 0;

	if (argc != 1 || argv[0][0] == '-')
		return META_EXIT_USAGE;
	if (vol_meta_resolve(argv[0], meta) < 0)
		return META_EXIT_FAILED; /* it says what is wrong with it */
	rc = vol_control_request(meta, "meta-snapshot", rep, sizeof(rep));
	if (rc == -ECONNREFUSED || rc == -ENOENT)
		return snapshot_here(meta);
	if (rc == 0 && sscanf(rep, "ok %" SCNu64 " %" SCNu64 " %u %u %lf", &r.seq, &r.bytes,
			      &r.written, &r.failed, &r.seconds) == 5)
		return report(meta, &r, true);
	if (rc == 0)
		rc = sscanf(rep, "err %d", &e) == 1 && e > 0 ? -e : -EPROTO;
	return snapshot_failed(meta, rc, true);
}

/* ---- list ---------------------------------------------------------------------------- */

static void fmt_time(uint64_t ns, char *buf, size_t size)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, size, "?");
}

/* One disk's snapshots. @return the exit status for it. */
static int list_disk(const char *disk, uint64_t now)
{
	static unsigned listed;
	struct vol_snapshot_entry *e;
	struct stat st;
	size_t n;
	int rc;

	if (listed++)
		printf("\n");

	if (stat(disk, &st) != 0 || !S_ISDIR(st.st_mode)) {
		rc = stat(disk, &st) != 0 ? -errno : -ENOTDIR;
		cli_fail("cannot list the snapshots on %s: %s; give a data disk directory", disk,
			 tfs_strerror(rc));
		return META_EXIT_FAILED;
	}
	rc = vol_snapshot_list(disk, true, &e, &n);
	if (rc < 0) {
		cli_fail("cannot read the snapshots in %s/%s: %s", disk, VOL_SNAPSHOT_DIR,
			 tfs_strerror(rc));
		return META_EXIT_FAILED;
	}
	if (n == 0) {
		printf("%s: no snapshot of the index yet (nothing in %s/%s)\n", disk, disk,
		       VOL_SNAPSHOT_DIR);
		return META_EXIT_PARTLY;
	}
	char u[TFS_UUID_STRLEN] = "";
	for (size_t i = 0; i < n && !u[0]; i++)
		if (e[i].rc == 0)
			tfs_uuid_format(&e[i].uuid, u);
	printf("%s/%s%s%s%s:\n", disk, VOL_SNAPSHOT_DIR, u[0] ? " (volume " : "", u,
	       u[0] ? ")" : "");
	printf("  %-10s %-19s  %-14s %10s %9s  %-27s %s\n", "COMMIT", "TAKEN", "AGE", "SIZE",
	       "RECORDS", "FILE", "STATE");
	unsigned valid = 0, invalid = 0;
	for (size_t i = 0; i < n; i++) {
		const char *name = strrchr(e[i].path, '/');
		name = name ? name + 1 : e[i].path;
		if (e[i].rc < 0) {
			invalid++;
			printf("  %-10" PRIu64 " %-19s  %-14s %10s %9s  %-27s INVALID: %s\n",
			       e[i].file_seq, "-", "-", "-", "-", name,
			       e[i].why[0] ? e[i].why : tfs_strerror(e[i].rc));
			continue;
		}
		char when[32], age[48], b1[32];
		valid++;
		fmt_time(e[i].time_ns, when, sizeof(when));
		cli_fmt_age(now > e[i].time_ns ? (now - e[i].time_ns) / 1000000000ull : 0, age,
			    sizeof(age));
		char ustr[TFS_UUID_STRLEN];
		tfs_uuid_format(&e[i].uuid, ustr);
		bool other = strcmp(ustr, u) != 0; /* a stray file of another volume */
		printf("  %-10" PRIu64 " %-19s  %-14s %10s %9" PRIu64 "  %-27s ok%s%s\n", e[i].seq,
		       when, age, B(e[i].bytes, b1), e[i].records, name,
		       other ? ", but of volume " : "", other ? ustr : "");
	}
	free(e);
	if (invalid)
		cli_msg("%s: %u snapshot%s invalid (listed above with the reason): %s", disk,
			invalid, invalid == 1 ? " is" : "s are",
			valid ? "a restore takes the newest valid one"
			      : "this disk has no usable snapshot of the index");
	return invalid || !valid ? META_EXIT_PARTLY : META_EXIT_OK;
}

static int worst(int a, int b)
{
	return a > b ? a : b;
}

int meta_list_cli(int argc, char **argv)
{
	uint64_t now = cli_now_ns();
	int rc = META_EXIT_OK;

	if (argc < 1)
		return META_EXIT_USAGE;
	for (int i = 0; i < argc; i++) {
		if (argv[i][0] == '-') {
			cli_msg("unknown option '%s'", argv[i]);
			return META_EXIT_USAGE;
		}
	}
	for (int i = 0; i < argc; i++) {
		char conf[PATH_MAX + 32];
		struct stat st;
		snprintf(conf, sizeof(conf), "%s/%s", argv[i], VOL_VOLFILE_NAME);
		if (stat(conf, &st) != 0) {
			rc = worst(rc, list_disk(argv[i], now));
			continue;
		}
		/* A metadata directory: its volume's disks. */
		struct vol_volfile *vf = malloc(sizeof(*vf));
		if (!vf || vol_volfile_read(argv[i], vf) < 0) {
			cli_fail("cannot read the volume file %s: give the data disk directories "
				 "instead",
				 conf);
			free(vf);
			rc = worst(rc, META_EXIT_FAILED);
			continue;
		}
		for (unsigned d = 0; d < vf->ndisks; d++) {
			if (vf->disks[d].removed)
				continue;
			rc = worst(rc, list_disk(vf->disks[d].path, now));
		}
		free(vf);
	}
	return rc;
}
