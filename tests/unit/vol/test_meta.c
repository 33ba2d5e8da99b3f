/* What vol_info and the control socket tell of the index's snapshots and the
 * metadata mirror (fs/vol/statfs.c, fs/vol/control.c): each disk's newest
 * snapshot, the mirror's state on a volume opened for writing (the index's
 * own word), on one opened read-only (its directory's commit against the
 * index's: current, behind, missing, unreadable) and through the daemon's
 * "info"; "meta-snapshot" and "meta-mirror DIR"; vol_mkfs's meta_mirror. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/vol/vol_int.h"
#include "tests/harness/tmpvol.h"
#include "tests/unit/vol/fixture.h"

static struct fx f;
static struct vol_info info;

static void setup(void)
{
	fx_setup(&f, 0);
}

static void teardown(void)
{
	fx_teardown(&f);
}

static void mirror_dir(char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/mirror", f.tv.root);
	cr_assert_lt(n, (int)size);
}

/* Reopen read-only (as `trackfs status` of an unmounted volume does). */
static void reopen_rdonly(void)
{
	struct vol_open_opts o = {.flags = VOL_RDONLY | VOL_NO_RECOVER, .owner = "unit test"};

	fx_close(&f);
	cr_assert_eq(vol_open(f.tv.meta, &o, &f.v), 0);
}

Test(meta, fresh_volume_has_no_snapshot_and_no_mirror, .init = setup, .fini = teardown)
{
	cr_assert_eq(vol_info(f.v, &info), 0);
	cr_assert_gt(info.index_seq, 0);
	cr_assert_eq(info.index_seq, idx_env_seq(f.v->idx));
	cr_assert_eq(info.mirror_state, VOL_MIRROR_NONE);
	cr_assert_str_eq(info.mirror, "");
	for (unsigned i = 0; i < info.ndisks; i++)
		cr_assert(!info.disks[i].has_snapshot, "disk %u", i);
}

Test(meta, info_shows_each_disks_newest_snapshot, .init = setup, .fini = teardown)
{
	struct vol_snapshot_result r1, r2;

	fx_create(&f, "a");
	cr_assert_eq(vol_snapshot(f.v, NULL, &r1), 0);
	fx_create(&f, "b");
	cr_assert_eq(vol_snapshot(f.v, NULL, &r2), 0);
	cr_assert_gt(r2.seq, r1.seq);
	cr_assert_eq(r2.written, 2);
	cr_assert_eq(vol_info(f.v, &info), 0);
	for (unsigned i = 0; i < 2; i++) {
		cr_assert(info.disks[i].has_snapshot, "disk %u", i);
		cr_assert_eq(info.disks[i].snapshot_seq, r2.seq, "disk %u", i);
		cr_assert_gt(info.disks[i].snapshot_time_ns, 0);
	}

	/* The newest file on disk 1 damaged in its header: the one before it. */
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s/index-%016" PRIx64 ".snap", f.tv.disk[1],
		 VOL_SNAPSHOT_DIR, r2.seq);
	int fd = open(path, O_WRONLY);
	cr_assert(fd >= 0);
	cr_assert_eq(pwrite(fd, "XXXXXXXX", 8, 0), 8);
	close(fd);
	cr_assert_eq(vol_info(f.v, &info), 0);
	cr_assert_eq(info.disks[0].snapshot_seq, r2.seq);
	cr_assert(info.disks[1].has_snapshot);
	cr_assert_eq(info.disks[1].snapshot_seq, r1.seq);
}

Test(meta, mirror_state_written_and_read_only, .init = setup, .fini = teardown)
{
	char mir[PATH_MAX], file[PATH_MAX + 32];

	mirror_dir(mir, sizeof(mir));
	cr_assert_eq(vol_mirror_set(f.v, mir), 0);
	fx_create(&f, "a");
	cr_assert_eq(vol_sync(f.v), 0);
	cr_assert_eq(vol_info(f.v, &info), 0);
	cr_assert_str_eq(info.mirror, mir);
	cr_assert_eq(info.mirror_state, VOL_MIRROR_CURRENT);
	cr_assert_eq(info.mirror_seq, info.index_seq);
	cr_assert_eq(info.mirror_error, 0);

	/* Read-only, the mirror is not attached: its own commit is read. */
	reopen_rdonly();
	cr_assert_eq(vol_info(f.v, &info), 0);
	cr_assert_eq(info.mirror_state, VOL_MIRROR_CURRENT);
	cr_assert_eq(info.mirror_seq, info.index_seq);

	/* Behind: the volume changed while the mirror was not there. */
	fx_close(&f);
	char moved[PATH_MAX + 8];
	snprintf(moved, sizeof(moved), "%s.away", mir);
	cr_assert_eq(rename(mir, moved), 0);
	fx_open(&f);
	fx_create(&f, "b");
	fx_close(&f);
	snprintf(file, sizeof(file), "rm -rf '%s' && mv '%s' '%s'", mir, moved, mir);
	cr_assert_eq(system(file), 0);
	reopen_rdonly();
	cr_assert_eq(vol_info(f.v, &info), 0);
	cr_assert_eq(info.mirror_state, VOL_MIRROR_STALE);
	cr_assert_lt(info.mirror_seq, info.index_seq);
	cr_assert_gt(info.mirror_seq, 0);

	/* No index there. */
	snprintf(file, sizeof(file), "%s/index/data.mdb", mir);
	cr_assert_eq(unlink(file), 0);
	cr_assert_eq(vol_info(f.v, &info), 0);
	cr_assert_eq(info.mirror_state, VOL_MIRROR_STALE);
	cr_assert_eq(info.mirror_error, -ENOENT);

	/* Not an index. */
	int fd = open(file, O_WRONLY | O_CREAT, 0644);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, "not an LMDB file at all", 23), 23);
	close(fd);
	cr_assert_eq(vol_info(f.v, &info), 0);
	cr_assert_eq(info.mirror_state, VOL_MIRROR_FAILED);
	cr_assert_eq(info.mirror_error, -EIO);

	/* The next open for writing resyncs it. */
	fx_close(&f);
	fx_open(&f);
	cr_assert_eq(vol_info(f.v, &info), 0);
	cr_assert_eq(info.mirror_state, VOL_MIRROR_CURRENT);
}

Test(meta, control_socket_requests_and_info, .init = setup, .fini = teardown)
{
	char mir[PATH_MAX], req[PATH_MAX + 16], rep[256];
	struct vol_info *remote = calloc(1, sizeof(*remote));
	uint64_t seq, bytes;
	unsigned written, failed;
	double secs;

	cr_assert_not_null(remote);
	fx_create(&f, "a");
	cr_assert_eq(vol_control_request(f.tv.meta, "meta-snapshot", rep, sizeof(rep)), 0);
	cr_assert_eq(sscanf(rep, "ok %" SCNu64 " %" SCNu64 " %u %u %lf", &seq, &bytes, &written,
			    &failed, &secs),
		     5, "reply: %s", rep);
	cr_assert_eq(written, 2);
	cr_assert_eq(failed, 0);
	cr_assert_geq(bytes, IDX_SNAPSHOT_HEADER);

	mirror_dir(mir, sizeof(mir));
	cr_assert_eq(vol_control_request(f.tv.meta, "meta-mirror relative/dir", rep, sizeof(rep)),
		     0);
	cr_assert_str_eq(rep, "err 22");
	snprintf(req, sizeof(req), "meta-mirror %s", mir);
	cr_assert_eq(vol_control_request(f.tv.meta, req, rep, sizeof(rep)), 0);
	cr_assert_eq(strncmp(rep, "ok ", 3), 0, "reply: %s", rep);

	/* Setting the mirror kicks the snapshot thread (the snapshots must carry
	 * the new volume file): compare once that snapshot is on the disks, not
	 * while it is being written between the two readings. */
	for (int tries = 0;; tries++) {
		cr_assert_eq(vol_info_remote(f.tv.meta, remote), 0);
		cr_assert_eq(vol_info(f.v, &info), 0);
		if (tries == 100 ||
		    (remote->disks[0].snapshot_time_ns == info.disks[0].snapshot_time_ns &&
		     remote->disks[1].snapshot_time_ns == info.disks[1].snapshot_time_ns))
			break;
		usleep(20000);
	}
	cr_assert_eq(remote->index_seq, info.index_seq);
	cr_assert_str_eq(remote->mirror, mir);
	cr_assert_eq(remote->mirror_state, VOL_MIRROR_CURRENT);
	cr_assert_eq(remote->mirror_seq, info.mirror_seq);
	cr_assert_eq(remote->mirror_error, 0);
	for (unsigned i = 0; i < 2; i++) {
		cr_assert(remote->disks[i].has_snapshot);
		cr_assert_eq(remote->disks[i].snapshot_seq, seq);
		cr_assert_eq(remote->disks[i].snapshot_time_ns, info.disks[i].snapshot_time_ns);
	}
	free(remote);
}

Test(meta, mkfs_makes_the_mirror)
{
	struct tmpvol tv;
	char mir[PATH_MAX], dir[PATH_MAX + 16];
	uint64_t seq;
	struct vol *v;

	memset(&tv, 0, sizeof(tv));
	snprintf(tv.root, sizeof(tv.root), "/tmp/trackfs-test.XXXXXX");
	cr_assert_not_null(mkdtemp(tv.root));
	snprintf(tv.disk[0], sizeof(tv.disk[0]), "%s/disk1", tv.root);
	snprintf(tv.meta, sizeof(tv.meta), "%s/meta", tv.disk[0]);
	snprintf(mir, sizeof(mir), "%s/mirror", tv.root);
	const char *disks[1] = {tv.disk[0]};
	struct vol_mkfs_opts o = {
		.meta_dir = tv.meta, .disks = disks, .ndisks = 1, .meta_mirror = "rel/mirror"};
	cr_assert_eq(vol_mkfs(&o, NULL), -EINVAL);
	o.meta_mirror = tv.meta;
	cr_assert_eq(vol_mkfs(&o, NULL), -EINVAL);
	o.meta_mirror = mir;
	o.force = true;
	cr_assert_eq(vol_mkfs(&o, NULL), 0);
	snprintf(dir, sizeof(dir), "%s/index", mir);
	cr_assert_eq(idx_mirror_peek(dir, &seq), 0);

	struct vol_open_opts oo = {.flags = VOL_RDONLY | VOL_NO_RECOVER, .owner = "unit test"};
	cr_assert_eq(vol_open(tv.meta, &oo, &v), 0);
	cr_assert_eq(vol_info(v, &info), 0);
	cr_assert_str_eq(info.mirror, mir);
	cr_assert_eq(info.mirror_state, VOL_MIRROR_CURRENT);
	cr_assert_eq(seq, info.index_seq);
	cr_assert_eq(vol_close(v), 0);

	/* A used mirror directory is refused without force. */
	o.force = false;
	cr_assert_eq(vol_mkfs(&o, NULL), -ENOTEMPTY);
	tmpvol_destroy(&tv);
}
