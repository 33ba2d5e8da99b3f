/* The subcommands of trackfs-disk that live in files of their own. Each takes
 * the arguments after its name and returns the exit status (0 done, 1 failed,
 * 2 bad usage). */
#ifndef TOOLS_DISK_H
#define TOOLS_DISK_H

#include <stdbool.h>
#include <stdint.h>

/** `trackfs disk drain VOLUME DISK [--rate SIZE/s]`, `drain --stop VOLUME [DISK]`. */
int cli_disk_drain(int argc, char **argv);

/** `trackfs disk remove VOLUME DISK` (an unmounted volume, a drained disk). */
int cli_disk_remove(int argc, char **argv);

/** `trackfs disk undrain VOLUME DISK` (mounted or not). */
int cli_disk_undrain(int argc, char **argv);

/** `trackfs disk files VOLUME DISK` (mounted or not). */
int cli_disk_files(int argc, char **argv);

/** Resolve @p arg (a disk's number or path) to its index in @p meta's
 * volume file; names the problem when it is none. @return 0, -ENODEV, -errno. */
int cli_disk_resolve(const char *meta, const char *arg, unsigned *disk);
/** A rate ("50M/s", "1G") in bytes per second: 0, or -EINVAL (said). */
int cli_parse_rate(const char *arg, uint64_t *out);

/** `trackfs disk replace VOLUME OLD NEW [--rate SIZE/s]`. */
int cli_disk_replace(int argc, char **argv);

/* The drain's progress bar (bytes, rate, ETA) on a terminal's stderr,
 * nothing when stderr is not one (disk_drain.c). */
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
