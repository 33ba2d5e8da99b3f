/* Volume life cycle: vol_mkfs's checks, the volume lock, reopening, the
 * volume file's checks (wrong disk UUID, bad lines), a missing disk (and
 * frees of its chunks kept until it is back), statfs and vol_info. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/fileio.h"
#include "fs/vol/vol_int.h"
#include "tests/harness/tmpvol.h"
#include "tests/unit/vol/fixture.h"

static struct vol_cred cred = {.uid = 1000, .gid = 1000};

static void write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert(fd >= 0, "open %s", path);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* A bare temporary tree with two empty disk directories, no volume. */
static void bare_tree(struct tmpvol *tv)
{
	memset(tv, 0, sizeof(*tv));
	snprintf(tv->root, sizeof(tv->root), "/tmp/trackfs-test.XXXXXX");
	cr_assert_not_null(mkdtemp(tv->root));
	for (int i = 0; i < 2; i++) {
		int n = snprintf(tv->disk[i], sizeof(tv->disk[i]), "%s/disk%d", tv->root, i + 1);
		cr_assert_lt(n, (int)sizeof(tv->disk[i]));
		cr_assert_eq(mkdir(tv->disk[i], 0755), 0);
	}
	int n = snprintf(tv->meta, sizeof(tv->meta), "%s/meta", tv->disk[0]);
	cr_assert_lt(n, (int)sizeof(tv->meta));
}

static int mkfs_tree(struct tmpvol *tv, uint32_t cs, bool force)
{
	const char *disks[2] = {tv->disk[0], tv->disk[1]};
	struct vol_mkfs_opts o = {.meta_dir = tv->meta,
				  .disks = disks,
				  .ndisks = 2,
				  .chunk_size = cs,
				  .label = "t",
				  .force = force};
	return vol_mkfs(&o, NULL);
}

Test(volume, mkfs_refuses_nonempty_meta_dir)
{
	struct tmpvol tv;
	char path[PATH_MAX + 16];

	bare_tree(&tv);
	cr_assert_eq(mkdir(tv.meta, 0755), 0);
	snprintf(path, sizeof(path), "%s/keep", tv.meta);
	write_text(path, "user data\n");
	cr_assert_eq(mkfs_tree(&tv, 0, false), -ENOTEMPTY);
	/* nothing was written: no volume file */
	snprintf(path, sizeof(path), "%s/%s", tv.meta, VOL_VOLFILE_NAME);
	cr_assert_eq(access(path, F_OK), -1);
	tmpvol_destroy(&tv);
}

Test(volume, mkfs_accepts_empty_meta_dir_inside_a_disk)
{
	struct tmpvol tv;
	struct vol *v;

	bare_tree(&tv);
	cr_assert_eq(mkdir(tv.meta, 0755), 0);
	cr_assert_eq(mkfs_tree(&tv, 0, false), 0);
	cr_assert_eq(vol_open(tv.meta, NULL, &v), 0);
	cr_assert_eq(vol_close(v), 0);
	tmpvol_destroy(&tv);
}

Test(volume, mkfs_refuses_a_disk_with_files)
{
	struct tmpvol tv;
	char path[PATH_MAX + 16];

	bare_tree(&tv);
	snprintf(path, sizeof(path), "%s/movie.mkv", tv.disk[1]);
	write_text(path, "not ours\n");
	int rc = mkfs_tree(&tv, 0, false);
	cr_assert_eq(rc, -ENOTEMPTY, "mkfs over a disk with files: %d", rc);
	cr_assert_eq(access(path, F_OK), 0, "the user's file must survive");
	tmpvol_destroy(&tv);
}

Test(volume, mkfs_checks_its_options)
{
	struct tmpvol tv;

	bare_tree(&tv);
	cr_assert_eq(mkfs_tree(&tv, 3000, false), -EINVAL);
	cr_assert_eq(mkfs_tree(&tv, 2048, false), -EINVAL);
	cr_assert_eq(mkfs_tree(&tv, 8u << 20, false), -EINVAL);

	const char *twice[2] = {tv.disk[1], tv.disk[1]};
	struct vol_mkfs_opts o = {.meta_dir = tv.meta, .disks = twice, .ndisks = 2};
	cr_assert_eq(vol_mkfs(&o, NULL), -EINVAL);
	o.ndisks = 0;
	cr_assert_eq(vol_mkfs(&o, NULL), -EINVAL);

	cr_assert_eq(mkfs_tree(&tv, 64 * 1024, false), 0);
	struct vol *v;
	cr_assert_eq(vol_open(tv.meta, NULL, &v), 0);
	struct vol_statfs st;
	cr_assert_eq(vol_statfs(v, &st), 0);
	cr_assert_eq(st.bsize, 64 * 1024);
	cr_assert_eq(st.namemax, 255);
	cr_assert_gt(st.blocks, 0);
	cr_assert_eq(vol_close(v), 0);
	tmpvol_destroy(&tv);
}

Test(volume, root_directory_after_mkfs)
{
	struct fx f;
	fx_setup(&f, 0);
	struct vol_attr a = fx_getattr(&f, VOL_ROOT_INO);
	cr_assert(S_ISDIR(a.mode));
	cr_assert_eq(a.mode & 07777, 0755);
	cr_assert_eq(a.nlink, 2);
	cr_assert_eq(a.uid, (uint32_t)getuid());
	cr_assert_eq(a.gid, (uint32_t)getgid());
	cr_assert_eq(vol_was_unclean(f.v), false);
	char real[PATH_MAX];
	cr_assert_not_null(realpath(f.tv.meta, real));
	cr_assert_str_eq(vol_meta_dir(f.v), real);
	fx_teardown(&f);
}

Test(volume, second_open_is_busy_and_names_the_holder)
{
	struct fx f;
	char path[PATH_MAX + 16], *text;
	struct vol *v2 = NULL;

	fx_setup(&f, 0);
	cr_assert_eq(vol_open(f.tv.meta, NULL, &v2), -EBUSY);
	cr_assert_null(v2);
	/* the lock file names this process and the owner given to vol_open */
	snprintf(path, sizeof(path), "%s/%s", f.tv.meta, VOL_LOCK_NAME);
	cr_assert_eq(tfs_read_file(path, 4096, &text, NULL), 0);
	long pid = 0;
	char owner[64] = "";
	cr_assert_eq(sscanf(text, "%ld %63[^\n]", &pid, owner), 2, "lock file: %s", text);
	cr_assert_eq(pid, (long)getpid());
	cr_assert_str_eq(owner, "unit test");
	free(text);
	/* the lock is the only thing in the way: vol_lock_take says the same */
	cr_assert_eq(vol_lock_take(f.v->meta_dir, "other"), -EBUSY);
	fx_close(&f);
	cr_assert_eq(vol_open(f.tv.meta, NULL, &v2), 0);
	cr_assert_eq(vol_close(v2), 0);
	tmpvol_destroy(&f.tv);
}

Test(volume, reopen_after_close_sees_files)
{
	struct fx f;
	struct vol_attr a, d;
	char buf[64];

	fx_setup(&f, 0);
	uint64_t ino = fx_create(&f, "hello.txt");
	fx_write(&f, ino, "hello, volume", 13, 0);
	cr_assert_eq(vol_mkdir(f.v, VOL_ROOT_INO, "dir", 0750, &cred, &d), 0);
	cr_assert_eq(vol_symlink(f.v, d.ino, "ln", "../hello.txt", &cred, &a), 0);
	fx_reopen(&f);
	cr_assert_eq(vol_was_unclean(f.v), false);
	cr_assert_eq(vol_lookup(f.v, VOL_ROOT_INO, "hello.txt", &a), 0);
	cr_assert_eq(a.ino, ino);
	cr_assert_eq(a.size, 13);
	cr_assert_eq(vol_read(f.v, ino, buf, sizeof(buf), 0), 13);
	cr_assert(memcmp(buf, "hello, volume", 13) == 0);
	vol_forget(f.v, ino, 1);
	cr_assert_eq(vol_lookup(f.v, VOL_ROOT_INO, "dir", &a), 0);
	cr_assert_eq(a.ino, d.ino);
	cr_assert_eq(a.mode, S_IFDIR | 0750);
	vol_forget(f.v, a.ino, 1);
	size_t len;
	cr_assert_eq(vol_lookup(f.v, d.ino, "ln", &a), 0);
	cr_assert_eq(vol_readlink(f.v, a.ino, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, 12);
	cr_assert(memcmp(buf, "../hello.txt", 12) == 0);
	vol_forget(f.v, a.ino, 1);
	/* new inode numbers never reuse old ones across opens */
	uint64_t ino2 = fx_create(&f, "second");
	cr_assert_gt(ino2, a.ino);
	struct vol_attr g = fx_getattr(&f, ino2);
	cr_assert_gt(g.generation, 1, "the generation is bumped at every open");
	fx_teardown(&f);
}

Test(volume, open_through_the_disk_directory)
{
	struct tmpvol tv;
	struct vol *v;

	tmpvol_create(&tv, 0);
	/* DISK1 is accepted for DISK1/meta */
	cr_assert_eq(vol_open(tv.disk[0], NULL, &v), 0);
	cr_assert_eq(vol_close(v), 0);
	cr_assert_eq(vol_open(tv.disk[1], NULL, &v), -ENOENT);
	tmpvol_destroy(&tv);
}

/* Rewrite volume.conf through vol_volfile_read/write. */
static void edit_volfile(const char *meta, void (*edit)(struct vol_volfile *))
{
	static struct vol_volfile vf;
	cr_assert_eq(vol_volfile_read(meta, &vf), 0);
	edit(&vf);
	cr_assert_eq(vol_volfile_write(meta, &vf), 0);
}

static void new_disk_uuid(struct vol_volfile *vf)
{
	cr_assert_eq(tfs_uuid_generate(&vf->disks[1].uuid), 0);
}

static void swap_disks(struct vol_volfile *vf)
{
	char tmp[PATH_MAX];
	strcpy(tmp, vf->disks[0].path);
	strcpy(vf->disks[0].path, vf->disks[1].path);
	strcpy(vf->disks[1].path, tmp);
}

Test(volume, volume_file_with_a_wrong_disk_uuid_is_refused)
{
	struct tmpvol tv;
	struct vol *v = NULL;

	tmpvol_create(&tv, 0);
	edit_volfile(tv.meta, new_disk_uuid);
	cr_assert_eq(vol_open(tv.meta, NULL, &v), -EINVAL);
	cr_assert_null(v);
	tmpvol_destroy(&tv);
}

Test(volume, swapped_disks_are_refused)
{
	struct tmpvol tv;
	struct vol *v = NULL;

	tmpvol_create(&tv, 0);
	edit_volfile(tv.meta, swap_disks);
	cr_assert_eq(vol_open(tv.meta, NULL, &v), -EINVAL);
	tmpvol_destroy(&tv);
}

Test(volume, volume_file_parse_errors)
{
	struct tmpvol tv;
	struct vol_volfile vf;
	char path[PATH_MAX + 32], *text;

	tmpvol_create(&tv, 0);
	snprintf(path, sizeof(path), "%s/%s", tv.meta, VOL_VOLFILE_NAME);
	cr_assert_eq(tfs_read_file(path, 1 << 20, &text, NULL), 0);
	cr_assert_eq(vol_volfile_read(tv.meta, &vf), 0);
	cr_assert_eq(vf.ndisks, 2);
	cr_assert_eq(vf.chunk_size, 4096);
	cr_assert_str_eq(vf.label, "test");
	char real[PATH_MAX];
	cr_assert_not_null(realpath(tv.disk[1], real));
	cr_assert_str_eq(vf.disks[1].path, real);

	char *bad = malloc(strlen(text) + 64);
	cr_assert_not_null(bad);
	sprintf(bad, "%scolour = blue\n", text);
	write_text(path, bad);
	cr_assert_eq(vol_volfile_read(tv.meta, &vf), -EINVAL);
	sprintf(bad, "%sdisk = 2 not-a-uuid /x\n", text);
	write_text(path, bad);
	cr_assert_eq(vol_volfile_read(tv.meta, &vf), -EINVAL);
	sprintf(bad, "%schunk_size = 5000\n", text);
	write_text(path, bad);
	cr_assert_eq(vol_volfile_read(tv.meta, &vf), -EINVAL);
	write_text(path, "uuid = 00000000-0000-4000-8000-000000000000\n");
	cr_assert_eq(vol_volfile_read(tv.meta, &vf), -EINVAL, "no disks, no chunk size");
	free(bad);
	free(text);
	tmpvol_destroy(&tv);
}

Test(volume, missing_disk_directory_still_opens)
{
	struct fx f;
	char moved[PATH_MAX + 8];

	memset(&f, 0, sizeof(f));
	tmpvol_create(&f.tv, 0);
	snprintf(moved, sizeof(moved), "%s.gone", f.tv.disk[1]);
	cr_assert_eq(rename(f.tv.disk[1], moved), 0);
	fx_open(&f);
	/* files go to the disk that is there */
	uint64_t ino = fx_create(&f, "still-works");
	fx_fill(&f, ino, 0x5a, 10000, 0);
	fx_expect_bytes(&f, ino, 0x5a, 10000, 0);
	struct vol_info *info = malloc(sizeof(*info));
	cr_assert_not_null(info);
	cr_assert_eq(vol_info(f.v, info), 0);
	cr_assert_eq(info->ndisks, 2);
	cr_assert_eq(info->disks[0].missing, false);
	cr_assert_eq(info->disks[1].missing, true);
	cr_assert_gt(info->disks[0].chunks_used, 0);
	free(info);
	struct vol_statfs st;
	cr_assert_eq(vol_statfs(f.v, &st), 0);
	fx_close(&f);
	cr_assert_eq(rename(moved, f.tv.disk[1]), 0);
	fx_open(&f);
	fx_expect_bytes(&f, ino, 0x5a, 10000, 0);
	fx_teardown(&f);
}

/* A file of @p len bytes of @p byte with its chunks on disk @p disk. */
static uint64_t file_on(struct fx *f, const char *name, int disk, size_t len)
{
	uint64_t ino = fx_create(f, name);
	cr_assert_eq(vol_set_disk(f->v, ino, disk), 0);
	fx_fill(f, ino, 0x33, len, 0);
	struct idx_extent e;
	cr_assert_eq(fx_extent_at(f, ino, 0, &e), 0);
	cr_assert_eq(e.disk, disk, "%s went to disk %u", name, e.disk);
	vol_forget(f->v, ino, 1);
	return ino;
}

/* The stale-disk figures of disk @p disk as vol_info gives them. */
static uint64_t stale_chunks(struct fx *f, unsigned disk, bool *stale)
{
	struct vol_info *info = malloc(sizeof(*info));
	cr_assert_not_null(info);
	cr_assert_eq(vol_info(f->v, info), 0);
	*stale = info->disks[disk].stale;
	uint64_t n = info->disks[disk].stale_chunks;
	free(info);
	return n;
}

Test(volume, frees_on_a_missing_disk_wait_for_it)
{
	struct fx f;
	char moved[PATH_MAX + 8];
	bool stale;

	memset(&f, 0, sizeof(f));
	tmpvol_create(&f.tv, 0);
	fx_open(&f);
	file_on(&f, "gone", 1, 16 * 4096);
	uint64_t cut = file_on(&f, "cut", 1, 16 * 4096);
	uint64_t src = file_on(&f, "src", 1, 16 * 4096);
	file_on(&f, "kept", 1, 16 * 4096);
	uint64_t dst = fx_create(&f, "dst");
	vol_forget(f.v, dst, 1);
	fx_close(&f);

	snprintf(moved, sizeof(moved), "%s.gone", f.tv.disk[1]);
	cr_assert_eq(rename(f.tv.disk[1], moved), 0);
	fx_open(&f);
	cr_assert_eq(vol_unlink(f.v, VOL_ROOT_INO, "gone"), 0);
	cr_assert_eq(fx_truncate(&f, cut, 4096), 0);
	/* Moved chunks stay in use: they are not freed, so not counted. */
	cr_assert_eq(vol_move_range(f.v, src, 0, 16 * 4096, dst, 0), 0);
	cr_assert_eq(stale_chunks(&f, 1, &stale), 16 + 15);
	cr_assert(stale);
	cr_assert_eq(stale_chunks(&f, 0, &stale), 0);
	cr_assert_not(stale);
	/* Kept across a clean close and an open that still misses the disk. */
	fx_reopen(&f);
	cr_assert_eq(stale_chunks(&f, 1, &stale), 16 + 15);
	cr_assert(stale);
	fx_close(&f);

	cr_assert_eq(rename(moved, f.tv.disk[1]), 0);
	fx_open(&f);
	stale_chunks(&f, 1, &stale);
	cr_assert_not(stale, "the record outlived the rebuild");
	cr_assert_eq(fx_used(&f), 16 + 1 + 16, "exactly what the files reference is in use");
	fx_expect_bytes(&f, dst, 0x33, 16 * 4096, 0);
	fx_close_and_fsck(&f);
	tmpvol_destroy(&f.tv);
}

/* The child: a delete made durable while the free list holding its chunks
 * never reaches the disk (no vol_close). */
static void lose_a_free(const char *meta)
{
	struct vol *v;
	if (vol_open(meta, NULL, &v) < 0)
		_exit(2);
	if (vol_unlink(v, VOL_ROOT_INO, "f") < 0)
		_exit(3);
	if (vol_sync_all(v) < 0)
		_exit(4);
	_exit(0);
}

Test(volume, a_rebuild_without_a_disk_is_redone_when_it_returns)
{
	struct fx f;
	char moved[PATH_MAX + 8];
	bool stale;
	int status;

	memset(&f, 0, sizeof(f));
	tmpvol_create(&f.tv, 0);
	fx_open(&f);
	file_on(&f, "f", 1, 16 * 4096);
	fx_close(&f);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		lose_a_free(f.tv.meta);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed at step %d",
		  WEXITSTATUS(status));

	/* The recovery runs without disk 1: its free lists stay as they were. */
	snprintf(moved, sizeof(moved), "%s.gone", f.tv.disk[1]);
	cr_assert_eq(rename(f.tv.disk[1], moved), 0);
	fx_open(&f);
	cr_assert(vol_was_unclean(f.v));
	stale_chunks(&f, 1, &stale);
	cr_assert(stale, "a rebuild without disk 1 left no record");
	fx_close(&f);

	cr_assert_eq(rename(moved, f.tv.disk[1]), 0);
	fx_open(&f);
	stale_chunks(&f, 1, &stale);
	cr_assert_not(stale);
	cr_assert_eq(fx_used(&f), 0);
	fx_close_and_fsck(&f);
	tmpvol_destroy(&f.tv);
}

Test(volume, info_and_statfs)
{
	struct fx f;
	struct vol_info *info = malloc(sizeof(*info));
	struct vol_statfs before, after;

	cr_assert_not_null(info);
	fx_setup(&f, 0);
	cr_assert_eq(vol_info(f.v, info), 0);
	cr_assert_str_eq(info->label, "test");
	cr_assert_eq(info->chunk_size, 4096);
	cr_assert_eq(info->ndisks, 2);
	cr_assert_eq(info->inodes, 1);
	cr_assert(tfs_uuid_equal(&info->uuid, &f.v->vf.uuid));
	cr_assert(tfs_uuid_equal(&info->disks[1].uuid, &f.v->vf.disks[1].uuid));
	cr_assert_eq(vol_statfs(f.v, &before), 0);
	cr_assert_eq(before.files, 1);
	uint64_t ino = fx_create(&f, "f");
	fx_fill(&f, ino, 1, 40960, 0);
	cr_assert_eq(vol_statfs(f.v, &after), 0);
	cr_assert_eq(after.files, 2);
	cr_assert_eq(after.bsize, 4096);
	cr_assert_eq(fx_used(&f), 10);
	free(info);
	fx_teardown(&f);
}

/* The test's two disks are directories on one host filesystem (/tmp): its
 * free space is counted once in statfs and vol_info, not once per disk. */
Test(volume, shared_host_filesystem_counted_once)
{
	struct fx f;
	struct vol_info *info = malloc(sizeof(*info));
	struct vol_statfs st;
	struct statvfs sv;

	cr_assert_not_null(info);
	fx_setup(&f, 0);
	cr_assert_eq(vol_statfs(f.v, &st), 0);
	cr_assert_eq(statvfs(f.tv.disk[0], &sv), 0);
	double host = (double)sv.f_bavail * sv.f_frsize, got = (double)st.bfree * st.bsize;
	cr_expect(got <= host * 1.25 + (1 << 20) && got >= host * 0.75,
		  "statfs: %.0f bytes free, the host filesystem has %.0f", got, host);
	cr_assert_eq(vol_info(f.v, info), 0);
	cr_expect_eq(info->disks[0].shares_fs_with, -1);
	cr_expect_eq(info->disks[1].shares_fs_with, 0);
	double total = (double)info->chunks_free * info->chunk_size;
	cr_expect(total <= host * 1.25 + (1 << 20) && total >= host * 0.75,
		  "vol_info: %.0f bytes free, the host filesystem has %.0f", total, host);
	free(info);
	fx_teardown(&f);
}

Test(volume, flusher_commits_and_releases_frees_in_the_background)
{
	struct fx f;
	struct vol_open_opts o = {.owner = "unit test", .flush_ms = 10, .sync_ms = 30};

	memset(&f, 0, sizeof(f));
	tmpvol_create(&f.tv, 0);
	cr_assert_eq(vol_open(f.tv.meta, &o, &f.v), 0);
	f.cs = f.v->chunk_size;
	uint64_t ino = fx_create(&f, "f");
	fx_fill(&f, ino, 3, 8 * f.cs, 0);
	vol_forget(f.v, ino, 1);
	cr_assert_eq(vol_unlink(f.v, VOL_ROOT_INO, "f"), 0);
	/* the freed chunks wait for a durable index: the flusher provides it */
	for (int i = 0; i < 500 && (fx_used(&f) > 0 || idx_env_dirty(f.v->idx)); i++)
		usleep(10000);
	cr_assert_eq(fx_used(&f), 0, "the flusher did not release the freed chunks");
	cr_assert_eq(trk_pool_deferred_count(f.v->pool), 0);
	cr_assert_eq(idx_env_dirty(f.v->idx), false);
	fx_teardown(&f);
}
