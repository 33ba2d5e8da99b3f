/* Logging for every layer: stderr in the foreground, syslog when daemonized.
 * Messages name the operation, the file/disk/key and what to do next. */
#ifndef TFS_BASE_LOG_H
#define TFS_BASE_LOG_H

#include <stdbool.h>

enum tfs_log_level { TFS_LOG_ERR = 3, TFS_LOG_WARN = 4, TFS_LOG_INFO = 6, TFS_LOG_DEBUG = 7 };

/** Send messages to syslog (true) or stderr (false, the default); @p ident
 * NULL: the program's name. */
void tfs_log_use_syslog(bool on, const char *ident);
/** Whether a syslog daemon (or journald) listens on /dev/log. */
bool tfs_syslog_reachable(void);
/** The name lines start with (default: the program's own name). */
void tfs_log_set_ident(const char *name);
/** Start stderr lines with the local time, for daemons (ignored when
 * journald reads stderr: it stamps lines itself). */
void tfs_log_set_timestamps(bool on);
/** How many errors were logged so far by this process. */
unsigned long tfs_log_errors(void);
/** Messages above @p level are dropped. Default TFS_LOG_INFO. Thread-safe,
 * at any time. */
void tfs_log_set_level(enum tfs_log_level level);
bool tfs_log_enabled(enum tfs_log_level level);
enum tfs_log_level tfs_log_get_level(void);
/** "error", "warning", "info" or "debug". */
const char *tfs_log_level_name(enum tfs_log_level level);
/** The level named @p name (as above; "warn" and "err" too). @return 0 or -EINVAL. */
int tfs_log_level_parse(const char *name, enum tfs_log_level *out);
/** printf-style; a trailing newline is added. Thread-safe. */
void tfs_log(enum tfs_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define tfs_err(...) tfs_log(TFS_LOG_ERR, __VA_ARGS__)
#define tfs_warn(...) tfs_log(TFS_LOG_WARN, __VA_ARGS__)
#define tfs_info(...) tfs_log(TFS_LOG_INFO, __VA_ARGS__)
#define tfs_debug(...)                                                                             \
	do {                                                                                       \
		if (tfs_log_enabled(TFS_LOG_DEBUG))                                                \
			tfs_log(TFS_LOG_DEBUG, __VA_ARGS__);                                       \
	} while (0)

/** strerror() for a negative errno, thread-safe (static strings). */
const char *tfs_strerror(int neg_errno);

#endif
