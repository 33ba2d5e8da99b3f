/* Responses: status line and headers, bodies from memory, bodies streamed
 * from a file piece by piece with at most two writes in flight (so a 10 GiB
 * GET holds a few MiB), S3 XML errors, and what happens once a response is
 * out (the access log line, then the next pipelined request or a close). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/base/log.h"
#include "fs/s3/s3_int.h"

#define STREAM_PIECE (1024 * 1024)
#define STREAM_INFLIGHT 2

struct wreq {
	uv_write_t w;
	struct s3_conn *c;
	char *mem;
};

static void stream_next(struct s3_conn *c);

static void response_complete(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	const char *q = strchr(r->url.p ? r->url.p : "", '?');
	int path_len = r->url.p ? (int)(q ? (size_t)(q - r->url.p) : r->url.len) : 0;

	if (!c->peer[0])
		s3_conn_peer(c);
	/* The access log line (README "S3 access log"): client, access key,
	 * request id, operation, bucket/key, status, bytes in and out,
	 * duration, then the request line's method and path. */
	tfs_info("s3: access %s %s %016llX %s %s%s%s %d %llu %llu %llums \"%s %.*s\"", c->peer,
		 r->id.access_key ? r->id.access_key : "-", (unsigned long long)r->reqid,
		 r->h ? r->h->name : "-", r->bucket ? r->bucket : "-", r->key && *r->key ? "/" : "",
		 r->key && *r->key ? r->key : "", r->status, (unsigned long long)r->body_bytes,
		 (unsigned long long)r->bytes_out,
		 (unsigned long long)(r->t0_ms ? s3_now_ms() - r->t0_ms : 0),
		 r->method ? r->method : "-", path_len, r->url.p ? r->url.p : "");
	s3_metrics_note(c);
	s3_req_reset(c);
	c->phase = S3_C_IDLE;
	c->phase_ms = c->activity_ms = s3_now_ms();
	if (!c->keep_alive || c->want_close) {
		s3_conn_linger(c);
		return;
	}
	http_parser_pause(&c->parser, 0);
	if (c->npending) {
		char *p = c->pending;
		size_t n = c->npending;
		c->pending = NULL;
		c->npending = 0;
		s3_conn_feed(c, p, n);
		free(p);
		if (c->closing || c->phase == S3_C_RESPONDING)
			return;
	}
	s3_conn_read_start(c);
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
		s3_conn_close(c);
		return;
	}
	c->activity_ms = s3_now_ms();
	if (c->stream)
		stream_next(c);
	if (c->resp_done && c->writes == 0)
		response_complete(c);
}

/* Queue @p mem (taken over, freed after the write). */
int s3_conn_write(struct s3_conn *c, char *mem, size_t len)
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
	c->req.reqid = c->srv->reqid_base |
		       (uint32_t)__atomic_add_fetch(&c->srv->reqno, 1, __ATOMIC_RELAXED);
	s3_fmt_http_date(time(NULL), date, sizeof(date));
	s3_sb_printf(&c->head,
		     "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: trackfs-s3\r\n"
		     "x-amz-request-id: %016llX\r\n",
		     status, reason(status), date, (unsigned long long)c->req.reqid);
	if (!c->keep_alive || c->want_close)
		s3_sb_puts(&c->head, "Connection: close\r\n");
	s3_cors_resp_headers(c); /* cors.c: Access-Control-* for an allowed Origin */
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
	s3_conn_close(c);
}

void s3_resp_etag(struct s3_conn *c, const char *etag)
{
	struct s3_req *r = &c->req;

	s3_resp_start(c, 200);
	s3_resp_hdr(c, "ETag", "\"%s\"", etag);
	if (r->cksum_name[0]) {
		char hn[40];
		snprintf(hn, sizeof(hn), "x-amz-checksum-%s", r->cksum_name);
		s3_resp_hdr(c, hn, "%s", r->cksum_b64);
	}
	s3_resp_finish(c, "", 0);
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
	rc = s3_conn_write(c, mem, hl + (send_body ? len : 0));
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
	rc = s3_conn_write(c, mem, c->head.len);
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
			s3_conn_close(c);
			return;
		}
		c->stream_off += n;
		c->stream_left -= n;
		rc = s3_conn_write(c, buf, n);
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
		     (unsigned long long)c->req.reqid);
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
