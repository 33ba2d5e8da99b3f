/* The CORS operations: PutBucketCors, GetBucketCors, DeleteBucketCors on
 * ?cors, and the unauthenticated OPTIONS preflight of /bucket[/key], which
 * answers from the bucket's rules (cors.c) as S3 does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/s3/s3_int.h"

/* The bucket's directory, or an error response sent. */
static bool cors_bucket(struct s3_conn *c, uint64_t *ino)
{
	int rc = s3_bucket_lookup(c->srv->v, c->req.bucket, ino);

	if (rc)
		s3_resp_error(c, rc);
	return !rc;
}

static int put_cors_start(struct s3_conn *c)
{
	/* S3 requires an integrity check on this call (body.c verifies it). */
	if (!s3_req_has_integrity(c, false)) {
		s3_req_errmsg(c, "Missing required header for this request: Content-MD5 (or an "
				 "x-amz-checksum-* header) on PutBucketCors");
		return -S3E_INVALID_REQUEST;
	}
	return 0;
}

static void put_cors_done(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	struct s3_cors cfg;
	struct s3_sbuf xml = {0};
	char why[200] = "";
	uint64_t ino;
	int rc;

	rc = s3_cors_parse(r->body.p ? r->body.p : "", r->body.len, &cfg, why, sizeof(why));
	if (rc) {
		s3_req_errmsg(c, "The CORS configuration for bucket %s is not valid: %s", r->bucket,
			      why[0] ? why : "malformed XML");
		s3_resp_error(c, rc);
		return;
	}
	s3_cors_to_xml(&cfg, &xml);
	s3_cors_fini(&cfg);
	if (xml.oom) {
		s3_sb_free(&xml);
		s3_resp_error(c, -ENOMEM);
		return;
	}
	if (!cors_bucket(c, &ino)) {
		s3_sb_free(&xml);
		return;
	}
	rc = vol_setxattr(c->srv->v, ino, S3_CORS_X, xml.p, xml.len, 0);
	if (!rc && !c->srv->cfg.no_sync)
		rc = vol_fsync(c->srv->v, ino, false);
	vol_forget(c->srv->v, ino, 1);
	s3_sb_free(&xml);
	if (rc == -E2BIG || rc == -ENOSPC) {
		s3_req_errmsg(c,
			      "The CORS configuration for bucket %s is too large to keep "
			      "(at most 64 KiB once written back): use fewer or shorter rules",
			      r->bucket);
		rc = -S3E_INVALID_REQUEST;
	}
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	s3_resp_start(c, 200);
	s3_resp_finish(c, "", 0);
}

const struct s3_handler s3_op_put_cors = {
	.name = "PutBucketCors",
	.write = true,
	.small_body = true,
	.start = put_cors_start,
	.done = put_cors_done,
};

static void get_cors_done(struct s3_conn *c)
{
	struct s3_cors cfg;
	struct s3_sbuf xml = {0};
	uint64_t ino;
	int rc;

	if (!cors_bucket(c, &ino))
		return;
	rc = s3_cors_load(c->srv->v, ino, &cfg);
	vol_forget(c->srv->v, ino, 1);
	if (rc == -ENOENT) {
		s3_req_errmsg(c,
			      "The bucket %s has no CORS configuration (set one with "
			      "PutBucketCors)",
			      c->req.bucket);
		rc = -S3E_NO_SUCH_CORS_CONFIGURATION;
	}
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	s3_cors_to_xml(&cfg, &xml);
	s3_cors_fini(&cfg);
	s3_resp_xml(c, &xml);
}

const struct s3_handler s3_op_get_cors = {
	.name = "GetBucketCors",
	.done = get_cors_done,
};

static void delete_cors_done(struct s3_conn *c)
{
	uint64_t ino;
	int rc;

	if (!cors_bucket(c, &ino))
		return;
	rc = vol_removexattr(c->srv->v, ino, S3_CORS_X);
	if (rc == -ENODATA || rc == -ENOENT)
		rc = 0; /* S3 answers 204 for a bucket without one too */
	if (!rc && !c->srv->cfg.no_sync)
		rc = vol_fsync(c->srv->v, ino, false);
	vol_forget(c->srv->v, ino, 1);
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	s3_resp_start(c, 204);
	s3_resp_finish(c, NULL, 0);
}

const struct s3_handler s3_op_delete_cors = {
	.name = "DeleteBucketCors",
	.write = true,
	.done = delete_cors_done,
};

const struct s3_handler *s3_cors_op(const struct s3_req *r)
{
	if (!strcmp(r->method, "GET"))
		return &s3_op_get_cors;
	if (!strcmp(r->method, "PUT"))
		return &s3_op_put_cors;
	if (!strcmp(r->method, "DELETE"))
		return &s3_op_delete_cors;
	return NULL;
}

/* ---- OPTIONS preflight ------------------------------------------------------------------ */

static void preflight_done(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	const char *origin = s3_hdr(r, "origin");
	const char *method = s3_hdr(r, "access-control-request-method");
	const char *hdrs = s3_hdr(r, "access-control-request-headers");
	const struct s3_cors_rule *rule;
	struct s3_cors cfg;
	uint64_t ino;
	int rc;

	if (!origin || !*origin) {
		s3_req_errmsg(c,
			      "Insufficient information. Origin request header needed (a CORS "
			      "preflight of bucket %s must name its Origin)",
			      r->bucket);
		s3_resp_error(c, -S3E_BAD_REQUEST);
		return;
	}
	if (!method || !*method) {
		s3_req_errmsg(c,
			      "Invalid Access-Control-Request-Method: null (a CORS preflight "
			      "of bucket %s must name the method it asks for)",
			      r->bucket);
		s3_resp_error(c, -S3E_BAD_REQUEST);
		return;
	}
	if (!cors_bucket(c, &ino))
		return;
	rc = s3_cors_load(c->srv->v, ino, &cfg);
	vol_forget(c->srv->v, ino, 1);
	if (rc == -ENOENT) {
		s3_req_errmsg(c,
			      "CORSResponse: This CORS request is not allowed. The bucket %s has "
			      "no CORS configuration (PutBucketCors sets one)",
			      r->bucket);
		s3_resp_error(c, -S3E_CORS_FORBIDDEN);
		return;
	}
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	rule = s3_cors_match(&cfg, origin, method, hdrs);
	if (!rule) {
		s3_cors_fini(&cfg);
		s3_req_errmsg(c,
			      "CORSResponse: This CORS request is not allowed. This is usually "
			      "because the evalution of Origin, request method / "
			      "Access-Control-Request-Method or Access-Control-Request-Headers "
			      "are not whitelisted by the CORS configuration of bucket %s",
			      r->bucket);
		s3_resp_error(c, -S3E_CORS_FORBIDDEN);
		return;
	}
	s3_resp_start(c, 200);
	s3_cors_emit(c, rule, origin, true);
	s3_cors_fini(&cfg);
	s3_resp_finish(c, "", 0);
}

const struct s3_handler s3_op_cors_preflight = {
	.name = "PreflightCors",
	.done = preflight_done,
};
