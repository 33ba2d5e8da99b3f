/* Recovery after an unclean shutdown: a child process writes, frees and
 * syncs, then exits without vol_close. The next open must say it was
 * unclean, rebuild the free lists so that exactly the chunks the index
 * references are in use, keep every synced byte, and hand out only free
 * chunks afterwards. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs/vol/vol_int.h"
#include "tests/unit/vol/fixture.h"

static struct vol_cred cred = {.uid = 1000, .gid = 1000};
static const uint64_t R = VOL_ROOT_INO;

static int put(struct vol *v, const char *name, int byte, size_t len, uint64_t *ino)
{
	static char buf[256 * 1024];
	struct vol_attr a;
	int rc = vol_create(v, R, name, S_IFREG | 0644, &cred, &a);
	if (rc < 0)
		return rc;
	vol_forget(v, a.ino, 1);
	memset(buf, byte, len);
	if (vol_write(v, a.ino, buf, len, 0) != (ssize_t)len)
		return -EIO;
	*ino = a.ino;
	return 0;
}

/* The child's work; exit code 0 means every step worked. */
static void child(const char *meta)
{
	struct vol *v;
	uint64_t a, b, c;

	if (vol_open(meta, NULL, &v) < 0)
		_exit(2);
	if (put(v, "a", 0xa1, 100 * 1024, &a) < 0 || put(v, "b", 0xb2, 50 * 1024, &b) < 0)
		_exit(3);
	if (vol_sync_all(v) < 0)
		_exit(4);
	/* free chunks in the middle of what was allocated */
	if (vol_unlink(v, R, "b") < 0)
		_exit(5);
	struct vol_attr in = {.size = 30 * 1024}, out;
	if (vol_setattr(v, a, &in, VOL_SET_SIZE, &out) < 0)
		_exit(6);
	if (vol_sync_all(v) < 0)
		_exit(7);
	if (put(v, "c", 0xc3, 10 * 1024, &c) < 0)
		_exit(8);
	if (vol_fsync(v, c, false) < 0)
		_exit(9);
	_exit(0); /* no vol_close: the volume stays marked unclean */
}

static void run_child(const struct tmpvol *tv)
{
	int status;
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		child(tv->meta);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed at step %d",
		  WEXITSTATUS(status));
}

static uint64_t expect_file(struct fx *f, const char *name, int byte, size_t len)
{
	struct vol_attr a;
	int rc = vol_lookup(f->v, R, name, &a);
	cr_assert_eq(rc, 0, "lookup %s: %d", name, rc);
	vol_forget(f->v, a.ino, 1);
	cr_assert_eq(a.size, len, "%s has %llu bytes", name, (unsigned long long)a.size);
	fx_expect_bytes(f, a.ino, byte, len, 0);
	return a.ino;
}

static uint64_t chunks_for(struct fx *f, size_t len)
{
	return (len + f->cs - 1) / f->cs;
}

static void expect_recovered_state(struct fx *f)
{
	struct vol_attr st;
	expect_file(f, "a", 0xa1, 30 * 1024);
	expect_file(f, "c", 0xc3, 10 * 1024);
	cr_assert_eq(vol_lookup(f->v, R, "b", &st), -ENOENT);
}

Test(recovery, unclean_shutdown_is_detected_and_repaired)
{
	struct fx f;
	struct vol_statfs sf;

	memset(&f, 0, sizeof(f));
	tmpvol_create(&f.tv, 0);
	run_child(&f.tv);

	fx_open(&f);
	cr_assert_eq(vol_was_unclean(f.v), true);
	expect_recovered_state(&f);
	/* exactly what the index references is in use */
	uint64_t want = chunks_for(&f, 30 * 1024) + chunks_for(&f, 10 * 1024);
	cr_assert_eq(fx_used(&f), want, "used %llu chunks, the index references %llu",
		     (unsigned long long)fx_used(&f), (unsigned long long)want);
	cr_assert_eq(vol_statfs(f.v, &sf), 0);
	cr_assert_eq(sf.blocks - sf.bfree, want);

	/* new writes take free chunks only: the old files stay intact */
	uint64_t d;
	cr_assert_eq(put(f.v, "d", 0xd4, 200 * 1024, &d), 0);
	expect_recovered_state(&f);
	expect_file(&f, "d", 0xd4, 200 * 1024);
	cr_assert_eq(fx_used(&f), want + chunks_for(&f, 200 * 1024));

	/* a clean close: the next open is clean and sees the same */
	fx_reopen(&f);
	cr_assert_eq(vol_was_unclean(f.v), false);
	expect_recovered_state(&f);
	expect_file(&f, "d", 0xd4, 200 * 1024);
	cr_assert_eq(fx_used(&f), want + chunks_for(&f, 200 * 1024));
	fx_teardown(&f);
}

Test(recovery, read_only_and_no_recover_opens_leave_it_unclean)
{
	struct fx f;
	struct vol *v;

	memset(&f, 0, sizeof(f));
	tmpvol_create(&f.tv, 0);
	run_child(&f.tv);

	struct vol_open_opts ro = {.flags = VOL_RDONLY | VOL_NO_RECOVER, .owner = "status"};
	cr_assert_eq(vol_open(f.tv.meta, &ro, &v), 0);
	cr_assert_eq(vol_was_unclean(v), true);
	struct vol_attr a;
	cr_assert_eq(vol_lookup(v, R, "c", &a), 0);
	char buf[16];
	cr_assert_eq(vol_read(v, a.ino, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	cr_assert_eq((uint8_t)buf[0], 0xc3);
	struct vol_cred cr = {0};
	cr_assert_eq(vol_create(v, R, "no", S_IFREG | 0644, &cr, &a), -EROFS);
	cr_assert_eq(vol_close(v), 0);

	struct vol_open_opts nr = {.flags = VOL_NO_RECOVER, .owner = "debug"};
	cr_assert_eq(vol_open(f.tv.meta, &nr, &v), 0);
	cr_assert_eq(vol_was_unclean(v), true);
	cr_assert_eq(vol_close(v), 0);

	/* still unclean: the first normal open recovers */
	fx_open(&f);
	cr_assert_eq(vol_was_unclean(f.v), true);
	expect_recovered_state(&f);
	fx_reopen(&f);
	cr_assert_eq(vol_was_unclean(f.v), false);
	fx_teardown(&f);
}

Test(recovery, repeated_crashes)
{
	struct fx f;

	memset(&f, 0, sizeof(f));
	tmpvol_create(&f.tv, 0);
	for (int i = 0; i < 3; i++) {
		/* the child recreates a, b and c each time: remove the last round's */
		if (i > 0) {
			fx_open(&f);
			cr_assert_eq(vol_was_unclean(f.v), true);
			expect_recovered_state(&f);
			cr_assert_eq(vol_unlink(f.v, R, "a"), 0);
			cr_assert_eq(vol_unlink(f.v, R, "c"), 0);
			fx_close(&f);
		}
		run_child(&f.tv);
	}
	fx_open(&f);
	expect_recovered_state(&f);
	cr_assert_eq(fx_used(&f), chunks_for(&f, 30 * 1024) + chunks_for(&f, 10 * 1024));
	fx_teardown(&f);
}
