/*
 * Space for data.mdb on its filesystem, claimed before it is needed.
 *
 * LMDB writes a commit's pages (file growth included) at commit time; on a
 * full filesystem that write fails and the whole group is lost, long after
 * its changes were acknowledged and the volume's memory (inode numbers,
 * allocator, the kernel's caches) moved past it. So the file's blocks are
 * claimed ahead with fallocate (FALLOC_FL_KEEP_SIZE: the size LMDB and the
 * truncation check see does not change) and every write into a child
 * transaction is charged against them: the worst case the group may add to
 * the file (its bound, see txn.c) must fit in what is claimed plus the pages
 * LMDB's free list can give back. When it does not and the filesystem cannot
 * give more, the one operation fails with -ENOSPC before anything is
 * committed, and the group stays committable.
 *
 * Operations that free space (unlink, truncate, rmdir) also need pages:
 * LMDB copies on write. A reserve is kept for them (idx_txn_use_reserve),
 * so a user can always delete their way out of a full metadata filesystem.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "core/base/log.h"
#include "index/idx_int.h"

/* Kept free for operations that free space. */
#define SPACE_RESERVE (1ull << 20)
/* LMDB's own writes at commit: free-list records, the main DB's root, meta. */
#define SPACE_COMMIT_PAGES 64u
/* What one child may need before the group is committed to make room. */
#define SPACE_CHILD (256ull << 10)
/* How far past the used size a group may make the file claim, at most. */
#define SPACE_AHEAD_MIN (16ull << 20)
#define SPACE_AHEAD_MAX (256ull << 20)
/* Claim at least this much past what is needed, to fallocate rarely. */
#define SPACE_STEP_MIN (1ull << 20)
#define SPACE_STEP_MAX (64ull << 20)

void idx_space_init(struct idx_env *env)
{
	struct stat st;

	env->claimed = 0;
	env->fd = -1;
	if (env->rdonly)
		return;
	if (mdb_env_get_fd(env->mdb, &env->fd) != 0)
		env->fd = -1;
	if (env->fd >= 0 && fstat(env->fd, &st) == 0)
		env->claimed = (uint64_t)st.st_size;
}

/* Bytes in pages LMDB's free list holds as of the last commit. Counted only
 * when claimed space runs short, and remembered until the next commit. */
static uint64_t free_list_bytes(struct idx_env *env)
{
	MDB_cursor *cur;
	MDB_txn *rt;
	MDB_val k, v;
	uint64_t pages = 0;

	if (env->free_valid)
		return env->free_bytes;
	/* No lock table (MDB_NOLOCK): a read transaction beside the group sees
	 * the last commit, whose free pages are what the group may reuse. */
	if (mdb_txn_begin(env->mdb, NULL, MDB_RDONLY, &rt) != 0)
		return 0;
	if (mdb_cursor_open(rt, 0, &cur) == 0) {
		for (int op = MDB_FIRST; mdb_cursor_get(cur, &k, &v, op) == 0; op = MDB_NEXT)
			if (v.mv_size >= sizeof(size_t))
				pages += *(const size_t *)v.mv_data; /* IDL: count first */
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(rt);
	env->free_bytes = pages * env->psize;
	env->free_valid = true;
	return env->free_bytes;
}

/* Make the file's blocks up to @p end allocated. */
static int claim(struct idx_env *env, uint64_t end)
{
	uint64_t step = end / 8;

	step = step < SPACE_STEP_MIN   ? SPACE_STEP_MIN
	       : step > SPACE_STEP_MAX ? SPACE_STEP_MAX
				       : step;
	/* With room to spare first; then exactly what is needed. */
	for (int exact = 0; exact < 2; exact++) {
		uint64_t want = exact ? end : end + step;
		if (fallocate(env->fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)want) == 0) {
			env->claimed = want;
			return 0;
		}
		if (errno == EOPNOTSUPP || errno == ENOSYS) {
			tfs_warn("index at %s: the filesystem cannot preallocate (fallocate: %s); "
				 "a full metadata filesystem will fail commits instead of "
				 "refusing changes: put the metadata directory on ext4, xfs, "
				 "btrfs or tmpfs",
				 env->path, tfs_strerror(-errno));
			env->claimed = UINT64_MAX;
			return 0;
		}
		if (errno != ENOSPC && errno != EDQUOT)
			return -errno;
	}
	return -ENOSPC;
}

/* Room for growing the file by @p grow bytes: 0, or -ENOSPC (or -errno). */
static int room_for(struct idx_env *env, uint64_t grow)
{
	grow += (uint64_t)SPACE_COMMIT_PAGES * env->psize;
	if (env->fd < 0 || env->claimed == UINT64_MAX || env->used + grow <= env->claimed)
		return 0;
	uint64_t reuse = free_list_bytes(env);
	uint64_t need = env->used + (grow > reuse ? grow - reuse : 0);
	return need <= env->claimed ? 0 : claim(env, need);
}

bool idx_space_tight(struct idx_env *env)
{
	uint64_t grow = env->group_bound + SPACE_CHILD + SPACE_RESERVE;
	uint64_t ahead = env->used / 2;

	if (env->group_bound == 0)
		return false;
	/* The group's bound is a worst case, far above what it really adds
	 * (a page copied once per group is charged at every write to it):
	 * past a modest claim ahead, committing the group (bound back to 0)
	 * is cheaper than claiming blocks the file will never use. */
	ahead = ahead < SPACE_AHEAD_MIN	  ? SPACE_AHEAD_MIN
		: ahead > SPACE_AHEAD_MAX ? SPACE_AHEAD_MAX
					  : ahead;
	if (grow > ahead && grow > ahead + free_list_bytes(env))
		return true;
	return room_for(env, grow) < 0;
}

int idx_space_charge(struct idx_txn *txn)
{
	struct idx_env *env = txn->env;
	int rc = room_for(env,
			  env->group_bound + txn->bound + (txn->reserve_ok ? 0 : SPACE_RESERVE));

	if (rc == 0) {
		if (txn->reserve_ok)
			return 0; /* says nothing about other writes */
		if (env->space_short)
			tfs_info("index at %s: its filesystem has room again: changes are "
				 "accepted",
				 env->path);
		env->space_short = false;
		return 0;
	}
	if (!env->space_short)
		tfs_err("index at %s: its filesystem is full (%s): creating and writing files "
			"fails with 'No space left on device' until space is freed on it; "
			"reads and deletes still work, nothing already written is lost",
			env->path, tfs_strerror(rc));
	env->space_short = true;
	txn->failed = rc;
	return rc;
}
