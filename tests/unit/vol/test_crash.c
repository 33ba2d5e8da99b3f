/* Crash test: a child process runs random operations through fs/vol with
 * fsyncs and is killed with SIGKILL at a random moment, many times over the
 * same volume. After each kill the volume must reopen (recovering), every
 * file the child reported as fsynced must read back byte for byte, and
 * fsck.trackfs must find the volume clean once it is closed again. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fs/vol/vol.h"
#include "tests/harness/tmpvol.h"

static uint64_t mix(uint64_t z)
{
	z += 0x9E3779B97F4A7C15ull;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* The content of file (gen, k) is a pure function of its name and offset. */
static void content(unsigned gen, unsigned k, uint64_t off, uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint64_t o = off + i;
		p[i] = (uint8_t)(mix(((uint64_t)gen << 40) ^ ((uint64_t)k << 20) ^ (o >> 3)) >>
				 (8 * (o & 7)));
	}
}

static void logline(int fd, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* one write(2): a kill cannot tear it */
	if (write(fd, buf, (size_t)n) != n)
		_exit(5);
}

/* Write file (gen, k) of @p size bytes in random pieces and random order. */
static int write_file(struct vol *v, uint64_t ino, unsigned gen, unsigned k, size_t size,
		      uint64_t *rng)
{
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return -ENOMEM;
	content(gen, k, 0, buf, size);
	size_t off = 0;
	while (off < size) {
		size_t piece = 1 + (*rng = mix(*rng)) % 70000;
		if (piece > size - off)
			piece = size - off;
		ssize_t n = vol_write(v, ino, buf + off, piece, (off_t)off);
		if (n != (ssize_t)piece) {
			free(buf);
			return n < 0 ? (int)n : -EIO;
		}
		off += piece;
	}
	free(buf);
	return 0;
}

static void child(const char *meta, int logfd, unsigned gen)
{
	struct vol *v;
	struct vol_attr a;
	struct vol_cred cred = {0};
	uint64_t rng = mix(gen + 77);
	char name[64], tmp[64];

	if (vol_open(meta, NULL, &v) < 0)
		_exit(3);
	for (unsigned k = 0;; k++) {
		rng = mix(rng);
		size_t size = rng % (300 * 1024);
		bool via_rename = (rng >> 20) % 3 == 0;
		snprintf(name, sizeof(name), "c%u_%u", gen, k);
		snprintf(tmp, sizeof(tmp), ".tmp%u_%u", gen, k);
		if (vol_create(v, VOL_ROOT_INO, via_rename ? tmp : name, S_IFREG | 0644, &cred,
			       &a) < 0)
			_exit(4);
		vol_forget(v, a.ino, 1);
		if (write_file(v, a.ino, gen, k, size, &rng) < 0)
			_exit(6);
		if (via_rename && vol_rename(v, VOL_ROOT_INO, tmp, VOL_ROOT_INO, name, 0) < 0)
			_exit(7);
		if ((rng >> 8) % 2 == 0) {
			if (vol_fsync(v, a.ino, false) < 0)
				_exit(8);
			logline(logfd, "F %s %zu\n", name, size);
		}
		/* churn: overwrite and shrink a scratch file so chunks are freed */
		if (vol_lookup(v, VOL_ROOT_INO, "scratch", &a) == 0 ||
		    vol_create(v, VOL_ROOT_INO, "scratch", S_IFREG | 0644, &cred, &a) == 0) {
			vol_forget(v, a.ino, 1);
			uint8_t junk[8192];
			memset(junk, (int)(rng & 0xff), sizeof(junk));
			vol_write(v, a.ino, junk, sizeof(junk), (off_t)((rng >> 16) % (1 << 20)));
			if ((rng >> 40) % 5 == 0) {
				struct vol_attr in = {.size = (rng >> 44) % 100000}, out;
				vol_setattr(v, a.ino, &in, VOL_SET_SIZE, &out);
			}
		}
		/* now and then delete an older file, saying so first */
		if (k > 3 && (rng >> 30) % 4 == 0) {
			snprintf(name, sizeof(name), "c%u_%u", gen, k - 3);
			logline(logfd, "U %s\n", name);
			vol_unlink(v, VOL_ROOT_INO, name);
		}
	}
}

struct rec {
	char name[64];
	size_t size;
	unsigned gen, k;
	bool gone;
};

static size_t load_log(const char *path, struct rec *recs, size_t max)
{
	FILE *f = fopen(path, "r");
	char line[256];
	size_t n = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char kind, name[64];
		size_t size = 0;
		if (sscanf(line, "%c %63s %zu", &kind, name, &size) < 2)
			continue;
		if (kind == 'U') {
			for (size_t i = 0; i < n; i++)
				if (strcmp(recs[i].name, name) == 0)
					recs[i].gone = true;
			continue;
		}
		if (n == max)
			break;
		struct rec *r = &recs[n++];
		snprintf(r->name, sizeof(r->name), "%s", name);
		r->size = size;
		r->gone = false;
		sscanf(name, "c%u_%u", &r->gen, &r->k);
	}
	fclose(f);
	return n;
}

static void verify(struct vol *v, struct rec *recs, size_t n, unsigned iter)
{
	for (size_t i = 0; i < n; i++) {
		struct rec *r = &recs[i];
		struct vol_attr a;
		int rc = vol_lookup(v, VOL_ROOT_INO, r->name, &a);
		if (r->gone)
			continue; /* deleted or not: both are fine after the "U" line */
		cr_assert_eq(rc, 0, "iteration %u: fsynced file %s is missing (%d)", iter, r->name,
			     rc);
		vol_forget(v, a.ino, 1);
		cr_assert_eq(a.size, r->size, "iteration %u: %s has size %" PRIu64 ", fsynced %zu",
			     iter, r->name, a.size, r->size);
		uint8_t *want = malloc(r->size + 1), *got = malloc(r->size + 1);
		cr_assert(want && got);
		content(r->gen, r->k, 0, want, r->size);
		ssize_t got_n = vol_read(v, a.ino, got, r->size + 1, 0);
		cr_assert_eq(got_n, (ssize_t)r->size, "iteration %u: read %s: %zd", iter, r->name,
			     got_n);
		cr_assert(memcmp(want, got, r->size) == 0,
			  "iteration %u: %s differs from what was fsynced", iter, r->name);
		free(want);
		free(got);
	}
}

Test(crash, sigkill_during_random_operations, .timeout = 900)
{
	struct tmpvol tv;
	char logpath[PATH_MAX + 16];
	const char *it_env = getenv("TRACKFS_CRASH_ITERATIONS");
	unsigned iterations = it_env ? (unsigned)atoi(it_env) : 30;
	static struct rec recs[100000];
	uint64_t rng = 12345;

	tmpvol_create(&tv, 0);
	snprintf(logpath, sizeof(logpath), "%s/fsynced.log", tv.root);
	int logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
	cr_assert(logfd >= 0);

	for (unsigned iter = 0; iter < iterations; iter++) {
		pid_t pid = fork();
		cr_assert(pid >= 0);
		if (pid == 0) {
			child(tv.meta, logfd, iter);
			_exit(0);
		}
		rng = mix(rng);
		struct timespec ts = {0, (long)(30 + rng % 400) * 1000000L};
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int st;
		waitpid(pid, &st, 0);
		cr_assert(WIFSIGNALED(st), "iteration %u: the child exited early with status %d",
			  iter, WEXITSTATUS(st));

		struct vol *v;
		int rc = vol_open(tv.meta, NULL, &v);
		cr_assert_eq(rc, 0, "iteration %u: reopen after SIGKILL failed: %d", iter, rc);
		size_t n = load_log(logpath, recs, sizeof(recs) / sizeof(recs[0]));
		verify(v, recs, n, iter);
		cr_assert_eq(vol_close(v), 0);
		rc = tmpvol_fsck(&tv, "");
		cr_assert_eq(rc, 0, "iteration %u: fsck.trackfs exit status %d after recovery",
			     iter, rc);
		fprintf(stderr, "crash: iteration %u: %zu fsynced files verified\n", iter, n);
	}
	close(logfd);
	tmpvol_destroy(&tv);
}
