/* Helpers shared by the command-line tools: message prefix, size parsing and
 * byte formatting. */
#include "tools/cli_common.h"

#include "core/base/log.h"
#include "fs/vol/vol.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

const char *cli_prog = "trackfs";

void cli_init(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;

	if (argv0 && *argv0)
		cli_prog = slash ? slash + 1 : argv0;
}

void cli_msg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cli_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static unsigned long errors_seen;

void cli_fail(const char *fmt, ...)
{
	unsigned long n = tfs_log_errors();
	va_list ap;

	if (n != errors_seen) {
		errors_seen = n; /* the layer below said it, with more detail */
		return;
	}
	fprintf(stderr, "%s: ", cli_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_std_args(int argc, char **argv, void (*usage)(FILE *out))
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (!strcmp(argv[i], "--version")) {
			printf("%s %s\n", cli_prog, TRACKFS_VERSION);
			exit(CLI_EXIT_OK);
		}
		if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			exit(CLI_EXIT_OK);
		}
	}
}

int cli_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned shift = 0;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	case '\0':
		break;
	default:
		if (strcasecmp(end, "b") != 0)
			return -EINVAL;
	}
	if (shift) {
		end++;
		/* "4K", "4KB" and "4KiB" all mean 4096. */
		if (*end && strcasecmp(end, "b") != 0 && strcasecmp(end, "ib") != 0)
			return -EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

char *cli_fmt_bytes(uint64_t bytes, char *buf, size_t size)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)bytes;
	unsigned u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)bytes);
	else if (v == (double)(uint64_t)v)
		snprintf(buf, size, "%.0f %s", v, units[u]);
	else
		snprintf(buf, size, "%.1f %s", v, units[u]);
	return buf;
}

double cli_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

unsigned cli_drain_pct(const struct vol_disk_info *d)
{
	if (d->drain_state == VOL_DRAIN_DRAINED || d->drain_total == 0)
		return d->drain_state == VOL_DRAIN_DRAINED ? 100 : 0;
	uint64_t done = d->drain_done < d->drain_total ? d->drain_done : d->drain_total;
	return (unsigned)(done * 100 / d->drain_total);
}

#define B(v, buf) cli_fmt_bytes((v), (buf), sizeof(buf))

char *cli_disk_state(const struct vol_disk_info *d, unsigned disk, bool alarm, char *buf,
		     size_t size)
{
	char b1[32], b2[32], b3[32], shares[32] = "", rate[48] = "";

	if (d->shares_fs_with >= 0)
		snprintf(shares, sizeof(shares), ", shares fs with disk %d", d->shares_fs_with);
	if (d->drain_state == VOL_DRAIN_DRAINING && d->drain_rate)
		snprintf(rate, sizeof(rate), ", at most %s/s", B(d->drain_rate, b1));
	if (d->removed)
		snprintf(buf, size, "removed");
	else if (d->drain_salvaged && d->drain_target >= 0)
		snprintf(buf, size,
			 "%sreplaced by disk %d; what did not read stays, listed in "
			 "META/disk-%u-lost.txt",
			 d->missing ? (alarm ? "MISSING, " : "missing, ") : "", d->drain_target,
			 disk);
	else if (d->missing && d->drain_state == VOL_DRAIN_DRAINING && d->drain_target >= 0)
		snprintf(buf, size, "%s, being replaced by disk %d", alarm ? "MISSING" : "missing",
			 d->drain_target);
	else if (d->missing)
		snprintf(buf, size, "%s", alarm ? "MISSING" : "missing");
	else if (d->failing)
		snprintf(buf, size, "%s (%llu I/O error%s)%s", alarm ? "FAILING" : "failing",
			 (unsigned long long)d->io_errors, d->io_errors == 1 ? "" : "s", shares);
	else if (d->drain_state == VOL_DRAIN_DRAINED)
		snprintf(buf, size, "drained%s", shares);
	else if (d->drain_state == VOL_DRAIN_DRAINING && d->drain_target >= 0)
		snprintf(buf, size, "replacing onto disk %d %u%% (%s of %s)%s%s%s", d->drain_target,
			 cli_drain_pct(d), B(d->drain_done, b2), B(d->drain_total, b3),
			 d->drain_stopped ? ", stopped" : "", rate, shares);
	else if (d->drain_state == VOL_DRAIN_DRAINING)
		snprintf(buf, size, "draining %u%% (%s of %s)%s%s%s", cli_drain_pct(d),
			 B(d->drain_done, b2), B(d->drain_total, b3),
			 d->drain_stopped ? ", stopped" : "", rate, shares);
	else if (d->stale)
		snprintf(buf, size, "back, reads only until the next mount%s", shares);
	else if (!d->chunks_free)
		snprintf(buf, size, "full%s", shares);
	else if (d->at_reserve)
		snprintf(buf, size, "at reserve%s", shares);
	else
		snprintf(buf, size, "ok%s", shares);
	return buf;
}

char *cli_fmt_age(uint64_t s, char *buf, size_t size)
{
	if (s < 5)
		snprintf(buf, size, "just now");
	else if (s < 120)
		snprintf(buf, size, "%llu s ago", (unsigned long long)s);
	else if (s < 3600)
		snprintf(buf, size, "%llu min ago", (unsigned long long)(s / 60));
	else if (s < 48 * 3600 && s / 60 % 60)
		snprintf(buf, size, "%llu h %llu min ago", (unsigned long long)(s / 3600),
			 (unsigned long long)(s / 60 % 60));
	else if (s < 48 * 3600)
		snprintf(buf, size, "%llu h ago", (unsigned long long)(s / 3600));
	else
		snprintf(buf, size, "%llu days ago", (unsigned long long)(s / 86400));
	return buf;
}

uint64_t cli_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

char *cli_snapshot_state(const struct vol_disk_info *d, uint64_t now_ns, char *buf, size_t size)
{
	char age[48];

	if (d->removed)
		snprintf(buf, size, "removed");
	else if (d->missing)
		snprintf(buf, size, "missing");
	else if (!d->has_snapshot)
		snprintf(buf, size, "no snapshot yet");
	else
		snprintf(buf, size, "snapshot %s, commit %llu",
			 cli_fmt_age(now_ns > d->snapshot_time_ns
					     ? (now_ns - d->snapshot_time_ns) / 1000000000ull
					     : 0,
				     age, sizeof(age)),
			 (unsigned long long)d->snapshot_seq);
	return buf;
}

bool cli_mirror_state(const struct vol_info *info, const char *meta, bool live, char *buf,
		      size_t size)
{
	const char *m = info->mirror;
	int e = info->mirror_error;

	switch (info->mirror_state) {
	case VOL_MIRROR_NONE:
		snprintf(buf, size, "none");
		return false;
	case VOL_MIRROR_CURRENT:
		snprintf(buf, size, "%s: current (commit %llu)", m,
			 (unsigned long long)info->mirror_seq);
		return false;
	case VOL_MIRROR_STALE:
		if (live)
			snprintf(buf, size,
				 "%s: BEHIND, not updated (the daemon retries it; `trackfs meta "
				 "mirror %s %s` resyncs it now)",
				 m, meta, m);
		else if (e == -ENOENT)
			snprintf(buf, size,
				 "%s: holds no copy of the index (no index/data.mdb there); the "
				 "next mount makes one",
				 m);
		else
			snprintf(buf, size,
				 "%s: behind (holds commit %llu, the index is at %llu); the next "
				 "mount resyncs it",
				 m, (unsigned long long)info->mirror_seq,
				 (unsigned long long)info->index_seq);
		return live;
	default:
		snprintf(buf, size,
			 "%s: FAILED (%s): the index has a single copy; fix the mirror's device "
			 "or free space, then run `trackfs meta mirror %s %s`",
			 m, e ? tfs_strerror(e) : "unknown error", meta, m);
		return true;
	}
}

/* ---- the progress bar --------------------------------------------------------------- */

void cli_bar_init(struct cli_bar *b)
{
	memset(b, 0, sizeof(*b));
	b->on = isatty(STDERR_FILENO);
	b->t0 = b->last = b->rate_t = cli_now();
	b->done0 = UINT64_MAX;
}

void cli_bar_draw(struct cli_bar *b, uint64_t done, uint64_t total, bool force)
{
	char b1[32], b2[32], b3[32], eta[32] = "--:--";
	double now = cli_now();

	if (b->done0 == UINT64_MAX)
		b->done0 = b->rate_done = done;
	if (now - b->rate_t >= 1.0) {
		double r = (double)(done - b->rate_done) / (now - b->rate_t);
		b->rate = b->rate > 0 ? 0.7 * b->rate + 0.3 * r : r;
		b->rate_t = now;
		b->rate_done = done;
	}
	if (!b->on || (!force && now - b->last < 0.25))
		return;
	b->last = now;
	if (total < done)
		total = done;
	unsigned pct = total ? (unsigned)(done * 100 / total) : 100;
	char bar[31];
	unsigned fill = pct * 30 / 100;
	memset(bar, '#', fill);
	memset(bar + fill, '.', 30 - fill);
	bar[30] = '\0';
	if (b->rate > 1 && total > done) {
		uint64_t s = (uint64_t)((double)(total - done) / b->rate);
		snprintf(eta, sizeof(eta), "%" PRIu64 ":%02u:%02u", s / 3600,
			 (unsigned)(s / 60 % 60), (unsigned)(s % 60));
	}
	fprintf(stderr, "\r[%s] %3u%%  %s of %s  %s/s  ETA %s\033[K", bar, pct, B(done, b1),
		B(total, b2), B((uint64_t)b->rate, b3), eta);
	b->drawn = true;
}

void cli_bar_end(struct cli_bar *b)
{
	if (b->on && b->drawn)
		fputc('\n', stderr);
	b->drawn = false;
}

/* "50M/s", "1G" (bytes per second, the "/s" optional) into @p out: 0, or
 * -EINVAL with a message. */
int cli_parse_rate(const char *arg, uint64_t *out)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%s", arg);
	size_t l = strlen(buf);
	if (l > 2 && !strcmp(buf + l - 2, "/s"))
		buf[l - 2] = '\0';
	if (cli_parse_size(buf, out) < 0 || *out == 0) {
		cli_msg("bad rate '%s' (e.g. 50M/s, 1G/s)", arg);
		return -EINVAL;
	}
	return 0;
}
