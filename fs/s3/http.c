/* The sidecar's HTTP/1.1 server: a libuv TCP listener on its own loop and
 * thread, http_parser callbacks, keep-alive, Expect: 100-continue, a header
 * size limit, timeouts for idle and slow clients, and responses (in memory,
 * or streamed from a file with at most two pieces in flight). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/base/log.h"
#include "fs/s3/s3_int.h"

#define HEADER_LIMIT (64 * 1024)
#define MAX_HEADERS 200
#define STREAM_PIECE (1024 * 1024)
#define STREAM_INFLIGHT 2
#define READ_BUF (64 * 1024)

struct wreq {
	uv_write_t w;
	struct s3_conn *c;
	char *mem;
};

static http_parser_settings settings;
static void conn_close(struct s3_conn *c);
static void conn_feed(struct s3_conn *c, const char *data, size_t len);
static void stream_next(struct s3_conn *c);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* ---- request bookkeeping ----------------------------------------------------------- */

static void req_reset(struct s3_conn *c)
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
	memset(r, 0, sizeof(*r));
	r->decoded_len = -1;
	if (c->stream) {
		vol_forget(c->srv->v, c->stream_ino, 1);
		c->stream = false;
	}
	c->sent_continue = c->body_discard = c->resp_done = false;
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

/* ---- writing ------------------------------------------------------------------------- */

static void response_complete(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	const char *q = strchr(r->url.p ? r->url.p : "", '?');
	int path_len = r->url.p ? (int)(q ? (size_t)(q - r->url.p) : r->url.len) : 0;

	tfs_info("s3: %s %.*s %s %d %llu %llums", r->method ? r->method : "-", path_len,
		 r->url.p ? r->url.p : "", r->h ? r->h->name : "-", r->status,
		 (unsigned long long)r->bytes_out,
		 (unsigned long long)(r->t0_ms ? s3_now_ms() - r->t0_ms : 0));
	req_reset(c);
	c->phase = S3_C_IDLE;
	c->phase_ms = c->activity_ms = s3_now_ms();
	if (!c->keep_alive || c->want_close) {
		conn_close(c);
		return;
	}
	http_parser_pause(&c->parser, 0);
	if (c->npending) {
		char *p = c->pending;
		size_t n = c->npending;
		c->pending = NULL;
		c->npending = 0;
		conn_feed(c, p, n);
		free(p);
		if (c->closing || c->phase == S3_C_RESPONDING)
			return;
	}
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_write(uv_write_t *w, int status)
{
	struct wreq *wr = (struct wreq *)w;
	struct s3_conn *c = wr->c;

	free(wr->mem);
	free(wr);
	c->writes--;
	if (c->closing)
		return;
	if (status < 0) {
		tfs_debug("s3: write to client failed: %s", uv_strerror(status));
		conn_close(c);
		return;
	}
	c->activity_ms = s3_now_ms();
	if (c->stream)
		stream_next(c);
	if (c->resp_done && c->writes == 0)
		response_complete(c);
}

/* Queue @p mem (taken over, freed after the write). */
static int write_mem(struct s3_conn *c, char *mem, size_t len)
{
	struct wreq *wr = malloc(sizeof(*wr));
	uv_buf_t b = uv_buf_init(mem, (unsigned)len);
	int rc;

	if (!wr) {
		free(mem);
		return -ENOMEM;
	}
	wr->c = c;
	wr->mem = mem;
	rc = uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, on_write);
	if (rc < 0) {
		free(mem);
		free(wr);
		return rc;
	}
	c->writes++;
	c->req.bytes_out += len;
	return 0;
}

static const char *reason(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 206:
		return "Partial Content";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 412:
		return "Precondition Failed";
	case 416:
		return "Range Not Satisfiable";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 507:
		return "Insufficient Storage";
	default:
		return "Unknown";
	}
}

void s3_resp_start(struct s3_conn *c, int status)
{
	char date[64];

	s3_sb_reset(&c->head);
	c->req.status = status;
	s3_fmt_http_date(time(NULL), date, sizeof(date));
	s3_sb_printf(&c->head,
		     "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: trackfs-s3\r\n"
		     "x-amz-request-id: %016llX\r\n",
		     status, reason(status), date, (unsigned long long)++c->srv->reqno);
	if (!c->keep_alive || c->want_close)
		s3_sb_puts(&c->head, "Connection: close\r\n");
}

void s3_resp_hdr(struct s3_conn *c, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *v = NULL;

	va_start(ap, fmt);
	if (vasprintf(&v, fmt, ap) < 0) {
		va_end(ap);
		c->head.oom = true;
		return;
	}
	va_end(ap);
	/* A value must not break the header block: drop CR and LF. */
	for (char *p = v; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	s3_sb_printf(&c->head, "%s: %s\r\n", name, v);
	free(v);
}

static void resp_fail(struct s3_conn *c, int rc)
{
	tfs_err("s3: cannot send a response: %s; closing the connection", tfs_strerror(rc));
	conn_close(c);
}

void s3_resp_finish(struct s3_conn *c, const void *body, size_t len)
{
	int st = c->req.status;
	bool send_body = body && !c->req.head && st != 204 && st != 304;
	char *mem;
	size_t hl;
	int rc;

	if (st != 204 && st != 304)
		s3_sb_printf(&c->head, "Content-Length: %zu\r\n", len);
	s3_sb_puts(&c->head, "\r\n");
	if (c->head.oom) {
		resp_fail(c, -ENOMEM);
		return;
	}
	hl = c->head.len;
	mem = malloc(hl + (send_body ? len : 0) + 1);
	if (!mem) {
		resp_fail(c, -ENOMEM);
		return;
	}
	memcpy(mem, c->head.p, hl);
	if (send_body)
		memcpy(mem + hl, body, len);
	c->resp_done = true;
	rc = write_mem(c, mem, hl + (send_body ? len : 0));
	if (rc)
		resp_fail(c, rc);
}

void s3_resp_stream(struct s3_conn *c, uint64_t ino, uint64_t off, uint64_t len)
{
	char *mem;
	int rc;

	s3_sb_printf(&c->head, "Content-Length: %llu\r\n\r\n", (unsigned long long)len);
	if (c->head.oom || !(mem = strdup(c->head.p))) {
		vol_forget(c->srv->v, ino, 1);
		resp_fail(c, -ENOMEM);
		return;
	}
	if (c->req.head || len == 0) {
		vol_forget(c->srv->v, ino, 1);
		c->resp_done = true;
	} else {
		c->stream = true;
		c->stream_ino = ino;
		c->stream_off = off;
		c->stream_left = len;
	}
	rc = write_mem(c, mem, c->head.len);
	if (rc) {
		resp_fail(c, rc);
		return;
	}
	if (c->stream)
		stream_next(c);
}

/* Read the next pieces of a streamed body while fewer than two writes are in
 * flight: memory stays at a few MiB per connection however large the file. */
static void stream_next(struct s3_conn *c)
{
	while (c->stream && c->writes < STREAM_INFLIGHT && c->stream_left) {
		size_t n = c->stream_left < STREAM_PIECE ? (size_t)c->stream_left : STREAM_PIECE;
		char *buf = malloc(n);
		int rc;

		if (!buf) {
			resp_fail(c, -ENOMEM);
			return;
		}
		rc = s3_read_full(c->srv->v, c->stream_ino, buf, n, c->stream_off);
		if (rc) {
			/* The headers are out: all we can do is cut the body short so
			 * the client sees a truncated response, never wrong bytes. */
			tfs_err("s3: reading inode %llu at %llu for %s failed: %s; closing the "
				"connection",
				(unsigned long long)c->stream_ino,
				(unsigned long long)c->stream_off, c->req.url.p, tfs_strerror(rc));
			free(buf);
			conn_close(c);
			return;
		}
		c->stream_off += n;
		c->stream_left -= n;
		rc = write_mem(c, buf, n);
		if (rc) {
			resp_fail(c, rc);
			return;
		}
	}
	if (c->stream && !c->stream_left) {
		vol_forget(c->srv->v, c->stream_ino, 1);
		c->stream = false;
		c->resp_done = true;
	}
}

void s3_resp_error(struct s3_conn *c, int err)
{
	const struct s3_errinfo *e = s3_err_info(err);
	struct s3_req *r = &c->req;
	struct s3_sbuf b = {0};

	if (e->status >= 500)
		tfs_warn("s3: %s %s: %s (%s)", r->method, r->url.p ? r->url.p : "", e->code,
			 r->err_msg ? r->err_msg : e->message);
	s3_resp_start(c, e->status);
	if (e->status == 304) {
		s3_resp_finish(c, NULL, 0);
		return;
	}
	s3_resp_hdr(c, "Content-Type", "application/xml");
	s3_sb_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>");
	s3_xml_text(&b, "Code", e->code);
	s3_xml_text(&b, "Message", r->err_msg ? r->err_msg : e->message);
	if (r->bucket) {
		s3_sb_puts(&b, "<BucketName>");
		s3_xml_escape(&b, r->bucket, strlen(r->bucket));
		s3_sb_puts(&b, "</BucketName>");
	}
	if (r->key && *r->key)
		s3_xml_text(&b, "Key", r->key);
	s3_sb_printf(&b, "<RequestId>%016llX</RequestId></Error>",
		     (unsigned long long)c->srv->reqno);
	if (b.oom) {
		s3_sb_free(&b);
		resp_fail(c, -ENOMEM);
		return;
	}
	s3_resp_finish(c, b.p, b.len);
	s3_sb_free(&b);
}

void s3_resp_xml(struct s3_conn *c, struct s3_sbuf *xml)
{
	if (xml->oom) {
		s3_sb_free(xml);
		s3_resp_error(c, -ENOMEM);
		return;
	}
	s3_resp_start(c, 200);
	s3_resp_hdr(c, "Content-Type", "application/xml");
	s3_resp_finish(c, xml->p, xml->len);
	s3_sb_free(xml);
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

	req_reset(c);
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

static int on_headers_complete(http_parser *p)
{
	struct s3_conn *c = conn_of(p);
	struct s3_req *r = &c->req;
	const char *expect;
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

	rc = s3_route(c);
	if (!rc && r->h && r->h->start)
		rc = r->h->start(c);
	if (!rc)
		rc = s3_body_begin(c);
	expect = s3_hdr(r, "expect");
	if (rc) {
		r->err = rc;
		c->body_discard = true;
		if (expect && !strcasecmp(expect, "100-continue")) {
			/* The client waits for our word before it sends the body:
			 * answer now, and close since the body will not come. */
			c->want_close = true;
			http_parser_pause(p, 1);
		}
		return 0;
	}
	if (expect && !strcasecmp(expect, "100-continue")) {
		char *m = strdup("HTTP/1.1 100 Continue\r\n\r\n");
		if (!m || write_mem(c, m, strlen("HTTP/1.1 100 Continue\r\n\r\n")))
			return -1;
		c->req.bytes_out = 0;
		c->sent_continue = true;
	}
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct s3_conn *c = conn_of(p);
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

static void respond(struct s3_conn *c)
{
	struct s3_req *r = &c->req;

	c->phase = S3_C_RESPONDING;
	c->phase_ms = s3_now_ms();
	if (r->err) {
		s3_resp_error(c, r->err);
	} else if (r->h && r->h->done) {
		r->h->done(c);
	} else {
		s3_resp_start(c, 200);
		s3_resp_finish(c, "", 0);
	}
}

static int on_message_complete(http_parser *p)
{
	struct s3_conn *c = conn_of(p);
	int rc;

	/* One request at a time: the parser waits until the response is out. */
	http_parser_pause(p, 1);
	if (c->want_close)
		return 0; /* answered already */
	if (!c->req.err && !c->body_discard) {
		rc = s3_body_end(c);
		if (rc)
			c->req.err = rc;
	}
	respond(c);
	return 0;
}

static void conn_feed(struct s3_conn *c, const char *data, size_t len)
{
	size_t n = http_parser_execute(&c->parser, &settings, data, len);
	enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);

	if (c->closing)
		return;
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
				conn_close(c);
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
		if (!c->req.err) {
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
	if (nread < 0) {
		if (c->phase == S3_C_BODY || c->phase == S3_C_HEADERS)
			tfs_info("s3: client went away in the middle of %s %s",
				 c->req.method ? c->req.method : "a request",
				 c->req.url.p ? c->req.url.p : "");
		conn_close(c);
		return;
	}
	c->activity_ms = s3_now_ms();
	conn_feed(c, buf->base, (size_t)nread);
}

/* ---- connections and the server ---------------------------------------------------- */

static void on_conn_closed(uv_handle_t *h)
{
	struct s3_conn *c = h->data;

	free(c);
}

static void conn_close(struct s3_conn *c)
{
	struct s3_server *s = c->srv;

	if (c->closing)
		return;
	c->closing = true;
	req_reset(c);
	free(c->pending);
	c->pending = NULL;
	s3_sb_free(&c->head);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_connection(uv_stream_t *l, int status)
{
	struct s3_server *s = l->data;
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
	c->srv = s;
	c->req.decoded_len = -1;
	uv_tcp_init(&s->loop, &c->tcp);
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
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_sweep(uv_timer_t *t)
{
	struct s3_server *s = t->data;
	uint64_t now = s3_now_ms();
	struct s3_conn *c = s->conns, *next;

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
		}
		if (now - since > limit_ms) {
			tfs_info("s3: closing a connection that was silent for %llu s",
				 (unsigned long long)((now - since) / 1000));
			conn_close(c);
		}
	}
	if (now - s->last_upload_sweep_ms > 3600 * 1000ull) {
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
	struct s3_server *s = a->data;

	while (s->conns)
		conn_close(s->conns);
	uv_walk(&s->loop, close_walk_cb, NULL);
}

static void loop_thread(void *arg)
{
	struct s3_server *s = arg;

	uv_run(&s->loop, UV_RUN_DEFAULT);
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

static char *dup_or(const char *s, const char *def)
{
	return strdup(s ? s : def);
}

int s3_server_start(struct vol *v, const struct s3_config *cfg, struct s3_server **out)
{
	struct s3_server *s = calloc(1, sizeof(*s));
	struct sockaddr_storage ss = {0};
	struct sockaddr_storage bound;
	int len = sizeof(bound);
	int rc;

	if (!s)
		return -ENOMEM;
	settings.on_message_begin = on_message_begin;
	settings.on_url = on_url;
	settings.on_header_field = on_header_field;
	settings.on_header_value = on_header_value;
	settings.on_headers_complete = on_headers_complete;
	settings.on_body = on_body;
	settings.on_message_complete = on_message_complete;

	s->v = v;
	s->cfg = *cfg;
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
	if (!cfg->no_auth) {
		if (!cfg->auth_file) {
			tfs_err("s3: no auth file given; pass one (or turn authentication off "
				"explicitly for tests)");
			rc = -EINVAL;
			goto out_free;
		}
		rc = s3_auth_load(cfg->auth_file, &s->auth);
		if (rc)
			goto out_free;
	}
	rc = parse_listen(s->listen, &ss);
	if (rc) {
		tfs_err("s3: bad listen address '%s': expected HOST:PORT", s->listen);
		rc = -EINVAL;
		goto out_auth;
	}
	rc = uv_loop_init(&s->loop);
	if (rc)
		goto out_auth;
	uv_tcp_init(&s->loop, &s->listener);
	s->listener.data = s;
	rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0);
	if (!rc)
		rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection);
	if (rc) {
		tfs_err("s3: cannot listen on %s: %s", s->listen, uv_strerror(rc));
		goto out_loop;
	}
	uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &len);
	s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
						    : ((struct sockaddr_in *)&bound)->sin_port);
	uv_async_init(&s->loop, &s->stop_async, on_stop);
	s->stop_async.data = s;
	uv_timer_init(&s->loop, &s->sweep);
	s->sweep.data = s;
	uv_timer_start(&s->sweep, on_sweep, 1000, 1000);
	s->last_upload_sweep_ms = s3_now_ms();
	s3_mpu_sweep(s);
	rc = uv_thread_create(&s->thread, loop_thread, s);
	if (rc)
		goto out_loop;
	tfs_info("s3: serving S3 on %s (port %d, region %s%s)", s->listen, s->port, s->region,
		 cfg->no_auth ? ", NO AUTHENTICATION" : "");
	*out = s;
	return 0;

out_loop:
	uv_walk(&s->loop, close_walk_cb, NULL);
	uv_run(&s->loop, UV_RUN_DEFAULT);
	uv_loop_close(&s->loop);
out_auth:
	s3_auth_free(s->auth);
out_free:
	free(s->listen);
	free(s->region);
	free(s->vhost_domain);
	free(s);
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
	uv_async_send(&s->stop_async);
	uv_thread_join(&s->thread);
	uv_loop_close(&s->loop);
	s3_auth_free(s->auth);
	free(s->listen);
	free(s->region);
	free(s->vhost_domain);
	free(s);
}
