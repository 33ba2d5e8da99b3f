/* The daemon's metrics listener (-o metrics=HOST:PORT): one thread, plain
 * sockets, one request per connection. GET /metrics answers the volume's
 * figures (vol_metrics_format, shared with the S3 sidecar) and this front
 * end's request counters, in the Prometheus text format 0.0.4; anything else
 * is a 404. Unauthenticated, like every node exporter: bind it to loopback
 * or a management network (README "Metrics"). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fs/fuse/fs_fuse.h"
#include "fs/fuse/main_int.h"

struct fs_metrics {
	struct fs_daemon *d;
	int fd;
	int stop[2];
	pthread_t thread;
};

static const char *const op_names[FS_OP_N] = {
	[FS_OP_LOOKUP] = "lookup",   [FS_OP_GETATTR] = "getattr", [FS_OP_SETATTR] = "setattr",
	[FS_OP_CREATE] = "create",   [FS_OP_MKDIR] = "mkdir",	  [FS_OP_UNLINK] = "unlink",
	[FS_OP_RMDIR] = "rmdir",     [FS_OP_RENAME] = "rename",	  [FS_OP_OPEN] = "open",
	[FS_OP_READ] = "read",	     [FS_OP_WRITE] = "write",	  [FS_OP_FSYNC] = "fsync",
	[FS_OP_READDIR] = "readdir",
};

/* HOST:PORT, [V6ADDR]:PORT: split into @p host and @p port. @return 0 or -EINVAL. */
static int split_hostport(const char *hp, char *host, size_t hsize, char *port, size_t psize)
{
	const char *colon, *h = hp;
	size_t hl;

	if (hp[0] == '[') {
		const char *rb = strchr(hp, ']');
		if (!rb || rb[1] != ':')
			return -EINVAL;
		h = hp + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(hp, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - hp);
	}
	if (!hl || hl >= hsize || !colon[1] || strlen(colon + 1) >= psize ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) || atoi(colon + 1) < 1 ||
	    atoi(colon + 1) > 65535)
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

/* @return the resolved address list, or NULL (-rc in *@p err: EINVAL, ENOENT). */
static struct addrinfo *resolve(const char *hp, int *err)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	char host[256], port[8];

	*err = split_hostport(hp, host, sizeof(host), port, sizeof(port));
	if (*err)
		return NULL;
	if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai) {
		*err = -ENOENT;
		return NULL;
	}
	return ai;
}

int fs_metrics_check(const char *listen)
{
	int err;
	struct addrinfo *ai = resolve(listen, &err);

	if (!ai) {
		fprintf(stderr,
			"trackfs: -o metrics=%s: %s; give HOST:PORT with a numeric port "
			"(e.g. 127.0.0.1:9100 or [::1]:9100)\n",
			listen,
			err == -ENOENT ? "the host does not resolve to an address"
				       : "not HOST:PORT");
		return -1;
	}
	freeaddrinfo(ai);
	return 0;
}

static void send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

/* This front end's own counters, after the volume's. */
static void fuse_section(FILE *out, struct fs_daemon *d)
{
	vol_metrics_head(out, "trackfs_fuse_requests_total", "counter",
			 "FUSE requests since the mount, by operation.");
	for (int i = 0; i < FS_OP_N; i++)
		fprintf(out, "trackfs_fuse_requests_total{op=\"%s\"} %" PRIu64 "\n", op_names[i],
			atomic_load(&d->ops[i]));
	vol_metrics_head(out, "trackfs_fuse_read_bytes_total", "counter",
			 "Bytes read through the mount.");
	fprintf(out, "trackfs_fuse_read_bytes_total %" PRIu64 "\n", atomic_load(&d->read_bytes));
	vol_metrics_head(out, "trackfs_fuse_written_bytes_total", "counter",
			 "Bytes written through the mount.");
	fprintf(out, "trackfs_fuse_written_bytes_total %" PRIu64 "\n",
		atomic_load(&d->write_bytes));
}

/* @p body NULL: HEAD, the headers only (Content-Length still @p len). */
static void respond(int fd, int status, const char *reason, const char *type, const char *body,
		    size_t len)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 status, reason, type, len);
	send_all(fd, head, (size_t)n);
	if (body)
		send_all(fd, body, len);
}

static void serve(struct fs_metrics *m, int fd)
{
	char req[2048];
	size_t len = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};

	/* The request line is all that matters; wait 2 s at most for it. */
	while (len < sizeof(req) - 1 && poll(&p, 1, 2000) > 0) {
		ssize_t n = recv(fd, req + len, sizeof(req) - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	req[len] = '\0';
	bool head = !strncmp(req, "HEAD ", 5);
	const char *path = head ? req + 5 : !strncmp(req, "GET ", 4) ? req + 4 : NULL;
	if (!path) {
		respond(fd, 405, "Method Not Allowed", "text/plain", "GET /metrics\n", 13);
		return;
	}
	size_t pl = strcspn(path, " ?");
	if (pl != 8 || strncmp(path, "/metrics", 8)) {
		respond(fd, 404, "Not Found", "text/plain", "see /metrics\n", 13);
		return;
	}
	char *body = NULL;
	size_t blen = 0;
	FILE *out = open_memstream(&body, &blen);
	int rc = out ? vol_metrics_format(m->d->vol, out) : -ENOMEM;
	if (out) {
		if (rc == 0)
			fuse_section(out, m->d);
		fclose(out);
	}
	if (rc < 0) {
		tfs_warn("metrics: cannot read the volume's figures: %s", tfs_strerror(rc));
		respond(fd, 500, "Internal Server Error", "text/plain", "error\n", 6);
	} else {
		respond(fd, 200, "OK", "text/plain; version=0.0.4; charset=utf-8",
			head ? NULL : body, blen);
	}
	free(body);
}

static void *metrics_main(void *arg)
{
	struct fs_metrics *m = arg;
	struct pollfd p[2] = {{.fd = m->fd, .events = POLLIN},
			      {.fd = m->stop[0], .events = POLLIN}};

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		int c = accept4(m->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		serve(m, c);
		close(c);
	}
	return NULL;
}

int fs_metrics_start(struct fs_daemon *d, const char *listen_on, struct fs_metrics **out)
{
	struct fs_metrics *m = calloc(1, sizeof(*m));
	int rc, one = 1;
	struct addrinfo *ai;

	if (!m)
		return -ENOMEM;
	m->d = d;
	m->fd = -1;
	ai = resolve(listen_on, &rc);
	if (!ai)
		goto out_free;
	rc = -EADDRNOTAVAIL;
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		m->fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0);
		if (m->fd < 0) {
			rc = -errno;
			continue;
		}
		setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(m->fd, a->ai_addr, a->ai_addrlen) == 0 && listen(m->fd, 16) == 0)
			break;
		rc = -errno;
		close(m->fd);
		m->fd = -1;
	}
	freeaddrinfo(ai);
	if (m->fd < 0) {
		tfs_err("metrics: cannot listen on %s: %s", listen_on, tfs_strerror(rc));
		goto out_free;
	}
	if (pipe2(m->stop, O_CLOEXEC) < 0) {
		rc = -errno;
		goto out_close;
	}
	/* The signals that end the mount are the FUSE loop's to take. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = -pthread_create(&m->thread, NULL, metrics_main, m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc < 0)
		goto out_pipe;
	tfs_info("metrics: serving http://%s/metrics", listen_on);
	*out = m;
	return 0;

out_pipe:
	close(m->stop[0]);
	close(m->stop[1]);
out_close:
	close(m->fd);
out_free:
	free(m);
	return rc;
}

void fs_metrics_stop(struct fs_metrics *m)
{
	if (!m)
		return;
	if (write(m->stop[1], "x", 1) < 0)
		tfs_warn("metrics: stopping the listener: %s", tfs_strerror(-errno));
	pthread_join(m->thread, NULL);
	close(m->stop[0]);
	close(m->stop[1]);
	close(m->fd);
	free(m);
}
