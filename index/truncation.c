/*
 * A data.mdb cut short (a copy that stopped, a filesystem that lost its
 * tail) must be refused before LMDB maps it: the first read of a page past
 * the file's end is a SIGBUS in whichever process touches it (fsck, the
 * daemon, trackfs-debug).
 *
 * The file may legitimately end before the last page the meta page counts:
 * pages a transaction allocated and freed again ("loose" pages) are never
 * written, and when they are the highest ones the file stops short of them.
 * Those pages are on LMDB's free list and nothing reads them until a later
 * commit writes them. So a shortfall is fine exactly when every missing page
 * is free. The free list is read through the map, which for a truncated
 * file may itself reach past the end: that read runs under a SIGBUS guard.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "core/base/log.h"
#include "index/idx_int.h"

static _Thread_local sigjmp_buf *bus_jump;

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
	(void)si;
	(void)ctx;
	if (bus_jump)
		siglongjmp(*bus_jump, 1);
	/* Not ours: die as the fault would have killed us. */
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Count the free-list pages numbered @p from or above into @p out. @return 0,
 * -EFAULT if reading the free list touched a page past the file's end, or
 * another -errno.
 */
static int count_free_above(struct idx_env *env, uint64_t from, uint64_t *out)
{
	struct sigaction sa = {.sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO}, old;
	MDB_cursor *volatile cur = NULL;
	MDB_txn *volatile rt = NULL;
	volatile uint64_t n = 0;
	volatile int rc = 0;
	sigjmp_buf jump;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &old) < 0)
		return -errno;
	if (sigsetjmp(jump, 1) == 0) {
		MDB_txn *t;
		MDB_cursor *c;
		MDB_val k, v;

		bus_jump = &jump;
		rc = mdb_txn_begin(env->mdb, NULL, MDB_RDONLY, &t);
		if (rc == 0) {
			rt = t;
			rc = mdb_cursor_open(t, 0, &c);
		}
		if (rc == 0) {
			cur = c;
			for (int op = MDB_FIRST; (rc = mdb_cursor_get(c, &k, &v, op)) == 0;
			     op = MDB_NEXT) {
				const size_t *ids = v.mv_data;
				size_t len = v.mv_size / sizeof(size_t);
				/* An IDL: the count, then the page numbers. */
				for (size_t i = 1; i < len && i <= ids[0]; i++)
					if (ids[i] >= from)
						n++;
			}
			if (rc == MDB_NOTFOUND)
				rc = 0;
		}
		rc = rc ? idx_errmap(env, rc, "read the free list") : 0;
	} else {
		rc = -EFAULT;
	}
	bus_jump = NULL;
	sigaction(SIGBUS, &old, NULL);
	if (cur)
		mdb_cursor_close(cur);
	if (rt)
		mdb_txn_abort(rt);
	*out = n;
	return rc;
}

int idx_check_file_size(struct idx_env *env, const char *file)
{
	MDB_envinfo info;
	struct stat st;
	int rc;

	rc = mdb_env_info(env->mdb, &info);
	if (rc)
		return idx_errmap(env, rc, "read the meta page");
	mdb_filehandle_t fd;
	rc = mdb_env_get_fd(env->mdb, &fd);
	if (rc)
		return idx_errmap(env, rc, "get the file descriptor");
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		tfs_err("index: cannot stat %s: %s", file, tfs_strerror(rc));
		return rc;
	}
	uint64_t pages = (uint64_t)info.me_last_pgno + 1;
	uint64_t have = (uint64_t)st.st_size / env->psize;
	if (have >= pages)
		return 0;
	uint64_t free_missing = 0;
	rc = have >= 2 ? count_free_above(env, have, &free_missing) : -EFAULT;
	if (rc == 0 && free_missing >= pages - have)
		return 0; /* only never-written free pages are missing */
	if (rc < 0 && rc != -EFAULT)
		return rc;
	tfs_err("index: %s is %" PRIu64 " bytes but its last transaction uses %" PRIu64 " (%" PRIu64
		" pages of %u, %" PRIu64 " missing that are in use): the file was "
		"truncated or damaged; rebuild the metadata directory from the snapshots on the "
		"data disks "
		"(fsck.trackfs --restore-meta); nothing "
		"was changed",
		file, (uint64_t)st.st_size, pages * env->psize, pages, env->psize,
		rc == -EFAULT ? pages - have : pages - have - free_missing);
	return -EIO;
}
