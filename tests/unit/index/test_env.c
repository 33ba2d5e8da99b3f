/* index/env.c and txn.c: creating, opening and reopening an environment,
 * refusing garbage and missing ones, group commit (visibility, flush, abort of
 * one child, automatic commit, the precommit hook), map growth and read-only opens. */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include "idx_fixture.h"
#include "index/idx_int.h" /* env->lock: commit_keep holds it */

static struct fx f;

static void setup(void)
{
	fx_setup(&f);
}

static void teardown(void)
{
	fx_teardown(&f);
}

/* 0 if inode @p ino exists with @p size, else the error (or -EBADE on a size mismatch). */
static int get_ino(struct idx_env *env, uint64_t ino, uint64_t size)
{
	struct idx_inode in;
	struct idx_txn *txn = fx_begin_env(env);
	int rc;

	rc = idx_inode_get(txn, ino, &in);
	fx_abort(txn);
	if (rc == 0 && in.size != size)
		rc = -EBADE;
	return rc;
}

Test(env, create_reopen, .init = setup, .fini = teardown)
{
	fx_put_ino(f.env, 5, 123);
	cr_assert_eq(idx_env_close(f.env, true), 0);
	f.env = NULL;
	fx_open(&f, 0);
	cr_assert_eq(get_ino(f.env, 5, 123), 0);
	cr_assert_eq(get_ino(f.env, 6, 0), -ENOENT);
}

Test(env, missing)
{
	struct idx_env *env = NULL;
	struct fx g;

	cr_assert_eq(idx_env_open("/tmp/trackfs-no-such-dir-for-test", IDX_CREATE, &env), -ENOENT);
	fx_mkdir(&g);
	/* An empty directory is not an index unless asked to create one. */
	cr_assert_eq(idx_env_open(g.dir, 0, &env), -ENOENT);
	cr_assert_eq(idx_env_open(g.dir, IDX_RDONLY, &env), -ENOENT);
	cr_assert_null(env);
	fx_teardown(&g);
}

static void write_garbage(const char *dir, size_t len)
{
	char path[128];
	uint8_t *buf = malloc(len);
	int fd;

	cr_assert_not_null(buf);
	srand(42);
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)rand();
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
	free(buf);
}

Test(env, garbage_is_eio)
{
	size_t sizes[] = {100, 65536, 1 << 20};
	struct idx_env *env = NULL;
	struct fx g;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		fx_mkdir(&g);
		write_garbage(g.dir, sizes[i]);
		cr_expect_eq(idx_env_open(g.dir, 0, &env), -EIO, "size %zu", sizes[i]);
		cr_expect_eq(idx_env_open(g.dir, IDX_CREATE, &env), -EIO, "size %zu", sizes[i]);
		cr_expect_eq(idx_env_open(g.dir, IDX_RDONLY, &env), -EIO, "size %zu", sizes[i]);
		cr_assert_null(env);
		fx_teardown(&g);
	}
}

Test(env, lmdb_without_tables_is_eio)
{
	struct idx_env *env = NULL;
	MDB_env *raw;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = {1, "x"}, v = {1, "y"};
	struct fx g;

	/* A valid LMDB file that is not a trackfs index. */
	fx_mkdir(&g);
	cr_assert_eq(mdb_env_create(&raw), 0);
	cr_assert_eq(mdb_env_open(raw, g.dir, MDB_NOLOCK, 0644), 0);
	cr_assert_eq(mdb_txn_begin(raw, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(raw);
	cr_expect_eq(idx_env_open(g.dir, 0, &env), -EIO);
	cr_expect_eq(idx_env_open(g.dir, IDX_RDONLY, &env), -EIO);
	fx_teardown(&g);
}

/* Open @p dir in a child so that a SIGBUS (LMDB mapping past the end of a
 * cut-short file) fails the test instead of killing the runner. @return the
 * child's wait status; it exits with -rc of every open mode in turn. */
static int open_in_child(const char *dir, unsigned flags)
{
	int status;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct idx_env *env = NULL;
		int rc = idx_env_open(dir, flags, &env);
		if (rc == 0) {
			/* Reading every inode touches every page the meta page names. */
			(void)get_ino(env, 1, 0);
			idx_env_close(env, false);
		}
		_exit(-rc);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

Test(env, truncated_file_is_eio, .init = setup, .fini = teardown)
{
	char file[128], copy[128];
	struct stat st;

	/* An index of a few hundred pages. */
	for (uint64_t ino = 10; ino < 3000; ino++)
		fx_put_ino(f.env, ino, ino);
	cr_assert_eq(idx_env_close(f.env, true), 0);
	f.env = NULL;
	snprintf(file, sizeof(file), "%s/data.mdb", f.dir);
	snprintf(copy, sizeof(copy), "%s/data.mdb.orig", f.dir);
	cr_assert_eq(stat(file, &st), 0);
	cr_assert_gt(st.st_size, 64 * 4096);
	cr_assert_eq(link(file, copy), 0);
	off_t full = st.st_size;
	off_t cuts[] = {0, 8192, full / 2, full * 3 / 4, full - 4096};
	unsigned modes[] = {0, IDX_RDONLY};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		for (size_t m = 0; m < 2; m++) {
			/* A fresh copy cut to size each time: nothing may repair it. */
			char cmd[300];
			snprintf(cmd, sizeof(cmd), "rm -f %s && cp %s %s && truncate -s %lld %s",
				 file, copy, file, (long long)cuts[i], file);
			cr_assert_eq(system(cmd), 0);
			int status = open_in_child(f.dir, modes[m]);
			cr_expect(WIFEXITED(status),
				  "cut to %lld bytes, mode %u: killed by signal %d",
				  (long long)cuts[i], modes[m], WTERMSIG(status));
			cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == EIO,
				  "cut to %lld bytes, mode %u: exit %d, want EIO",
				  (long long)cuts[i], modes[m], WEXITSTATUS(status));
			cr_assert_eq(stat(file, &st), 0);
			cr_expect_eq(st.st_size, cuts[i], "the open changed the file's size");
		}
	}
	/* The whole file opens. */
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -f %s && cp %s %s", file, copy, file);
	cr_assert_eq(system(cmd), 0);
	int status = open_in_child(f.dir, 0);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The highest pages of @p e that LMDB's free list holds, counted down from
 * the last page the meta page counts. */
static size_t free_tail_pages(MDB_env *e, size_t *last)
{
	static uint8_t isfree[1 << 16];
	MDB_envinfo in;
	MDB_cursor *cu;
	MDB_txn *t;
	MDB_val k, v;
	size_t n = 0;

	memset(isfree, 0, sizeof(isfree));
	cr_assert_eq(mdb_env_info(e, &in), 0);
	cr_assert_lt(in.me_last_pgno, sizeof(isfree));
	cr_assert_eq(mdb_txn_begin(e, NULL, MDB_RDONLY, &t), 0);
	cr_assert_eq(mdb_cursor_open(t, 0, &cu), 0);
	while (mdb_cursor_get(cu, &k, &v, MDB_NEXT) == 0) {
		const size_t *ids = v.mv_data;
		for (size_t i = 1; i <= ids[0]; i++)
			isfree[ids[i]] = 1;
	}
	mdb_cursor_close(cu);
	mdb_txn_abort(t);
	for (size_t p = in.me_last_pgno; p > 1 && isfree[p]; p--)
		n++;
	*last = in.me_last_pgno;
	return n;
}

/*
 * Pages a transaction allocated and freed again are never written: when they
 * are the highest ones, the file ends before the meta page's last page (seen
 * after a kill -9). Such a file is whole and must open; one cut into a page
 * in use must not. The state is made by churning until the highest pages are
 * free, then cutting exactly those off.
 */
Test(env, unwritten_free_tail_opens, .init = setup, .fini = teardown)
{
	static char pad[100];
	char file[128], key[32];
	size_t tail = 0, last = 0;
	MDB_val val = {.mv_size = sizeof(pad), .mv_data = pad};
	MDB_env *raw;
	MDB_txn *txn;
	MDB_dbi dbi;

	fx_put_ino(f.env, 5, 5);
	cr_assert_eq(idx_env_close(f.env, true), 0);
	f.env = NULL;
	cr_assert_eq(mdb_env_create(&raw), 0);
	cr_assert_eq(mdb_env_set_maxdbs(raw, 16), 0);
	cr_assert_eq(mdb_env_open(raw, f.dir, MDB_NOLOCK, 0644), 0);
	srand(1);
	for (int r = 0; r < 400 && !tail; r++) {
		cr_assert_eq(mdb_txn_begin(raw, NULL, 0, &txn), 0);
		cr_assert_eq(mdb_dbi_open(txn, "xattr", 0, &dbi), 0);
		int base = rand() % 5000, n = rand() % 3000;
		for (int i = base; i < base + n; i++) {
			snprintf(key, sizeof(key), "churn%08d", i);
			MDB_val k = {.mv_size = strlen(key), .mv_data = key};
			int rc = r % 2 ? mdb_put(txn, dbi, &k, &val, 0)
				       : mdb_del(txn, dbi, &k, NULL);
			cr_assert(rc == 0 || rc == MDB_NOTFOUND);
		}
		cr_assert_eq(mdb_txn_commit(txn), 0);
		tail = free_tail_pages(raw, &last);
	}
	mdb_env_close(raw);
	cr_assert_gt(tail, 0, "no state with free pages at the end of the file was made");
	snprintf(file, sizeof(file), "%s/data.mdb", f.dir);
	cr_assert_eq(truncate(file, (off_t)(last + 1 - tail) * 4096), 0);
	int status = open_in_child(f.dir, IDX_RDONLY);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "%zu free pages missing at the end: read-only open gives status %d", tail,
		  status);
	status = open_in_child(f.dir, 0);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "open: status %d", status);
	fx_open(&f, 0);
	cr_assert_eq(get_ino(f.env, 5, 5), 0);
	cr_assert_eq(idx_env_close(f.env, false), 0);
	f.env = NULL;
	/* One page more, in use: refused. */
	cr_assert_eq(truncate(file, (off_t)(last - tail) * 4096), 0);
	status = open_in_child(f.dir, IDX_RDONLY);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == EIO, "cut into a used page: %d",
		  status);
}

Test(env, group_commit_visibility, .init = setup, .fini = teardown)
{
	struct idx_env *ro = NULL;

	cr_assert_eq(idx_env_flush(f.env), 0);
	cr_assert_not(idx_env_dirty(f.env));
	fx_put_ino(f.env, 10, 1);
	cr_assert(idx_env_dirty(f.env));
	/* Later transactions see it at once ... */
	cr_assert_eq(get_ino(f.env, 10, 1), 0);
	/* ... but the file does not until the group is committed. */
	cr_assert_eq(idx_env_open(f.dir, IDX_RDONLY, &ro), 0);
	cr_assert_eq(get_ino(ro, 10, 1), -ENOENT);
	cr_assert_eq(idx_env_close(ro, false), 0);
	cr_assert_eq(idx_env_flush(f.env), 0);
	cr_assert_not(idx_env_dirty(f.env));
	cr_assert_eq(idx_env_open(f.dir, IDX_RDONLY, &ro), 0);
	cr_assert_eq(get_ino(ro, 10, 1), 0);
	cr_assert_eq(idx_env_close(ro, false), 0);
	/* Reads alone leave the group clean. */
	cr_assert_eq(get_ino(f.env, 10, 1), 0);
	cr_assert_not(idx_env_dirty(f.env));
}

Test(env, abort_loses_only_its_child, .init = setup, .fini = teardown)
{
	struct idx_inode in = {.ino = 21, .nlink = 1};
	struct idx_txn *txn;

	fx_put_ino(f.env, 20, 1);
	txn = fx_begin(&f);
	cr_assert_eq(idx_inode_put(txn, &in), 0);
	cr_assert_eq(idx_inode_del(txn, 20), 0);
	fx_abort(txn);
	fx_put_ino(f.env, 22, 3);
	cr_assert_eq(get_ino(f.env, 20, 1), 0);
	cr_assert_eq(get_ino(f.env, 21, 0), -ENOENT);
	cr_assert_eq(get_ino(f.env, 22, 3), 0);
	cr_assert_eq(idx_env_close(f.env, false), 0);
	f.env = NULL;
	fx_open(&f, 0);
	cr_assert_eq(get_ino(f.env, 20, 1), 0);
	cr_assert_eq(get_ino(f.env, 21, 0), -ENOENT);
	cr_assert_eq(get_ino(f.env, 22, 3), 0);
}

/* A process that dies without closing keeps what it flushed and nothing else. */
Test(env, crash_keeps_flushed_only, .init = setup, .fini = teardown)
{
	int status;
	pid_t pid;

	cr_assert_eq(idx_env_close(f.env, true), 0);
	f.env = NULL;
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct idx_env *env;

		if (idx_env_open(f.dir, 0, &env))
			_exit(2);
		fx_put_ino(env, 30, 1);
		if (idx_env_flush(env))
			_exit(3);
		fx_put_ino(env, 31, 1);
		_exit(0); /* no close: the group holding 31 dies with us */
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	fx_open(&f, 0);
	cr_assert_eq(get_ino(f.env, 30, 1), 0);
	cr_assert_eq(get_ino(f.env, 31, 1), -ENOENT);
}

Test(env, automatic_group_commit, .init = setup, .fini = teardown)
{
	struct idx_env *ro = NULL;
	struct idx_env_stats st;

	cr_assert_eq(idx_env_flush(f.env), 0);
	for (uint64_t i = 0; i < 5000; i++)
		fx_put_ino(f.env, 100 + i, i);
	/* No flush: the group was committed on its own along the way. */
	cr_assert_eq(idx_env_open(f.dir, IDX_RDONLY, &ro), 0);
	cr_assert_eq(idx_env_stats(ro, &st), 0);
	cr_assert_geq(st.entries, 2000);
	cr_assert_lt(st.entries, 5000);
	cr_assert_eq(get_ino(ro, 100, 0), 0);
	cr_assert_eq(idx_env_close(ro, false), 0);
}

/* The precommit hook: what it sees, when it runs, and what its failure holds back. */
struct hook_probe {
	const char *dir;
	int calls;
	int fail;     /* returned by the hook */
	int seen_ino; /* inode looked up in the file (not the group) during the hook */
	int seen;     /* its result: 0 present, -ENOENT absent */
};

static int probe_hook(void *arg)
{
	struct hook_probe *p = arg;
	struct idx_env *ro = NULL;

	p->calls++;
	/* The file, as a crash at this instant would leave it. */
	if (p->seen_ino && idx_env_open(p->dir, IDX_RDONLY, &ro) == 0) {
		p->seen = get_ino(ro, (uint64_t)p->seen_ino, 1);
		idx_env_close(ro, false);
	}
	return p->fail;
}

Test(env, precommit_runs_before_every_commit, .init = setup, .fini = teardown)
{
	struct hook_probe p = {.dir = f.dir, .seen_ino = 40};

	cr_assert_eq(idx_env_flush(f.env), 0);
	idx_env_set_precommit(f.env, probe_hook, &p);
	/* Nothing to commit: no hook. */
	cr_assert_eq(idx_env_flush(f.env), 0);
	cr_assert_eq(get_ino(f.env, 1, 0), -ENOENT);
	cr_assert_eq(idx_env_sync(f.env), 0);
	cr_assert_eq(p.calls, 0);
	/* A flush runs it before the commit reaches the file. */
	fx_put_ino(f.env, 40, 1);
	cr_assert_eq(idx_env_flush(f.env), 0);
	cr_assert_eq(p.calls, 1);
	cr_assert_eq(p.seen, -ENOENT, "the commit reached the file before the hook ran");
	/* So do sync, an automatic commit and close. */
	fx_put_ino(f.env, 41, 1);
	cr_assert_eq(idx_env_sync(f.env), 0);
	cr_assert_eq(p.calls, 2);
	/* Automatic commits (the group's size, index/space.c's claim) each
	 * run it, and each leaves the file consistent. */
	p.calls = 0;
	p.seen_ino = 0;
	for (uint64_t i = 0; i < 2100; i++)
		fx_put_ino(f.env, 1000 + i, 1);
	cr_assert_geq(p.calls, 1, "no hook call at the automatic commits");
	int before_close = p.calls;
	cr_assert_eq(idx_env_close(f.env, false), 0);
	f.env = NULL;
	cr_assert_eq(p.calls, before_close + 1);
}

Test(env, failed_precommit_holds_the_group_back, .init = setup, .fini = teardown)
{
	struct hook_probe p = {.dir = f.dir, .fail = -EIO};

	fx_put_ino(f.env, 50, 1);
	cr_assert_eq(idx_env_flush(f.env), 0);
	idx_env_set_precommit(f.env, probe_hook, &p);
	fx_put_ino(f.env, 51, 1);
	cr_assert_eq(idx_env_flush(f.env), -EIO);
	cr_assert_eq(idx_env_sync(f.env), -EIO);
	/* Still served from the group ... */
	cr_assert_eq(get_ino(f.env, 51, 1), 0);
	cr_assert(idx_env_dirty(f.env));
	/* ... and committed once the hook succeeds. */
	p.fail = 0;
	cr_assert_eq(idx_env_flush(f.env), 0);
	fx_put_ino(f.env, 52, 1);
	p.fail = -EIO;
	/* Closing drops what the hook held back, and only that, also when
	 * the hook was removed first (as the volume does before closing its
	 * pool). */
	cr_assert_eq(idx_env_flush(f.env), -EIO);
	idx_env_set_precommit(f.env, NULL, NULL);
	cr_assert_eq(idx_env_close(f.env, true), -EIO);
	f.env = NULL;
	fx_open(&f, 0);
	cr_assert_eq(get_ino(f.env, 50, 1), 0);
	cr_assert_eq(get_ino(f.env, 51, 1), 0);
	cr_assert_eq(get_ino(f.env, 52, 1), -ENOENT);
}

/* A hook that changes the group before it commits (what the volume does to
 * undo writes a failing disk lost): its transaction joins the commit. */
struct repair_probe {
	int begin_rc;
	uint64_t ino; /* put from inside the hook */
};

static int repair_hook(void *arg)
{
	struct repair_probe *p = arg;
	struct idx_txn *txn;
	struct idx_inode in = {.ino = p->ino, .mode = 0100644, .nlink = 1, .disk = IDX_NO_DISK};

	p->begin_rc = idx_txn_begin_precommit(f.env, &txn);
	if (p->begin_rc < 0)
		return p->begin_rc;
	if (idx_inode_put(txn, &in) < 0) {
		idx_txn_abort(txn);
		return -EIO;
	}
	/* Neither releases the lock the commit holds. */
	return idx_txn_commit(txn);
}

Test(env, precommit_hook_changes_the_group, .init = setup, .fini = teardown)
{
	struct repair_probe p = {.ino = 70};
	struct idx_txn *txn;

	cr_assert_eq(idx_txn_begin_precommit(f.env, &txn), -EINVAL, "only inside a hook");
	idx_env_set_precommit(f.env, repair_hook, &p);
	fx_put_ino(f.env, 71, 1);
	cr_assert_eq(idx_env_sync(f.env), 0);
	cr_assert_eq(p.begin_rc, 0);
	cr_assert_eq(get_ino(f.env, 70, 0), 0, "the hook's change is in the group");
	idx_env_set_precommit(f.env, NULL, NULL);
	/* And it was committed with it: reopen. */
	cr_assert_eq(idx_env_close(f.env, true), 0);
	f.env = NULL;
	fx_open(&f, 0);
	cr_assert_eq(get_ino(f.env, 70, 0), 0);
	cr_assert_eq(get_ino(f.env, 71, 1), 0);
}

Test(env, commit_keep_holds_the_lock, .init = setup, .fini = teardown)
{
	struct idx_inode in = {.ino = 80, .mode = 0100644, .nlink = 1, .disk = IDX_NO_DISK};
	struct idx_txn *txn = fx_begin_env(f.env);

	cr_assert_eq(idx_inode_put(txn, &in), 0);
	cr_assert_eq(idx_txn_commit_keep(txn), 0);
	/* Still held: nobody else can begin (trylock fails). */
	cr_assert_eq(pthread_mutex_trylock(&f.env->lock), EBUSY);
	idx_txn_release(txn);
	cr_assert_eq(get_ino(f.env, 80, 0), 0, "merged into the group");
}

/* Under AddressSanitizer every child transaction's LMDB bookkeeping (a few
 * MiB, malloc'ed and freed per child) costs a millisecond, so the sanitizer
 * build inserts the same 200k inodes 20 to a transaction. */
#ifdef __SANITIZE_ADDRESS__
#define PER_TXN 20
#else
#define PER_TXN 1
#endif

Test(env, map_grows, .init = setup, .fini = teardown, .timeout = 300)
{
	const uint64_t n = 200000;
	struct idx_env_stats st;
	uint8_t pad[600];
	unsigned grown = 0;
	uint64_t last_map;
	struct idx_txn *txn = NULL;

	cr_assert_eq(idx_env_stats(f.env, &st), 0);
	cr_assert_eq(st.map_size, 64ull << 20);
	last_map = st.map_size;
	memset(pad, 0x5a, sizeof(pad));
	for (uint64_t i = 0; i < n; i++) {
		struct idx_inode in = {.ino = 2 + i, .mode = 0100644, .nlink = 1, .size = i};
		char name[32];
		int len = snprintf(name, sizeof(name), "file-%llu", (unsigned long long)i);
		int rc;

		if (!txn)
			txn = fx_begin(&f);
		rc = idx_inode_put(txn, &in);
		cr_assert_eq(rc, 0, "inode %llu: %s", (unsigned long long)i, strerror(-rc));
		rc = idx_dirent_add(txn, IDX_ROOT_INO, name, (size_t)len, in.ino, 8);
		cr_assert_eq(rc, 0, "dirent %llu: %s", (unsigned long long)i, strerror(-rc));
		/* Some bulk, so that the map has to double several times. */
		rc = idx_xattr_set(txn, in.ino, "user.pad", pad, sizeof(pad), 0);
		cr_assert_eq(rc, 0, "xattr %llu: %s", (unsigned long long)i, strerror(-rc));
		if ((i + 1) % PER_TXN == 0) {
			fx_commit(txn);
			txn = NULL;
		}
		if ((i + 1) % 1000 == 0 && !txn) {
			cr_assert_eq(idx_env_stats(f.env, &st), 0);
			grown += st.map_size > last_map;
			last_map = st.map_size;
		}
	}
	if (txn)
		fx_commit(txn);
	cr_assert_eq(idx_env_flush(f.env), 0);
	cr_assert_eq(idx_env_stats(f.env, &st), 0);
	cr_assert_eq(st.entries, n);
	cr_assert_geq(grown, 2, "the map grew %u times", grown);
	cr_assert_leq(st.used_bytes, st.map_size);
	cr_assert_eq(idx_env_close(f.env, true), 0);
	f.env = NULL;
	fx_open(&f, 0);
	cr_assert_eq(idx_env_stats(f.env, &st), 0);
	cr_assert_eq(st.entries, n);
	cr_assert_eq(get_ino(f.env, 2 + n - 1, n - 1), 0);
}

/* One transaction larger than the whole map: it fails with -EAGAIN without
 * harming earlier work, and succeeds when retried (the map has grown). */
Test(env, oversized_txn_retries, .init = setup, .fini = teardown, .timeout = 300)
{
	static uint8_t val[IDX_XATTR_SIZE_MAX];
	int rc = 0, attempt;

	fx_put_ino(f.env, 40, 4);
	memset(val, 0xab, sizeof(val));
	for (attempt = 0; attempt < 4; attempt++) {
		struct idx_txn *txn = fx_begin(&f);

		for (int i = 0; i < 1200; i++) {
			char name[32];

			snprintf(name, sizeof(name), "user.big%d", i);
			rc = idx_xattr_set(txn, 41, name, val, sizeof(val), 0);
			if (rc)
				break;
		}
		if (rc == 0) {
			fx_commit(txn);
			break;
		}
		cr_assert_eq(rc, -EAGAIN, "%s", strerror(-rc));
		/* The transaction is dead: every further call says so. */
		cr_assert_eq(idx_inode_put(txn, &(struct idx_inode){.ino = 42}), -EAGAIN);
		cr_assert_eq(fx_commit_rc(txn), -EAGAIN);
	}
	cr_assert_eq(rc, 0);
	cr_assert_eq(attempt, 1, "expected exactly one failure before the map grew");
	cr_assert_eq(get_ino(f.env, 40, 4), 0);
	cr_assert_eq(get_ino(f.env, 42, 0), -ENOENT);
	cr_assert_eq(idx_env_flush(f.env), 0);
}

Test(env, rdonly_rejects_writes, .init = setup, .fini = teardown)
{
	struct idx_inode in = {.ino = 50, .nlink = 1};
	struct idx_txn *txn;
	uint64_t ino;

	fx_put_ino(f.env, 50, 7);
	cr_assert_eq(idx_env_close(f.env, true), 0);
	f.env = NULL;
	fx_open(&f, IDX_RDONLY);
	txn = fx_begin(&f);
	cr_assert_eq(idx_inode_get(txn, 50, &in), 0);
	cr_assert_eq(in.size, 7);
	cr_assert_eq(idx_inode_put(txn, &in), -EROFS);
	cr_assert_eq(idx_inode_del(txn, 50), -EROFS);
	cr_assert_eq(idx_dirent_add(txn, 1, "a", 1, 50, 8), -EROFS);
	cr_assert_eq(idx_xattr_set(txn, 50, "user.a", "b", 1, 0), -EROFS);
	cr_assert_eq(idx_orphan_add(txn, 50), -EROFS);
	cr_assert_eq(idx_ino_alloc(txn, &ino), -EROFS);
	cr_assert_eq(idx_xattr_clear(txn, 50), -EROFS);
	/* A refused write does not end the transaction. */
	cr_assert_eq(idx_inode_get(txn, 50, &in), 0);
	fx_commit(txn);
	cr_assert_eq(idx_env_flush(f.env), 0);
	cr_assert_eq(idx_env_sync(f.env), 0);
	cr_assert_not(idx_env_dirty(f.env));
	cr_assert_eq(get_ino(f.env, 50, 7), 0);
	struct idx_env *env2;
	cr_assert_eq(idx_env_open(f.dir, IDX_RDONLY | IDX_CREATE, &env2), -EINVAL);
}

Test(env, stats_and_sync, .init = setup, .fini = teardown)
{
	struct idx_env_stats st;

	for (uint64_t i = 0; i < 10; i++)
		fx_put_ino(f.env, 60 + i, i);
	cr_assert_eq(idx_env_sync(f.env), 0);
	cr_assert_eq(idx_env_stats(f.env, &st), 0);
	cr_assert_eq(st.entries, 10);
	cr_assert_gt(st.used_bytes, 0);
	cr_assert_geq(st.map_size, 64ull << 20);
	cr_assert_eq(idx_env_close(NULL, true), 0);
}
