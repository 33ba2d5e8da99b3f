/* rename and renameat2: moves within and across directories, replacing
 * files and empty directories, every error case, NOREPLACE, EXCHANGE, the
 * subtree check, link counts, ".." and times. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fs/vol/vol_int.h"
#include "tests/unit/vol/fixture.h"

static struct fx f;
static struct vol_cred cred = {.uid = 1000, .gid = 1000};
static const uint64_t R = VOL_ROOT_INO;

static void setup(void)
{
	fx_setup(&f, 0);
}

static void teardown(void)
{
	fx_teardown(&f);
}

TestSuite(rename, .init = setup, .fini = teardown);

static uint64_t mkdir_in(uint64_t parent, const char *name)
{
	struct vol_attr a;
	int rc = vol_mkdir(f.v, parent, name, 0755, &cred, &a);
	cr_assert_eq(rc, 0, "mkdir %s: %d", name, rc);
	vol_forget(f.v, a.ino, 1);
	return a.ino;
}

static uint64_t create_in(uint64_t parent, const char *name)
{
	struct vol_attr a;
	int rc = vol_create(f.v, parent, name, S_IFREG | 0644, &cred, &a);
	cr_assert_eq(rc, 0, "create %s: %d", name, rc);
	vol_forget(f.v, a.ino, 1);
	return a.ino;
}

/* The inode @p name names in @p parent, or 0. */
static uint64_t ino_of(uint64_t parent, const char *name)
{
	struct vol_attr a;
	if (vol_lookup(f.v, parent, name, &a) < 0)
		return 0;
	vol_forget(f.v, a.ino, 1);
	return a.ino;
}

static uint64_t dotdot(uint64_t dir)
{
	return ino_of(dir, "..");
}

static void tick(void)
{
	struct timespec ts = {0, 2000000};
	nanosleep(&ts, NULL);
}

static bool ts_lt(struct timespec a, struct timespec b)
{
	return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

Test(rename, within_a_directory)
{
	uint64_t a = create_in(R, "a");
	struct vol_attr before = fx_getattr(&f, a), rb = fx_getattr(&f, R);
	tick();
	cr_assert_eq(vol_rename(f.v, R, "a", R, "b", 0), 0);
	cr_assert_eq(ino_of(R, "a"), 0);
	cr_assert_eq(ino_of(R, "b"), a);
	struct vol_attr after = fx_getattr(&f, a), ra = fx_getattr(&f, R);
	cr_assert(ts_lt(before.ctime, after.ctime), "the moved inode's ctime");
	cr_assert(ts_lt(rb.mtime, ra.mtime) && ts_lt(rb.ctime, ra.ctime));
	cr_assert_eq(after.nlink, 1);
	cr_assert_eq(vol_rename(f.v, R, "a", R, "c", 0), -ENOENT);
}

Test(rename, across_directories_with_times)
{
	uint64_t d1 = mkdir_in(R, "d1"), d2 = mkdir_in(R, "d2");
	uint64_t x = create_in(d1, "x");
	struct vol_attr b1 = fx_getattr(&f, d1), b2 = fx_getattr(&f, d2);
	tick();
	cr_assert_eq(vol_rename(f.v, d1, "x", d2, "y", 0), 0);
	cr_assert_eq(ino_of(d1, "x"), 0);
	cr_assert_eq(ino_of(d2, "y"), x);
	struct vol_attr a1 = fx_getattr(&f, d1), a2 = fx_getattr(&f, d2);
	cr_assert(ts_lt(b1.mtime, a1.mtime) && ts_lt(b2.mtime, a2.mtime));
	cr_assert(ts_lt(b1.ctime, a1.ctime) && ts_lt(b2.ctime, a2.ctime));
	cr_assert_eq(a1.nlink, 2);
	cr_assert_eq(a2.nlink, 2);
}

Test(rename, directory_across_parents_fixes_links_and_dotdot)
{
	uint64_t p1 = mkdir_in(R, "p1"), p2 = mkdir_in(R, "p2");
	uint64_t d = mkdir_in(p1, "d");
	mkdir_in(d, "inner");
	cr_assert_eq(fx_getattr(&f, p1).nlink, 3);
	cr_assert_eq(vol_rename(f.v, p1, "d", p2, "d", 0), 0);
	cr_assert_eq(fx_getattr(&f, p1).nlink, 2);
	cr_assert_eq(fx_getattr(&f, p2).nlink, 3);
	cr_assert_eq(fx_getattr(&f, d).nlink, 3);
	cr_assert_eq(dotdot(d), p2);
	/* survives a reopen (the parent field is in the index) */
	fx_reopen(&f);
	cr_assert_eq(dotdot(d), p2);
	cr_assert_eq(ino_of(p2, "d"), d);
}

Test(rename, replaces_a_file_and_frees_it)
{
	uint64_t a = create_in(R, "a"), b = create_in(R, "b");
	fx_fill(&f, b, 0x33, 4 * f.cs, 0);
	fx_fill(&f, a, 0x44, f.cs, 0);
	cr_assert_eq(fx_used(&f), 5);
	cr_assert_eq(vol_rename(f.v, R, "a", R, "b", 0), 0);
	cr_assert_eq(ino_of(R, "b"), a);
	cr_assert_eq(ino_of(R, "a"), 0);
	struct vol_attr st;
	cr_assert_eq(vol_getattr(f.v, b, &st), -ENOENT, "the replaced file is gone");
	cr_assert_eq(vol_sync_all(f.v), 0);
	cr_assert_eq(fx_used(&f), 1, "its chunks are free once the index is durable");
	fx_expect_bytes(&f, a, 0x44, f.cs, 0);
}

Test(rename, replaced_file_with_another_link_survives)
{
	uint64_t a = create_in(R, "a"), b = create_in(R, "b");
	struct vol_attr l;
	cr_assert_eq(vol_link(f.v, b, R, "b2", &l), 0);
	vol_forget(f.v, b, 1);
	cr_assert_eq(vol_rename(f.v, R, "a", R, "b", 0), 0);
	cr_assert_eq(ino_of(R, "b"), a);
	cr_assert_eq(fx_getattr(&f, b).nlink, 1);
	cr_assert_eq(ino_of(R, "b2"), b);
}

Test(rename, replaced_open_file_becomes_an_orphan)
{
	uint64_t a = create_in(R, "a");
	struct vol_attr b;
	cr_assert_eq(vol_create(f.v, R, "b", S_IFREG | 0644, &cred, &b), 0); /* keeps a ref */
	fx_fill(&f, b.ino, 0x55, 3000, 0);
	cr_assert_eq(vol_rename(f.v, R, "a", R, "b", 0), 0);
	fx_expect_bytes(&f, b.ino, 0x55, 3000, 0);
	cr_assert_eq(fx_getattr(&f, b.ino).nlink, 0);
	vol_forget(f.v, b.ino, 1);
	struct vol_attr st;
	cr_assert_eq(vol_getattr(f.v, b.ino, &st), -ENOENT);
	cr_assert_eq(ino_of(R, "b"), a);
}

Test(rename, hard_links_of_one_inode_is_a_no_op)
{
	uint64_t a = create_in(R, "a");
	struct vol_attr l;
	cr_assert_eq(vol_link(f.v, a, R, "a2", &l), 0);
	vol_forget(f.v, a, 1);
	cr_assert_eq(vol_rename(f.v, R, "a", R, "a2", 0), 0);
	cr_assert_eq(ino_of(R, "a"), a, "POSIX: both names stay");
	cr_assert_eq(ino_of(R, "a2"), a);
	cr_assert_eq(fx_getattr(&f, a).nlink, 2);
	cr_assert_eq(vol_rename(f.v, R, "a", R, "a", 0), 0);
	cr_assert_eq(ino_of(R, "a"), a);
	cr_assert_eq(vol_rename(f.v, R, "a", R, "a2", VOL_RENAME_NOREPLACE), -EEXIST);
	cr_assert_eq(vol_rename(f.v, R, "a", R, "a", VOL_RENAME_NOREPLACE), -EEXIST);
	cr_assert_eq(vol_rename(f.v, R, "a", R, "a2", VOL_RENAME_EXCHANGE), 0);
	cr_assert_eq(ino_of(R, "a2"), a);
}

Test(rename, directory_over_directories)
{
	uint64_t src = mkdir_in(R, "src"), empty = mkdir_in(R, "empty");
	uint64_t full = mkdir_in(R, "full");
	create_in(full, "x");
	create_in(R, "file");
	cr_assert_eq(fx_getattr(&f, R).nlink, 5);

	cr_assert_eq(vol_rename(f.v, R, "src", R, "full", 0), -ENOTEMPTY);
	cr_assert_eq(vol_rename(f.v, R, "src", R, "file", 0), -ENOTDIR);
	cr_assert_eq(vol_rename(f.v, R, "file", R, "empty", 0), -EISDIR);
	cr_assert_eq(vol_rename(f.v, R, "src", R, "empty", 0), 0);
	cr_assert_eq(ino_of(R, "empty"), src);
	cr_assert_eq(ino_of(R, "src"), 0);
	struct vol_attr st;
	cr_assert_eq(vol_getattr(f.v, empty, &st), -ENOENT);
	cr_assert_eq(fx_getattr(&f, R).nlink, 4, "one subdirectory fewer");

	/* across parents: the replaced dir's parent keeps its count */
	uint64_t p = mkdir_in(R, "p");
	mkdir_in(p, "target");
	cr_assert_eq(vol_rename(f.v, R, "empty", p, "target", 0), 0);
	cr_assert_eq(fx_getattr(&f, p).nlink, 3);
	cr_assert_eq(fx_getattr(&f, R).nlink, 4);
	cr_assert_eq(dotdot(src), p);
}

Test(rename, into_its_own_subtree_is_einval)
{
	uint64_t a = mkdir_in(R, "a"), b = mkdir_in(a, "b"), c = mkdir_in(b, "c");
	cr_assert_eq(vol_rename(f.v, R, "a", c, "a", 0), -EINVAL);
	cr_assert_eq(vol_rename(f.v, R, "a", a, "self", 0), -EINVAL);
	cr_assert_eq(vol_rename(f.v, a, "b", c, "x", 0), -EINVAL);
	create_in(b, "x");
	cr_assert_eq(vol_rename(f.v, R, "a", b, "x", VOL_RENAME_EXCHANGE), -EINVAL);
	cr_assert_eq(vol_rename(f.v, b, "x", R, "a", VOL_RENAME_EXCHANGE), -EINVAL);
	/* moving up is fine */
	cr_assert_eq(vol_rename(f.v, b, "c", R, "c", 0), 0);
	cr_assert_eq(dotdot(c), R);
	cr_assert_eq(fx_getattr(&f, b).nlink, 2);
}

Test(rename, bad_names_and_flags)
{
	uint64_t d = mkdir_in(R, "d");
	create_in(R, "f");
	cr_assert_eq(vol_rename(f.v, R, "f", R, "g", 4), -EINVAL);
	cr_assert_eq(vol_rename(f.v, R, "f", R, "g", VOL_RENAME_NOREPLACE | VOL_RENAME_EXCHANGE),
		     -EINVAL);
	cr_assert_eq(vol_rename(f.v, d, ".", R, "g", 0), -EBUSY);
	cr_assert_eq(vol_rename(f.v, R, "f", d, "..", 0), -EBUSY);
	cr_assert_eq(vol_rename(f.v, R, "f", d, "..", VOL_RENAME_NOREPLACE), -EEXIST);
	cr_assert_eq(vol_rename(f.v, R, "f", R, "a/b", 0), -EINVAL);
	cr_assert_eq(vol_rename(f.v, R, "nope", R, "g", 0), -ENOENT);
	cr_assert_eq(vol_rename(f.v, R, "f", 987654, "g", 0), -ENOENT);
	uint64_t file = ino_of(R, "f");
	cr_assert_eq(vol_rename(f.v, R, "f", file, "g", 0), -ENOTDIR);
}

Test(rename, noreplace)
{
	uint64_t a = create_in(R, "a"), b = create_in(R, "b");
	cr_assert_eq(vol_rename(f.v, R, "a", R, "b", VOL_RENAME_NOREPLACE), -EEXIST);
	cr_assert_eq(ino_of(R, "a"), a);
	cr_assert_eq(ino_of(R, "b"), b);
	cr_assert_eq(vol_rename(f.v, R, "a", R, "c", VOL_RENAME_NOREPLACE), 0);
	cr_assert_eq(ino_of(R, "c"), a);
}

Test(rename, exchange_file_and_directory)
{
	uint64_t p1 = mkdir_in(R, "p1"), p2 = mkdir_in(R, "p2");
	uint64_t file = create_in(p1, "x");
	uint64_t dir = mkdir_in(p2, "y");
	cr_assert_eq(vol_rename(f.v, p1, "x", p2, "nope", VOL_RENAME_EXCHANGE), -ENOENT);
	cr_assert_eq(fx_getattr(&f, p1).nlink, 2);
	cr_assert_eq(fx_getattr(&f, p2).nlink, 3);
	cr_assert_eq(vol_rename(f.v, p1, "x", p2, "y", VOL_RENAME_EXCHANGE), 0);
	cr_assert_eq(ino_of(p1, "x"), dir);
	cr_assert_eq(ino_of(p2, "y"), file);
	cr_assert_eq(fx_getattr(&f, p1).nlink, 3, "the directory moved into p1");
	cr_assert_eq(fx_getattr(&f, p2).nlink, 2);
	cr_assert_eq(dotdot(dir), p1);
	cr_assert_eq(fx_getattr(&f, file).nlink, 1);
	cr_assert_eq(fx_getattr(&f, dir).nlink, 2);
	/* and back, within one directory too */
	uint64_t g = create_in(p1, "g");
	cr_assert_eq(vol_rename(f.v, p1, "x", p1, "g", VOL_RENAME_EXCHANGE), 0);
	cr_assert_eq(ino_of(p1, "g"), dir);
	cr_assert_eq(ino_of(p1, "x"), g);
	cr_assert_eq(fx_getattr(&f, p1).nlink, 3);
}

Test(rename, exchange_two_directories)
{
	uint64_t a = mkdir_in(R, "a"), b = mkdir_in(R, "b");
	uint64_t ad = mkdir_in(a, "d"), bd = create_in(b, "d");
	create_in(ad, "keep");
	cr_assert_eq(vol_rename(f.v, a, "d", b, "d", VOL_RENAME_EXCHANGE), 0);
	cr_assert_eq(ino_of(b, "d"), ad);
	cr_assert_eq(ino_of(a, "d"), bd);
	cr_assert_eq(dotdot(ad), b);
	cr_assert_eq(fx_getattr(&f, a).nlink, 2);
	cr_assert_eq(fx_getattr(&f, b).nlink, 3);
	cr_assert(ino_of(ad, "keep") != 0, "a non-empty directory can be exchanged");
}

Test(rename, survives_reopen)
{
	uint64_t d = mkdir_in(R, "d");
	uint64_t x = create_in(R, "x");
	fx_fill(&f, x, 0x66, 10000, 0);
	cr_assert_eq(vol_rename(f.v, R, "x", d, "moved", 0), 0);
	fx_reopen(&f);
	cr_assert_eq(ino_of(d, "moved"), x);
	cr_assert_eq(ino_of(R, "x"), 0);
	fx_expect_bytes(&f, x, 0x66, 10000, 0);
}

/* vol_rename_if / vol_unlink_if: the name must hold the inode as it was
 * looked at; a write in between (a new mtime or size) makes it -ESTALE. */
static struct vol_expect expect_of(uint64_t parent, const char *name)
{
	struct vol_attr a;
	cr_assert_eq(vol_lookup(f.v, parent, name, &a), 0);
	vol_forget(f.v, a.ino, 1);
	return (struct vol_expect){.ino = a.ino, .mtime = a.mtime, .size = a.size};
}

Test(rename, conditional_replace_and_unlink)
{
	struct vol_expect none = {0};
	uint64_t t1 = create_in(R, "t1"), t2 = create_in(R, "t2");
	create_in(R, "target");

	cr_assert_eq(vol_rename_if(f.v, R, "t1", R, "target", &none), -EEXIST,
		     "ino 0: the name must not exist");
	cr_assert_eq(vol_rename_if(f.v, R, "t1", R, "fresh", &none), 0);
	cr_assert_eq(ino_of(R, "fresh"), t1);

	struct vol_expect e = expect_of(R, "target");
	uint64_t target = e.ino;
	fx_write(&f, target, "x", 1, 0); /* written since: size and mtime move */
	cr_assert_eq(vol_rename_if(f.v, R, "t2", R, "target", &e), -ESTALE);
	cr_assert_eq(ino_of(R, "target"), target, "the refused rename changed nothing");
	cr_assert_eq(ino_of(R, "t2"), t2);
	e = expect_of(R, "target");
	cr_assert_eq(vol_rename_if(f.v, R, "t2", R, "target", &e), 0);
	cr_assert_eq(ino_of(R, "target"), t2);

	e = expect_of(R, "fresh");
	fx_write(&f, t1, "y", 1, 0);
	cr_assert_eq(vol_unlink_if(f.v, R, "fresh", &e), -ESTALE);
	cr_assert_eq(ino_of(R, "fresh"), t1);
	e = expect_of(R, "fresh");
	cr_assert_eq(vol_unlink_if(f.v, R, "fresh", &e), 0);
	cr_assert_eq(ino_of(R, "fresh"), 0);
	cr_assert_eq(vol_unlink_if(f.v, R, "target", &none), -EINVAL);
}
