/* The sidecar's HTTP/1.1 connections: reading, http_parser callbacks,
 * keep-alive and pipelining (the parser pauses while a response is out),
 * Expect: 100-continue, chunked bodies (handed to te_chunked.c, strict where
 * http_parser is lax), refusing at the headers without reading a large body,
 * the header size limit, and closing. */
#include <errno.h>
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/base/log.h"
#include "fs/s3/s3_int.h"

#define HEADER_LIMIT (64 * 1024)
#define MAX_HEADERS 200
#define READ_BUF (64 * 1024)
/* A request refused at its headers whose body is larger (or chunked) is
 * answered at once and the connection closed, instead of reading the body. */
#define REFUSED_BODY_READ_MAX (64 * 1024)
/* After a response with Connection: close, input is drained up to this much
 * (so that the response is not destroyed by a reset), then the socket closed. */
#define LINGER_DRAIN_MAX (1024 * 1024)

static http_parser_settings settings;
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* ---- request bookkeeping ----------------------------------------------------------- */

void s3_req_reset(struct s3_conn *c)
{
	struct s3_req *r = &c->req;

	if (r->h && r->h->cleanup)
		r->h->cleanup(c);
	s3_body_fini(c);
	s3_sb_free(&r->url);
	for (size_t i = 0; i < r->nhdrs; i++) {
		free(r->hdrs[i].name);
		free(r->hdrs[i].value);
	}
	free(r->hdrs);
	for (size_t i = 0; i < r->nq; i++) {
		free(r->q[i].name);
		free(r->q[i].value);
	}
	free(r->q);
	free(r->path_raw);
	free(r->query_raw);
	free(r->bucket);
	free(r->key);
	free(r->err_msg);
	s3_sb_free(&r->body);
	if (r->auth_held)
		s3_auth_put(c->srv, r->auth);
	memset(r, 0, sizeof(*r));
	r->decoded_len = -1;
	if (c->stream) {
		vol_forget(c->srv->v, c->stream_ino, 1);
		c->stream = false;
	}
	c->sent_continue = c->body_discard = c->resp_done = c->te_active = false;
}

const char *s3_hdr(const struct s3_req *r, const char *name)
{
	for (size_t i = 0; i < r->nhdrs; i++)
		if (!strcmp(r->hdrs[i].name, name))
			return r->hdrs[i].value;
	return NULL;
}

const char *s3_qparam(const struct s3_req *r, const char *name)
{
	for (size_t i = 0; i < r->nq; i++)
		if (!strcmp(r->q[i].name, name))
			return r->q[i].value;
	return NULL;
}

bool s3_qhas(const struct s3_req *r, const char *name)
{
	return s3_qparam(r, name) != NULL;
}

void s3_req_errmsg(struct s3_conn *c, const char *fmt, ...)
{
	va_list ap;
	char *m = NULL;

	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	free(c->req.err_msg);
	c->req.err_msg = m;
}

/* ---- parsing ------------------------------------------------------------------------- */

static struct s3_conn *conn_of(http_parser *p)
{
	return p->data;
}

static int add_bytes(struct s3_conn *c, size_t len)
{
	c->req.header_bytes += len;
	if (c->req.header_bytes > HEADER_LIMIT) {
		c->req.err = -S3E_HEADERS_TOO_LARGE;
		return -1;
	}
	return 0;
}

static int on_message_begin(http_parser *p)
{
	struct s3_conn *c = conn_of(p);

	s3_req_reset(c);
	c->req.t0_ms = s3_now_ms();
	c->phase = S3_C_HEADERS;
	c->phase_ms = c->req.t0_ms;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct s3_conn *c = conn_of(p);

	if (add_bytes(c, len))
		return -1;
	s3_sb_add(&c->req.url, at, len);
	return c->req.url.oom ? -1 : 0;
}

static int append(char **s, const char *at, size_t len)
{
	size_t old = *s ? strlen(*s) : 0;
	char *n = realloc(*s, old + len + 1);

	if (!n)
		return -1;
	memcpy(n + old, at, len);
	n[old + len] = '\0';
	*s = n;
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct s3_conn *c = conn_of(p);
	struct s3_req *r = &c->req;

	if (add_bytes(c, len))
		return -1;
	if (r->nhdrs == 0 || r->last_was_value) {
		if (r->nhdrs == MAX_HEADERS) {
			r->err = -S3E_HEADERS_TOO_LARGE;
			return -1;
		}
		if (r->nhdrs == r->hcap) {
			size_t cap = r->hcap ? r->hcap * 2 : 16;
			struct s3_kv *h = realloc(r->hdrs, cap * sizeof(*h));
			if (!h)
				return -1;
			r->hdrs = h;
			r->hcap = cap;
		}
		r->hdrs[r->nhdrs].name = NULL;
		r->hdrs[r->nhdrs].value = NULL;
		r->nhdrs++;
		r->last_was_value = false;
	}
	return append(&r->hdrs[r->nhdrs - 1].name, at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct s3_conn *c = conn_of(p);
	struct s3_req *r = &c->req;

	if (add_bytes(c, len))
		return -1;
	r->last_was_value = true;
	if (!r->nhdrs)
		return -1;
	return append(&r->hdrs[r->nhdrs - 1].value, at, len);
}

/* Transfer-Encoding: exactly "chunked" (decoded by te_chunked.c) or none.
 * @return 0, -S3E_BAD_REQUEST, -S3E_NOT_IMPLEMENTED. */
static int check_transfer_encoding(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	const char *te = NULL;
	unsigned n = 0;

	for (size_t i = 0; i < r->nhdrs; i++)
		if (!strcmp(r->hdrs[i].name, "transfer-encoding")) {
			te = r->hdrs[i].value;
			n++;
		}
	if (!n)
		return 0;
	if (s3_hdr(r, "content-length")) {
		s3_req_errmsg(c, "Transfer-Encoding and Content-Length together make the body's "
				 "length ambiguous: send one of them");
		return -S3E_BAD_REQUEST;
	}
	te += strspn(te, " \t");
	if (n > 1 || strncasecmp(te, "chunked", 7) || te[7 + strspn(te + 7, " \t")]) {
		s3_req_errmsg(c,
			      "Transfer-Encoding '%s'%s is not supported: only 'chunked' alone is",
			      te, n > 1 ? " (in several headers)" : "");
		return -S3E_NOT_IMPLEMENTED;
	}
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct s3_conn *c = conn_of(p);
	struct s3_req *r = &c->req;
	const char *expect;
	bool chunked;
	int rc;

	for (size_t i = 0; i < r->nhdrs; i++) {
		if (!r->hdrs[i].value && append(&r->hdrs[i].value, "", 0))
			return -1;
		for (char *s = r->hdrs[i].name; s && *s; s++)
			if (*s >= 'A' && *s <= 'Z')
				*s = (char)(*s - 'A' + 'a');
	}
	r->method = http_method_str((enum http_method)p->method);
	r->head = p->method == HTTP_HEAD;
	c->keep_alive = http_should_keep_alive(p);
	c->phase = S3_C_BODY;
	c->phase_ms = c->activity_ms;

	chunked = p->flags & F_CHUNKED;
	rc = check_transfer_encoding(c);
	if (!rc)
		rc = s3_route(c);
	if (!rc && r->h && r->h->start)
		rc = r->h->start(c);
	if (!rc)
		rc = s3_body_begin(c);
	expect = s3_hdr(r, "expect");
	if (rc) {
		r->err = rc;
		c->body_discard = true;
		if ((expect && !strcasecmp(expect, "100-continue")) || chunked ||
		    p->uses_transfer_encoding ||
		    (p->content_length != ULLONG_MAX &&
		     p->content_length > REFUSED_BODY_READ_MAX)) {
			/* The client waits for our word before it sends the body,
			 * or the body is large (or of unknown length): answer now,
			 * without reading it, and close. */
			c->want_close = true;
			http_parser_pause(p, 1);
		}
		return 0;
	}
	if (expect && !strcasecmp(expect, "100-continue")) {
		char *m = strdup("HTTP/1.1 100 Continue\r\n\r\n");
		if (!m || s3_conn_write(c, m, strlen("HTTP/1.1 100 Continue\r\n\r\n")))
			return -1;
		c->req.bytes_out = 0;
		c->sent_continue = true;
	}
	if (chunked) {
		/* The parser skips the body (1 = F_SKIPBODY) and pauses at the
		 * message's end; te_feed reads the body from there. */
		s3_te_init(&c->te);
		c->te_active = true;
		return 1;
	}
	return 0;
}

static int body_data(void *arg, const char *at, size_t len)
{
	struct s3_conn *c = arg;
	int rc;

	if (c->body_discard)
		return 0;
	rc = s3_body_feed(c, at, len);
	if (rc) {
		c->req.err = rc;
		c->body_discard = true;
	}
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	return body_data(conn_of(p), at, len);
}

static void done_work(uv_work_t *w)
{
	struct s3_conn *c = w->data;

	c->req.h->done(c);
}

static void done_after(uv_work_t *w, int status)
{
	(void)status;
	s3_conn_work_done(w->data);
}

static void respond(struct s3_conn *c)
{
	struct s3_req *r = &c->req;

	c->phase = S3_C_RESPONDING;
	c->phase_ms = s3_now_ms();
	if (r->err) {
		s3_resp_error(c, r->err);
	} else if (r->h && r->h->done && r->h->write && !c->srv->cfg.inline_writes) {
		/* A write ends with an fsync and index commits: off the loop, so
		 * that the loop's other connections go on meanwhile. */
		c->work.data = c;
		c->in_work = true;
		if (uv_queue_work(&c->lp->loop, &c->work, done_work, done_after) < 0) {
			c->in_work = false;
			r->h->done(c);
		}
	} else if (r->h && r->h->done) {
		r->h->done(c);
	} else {
		s3_resp_start(c, 200);
		s3_resp_finish(c, "", 0);
	}
}

/* The body is in: verify it, answer. */
static void finish_message(struct s3_conn *c)
{
	int rc;

	if (!c->req.err && !c->body_discard) {
		rc = s3_body_end(c);
		if (rc)
			c->req.err = rc;
	}
	respond(c);
}

static int on_message_complete(http_parser *p)
{
	struct s3_conn *c = conn_of(p);

	/* One request at a time: the parser waits until the response is out. */
	http_parser_pause(p, 1);
	if (c->want_close || c->te_active)
		return 0; /* answered already, or the chunked body is still to come */
	finish_message(c);
	return 0;
}

/* Raw bytes of a chunked body (and whatever follows it). */
static void te_feed(struct s3_conn *c, const char *data, size_t len)
{
	ssize_t n = s3_te_feed(&c->te, data, len, body_data, c);

	if (n < 0) {
		/* The framing is lost, and with it the next request's start. */
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->te_active = false;
		c->want_close = true;
		c->req.err = (int)n;
		s3_req_errmsg(c, "Malformed chunked request body (Transfer-Encoding: chunked): %s",
			      c->te.why ? c->te.why : "bad framing");
		respond(c);
		return;
	}
	if (!s3_te_done(&c->te))
		return;
	c->te_active = false;
	uv_read_stop((uv_stream_t *)&c->tcp);
	if ((size_t)n < len) {
		/* The next pipelined request: parsed once this one is answered. */
		char *m = realloc(c->pending, c->npending + len - (size_t)n);
		if (!m) {
			s3_conn_close(c);
			return;
		}
		memcpy(m + c->npending, data + n, len - (size_t)n);
		c->pending = m;
		c->npending += len - (size_t)n;
	}
	finish_message(c);
}

void s3_conn_feed(struct s3_conn *c, const char *data, size_t len)
{
	size_t n;
	enum http_errno e;

	if (c->te_active) {
		te_feed(c, data, len);
		return;
	}
	n = http_parser_execute(&c->parser, &settings, data, len);
	e = HTTP_PARSER_ERRNO(&c->parser);
	if (c->closing)
		return;
	if (e == HPE_PAUSED && c->te_active) {
		te_feed(c, data + n, len - n);
		return;
	}
	if (e == HPE_PAUSED) {
		if (c->want_close && c->phase != S3_C_RESPONDING) {
			/* Expect: 100-continue refused at the headers. */
			uv_read_stop((uv_stream_t *)&c->tcp);
			respond(c);
			return;
		}
		if (n < len) {
			char *m = realloc(c->pending, c->npending + len - n);
			if (!m) {
				s3_conn_close(c);
				return;
			}
			memcpy(m + c->npending, data + n, len - n);
			c->pending = m;
			c->npending += len - n;
		}
		uv_read_stop((uv_stream_t *)&c->tcp);
		return;
	}
	if (e != HPE_OK) {
		/* Malformed HTTP: answer once if we can, then close, since the
		 * stream cannot be resynchronized. */
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->want_close = true;
		if (c->phase == S3_C_RESPONDING)
			return;
		if (!c->req.err && e == HPE_HEADER_OVERFLOW) {
			/* http_parser's own limit can trip before ours when a large
			 * header block arrives in one read. */
			c->req.err = -S3E_HEADERS_TOO_LARGE;
		} else if (!c->req.err) {
			c->req.err = -S3E_BAD_REQUEST;
			s3_req_errmsg(c, "Malformed HTTP request: %s", http_errno_description(e));
		}
		respond(c);
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static __thread char rbuf[READ_BUF];

	/* Reads are parsed synchronously in on_read, so one buffer per thread serves
	 * every connection. */
	buf->base = rbuf;
	buf->len = sizeof(rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct s3_conn *c = s->data;

	if (nread == 0)
		return;
	if (c->phase == S3_C_LINGER) {
		/* Draining after the last response: discard, close at EOF or
		 * once a refused body has been drained long enough. */
		if (nread > 0)
			c->linger_bytes += (uint64_t)nread;
		if (nread < 0 || c->linger_bytes > LINGER_DRAIN_MAX)
			s3_conn_close(c);
		return;
	}
	if (nread < 0) {
		if (c->phase == S3_C_BODY || c->phase == S3_C_HEADERS)
			tfs_info("s3: client went away in the middle of %s %s",
				 c->req.method ? c->req.method : "a request",
				 c->req.url.p ? c->req.url.p : "");
		s3_conn_close(c);
		return;
	}
	c->activity_ms = s3_now_ms();
	s3_conn_feed(c, buf->base, (size_t)nread);
}

/* ---- connections and the server ---------------------------------------------------- */

static void on_conn_closed(uv_handle_t *h)
{
	struct s3_conn *c = h->data;

	free(c);
}

void s3_conn_close(struct s3_conn *c)
{
	struct s3_loop *lp = c->lp;

	if (c->in_work) {
		/* done() runs on the thread pool: close once it returns. */
		atomic_store(&c->close_after_work, true);
		return;
	}
	if (c->closing)
		return;
	c->closing = true;
	s3_req_reset(c);
	free(c->pending);
	c->pending = NULL;
	s3_sb_free(&c->head);
	if (c->prev)
		c->prev->next = c->next;
	else
		lp->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	lp->nconns--;
	atomic_fetch_sub(&c->srv->nconns, 1);
	uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

void s3_on_connection(uv_stream_t *l, int status)
{
	struct s3_loop *lp = l->data;
	struct s3_conn *c;

	if (status < 0) {
		tfs_warn("s3: accept failed: %s", uv_strerror(status));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		tfs_err("s3: out of memory accepting a connection");
		return;
	}
	c->srv = lp->srv;
	c->lp = lp;
	c->req.decoded_len = -1;
	uv_tcp_init(&lp->loop, &c->tcp);
	c->tcp.data = c;
	if (uv_accept(l, (uv_stream_t *)&c->tcp) < 0) {
		uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	c->phase = S3_C_IDLE;
	c->phase_ms = c->activity_ms = s3_now_ms();
	c->next = lp->conns;
	if (lp->conns)
		lp->conns->prev = c;
	lp->conns = c;
	lp->nconns++;
	atomic_fetch_add(&c->srv->nconns, 1);
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct s3_conn *c = req->data;

	if (status < 0 && !c->closing)
		s3_conn_close(c);
}

/*
 * Close after a response when the client may still be sending (an oversize
 * header, a refused body): closing at once with unread input makes the kernel
 * send a reset, which can destroy the response before the client reads it.
 * So send FIN first and drain what arrives until the client closes, or until
 * the sweep gives up after a couple of seconds.
 */
void s3_conn_peer(struct s3_conn *c)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	char ip[INET6_ADDRSTRLEN] = "";

	snprintf(c->peer, sizeof(c->peer), "-");
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
		uv_ip4_name(a, ip, sizeof(ip));
		snprintf(c->peer, sizeof(c->peer), "%s:%u", ip, ntohs(a->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
		uv_ip6_name(a, ip, sizeof(ip));
		snprintf(c->peer, sizeof(c->peer), "[%s]:%u", ip, ntohs(a->sin6_port));
	}
}

void s3_conn_linger(struct s3_conn *c)
{
	if (c->closing)
		return;
	c->phase = S3_C_LINGER;
	c->phase_ms = s3_now_ms();
	c->linger_bytes = 0;
	c->shutdown.data = c;
	if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
		s3_conn_close(c);
		return;
	}
	s3_conn_read_start(c);
}

void s3_conn_read_start(struct s3_conn *c)
{
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

void s3_http_init(void)
{
	settings.on_message_begin = on_message_begin;
	settings.on_url = on_url;
	settings.on_header_field = on_header_field;
	settings.on_header_value = on_header_value;
	settings.on_headers_complete = on_headers_complete;
	settings.on_body = on_body;
	settings.on_message_complete = on_message_complete;
}
