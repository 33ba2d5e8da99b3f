/* crashrec: an LD_PRELOAD library that records, in order, every write, size
 * change, flush and name change a process makes to files under chosen
 * directories, with the bytes written, so that crash_replay.py can rebuild
 * the states a power loss could leave (the ALICE / CrashMonkey approach).
 *
 *   TFS_CRASHREC_LOG=/path/log TFS_CRASHREC_DIRS=/disk1:/disk2 LD_PRELOAD=libtfs_crashrec.so cmd
 *
 * What it sees: calls that go through the dynamic linker (PLT) to libc —
 * open/openat/creat (and the _2 fortify forms), close, dup*, fcntl(F_DUPFD),
 * write, writev, pwrite, pwritev(2), ftruncate, truncate, fallocate,
 * posix_fallocate, fsync, fdatasync, sync_file_range, syncfs, sync, rename*,
 * unlink*, rmdir, mkdir*. liblmdb and the daemon both call these through the
 * PLT. What it cannot see: libc's internal calls (fopen, opendir open files
 * without the PLT), raw syscalls, io_uring, and stores into a shared writable
 * mapping. Those are not silently missed where it matters: a write or flush
 * on a descriptor under the directories that was opened behind its back, or a
 * shared writable mmap of a recorded file, is logged as CR_ERROR, and the
 * replayer refuses a log with errors.
 *
 * Order: each operation takes its sequence number and CLOCK_MONOTONIC time
 * (under one mutex) BEFORE its system call, except the end of a flush, which
 * takes them after the call returned. So a write whose call returned before
 * an fsync was called always has the smaller number (what the program relies
 * on is recorded as durable); a write racing with an fsync may be counted as
 * covered by it, which can only hide a bug, never invent one. Records are
 * appended when the call returns (with its result), so the log is sorted by
 * seq on reading. The configuration is taken out of the environment at load
 * time, so programs this process starts (fusermount3) do not record. */
#undef _FILE_OFFSET_BITS /* we define open as well as open64, pwrite as well as pwrite64 */
#undef _FORTIFY_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness/crashrec.h"

#define CR_MAX_FDS 65536
#define CR_MAX_ROOTS 16

/* Whether a descriptor is one of ours: unknown until looked at, then either
 * tracked (a file or directory under the roots) or foreign. */
enum fd_state { FD_UNKNOWN = 0, FD_TRACKED, FD_FOREIGN };

struct fd_slot {
	unsigned char state;
	int oflags; /* open flags, for O_SYNC/O_DSYNC/O_DIRECT */
	char *path; /* absolute, malloc'd; FD_TRACKED only */
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static bool g_on;			 /* configured and the log is open */
static int g_log = -1;			 /* the log, O_APPEND */
static uint64_t g_seq;			 /* next sequence number; under g_mu */
static int g_fd_hi;			 /* highest slot ever used + 1; under g_mu */
static struct fd_slot g_fds[CR_MAX_FDS]; /* under g_mu */
static char *g_roots[CR_MAX_ROOTS];
static size_t g_root_len[CR_MAX_ROOTS];
static int g_nroots;

/* ---- the real functions ------------------------------------------------------ */

#define REAL(name, ret, args)                                                                      \
	static ret(*real_##name) args;                                                             \
	static ret(*get_##name(void)) args                                                         \
	{                                                                                          \
		if (!real_##name)                                                                  \
			real_##name = (ret(*) args)dlsym(RTLD_NEXT, #name);                        \
		return real_##name;                                                                \
	}

REAL(open, int, (const char *, int, ...))
REAL(open64, int, (const char *, int, ...))
REAL(openat, int, (int, const char *, int, ...))
REAL(openat64, int, (int, const char *, int, ...))
REAL(close, int, (int))
REAL(dup, int, (int))
REAL(dup2, int, (int, int))
REAL(dup3, int, (int, int, int))
REAL(fcntl, int, (int, int, ...))
REAL(fcntl64, int, (int, int, ...))
REAL(write, ssize_t, (int, const void *, size_t))
REAL(writev, ssize_t, (int, const struct iovec *, int))
REAL(pwrite, ssize_t, (int, const void *, size_t, off_t))
REAL(pwrite64, ssize_t, (int, const void *, size_t, off64_t))
REAL(pwritev, ssize_t, (int, const struct iovec *, int, off_t))
REAL(pwritev64, ssize_t, (int, const struct iovec *, int, off64_t))
REAL(pwritev2, ssize_t, (int, const struct iovec *, int, off_t, int))
REAL(pwritev64v2, ssize_t, (int, const struct iovec *, int, off64_t, int))
REAL(ftruncate, int, (int, off_t))
REAL(ftruncate64, int, (int, off64_t))
REAL(truncate, int, (const char *, off_t))
REAL(truncate64, int, (const char *, off64_t))
REAL(fallocate, int, (int, int, off_t, off_t))
REAL(fallocate64, int, (int, int, off64_t, off64_t))
REAL(posix_fallocate, int, (int, off_t, off_t))
REAL(posix_fallocate64, int, (int, off64_t, off64_t))
REAL(fsync, int, (int))
REAL(fdatasync, int, (int))
REAL(sync_file_range, int, (int, off64_t, off64_t, unsigned int))
REAL(syncfs, int, (int))
REAL(sync, void, (void))
REAL(rename, int, (const char *, const char *))
REAL(renameat, int, (int, const char *, int, const char *))
REAL(renameat2, int, (int, const char *, int, const char *, unsigned int))
REAL(unlink, int, (const char *))
REAL(unlinkat, int, (int, const char *, int))
REAL(rmdir, int, (const char *))
REAL(mkdir, int, (const char *, mode_t))
REAL(mkdirat, int, (int, const char *, mode_t))
REAL(mmap, void *, (void *, size_t, int, int, int, off_t))
REAL(mmap64, void *, (void *, size_t, int, int, int, off64_t))

/* ---- paths ----------------------------------------------------------------- */

static bool under_roots(const char *p)
{
	for (int i = 0; i < g_nroots; i++) {
		size_t n = g_root_len[i];
		if (strncmp(p, g_roots[i], n) == 0 && (p[n] == '/' || p[n] == '\0'))
			return true;
	}
	return false;
}

/* The directory a dirfd names (AT_FDCWD: the working directory). */
static bool dirfd_path(int dirfd, char *out, size_t cap)
{
	if (dirfd == AT_FDCWD)
		return getcwd(out, cap) != NULL;
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
	ssize_t n = readlink(link, out, cap - 1);
	if (n < 0)
		return false;
	out[n] = '\0';
	return true;
}

/*
 * Absolute, canonical form of @p path relative to @p dirfd into @p out
 * (PATH_MAX). The directory part is resolved with realpath; the last
 * component is resolved too only when @p follow (open follows a symlink,
 * rename and unlink act on the link itself). @return false if the directory
 * part does not exist (then nothing under it is ours).
 */
static bool resolve(int dirfd, const char *path, bool follow, char *out)
{
	char full[PATH_MAX * 2], dir[PATH_MAX];

	if (!path)
		return false;
	if (path[0] == '/') {
		snprintf(full, sizeof(full), "%s", path);
	} else {
		if (!dirfd_path(dirfd, dir, sizeof(dir)))
			return false;
		snprintf(full, sizeof(full), "%s/%s", dir, path);
	}
	if (follow && realpath(full, out))
		return true;
	/* Strip trailing slashes, then split off the last component. */
	size_t len = strlen(full);
	while (len > 1 && full[len - 1] == '/')
		full[--len] = '\0';
	char *slash = strrchr(full, '/');
	const char *base = slash + 1;
	if (slash == full) {
		dir[0] = '/';
		dir[1] = '\0';
	} else {
		*slash = '\0';
		if (!realpath(full, dir))
			return false;
	}
	if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0 || !*base) {
		/* A directory named by "." or "..": resolve it whole. */
		char again[PATH_MAX * 2];
		snprintf(again, sizeof(again), "%s/%s", dir, base);
		return realpath(again, out) != NULL;
	}
	int n = snprintf(out, PATH_MAX, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", base);
	return n > 0 && n < PATH_MAX;
}

/* ---- the log ---------------------------------------------------------------- */

static void die(const char *what)
{
	/* The log is the test's ground truth: a hole in it would make every
	 * crash state built from it wrong, so stop the process instead. */
	fprintf(stderr, "crashrec: %s: %s; stopping the process\n", what, strerror(errno));
	abort();
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Take the next sequence number and its time. */
static void stamp(struct cr_rec *r)
{
	pthread_mutex_lock(&g_mu);
	r->seq = g_seq++;
	r->t_ns = now_ns();
	r->tid = (uint32_t)gettid();
	pthread_mutex_unlock(&g_mu);
}

/* Write all of @p iov to the log; g_mu held. */
static void log_writev_locked(struct iovec *iov, int cnt)
{
	while (cnt > 0) {
		ssize_t n = get_writev()(g_log, iov, cnt < IOV_MAX ? cnt : IOV_MAX);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("writing the log");
		}
		while (cnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
}

/* Append record @p r (stamped) with its paths and, for a CR_WRITE, the first
 * r->len bytes of @p data (@p ndata buffers). */
static void emit(struct cr_rec *r, const char *path, const char *path2, const struct iovec *data,
		 int ndata)
{
	struct iovec stack[8], *iov = stack;
	int cnt = 0;

	if (3 + ndata > (int)(sizeof(stack) / sizeof(stack[0]))) {
		iov = malloc(sizeof(*iov) * (size_t)(3 + ndata));
		if (!iov)
			die("allocating a log record");
	}
	r->magic = CR_MAGIC;
	r->path_len = path ? (uint32_t)strlen(path) : 0;
	r->path2_len = path2 ? (uint32_t)strlen(path2) : 0;
	iov[cnt++] = (struct iovec){r, sizeof(*r)};
	if (r->path_len)
		iov[cnt++] = (struct iovec){(void *)path, r->path_len};
	if (r->path2_len)
		iov[cnt++] = (struct iovec){(void *)path2, r->path2_len};
	size_t left = r->op == CR_WRITE ? r->len : 0;
	for (int i = 0; i < ndata && left > 0; i++) {
		size_t n = data[i].iov_len < left ? data[i].iov_len : left;
		if (n)
			iov[cnt++] = (struct iovec){data[i].iov_base, n};
		left -= n;
	}
	pthread_mutex_lock(&g_mu);
	log_writev_locked(iov, cnt);
	pthread_mutex_unlock(&g_mu);
	if (iov != stack)
		free(iov);
}

/* A record with no data, stamped now. */
static void emit_now(uint16_t op, uint16_t flags, const char *path, const char *path2, int rc)
{
	struct cr_rec r = {.op = op, .flags = flags, .rc = rc};

	stamp(&r);
	emit(&r, path, path2, NULL, 0);
}

/* ---- descriptors ------------------------------------------------------------- */

static void slot_clear_locked(int fd)
{
	if (fd < 0 || fd >= CR_MAX_FDS)
		return;
	free(g_fds[fd].path);
	g_fds[fd] = (struct fd_slot){0};
}

/* Remember what @p fd is (@p path NULL: foreign). */
static void slot_set(int fd, const char *path, int oflags)
{
	char *copy = path ? strdup(path) : NULL;

	if (fd < 0 || fd >= CR_MAX_FDS) {
		free(copy);
		return;
	}
	if (path && !copy)
		die("allocating a path");
	pthread_mutex_lock(&g_mu);
	slot_clear_locked(fd);
	g_fds[fd].state = path ? FD_TRACKED : FD_FOREIGN;
	g_fds[fd].oflags = oflags;
	g_fds[fd].path = copy;
	if (fd >= g_fd_hi)
		g_fd_hi = fd + 1;
	pthread_mutex_unlock(&g_mu);
}

/*
 * Is @p fd ours? If so copy its path into @p path (PATH_MAX) and its open
 * flags into @p oflags. A descriptor first seen here (opened where we could
 * not see it) is looked up in /proc: foreign ones are remembered as such; one
 * under the roots is logged as an error (its creation and earlier writes were
 * missed) and tracked from then on.
 */
static bool fd_lookup(int fd, char *path, int *oflags)
{
	int state = FD_UNKNOWN;

	if (!g_on || fd < 0)
		return false;
	pthread_mutex_lock(&g_mu);
	if (fd < CR_MAX_FDS) {
		state = g_fds[fd].state;
		if (state == FD_TRACKED) {
			snprintf(path, PATH_MAX, "%s", g_fds[fd].path);
			*oflags = g_fds[fd].oflags;
		}
	}
	pthread_mutex_unlock(&g_mu);
	if (state != FD_UNKNOWN)
		return state == FD_TRACKED;

	char link[64], target[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	char *del = strstr(target, " (deleted)");
	if (del && del[10] == '\0')
		*del = '\0';
	int fl = get_fcntl()(fd, F_GETFL);
	if (target[0] != '/' || !under_roots(target)) {
		slot_set(fd, NULL, fl);
		return false;
	}
	emit_now(CR_ERROR, 0, target,
		 "a descriptor of this file was opened where the recorder could not see it "
		 "(fopen, opendir, a raw system call)",
		 0);
	slot_set(fd, target, fl);
	snprintf(path, PATH_MAX, "%s", target);
	*oflags = fl;
	return true;
}

/* After a rename of @p from to @p to: descriptors open under @p from now
 * name files under @p to. */
static void slots_rename(const char *from, const char *to)
{
	size_t n = strlen(from);

	pthread_mutex_lock(&g_mu);
	for (int fd = 0; fd < g_fd_hi; fd++) {
		char *p = g_fds[fd].path;
		if (!p || strncmp(p, from, n) != 0 || (p[n] != '/' && p[n] != '\0'))
			continue;
		char *np = malloc(strlen(to) + strlen(p + n) + 1);
		if (!np)
			die("allocating a path");
		strcpy(np, to);
		strcat(np, p + n);
		free(p);
		g_fds[fd].path = np;
	}
	pthread_mutex_unlock(&g_mu);
}

static void slot_dup(int from, int to)
{
	char path[PATH_MAX];
	int fl = 0;

	if (to < 0)
		return;
	if (fd_lookup(from, path, &fl))
		slot_set(to, path, fl);
	else
		slot_set(to, NULL, fl);
}

/* ---- opening ------------------------------------------------------------------ */

enum open_kind { K_OPEN, K_OPEN64, K_OPENAT, K_OPENAT64 };

static int call_open(enum open_kind k, int dirfd, const char *path, int flags, mode_t mode)
{
	switch (k) {
	case K_OPEN:
		return get_open()(path, flags, mode);
	case K_OPEN64:
		return get_open64()(path, flags, mode);
	case K_OPENAT:
		return get_openat()(dirfd, path, flags, mode);
	default:
		return get_openat64()(dirfd, path, flags, mode);
	}
}

static bool needs_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

static int open_impl(enum open_kind k, int dirfd, const char *path, int flags, mode_t mode)
{
	char abs[PATH_MAX];

	if (!g_on || !resolve(dirfd, path, true, abs) || !under_roots(abs)) {
		int fd = call_open(k, dirfd, path, flags, mode);
		if (fd >= 0 && g_on)
			slot_set(fd, NULL, flags);
		return fd;
	}
	struct stat st;
	bool existed = !(flags & O_CREAT) || lstat(abs, &st) == 0;
	struct cr_rec r = {.op = CR_OPEN, .arg = flags};
	stamp(&r);
	int fd = call_open(k, dirfd, path, flags, mode);
	int err = errno;
	if (fd < 0) {
		r.rc = -err;
	} else {
		if (!existed)
			r.flags |= CR_F_CREATED;
		if (flags & O_DIRECTORY)
			r.flags |= CR_F_DIR;
		slot_set(fd, abs, flags);
	}
	emit(&r, abs, NULL, NULL, 0);
	/* O_TRUNC of an existing file is a size change like ftruncate(0). */
	if (fd >= 0 && (flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY) {
		struct cr_rec t = {.op = CR_TRUNC, .off = 0};
		stamp(&t);
		emit(&t, abs, NULL, NULL, 0);
	}
	errno = err;
	return fd;
}

#define MODE_ARG(flags, mode)                                                                      \
	do {                                                                                       \
		if (needs_mode(flags)) {                                                           \
			va_list ap;                                                                \
			va_start(ap, flags);                                                       \
			mode = (mode_t)va_arg(ap, int);                                            \
			va_end(ap);                                                                \
		}                                                                                  \
	} while (0)

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	MODE_ARG(flags, mode);
	return open_impl(K_OPEN, AT_FDCWD, path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	MODE_ARG(flags, mode);
	return open_impl(K_OPEN64, AT_FDCWD, path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	MODE_ARG(flags, mode);
	return open_impl(K_OPENAT, dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	MODE_ARG(flags, mode);
	return open_impl(K_OPENAT64, dirfd, path, flags, mode);
}

/* The _FORTIFY_SOURCE entry points (open without a mode argument) and creat
 * are open with fixed flags. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

int __open_2(const char *path, int flags)
{
	return open_impl(K_OPEN, AT_FDCWD, path, flags, 0);
}

int __open64_2(const char *path, int flags)
{
	return open_impl(K_OPEN64, AT_FDCWD, path, flags, 0);
}

int __openat_2(int dirfd, const char *path, int flags)
{
	return open_impl(K_OPENAT, dirfd, path, flags, 0);
}

int __openat64_2(int dirfd, const char *path, int flags)
{
	return open_impl(K_OPENAT64, dirfd, path, flags, 0);
}

int creat(const char *path, mode_t mode)
{
	return open_impl(K_OPEN, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

int creat64(const char *path, mode_t mode)
{
	return open_impl(K_OPEN64, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

int close(int fd)
{
	if (g_on && fd >= 0) {
		/* Forget it before the number can be handed out again. */
		pthread_mutex_lock(&g_mu);
		slot_clear_locked(fd);
		pthread_mutex_unlock(&g_mu);
	}
	return get_close()(fd);
}

int dup(int fd)
{
	int nfd = get_dup()(fd);
	if (g_on && nfd >= 0)
		slot_dup(fd, nfd);
	return nfd;
}

int dup2(int fd, int nfd)
{
	int rc = get_dup2()(fd, nfd);
	if (g_on && rc >= 0 && fd != nfd)
		slot_dup(fd, rc);
	return rc;
}

int dup3(int fd, int nfd, int flags)
{
	int rc = get_dup3()(fd, nfd, flags);
	if (g_on && rc >= 0)
		slot_dup(fd, rc);
	return rc;
}

/* fcntl's third argument is an int or a pointer; passing it on as a pointer
 * is what every x86-64/aarch64 interposer does (the ABI passes both in the
 * same register). */
static int fcntl_impl(int (*fn)(int, int, ...), int fd, int cmd, void *arg)
{
	int rc = fn(fd, cmd, arg);
	if (g_on && rc >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		slot_dup(fd, rc);
	return rc;
}

int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_impl(get_fcntl(), fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_impl(get_fcntl64(), fd, cmd, arg);
}

/* ---- writing ------------------------------------------------------------------- */

static uint16_t write_flags(int oflags, int rwf)
{
	uint16_t f = 0;

	if ((oflags & (O_SYNC | O_DSYNC)) || (rwf & (RWF_SYNC | RWF_DSYNC)))
		f |= CR_F_SYNCWRITE;
	if (oflags & O_DIRECT)
		f |= CR_F_DIRECT;
	return f;
}

/*
 * Log a write of @p n bytes (result of the call, or -1) from @p iov at
 * @p off; @p off < 0: at the descriptor's position, found after the call.
 */
static void log_write(struct cr_rec *r, const char *path, int fd, const struct iovec *iov, int cnt,
		      off_t off, ssize_t n, int err)
{
	if (n < 0) {
		r->rc = -err;
	} else {
		if (off < 0) {
			off_t pos = lseek(fd, 0, SEEK_CUR);
			off = pos >= n ? pos - n : 0;
		}
		r->off = off;
		r->len = (uint64_t)n;
	}
	emit(r, path, NULL, iov, cnt);
}

/* One body for the write family: @p call does the system call. */
#define WRITE_BODY(fd, iov, cnt, off, rwf, call)                                                   \
	do {                                                                                       \
		char path_[PATH_MAX];                                                              \
		int ofl_ = 0;                                                                      \
		if (!fd_lookup(fd, path_, &ofl_))                                                  \
			return call;                                                               \
		struct cr_rec r_ = {.op = CR_WRITE, .flags = write_flags(ofl_, rwf)};              \
		stamp(&r_);                                                                        \
		ssize_t n_ = call;                                                                 \
		int err_ = errno;                                                                  \
		log_write(&r_, path_, fd, iov, cnt, off, n_, err_);                                \
		errno = err_;                                                                      \
		return n_;                                                                         \
	} while (0)

ssize_t write(int fd, const void *buf, size_t len)
{
	struct iovec v = {(void *)buf, len};
	WRITE_BODY(fd, &v, 1, -1, 0, get_write()(fd, buf, len));
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	WRITE_BODY(fd, iov, cnt, -1, 0, get_writev()(fd, iov, cnt));
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	struct iovec v = {(void *)buf, len};
	WRITE_BODY(fd, &v, 1, off, 0, get_pwrite()(fd, buf, len, off));
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off64_t off)
{
	struct iovec v = {(void *)buf, len};
	WRITE_BODY(fd, &v, 1, off, 0, get_pwrite64()(fd, buf, len, off));
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	WRITE_BODY(fd, iov, cnt, off, 0, get_pwritev()(fd, iov, cnt, off));
}

ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	WRITE_BODY(fd, iov, cnt, off, 0, get_pwritev64()(fd, iov, cnt, off));
}

/* pwritev2 with offset -1 writes at the current position, as writev. */
ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int rwf)
{
	WRITE_BODY(fd, iov, cnt, off, rwf, get_pwritev2()(fd, iov, cnt, off, rwf));
}

ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int rwf)
{
	WRITE_BODY(fd, iov, cnt, off, rwf, get_pwritev64v2()(fd, iov, cnt, off, rwf));
}

/* ---- sizes ------------------------------------------------------------------------ */

/* A size or allocation change of @p path; @p ret is the call's result (the
 * posix_fallocate family returns an error number instead of setting errno). */
#define SIZE_BODY(path_expr, op_v, off_v, len_v, arg_v, call, posix_style)                         \
	do {                                                                                       \
		struct cr_rec r_ = {.op = op_v, .off = off_v, .len = len_v, .arg = arg_v};         \
		stamp(&r_);                                                                        \
		int ret_ = call;                                                                   \
		int err_ = posix_style ? ret_ : (ret_ < 0 ? errno : 0);                            \
		r_.rc = -err_;                                                                     \
		emit(&r_, path_expr, NULL, NULL, 0);                                               \
		if (!posix_style)                                                                  \
			errno = ret_ < 0 ? err_ : errno;                                           \
		return ret_;                                                                       \
	} while (0)

#define FD_SIZE_BODY(fd, op_v, off_v, len_v, arg_v, call, posix_style)                             \
	do {                                                                                       \
		char path_[PATH_MAX];                                                              \
		int ofl_;                                                                          \
		if (!fd_lookup(fd, path_, &ofl_))                                                  \
			return call;                                                               \
		SIZE_BODY(path_, op_v, off_v, len_v, arg_v, call, posix_style);                    \
	} while (0)

#define PATH_SIZE_BODY(p, op_v, off_v, call)                                                       \
	do {                                                                                       \
		char path_[PATH_MAX];                                                              \
		if (!g_on || !resolve(AT_FDCWD, p, true, path_) || !under_roots(path_))            \
			return call;                                                               \
		SIZE_BODY(path_, op_v, off_v, 0, 0, call, false);                                  \
	} while (0)

int ftruncate(int fd, off_t len)
{
	FD_SIZE_BODY(fd, CR_TRUNC, len, 0, 0, get_ftruncate()(fd, len), false);
}

int ftruncate64(int fd, off64_t len)
{
	FD_SIZE_BODY(fd, CR_TRUNC, len, 0, 0, get_ftruncate64()(fd, len), false);
}

int truncate(const char *p, off_t len)
{
	PATH_SIZE_BODY(p, CR_TRUNC, len, get_truncate()(p, len));
}

int truncate64(const char *p, off64_t len)
{
	PATH_SIZE_BODY(p, CR_TRUNC, len, get_truncate64()(p, len));
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
	FD_SIZE_BODY(fd, CR_FALLOC, off, (uint64_t)len, mode, get_fallocate()(fd, mode, off, len),
		     false);
}

int fallocate64(int fd, int mode, off64_t off, off64_t len)
{
	FD_SIZE_BODY(fd, CR_FALLOC, off, (uint64_t)len, mode, get_fallocate64()(fd, mode, off, len),
		     false);
}

int posix_fallocate(int fd, off_t off, off_t len)
{
	FD_SIZE_BODY(fd, CR_FALLOC, off, (uint64_t)len, 0, get_posix_fallocate()(fd, off, len),
		     true);
}

int posix_fallocate64(int fd, off64_t off, off64_t len)
{
	FD_SIZE_BODY(fd, CR_FALLOC, off, (uint64_t)len, 0, get_posix_fallocate64()(fd, off, len),
		     true);
}

/* ---- flushes ---------------------------------------------------------------------- */

/* A flush: CR_SYNC_BEGIN before the call, CR_SYNC_END (stamped after it
 * returned) with its result. */
#define SYNC_BODY(path_expr, flags_v, off_v, len_v, call)                                          \
	do {                                                                                       \
		struct cr_rec b_ = {                                                               \
			.op = CR_SYNC_BEGIN, .flags = flags_v, .off = off_v, .len = len_v};        \
		stamp(&b_);                                                                        \
		emit(&b_, path_expr, NULL, NULL, 0);                                               \
		int ret_ = call;                                                                   \
		int err_ = errno;                                                                  \
		struct cr_rec e_ = {.op = CR_SYNC_END,                                             \
				    .flags = flags_v,                                              \
				    .off = off_v,                                                  \
				    .len = len_v,                                                  \
				    .rc = ret_ < 0 ? -err_ : 0};                                   \
		stamp(&e_);                                                                        \
		emit(&e_, path_expr, NULL, NULL, 0);                                               \
		errno = err_;                                                                      \
		return ret_;                                                                       \
	} while (0)

#define FD_SYNC_BODY(fd, flags_v, off_v, len_v, call)                                              \
	do {                                                                                       \
		char path_[PATH_MAX];                                                              \
		int ofl_;                                                                          \
		if (!fd_lookup(fd, path_, &ofl_))                                                  \
			return call;                                                               \
		SYNC_BODY(path_, flags_v, off_v, len_v, call);                                     \
	} while (0)

int fsync(int fd)
{
	FD_SYNC_BODY(fd, 0, 0, 0, get_fsync()(fd));
}

int fdatasync(int fd)
{
	FD_SYNC_BODY(fd, CR_F_DATASYNC, 0, 0, get_fdatasync()(fd));
}

int sync_file_range(int fd, off64_t off, off64_t len, unsigned int flags)
{
	FD_SYNC_BODY(fd, CR_F_RANGE, off, (uint64_t)len,
		     get_sync_file_range()(fd, off, len, flags));
}

int syncfs(int fd)
{
	if (!g_on)
		return get_syncfs()(fd);
	SYNC_BODY("", CR_F_ALL, 0, 0, get_syncfs()(fd));
}

void sync(void)
{
	if (!g_on) {
		get_sync()();
		return;
	}
	struct cr_rec b = {.op = CR_SYNC_BEGIN, .flags = CR_F_ALL};
	stamp(&b);
	emit(&b, "", NULL, NULL, 0);
	get_sync()();
	struct cr_rec e = {.op = CR_SYNC_END, .flags = CR_F_ALL};
	stamp(&e);
	emit(&e, "", NULL, NULL, 0);
}

/* ---- names ---------------------------------------------------------------------- */

static int rename_impl(int ofd, const char *from, int nfd, const char *to, unsigned int flags,
		       int kind)
{
	char a[PATH_MAX], b[PATH_MAX];
	bool ra = g_on && resolve(ofd, from, false, a) && under_roots(a);
	bool rb = g_on && resolve(nfd, to, false, b) && under_roots(b);
	int ret;

	if (!ra && !rb) {
		if (kind == 0)
			return get_rename()(from, to);
		if (kind == 1)
			return get_renameat()(ofd, from, nfd, to);
		return get_renameat2()(ofd, from, nfd, to, flags);
	}
	struct cr_rec r = {.op = CR_RENAME, .arg = flags};
	stamp(&r);
	if (kind == 0)
		ret = get_rename()(from, to);
	else if (kind == 1)
		ret = get_renameat()(ofd, from, nfd, to);
	else
		ret = get_renameat2()(ofd, from, nfd, to, flags);
	int err = errno;
	r.rc = ret < 0 ? -err : 0;
	if (ra != rb) {
		r.op = CR_ERROR;
		emit(&r, ra ? a : b, "a rename across the edge of the recorded directories", NULL,
		     0);
	} else {
		emit(&r, a, b, NULL, 0);
	}
	if (ret == 0)
		slots_rename(a, b);
	errno = err;
	return ret;
}

int rename(const char *from, const char *to)
{
	return rename_impl(AT_FDCWD, from, AT_FDCWD, to, 0, 0);
}

int renameat(int ofd, const char *from, int nfd, const char *to)
{
	return rename_impl(ofd, from, nfd, to, 0, 1);
}

int renameat2(int ofd, const char *from, int nfd, const char *to, unsigned int flags)
{
	return rename_impl(ofd, from, nfd, to, flags, 2);
}

/* unlink, unlinkat, rmdir, mkdir, mkdirat: one record each. */
#define NAME_BODY(dirfd, p, op_v, flags_v, call)                                                   \
	do {                                                                                       \
		char path_[PATH_MAX];                                                              \
		if (!g_on || !resolve(dirfd, p, false, path_) || !under_roots(path_))              \
			return call;                                                               \
		struct cr_rec r_ = {.op = op_v, .flags = flags_v};                                 \
		stamp(&r_);                                                                        \
		int ret_ = call;                                                                   \
		int err_ = errno;                                                                  \
		r_.rc = ret_ < 0 ? -err_ : 0;                                                      \
		emit(&r_, path_, NULL, NULL, 0);                                                   \
		errno = err_;                                                                      \
		return ret_;                                                                       \
	} while (0)

int unlink(const char *p)
{
	NAME_BODY(AT_FDCWD, p, CR_UNLINK, 0, get_unlink()(p));
}

int unlinkat(int dirfd, const char *p, int flags)
{
	NAME_BODY(dirfd, p, CR_UNLINK, (flags & AT_REMOVEDIR) ? CR_F_DIR : 0,
		  get_unlinkat()(dirfd, p, flags));
}

int rmdir(const char *p)
{
	NAME_BODY(AT_FDCWD, p, CR_UNLINK, CR_F_DIR, get_rmdir()(p));
}

int mkdir(const char *p, mode_t mode)
{
	NAME_BODY(AT_FDCWD, p, CR_MKDIR, 0, get_mkdir()(p, mode));
}

int mkdirat(int dirfd, const char *p, mode_t mode)
{
	NAME_BODY(dirfd, p, CR_MKDIR, 0, get_mkdirat()(dirfd, p, mode));
}

/* ---- mappings -------------------------------------------------------------------- */

/* Stores into a shared writable mapping reach the file without a call we
 * could see: say so in the log (LMDB maps its file read-only unless opened
 * with MDB_WRITEMAP). */
static void check_map(int prot, int flags, int fd)
{
	char path[PATH_MAX];
	int ofl;

	if (fd >= 0 && (prot & PROT_WRITE) && (flags & MAP_SHARED) && fd_lookup(fd, path, &ofl))
		emit_now(CR_ERROR, 0, path,
			 "a shared writable mapping: its stores are not recorded", 0);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	check_map(prot, flags, fd);
	return get_mmap()(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	check_map(prot, flags, fd);
	return get_mmap64()(addr, len, prot, flags, fd, off);
}

/* ---- set-up ----------------------------------------------------------------------- */

__attribute__((constructor)) static void crashrec_init(void)
{
	const char *log = getenv("TFS_CRASHREC_LOG");
	const char *dirs = getenv("TFS_CRASHREC_DIRS");

	if (!log || !dirs)
		return;
	char *list = strdup(dirs);
	if (!list)
		die("allocating the directory list");
	char *save = NULL;
	for (char *d = strtok_r(list, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (g_nroots == CR_MAX_ROOTS) {
			errno = E2BIG;
			die("TFS_CRASHREC_DIRS names too many directories");
		}
		char *r = realpath(d, NULL);
		if (!r) {
			fprintf(stderr, "crashrec: %s: ", d);
			die("cannot resolve a directory of TFS_CRASHREC_DIRS");
		}
		g_roots[g_nroots] = r;
		g_root_len[g_nroots] = strlen(r);
		g_nroots++;
	}
	free(list);
	g_log = get_open()(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (g_log < 0)
		die("cannot open TFS_CRASHREC_LOG");
	/* Programs we start (fusermount3) must not append to the same log. */
	unsetenv("TFS_CRASHREC_LOG");
	unsetenv("TFS_CRASHREC_DIRS");
	g_on = true;
}
