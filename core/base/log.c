/* Logging sink shared by all layers: a mutex-guarded write to stderr, or
 * syslog. Lines carry the program's own name; a daemon's stderr lines also
 * carry a timestamp (unless journald, which stamps them, is reading them).
 * An error repeated word for word right after itself (within two seconds)
 * is written once, and
 * errors are counted so that a tool need not print again what a layer
 * below it already said. */
#include "core/base/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static bool use_syslog; /* guarded by log_lock for writers; read racily is harmless */
static bool stamps;
/* Changed at run time (the control request "log-level"): atomic. */
static _Atomic int max_level = TFS_LOG_INFO;
static const char *ident;
static atomic_ulong nerrors;
static char last[2048]; /* the previous line, guarded by log_lock */
static enum tfs_log_level last_level;
static time_t last_time;

static const char *prog(void)
{
	extern char *program_invocation_short_name;

	return ident ? ident : program_invocation_short_name;
}

void tfs_log_set_ident(const char *name)
{
	ident = name;
}

bool tfs_syslog_reachable(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = "/dev/log"};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

void tfs_log_use_syslog(bool on, const char *name)
{
	pthread_mutex_lock(&log_lock);
	if (on && !use_syslog)
		openlog(name ? name : prog(), LOG_PID, LOG_DAEMON);
	use_syslog = on;
	pthread_mutex_unlock(&log_lock);
}

void tfs_log_set_timestamps(bool on)
{
	/* journald stamps what it reads from a service's stderr itself. */
	stamps = on && !getenv("JOURNAL_STREAM");
}

void tfs_log_set_level(enum tfs_log_level level)
{
	atomic_store_explicit(&max_level, (int)level, memory_order_relaxed);
}

enum tfs_log_level tfs_log_get_level(void)
{
	return (enum tfs_log_level)atomic_load_explicit(&max_level, memory_order_relaxed);
}

bool tfs_log_enabled(enum tfs_log_level level)
{
	return (int)level <= atomic_load_explicit(&max_level, memory_order_relaxed);
}

static const char *const level_names[] = {
	[TFS_LOG_ERR] = "error",
	[TFS_LOG_WARN] = "warning",
	[TFS_LOG_INFO] = "info",
	[TFS_LOG_DEBUG] = "debug",
};

const char *tfs_log_level_name(enum tfs_log_level level)
{
	return level >= TFS_LOG_ERR && level <= TFS_LOG_DEBUG && level_names[level]
		       ? level_names[level]
		       : "?";
}

int tfs_log_level_parse(const char *name, enum tfs_log_level *out)
{
	for (int l = TFS_LOG_ERR; l <= TFS_LOG_DEBUG; l++)
		if (level_names[l] && name && !strcmp(name, level_names[l])) {
			*out = (enum tfs_log_level)l;
			return 0;
		}
	if (name && (!strcmp(name, "warn") || !strcmp(name, "err"))) {
		*out = name[0] == 'w' ? TFS_LOG_WARN : TFS_LOG_ERR;
		return 0;
	}
	return -EINVAL;
}

unsigned long tfs_log_errors(void)
{
	return atomic_load(&nerrors);
}

static const char *level_name(enum tfs_log_level level)
{
	switch (level) {
	case TFS_LOG_ERR:
		return "error";
	case TFS_LOG_WARN:
		return "warning";
	case TFS_LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

/* "2026-12-03T20:15:01.123+0000 " */
static void stamp(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(buf + n, size - n, ".%03ld", ts.tv_nsec / 1000000);
	strftime(buf + n, size - n, "%z ", &tm);
}

void tfs_log(enum tfs_log_level level, const char *fmt, ...)
{
	char msg[2048], ts[48] = "";
	va_list ap;

	if (!tfs_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (level == TFS_LOG_ERR)
		atomic_fetch_add(&nerrors, 1);

	pthread_mutex_lock(&log_lock);
	time_t now = time(NULL);
	if (level <= TFS_LOG_WARN && level == last_level && now - last_time < 2 &&
	    !strcmp(msg, last)) {
		pthread_mutex_unlock(&log_lock);
		return; /* said just now, by another layer on the same path */
	}
	last_level = level;
	last_time = now;
	memcpy(last, msg, sizeof(last));
	if (use_syslog) {
		syslog((int)level, "%s", msg);
	} else {
		if (stamps)
			stamp(ts, sizeof(ts));
		fprintf(stderr, "%s%s: %s: %s\n", ts, prog(), level_name(level), msg);
		fflush(stderr);
	}
	pthread_mutex_unlock(&log_lock);
}

const char *tfs_strerror(int neg_errno)
{
	/* strerrordesc_np is thread-safe and returns static text. */
	const char *s = strerrordesc_np(neg_errno < 0 ? -neg_errno : neg_errno);
	return s ? s : "unknown error";
}
