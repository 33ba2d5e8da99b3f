/* index/snapshot.c, snapload.c and mirror.c: a snapshot taken while the
 * index changes restores to exactly the state of the commit that ended it;
 * damaged, truncated and foreign files are refused with the reason; the
 * mirror follows every group commit and one that fell behind is refused. */
#include <fcntl.h>
#include <sys/stat.h>

#include "idx_fixture.h"

static struct fx f;

static void setup(void)
{
	fx_setup(&f);
}

static void teardown(void)
{
	fx_teardown(&f);
}

static void del_ino(struct idx_env *env, uint64_t ino)
{
	struct idx_txn *txn = fx_begin_env(env);

	cr_assert_eq(idx_inode_del(txn, ino), 0);
	fx_commit(txn);
}

/* The size of inode @p ino, or -1 if there is none. */
static long long ino_size(struct idx_env *env, uint64_t ino)
{
	struct idx_inode in;
	struct idx_txn *txn = fx_begin_env(env);
	int rc = idx_inode_get(txn, ino, &in);

	fx_abort(txn);
	return rc == 0 ? (long long)in.size : -1;
}

#define NINO 5000u

/* What the test expects inode @p ino to hold after the changes below. */
static long long expected(uint64_t ino)
{
	if (ino == 20 || ino == 4000 || (ino >= 1020 && ino <= 1030))
		return -1;
	if (ino == 10)
		return 999;
	if (ino == 9000)
		return 9;
	if (ino >= 2 && ino < 2 + NINO)
		return (long long)ino * 3;
	return -1;
}

static int calls;

/* Runs between slices, without the index's lock: the changes a busy volume
 * makes while a snapshot is being copied. */
static void change_during_copy(void *arg, uint64_t done, uint64_t total)
{
	struct idx_env *env = arg;

	(void)total;
	cr_assert_leq(done, total, "progress never passes its total");
	switch (calls++) {
	case 0:
		fx_put_ino(env, 10, 999); /* already copied: the log must carry it */
		del_ino(env, 20);
		cr_assert_eq(idx_env_flush(env), 0);
		break;
	case 1: {
		/* Around the last inode the first slice copied (1024 records
		 * from 2, less 20): the next slice must start at 1031, not skip
		 * it because the key it stopped at is gone. */
		for (uint64_t i = 1020; i <= 1030; i++)
			del_ino(env, i);
		fx_put_ino(env, 9000, 9); /* not copied yet when made */
		del_ino(env, 4000);
		struct idx_txn *txn = fx_begin_env(env); /* aborted: must not appear */
		struct idx_inode in = {
			.ino = 9001, .mode = 0100644, .nlink = 1, .disk = IDX_NO_DISK};
		cr_assert_eq(idx_inode_put(txn, &in), 0);
		fx_abort(txn);
		break; /* left in the group: the end of the snapshot commits it */
	}
	}
}

static int snap_file(const char *dir, const char *name)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0);
	return fd;
}

static void take(int fd, struct idx_snap_info *info, bool change)
{
	struct idx_snapshot_opts o = {.attach = "volume = x\n", .attach_len = 11};
	calls = 0;
	o.progress = change ? change_during_copy : NULL;
	o.progress_arg = f.env;
	cr_assert_eq(idx_snapshot_write(f.env, fd, &o, info), 0);
}

Test(snapshot, restores_the_state_of_the_commit_that_ended_it, .init = setup, .fini = teardown)
{
	struct idx_snap_info info, check;
	char why[256], dir[128];
	void *attach = NULL;

	for (uint64_t i = 2; i < 2 + NINO; i++)
		fx_put_ino(f.env, i, i * 3);
	cr_assert_eq(idx_env_flush(f.env), 0);
	int fd = snap_file(f.dir, "snap");
	take(fd, &info, true);
	cr_assert_geq(calls, 3, "the copy took %d slices", calls);
	cr_assert_eq(info.seq, idx_env_seq(f.env), "it ends at the current commit");
	cr_assert_eq(idx_snapshot_verify(fd, &check, &attach, why, sizeof(why)), 0, "%s", why);
	cr_assert_str_eq(attach, "volume = x\n");
	free(attach);
	cr_assert_eq(check.seq, info.seq);

	/* Changes after the snapshot are not in it. */
	fx_put_ino(f.env, 11, 1);

	snprintf(dir, sizeof(dir), "%s/restored", f.dir);
	cr_assert_eq(mkdir(dir, 0755), 0);
	cr_assert_eq(idx_snapshot_restore(fd, dir, NULL, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(idx_snapshot_restore(fd, dir, NULL, why, sizeof(why)), -EEXIST,
		     "a directory that holds an index is refused");
	close(fd);
	struct idx_env *r;
	cr_assert_eq(idx_env_open(dir, 0, &r), 0);
	cr_assert_eq(idx_env_seq(r), info.seq);
	for (uint64_t i = 1; i < 9100; i++)
		cr_assert_eq(ino_size(r, i), expected(i), "inode %llu", (unsigned long long)i);
	struct idx_volume vol;
	struct idx_txn *txn = fx_begin_env(r);
	cr_assert_eq(idx_volume_get(txn, &vol), 0);
	fx_abort(txn);
	cr_assert_str_eq(vol.label, "test");
	cr_assert_eq(idx_env_close(r, false), 0);
}

/* Flip one byte at @p off, or cut the file to @p cut bytes. */
static void damage(const char *dir, const char *name, off_t off, off_t cut)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	if (cut >= 0) {
		cr_assert_eq(ftruncate(fd, cut), 0);
	} else {
		unsigned char c;
		cr_assert_eq(pread(fd, &c, 1, off), 1);
		c ^= 0x5a;
		cr_assert_eq(pwrite(fd, &c, 1, off), 1);
	}
	close(fd);
}

static int verify(const char *dir, const char *name, char *why, size_t len)
{
	char path[128];
	struct idx_snap_info info;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0);
	int rc = idx_snapshot_verify(fd, &info, NULL, why, len);
	char rdir[160];
	snprintf(rdir, sizeof(rdir), "%s.dir", path);
	mkdir(rdir, 0755);
	int rrc = idx_snapshot_restore(fd, rdir, NULL, why, len);
	cr_assert_eq(rrc, rc, "restore and verify agree");
	close(fd);
	return rc;
}

Test(snapshot, damaged_truncated_and_foreign_files_are_refused, .init = setup, .fini = teardown)
{
	struct idx_snap_info info;
	char why[256];

	for (uint64_t i = 2; i < 2 + NINO; i++)
		fx_put_ino(f.env, i, i * 3);
	const char *names[] = {"body", "header", "cut", "cuthdr", "junk"};
	for (int i = 0; i < 4; i++) {
		int fd = snap_file(f.dir, names[i]);
		take(fd, &info, false);
		close(fd);
	}
	damage(f.dir, "body", IDX_SNAPSHOT_HEADER + (off_t)info.body_len / 2, -1);
	cr_assert_eq(verify(f.dir, "body", why, sizeof(why)), -EIO);
	cr_assert(strstr(why, "damaged"), "%s", why);
	damage(f.dir, "header", 44, -1);
	cr_assert_eq(verify(f.dir, "header", why, sizeof(why)), -EIO);
	cr_assert(strstr(why, "header checksum"), "%s", why);
	damage(f.dir, "cut", 0, IDX_SNAPSHOT_HEADER + (off_t)info.body_len - 100);
	cr_assert_eq(verify(f.dir, "cut", why, sizeof(why)), -EIO);
	cr_assert(strstr(why, "truncated"), "%s", why);
	damage(f.dir, "cuthdr", 0, 100);
	cr_assert_eq(verify(f.dir, "cuthdr", why, sizeof(why)), -EINVAL);
	int fd = snap_file(f.dir, "junk");
	char junk[8192];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 7919 % 251);
	cr_assert_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	cr_assert_eq(verify(f.dir, "junk", why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "not a trackfs index snapshot"), "%s", why);
}

Test(mirror, follows_every_commit_and_refuses_one_that_fell_behind, .init = setup, .fini = teardown)
{
	char mdir[128];
	struct idx_mirror_status ms;

	snprintf(mdir, sizeof(mdir), "%s/mirror", f.dir);
	fx_put_ino(f.env, 2, 2);
	cr_assert_eq(idx_mirror_resync(f.env, mdir), 0);
	idx_mirror_status(f.env, &ms);
	cr_assert(ms.attached);
	cr_assert_eq(ms.error, 0);
	for (uint64_t i = 3; i < 500; i++) {
		fx_put_ino(f.env, i, i);
		if (i % 50 == 0)
			cr_assert_eq(idx_env_flush(f.env), 0);
	}
	del_ino(f.env, 7);
	cr_assert_eq(idx_env_sync(f.env), 0);
	uint64_t seq = idx_env_seq(f.env);
	cr_assert_eq(idx_env_close(f.env, true), 0);
	f.env = NULL;

	struct idx_env *m;
	cr_assert_eq(idx_env_open(mdir, 0, &m), 0);
	cr_assert_eq(idx_env_seq(m), seq);
	for (uint64_t i = 2; i < 500; i++)
		cr_assert_eq(ino_size(m, i), i == 7 ? -1 : (long long)i);
	cr_assert_eq(idx_env_close(m, false), 0);

	/* The index moves on without it: attaching it again is refused. */
	fx_open(&f, 0);
	fx_put_ino(f.env, 600, 1);
	cr_assert_eq(idx_env_flush(f.env), 0);
	cr_assert_eq(idx_mirror_attach(f.env, mdir), -ESTALE);
	idx_mirror_status(f.env, &ms);
	cr_assert_eq(ms.error, -ESTALE);
	cr_assert_eq(idx_mirror_resync(f.env, mdir), 0);
	fx_put_ino(f.env, 601, 1);
	cr_assert_eq(idx_env_flush(f.env), 0);
	cr_assert_eq(idx_env_close(f.env, true), 0);
	f.env = NULL;
	cr_assert_eq(idx_env_open(mdir, 0, &m), 0);
	cr_assert_eq(ino_size(m, 600), 1);
	cr_assert_eq(ino_size(m, 601), 1);
	cr_assert_eq(idx_env_close(m, false), 0);
}

Test(mirror, changes_merged_before_it_was_attached_make_it_stale, .init = setup, .fini = teardown)
{
	char mdir[128];
	struct idx_mirror_status ms;

	snprintf(mdir, sizeof(mdir), "%s/mirror", f.dir);
	fx_put_ino(f.env, 2, 2);
	cr_assert_eq(idx_mirror_resync(f.env, mdir), 0);
	idx_mirror_detach(f.env);
	fx_put_ino(f.env, 3, 3); /* merged into the group, not committed, not recorded */
	cr_assert_eq(idx_mirror_attach(f.env, mdir), -ESTALE);
	idx_mirror_status(f.env, &ms);
	cr_assert_eq(ms.error, -ESTALE);
	cr_assert_eq(idx_mirror_resync(f.env, mdir), 0);
	fx_put_ino(f.env, 4, 4);
	cr_assert_eq(idx_env_sync(f.env), 0);
	cr_assert_eq(idx_env_close(f.env, true), 0);
	f.env = NULL;
	struct idx_env *m;
	cr_assert_eq(idx_env_open(mdir, 0, &m), 0);
	for (uint64_t i = 2; i <= 4; i++)
		cr_assert_eq(ino_size(m, i), (long long)i, "inode %llu", (unsigned long long)i);
	cr_assert_eq(idx_env_close(m, false), 0);
}
