/* Terminal progress bar: redrawn in place with \r, throttled to 10 Hz. */
#include "core/base/progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void draw(struct tfs_progress *p)
{
	double secs = (double)(now_ms() - p->t0_ms) / 1000;
	double rate = secs >= 0.5 ? (double)p->done / secs : 0;
	char eta[32] = "";

	if (p->total && rate > 0 && p->done < p->total) {
		unsigned long long s = (unsigned long long)((double)(p->total - p->done) / rate);
		snprintf(eta, sizeof(eta), ", %.0f/s, ETA %llu:%02llu:%02llu", rate, s / 3600,
			 s / 60 % 60, s % 60);
	}
	if (p->total) {
		int pct = (int)(p->done * 100 / p->total);
		int fill = pct * 30 / 100;
		fprintf(stderr, "\r%s [%.*s%*s] %3d%% (%llu/%llu%s)\033[K", p->label, fill,
			"##############################", 30 - fill, "", pct,
			(unsigned long long)p->done, (unsigned long long)p->total, eta);
	} else {
		fprintf(stderr, "\r%s %llu", p->label, (unsigned long long)p->done);
	}
	fflush(stderr);
}

void tfs_progress_init(struct tfs_progress *p, const char *label, uint64_t total)
{
	p->label = label;
	p->total = total;
	p->done = 0;
	p->tty = isatty(STDERR_FILENO);
	p->last_ms = 0;
	p->t0_ms = now_ms();
}

void tfs_progress_update(struct tfs_progress *p, uint64_t done)
{
	p->done = done;
	if (!p->tty)
		return;
	long long t = now_ms();
	if (t - p->last_ms < 100)
		return;
	p->last_ms = t;
	draw(p);
}

void tfs_progress_fini(struct tfs_progress *p)
{
	if (!p->tty)
		return;
	if (p->total)
		p->done = p->total;
	draw(p);
	fputc('\n', stderr);
}

void tfs_progress_cb(void *arg, const char *what, uint64_t done, uint64_t total)
{
	struct tfs_progress *p = arg;

	if (p->label != what) {
		if (p->label)
			tfs_progress_fini(p);
		tfs_progress_init(p, what, total);
	}
	p->total = total;
	tfs_progress_update(p, done);
}
