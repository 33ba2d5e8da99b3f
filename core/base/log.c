/* Logging sink shared by all layers: a mutex-guarded write to stderr, or syslog. */
#include "core/base/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static bool use_syslog; /* guarded by log_lock for writers; read racily is harmless */
static enum tfs_log_level max_level = TFS_LOG_INFO;

void tfs_log_use_syslog(bool on, const char *ident)
{
	pthread_mutex_lock(&log_lock);
	if (on && !use_syslog)
		openlog(ident ? ident : "trackfs", LOG_PID, LOG_DAEMON);
	use_syslog = on;
	pthread_mutex_unlock(&log_lock);
}

void tfs_log_set_level(enum tfs_log_level level)
{
	max_level = level;
}

bool tfs_log_enabled(enum tfs_log_level level)
{
	return level <= max_level;
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

void tfs_log(enum tfs_log_level level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (!tfs_log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	pthread_mutex_lock(&log_lock);
	if (use_syslog) {
		syslog((int)level, "%s", msg);
	} else {
		fprintf(stderr, "trackfs: %s: %s\n", level_name(level), msg);
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
