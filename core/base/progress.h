/* A one-line progress bar for long-running tools: drawn on a terminal
 * (stderr is a tty) with the rate and an ETA, silent when piped or redirected. */
#ifndef TFS_BASE_PROGRESS_H
#define TFS_BASE_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct tfs_progress {
	const char *label; /* shown before the bar; not owned */
	uint64_t total;	   /* units of work, 0 if unknown */
	uint64_t done;
	bool tty;	   /* draw only when stderr is a terminal */
	long long last_ms; /* last redraw, to redraw at most 10 times a second */
	long long t0_ms;   /* when it began, for the rate and the ETA */
};

void tfs_progress_init(struct tfs_progress *p, const char *label, uint64_t total);
/** Set the work done so far; redraws at most every 100 ms. */
void tfs_progress_update(struct tfs_progress *p, uint64_t done);
/** Draw 100% and end the line (on a terminal only). */
void tfs_progress_fini(struct tfs_progress *p);
/** A progress callback (as vol_open_opts.progress) drawing @p arg, a
 * zeroed struct tfs_progress: a new @p what ends the bar before and starts
 * one labelled @p what (a string that outlives the bar). End the last with
 * tfs_progress_fini if p->label is set. */
void tfs_progress_cb(void *arg, const char *what, uint64_t done, uint64_t total);

#endif
