/* The sidecar's lifecycle: configuration, the auth file, and a few libuv
 * loops on threads of their own, each with a listening socket on the same
 * address (SO_REUSEPORT), so that a slow volume call on one connection does
 * not hold up the others; a timer per loop closes idle and slow clients. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/base/log.h"
#include "fs/s3/s3_int.h"

#define DEFAULT_LOOPS 4

static void on_sweep(uv_timer_t *t)
{
	struct s3_loop *lp = t->data;
	struct s3_server *s = lp->srv;
	uint64_t now = s3_now_ms();
	struct s3_conn *c = lp->conns, *next;

	for (; c; c = next) {
		uint64_t limit_ms = 0, since = c->activity_ms;
		next = c->next;
		switch (c->phase) {
		case S3_C_IDLE:
			limit_ms = s->cfg.idle_timeout_s * 1000ull;
			break;
		case S3_C_HEADERS:
			/* Measured from the request's first byte: a client sending
			 * one byte a second cannot hold the slot forever. */
			limit_ms = s->cfg.header_timeout_s * 1000ull;
			since = c->phase_ms;
			break;
		case S3_C_BODY:
			limit_ms = s->cfg.body_timeout_s * 1000ull;
			break;
		case S3_C_RESPONDING:
			limit_ms = s->cfg.idle_timeout_s * 1000ull;
			break;
		case S3_C_LINGER:
			limit_ms = 2000;
			since = c->phase_ms;
			break;
		}
		if (now - since > limit_ms) {
			tfs_info("s3: closing a connection that was silent for %llu s",
				 (unsigned long long)((now - since) / 1000));
			s3_conn_close(c);
		}
	}
	if (lp->idx == 0 && now - s->last_upload_sweep_ms > 3600 * 1000ull) {
		s->last_upload_sweep_ms = now;
		s3_mpu_sweep(s);
	}
}

static void close_walk_cb(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void on_stop(uv_async_t *a)
{
	struct s3_loop *lp = a->data;

	while (lp->conns)
		s3_conn_close(lp->conns);
	uv_walk(&lp->loop, close_walk_cb, NULL);
}

static void loop_thread(void *arg)
{
	struct s3_loop *lp = arg;

	uv_run(&lp->loop, UV_RUN_DEFAULT);
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	int port;

	if (!colon || (size_t)(colon - listen) >= sizeof(host))
		return -EINVAL;
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	port = atoi(colon + 1);
	if (port < 0 || port > 65535)
		return -EINVAL;
	if (host[0] == '[') {
		size_t l = strlen(host);
		if (l < 2 || host[l - 1] != ']')
			return -EINVAL;
		host[l - 1] = '\0';
		return uv_ip6_addr(host + 1, port, (struct sockaddr_in6 *)ss);
	}
	return uv_ip4_addr(host[0] ? host : "0.0.0.0", port, (struct sockaddr_in *)ss);
}

/*
 * SO_REUSEPORT lets any process of the same user bind a port that is already
 * served, and the kernel would then split connections between two volumes.
 * So first bind once without it: if that fails, the address is taken.
 */
static int probe_address(const struct sockaddr_storage *ss, socklen_t len)
{
	int one = 1, rc = 0;
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (const struct sockaddr *)ss, len))
		rc = -errno;
	close(fd);
	return rc;
}

/* A listening socket on @p ss shared with the other loops. @return fd or -errno. */
static int listen_socket(struct sockaddr_storage *ss)
{
	socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						  : sizeof(struct sockaddr_in);
	int one = 1, rc;
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)ss, len) || listen(fd, 511)) {
		rc = -errno;
		close(fd);
		return rc;
	}
	/* The next loops bind the port this one got (port 0 picks one). */
	getsockname(fd, (struct sockaddr *)ss, &len);
	return fd;
}

static int loop_init(struct s3_server *s, struct s3_loop *lp, struct sockaddr_storage *ss)
{
	int fd, rc;

	lp->srv = s;
	rc = uv_loop_init(&lp->loop);
	if (rc)
		return rc;
	fd = listen_socket(ss);
	if (fd < 0) {
		uv_loop_close(&lp->loop);
		return fd;
	}
	uv_tcp_init(&lp->loop, &lp->listener);
	lp->listener.data = lp;
	rc = uv_tcp_open(&lp->listener, fd);
	if (!rc)
		rc = uv_listen((uv_stream_t *)&lp->listener, 511, s3_on_connection);
	if (rc) {
		uv_close((uv_handle_t *)&lp->listener, NULL);
		uv_run(&lp->loop, UV_RUN_DEFAULT);
		uv_loop_close(&lp->loop);
		return rc;
	}
	uv_async_init(&lp->loop, &lp->stop_async, on_stop);
	lp->stop_async.data = lp;
	uv_timer_init(&lp->loop, &lp->sweep);
	lp->sweep.data = lp;
	uv_timer_start(&lp->sweep, on_sweep, 1000, 1000);
	rc = uv_thread_create(&lp->thread, loop_thread, lp);
	if (rc) {
		uv_walk(&lp->loop, close_walk_cb, NULL);
		uv_run(&lp->loop, UV_RUN_DEFAULT);
		uv_loop_close(&lp->loop);
		return rc;
	}
	lp->running = true;
	return 0;
}

static void loops_stop(struct s3_server *s)
{
	for (unsigned i = 0; i < s->nloops; i++) {
		struct s3_loop *lp = &s->loops[i];
		if (!lp->running)
			continue;
		uv_async_send(&lp->stop_async);
		uv_thread_join(&lp->thread);
		uv_loop_close(&lp->loop);
		lp->running = false;
	}
}

const struct s3_auth *s3_req_auth(struct s3_conn *c)
{
	struct s3_server *s = c->srv;
	struct s3_req *r = &c->req;

	if (!r->auth_held) {
		uv_mutex_lock(&s->auth_lock);
		r->auth = s->auth;
		if (r->auth)
			r->auth->refs++;
		uv_mutex_unlock(&s->auth_lock);
		r->auth_held = true;
	}
	return r->auth;
}

void s3_auth_put(struct s3_server *s, struct s3_auth *a)
{
	unsigned left;

	if (!a)
		return;
	uv_mutex_lock(&s->auth_lock);
	left = --a->refs;
	uv_mutex_unlock(&s->auth_lock);
	if (!left)
		s3_auth_free(a);
}

void s3_server_sighup(struct s3_server *s)
{
	char why[PATH_MAX + 256];

	if (!s->auth_file) {
		tfs_warn("SIGHUP received: serving without authentication, no auth file to reload");
		return;
	}
	tfs_info("SIGHUP received: reloading the auth file %s", s->auth_file);
	s3_server_reload_auth(s, why, sizeof(why)); /* it logs either way */
}

int s3_server_reload_auth(struct s3_server *s, char *why, size_t whylen)
{
	struct s3_auth *a, *old;
	int rc;

	if (!s->auth_file) {
		snprintf(why, whylen,
			 "s3: this S3 server runs without authentication: no auth file to reload");
		return -EINVAL;
	}
	rc = s3_auth_load(s->auth_file, &a, why, whylen);
	if (rc) {
		tfs_err("s3: reloading the auth file %s failed; the credentials loaded before "
			"stay in force",
			s->auth_file);
		return rc;
	}
	uv_mutex_lock(&s->auth_lock);
	old = s->auth;
	s->auth = a;
	uv_mutex_unlock(&s->auth_lock);
	/* Requests that took the old table keep it until they end. */
	s3_auth_put(s, old);
	snprintf(why, whylen, "s3: auth file %s reloaded: %zu grants", s->auth_file, a->n);
	tfs_info("%s", why);
	return 0;
}

static int reload_hook(void *arg, char *why, size_t len)
{
	return s3_server_reload_auth(arg, why, len);
}

static void server_free(struct s3_server *s)
{
	s3_snapcache_fini(&s->snaps);
	s3_metrics_fini(&s->met);
	s3_auth_put(s, s->auth);
	uv_mutex_destroy(&s->auth_lock);
	free(s->auth_file);
	free(s->listen);
	free(s->region);
	free(s->vhost_domain);
	free(s);
}

static char *dup_or(const char *s, const char *def)
{
	return strdup(s ? s : def);
}

int s3_server_start(struct vol *v, const struct s3_config *cfg, struct s3_server **out)
{
	struct s3_server *s = calloc(1, sizeof(*s));
	struct sockaddr_storage ss = {0};
	int rc;

	if (!s)
		return -ENOMEM;
	s3_http_init();
	/* Writes finish on libuv's thread pool (http.c), shared by the loops:
	 * more than its default 4 threads, so that a few slow fsyncs do not
	 * queue every other write. Read once, at the pool's first use. */
	setenv("UV_THREADPOOL_SIZE", "16", 0);
	/* A client that goes away mid-response must not kill the process. */
	signal(SIGPIPE, SIG_IGN);

	rc = s3_snapcache_init(&s->snaps);
	if (rc) {
		free(s);
		return rc;
	}
	rc = s3_metrics_init(&s->met);
	if (rc) {
		s3_snapcache_fini(&s->snaps);
		free(s);
		return rc;
	}
	rc = uv_mutex_init(&s->auth_lock);
	if (rc) {
		s3_metrics_fini(&s->met);
		s3_snapcache_fini(&s->snaps);
		free(s);
		return rc;
	}
	s->v = v;
	s->cfg = *cfg;
	/* 32 random bits above a 32-bit count: ids do not repeat after a restart. */
	uint32_t boot = 0;
	if (getrandom(&boot, sizeof(boot), 0) != sizeof(boot))
		boot = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	s->reqid_base = (uint64_t)boot << 32;
	s->listen = dup_or(cfg->listen, "127.0.0.1:9000");
	s->region = dup_or(cfg->region, "us-east-1");
	s->vhost_domain = dup_or(cfg->vhost_domain, "localhost");
	if (!s->listen || !s->region || !s->vhost_domain) {
		rc = -ENOMEM;
		goto out_free;
	}
	s->cfg.listen = s->listen;
	s->cfg.region = s->region;
	s->cfg.vhost_domain = s->vhost_domain;
	s->cfg.auth_file = NULL;
	if (!s->cfg.idle_timeout_s)
		s->cfg.idle_timeout_s = 60;
	if (!s->cfg.header_timeout_s)
		s->cfg.header_timeout_s = 30;
	if (!s->cfg.body_timeout_s)
		s->cfg.body_timeout_s = 60;
	if (!s->cfg.upload_expiry_s)
		s->cfg.upload_expiry_s = 7 * 24 * 3600;
	s->nloops = cfg->threads ? cfg->threads : DEFAULT_LOOPS;
	if (s->nloops > S3_MAX_LOOPS)
		s->nloops = S3_MAX_LOOPS;
	if (!cfg->no_auth) {
		if (!cfg->auth_file) {
			tfs_err("s3: no auth file given; pass one (or turn authentication off "
				"explicitly for tests)");
			rc = -EINVAL;
			goto out_free;
		}
		s->auth_file = strdup(cfg->auth_file);
		if (!s->auth_file) {
			rc = -ENOMEM;
			goto out_free;
		}
		rc = s3_auth_load(cfg->auth_file, &s->auth, NULL, 0);
		if (rc)
			goto out_free;
	}
	rc = parse_listen(s->listen, &ss);
	if (rc) {
		tfs_err("s3: bad listen address '%s': expected HOST:PORT", s->listen);
		rc = -EINVAL;
		goto out_free;
	}
	rc = probe_address(&ss, ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							 : sizeof(struct sockaddr_in));
	if (rc < 0) {
		tfs_err("s3: cannot listen on %s: %s", s->listen, tfs_strerror(rc));
		goto out_free;
	}
	s->last_upload_sweep_ms = s3_now_ms();
	rc = s3_tmp_token_init();
	if (rc)
		goto out_free;
	s3_tmp_sweep_prepare(s);
	bool settled = s3_mpu_recover(s);
	s3_mpu_sweep(s);
	s3_public_note(s);
	for (unsigned i = 0; i < s->nloops; i++) {
		s->loops[i].idx = i;
		rc = loop_init(s, &s->loops[i], &ss);
		if (rc) {
			tfs_err("s3: cannot listen on %s: %s", s->listen, uv_strerror(rc));
			goto out_stop;
		}
	}
	s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						 : ((struct sockaddr_in *)&ss)->sin_port);
	rc = settled ? s3_tmp_sweep_start(s) : 0;
	if (rc)
		tfs_warn("s3: cannot start looking for left-over temporary files: %s",
			 uv_strerror(rc));
	if (!settled)
		tfs_warn("s3: an interrupted multipart completion could not be undone yet; "
			 "left-over temporary files are kept until a later start");
	vol_control_set_reload(v, reload_hook, s); /* `trackfs s3 reload` */
	tfs_info("s3: serving S3 on %s (port %d, region %s, %u threads%s)", s->listen, s->port,
		 s->region, s->nloops, cfg->no_auth ? ", NO AUTHENTICATION" : "");
	*out = s;
	return 0;

out_stop:
	loops_stop(s);
out_free:
	server_free(s);
	return rc;
}

int s3_server_port(const struct s3_server *s)
{
	return s->port;
}

void s3_server_stop(struct s3_server *s)
{
	if (!s)
		return;
	vol_control_set_reload(s->v, NULL, NULL);
	s3_tmp_sweep_stop(s);
	loops_stop(s);
	vol_note_set(s->v, "S3", NULL);
	server_free(s);
}
