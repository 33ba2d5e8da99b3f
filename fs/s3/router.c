/* Request routing: split the URL into bucket, key and query (path-style and
 * virtual-hosted-style addressing), authenticate, check access, and pick the
 * operation from the method and the query's subresources. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/base/log.h"
#include "fs/s3/s3_int.h"

static int health_done_start(struct s3_conn *c)
{
	return 0;
}

static void health_done(struct s3_conn *c)
{
	s3_resp_start(c, 200);
	s3_resp_hdr(c, "Content-Type", "text/plain");
	s3_resp_finish(c, "ok", 2);
}

static const struct s3_handler op_health = {"Health",	       false, false,	   0,
					    health_done_start, NULL,  health_done, NULL};

static void not_impl_done(struct s3_conn *c)
{
	s3_resp_error(c, -S3E_NOT_IMPLEMENTED);
}

static const struct s3_handler op_not_implemented = {"NotImplemented", false, false, 0, NULL, NULL,
						     not_impl_done,    NULL};

static int parse_query(struct s3_req *r)
{
	const char *q = r->query_raw;

	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);
		const char *eq = memchr(q, '=', len);
		size_t nlen = eq ? (size_t)(eq - q) : len;

		if (len) {
			struct s3_kv *kv = realloc(r->q, (r->nq + 1) * sizeof(*kv));
			if (!kv)
				return -ENOMEM;
			r->q = kv;
			kv = &r->q[r->nq];
			kv->name = strndup(q, nlen);
			kv->value = eq ? strndup(eq + 1, len - nlen - 1) : strdup("");
			r->nq++;
			if (!kv->name || !kv->value)
				return -ENOMEM;
			if (s3_uri_decode(kv->name, strlen(kv->name), true) < 0 ||
			    s3_uri_decode(kv->value, strlen(kv->value), true) < 0)
				return -S3E_INVALID_ARGUMENT;
		}
		q = amp ? amp + 1 : q + len;
	}
	return 0;
}

/* BUCKET.DOMAIN[:port] -> BUCKET, else NULL. */
static char *vhost_bucket(struct s3_server *s, const char *host)
{
	size_t hl, dl = strlen(s->vhost_domain);
	const char *colon;

	if (!host)
		return NULL;
	colon = strrchr(host, ':');
	hl = colon && !strchr(colon, ']') ? (size_t)(colon - host) : strlen(host);
	if (hl <= dl + 1 || host[hl - dl - 1] != '.' ||
	    strncasecmp(host + hl - dl, s->vhost_domain, dl))
		return NULL;
	return strndup(host, hl - dl - 1);
}

static int split_url(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	const char *url = r->url.p ? r->url.p : "/";
	const char *qm = strchr(url, '?');
	char *path, *p;
	ssize_t n;
	int rc;

	if (url[0] != '/')
		return -S3E_BAD_REQUEST; /* absolute-form and * are not for us */
	r->path_raw = qm ? strndup(url, (size_t)(qm - url)) : strdup(url);
	if (!r->path_raw)
		return -ENOMEM;
	if (qm) {
		r->query_raw = strdup(qm + 1);
		if (!r->query_raw)
			return -ENOMEM;
	}
	rc = parse_query(r);
	if (rc)
		return rc;
	path = strdup(r->path_raw);
	if (!path)
		return -ENOMEM;
	n = s3_uri_decode(path, strlen(path), false);
	if (n < 0) {
		free(path);
		s3_req_errmsg(c, "The URL path has a bad %%-escape or a NUL byte");
		return -S3E_INVALID_ARGUMENT;
	}
	r->bucket = vhost_bucket(c->srv, s3_hdr(r, "host"));
	if (r->bucket) {
		r->key = strdup(path + 1);
	} else {
		p = path + 1;
		char *slash = strchr(p, '/');
		if (*p)
			r->bucket = slash ? strndup(p, (size_t)(slash - p)) : strdup(p);
		r->key = strdup(slash ? slash + 1 : "");
	}
	free(path);
	if (!r->key || (r->bucket && !r->bucket[0])) {
		if (!r->key)
			return -ENOMEM;
		free(r->bucket);
		r->bucket = NULL;
	}
	return 0;
}

/* Bucket subresources we do not implement: better a clear NotImplemented than
 * a listing the client would misread. */
static const char *const unsupported_sub[] = {
	"accelerate",  "analytics",	    "cors",    "encryption",   "intelligent-tiering",
	"inventory",   "lifecycle",	    "logging", "metrics",      "notification",
	"object-lock", "ownershipControls", "policy",  "policyStatus", "publicAccessBlock",
	"replication", "requestPayment",    "website", "legal-hold",   "retention",
	"torrent",     "restore",	    "select",  "attributes",
};

static const struct s3_handler *pick_service(struct s3_conn *c)
{
	if (!strcmp(c->req.method, "GET"))
		return &s3_op_list_buckets;
	return NULL;
}

static const struct s3_handler *pick_bucket(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	const char *m = r->method;
	const struct s3_handler *cfg;

	if (s3_qhas(r, "cors"))
		return s3_cors_op(r); /* cors_ops.c */
	if (s3_post_object_req(r))
		return &s3_op_post_object; /* obj_post.c: a browser form upload */
	if (s3_qhas(r, "tagging"))
		return s3_tagging_op(r); /* tagging_ops.c */
	cfg = s3_bucket_config_op(r);
	if (cfg)
		return cfg; /* GET ?policy etc.: the 404 for "none set" */
	for (size_t i = 0; i < sizeof(unsupported_sub) / sizeof(unsupported_sub[0]); i++)
		if (s3_qhas(r, unsupported_sub[i]))
			return &op_not_implemented;
	if (!strcmp(m, "GET")) {
		if (s3_qhas(r, "location"))
			return &s3_op_bucket_location;
		if (s3_qhas(r, "versioning"))
			return &s3_op_bucket_versioning;
		if (s3_qhas(r, "acl"))
			return &s3_op_bucket_acl;
		if (s3_qhas(r, "uploads"))
			return &s3_op_mpu_list_uploads;
		if (s3_qhas(r, "versions"))
			return &s3_op_list_versions;
		return &s3_op_list_objects;
	}
	if (!strcmp(m, "HEAD"))
		return &s3_op_head_bucket;
	if (!strcmp(m, "PUT")) {
		if (s3_qhas(r, "acl"))
			return &s3_op_put_acl;
		if (s3_qhas(r, "versioning"))
			return &op_not_implemented;
		return &s3_op_create_bucket;
	}
	if (!strcmp(m, "DELETE"))
		return &s3_op_delete_bucket;
	if (!strcmp(m, "POST") && s3_qhas(r, "delete"))
		return &s3_op_delete_objects;
	return NULL;
}

static const struct s3_handler *pick_object(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	const char *m = r->method;

	if (!strcmp(m, "GET") && s3_qhas(r, "attributes"))
		return &s3_op_object_attributes; /* in unsupported_sub for buckets */
	if (s3_qhas(r, "tagging"))
		return s3_tagging_op(r);
	for (size_t i = 0; i < sizeof(unsupported_sub) / sizeof(unsupported_sub[0]); i++)
		if (s3_qhas(r, unsupported_sub[i]))
			return &op_not_implemented;
	if (!strcmp(m, "GET")) {
		if (s3_qhas(r, "acl"))
			return &s3_op_object_acl;
		if (s3_qhas(r, "uploadId"))
			return &s3_op_mpu_list_parts;
		return &s3_op_get_object;
	}
	if (!strcmp(m, "HEAD"))
		return &s3_op_head_object;
	if (!strcmp(m, "PUT")) {
		if (s3_qhas(r, "uploadId") && s3_qhas(r, "partNumber"))
			return s3_hdr(r, "x-amz-copy-source") ? &s3_op_mpu_part_copy
							      : &s3_op_mpu_part;
		if (s3_qhas(r, "acl"))
			return &s3_op_put_acl;
		if (s3_hdr(r, "x-amz-copy-source"))
			return &s3_op_copy_object;
		return &s3_op_put_object;
	}
	if (!strcmp(m, "POST")) {
		if (s3_qhas(r, "uploads"))
			return &s3_op_mpu_create;
		if (s3_qhas(r, "uploadId"))
			return &s3_op_mpu_complete;
		return NULL;
	}
	if (!strcmp(m, "DELETE")) {
		if (s3_qhas(r, "uploadId"))
			return &s3_op_mpu_abort;
		return &s3_op_delete_object;
	}
	return NULL;
}

static bool is_health(struct s3_conn *c)
{
	struct s3_req *r = &c->req;

	return !strcmp(r->method, "GET") && !strcmp(r->path_raw, "/health") && !r->nq &&
	       !s3_hdr(r, "authorization");
}

static void payload_from_header(struct s3_req *r)
{
	const char *p = s3_hdr(r, "x-amz-content-sha256");

	r->payload = S3_PAYLOAD_UNSIGNED;
	if (!p)
		return;
	if (!strcmp(p, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"))
		r->payload = S3_PAYLOAD_STREAM_SIGNED;
	else if (!strcmp(p, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"))
		r->payload = S3_PAYLOAD_STREAM_SIGNED_TRAILER;
	else if (!strcmp(p, "STREAMING-UNSIGNED-PAYLOAD-TRAILER"))
		r->payload = S3_PAYLOAD_STREAM_UNSIGNED_TRAILER;
	else if (strlen(p) == 64 && strspn(p, "0123456789abcdef") == 64) {
		r->payload = S3_PAYLOAD_SHA256;
		memcpy(r->payload_sha256, p, 65);
	}
}

int s3_route(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	struct s3_server *s = c->srv;
	const struct s3_handler *h;
	int rc;

	rc = split_url(c);
	if (rc)
		return rc;
	if (is_health(c)) {
		r->h = &op_health;
		return 0;
	}
	rc = s3_metrics_route(c);
	if (rc <= 0)
		return rc;
	if (r->bucket && !strcmp(r->method, "OPTIONS")) {
		/* A CORS preflight: unauthenticated, as in S3 (cors_ops.c). */
		if (s3_bucket_req_check(r->bucket))
			return -S3E_INVALID_BUCKET_NAME;
		r->h = &s3_op_cors_preflight;
		return 0;
	}
	if (!r->bucket)
		h = pick_service(c);
	else if (!r->key[0])
		h = pick_bucket(c);
	else
		h = pick_object(c);
	if (!h)
		return -S3E_METHOD_NOT_ALLOWED;
	r->h = h;

	if (r->bucket && s3_bucket_req_check(r->bucket))
		return -S3E_INVALID_BUCKET_NAME;
	if (r->key[0]) {
		rc = s3_key_check(c, r->key);
		if (rc)
			return rc;
	}

	if (h == &s3_op_post_object)
		return s3_refuse_unsupported(c); /* the form carries its own signature */
	if (s->cfg.no_auth) {
		payload_from_header(r);
		return s3_refuse_unsupported(c);
	}
	rc = s3_sigv4_check(c, time(NULL));
	if (rc)
		return rc;
	if (!s3_auth_allows(s3_req_auth(c), r->id.access_key, r->bucket, h->write) &&
	    !s3_acl_allows(c, h)) /* public-read (acl.c) */
		return -S3E_ACCESS_DENIED;
	return s3_refuse_unsupported(c);
}
