/*
 * The volume's control socket: while a process holds a volume open for
 * writing (the FUSE daemon, trackfs-s3), the tools cannot open it, so the
 * holder answers on an abstract Unix socket named after the volume UUID
 * ("\0trackfs/<uuid>"). Only root, the user the daemon runs as and the owner
 * of the metadata directory are served (SO_PEERCRED); anyone else gets
 * "err 1 ..." and the connection closes.
 *
 * Control protocol, version 1 (VOL_CONTROL_PROTO). One connection carries one
 * request. The client opens with the line
 *     trackfs-control VERSION
 * and the daemon answers
 *     trackfs-control 1 COMMAND...
 * (its version, then every command it knows, space-separated). When VERSION
 * is not the daemon's, a second line "err 93 ..." follows (EPROTONOSUPPORT;
 * the text says which versions meet) and the connection closes; the client
 * says so too ("daemon is version X, tool is Y: restart the mount after
 * upgrading"). Otherwise the client sends one request line and reads the
 * reply. A first line that is not a hello is taken as the request itself
 * (version 0, the tools from before versioning): the replies are the same.
 * A client that gets "err 22" alone for its hello talks to a daemon from
 * before versioning and repeats its request that way (vol_control_connect).
 *
 * Replies are "ok ..." or "err ERRNO [TEXT]" (TEXT, when there, says what
 * was wrong for a person to read; older clients read only ERRNO). An
 * unknown command gets "err 22 unknown command 'X'; this daemon speaks
 * control protocol 1: COMMAND, ...". The commands:
 *   info                    the figures vol_info() gives, one "key value"
 *                           line each, until the daemon closes ("disk_fs I
 *                           J": disk I shares its host filesystem with disk
 *                           J; "space USED FREE": chunks over the volume,
 *                           each host filesystem counted once; "index_seq
 *                           N": the index's commit; "disk_snapshot I SEQ
 *                           TIME_NS": disk I's newest snapshot;
 *                           "disk_errors I READ WRITE CHECKSUM": disk I's
 *                           failed track reads and writes and its chunks
 *                           that failed their checksum since open; "mirror
 *                           current|stale|failed SEQ DIR" and "mirror_error
 *                           ERRNO": the metadata mirror; "scrub STATE DONE
 *                           TOTAL BAD RATE ELAPSED_MS STARTED FINISHED": the
 *                           online scrub; "note KEY<TAB>TEXT": a front end's
 *                           line for status). An empty version-0 line is
 *                           "info".
 *   version                 "ok 1 COMMAND..." (as the hello's answer)
 *   disk-add PATH           "ok INDEX SHARES_FS_WITH"
 *   disk-files DISK         "file INO HERE ELSEWHERE PATH" lines, then "ok"
 *   disk-undrain DISK       "ok"
 *   drain-start DISK RATE   "ok"
 *   drain-stop DISK|all     "ok"
 *   drain-status DISK       "ok RUNNING STATE DONE TOTAL LAST_RC"
 *   replace-start OLD RATE NEWPATH  "ok NEW SHARES_FS_WITH"
 *   scrub-start RATE [RESTART]      "ok" (progress: info's scrub line)
 *   scrub-stop              "ok"
 *   meta-snapshot           "ok SEQ BYTES WRITTEN FAILED SECONDS"
 *   meta-mirror DIR         "ok SEQ" (the metadata mirror is DIR from now on)
 *   placement POLICY        "ok"
 *   reserve BYTES|auto      "ok"
 *   s3-reload               read the S3 auth file again: "ok TEXT" or "err
 *                           ERRNO TEXT" (TEXT names the file and line; the
 *                           credentials in force stay so)
 *   log-level [LEVEL]       set (error, warning, info, debug) and/or tell
 *                           the daemon's log level: "ok LEVEL"
 * A later version may add commands (the hello lists them) and reply lines
 * (readers skip keys they do not know) without changing the number; the
 * number changes when a request or reply changes its meaning.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/base/log.h"
#include "fs/vol/vol_int.h"

/* Abstract address (no file to clean up after a crash): "\0trackfs/<uuid>". */
static socklen_t control_addr(const struct tfs_uuid *uuid, struct sockaddr_un *sa)
{
	char u[TFS_UUID_STRLEN];

	tfs_uuid_format(uuid, u);
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	int n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "trackfs/%s", u);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static const char *const mirror_states[] = {
	[VOL_MIRROR_NONE] = "none",
	[VOL_MIRROR_CURRENT] = "current",
	[VOL_MIRROR_STALE] = "stale",
	[VOL_MIRROR_FAILED] = "failed",
};

static const char *mirror_state_name(int st)
{
	return st >= 0 && st <= VOL_MIRROR_FAILED ? mirror_states[st] : "failed";
}

static void answer(struct vol *v, int fd)
{
	struct vol_info *info = calloc(1, sizeof(*info));
	char u[TFS_UUID_STRLEN];
	FILE *out;

	if (!info)
		return;
	out = fdopen(fd, "w");
	if (!out) {
		free(info);
		close(fd);
		return;
	}
	if (vol_info(v, info) == 0) {
		tfs_uuid_format(&info->uuid, u);
		fprintf(out,
			"uuid %s\nlabel %s\nchunk_size %" PRIu32 "\ninodes %" PRIu64
			"\nindex_bytes %" PRIu64 "\nunclean %d\n",
			u, info->label, info->chunk_size, info->inodes, info->index_bytes,
			vol_was_unclean(v) ? 1 : 0);
		fprintf(out, "space %" PRIu64 " %" PRIu64 "\n", info->chunks_used,
			info->chunks_free);
		for (unsigned i = 0; i < info->ndisks; i++) {
			struct vol_disk_info *d = &info->disks[i];
			tfs_uuid_format(&d->uuid, u);
			fprintf(out,
				"disk %u %d %" PRIu32 " %" PRIu64 " %" PRIu64 " %" PRIu64
				" %" PRIu64 " %" PRIu64 " %s %s\n",
				i, d->missing ? 1 : 0, d->tracks, d->chunks_used, d->chunks_free,
				d->bytes_used, d->bytes_free, d->bytes_on_disk, u, d->path);
		}
		/* Lines of their own, so that older readers skip them. */
		for (unsigned i = 0; i < info->ndisks; i++)
			if (info->disks[i].stale)
				fprintf(out, "stale %u %" PRIu64 "\n", i,
					info->disks[i].stale_chunks);
		for (unsigned i = 0; i < info->ndisks; i++)
			fprintf(out, "disk_health %u %d %" PRIu64 "\n", i,
				info->disks[i].failing ? 1 : 0, info->disks[i].io_errors);
		for (unsigned i = 0; i < info->ndisks; i++)
			fprintf(out, "disk_errors %u %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", i,
				info->disks[i].read_errors, info->disks[i].write_errors,
				info->disks[i].checksum_errors);
		for (unsigned i = 0; i < info->ndisks; i++)
			if (info->disks[i].shares_fs_with >= 0)
				fprintf(out, "disk_fs %u %d\n", i, info->disks[i].shares_fs_with);
		fprintf(out, "placement %s %" PRIu64 "\n", info->placement, info->reserve);
		for (unsigned i = 0; i < info->ndisks; i++)
			fprintf(out, "disk_reserve %u %" PRIu64 " %d\n", i,
				info->disks[i].reserve_bytes, info->disks[i].at_reserve ? 1 : 0);
		for (unsigned i = 0; i < info->ndisks; i++)
			if (info->disks[i].drain_state)
				fprintf(out, "disk_drain %u %d %" PRIu64 " %" PRIu64 "\n", i,
					info->disks[i].drain_state, info->disks[i].drain_done,
					info->disks[i].drain_total);
		for (unsigned i = 0; i < info->ndisks; i++)
			if (info->disks[i].removed)
				fprintf(out, "disk_removed %u\n", i);
		for (unsigned i = 0; i < info->ndisks; i++)
			if (info->disks[i].drain_state)
				fprintf(out, "disk_drain_ext %u %d %" PRIu64 " %d %d\n", i,
					info->disks[i].drain_stopped ? 1 : 0,
					info->disks[i].drain_rate, info->disks[i].drain_target,
					info->disks[i].drain_salvaged ? 1 : 0);
		fprintf(out, "index_seq %" PRIu64 "\n", info->index_seq);
		for (const char *n = info->notes; *n;) {
			const char *nl = strchr(n, '\n');
			fprintf(out, "note %.*s\n", (int)(nl - n), n); /* "KEY\tTEXT" */
			n = nl + 1;
		}
		if (info->scrub.state != VOL_SCRUB_NONE)
			fprintf(out,
				"scrub %d %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
				" %" PRId64 " %" PRId64 "\n",
				info->scrub.state, info->scrub.bytes_done, info->scrub.bytes_total,
				info->scrub.bad, info->scrub.rate, info->scrub.elapsed_ms,
				info->scrub.started_s, info->scrub.finished_s);
		for (unsigned i = 0; i < info->ndisks; i++)
			if (info->disks[i].has_snapshot)
				fprintf(out, "disk_snapshot %u %" PRIu64 " %" PRIu64 "\n", i,
					info->disks[i].snapshot_seq,
					info->disks[i].snapshot_time_ns);
		if (info->mirror_state != VOL_MIRROR_NONE) {
			fprintf(out, "mirror %s %" PRIu64 " %s\n",
				mirror_state_name(info->mirror_state), info->mirror_seq,
				info->mirror);
			if (info->mirror_error)
				fprintf(out, "mirror_error %d\n", -info->mirror_error);
		}
	}
	fclose(out);
	free(info);
}

/* Every request is for root, the user the daemon runs as and the owner of
 * the metadata directory (SO_PEERCRED: the kernel's word, not the client's). */
static bool may_change(struct vol *v, int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct stat st;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return false;
	if (cr.uid == 0 || cr.uid == geteuid())
		return true;
	return stat(v->meta_dir, &st) == 0 && st.st_uid == cr.uid;
}

static void reply(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(int fd, const char *fmt, ...)
{
	char buf[PATH_MAX + 512];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0 &&
	    send(fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1, MSG_NOSIGNAL) < 0)
		tfs_debug("control socket: the client went away: %s", tfs_strerror(-errno));
}

/* "drain-start DISK RATE", "drain-stop DISK|all", "drain-status DISK"
 * (drain_thread.c does the work). @return 1 when @p line is none of them. */
static int serve_drain(struct vol *v, int fd, const char *line)
{
	unsigned disk;
	uint64_t rate;
	int rc;

	if (sscanf(line, "drain-start %u %" SCNu64, &disk, &rate) == 2) {
		rc = vol_drainer_start(v, disk, rate);
	} else if (!strcmp(line, "drain-stop all")) {
		rc = vol_drainer_stop(v, -1);
	} else if (sscanf(line, "drain-stop %u", &disk) == 1) {
		rc = disk < VOL_MAX_DISKS ? vol_drainer_stop(v, (int)disk) : -ENODEV;
	} else {
		return 1;
	}
	if (rc == 0)
		reply(fd, "ok\n");
	return rc;
}

/* The state of one disk's drain, for a client that shows its progress:
 * "ok RUNNING STATE DONE TOTAL LAST_RC" (LAST_RC 1: no drain on the thread
 * since open). */
static void serve_drain_status(struct vol *v, int fd, const char *arg)
{
	struct vol_drain_status st;
	unsigned disk;
	bool running;
	int last, rc = -EINVAL;

	if (sscanf(arg, "%u", &disk) == 1)
		rc = vol_disk_drain_state(v, disk, &st);
	if (rc < 0) {
		reply(fd, "err %d\n", -rc);
		return;
	}
	vol_drainer_query(v, disk, &running, &last);
	reply(fd, "ok %d %d %" PRIu64 " %" PRIu64 " %d\n", running ? 1 : 0, (int)st.state,
	      st.bytes_done, st.bytes_total, last);
}

static const char *const commands[] = {
	"info",	       "version",	"disk-add",	"disk-files",	 "disk-undrain",
	"drain-start", "drain-stop",	"drain-status", "replace-start", "scrub-start",
	"scrub-stop",  "meta-snapshot", "meta-mirror",	"placement",	 "reserve",
	"s3-reload",   "log-level",
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static bool known_command(const char *line)
{
	size_t n = strcspn(line, " ");

	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strlen(commands[i]) == n && !strncmp(commands[i], line, n))
			return true;
	return false;
}

/* The commands, joined by @p sep, into @p buf. */
static void command_list(char *buf, size_t len, const char *sep)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NCOMMANDS && o < len; i++) {
		int n = snprintf(buf + o, len - o, "%s%s", i ? sep : "", commands[i]);
		if (n < 0)
			break;
		o += (size_t)n;
	}
}

/* Serialises the reload hook against its unregistration. */
static pthread_mutex_t hook_lock = PTHREAD_MUTEX_INITIALIZER;

void vol_control_set_reload(struct vol *v, int (*fn)(void *arg, char *why, size_t len), void *arg)
{
	pthread_mutex_lock(&hook_lock);
	v->s3_reload = fn;
	v->s3_reload_arg = arg;
	pthread_mutex_unlock(&hook_lock);
}

static void serve_s3_reload(struct vol *v, int fd)
{
	char why[PATH_MAX + 256] = "";
	int rc = -EOPNOTSUPP;

	pthread_mutex_lock(&hook_lock);
	if (v->s3_reload)
		rc = v->s3_reload(v->s3_reload_arg, why, sizeof(why));
	else
		snprintf(why, sizeof(why),
			 "this daemon serves no S3 for %s (mount with -o "
			 "s3=HOST:PORT,s3_auth=FILE, or run trackfs-s3)",
			 v->meta_dir);
	pthread_mutex_unlock(&hook_lock);
	why[strcspn(why, "\n")] = '\0';
	if (rc < 0)
		reply(fd, "err %d %s\n", -rc, why);
	else
		reply(fd, "ok %s\n", why);
}

static void serve_log_level(int fd, const char *arg, uid_t uid)
{
	enum tfs_log_level l, was = tfs_log_get_level();

	if (*arg && tfs_log_level_parse(arg, &l) < 0) {
		reply(fd, "err %d unknown log level '%s': use error, warning, info or debug\n",
		      EINVAL, arg);
		return;
	}
	if (*arg && l != was) {
		/* Said at the more verbose of the two levels, so that it shows. */
		if (l < was)
			tfs_info("log level %s (was %s), set over the control socket by uid %u",
				 tfs_log_level_name(l), tfs_log_level_name(was), (unsigned)uid);
		tfs_log_set_level(l);
		if (l > was)
			tfs_info("log level %s (was %s), set over the control socket by uid %u",
				 tfs_log_level_name(l), tfs_log_level_name(was), (unsigned)uid);
	}
	reply(fd, "ok %s\n", tfs_log_level_name(tfs_log_get_level()));
}

struct line_reader {
	char buf[PATH_MAX + 64];
	size_t len; /* bytes in buf, the current line's first */
};

/* The next line (without its newline) into @p out; what came after it stays
 * in @p lr. @return the line's length, or -1 on end of input or timeout with
 * nothing read. */
static int read_line(int fd, struct line_reader *lr, char *out, size_t outlen)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char *nl;

	while (!(nl = memchr(lr->buf, '\n', lr->len)) && lr->len < sizeof(lr->buf) &&
	       poll(&p, 1, 2000) > 0) {
		ssize_t n = read(fd, lr->buf + lr->len, sizeof(lr->buf) - lr->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		lr->len += (size_t)n;
	}
	size_t n = nl ? (size_t)(nl - lr->buf) : lr->len;
	if (!nl && !n)
		return -1;
	size_t c = n < outlen - 1 ? n : outlen - 1;
	memcpy(out, lr->buf, c);
	out[c] = '\0';
	size_t used = nl ? n + 1 : n;
	memmove(lr->buf, lr->buf + used, lr->len - used);
	lr->len -= used;
	return (int)c;
}

/* One connection: the hello, if any, then one request (the protocol at the
 * top of this file). Changes reply "ok ..." or "err ERRNO". */
static void serve(struct vol *v, int fd)
{
	struct line_reader *lr = malloc(sizeof(*lr));
	char line[PATH_MAX + 64], cmds[512];
	struct ucred cr = {0};
	socklen_t crlen = sizeof(cr);
	int proto = 0;

	if (!lr) {
		close(fd);
		return;
	}
	lr->len = 0;
	if (read_line(fd, lr, line, sizeof(line)) < 0)
		line[0] = '\0';
	/* Even the figures name disks, paths and the mirror: owner only. */
	if (!may_change(v, fd)) {
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0)
			cr.uid = (uid_t)-1;
		tfs_info("control socket: refused a request from uid %u: only root, uid %u and "
			 "the owner of %s may use it",
			 (unsigned)cr.uid, (unsigned)geteuid(), v->meta_dir);
		reply(fd,
		      "err %d permission denied: only root, uid %u and the owner of %s may "
		      "use the control socket\n",
		      EPERM, (unsigned)geteuid(), v->meta_dir);
		close(fd);
		free(lr);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0)
		cr.uid = (uid_t)-1;
	if (sscanf(line, "trackfs-control %d", &proto) == 1 || !strcmp(line, "trackfs-control")) {
		tfs_debug("control socket: hello of protocol %d from uid %u", proto,
			  (unsigned)cr.uid);
		command_list(cmds, sizeof(cmds), " ");
		reply(fd, "trackfs-control %d %s\n", VOL_CONTROL_PROTO, cmds);
		if (proto != VOL_CONTROL_PROTO) {
			reply(fd,
			      "err %d this daemon speaks control protocol %d, the client %d: use "
			      "the tools of the daemon's version, or restart the mount after "
			      "upgrading\n",
			      EPROTONOSUPPORT, VOL_CONTROL_PROTO, proto);
			close(fd);
			free(lr);
			return;
		}
		if (read_line(fd, lr, line, sizeof(line)) < 0) {
			close(fd); /* a client that only asked the version */
			free(lr);
			return;
		}
	}
	free(lr);
	tfs_debug("control socket: request '%s' from uid %u (protocol %d)", line, (unsigned)cr.uid,
		  proto);
	if ((proto == 0 && !*line) || !strcmp(line, "info")) {
		answer(v, fd);
		return;
	}
	if (!known_command(line)) {
		char shown[64];
		command_list(cmds, sizeof(cmds), ", ");
		snprintf(shown, sizeof(shown), "%.*s", (int)strcspn(line, " "), line);
		reply(fd,
		      "err %d unknown command '%s'; this daemon speaks control protocol %d: %s\n",
		      EINVAL, shown, VOL_CONTROL_PROTO, cmds);
		close(fd);
		return;
	}
	if (!strcmp(line, "version")) {
		command_list(cmds, sizeof(cmds), " ");
		reply(fd, "ok %d %s\n", VOL_CONTROL_PROTO, cmds);
		close(fd);
		return;
	}
	if (!strcmp(line, "s3-reload")) {
		serve_s3_reload(v, fd);
		close(fd);
		return;
	}
	if (!strcmp(line, "log-level") || !strncmp(line, "log-level ", 10)) {
		serve_log_level(fd, line[9] ? line + 10 : "", cr.uid);
		close(fd);
		return;
	}
	if (!strncmp(line, "drain-status ", 13)) {
		serve_drain_status(v, fd, line + 13);
		close(fd);
		return;
	}
	/* Paths name files the asker may not be allowed to see: owner only. */
	if (!strncmp(line, "disk-files ", 11)) {
		vol_disk_files_serve(v, fd, line + 11);
		return;
	}
	int rc = -EINVAL;
	if (!strncmp(line, "drain-", 6)) {
		rc = serve_drain(v, fd, line);
		if (rc == 1)
			rc = -EINVAL;
	} else if (!strncmp(line, "disk-undrain ", 13)) {
		unsigned disk;
		rc = sscanf(line + 13, "%u", &disk) == 1 ? vol_disk_undrain(v, disk) : -EINVAL;
		if (rc == 0)
			reply(fd, "ok\n");
	} else if (!strncmp(line, "disk-add ", 9)) {
		unsigned idx = 0;
		int shares = -1;
		rc = vol_disk_add(v, line + 9, &idx, &shares);
		if (rc == 0)
			reply(fd, "ok %u %d\n", idx, shares);
	} else if (!strncmp(line, "replace-start ", 14)) {
		rc = vol_replace_serve(v, fd, line + 14);
	} else if (!strncmp(line, "scrub-start ", 12)) {
		uint64_t rate;
		int restart = 0;
		rc = sscanf(line + 12, "%" SCNu64 " %d", &rate, &restart) >= 1
			     ? vol_scrub_start(v, rate, restart != 0)
			     : -EINVAL;
		if (rc == 0)
			reply(fd, "ok\n");
	} else if (!strcmp(line, "scrub-stop")) {
		rc = vol_scrub_stop(v);
		if (rc == 0)
			reply(fd, "ok\n");
	} else if (!strcmp(line, "meta-snapshot")) {
		struct vol_snapshot_result r;
		rc = vol_snapshot(v, NULL, &r);
		if (rc == 0)
			reply(fd, "ok %" PRIu64 " %" PRIu64 " %u %u %.3f\n", r.seq, r.bytes,
			      r.written, r.failed, r.seconds);
	} else if (!strncmp(line, "meta-mirror ", 12)) {
		rc = vol_mirror_set(v, line + 12);
		if (rc == 0) {
			struct idx_mirror_status ms;
			idx_mirror_status(v->idx, &ms);
			reply(fd, "ok %" PRIu64 "\n", ms.seq);
		}
	} else if (!strncmp(line, "placement ", 10)) {
		rc = vol_set_placement(v, line + 10, false, 0);
		if (rc == 0)
			reply(fd, "ok\n");
	} else if (!strncmp(line, "reserve ", 8)) {
		uint64_t r = UINT64_MAX;
		char *end = NULL;
		if (strcmp(line + 8, "auto") != 0) {
			r = strtoull(line + 8, &end, 10);
			if (!end || *end || line[8] == '-' || r == UINT64_MAX)
				r = 0, rc = -EINVAL;
			else
				rc = 0;
		} else {
			rc = 0;
		}
		if (rc == 0)
			rc = vol_set_placement(v, NULL, true, r);
		if (rc == 0)
			reply(fd, "ok\n");
	}
	if (rc < 0)
		reply(fd, "err %d\n", -rc);
	close(fd);
}

static void *control_main(void *arg)
{
	struct vol *v = arg;
	struct pollfd p[2] = {{.fd = v->control_fd, .events = POLLIN},
			      {.fd = v->control_stop[0], .events = POLLIN}};

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		int c = accept4(v->control_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			serve(v, c);
	}
	return NULL;
}

int vol_control_start(struct vol *v)
{
	struct sockaddr_un sa;
	socklen_t len = control_addr(&v->vf.uuid, &sa);
	int rc;

	v->control_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (v->control_fd < 0)
		return -errno;
	if (bind(v->control_fd, (struct sockaddr *)&sa, len) < 0 || listen(v->control_fd, 8) < 0) {
		rc = -errno;
		/* Not fatal: the volume works, `trackfs status` just cannot ask. */
		tfs_warn("volume %s: no status socket (%s); trackfs status will show the "
			 "configuration only",
			 v->meta_dir, tfs_strerror(rc));
		goto out_close;
	}
	if (pipe2(v->control_stop, O_CLOEXEC) < 0) {
		rc = -errno;
		goto out_close;
	}
	rc = -pthread_create(&v->control_thread, NULL, control_main, v);
	if (rc < 0)
		goto out_close_pipe;
	v->control_running = true;
	return 0;

out_close_pipe:
	close(v->control_stop[0]);
	close(v->control_stop[1]);
out_close:
	close(v->control_fd);
	v->control_fd = -1;
	return rc;
}

void vol_control_stop(struct vol *v)
{
	if (!v->control_running)
		return;
	if (write(v->control_stop[1], "x", 1) < 0)
		tfs_warn("volume %s: stopping the status socket: %s", v->meta_dir,
			 tfs_strerror(-errno));
	pthread_join(v->control_thread, NULL);
	close(v->control_stop[0]);
	close(v->control_stop[1]);
	close(v->control_fd);
	v->control_fd = -1;
	v->control_running = false;
}

/* The version this client speaks: VOL_CONTROL_PROTO, or for the tests of a
 * mismatch TRACKFS_CONTROL_PROTO from the environment. */
static int client_proto(void)
{
	const char *e = getenv("TRACKFS_CONTROL_PROTO");

	return e && *e ? atoi(e) : VOL_CONTROL_PROTO;
}

/* Connect to the socket of @p meta_dir's volume. @return the descriptor or -errno. */
static int control_dial(const char *meta_dir)
{
	struct vol_volfile *vf = malloc(sizeof(*vf));
	struct sockaddr_un sa;
	char meta[PATH_MAX];
	int rc, fd = -1;

	if (!vf)
		return -ENOMEM;
	rc = vol_meta_resolve(meta_dir, meta);
	if (rc == 0)
		rc = vol_volfile_read(meta, vf);
	if (rc == 0) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		rc = fd < 0 ? -errno : 0;
	}
	if (rc == 0 && connect(fd, (struct sockaddr *)&sa, control_addr(&vf->uuid, &sa)) < 0)
		rc = -errno;
	free(vf);
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		return rc;
	}
	return fd;
}

static int send_line(int fd, const char *s)
{
	size_t len = strlen(s);

	if (send(fd, s, len, MSG_NOSIGNAL) != (ssize_t)len || send(fd, "\n", 1, MSG_NOSIGNAL) != 1)
		return -errno;
	return 0;
}

/* One line from @p fd, a byte at a time (nothing past it is consumed). */
static int recv_line(int fd, char *buf, size_t len)
{
	size_t got = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};

	while (got < len - 1) {
		if (poll(&p, 1, 30000) <= 0)
			return -ETIMEDOUT;
		ssize_t n = read(fd, buf + got, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0 || buf[got] == '\n')
			break;
		got++;
	}
	buf[got] = '\0';
	return got ? 0 : -EPROTO;
}

/*
 * Connect and say hello. @return the descriptor, ready for a request;
 * -ENOMSG (*@p version 0) when the daemon is from before versioning (the
 * caller connects again and sends the bare request); -errno (*@p version the
 * daemon's when it answered the hello).
 */
static int control_open(const char *meta_dir, int *version, char *cmds, size_t cmdlen)
{
	char hello[64], line[1024];
	int fd, rc, theirs = -1, pos = 0, mine = client_proto();

	*version = -1;
	fd = control_dial(meta_dir);
	if (fd < 0)
		return fd;
	snprintf(hello, sizeof(hello), "trackfs-control %d", mine);
	rc = send_line(fd, hello);
	if (rc == 0)
		rc = recv_line(fd, line, sizeof(line));
	if (rc < 0)
		goto out_close;
	if (sscanf(line, "trackfs-control %d %n", &theirs, &pos) >= 1) {
		*version = theirs;
		if (cmds)
			snprintf(cmds, cmdlen, "%s", pos ? line + pos : "");
		if (theirs == mine)
			return fd;
		tfs_err("control socket of the volume %s: daemon is version %d of the control "
			"protocol, tool is %d: restart the mount (or trackfs-s3) after upgrading, "
			"or use the tools of the daemon's version",
			meta_dir, theirs, mine);
		rc = -EPROTONOSUPPORT;
		goto out_close;
	}
	if (!strcmp(line, "err 22")) {
		*version = 0; /* before versioning: it took the hello for a request */
		if (cmds && cmdlen)
			cmds[0] = '\0';
		rc = -ENOMSG;
		goto out_close;
	}
	/* "err 1 ...": not root or the owner (the tools say so). */
	int e = vol_control_reply_errno(line, NULL);
	rc = e && e != EPROTO ? -e : -EPROTO;
out_close:
	close(fd);
	return rc;
}

/*
 * Connect to the daemon holding @p meta_dir's volume and send @p req (one
 * line, without its newline). @return the connected descriptor, or -errno
 * (-ECONNREFUSED/-ENOENT: no daemon holds it).
 */
int vol_control_connect(const char *meta_dir, const char *req)
{
	int version, rc, fd = control_open(meta_dir, &version, NULL, 0);

	if (fd == -ENOMSG && version == 0)
		fd = control_dial(meta_dir); /* a daemon from before versioning */
	if (fd < 0)
		return fd;
	rc = send_line(fd, req);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int vol_control_hello(const char *meta_dir, int *version, char *cmds, size_t len)
{
	int fd = control_open(meta_dir, version, cmds, len);

	if (fd >= 0)
		close(fd);
	if (fd == -ENOMSG)
		return 0; /* version 0 */
	return fd < 0 ? fd : 0;
}

int vol_control_reply_errno(const char *rep, const char **msg)
{
	int e = 0, pos = 0;

	if (!strncmp(rep, "ok", 2) && (!rep[2] || rep[2] == ' ')) {
		if (msg)
			*msg = rep[2] ? rep + 3 : "";
		return 0;
	}
	if (sscanf(rep, "err %d%n", &e, &pos) == 1 && e > 0) {
		if (msg)
			*msg = rep[pos] == ' ' ? rep + pos + 1 : "";
		return e;
	}
	if (msg)
		*msg = rep;
	return EPROTO;
}

int vol_info_remote(const char *meta_dir, struct vol_info *out)
{
	char line[PATH_MAX + 256];
	int rc, fd;
	FILE *in;

	fd = vol_control_connect(meta_dir, "info");
	if (fd < 0)
		return fd;
	if (shutdown(fd, SHUT_WR) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	in = fdopen(fd, "r");
	if (!in) {
		rc = -errno;
		close(fd);
		return rc;
	}
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < VOL_MAX_DISKS; i++) {
		out->disks[i].shares_fs_with = -1;
		out->disks[i].drain_target = -1;
	}
	bool have_space = false;
	rc = -EPROTO;
	while (fgets(line, sizeof(line), in)) {
		char key[32], u[TFS_UUID_STRLEN];
		int pos = 0;
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%31s %n", key, &pos) < 1)
			continue;
		const char *val = line + pos;
		if (!strcmp(key, "err")) {
			rc = -atoi(val); /* EPERM: not root or the volume's owner */
			if (rc >= 0)
				rc = -EPROTO;
			break;
		}
		if (!strcmp(key, "note")) {
			size_t l = strlen(out->notes);
			if (strchr(val, '\t'))
				snprintf(out->notes + l, sizeof(out->notes) - l, "%s\n", val);
			continue;
		}
		if (!strcmp(key, "scrub")) {
			struct vol_scrub_status *sc = &out->scrub;
			if (sscanf(val,
				   "%d %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
				   " %" SCNd64 " %" SCNd64,
				   &sc->state, &sc->bytes_done, &sc->bytes_total, &sc->bad,
				   &sc->rate, &sc->elapsed_ms, &sc->started_s,
				   &sc->finished_s) != 8)
				memset(sc, 0, sizeof(*sc));
			continue;
		}
		if (!strcmp(key, "uuid")) {
			if (tfs_uuid_parse(val, &out->uuid) == 0)
				rc = 0;
		} else if (!strcmp(key, "label")) {
			snprintf(out->label, sizeof(out->label), "%s", val);
		} else if (!strcmp(key, "chunk_size")) {
			out->chunk_size = (uint32_t)strtoul(val, NULL, 10);
		} else if (!strcmp(key, "inodes")) {
			out->inodes = strtoull(val, NULL, 10);
		} else if (!strcmp(key, "index_bytes")) {
			out->index_bytes = strtoull(val, NULL, 10);
		} else if (!strcmp(key, "stale")) {
			unsigned idx;
			uint64_t chunks;
			if (sscanf(val, "%u %" SCNu64, &idx, &chunks) == 2 && idx < out->ndisks) {
				out->disks[idx].stale = true;
				out->disks[idx].stale_chunks = chunks;
			}
		} else if (!strcmp(key, "disk_health")) {
			unsigned idx;
			int failing;
			uint64_t errors;
			if (sscanf(val, "%u %d %" SCNu64, &idx, &failing, &errors) == 3 &&
			    idx < out->ndisks) {
				out->disks[idx].failing = failing != 0;
				out->disks[idx].io_errors = errors;
			}
		} else if (!strcmp(key, "disk_errors")) {
			unsigned idx;
			uint64_t re, we, ce;
			if (sscanf(val, "%u %" SCNu64 " %" SCNu64 " %" SCNu64, &idx, &re, &we,
				   &ce) == 4 &&
			    idx < out->ndisks) {
				out->disks[idx].read_errors = re;
				out->disks[idx].write_errors = we;
				out->disks[idx].checksum_errors = ce;
			}
		} else if (!strcmp(key, "placement")) {
			char name[8];
			uint64_t r;
			if (sscanf(val, "%7s %" SCNu64, name, &r) == 2) {
				snprintf(out->placement, sizeof(out->placement), "%s", name);
				out->reserve = r;
			}
		} else if (!strcmp(key, "disk_reserve")) {
			unsigned idx;
			uint64_t r;
			int at;
			if (sscanf(val, "%u %" SCNu64 " %d", &idx, &r, &at) == 3 &&
			    idx < out->ndisks) {
				out->disks[idx].reserve_bytes = r;
				out->disks[idx].at_reserve = at != 0;
			}
		} else if (!strcmp(key, "disk_drain")) {
			unsigned idx;
			int st;
			uint64_t done, total;
			if (sscanf(val, "%u %d %" SCNu64 " %" SCNu64, &idx, &st, &done, &total) ==
				    4 &&
			    idx < out->ndisks) {
				out->disks[idx].drain_state = st;
				out->disks[idx].drain_done = done;
				out->disks[idx].drain_total = total;
			}
		} else if (!strcmp(key, "disk_removed")) {
			unsigned idx;
			if (sscanf(val, "%u", &idx) == 1 && idx < out->ndisks) {
				out->disks[idx].removed = true;
				out->disks[idx].missing = false;
			}
		} else if (!strcmp(key, "disk_drain_ext")) {
			unsigned idx;
			int stopped, target = -1, salvaged = 0;
			uint64_t rate;
			/* The target and the salvaged mark came later: a line
			 * without them is no replace. */
			int n = sscanf(val, "%u %d %" SCNu64 " %d %d", &idx, &stopped, &rate,
				       &target, &salvaged);
			if (n >= 3 && idx < out->ndisks) {
				out->disks[idx].drain_stopped = stopped != 0;
				out->disks[idx].drain_rate = rate;
				out->disks[idx].drain_target =
					target >= 0 && (unsigned)target < out->ndisks ? target : -1;
				out->disks[idx].drain_salvaged = salvaged != 0;
			}
		} else if (!strcmp(key, "index_seq")) {
			out->index_seq = strtoull(val, NULL, 10);
		} else if (!strcmp(key, "disk_snapshot")) {
			unsigned idx;
			uint64_t seq, t;
			if (sscanf(val, "%u %" SCNu64 " %" SCNu64, &idx, &seq, &t) == 3 &&
			    idx < out->ndisks) {
				out->disks[idx].has_snapshot = true;
				out->disks[idx].snapshot_seq = seq;
				out->disks[idx].snapshot_time_ns = t;
			}
		} else if (!strcmp(key, "mirror")) {
			char st[16];
			uint64_t seq;
			int n = 0;
			if (sscanf(val, "%15s %" SCNu64 " %n", st, &seq, &n) == 2 && n > 0 &&
			    val[n] == '/') {
				out->mirror_state = VOL_MIRROR_FAILED;
				for (int i = VOL_MIRROR_CURRENT; i <= VOL_MIRROR_FAILED; i++)
					if (!strcmp(st, mirror_states[i]))
						out->mirror_state = i;
				out->mirror_seq = seq;
				snprintf(out->mirror, sizeof(out->mirror), "%s", val + n);
			}
		} else if (!strcmp(key, "mirror_error")) {
			int e = atoi(val);
			out->mirror_error = e > 0 ? -e : 0;
		} else if (!strcmp(key, "space")) {
			have_space = sscanf(val, "%" SCNu64 " %" SCNu64, &out->chunks_used,
					    &out->chunks_free) == 2;
		} else if (!strcmp(key, "disk_fs")) {
			unsigned idx;
			int with;
			if (sscanf(val, "%u %d", &idx, &with) == 2 && idx < out->ndisks &&
			    with >= -1 && with < (int)idx)
				out->disks[idx].shares_fs_with = with;
		} else if (!strcmp(key, "disk") && out->ndisks < VOL_MAX_DISKS) {
			struct vol_disk_info *d = &out->disks[out->ndisks];
			unsigned idx;
			int missing, n = 0;
			if (sscanf(val,
				   "%u %d %" SCNu32 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
				   " %" SCNu64 " %36s %n",
				   &idx, &missing, &d->tracks, &d->chunks_used, &d->chunks_free,
				   &d->bytes_used, &d->bytes_free, &d->bytes_on_disk, u, &n) >= 9 &&
			    n > 0) {
				d->missing = missing != 0;
				tfs_uuid_parse(u, &d->uuid);
				snprintf(d->path, sizeof(d->path), "%s", val + n);
				out->ndisks++;
			}
		}
	}
	fclose(in);
	if (!have_space) {
		/* A daemon from before the "space" line: sum its disks. */
		for (unsigned i = 0; i < out->ndisks; i++) {
			out->chunks_used += out->disks[i].chunks_used;
			out->chunks_free += out->disks[i].chunks_free;
		}
	}
	return rc;
}

int vol_control_request(const char *meta_dir, const char *req, char *reply_buf, size_t len)
{
	size_t got = 0;
	int fd = vol_control_connect(meta_dir, req);

	if (fd < 0)
		return fd;
	while (got < len - 1) {
		ssize_t n = read(fd, reply_buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	reply_buf[got] = '\0';
	reply_buf[strcspn(reply_buf, "\n")] = '\0';
	return got ? 0 : -EPROTO;
}

int vol_control_call(const char *meta_dir, const char *req, char *reply_buf, size_t len,
		     const char **rest)
{
	int e, rc = vol_control_request(meta_dir, req, reply_buf, len);

	if (rc < 0)
		return rc;
	e = vol_control_reply_errno(reply_buf, rest);
	return -e;
}
