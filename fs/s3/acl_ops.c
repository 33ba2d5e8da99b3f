/* The ACL operations on ?acl: GetBucketAcl, GetObjectAcl and PutBucketAcl /
 * PutObjectAcl (x-amz-acl, or an AccessControlPolicy that is one of the
 * two canned ACLs acl.c keeps). */
#include <errno.h>
#include <string.h>

#include "fs/s3/s3_int.h"

/* The bucket directory or the key's inode (one reference), or an error sent. */
static bool target(struct s3_conn *c, uint64_t *ino)
{
	struct s3_req *r = &c->req;
	struct vol_attr a;
	int rc;

	if (!r->key || !r->key[0]) {
		rc = s3_bucket_lookup(c->srv->v, r->bucket, ino);
	} else {
		rc = s3_key_lookup(c, r->bucket, r->key, &a);
		*ino = a.ino;
	}
	if (rc)
		s3_resp_error(c, rc);
	return !rc;
}

static void get_acl_done(struct s3_conn *c)
{
	uint64_t ino;
	bool public;

	if (!target(c, &ino))
		return;
	public = s3_acl_public(c->srv->v, ino);
	vol_forget(c->srv->v, ino, 1);
	s3_acl_respond(c, public);
}

const struct s3_handler s3_op_bucket_acl = {
	.name = "GetBucketAcl",
	.done = get_acl_done,
};

const struct s3_handler s3_op_object_acl = {
	.name = "GetObjectAcl",
	.done = get_acl_done,
};

static void put_acl_done(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	const char *h = s3_hdr(r, "x-amz-acl");
	bool public = false;
	uint64_t ino;
	int rc;

	if (h && r->body.len) {
		s3_req_errmsg(c, "Send either x-amz-acl or an AccessControlPolicy, not both");
		rc = -S3E_INVALID_REQUEST;
	} else if (h) {
		rc = s3_acl_canned(c, h, &public);
	} else if (r->body.len) {
		rc = s3_acl_parse_policy(c, r->body.p, r->body.len, &public);
	} else {
		s3_req_errmsg(c, "PutAcl needs x-amz-acl (private or public-read) or an "
				 "AccessControlPolicy");
		rc = -S3E_INVALID_REQUEST;
	}
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	if (!target(c, &ino))
		return;
	rc = s3_acl_store(c->srv->v, ino, public);
	if (!rc && !c->srv->cfg.no_sync)
		rc = vol_fsync(c->srv->v, ino, false);
	vol_forget(c->srv->v, ino, 1);
	if (!rc && (!r->key || !r->key[0]))
		s3_public_note(c->srv);
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	s3_resp_start(c, 200);
	s3_resp_finish(c, "", 0);
}

const struct s3_handler s3_op_put_acl = {
	.name = "PutAcl",
	.write = true,
	.small_body = true,
	.done = put_acl_done,
};
