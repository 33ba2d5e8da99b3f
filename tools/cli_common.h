/* Helpers shared by the command-line tools: the program name for messages,
 * size arguments with K/M/G suffixes, human-readable byte counts. */
#ifndef CLI_COMMON_H
#define CLI_COMMON_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

/* Exit status of every tool but fsck.trackfs (which keeps fsck(8)'s):
 * 0 done, 1 failed (or, for status, something needs attention), 2 bad usage. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

/** The program name used as the prefix of every message (set by cli_init). */
extern const char *cli_prog;

/** Remember the program name (basename of @p argv0) for messages. */
void cli_init(const char *argv0);

/** Print "prog: message" and a newline to stderr. */
void cli_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** cli_msg for a failure, unless a layer below already logged an error about
 * it (since the last cli_fail): each error is printed once. */
void cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/**
 * The options every tool takes: --help (@p usage to stdout, exit 0) and
 * --version (exit 0), anywhere before "--". Call after cli_init.
 */
void cli_std_args(int argc, char **argv, void (*usage)(FILE *out));

/**
 * Parse a size such as "4096", "4K", "64k", "1M", "4G" or "1T" (binary
 * multiples; an optional trailing "B" or "iB" is accepted).
 * @return 0 with *out set, or -EINVAL (no digits, unknown suffix, overflow).
 */
int cli_parse_size(const char *s, uint64_t *out);

/** Format @p bytes as "512 B", "4 KiB", "1.5 GiB" into @p buf. @return buf. */
char *cli_fmt_bytes(uint64_t bytes, char *buf, size_t size);

/** Monotonic clock in seconds, for the benchmark and progress. */
double cli_now(void);

struct vol_disk_info;
/** How far a disk's drain is, in percent (0-100), from its info. */
unsigned cli_drain_pct(const struct vol_disk_info *d);

/**
 * The state of a disk in words, as `disk list` and `trackfs status` show it
 * ("ok", "missing", "draining 40% (4 MiB of 10 MiB), at most 2 MiB/s",
 * "replacing onto disk 3 ...", "back, reads only until the next mount", ...),
 * into @p buf. With @p alarm, the states that need a person (missing,
 * failing) are in capitals. @return buf.
 */
char *cli_disk_state(const struct vol_disk_info *d, unsigned disk, bool alarm, char *buf,
		     size_t size);

/** How long ago @p age_s seconds is, in words: "just now", "40 s ago",
 * "3 min ago", "2 h 5 min ago", "3 days ago". @return buf. */
char *cli_fmt_age(uint64_t age_s, char *buf, size_t size);

/** Now, in ns since the epoch (the clock snapshots are stamped with). */
uint64_t cli_now_ns(void);

/**
 * A disk's newest snapshot of the index in words, as `trackfs status` shows
 * it: "snapshot 3 min ago, commit 1234", "no snapshot yet", "missing",
 * "removed". @p now_ns is cli_now_ns(). @return buf.
 */
char *cli_snapshot_state(const struct vol_disk_info *d, uint64_t now_ns, char *buf, size_t size);

struct vol_info;
/**
 * The metadata mirror in words: "none", "DIR: current (commit 1234)",
 * "DIR: behind ..." or "DIR: FAILED (why) ..." with what to do; @p live: the
 * figures come from the process that holds the volume (a stale mirror is
 * then one it stopped updating). @p meta names the volume in the advice.
 * @return true when the mirror needs a person (failed, or not followed
 * while mounted).
 */
bool cli_mirror_state(const struct vol_info *info, const char *meta, bool live, char *buf,
		      size_t size);

/** A rate ("50M/s", "1G") in bytes per second: 0, or -EINVAL (said). */
int cli_parse_rate(const char *arg, uint64_t *out);

/* A progress bar for long work (drains, scrubs): bytes, rate and ETA on a
 * terminal's stderr, nothing when stderr is not one. */
struct cli_bar {
	bool on;	 /* stderr is a terminal */
	double t0, last; /* when it started, when it last drew */
	uint64_t done0;	 /* bytes done when it started (a resumed drain) */
	double rate;	 /* bytes/s, smoothed */
	double rate_t;	 /* when rate was last updated */
	uint64_t rate_done;
	bool drawn;
};

void cli_bar_init(struct cli_bar *b);
/** Draw at most four times a second unless @p force. */
void cli_bar_draw(struct cli_bar *b, uint64_t done, uint64_t total, bool force);
/** End the bar's line, before other messages. */
void cli_bar_end(struct cli_bar *b);

#endif
