/* Names: lookup, create, mkdir, rmdir, mknod, symlink/readlink, link and
 * unlink with their errno cases, link counts, times and inheritance. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "fs/vol/vol_int.h"
#include "tests/unit/vol/fixture.h"

static struct fx f;
static struct vol_cred cred = {.uid = 1000, .gid = 100};
static const uint64_t R = VOL_ROOT_INO;

static void setup(void)
{
	fx_setup(&f, 0);
}

static void teardown(void)
{
	fx_teardown(&f);
}

TestSuite(namei, .init = setup, .fini = teardown);

static bool ts_le(struct timespec a, struct timespec b)
{
	return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec <= b.tv_nsec);
}

static bool ts_lt(struct timespec a, struct timespec b)
{
	return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

static bool ts_eq(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* Let the clock move so that "updated" times differ. */
static void tick(void)
{
	struct timespec ts = {0, 2000000};
	nanosleep(&ts, NULL);
}

static uint64_t mkdir_ok(uint64_t parent, const char *name)
{
	struct vol_attr a;
	int rc = vol_mkdir(f.v, parent, name, 0755, &cred, &a);
	cr_assert_eq(rc, 0, "mkdir %s: %d", name, rc);
	vol_forget(f.v, a.ino, 1);
	return a.ino;
}

Test(namei, create_and_lookup)
{
	struct vol_attr a, b;
	struct timespec t0, t1;

	/* New inodes are stamped from the kernel's coarse inode clock
	 * (vol_now_born), so the bounds come from that clock and the fine one. */
	clock_gettime(CLOCK_REALTIME_COARSE, &t0);
	cr_assert_eq(vol_create(f.v, R, "file", S_IFREG | 0640, &cred, &a), 0);
	vol_now(&t1);
	cr_assert(S_ISREG(a.mode));
	cr_assert_eq(a.mode & 07777, 0640);
	cr_assert_eq(a.nlink, 1);
	cr_assert_eq(a.uid, 1000);
	cr_assert_eq(a.gid, 100);
	cr_assert_eq(a.size, 0);
	cr_assert_eq(a.blocks, 0);
	cr_assert(ts_le(t0, a.mtime) && ts_le(t0, a.ctime) && ts_le(t0, a.btime));
	cr_assert(ts_le(a.mtime, t1) && ts_eq(a.mtime, a.ctime) && ts_eq(a.mtime, a.btime));
	cr_assert_eq(vol_ref_count(f.v, a.ino), 1);

	cr_assert_eq(vol_lookup(f.v, R, "file", &b), 0);
	cr_assert_eq(b.ino, a.ino);
	cr_assert_eq(vol_ref_count(f.v, a.ino), 2);
	vol_forget(f.v, a.ino, 2);
	cr_assert_eq(vol_ref_count(f.v, a.ino), 0);

	/* the parent's times moved, its link count did not */
	struct vol_attr r = fx_getattr(&f, R);
	cr_assert(ts_le(a.ctime, r.mtime) && ts_le(a.ctime, r.ctime));
	cr_assert_eq(r.nlink, 2);

	cr_assert_eq(vol_lookup(f.v, R, ".", &b), 0);
	cr_assert_eq(b.ino, R);
	cr_assert_eq(vol_lookup(f.v, R, "..", &b), 0);
	cr_assert_eq(b.ino, R);
	vol_forget(f.v, R, 2);
}

Test(namei, name_errors)
{
	struct vol_attr a;
	char longname[300];

	memset(longname, 'x', 256);
	longname[256] = '\0';
	cr_assert_eq(vol_create(f.v, R, longname, S_IFREG | 0644, &cred, &a), -ENAMETOOLONG);
	cr_assert_eq(vol_lookup(f.v, R, longname, &a), -ENAMETOOLONG);
	longname[255] = '\0';
	cr_assert_eq(vol_create(f.v, R, longname, S_IFREG | 0644, &cred, &a), 0,
		     "255 bytes is allowed");
	vol_forget(f.v, a.ino, 1);
	cr_assert_eq(vol_create(f.v, R, "a/b", S_IFREG | 0644, &cred, &a), -EINVAL);
	cr_assert_eq(vol_create(f.v, R, "", S_IFREG | 0644, &cred, &a), -ENOENT);
	cr_assert_eq(vol_create(f.v, R, ".", S_IFREG | 0644, &cred, &a), -EEXIST);
	cr_assert_eq(vol_mkdir(f.v, R, "..", 0755, &cred, &a), -EEXIST);
	cr_assert_eq(vol_lookup(f.v, R, "nope", &a), -ENOENT);
	cr_assert_eq(vol_lookup(f.v, 999999, "nope", &a), -ENOENT);

	uint64_t file = fx_create(&f, "plain");
	cr_assert_eq(vol_lookup(f.v, file, "x", &a), -ENOTDIR);
	cr_assert_eq(vol_create(f.v, file, "x", S_IFREG | 0644, &cred, &a), -ENOTDIR);
	cr_assert_eq(vol_mkdir(f.v, file, "x", 0755, &cred, &a), -ENOTDIR);
	cr_assert_eq(vol_create(f.v, R, "plain", S_IFREG | 0644, &cred, &a), -EEXIST);
	cr_assert_eq(vol_mkdir(f.v, R, "plain", 0755, &cred, &a), -EEXIST);
	cr_assert_eq(vol_symlink(f.v, R, "plain", "t", &cred, &a), -EEXIST);
	cr_assert_eq(vol_unlink(f.v, file, "x"), -ENOTDIR);
	cr_assert_eq(vol_unlink(f.v, R, "nope"), -ENOENT);
	cr_assert_eq(vol_rmdir(f.v, R, "nope"), -ENOENT);
	vol_forget(f.v, file, 1);
}

Test(namei, mkdir_and_rmdir)
{
	struct vol_attr a, d;

	cr_assert_eq(vol_mkdir(f.v, R, "d", 0700, &cred, &d), 0);
	cr_assert(S_ISDIR(d.mode));
	cr_assert_eq(d.mode & 07777, 0700);
	cr_assert_eq(d.nlink, 2);
	cr_assert_eq(fx_getattr(&f, R).nlink, 3);
	uint64_t sub = mkdir_ok(d.ino, "sub");
	cr_assert_eq(fx_getattr(&f, d.ino).nlink, 3);
	cr_assert_eq(vol_lookup(f.v, sub, "..", &a), 0);
	cr_assert_eq(a.ino, d.ino, ".. of a new directory is its parent");
	vol_forget(f.v, a.ino, 1);

	cr_assert_eq(vol_rmdir(f.v, R, "d"), -ENOTEMPTY);
	cr_assert_eq(vol_rmdir(f.v, d.ino, "."), -EINVAL);
	cr_assert_eq(vol_rmdir(f.v, d.ino, ".."), -ENOTEMPTY);
	uint64_t file = fx_create(&f, "file");
	vol_forget(f.v, file, 1);
	cr_assert_eq(vol_rmdir(f.v, R, "file"), -ENOTDIR);
	cr_assert_eq(vol_unlink(f.v, R, "d"), -EISDIR);
	cr_assert_eq(vol_unlink(f.v, R, "."), -EISDIR);

	struct vol_attr before = fx_getattr(&f, d.ino);
	tick();
	cr_assert_eq(vol_rmdir(f.v, d.ino, "sub"), 0);
	struct vol_attr after = fx_getattr(&f, d.ino);
	cr_assert_eq(after.nlink, 2);
	cr_assert(ts_lt(before.mtime, after.mtime) && ts_lt(before.ctime, after.ctime));
	cr_assert_eq(vol_getattr(f.v, sub, &a), -ENOENT, "an unreferenced dir is freed");
	cr_assert_eq(vol_rmdir(f.v, R, "d"), 0);
	cr_assert_eq(fx_getattr(&f, R).nlink, 2);
	/* d is still referenced by the mkdir: it stays until forgotten, empty */
	cr_assert_eq(vol_getattr(f.v, d.ino, &a), 0);
	cr_assert_eq(a.nlink, 0);
	cr_assert_eq(vol_create(f.v, d.ino, "late", S_IFREG | 0644, &cred, &a), -ENOENT,
		     "a removed directory accepts no entries");
	vol_forget(f.v, d.ino, 1);
	cr_assert_eq(vol_getattr(f.v, d.ino, &a), -ENOENT);
}

Test(namei, mknod_types)
{
	struct vol_attr a;
	const struct {
		const char *name;
		uint32_t mode;
		uint64_t rdev;
		uint32_t type;
	} cases[] = {
		{"fifo", S_IFIFO | 0600, 0, S_IFIFO},
		{"sock", S_IFSOCK | 0600, 0, S_IFSOCK},
		{"chr", S_IFCHR | 0600, makedev(1, 3), S_IFCHR},
		{"blk", S_IFBLK | 0600, makedev(8, 1), S_IFBLK},
		{"reg", S_IFREG | 0600, 0, S_IFREG},
		{"zero", 0600, 0, S_IFREG},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(
			vol_mknod(f.v, R, cases[i].name, cases[i].mode, cases[i].rdev, &cred, &a),
			0, "mknod %s", cases[i].name);
		cr_assert_eq(a.mode & S_IFMT, cases[i].type, "%s", cases[i].name);
		cr_assert_eq(a.rdev, cases[i].rdev, "%s", cases[i].name);
		vol_forget(f.v, a.ino, 1);
		cr_assert_eq(vol_lookup(f.v, R, cases[i].name, &a), 0);
		cr_assert_eq(a.mode & S_IFMT, cases[i].type);
		cr_assert_eq(a.rdev, cases[i].rdev);
		vol_forget(f.v, a.ino, 1);
	}
	cr_assert_eq(vol_mknod(f.v, R, "dir", S_IFDIR | 0755, 0, &cred, &a), -EINVAL);
	cr_assert_eq(vol_mknod(f.v, R, "ln", S_IFLNK | 0777, 0, &cred, &a), -EINVAL);
	cr_assert_eq(vol_mknod(f.v, R, "fifo", S_IFIFO | 0600, 0, &cred, &a), -EEXIST);
	cr_assert_eq(vol_unlink(f.v, R, "chr"), 0);
	cr_assert_eq(vol_lookup(f.v, R, "chr", &a), -ENOENT);
}

Test(namei, symlink_and_readlink)
{
	struct vol_attr a;
	char buf[8192];
	size_t len = 0;

	cr_assert_eq(vol_symlink(f.v, R, "ln", "some/where/else", &cred, &a), 0);
	cr_assert(S_ISLNK(a.mode));
	cr_assert_eq(a.size, 15);
	cr_assert_eq(vol_readlink(f.v, a.ino, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, 15);
	cr_assert(memcmp(buf, "some/where/else", 15) == 0);
	/* a short buffer gets the beginning, and the full length */
	memset(buf, '#', sizeof(buf));
	cr_assert_eq(vol_readlink(f.v, a.ino, buf, 4, &len), 0);
	cr_assert_eq(len, 15);
	cr_assert(memcmp(buf, "some#", 5) == 0);
	vol_forget(f.v, a.ino, 1);

	uint64_t file = fx_create(&f, "file");
	cr_assert_eq(vol_readlink(f.v, file, buf, sizeof(buf), &len), -EINVAL);
	vol_forget(f.v, file, 1);

	char target[4097];
	memset(target, 'y', 4095);
	target[4095] = '\0';
	cr_assert_eq(vol_symlink(f.v, R, "long", target, &cred, &a), 0, "4095 bytes fit");
	cr_assert_eq(vol_readlink(f.v, a.ino, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, 4095);
	vol_forget(f.v, a.ino, 1);
	target[4095] = 'y';
	target[4096] = '\0';
	cr_assert_eq(vol_symlink(f.v, R, "toolong", target, &cred, &a), -ENAMETOOLONG);
	cr_assert_eq(vol_symlink(f.v, R, "empty", "", &cred, &a), -ENOENT);
	/* unlinking a symlink frees its target */
	cr_assert_eq(vol_unlink(f.v, R, "ln"), 0);
	cr_assert_eq(vol_lookup(f.v, R, "ln", &a), -ENOENT);
}

Test(namei, link_counts_and_errors)
{
	struct vol_attr a, l;

	uint64_t file = fx_create(&f, "orig");
	struct vol_attr before = fx_getattr(&f, file);
	uint64_t d = mkdir_ok(R, "d");
	tick();
	cr_assert_eq(vol_link(f.v, file, d, "alias", &l), 0);
	cr_assert_eq(l.ino, file);
	cr_assert_eq(l.nlink, 2);
	cr_assert(ts_lt(before.ctime, l.ctime), "link changes ctime");
	cr_assert_eq(vol_ref_count(f.v, file), 2);
	vol_forget(f.v, file, 1);
	cr_assert_eq(vol_lookup(f.v, d, "alias", &a), 0);
	cr_assert_eq(a.ino, file);
	vol_forget(f.v, file, 1);

	cr_assert_eq(vol_link(f.v, d, R, "dirlink", &l), -EPERM);
	cr_assert_eq(vol_link(f.v, file, R, "orig", &l), -EEXIST);
	cr_assert_eq(vol_link(f.v, file, R, ".", &l), -EEXIST);
	cr_assert_eq(vol_link(f.v, file, file, "x", &l), -ENOTDIR);
	cr_assert_eq(vol_link(f.v, 424242, R, "x", &l), -ENOENT);

	/* the index's link count limit: pretend the file is at it */
	struct idx_txn *txn;
	struct idx_inode in;
	cr_assert_eq(idx_txn_begin(f.v->idx, &txn), 0);
	cr_assert_eq(idx_inode_get(txn, file, &in), 0);
	in.nlink = VOL_LINK_MAX;
	cr_assert_eq(idx_inode_put(txn, &in), 0);
	cr_assert_eq(idx_txn_commit(txn), 0);
	cr_assert_eq(vol_link(f.v, file, R, "one-too-many", &l), -EMLINK);
	cr_assert_eq(idx_txn_begin(f.v->idx, &txn), 0);
	in.nlink = 2;
	cr_assert_eq(idx_inode_put(txn, &in), 0);
	cr_assert_eq(idx_txn_commit(txn), 0);

	vol_forget(f.v, file, 1); /* fx_create's reference */
	cr_assert_eq(vol_unlink(f.v, R, "orig"), 0);
	a = fx_getattr(&f, file);
	cr_assert_eq(a.nlink, 1);
	cr_assert_eq(vol_unlink(f.v, d, "alias"), 0);
	cr_assert_eq(vol_getattr(f.v, file, &a), -ENOENT, "last link of an unreferenced file");
}

Test(namei, unlink_frees_the_data)
{
	uint64_t file = fx_create(&f, "data");
	fx_fill(&f, file, 0x11, 5 * f.cs + 7, 0);
	cr_assert_eq(fx_used(&f), 6);
	vol_forget(f.v, file, 1);
	struct vol_attr before = fx_getattr(&f, R);
	tick();
	cr_assert_eq(vol_unlink(f.v, R, "data"), 0);
	struct vol_attr after = fx_getattr(&f, R);
	cr_assert(ts_lt(before.mtime, after.mtime) && ts_lt(before.ctime, after.ctime));
	struct vol_attr a;
	cr_assert_eq(vol_getattr(f.v, file, &a), -ENOENT);
	/* the chunks are deferred until the index is durable, then free */
	cr_assert_eq(vol_sync_all(f.v), 0);
	cr_assert_eq(fx_used(&f), 0);
}

Test(namei, setgid_directory_inheritance)
{
	struct vol_attr d, a, in = {.mode = 02775, .gid = 500};

	cr_assert_eq(vol_mkdir(f.v, R, "shared", 0775, &cred, &d), 0);
	cr_assert_eq(vol_setattr(f.v, d.ino, &in, VOL_SET_MODE | VOL_SET_GID, &d), 0);
	cr_assert_eq(d.mode, S_IFDIR | 02775);
	cr_assert_eq(d.gid, 500);
	cr_assert_eq(vol_create(f.v, d.ino, "f", S_IFREG | 0644, &cred, &a), 0);
	cr_assert_eq(a.gid, 500, "files take the setgid directory's group");
	cr_assert_eq(a.uid, 1000);
	cr_assert_eq(a.mode & S_ISGID, 0);
	vol_forget(f.v, a.ino, 1);
	cr_assert_eq(vol_mkdir(f.v, d.ino, "sub", 0755, &cred, &a), 0);
	cr_assert_eq(a.gid, 500);
	cr_assert(a.mode & S_ISGID, "subdirectories inherit setgid");
	vol_forget(f.v, a.ino, 1);
	cr_assert_eq(vol_create(f.v, R, "outside", S_IFREG | 0644, &cred, &a), 0);
	cr_assert_eq(a.gid, 100);
	vol_forget(f.v, a.ino, 1);
	vol_forget(f.v, d.ino, 1);
}

Test(namei, setattr_fields)
{
	struct vol_attr a, in = {0};
	uint64_t file = fx_create_mode(&f, "f", 06755);
	fx_fill(&f, file, 0x22, 3 * f.cs, 0);

	in.mode = S_IFDIR | 0600; /* type bits are ignored */
	cr_assert_eq(vol_setattr(f.v, file, &in, VOL_SET_MODE, &a), 0);
	cr_assert_eq(a.mode, S_IFREG | 0600);

	in.mode = 06755;
	cr_assert_eq(vol_setattr(f.v, file, &in, VOL_SET_MODE, &a), 0);
	in.uid = 7;
	cr_assert_eq(vol_setattr(f.v, file, &in, VOL_SET_UID, &a), 0);
	cr_assert_eq(a.uid, 7);
	cr_assert_eq(a.mode & 07777, 0755, "chown drops setuid and (group-exec) setgid");

	in.atime = (struct timespec){1000000000, 123456789};
	in.mtime = (struct timespec){1100000000, 987654321};
	struct timespec t0;
	vol_now(&t0);
	cr_assert_eq(vol_setattr(f.v, file, &in, VOL_SET_ATIME | VOL_SET_MTIME, &a), 0);
	cr_assert_eq(a.atime.tv_sec, 1000000000);
	cr_assert_eq(a.atime.tv_nsec, 123456789);
	cr_assert_eq(a.mtime.tv_sec, 1100000000);
	cr_assert_eq(a.mtime.tv_nsec, 987654321);
	cr_assert(ts_le(t0, a.ctime), "ctime is now");
	cr_assert_eq(vol_setattr(f.v, file, &in, VOL_SET_MTIME_NOW, &a), 0);
	cr_assert(ts_le(t0, a.mtime));
	cr_assert_eq(a.atime.tv_sec, 1000000000);

	in.size = f.cs + 10;
	cr_assert_eq(vol_setattr(f.v, file, &in, VOL_SET_SIZE, &a), 0);
	cr_assert_eq(a.size, f.cs + 10);
	cr_assert_eq(a.blocks, 2 * (f.cs / 512));
	fx_expect_bytes(&f, file, 0x22, f.cs + 10, 0);
	in.size = VOL_MAX_FILE_SIZE + 1;
	cr_assert_eq(vol_setattr(f.v, file, &in, VOL_SET_SIZE, &a), -EFBIG);
	in.size = 0;
	cr_assert_eq(vol_setattr(f.v, R, &in, VOL_SET_SIZE, &a), -EISDIR);
	struct vol_attr s;
	cr_assert_eq(vol_symlink(f.v, R, "ln", "x", &cred, &s), 0);
	cr_assert_eq(vol_setattr(f.v, s.ino, &in, VOL_SET_SIZE, &a), -EINVAL);
	cr_assert_eq(vol_setattr(f.v, 777777, &in, VOL_SET_MODE, &a), -ENOENT);
	vol_forget(f.v, s.ino, 1);
	vol_forget(f.v, file, 1);
}
