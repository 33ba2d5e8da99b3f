/* Private to fs/s3: the server, connection and request objects, and the
 * entry points the sidecar's files share. Nothing outside fs/s3 includes it. */
#ifndef FS_S3_S3_INT_H
#define FS_S3_S3_INT_H

#include <http_parser.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <uv.h>

#include "fs/s3/s3.h"
#include "fs/vol/vol.h"

/* ---- text.c: growable buffers, percent coding, base64, hex, dates ---------- */

/** A growable byte buffer, always NUL-terminated. An allocation failure sets
 * @c oom and makes further appends no-ops; check it once at the end. */
struct s3_sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

void s3_sb_add(struct s3_sbuf *b, const void *data, size_t len);
void s3_sb_puts(struct s3_sbuf *b, const char *s);
void s3_sb_putc(struct s3_sbuf *b, char ch);
void s3_sb_printf(struct s3_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void s3_sb_reset(struct s3_sbuf *b);
void s3_sb_free(struct s3_sbuf *b);
/** Take the buffer's memory (caller frees); the buffer is left empty. NULL on oom. */
char *s3_sb_take(struct s3_sbuf *b);
/** Make array *@p p (*@p cap elements of @p size bytes) hold at least @p need,
 * doubling. @return false when out of memory (the array is unchanged). */
bool s3_grow(void **p, size_t *cap, size_t need, size_t size);

/** Percent-encode as SigV4 does: unreserved (A-Za-z0-9-._~) kept, '/' kept when
 * @p keep_slash, everything else %XX (upper case). */
void s3_uri_encode(struct s3_sbuf *b, const char *s, size_t len, bool keep_slash);
/** Decode %XX in place; with @p plus_is_space, '+' becomes ' '. @return the new
 * length, or -EINVAL for a bad escape or an embedded NUL. */
ssize_t s3_uri_decode(char *s, size_t len, bool plus_is_space);
/** The value of hex digit @p ch, or -1. */
int s3_hexval(char ch);

/** Base64 (standard alphabet, padded). @p out needs 4 * ceil(len / 3) + 1 bytes. */
void s3_base64_encode(const void *data, size_t len, char *out);
/** @return decoded length or -EINVAL. @p out needs len * 3 / 4 bytes. */
ssize_t s3_base64_decode(const char *s, size_t len, void *out);
void s3_hex_encode(const void *data, size_t len, char *out);

/** Milliseconds since an arbitrary point (monotonic). */
uint64_t s3_now_ms(void);
/** "20130524T000000Z" -> time; @return 0 or -EINVAL. */
int s3_parse_amz_date(const char *s, time_t *out);
/** RFC 1123 ("Fri, 24 May 2013 00:00:00 GMT"); also accepts RFC 850 and asctime
 * forms. @return 0 or -EINVAL. */
int s3_parse_http_date(const char *s, time_t *out);
/** Formats @p t as RFC 1123 into @p out (at least 32 bytes). */
void s3_fmt_http_date(time_t t, char *out, size_t size);
/** Formats @p ts as ISO 8601 with milliseconds ("2013-05-24T00:00:00.000Z"). */
void s3_fmt_iso_date(const struct timespec *ts, char *out, size_t size);
/** Constant-time comparison of two NUL-terminated strings. */
bool s3_str_equal_ct(const char *a, const char *b);

/* ---- errors.c: the one table from -errno and S3 errors to code and status --- */

/** S3 errors, returned negated like errnos (values beyond the errno range). */
enum s3_err {
	S3E_BASE = 4096,
	S3E_ACCESS_DENIED,
	S3E_CORS_FORBIDDEN, /* a CORS preflight no rule allows */
	S3E_AUTH_HEADER_MALFORMED,
	S3E_AUTH_QUERY_ERROR,
	S3E_BAD_DIGEST,
	S3E_BAD_REQUEST,
	S3E_BUCKET_EXISTS,
	S3E_BUCKET_NOT_EMPTY,
	S3E_CONDITIONAL_CONFLICT,
	S3E_ENTITY_TOO_LARGE,
	S3E_ENTITY_TOO_SMALL,
	S3E_EXPIRED,
	S3E_HEADERS_TOO_LARGE,
	S3E_INCOMPLETE_BODY,
	S3E_INTERNAL,
	S3E_INVALID_ACCESS_KEY,
	S3E_INVALID_ARGUMENT,
	S3E_INVALID_BUCKET_NAME,
	S3E_INVALID_DIGEST,
	S3E_INVALID_KEY,
	S3E_INVALID_PART,
	S3E_INVALID_PART_ORDER,
	S3E_INVALID_RANGE,
	S3E_INVALID_REQUEST,
	S3E_INVALID_TAG,
	S3E_KEY_CONFLICT,
	S3E_KEY_IS_PREFIX,
	S3E_KEY_TOO_LONG,
	S3E_MALFORMED_XML,
	S3E_METHOD_NOT_ALLOWED,
	S3E_MISSING_CONTENT_LENGTH,
	S3E_NO_SUCH_BUCKET,
	S3E_NO_SUCH_BUCKET_POLICY,
	S3E_NO_SUCH_KEY,
	S3E_NO_SUCH_CORS_CONFIGURATION,
	S3E_NO_SUCH_LIFECYCLE_CONFIGURATION,
	S3E_NO_SUCH_TAG_SET,
	S3E_NO_SUCH_UPLOAD,
	S3E_NOT_IMPLEMENTED,
	S3E_NOT_MODIFIED,
	S3E_OPERATION_ABORTED,
	S3E_PRECONDITION_FAILED,
	S3E_SHA256_MISMATCH,
	S3E_SIGNATURE_MISMATCH,
	S3E_SSE_CONFIGURATION_NOT_FOUND,
	S3E_STORAGE_FULL,
	S3E_TIME_SKEWED,
	S3E_UNSUPPORTED_CHECKSUM,
	S3E_INVALID_PART_NUMBER,
	S3E_END
};

struct s3_errinfo {
	const char *code; /* "NoSuchKey" */
	int status;	  /* 404 */
	const char *message;
};
/** The code, HTTP status and default message for @p err (a negative errno or
 * -S3E_*); unknown values give InternalError / 500. */
const struct s3_errinfo *s3_err_info(int err);

/* ---- hash.c: body digests computed as data streams --------------------------- */

enum {
	S3_HASH_MD5 = 1 << 0,
	S3_HASH_SHA256 = 1 << 1,
	S3_HASH_CRC32 = 1 << 2,
	S3_HASH_CRC32C = 1 << 3,
	S3_HASH_SHA1 = 1 << 4,
	S3_HASH_CRC64NVME = 1 << 5,
};

struct s3_hash {
	unsigned want;
	void *md5, *sha256, *sha1; /* EVP_MD_CTX * */
	uint32_t crc32, crc32c;
	uint64_t crc64nvme;
	uint64_t bytes;
};

int s3_hash_init(struct s3_hash *h, unsigned want);
void s3_hash_update(struct s3_hash *h, const void *data, size_t len);
/** Finish: @p md5 (16 bytes) and @p sha256 (32 bytes) may be NULL. */
int s3_hash_final(struct s3_hash *h, uint8_t *md5, uint8_t *sha256);
void s3_hash_fini(struct s3_hash *h);
/** Finish the SHA-1 (S3_HASH_SHA1) into @p out (20 bytes). */
int s3_hash_final_sha1(struct s3_hash *h, uint8_t *out);
void s3_sha256(const void *data, size_t len, uint8_t out[32]);
void s3_sha256_hex(const void *data, size_t len, char out[65]);
void s3_hmac_sha256(const void *key, size_t klen, const void *data, size_t len, uint8_t out[32]);

/* ---- crc.c: CRC32, CRC32C (ISA-L), CRC64NVME, and joining CRCs ----------------- */

/* Each takes the CRC of the bytes before (0 to start) and returns the CRC
 * with @p data appended, as zlib's crc32 does. */
uint32_t s3_crc32(uint32_t crc, const void *data, size_t len);
uint32_t s3_crc32c(uint32_t crc, const void *data, size_t len);
uint64_t s3_crc64nvme(uint64_t crc, const void *data, size_t len);

enum s3_crc_kind { S3_CRC32, S3_CRC32C, S3_CRC64NVME };
/** The CRC of A followed by B, from @p crc1 (A's), @p crc2 (B's) and B's
 * length @p len2. */
uint64_t s3_crc_combine(enum s3_crc_kind kind, uint64_t crc1, uint64_t crc2, uint64_t len2);

/* ---- cksum.c: the flexible checksum algorithms --------------------------------- */

struct s3_conn;

struct s3_cksum_algo {
	const char *name;  /* "crc32", as in x-amz-checksum-crc32 */
	const char *upper; /* "CRC32", as in x-amz-checksum-algorithm, ChecksumCRC32 */
	unsigned hash;	   /* S3_HASH_* */
	size_t raw;	   /* digest bytes */
	bool crc;	   /* may be FULL_OBJECT in a multipart upload */
	enum s3_crc_kind kind;
};
/** The algorithm named @p name (any case), or NULL. */
const struct s3_cksum_algo *s3_cksum_algo(const char *name);
/** Base64 of @p a's digest in finished hash @p h (@p sha256: its SHA-256, if
 * that is @p a). @p b64 needs 45 bytes. @return 0 or -ENOMEM. */
int s3_cksum_value(const struct s3_cksum_algo *a, struct s3_hash *h, const uint8_t *sha256,
		   char *b64);
/** Decode base64 value @p b64 of @p a into @p out (a->raw bytes). @return 0 or -EINVAL. */
int s3_cksum_raw(const struct s3_cksum_algo *a, const char *b64, uint8_t *out);
/** COMPOSITE checksum of @p n parts from their raw digests (concatenated):
 * base64 of the digest of @p raws, then "-N". @p b64 needs 52 bytes. */
int s3_cksum_composite(const struct s3_cksum_algo *a, const uint8_t *raws, size_t n, char *b64);
/** FULL_OBJECT CRC of @p n parts from their raw CRCs and sizes. */
void s3_cksum_full(const struct s3_cksum_algo *a, const uint8_t *raws, const uint64_t *sizes,
		   size_t n, char *b64);
/** The checksum algorithm for CopyObject's new object: x-amz-checksum-algorithm's,
 * else the source's (NULL: none). @return 0 or -S3E_INVALID_REQUEST. */
int s3_cksum_for_copy(struct s3_conn *c, const struct vol_attr *src,
		      const struct s3_cksum_algo **out);

/* ---- auth.c: the auth file -------------------------------------------------------- */

struct s3_grant {
	char *access_key; /* NULL for anonymous */
	char *secret;
	bool rw;
	char *bucket; /* "*" for every bucket */
};

/* Immutable once loaded: a reload (s3_server_reload_auth) puts a new table in
 * the server's place and the old one goes when its last request lets go. */
struct s3_auth {
	struct s3_grant *g;
	size_t n;
	unsigned refs; /* under the server's auth_lock; 1 for the server's own */
};

/** Load @p path. @return 0, -ENOENT, -EINVAL (a bad line, logged with its
 * number), -ENOMEM. The reason, naming the file (and line), also goes to
 * @p why (NULL: only logged). */
int s3_auth_load(const char *path, struct s3_auth **out, char *why, size_t whylen);
void s3_auth_free(struct s3_auth *a);
/** The secret of @p access_key, or NULL if unknown. */
const char *s3_auth_secret(const struct s3_auth *a, const char *access_key);
/** May @p access_key (NULL: anonymous) read (or write) @p bucket (NULL: the
 * service, as for ListBuckets)? */
bool s3_auth_allows(const struct s3_auth *a, const char *access_key, const char *bucket,
		    bool write);

/* ---- request, connection, server ---------------------------------------------------- */

struct s3_kv {
	char *name; /* lower case for headers; decoded for query parameters */
	char *value;
};

enum s3_payload {
	S3_PAYLOAD_UNSIGNED,	  /* UNSIGNED-PAYLOAD, presigned, or no auth */
	S3_PAYLOAD_SHA256,	  /* hex SHA-256 of the body in the header */
	S3_PAYLOAD_STREAM_SIGNED, /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD */
	S3_PAYLOAD_STREAM_SIGNED_TRAILER,
	S3_PAYLOAD_STREAM_UNSIGNED_TRAILER,
};

/** What a successful signature check leaves for the body decoders. */
struct s3_identity {
	const char *access_key; /* points into the auth table; NULL = anonymous */
	uint8_t key[32];	/* signing key */
	char amz_date[17];
	char scope[128];
	char seed_sig[65];
};

/* te_chunked.c's decoder state (HTTP chunked transfer coding). */
struct s3_te_chunked {
	int state;
	uint64_t left; /* chunk bytes still to come (or the size being read) */
	unsigned digits;
	size_t ext, trailer;
	const char *why; /* what was wrong, after an error */
};

struct s3_chunked;
struct s3_conn;

/** An operation. start runs once the headers are in and the request is
 * authorized; body gets the decoded body as it arrives; done runs once the
 * whole body has arrived and verified and must respond; cleanup always runs
 * last and frees the op state (removing temporary files). Any of them may
 * be NULL. start and body return 0 or an error that is sent as the response. */
struct s3_handler {
	const char *name;
	bool write;	 /* needs rw access */
	bool small_body; /* collect the body into req.body (XML), up to 8 MiB */
	unsigned hashes; /* S3_HASH_* always wanted for the body */
	int (*start)(struct s3_conn *c);
	int (*body)(struct s3_conn *c, const char *data, size_t len);
	void (*done)(struct s3_conn *c);
	void (*cleanup)(struct s3_conn *c);
};

struct s3_req {
	struct s3_sbuf url;
	struct s3_kv *hdrs;
	size_t nhdrs, hcap;
	bool last_was_value;
	size_t header_bytes;
	const char *method;

	char *path_raw;	 /* as sent, still percent-encoded */
	char *query_raw; /* as sent, NULL if none */
	struct s3_kv *q; /* decoded query parameters */
	size_t nq;
	char *bucket; /* decoded; NULL for the service */
	char *key;    /* decoded; NULL or "" for none */

	struct s3_identity id;
	bool authed;
	struct s3_auth *auth; /* the table this request is checked against (s3_req_auth) */
	bool auth_held;
	enum s3_payload payload;
	char payload_sha256[65];
	struct s3_chunked *chunked;
	struct s3_hash hash;
	uint64_t body_bytes; /* decoded body bytes seen */
	int64_t decoded_len; /* x-amz-decoded-content-length, or -1 */
	struct s3_sbuf body; /* small bodies only */
	uint8_t md5[16];     /* of the decoded body, valid in done */
	char cksum_name[16]; /* "crc32", "crc32c", "sha256" or "" */
	char cksum_b64[64];  /* computed checksum (base64), valid in done */

	const struct s3_handler *h;
	void *op;
	int err;       /* the response, once decided */
	char *err_msg; /* overrides the table's message */
	uint64_t t0_ms;
	int status;
	uint64_t bytes_out;
	bool head;	      /* HEAD: headers only */
	bool cond_prechecked; /* a write condition held when the request began */
	uint64_t reqid;	      /* x-amz-request-id, set by s3_resp_start */
};

struct s3_server;
struct s3_loop;

struct s3_conn {
	uv_tcp_t tcp;
	struct s3_server *srv;
	struct s3_loop *lp;
	struct s3_conn *prev, *next;
	http_parser parser;
	struct s3_req req;
	enum { S3_C_IDLE, S3_C_HEADERS, S3_C_BODY, S3_C_RESPONDING, S3_C_LINGER } phase;
	uint64_t phase_ms;    /* when the phase began */
	uint64_t activity_ms; /* last byte received */
	char *pending;	      /* received but not parsed yet (parser paused) */
	size_t npending;
	bool closing, keep_alive, want_close, sent_continue, body_discard;
	/* Transfer-Encoding: chunked is decoded by te_chunked.c, not by
	 * http_parser (which is lax about the framing): while te_active, raw
	 * bytes go to te. */
	bool te_active;
	struct s3_te_chunked te;
	uint64_t linger_bytes; /* drained after the last response */

	struct s3_sbuf head; /* response headers being built */
	char peer[64];	     /* the client's address, for the access log (once known) */
	int writes;	     /* uv_write requests in flight */
	bool stream;	     /* body streams from a file */
	uint64_t stream_ino; /* holds one vol reference while streaming */
	uint64_t stream_off, stream_left;
	bool resp_done;		/* everything queued; finish when writes reach 0 */
	uv_shutdown_t shutdown; /* lingering close: FIN sent, input drained */
	/* A writing handler's done() runs on libuv's thread pool (http.c), so
	 * that its fsync delays no other connection of the loop. Meanwhile its
	 * response is queued here and written by the loop once done() returns,
	 * and a close (a timeout, a failed write) waits for it. */
	uv_work_t work;
	bool in_work;
	atomic_bool close_after_work;
	struct s3_deferred {
		char *mem;
		size_t len;
	} * deferred;
	size_t ndeferred, deferred_cap;
};

#define S3_MAX_LOOPS 16

/** One event loop on its own thread, with its own listening socket on the
 * shared port (SO_REUSEPORT: the kernel spreads connections over the loops).
 * A connection lives on one loop for its whole life. */
struct s3_loop {
	struct s3_server *srv;
	unsigned idx;
	uv_loop_t loop;
	uv_tcp_t listener;
	uv_async_t stop_async;
	uv_timer_t sweep;
	uv_thread_t thread;
	bool running;
	struct s3_conn *conns; /* this loop's connections */
	unsigned nconns;
};

/* ---- list_snap.c: sorted directory snapshots for listings ---------------------------- */

struct s3_snap_ent {
	const char *key; /* name, plus '/' for a directory */
	uint64_t ino;
	bool dir;
};

/** A directory's entries in listing order, as of one (ctime, mtime). Shared
 * and immutable; hold it with s3_dirsnap_get, let go with s3_dirsnap_put. */
struct s3_dirsnap {
	uint64_t ino;
	struct timespec ctime, mtime;
	struct s3_snap_ent *e;
	size_t n;
	char *keys;
	size_t bytes;
	unsigned refs; /* under the cache's lock */
	uint64_t used; /* the cache's clock at the last use */
};

#define S3_SNAP_SLOTS 4

struct s3_snapcache {
	uv_mutex_t lock;
	struct s3_dirsnap *slot[S3_SNAP_SLOTS];
	size_t bytes;
	uint64_t clock;
};

int s3_snapcache_init(struct s3_snapcache *c);
void s3_snapcache_fini(struct s3_snapcache *c);

/* ---- metrics.c: request counters and GET /.trackfs/metrics ---------------------------- */

#define S3_MET_OPS 64	  /* distinct operation names counted */
#define S3_MET_BUCKETS 12 /* duration histogram buckets, +Inf included */

struct s3_metrics {
	uv_mutex_t mu; /* guards everything below */
	struct {
		const char *name;     /* the handler's name (static) */
		uint64_t by_class[5]; /* 1xx..5xx */
	} ops[S3_MET_OPS];
	unsigned nops;
	uint64_t bytes_in, bytes_out;
	uint64_t dur_buckets[S3_MET_BUCKETS]; /* cumulative at format time, not here */
	uint64_t dur_count;
	double dur_sum_s;
};

int s3_metrics_init(struct s3_metrics *m);
void s3_metrics_fini(struct s3_metrics *m);
/** Count the request of @p c, whose response is complete. */
void s3_metrics_note(struct s3_conn *c);
/** Pick the metrics handler for GET /.trackfs/metrics, checking who asks.
 * @return 1 when @p c is no such request, else 0 (req.h set) or -S3E_*. */
int s3_metrics_route(struct s3_conn *c);

struct s3_server {
	struct vol *v;
	struct s3_config cfg; /* strings below are owned copies */
	char *listen, *region, *vhost_domain;
	struct s3_auth *auth; /* current table; swapped under auth_lock by a reload */
	char *auth_file;      /* for reloads; NULL without authentication */
	uv_mutex_t auth_lock;
	unsigned nloops;
	struct s3_loop loops[S3_MAX_LOOPS];
	int port;
	uint64_t last_upload_sweep_ms; /* loop 0 only */
	uint64_t reqno;		       /* atomic */
	uint64_t reqid_base;	       /* random high bits: request ids differ across restarts */
	struct s3_snapcache snaps;
	struct s3_metrics met;
	_Atomic unsigned nconns; /* open connections over every loop */
	/* tmp_sweep.c */
	uv_thread_t sweep;
	bool sweep_running;
	_Atomic bool sweep_stop;
	time_t sweep_before; /* temporary files born before this are left over */
};

/** The auth table @p c's request is checked against: the server's current
 * one when the request first asks, held until s3_req_reset (so a reload
 * never pulls it, or the access key that points into it, from under the
 * request). NULL without authentication. */
const struct s3_auth *s3_req_auth(struct s3_conn *c);
/** Let go of a table taken by s3_req_auth (freed with its last holder). */
void s3_auth_put(struct s3_server *s, struct s3_auth *a);

/** The sorted entries of directory @p ino, from the cache while it is
 * unchanged. @return 0 or -errno. */
int s3_dirsnap_get(struct s3_server *srv, uint64_t ino, struct s3_dirsnap **out);
void s3_dirsnap_put(struct s3_server *srv, struct s3_dirsnap *s);
/** Index of the first entry whose key is not below @p key. */
size_t s3_dirsnap_lower_bound(const struct s3_dirsnap *s, const char *key);

/* ---- http.c: connections --------------------------------------------------------------- */

void s3_http_init(void);
void s3_on_connection(uv_stream_t *listener, int status);
/** Parse received bytes (the parser pauses at the end of each request). */
void s3_conn_feed(struct s3_conn *c, const char *data, size_t len);
void s3_conn_read_start(struct s3_conn *c);
/** Send FIN, drain the input, close when the client does (or after 2 s). */
void s3_conn_linger(struct s3_conn *c);
/** Fill c->peer with the client's address ("ADDR:PORT", "[ADDR]:PORT", or "-"). */
void s3_conn_peer(struct s3_conn *c);
/** Close and free once libuv is done with it; the request in progress is cleaned up. */
void s3_conn_close(struct s3_conn *c);
/** Run the request's cleanup and forget it. */
void s3_req_reset(struct s3_conn *c);

/* ---- resp.c: responses ---------------------------------------------------------------- */

/** Queue @p mem (taken over, freed after the write). @return 0 or a libuv error. */
int s3_conn_write(struct s3_conn *c, char *mem, size_t len);
/** On the loop, once a handler's done() returned from the thread pool:
 * write what it queued, finish the response, or close if asked meanwhile. */
void s3_conn_work_done(struct s3_conn *c);
/** Start a response: status line and the common headers. */
void s3_resp_start(struct s3_conn *c, int status);
void s3_resp_hdr(struct s3_conn *c, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/** Finish with a body held in memory (not sent for HEAD; Content-Length is). */
void s3_resp_finish(struct s3_conn *c, const void *body, size_t len);
/** An empty 200 with the ETag and, when the request carried one, its
 * x-amz-checksum-* header (PutObject, UploadPart). */
void s3_resp_etag(struct s3_conn *c, const char *etag);
/** Finish with @p len bytes of @p ino from @p off, read piece by piece. Takes
 * over one vol reference on @p ino (dropped when the stream ends). */
void s3_resp_stream(struct s3_conn *c, uint64_t ino, uint64_t off, uint64_t len);
/** An S3 XML error for @p err (negative errno or -S3E_*), with req.err_msg if set. */
void s3_resp_error(struct s3_conn *c, int err);
/** A 200 with an XML body taken from @p xml (freed). */
void s3_resp_xml(struct s3_conn *c, struct s3_sbuf *xml);
/** Set a message for the error response (printf-style). */
void s3_req_errmsg(struct s3_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** A request header (name in lower case), or NULL. */
const char *s3_hdr(const struct s3_req *r, const char *name);
/** A query parameter, or NULL; *present tells apart "?acl" (empty value). */
const char *s3_qparam(const struct s3_req *r, const char *name);
bool s3_qhas(const struct s3_req *r, const char *name);

/* ---- router.c ----------------------------------------------------------------------- */

/** Split the URL, pick bucket/key (path or virtual-hosted style) and the
 * handler; check the signature and access. @return 0 or an error to send. */
int s3_route(struct s3_conn *c);

/* ---- refuse.c ---------------------------------------------------------------------- */

/** Refuse what the request asks for and the sidecar does not do (SSE, object
 * lock, tagging, unknown x-amz-* headers), naming it.
 * @return 0, -S3E_NOT_IMPLEMENTED, -S3E_INVALID_REQUEST. */
int s3_refuse_unsupported(struct s3_conn *c);

/* ---- body.c: the request body pipeline ------------------------------------------------- */

/** Set up decoding and verification for the request's body. */
int s3_body_begin(struct s3_conn *c);
/** Raw body bytes from the parser. @return 0 or an error (then the rest is discarded). */
int s3_body_feed(struct s3_conn *c, const char *data, size_t len);
/** The body ended: finish decoding, compare digests. @return 0 or an error. */
int s3_body_end(struct s3_conn *c);
void s3_body_fini(struct s3_conn *c);

/* ---- sigv4.c ------------------------------------------------------------------------- */

struct s3_sigv4_input {
	const char *method;
	const char *path_raw;  /* as sent: percent-encoded */
	const char *query_raw; /* as sent, NULL if none */
	const struct s3_kv *hdrs;
	size_t nhdrs;
	const char *signed_headers; /* "host;x-amz-date" */
	const char *payload_hash;
	bool presigned; /* leave X-Amz-Signature out of the canonical query */
};

/** The canonical request. @return 0, -EINVAL (bad escape, a signed header
 * missing), -ENOMEM. */
int s3_sigv4_canonical_request(const struct s3_sigv4_input *in, struct s3_sbuf *out);
void s3_sigv4_signing_key(const char *secret, const char *date8, const char *region,
			  const char *service, uint8_t key[32]);
/** "AWS4-HMAC-SHA256\n<date>\n<scope>\n<hex sha256 of creq>". */
void s3_sigv4_string_to_sign(const char *amz_date, const char *scope, const char *creq,
			     size_t creq_len, struct s3_sbuf *out);
/** hex(HMAC(key, data)). */
void s3_sigv4_sign(const uint8_t key[32], const char *data, size_t len, char hex[65]);
/** Authenticate the request in @p c (header or presigned query) at @p now.
 * @return 0 (req.id and req.payload filled; anonymous when no credentials
 * and anonymous access is configured) or -S3E_*. */
int s3_sigv4_check(struct s3_conn *c, time_t now);

/* ---- chunked.c: aws-chunked bodies ------------------------------------------------------ */

typedef int (*s3_chunk_out_cb)(void *arg, const char *data, size_t len);

/** A decoder for one body. For the signed modes, @p id gives the signing key,
 * date, scope and seed signature; without @p verify (authentication turned
 * off) signatures are parsed but not checked. @return NULL on ENOMEM. */
struct s3_chunked *s3_chunked_create(enum s3_payload mode, const struct s3_identity *id,
				     bool verify);
void s3_chunked_destroy(struct s3_chunked *ch);
/** Feed raw bytes; decoded data goes to @p out as it is decoded (a chunk's
 * data is passed on before its signature is checked: the caller keeps it in
 * a temporary file until s3_chunked_finish succeeds). @return 0 or -S3E_*. */
int s3_chunked_feed(struct s3_chunked *ch, const char *data, size_t len, s3_chunk_out_cb out,
		    void *arg);
/** The body ended: the final chunk and trailers must have been seen. @return 0
 * or -S3E_INCOMPLETE_BODY. */
int s3_chunked_finish(struct s3_chunked *ch);
/** A trailer's value ("x-amz-checksum-crc32"), or NULL. */
const char *s3_chunked_trailer(const struct s3_chunked *ch, const char *name);

/* ---- te_chunked.c: HTTP chunked transfer coding, strictly ---------------------------- */

void s3_te_init(struct s3_te_chunked *t);
/** Decode @p len raw bytes; data goes to @p out. Stops at the end of the body.
 * @return the bytes consumed, -S3E_BAD_REQUEST for bad framing (t->why says
 * what), or what @p out returned. */
ssize_t s3_te_feed(struct s3_te_chunked *t, const char *data, size_t len, s3_chunk_out_cb out,
		   void *arg);
/** Has the last chunk and the trailer section been seen? */
bool s3_te_done(const struct s3_te_chunked *t);

/* ---- xml.c ------------------------------------------------------------------------------ */

void s3_xml_begin(struct s3_sbuf *b, const char *root);
void s3_xml_open(struct s3_sbuf *b, const char *tag);
void s3_xml_close(struct s3_sbuf *b, const char *tag);
void s3_xml_text(struct s3_sbuf *b, const char *tag, const char *text);
void s3_xml_textn(struct s3_sbuf *b, const char *tag, const char *text, size_t len);
void s3_xml_u64(struct s3_sbuf *b, const char *tag, uint64_t v);
void s3_xml_escape(struct s3_sbuf *b, const char *s, size_t len);

struct s3_delete_list {
	char **keys;
	size_t n;
	bool quiet;
};
/** Parse a DeleteObjects body. @return 0, -S3E_MALFORMED_XML, -ENOMEM. */
int s3_xml_parse_delete(const char *xml, size_t len, struct s3_delete_list *out);
void s3_delete_list_fini(struct s3_delete_list *d);

struct s3_part_ref {
	unsigned number;
	char etag[80];	  /* without quotes */
	char ck_name[16]; /* "crc32" from <ChecksumCRC32>, "" if none */
	char ck_b64[80];
};
struct s3_complete_list {
	struct s3_part_ref *parts;
	size_t n;
};
/** Parse a CompleteMultipartUpload body. @return 0, -S3E_MALFORMED_XML, -ENOMEM. */
int s3_xml_parse_complete(const char *xml, size_t len, struct s3_complete_list *out);
void s3_complete_list_fini(struct s3_complete_list *l);

/* ---- keymap.c: bucket/key <-> directories ------------------------------------------------- */

#define S3_KEY_MAX 1024
#define S3_MAX_DEPTH 512

/** @return 0 or -S3E_INVALID_BUCKET_NAME (AWS's naming rules). */
int s3_bucket_name_check(const char *name);
/** What is wrong with bucket name @p name under AWS's rules, or NULL. */
const char *s3_bucket_name_problem(const char *name);
/** The bucket of a request (or of x-amz-copy-source): one path segment, not
 * hidden, not "." or "..". @return 0 or -S3E_INVALID_BUCKET_NAME. */
int s3_bucket_req_check(const char *bucket);
/** A key that can be a path: <= 1024 bytes, no empty, "." or ".." segments,
 * no segment reserved for the sidecar's own files. @return 0,
 * -S3E_KEY_TOO_LONG, -S3E_INVALID_KEY (req message set when @p c). */
int s3_key_check(struct s3_conn *c, const char *key);
/** True for names the sidecar keeps for itself (temp files, hidden dir). */
bool s3_name_hidden(const char *name, size_t len);
/** "." or "..": names no file can have. */
bool s3_dot_name(const char *name, size_t len);

/* The umask of files and directories S3 creates (requested as 0666 and 0777,
 * as a process creating them through the mount would): the engine applies
 * it where the directory has no default ACL, which replaces it. */
#define S3_UMASK 022
/** Look up bucket @p bucket: @return 0 (*ino, one reference), -S3E_NO_SUCH_BUCKET. */
int s3_bucket_lookup(struct vol *v, const char *bucket, uint64_t *ino);

/** A resolved key: the chain of directories from the bucket down. */
struct s3_path {
	uint64_t dirs[S3_MAX_DEPTH]; /* dirs[0] = bucket; each holds one reference */
	unsigned ndirs;
	const char *key;		/* the caller's key (must outlive this) */
	uint16_t seg_off[S3_MAX_DEPTH]; /* segment i names dirs[i] (i >= 1) */
	uint16_t seg_len[S3_MAX_DEPTH];
	char name[256]; /* last segment: the object's name in dirs[ndirs - 1] */
};

/** Resolve the directories of @p key under @p bucket_ino, taking over the
 * caller's reference on @p bucket_ino (released on error too). With @p create,
 * missing directories are made and marked as made by S3. @return 0,
 * -S3E_NO_SUCH_KEY (a directory missing), -S3E_KEY_CONFLICT (a file where a
 * directory is needed), -S3E_KEY_TOO_LONG, -errno. */
int s3_path_resolve(struct s3_conn *c, uint64_t bucket_ino, const char *key, bool create,
		    struct s3_path *p);
/** Drop the references of @p p. */
void s3_path_release(struct vol *v, struct s3_path *p);
/** Remove directories of @p p that S3 made and that are now empty, bottom up. */
void s3_path_prune(struct s3_conn *c, struct s3_path *p);
/** Look up the object @p key in @p bucket: @return 0 (*attr, one reference on
 * attr->ino), -S3E_NO_SUCH_BUCKET, -S3E_NO_SUCH_KEY (missing, or a directory). */
int s3_object_lookup(struct s3_conn *c, const char *bucket, const char *key, struct vol_attr *attr);
/* Directory markers: a zero-byte PUT of "a/b/" makes directory a/b and marks
 * it with S3_DIR_MARKER_X (it is then no longer pruned when its last object
 * goes, and it is listed as the key "a/b/" even while it has children); its
 * Content-Type and x-amz-meta-* are kept on the directory as for an object.
 * Directories S3 made on the way to a key carry S3_DIR_MADE_X instead. */
#define S3_DIR_MADE_X "user.s3.dir"
/* The ETag of the empty string, a marker's. */
#define S3_EMPTY_MD5 "d41d8cd98f00b204e9800998ecf8427e"
#define S3_DIR_MARKER_X "user.s3.marker"
/** Does @p key name a directory marker ("a/b/")? */
bool s3_key_is_dir(const char *key);
/** Look up the directory that marker key @p key ("a/b/") names: @return 0
 * (*attr, one reference on attr->ino), -S3E_NO_SUCH_BUCKET, -S3E_NO_SUCH_KEY
 * (missing, or an object). */
int s3_dir_lookup(struct s3_conn *c, const char *bucket, const char *key, struct vol_attr *attr);
/** Look up what key @p key names: the directory of a marker key ("a/b/"),
 * else the object. @return as s3_dir_lookup or s3_object_lookup. */
int s3_key_lookup(struct s3_conn *c, const char *bucket, const char *key, struct vol_attr *attr);
/** Does the request carry the body's Content-MD5 or a flexible checksum (in a
 * header, or with @p trailers in the trailer x-amz-trailer announced), as S3
 * requires of DeleteObjects and the configuration PUTs? body.c checks the
 * value against the body. */
bool s3_req_has_integrity(struct s3_conn *c, bool trailers);
/** Make directory @p ino a marker: set S3_DIR_MARKER_X, drop S3_DIR_MADE_X. */
int s3_dir_mark(struct vol *v, uint64_t ino);
/** The marker of @p ino is deleted: drop S3_DIR_MARKER_X and its metadata, and
 * let it be pruned once empty (S3_DIR_MADE_X), as the prefix of the keys
 * below it. */
int s3_dir_unmark(struct vol *v, uint64_t ino);
/** Make the directories of marker key @p key in @p bucket and mark the last
 * one (p->dirs[p->ndirs - 1]), so that no DELETE prunes it. @return 0 (@p p
 * holds its references) or an error as s3_path_resolve's (nothing held). */
int s3_marker_make(struct s3_conn *c, const char *bucket, const char *key, struct s3_path *p);
/** Whether directory @p ino carries a marker (S3_DIR_MARKER_X). */
bool s3_dir_marked(struct vol *v, uint64_t ino);

/** Tell the front end (on_change hook) about a change to @p name in @p parent. */
void s3_notify(struct s3_server *s, uint64_t parent, const char *name, uint64_t ino);

/* ---- meta.c: object metadata as xattrs ---------------------------------------------------- */

/** Store Content-Type etc. and x-amz-meta-* from the request's headers. */
int s3_meta_store_from_req(struct s3_conn *c, uint64_t ino);
/** Remove the stored headers (not the sidecar's own records) from @p ino. */
int s3_meta_clear(struct vol *v, uint64_t ino);
/** Copy the stored headers (not the ETag record or tag set) from @p src to @p dst. */
int s3_meta_copy(struct vol *v, uint64_t src, uint64_t dst);
/** Add the stored headers to the response. */
void s3_meta_emit(struct s3_conn *c, uint64_t ino);
/** Give @p dst the attribute @p name of @p src, or none if @p src has none. */
int s3_xattr_copy(struct vol *v, uint64_t src, uint64_t dst, const char *name);
/** Record the ETag (without quotes) and optional checksum ("crc32" + base64)
 * for the file's current mtime and size. */
int s3_etag_store(struct vol *v, uint64_t ino, const char *etag, const char *cksum_name,
		  const char *cksum_b64);
/** The file's ETag (without quotes), computing its MD5 if the stored one is
 * missing or stale. @p etag needs 80 bytes. */
int s3_etag_get(struct vol *v, const struct vol_attr *a, char *etag);
/** The stored checksum (name, base64) if still valid. @return 0 or -ENOENT. */
int s3_checksum_get(struct vol *v, const struct vol_attr *a, char *name, size_t nsize, char *b64,
		    size_t bsize);
/** Read @p len bytes at @p off into @p buf fully. @return 0 or -errno (-EIO on a short read). */
int s3_read_full(struct vol *v, uint64_t ino, void *buf, size_t len, uint64_t off);

/* ---- tagging.c, tagging_ops.c: tag sets of objects and buckets -------------------------- */

/* The tag set, as the URL query x-amz-tagging takes ("k1=v1&k2=v2"), on the
 * object's file or the bucket's directory. */
#define S3_TAGGING_X "user.s3.tagging"
#define S3_TAGS_OBJECT_MAX 10
#define S3_TAGS_BUCKET_MAX 50

struct s3_tags {
	size_t n;
	char *key[S3_TAGS_BUCKET_MAX + 1], *val[S3_TAGS_BUCKET_MAX + 1];
};
void s3_tags_fini(struct s3_tags *t);
/** Parse and check (at most @p max tags, S3's key and value rules) a URL
 * query of tags. @return 0, -S3E_INVALID_TAG, -S3E_BAD_REQUEST (too many
 * object tags), -S3E_INVALID_ARGUMENT (bad escape), -ENOMEM; @p why says what. */
int s3_tags_parse_query(const char *q, size_t max, struct s3_tags *t, char *why, size_t wsize);
/** The same for a <Tagging> document (-S3E_MALFORMED_XML too). */
int s3_tags_parse_xml(const char *xml, size_t len, size_t max, struct s3_tags *t, char *why,
		      size_t wsize);
void s3_tags_to_query(const struct s3_tags *t, struct s3_sbuf *b);
void s3_tags_to_xml(const struct s3_tags *t, struct s3_sbuf *b);
/** The tags of @p ino. @return 0, -ENODATA (none kept), -EUCLEAN (what is
 * kept is not a valid tag set: @p why says why), -errno. */
int s3_tags_load(struct vol *v, uint64_t ino, struct s3_tags *t, char *why, size_t wsize);
/** Keep @p t on @p ino (NULL or empty: remove the tag set). */
int s3_tags_store(struct vol *v, uint64_t ino, const struct s3_tags *t);
/** Check a request's x-amz-tagging header (req message set). */
int s3_tags_check_header(struct s3_conn *c, const char *value);
/** Give @p ino the request's x-amz-tagging, or no tags without one. */
int s3_tags_store_from_req(struct s3_conn *c, uint64_t ino);
/** How many tags @p ino has (0 when none or unreadable). */
int s3_tags_count(struct vol *v, uint64_t ino);
/** The handler of a ?tagging request on a bucket or object, NULL for an unknown method. */
const struct s3_handler *s3_tagging_op(const struct s3_req *r);

/* ---- cors.c, cors_ops.c: a bucket's CORS rules and the preflight ------------------------- */

/* The validated CORSConfiguration (as cors.c writes it back) on the bucket directory. */
#define S3_CORS_X "user.s3.cors"
#define S3_CORS_MAX_RULES 100

struct s3_cors_list {
	char **v;
	size_t n;
};
struct s3_cors_rule {
	char *id;
	struct s3_cors_list origins, headers, expose;
	unsigned methods; /* 1 << index in GET PUT POST DELETE HEAD */
	long max_age;	  /* -1: none */
};
struct s3_cors {
	struct s3_cors_rule *r;
	size_t n;
};
/** The bit of method @p m in s3_cors_rule.methods, 0 for one CORS does not allow. */
int s3_cors_method_bit(const char *m);
/** Parse and check a CORSConfiguration. @return 0, -S3E_MALFORMED_XML or
 * -S3E_INVALID_REQUEST (@p why says what), -ENOMEM. */
int s3_cors_parse(const char *xml, size_t len, struct s3_cors *out, char *why, size_t wsize);
void s3_cors_fini(struct s3_cors *cfg);
void s3_cors_to_xml(const struct s3_cors *cfg, struct s3_sbuf *b);
/** The rules kept on bucket directory @p bucket_ino. @return 0, -ENOENT (none), -errno. */
int s3_cors_load(struct vol *v, uint64_t bucket_ino, struct s3_cors *out);
/** The first rule allowing @p origin, @p method and every header of the
 * comma-separated @p req_headers (NULL: none), or NULL. */
const struct s3_cors_rule *s3_cors_match(const struct s3_cors *cfg, const char *origin,
					 const char *method, const char *req_headers);
/** Add the Access-Control-* and Vary headers of @p rule to the response begun. */
void s3_cors_emit(struct s3_conn *c, const struct s3_cors_rule *rule, const char *origin,
		  bool preflight);
/** For a response just started: the CORS headers when the request has an
 * Origin that a rule of its bucket allows for its method. */
void s3_cors_resp_headers(struct s3_conn *c);
/** The handler for ?cors on a bucket (GET, PUT, DELETE), or NULL. */
const struct s3_handler *s3_cors_op(const struct s3_req *r);
extern const struct s3_handler s3_op_put_cors, s3_op_get_cors, s3_op_delete_cors,
	s3_op_cors_preflight;

/* ---- form.c: multipart/form-data, parsed as it arrives --------------------------------- */

#define S3_FORM_BOUNDARY_MAX 70
#define S3_FORM_NAME_MAX 1024

struct s3_form_cb {
	/** A part begins: its name, its filename (NULL if none) and Content-Type ("" if none). */
	int (*part_begin)(void *arg, const char *name, const char *filename, const char *ctype);
	int (*part_data)(void *arg, const char *data, size_t len);
	int (*part_end)(void *arg);
};
struct s3_form {
	int state;
	char delim[S3_FORM_BOUNDARY_MAX + 8]; /* CRLF "--" boundary */
	size_t dlen, match;		      /* delimiter bytes matched (held back) */
	struct s3_sbuf hdr;		      /* a part's headers being read */
	bool in_part;
	const char *why; /* after an error */
	const struct s3_form_cb *cb;
	void *arg;
};
/** Start parsing a body of Content-Type @p content_type (multipart/form-data
 * with a boundary). @return 0 or -EINVAL. */
int s3_form_init(struct s3_form *f, const char *content_type, const struct s3_form_cb *cb,
		 void *arg);
/** Feed body bytes. @return 0, -EINVAL (f->why says what), or what a callback returned. */
int s3_form_feed(struct s3_form *f, const char *data, size_t len);
/** Has the close delimiter been seen? */
bool s3_form_complete(const struct s3_form *f);
void s3_form_fini(struct s3_form *f);
/** Parameter @p param of a header value ('form-data; name="x"'). @return its length or -1. */
ssize_t s3_form_param(const char *hv, const char *param, char *out, size_t size);

/* ---- post_policy.c, obj_post.c: browser form uploads (POST Object) --------------------- */

struct s3_post_field {
	char *name; /* lower case */
	char *value;
	bool covered; /* named by a policy condition */
};
struct s3_post_fields {
	struct s3_post_field *f;
	size_t n;
};
struct s3_post_field *s3_post_field_get(struct s3_post_fields *fl, const char *name);
int s3_post_field_add(struct s3_post_fields *fl, const char *name, const char *value, size_t vlen);
void s3_post_fields_fini(struct s3_post_fields *fl);
/** Check the decoded policy @p json against the form's fields and @p bucket
 * at @p now; *min and *max get its content-length-range (0, UINT64_MAX if
 * none). @return 0, -S3E_ACCESS_DENIED or -S3E_INVALID_ARGUMENT (@p why says
 * what, as S3 words it), -ENOMEM. */
int s3_post_policy_check(const char *json, size_t len, const char *bucket,
			 struct s3_post_fields *fl, time_t now, uint64_t *min, uint64_t *max,
			 char *why, size_t wsize);
/** Is this a form upload (POST /bucket with multipart/form-data)? */
bool s3_post_object_req(const struct s3_req *r);
extern const struct s3_handler s3_op_post_object;

/* ---- operations (one file per family) ------------------------------------------------------ */

extern const struct s3_handler s3_op_list_buckets, s3_op_create_bucket, s3_op_head_bucket,
	s3_op_delete_bucket, s3_op_bucket_location, s3_op_bucket_versioning, s3_op_bucket_acl,
	s3_op_put_acl;
extern const struct s3_handler s3_op_get_object, s3_op_head_object, s3_op_object_acl;
extern const struct s3_handler s3_op_put_object, s3_op_copy_object;
extern const struct s3_handler s3_op_delete_object, s3_op_delete_objects;
extern const struct s3_handler s3_op_list_objects, s3_op_list_versions;
extern const struct s3_handler s3_op_mpu_create, s3_op_mpu_part, s3_op_mpu_part_copy,
	s3_op_mpu_complete, s3_op_mpu_abort, s3_op_mpu_list_parts, s3_op_mpu_list_uploads;

/** GET of a bucket configuration the sidecar never keeps (policy, cors,
 * tagging, lifecycle, encryption): its handler, or NULL for other requests. */
const struct s3_handler *s3_bucket_config_op(const struct s3_req *r);
extern const struct s3_handler s3_op_bucket_config_get;

/* ---- acl.c, acl_ops.c: canned ACLs private and public-read ----------------------------- */

/* "public-read" on a file or bucket directory: anyone may read it (GET/HEAD
 * of an object, listing/HEAD of a bucket). Absent: private. */
#define S3_ACL_X "user.s3.acl"

/** Canned ACL @p v: @return 0 (*public set) or -S3E_NOT_IMPLEMENTED (req message set). */
int s3_acl_canned(struct s3_conn *c, const char *v, bool *public);
/** Is @p ino marked public-read? */
bool s3_acl_public(struct vol *v, uint64_t ino);
int s3_acl_store(struct vol *v, uint64_t ino, bool public);
/** Give @p ino the request's x-amz-acl, or private without one. */
int s3_acl_store_from_req(struct s3_conn *c, uint64_t ino);
/** Answer the AccessControlPolicy: the owner's FULL_CONTROL, plus AllUsers READ if @p public. */
void s3_acl_respond(struct s3_conn *c, bool public);
/** An AccessControlPolicy body that is one of the two canned ACLs: @return 0
 * (*public set), -S3E_MALFORMED_XML or -S3E_NOT_IMPLEMENTED (message set). */
int s3_acl_parse_policy(struct s3_conn *c, const char *xml, size_t len, bool *public);
/** May request handler @p h read what the request names without a grant
 * from the auth file, because it is public-read? */
bool s3_acl_allows(struct s3_conn *c, const struct s3_handler *h);
/** Tell trackfs status (vol_note_set "S3") which buckets are public-read. */
void s3_public_note(struct s3_server *s);

/* multipart.c helpers shared with mpu_list.c */
#define S3_MPU_X_BUCKET "user.s3.mpu.bucket"
#define S3_MPU_X_KEY "user.s3.mpu.key"
/* The disk the upload's parts are placed on, so that completing it moves
 * their chunks instead of copying them (vol_move_range). */
#define S3_MPU_X_DISK "user.s3.mpu.disk"
/* On the object a completion made: the upload's id, so that a repeated
 * completion answers the same ETag while the object is unchanged. */
#define S3_MPU_X_COMPLETED "user.s3.mpu.completed"
/* A completion in progress: on the upload directory "DIR_INO NAME" of the
 * object's temporary file (set with XATTR_CREATE: one completion at a time),
 * on each part moved into it "OFFSET LENGTH", so that one interrupted by a
 * crash is undone when the sidecar starts (s3_mpu_recover). */
#define S3_MPU_X_TMP "user.s3.mpu.completing"
#define S3_MPU_X_MOVED "user.s3.mpu.moved"
struct s3_mpu_names {
	char **n;
	size_t count;
	int err;
};
/** /.trackfs-s3/uploads (made with @p create). @return 0 (*ino, one reference) or -errno. */
int s3_mpu_uploads_dir(struct s3_conn *c, bool create, uint64_t *ino);
bool s3_mpu_valid_id(const char *id);
ssize_t s3_mpu_get_str(struct vol *v, uint64_t ino, const char *name, char *buf, size_t size);
/** The request's upload (uploadId) after checking its bucket and key: *up and
 * *dir hold one reference each. @return 0 or -S3E_NO_SUCH_UPLOAD / -errno. */
int s3_mpu_open(struct s3_conn *c, uint64_t *up, uint64_t *dir);
/** vol_readdir callback collecting names (without "." and ".."). */
int s3_mpu_names_cb(void *arg, const struct vol_dirent *d, const struct vol_attr *attr);
void s3_mpu_names_free(struct s3_mpu_names *l);
int s3_mpu_name_cmp(const void *a, const void *b);
/** Remove upload @p id: its parts, then its directory. */
int s3_mpu_remove(struct vol *v, uint64_t up, const char *id);

/** Call @p fn for every upload (its id and directory; the directory holds a
 * reference during the call) until it returns non-zero.
 * @return 0, what @p fn returned, or -errno (no uploads at all is 0). */
int s3_mpu_each(struct s3_server *s,
		int (*fn)(struct s3_server *s, uint64_t up, const char *id,
			  const struct vol_attr *dir, void *arg),
		void *arg);
/** Remove multipart uploads older than the configured expiry. */
void s3_mpu_sweep(struct s3_server *s);

/* ---- mpu_assemble.c: putting the parts together ------------------------------------------ */

/** One part of a completion: checked size, and where its chunks went. */
struct s3_mpu_part {
	uint64_t ino, size;
	unsigned number;
	bool moved;
	uint64_t off;  /* in the object, when moved */
	char etag[80]; /* its ETag record, put back with its chunks */
	char ck[16];   /* and checksum, if any ("" if none) */
	char ck_b64[80];
};
struct s3_tmpfile;
/** Mark upload directory @p dir as being completed into @p tmp.
 * @return 0, -S3E_OPERATION_ABORTED (another completion runs), -errno. */
int s3_mpu_claim(struct vol *v, uint64_t dir, const struct s3_tmpfile *tmp);
/** Is a completion of upload directory @p dir running (or interrupted)? */
bool s3_mpu_claimed(struct vol *v, uint64_t dir);
void s3_mpu_unclaim(struct vol *v, uint64_t dir);
/** Append part @p p to @p tmp: its chunks move when they can, else they are
 * copied. -S3E_INVALID_PART if it changed since it was checked. */
int s3_mpu_join_part(struct s3_conn *c, struct s3_tmpfile *tmp, struct s3_mpu_part *p,
		     uint32_t blksize, bool last);
/** Move the chunks of every part moved into @p tmp back (last first).
 * @return how many could not be moved back (they stay in @p tmp). */
int s3_mpu_give_back(struct s3_conn *c, struct s3_tmpfile *tmp, struct s3_mpu_part *parts,
		     size_t n);
/** At start-up: undo completions a crash interrupted (see mpu_assemble.c).
 * @return false if one must wait for a later start. */
bool s3_mpu_recover(struct s3_server *s);

/* ---- obj_parts.c: the parts of a completed multipart object --------------------- */

struct s3_obj_part {
	unsigned number; /* as uploaded */
	uint64_t size;
	char ck_b64[48]; /* "" if the upload had no checksum algorithm */
};
struct s3_obj_parts {
	struct s3_obj_part *p;
	size_t n;
};
/** Record the parts of an object being completed on its file @p ino (with
 * their checksums when @p with_ck). */
int s3_parts_store(struct vol *v, uint64_t ino, const struct s3_mpu_part *parts, size_t n,
		   bool with_ck);
/** The parts of @p a, whose current ETag is @p etag. @return 0, -ENOENT (not
 * a multipart object, or changed since), -errno. */
int s3_parts_get(struct vol *v, const struct vol_attr *a, const char *etag,
		 struct s3_obj_parts *out);
void s3_parts_fini(struct s3_obj_parts *l);
/** A copy of @p src (ETag @p etag) that keeps its multipart ETag keeps its
 * part sizes too (not their checksums: the copy's is its own). */
int s3_parts_copy(struct vol *v, const struct vol_attr *src, const char *etag, uint64_t dst);
/** The request's ?partNumber=: @return 1 (*pn set), 0 (none), -S3E_INVALID_ARGUMENT. */
int s3_part_number(struct s3_conn *c, unsigned *pn);
struct s3_part_read {
	uint64_t off, len;
	unsigned count; /* the object's parts */
	bool multipart;
	char ck_b64[48]; /* the part's checksum, if any */
};
/** Where part @p pn of @p a (ETag @p etag) is: @return 0,
 * -S3E_INVALID_PART_NUMBER, -errno. */
int s3_part_range(struct s3_conn *c, const struct vol_attr *a, const char *etag, unsigned pn,
		  struct s3_part_read *out);
/** With x-amz-checksum-mode: ENABLED, the stored checksum and its type (or,
 * for part @p pr of a multipart object, that part's checksum). */
void s3_checksum_emit(struct s3_conn *c, const struct vol_attr *a, const struct s3_part_read *pr);

/* ---- mpu_cksum.c: checksums of multipart uploads --------------------------------- */

/* On the upload directory: "ALGO TYPE" ("crc32 COMPOSITE"). */
#define S3_MPU_X_CKSUM "user.s3.mpu.checksum"
struct s3_mpu_cksum {
	const struct s3_cksum_algo *a; /* NULL: the upload has none */
	bool full;		       /* FULL_OBJECT, else COMPOSITE */
};
/** CreateMultipartUpload's x-amz-checksum-algorithm and -type. @return 0 or
 * -S3E_INVALID_REQUEST (message set). */
int s3_mpu_cksum_from_req(struct s3_conn *c, struct s3_mpu_cksum *out);
int s3_mpu_cksum_store(struct vol *v, uint64_t dir, const struct s3_mpu_cksum *k);
/** The upload's algorithm (k->a NULL if none). @return 0 or -errno. */
int s3_mpu_cksum_get(struct vol *v, uint64_t dir, struct s3_mpu_cksum *k);
const char *s3_mpu_cksum_type(const struct s3_mpu_cksum *k);
/** x-amz-checksum-algorithm and -type response headers, if it has one. */
void s3_mpu_cksum_headers(struct s3_conn *c, const struct s3_mpu_cksum *k);
/** A part carrying checksum @p name ("" for none): @return 0 or -S3E_INVALID_REQUEST. */
int s3_mpu_cksum_part(struct s3_conn *c, const struct s3_mpu_cksum *k, const char *name);
/** The object's checksum (base64, "" if none; 60 bytes) from @p parts, after
 * checking those @p l lists and the client's (a part without a valid record
 * has its checksum computed again from its bytes). @return 0, -S3E_INVALID_PART,
 * -S3E_BAD_DIGEST, -S3E_INVALID_REQUEST. */
int s3_mpu_cksum_complete(struct s3_conn *c, const struct s3_mpu_cksum *k,
			  const struct s3_complete_list *l, struct s3_mpu_part *parts, char *b64);
/** <ChecksumALGO>b64</ChecksumALGO> (and <ChecksumType>) for algorithm
 * @p name; nothing when @p b64 is empty. */
void s3_mpu_cksum_xml(struct s3_sbuf *b, const char *name, const char *b64, bool with_type);

/* ---- obj_attrs.c ------------------------------------------------------------------ */

extern const struct s3_handler s3_op_object_attributes;

/* ---- tmp_sweep.c ------------------------------------------------------------------------ */

/** Note the start time (before serving anything). */
void s3_tmp_sweep_prepare(struct s3_server *s);
/** Start removing, in a thread, the temporary files an earlier process left. */
int s3_tmp_sweep_start(struct s3_server *s);
void s3_tmp_sweep_stop(struct s3_server *s);

/* ---- obj_put.c helpers shared with copy and multipart --------------------------------------- */

/** A temporary file beside the target, written sequentially and renamed into place. */
struct s3_tmpfile {
	struct vol *v;
	uint64_t dir;
	char name[64];
	uint64_t ino; /* holds one reference */
	uint64_t off;
	char *buf; /* write-behind buffer */
	size_t blen;
	bool open;
};
int s3_tmp_open(struct vol *v, uint64_t dir, struct s3_tmpfile *t);
/** Choose this process's mark for temporary file names (at server start). */
int s3_tmp_token_init(void);
/** Whether temporary file @p name was made by this process. */
bool s3_tmp_is_ours(const char *name);
int s3_tmp_write(struct s3_tmpfile *t, const void *data, size_t len);
int s3_tmp_flush(struct s3_tmpfile *t);
/** Copy @p len bytes of @p src from @p off into the temp file. */
int s3_tmp_copy_from(struct s3_tmpfile *t, uint64_t src, uint64_t off, uint64_t len,
		     struct s3_hash *h);
/** Rename the temp file onto @p name (checking that @p name is not a directory).
 * @return 0 or -errno / -S3E_KEY_IS_PREFIX. */
int s3_tmp_commit(struct s3_conn *c, struct s3_tmpfile *t, const char *name);
/**
 * s3_tmp_commit, if @p exp (from s3_write_cond) still holds when the name
 * is replaced: -S3E_PRECONDITION_FAILED if not. @p exp NULL: unconditional.
 */
int s3_tmp_commit_if(struct s3_conn *c, struct s3_tmpfile *t, const char *name,
		     const struct vol_expect *exp);
/* obj_cond.c */
/** True if @p etag is in the If-Match style @p list ("*", quoted or not). */
bool s3_etag_in(const char *list, const char *etag);
/**
 * Read the request's If-None-Match / If-Match for a write (or, with
 * @p for_delete, a delete) of @p name in @p dir: *on says whether there is
 * a condition; @p exp is what the engine must find at the commit.
 * @return 0, -S3E_PRECONDITION_FAILED, -S3E_NO_SUCH_KEY (If-Match on no
 * object), -S3E_NOT_IMPLEMENTED (a form S3 does not take on writes).
 */
int s3_write_cond(struct s3_conn *c, uint64_t dir, const char *name, bool for_delete,
		  struct vol_expect *exp, bool *on);
/**
 * s3_write_cond when the request begins (before its body, copy or
 * assembly), remembered in the request: a condition that held then and
 * fails at the commit was broken by a write that finished meanwhile.
 * @return as s3_write_cond.
 */
int s3_write_precheck(struct s3_conn *c, uint64_t dir, const char *name, bool for_delete);
/**
 * The answer for @p rc at a conditional commit: -S3E_PRECONDITION_FAILED
 * becomes -S3E_CONDITIONAL_CONFLICT (409, retry) when the precheck passed.
 */
int s3_cond_outcome(struct s3_conn *c, int rc);
/** Remove the temp file if it is still there, drop the reference. */
void s3_tmp_discard(struct s3_tmpfile *t);

/** Resolve x-amz-copy-source ("[/]bucket/key", %-encoded) to its file and check
 * read access to it. @return 0 (*src, one reference on src->ino), -S3E_*. */
int s3_copy_source(struct s3_conn *c, struct vol_attr *src);
/** Check x-amz-copy-source-if-* against the source. @return 0 or -S3E_PRECONDITION_FAILED. */
int s3_copy_preconditions(struct s3_conn *c, const char *etag, time_t mtime);

/** Parse a Range header against @p size: @return 1 (range set), 0 (no or
 * ignored range), -S3E_INVALID_RANGE. */
int s3_range_parse(const char *h, uint64_t size, uint64_t *off, uint64_t *len);

#endif
