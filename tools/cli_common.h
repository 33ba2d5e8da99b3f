/* Helpers shared by the command-line tools: the program name for messages,
 * size arguments with K/M/G suffixes, human-readable byte counts. */
#ifndef CLI_COMMON_H
#define CLI_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The program name used as the prefix of every message (set by cli_init). */
extern const char *cli_prog;

/** Remember the program name (basename of @p argv0) for messages. */
void cli_init(const char *argv0);

/** Print "prog: message" and a newline to stderr. */
void cli_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

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

#endif
