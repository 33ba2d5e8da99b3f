/* Group fsync: many threads fsyncing at once share syncs, and every fsync
 * that returned is durable — checked by a child process that exits without
 * closing the volume (a crash as far as the volume can tell). */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs/vol/vol.h"
#include "fs/vol/vol_int.h"
#include "tests/harness/tmpvol.h"

#define THREADS 8
#define FILES 25

struct worker {
	struct vol *v;
	int id;
	int fd; /* pipe: one line per durable file */
	int rc;
};

static void fill(uint8_t *buf, size_t len, int id, int k)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(id * 31 + k * 7 + i);
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct vol_cred cred = {0};
	uint8_t buf[20000];

	for (int k = 0; k < FILES; k++) {
		char name[32];
		struct vol_attr a;
		snprintf(name, sizeof(name), "t%d-%d", w->id, k);
		w->rc = vol_create(w->v, VOL_ROOT_INO, name, S_IFREG | 0644, &cred, &a);
		if (w->rc < 0)
			return NULL;
		vol_forget(w->v, a.ino, 1);
		fill(buf, sizeof(buf), w->id, k);
		if (vol_write(w->v, a.ino, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf)) {
			w->rc = -EIO;
			return NULL;
		}
		w->rc = vol_fsync(w->v, a.ino, false);
		if (w->rc < 0)
			return NULL;
		char line[64];
		int n = snprintf(line, sizeof(line), "%d %d\n", w->id, k);
		if (write(w->fd, line, (size_t)n) != n)
			w->rc = -EIO;
	}
	return NULL;
}

Test(vol_sync, concurrent_fsyncs_are_shared_and_durable, .timeout = 300)
{
	struct tmpvol tv;
	int p[2];

	tmpvol_create(&tv, 0);
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		struct vol *v;
		struct worker w[THREADS];
		pthread_t t[THREADS];
		close(p[0]);
		if (vol_open(tv.meta, NULL, &v) < 0)
			_exit(2);
		for (int i = 0; i < THREADS; i++) {
			w[i] = (struct worker){.v = v, .id = i, .fd = p[1]};
			pthread_create(&t[i], NULL, work, &w[i]);
		}
		for (int i = 0; i < THREADS; i++) {
			pthread_join(t[i], NULL);
			if (w[i].rc < 0)
				_exit(3);
		}
		/* Coalescing: fewer syncs ran than were asked for. */
		fprintf(stderr, "vol_sync: %d fsyncs took %llu syncs\n", THREADS * FILES,
			(unsigned long long)v->sync_started);
		if (v->sync_started >= (uint64_t)THREADS * FILES)
			_exit(4);
		_exit(0); /* no vol_close: the volume is left as a crash leaves it */
	}
	close(p[1]);
	int st;
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed: status %d",
		  WEXITSTATUS(st));

	FILE *f = fdopen(p[0], "r");
	struct vol *v;
	cr_assert_eq(vol_open(tv.meta, NULL, &v), 0);
	cr_assert(vol_was_unclean(v));
	int id, k, n = 0;
	uint8_t want[20000], got[20001];
	while (fscanf(f, "%d %d", &id, &k) == 2) {
		char name[32];
		struct vol_attr a;
		snprintf(name, sizeof(name), "t%d-%d", id, k);
		cr_assert_eq(vol_lookup(v, VOL_ROOT_INO, name, &a), 0, "%s lost", name);
		fill(want, sizeof(want), id, k);
		cr_assert_eq(vol_read(v, a.ino, got, sizeof(got), 0), (ssize_t)sizeof(want));
		cr_assert(memcmp(want, got, sizeof(want)) == 0, "%s differs", name);
		vol_forget(v, a.ino, 1);
		n++;
	}
	fclose(f);
	cr_assert_eq(n, THREADS * FILES);
	cr_assert_eq(vol_close(v), 0);
	cr_assert_eq(tmpvol_fsck(&tv, ""), 0);
	tmpvol_destroy(&tv);
}
