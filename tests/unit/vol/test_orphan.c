/* Orphans: an inode unlinked while referenced stays readable until its last
 * vol_forget, is reclaimed at close, and after a crash (a child process
 * that exits without closing) is reclaimed by the next open, leaving no
 * extents and no used chunks behind. */
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

static int count_orphan_cb(void *arg, uint64_t ino)
{
	(*(unsigned *)arg)++;
	return 0;
}

static unsigned orphans(struct fx *f)
{
	struct idx_txn *txn;
	unsigned n = 0;
	cr_assert_eq(idx_txn_begin(f->v->idx, &txn), 0);
	cr_assert_eq(idx_orphan_iter(txn, count_orphan_cb, &n), 0);
	idx_txn_abort(txn);
	return n;
}

struct ext_count {
	uint64_t ino;
	uint64_t of_ino, total_chunks;
};

static int count_extent_cb(void *arg, uint64_t ino, const struct idx_extent *e)
{
	struct ext_count *c = arg;
	if (ino == c->ino)
		c->of_ino++;
	c->total_chunks += e->nchunks;
	return 0;
}

/* fsck-like: extents of @p ino, and that the pool's used chunks equal what
 * the index references (after a sync, nothing is deferred). */
static uint64_t extents_of(struct fx *f, uint64_t ino)
{
	struct ext_count c = {.ino = ino};
	struct idx_txn *txn;
	cr_assert_eq(idx_txn_begin(f->v->idx, &txn), 0);
	cr_assert_eq(idx_extent_iter_all(txn, count_extent_cb, &c), 0);
	idx_txn_abort(txn);
	cr_assert_eq(vol_sync_all(f->v), 0);
	cr_assert_eq(fx_used(f), c.total_chunks, "pool uses %llu chunks, index references %llu",
		     (unsigned long long)fx_used(f), (unsigned long long)c.total_chunks);
	return c.of_ino;
}

Test(orphan, unlinked_file_stays_readable_until_forgotten)
{
	struct fx f;
	struct vol_attr a, st;

	fx_setup(&f, 0);
	cr_assert_eq(vol_create(f.v, R, "victim", S_IFREG | 0644, &cred, &a), 0);
	fx_fill(&f, a.ino, 0x77, 3 * f.cs + 100, 0);
	cr_assert_eq(vol_unlink(f.v, R, "victim"), 0);
	cr_assert_eq(vol_lookup(f.v, R, "victim", &st), -ENOENT);
	cr_assert_eq(vol_getattr(f.v, a.ino, &st), 0);
	cr_assert_eq(st.nlink, 0);
	cr_assert_eq(orphans(&f), 1);
	fx_expect_bytes(&f, a.ino, 0x77, 3 * f.cs + 100, 0);
	/* still writable, like an open file descriptor */
	fx_fill(&f, a.ino, 0x78, 10, 0);
	fx_expect_bytes(&f, a.ino, 0x78, 10, 0);
	cr_assert_gt(extents_of(&f, a.ino), 0);
	cr_assert_eq(vol_link(f.v, a.ino, R, "resurrect", &st), -ENOENT);

	vol_forget(f.v, a.ino, 1);
	cr_assert_eq(vol_getattr(f.v, a.ino, &st), -ENOENT);
	cr_assert_eq(orphans(&f), 0);
	cr_assert_eq(extents_of(&f, a.ino), 0);
	cr_assert_eq(fx_used(&f), 0);
	fx_teardown(&f);
}

Test(orphan, several_references_all_must_go)
{
	struct fx f;
	struct vol_attr a, st;

	fx_setup(&f, 0);
	cr_assert_eq(vol_create(f.v, R, "x", S_IFREG | 0644, &cred, &a), 0);
	cr_assert_eq(vol_lookup(f.v, R, "x", &st), 0);
	fx_fill(&f, a.ino, 1, 5000, 0);
	cr_assert_eq(vol_unlink(f.v, R, "x"), 0);
	vol_forget(f.v, a.ino, 1);
	fx_expect_bytes(&f, a.ino, 1, 5000, 0);
	vol_forget(f.v, a.ino, 1);
	cr_assert_eq(vol_getattr(f.v, a.ino, &st), -ENOENT);
	fx_teardown(&f);
}

Test(orphan, removed_directory_that_is_referenced)
{
	struct fx f;
	struct vol_attr d, st;

	fx_setup(&f, 0);
	cr_assert_eq(vol_mkdir(f.v, R, "d", 0755, &cred, &d), 0);
	cr_assert_eq(vol_setxattr(f.v, d.ino, "user.x", "1", 1, 0), 0);
	cr_assert_eq(vol_rmdir(f.v, R, "d"), 0);
	cr_assert_eq(orphans(&f), 1);
	cr_assert_eq(vol_getattr(f.v, d.ino, &st), 0);
	vol_forget(f.v, d.ino, 1);
	cr_assert_eq(vol_getattr(f.v, d.ino, &st), -ENOENT);
	cr_assert_eq(orphans(&f), 0);
	fx_teardown(&f);
}

Test(orphan, close_reclaims_orphans_still_referenced)
{
	struct fx f;
	struct vol_attr a, st;

	fx_setup(&f, 0);
	cr_assert_eq(vol_create(f.v, R, "open", S_IFREG | 0644, &cred, &a), 0);
	fx_fill(&f, a.ino, 9, 2 * f.cs, 0);
	cr_assert_eq(vol_unlink(f.v, R, "open"), 0);
	/* no vol_forget: closing drops every reference */
	fx_reopen(&f);
	cr_assert_eq(vol_was_unclean(f.v), false);
	cr_assert_eq(vol_getattr(f.v, a.ino, &st), -ENOENT);
	cr_assert_eq(orphans(&f), 0);
	cr_assert_eq(extents_of(&f, a.ino), 0);
	cr_assert_eq(fx_used(&f), 0);
	fx_teardown(&f);
}

/* The child: make a kept file and an orphan, sync, and exit without
 * closing, as a crash would. Exit codes say which step failed. */
static void crash_child(const char *meta)
{
	struct vol *v;
	struct vol_attr keep, gone;
	static char buf[20000];

	if (vol_open(meta, NULL, &v) < 0)
		_exit(2);
	memset(buf, 0xab, sizeof(buf));
	if (vol_create(v, R, "keep", S_IFREG | 0644, &cred, &keep) < 0 ||
	    vol_write(v, keep.ino, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		_exit(3);
	memset(buf, 0xcd, sizeof(buf));
	if (vol_create(v, R, "gone", S_IFREG | 0644, &cred, &gone) < 0 ||
	    vol_write(v, gone.ino, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		_exit(4);
	if (vol_unlink(v, R, "gone") < 0)
		_exit(5);
	if (vol_sync_all(v) < 0)
		_exit(6);
	/* report the orphan's inode number through the exit status */
	_exit(gone.ino < 100 ? (int)(100 + gone.ino) : 7);
}

Test(orphan, crash_with_an_orphan_is_reclaimed_at_the_next_open)
{
	struct fx f;
	struct vol_attr st;
	int status;

	memset(&f, 0, sizeof(f));
	tmpvol_create(&f.tv, 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		crash_child(f.tv.meta);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	cr_assert_geq(WEXITSTATUS(status), 100, "child failed at step %d", WEXITSTATUS(status));
	uint64_t gone = (uint64_t)WEXITSTATUS(status) - 100;

	fx_open(&f);
	cr_assert_eq(vol_was_unclean(f.v), true);
	cr_assert_eq(vol_getattr(f.v, gone, &st), -ENOENT, "the orphan was reclaimed");
	cr_assert_eq(orphans(&f), 0);
	cr_assert_eq(extents_of(&f, gone), 0);
	cr_assert_eq(vol_lookup(f.v, R, "keep", &st), 0);
	cr_assert_eq(st.size, 20000);
	fx_expect_bytes(&f, st.ino, 0xab, 20000, 0);
	cr_assert_eq(fx_used(&f), (20000 + f.cs - 1) / f.cs);
	vol_forget(f.v, st.ino, 1);
	/* a clean close after the recovery: the next open is clean */
	fx_reopen(&f);
	cr_assert_eq(vol_was_unclean(f.v), false);
	fx_teardown(&f);
}
