/* fsck.trackfs against index damage made by hand: wrong link and block
 * counts, a dangling entry, an inode in no directory, a directory cycle, an
 * extent of a missing inode, chunks used twice, an orphan left on a clean
 * volume, frees made while a disk was missing. Each must be found (exit 4),
 * repaired (exit 1) and then be clean (exit 0), with the files' data intact
 * where it can be. And chunks whose bytes never reached the track file (a
 * hole, or past its end): found without --scrub, left for a person (exit 4). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/vol/vol.h"
#include "fs/vol/volfile.h"
#include "index/index.h"
#include "tests/harness/tmpvol.h"

static struct tmpvol tv;
static uint8_t fdata[10000], gdata[5000];
static uint64_t ino_f, ino_d, ino_g;

static uint64_t mkfile(struct vol *v, uint64_t dir, const char *name, const void *data, size_t len)
{
	struct vol_cred cred = {0};
	struct vol_attr a;

	cr_assert_eq(vol_create(v, dir, name, S_IFREG | 0644, &cred, &a), 0);
	if (len)
		cr_assert_eq(vol_write(v, a.ino, data, len, 0), (ssize_t)len);
	vol_forget(v, a.ino, 1);
	return a.ino;
}

/* /f (10000 bytes), /d/, /d/g (5000 bytes). */
static void setup(void)
{
	struct vol_cred cred = {0};
	struct vol_attr a;
	struct vol *v;

	for (size_t i = 0; i < sizeof(fdata); i++)
		fdata[i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < sizeof(gdata); i++)
		gdata[i] = (uint8_t)(i * 13 + 5);
	tmpvol_create(&tv, 0);
	cr_assert_eq(vol_open(tv.meta, NULL, &v), 0);
	ino_f = mkfile(v, VOL_ROOT_INO, "f", fdata, sizeof(fdata));
	cr_assert_eq(vol_mkdir(v, VOL_ROOT_INO, "d", S_IFDIR | 0755, &cred, &a), 0);
	ino_d = a.ino;
	ino_g = mkfile(v, ino_d, "g", gdata, sizeof(gdata));
	vol_forget(v, ino_d, 1);
	cr_assert_eq(vol_close(v), 0);
	cr_assert_eq(tmpvol_fsck(&tv, ""), 0, "a fresh populated volume must be clean");
}

static void teardown(void)
{
	tmpvol_destroy(&tv);
}

TestSuite(fsck, .init = setup, .fini = teardown);

/* Open the index of the closed volume for damage or inspection. */
static struct idx_txn *idx_begin(struct idx_env **env)
{
	char dir[PATH_MAX + 16];
	struct idx_txn *txn;

	snprintf(dir, sizeof(dir), "%s/%s", tv.meta, VOL_INDEX_DIR);
	cr_assert_eq(idx_env_open(dir, 0, env), 0);
	cr_assert_eq(idx_txn_begin(*env, &txn), 0);
	return txn;
}

static void idx_end(struct idx_env *env, struct idx_txn *txn)
{
	cr_assert_eq(idx_txn_commit(txn), 0);
	cr_assert_eq(idx_env_close(env, true), 0);
}

static void expect_repair_cycle(const char *what)
{
	cr_assert_eq(tmpvol_fsck(&tv, ""), 4, "%s: fsck must report it", what);
	cr_assert_eq(tmpvol_fsck(&tv, "--repair"), 1, "%s: --repair must fix it", what);
	cr_assert_eq(tmpvol_fsck(&tv, "--scrub"), 0, "%s: clean after the repair", what);
}

static void expect_data(const char *what, uint64_t ino, const void *data, size_t len)
{
	struct vol *v;
	uint8_t *buf = malloc(len + 1);

	cr_assert_not_null(buf);
	cr_assert_eq(vol_open(tv.meta, NULL, &v), 0);
	cr_assert_eq(vol_read(v, ino, buf, len + 1, 0), (ssize_t)len, "%s: size", what);
	cr_assert_eq(memcmp(buf, data, len), 0, "%s: data", what);
	cr_assert_eq(vol_close(v), 0);
	free(buf);
}

Test(fsck, wrong_link_count)
{
	struct idx_env *env;
	struct idx_txn *txn = idx_begin(&env);
	struct idx_inode in;

	cr_assert_eq(idx_inode_get(txn, ino_f, &in), 0);
	in.nlink = 3;
	cr_assert_eq(idx_inode_put(txn, &in), 0);
	cr_assert_eq(idx_inode_get(txn, ino_d, &in), 0);
	in.nlink = 7;
	cr_assert_eq(idx_inode_put(txn, &in), 0);
	idx_end(env, txn);
	expect_repair_cycle("wrong link counts");

	txn = idx_begin(&env);
	cr_assert_eq(idx_inode_get(txn, ino_f, &in), 0);
	cr_assert_eq(in.nlink, 1);
	cr_assert_eq(idx_inode_get(txn, ino_d, &in), 0);
	cr_assert_eq(in.nlink, 2);
	idx_end(env, txn);
	expect_data("/f", ino_f, fdata, sizeof(fdata));
}

Test(fsck, wrong_block_count)
{
	struct idx_env *env;
	struct idx_txn *txn = idx_begin(&env);
	struct idx_inode in;

	cr_assert_eq(idx_inode_get(txn, ino_g, &in), 0);
	uint64_t blocks = in.blocks;
	in.blocks = 99;
	cr_assert_eq(idx_inode_put(txn, &in), 0);
	idx_end(env, txn);
	expect_repair_cycle("wrong block count");
	txn = idx_begin(&env);
	cr_assert_eq(idx_inode_get(txn, ino_g, &in), 0);
	cr_assert_eq(in.blocks, blocks);
	idx_end(env, txn);
}

Test(fsck, dangling_entry)
{
	struct idx_env *env;
	struct idx_txn *txn = idx_begin(&env);

	cr_assert_eq(idx_dirent_add(txn, ino_d, "ghost", 5, 999999, DT_REG), 0);
	idx_end(env, txn);
	expect_repair_cycle("entry of a missing inode");
	txn = idx_begin(&env);
	cr_assert_eq(idx_dirent_get(txn, ino_d, "ghost", 5, NULL), -ENOENT);
	cr_assert_eq(idx_dirent_get(txn, ino_d, "g", 1, NULL), 0);
	idx_end(env, txn);
}

Test(fsck, inode_in_no_directory)
{
	struct idx_env *env;
	struct idx_txn *txn = idx_begin(&env);
	struct idx_dirent lf, moved;
	char name[32];

	cr_assert_eq(idx_dirent_del(txn, ino_d, "g", 1), 0);
	idx_end(env, txn);
	expect_repair_cycle("lost inode");

	txn = idx_begin(&env);
	cr_assert_eq(idx_dirent_get(txn, VOL_ROOT_INO, "lost+found", 10, &lf), 0);
	snprintf(name, sizeof(name), "#%llu", (unsigned long long)ino_g);
	cr_assert_eq(idx_dirent_get(txn, lf.ino, name, strlen(name), &moved), 0,
		     "the lost inode must be in /lost+found/%s", name);
	cr_assert_eq(moved.ino, ino_g);
	idx_end(env, txn);
	expect_data("/lost+found/#g", ino_g, gdata, sizeof(gdata));
}

Test(fsck, directory_cycle)
{
	struct vol_cred cred = {0};
	struct vol_attr a, b;
	struct idx_env *env;
	struct idx_txn *txn;
	struct idx_inode in;
	struct vol *v;

	cr_assert_eq(vol_open(tv.meta, NULL, &v), 0);
	cr_assert_eq(vol_mkdir(v, VOL_ROOT_INO, "a", S_IFDIR | 0755, &cred, &a), 0);
	cr_assert_eq(vol_mkdir(v, a.ino, "b", S_IFDIR | 0755, &cred, &b), 0);
	uint64_t ino_h = mkfile(v, b.ino, "h", fdata, 100);
	vol_forget(v, a.ino, 1);
	vol_forget(v, b.ino, 1);
	cr_assert_eq(vol_close(v), 0);

	/* Make /a a child of /a/b: neither is reachable from the root any more. */
	txn = idx_begin(&env);
	cr_assert_eq(idx_dirent_del(txn, VOL_ROOT_INO, "a", 1), 0);
	cr_assert_eq(idx_dirent_add(txn, b.ino, "a", 1, a.ino, DT_DIR), 0);
	cr_assert_eq(idx_inode_get(txn, a.ino, &in), 0);
	in.parent = b.ino;
	cr_assert_eq(idx_inode_put(txn, &in), 0);
	idx_end(env, txn);
	expect_repair_cycle("directory cycle");

	txn = idx_begin(&env);
	struct idx_dirent lf;
	cr_assert_eq(idx_dirent_get(txn, VOL_ROOT_INO, "lost+found", 10, &lf), 0);
	cr_assert_not(idx_dir_empty(txn, lf.ino), "one directory of the cycle is in lost+found");
	idx_end(env, txn);
	expect_data("file inside the cycle", ino_h, fdata, 100);
}

Test(fsck, extent_of_missing_inode)
{
	struct idx_env *env;
	struct idx_txn *txn = idx_begin(&env);
	struct idx_extent e;

	cr_assert_eq(idx_extent_seek(txn, ino_f, 0, &e), 0);
	cr_assert_eq(idx_extent_put(txn, 888888, &e), 0);
	idx_end(env, txn);
	expect_repair_cycle("extent of a missing inode");
	txn = idx_begin(&env);
	cr_assert_eq(idx_extent_seek(txn, 888888, 0, &e), -ENOENT);
	idx_end(env, txn);
	expect_data("/f", ino_f, fdata, sizeof(fdata));
}

Test(fsck, chunks_used_twice)
{
	struct idx_env *env;
	struct idx_txn *txn = idx_begin(&env);
	struct idx_extent ef, eg;

	/* /d/g's first extent now points at /f's chunks: /f's chunks are used
	 * twice and /d/g's own chunks leak. */
	cr_assert_eq(idx_extent_seek(txn, ino_f, 0, &ef), 0);
	cr_assert_eq(idx_extent_seek(txn, ino_g, 0, &eg), 0);
	eg.disk = ef.disk;
	eg.track = ef.track;
	eg.chunk = ef.chunk;
	idx_end(env, txn);
	txn = idx_begin(&env);
	cr_assert_eq(idx_extent_put(txn, ino_g, &eg), 0);
	idx_end(env, txn);
	expect_repair_cycle("chunks used twice");
	expect_data("/f keeps its chunks", ino_f, fdata, sizeof(fdata));
}

Test(fsck, orphan_on_clean_volume)
{
	struct idx_env *env;
	struct idx_txn *txn;
	struct idx_inode in;
	struct vol *v;

	cr_assert_eq(vol_open(tv.meta, NULL, &v), 0);
	uint64_t ino_o = mkfile(v, VOL_ROOT_INO, "o", fdata, sizeof(fdata));
	cr_assert_eq(vol_close(v), 0);

	/* What an unlink while open leaves behind, but on a cleanly closed volume. */
	txn = idx_begin(&env);
	cr_assert_eq(idx_dirent_del(txn, VOL_ROOT_INO, "o", 1), 0);
	cr_assert_eq(idx_inode_get(txn, ino_o, &in), 0);
	in.nlink = 0;
	cr_assert_eq(idx_inode_put(txn, &in), 0);
	cr_assert_eq(idx_orphan_add(txn, ino_o), 0);
	idx_end(env, txn);
	expect_repair_cycle("orphan left on a clean volume");
	txn = idx_begin(&env);
	cr_assert_eq(idx_inode_get(txn, ino_o, &in), -ENOENT, "the orphan must be reclaimed");
	idx_end(env, txn);
}

Test(fsck, frees_while_a_disk_was_missing)
{
	struct idx_env *env;
	struct idx_txn *txn = idx_begin(&env);
	struct idx_disk_stale st;
	struct idx_extent ef;
	char moved[PATH_MAX + 8];
	struct vol *v;

	/* The second disk (the first holds the metadata) holds /f or /d/g. */
	uint64_t dir = VOL_ROOT_INO;
	const char *name = "f";
	cr_assert_eq(idx_extent_seek(txn, ino_f, 0, &ef), 0);
	if (ef.disk != 1) {
		cr_assert_eq(idx_extent_seek(txn, ino_g, 0, &ef), 0);
		dir = ino_d;
		name = "g";
	}
	cr_assert_eq(ef.disk, 1, "neither file is on the second disk");
	idx_end(env, txn);
	snprintf(moved, sizeof(moved), "%s.away", tv.disk[1]);
	cr_assert_eq(rename(tv.disk[1], moved), 0);
	cr_assert_eq(vol_open(tv.meta, NULL, &v), 0);
	cr_assert_eq(vol_unlink(v, dir, name), 0);
	cr_assert_eq(vol_close(v), 0);
	/* Missing: only the disk itself is an error; the frees are a note. */
	cr_assert_eq(tmpvol_fsck(&tv, ""), 4);
	cr_assert_eq(tmpvol_fsck(&tv, "--repair"), 4, "no rebuild without the disk");
	txn = idx_begin(&env);
	cr_assert_eq(idx_disk_stale_get(txn, 1, &st), 0, "--repair dropped the record");
	cr_assert_eq(st.chunks, ef.nchunks);
	idx_end(env, txn);

	/* Back: its free lists lag until a rebuild, which --repair does. */
	cr_assert_eq(rename(moved, tv.disk[1]), 0);
	expect_repair_cycle("frees made while a disk was missing");
	txn = idx_begin(&env);
	cr_assert_eq(idx_disk_stale_get(txn, 1, &st), -ENOENT, "the record stayed");
	idx_end(env, txn);
}

/* The track file holding /f's chunk @p idx, and that chunk's offset in it. */
static void f_chunk(uint32_t idx, char *path, size_t len, off_t *off)
{
	struct idx_env *env;
	struct idx_txn *txn = idx_begin(&env);
	struct idx_extent e;

	cr_assert_eq(idx_extent_seek(txn, ino_f, 0, &e), 0);
	cr_assert_gt(e.nchunks, idx);
	idx_end(env, txn);
	snprintf(path, len, "%s/tracks/track-%06u.trk", tv.disk[e.disk], e.track);
	*off = 4096 + (off_t)(e.chunk + idx) * 4096; /* after the 4 KiB track header */
}

Test(fsck, chunks_never_written)
{
	char path[PATH_MAX];
	off_t off;

	/* What a write lost at writeback leaves: /f's second chunk is a hole. */
	f_chunk(1, path, sizeof(path), &off);
	int fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, 4096), 0);
	close(fd);
	cr_assert_eq(tmpvol_fsck(&tv, ""), 4, "a referenced hole must be reported");
	cr_assert_eq(tmpvol_fsck(&tv, "--repair"), 4, "nothing can bring the bytes back");
}

Test(fsck, chunks_past_the_end_of_the_track)
{
	char path[PATH_MAX];
	off_t off;

	f_chunk(1, path, sizeof(path), &off);
	cr_assert_eq(truncate(path, off), 0);
	cr_assert_eq(tmpvol_fsck(&tv, ""), 4, "chunks past the end must be reported");
}
