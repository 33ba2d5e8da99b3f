/* The tagging operations on ?tagging: Put/Get/DeleteObjectTagging on a key
 * (an object, or the directory of a marker key "a/b/") and
 * Put/Get/DeleteBucketTagging on a bucket, kept as tagging.c keeps them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs/s3/s3_int.h"

static bool on_bucket(const struct s3_req *r)
{
	return !r->key || !r->key[0];
}

/* The bucket directory or the key's inode (one reference), or an error sent. */
static bool target(struct s3_conn *c, uint64_t *ino)
{
	struct s3_req *r = &c->req;
	struct vol_attr a;
	int rc;

	if (on_bucket(r)) {
		rc = s3_bucket_lookup(c->srv->v, r->bucket, ino);
	} else {
		rc = s3_key_lookup(c, r->bucket, r->key, &a);
		*ino = a.ino;
	}
	if (rc)
		s3_resp_error(c, rc);
	return !rc;
}

static const char *what(const struct s3_req *r)
{
	return on_bucket(r) ? "bucket" : "object";
}

static int put_start(struct s3_conn *c)
{
	/* S3 requires an integrity check on both calls (body.c verifies it). */
	if (!s3_req_has_integrity(c, false)) {
		s3_req_errmsg(c,
			      "Missing required header for this request: Content-MD5 (or an "
			      "x-amz-checksum-* header) on Put%sTagging",
			      on_bucket(&c->req) ? "Bucket" : "Object");
		return -S3E_INVALID_REQUEST;
	}
	return 0;
}

static void put_done(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	size_t max = on_bucket(r) ? S3_TAGS_BUCKET_MAX : S3_TAGS_OBJECT_MAX;
	struct s3_tags t;
	char why[300] = "";
	uint64_t ino;
	int rc;

	if (!s3_req_has_integrity(c, true)) {
		s3_req_errmsg(c, "The trailer announced by x-amz-trailer did not come: the "
				 "tag set cannot be verified");
		s3_resp_error(c, -S3E_INVALID_REQUEST);
		return;
	}
	rc = s3_tags_parse_xml(r->body.p ? r->body.p : "", r->body.len, max, &t, why, sizeof(why));
	if (rc) {
		if (why[0])
			s3_req_errmsg(c, "The tag set for %s %s%s%s is not valid: %s", what(r),
				      r->bucket, on_bucket(r) ? "" : "/",
				      on_bucket(r) ? "" : r->key, why);
		s3_resp_error(c, rc);
		return;
	}
	if (!target(c, &ino)) {
		s3_tags_fini(&t);
		return;
	}
	rc = s3_tags_store(c->srv->v, ino, &t);
	if (!rc && !c->srv->cfg.no_sync)
		rc = vol_fsync(c->srv->v, ino, false);
	vol_forget(c->srv->v, ino, 1);
	s3_tags_fini(&t);
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	/* PutBucketTagging answers 204, PutObjectTagging 200. */
	s3_resp_start(c, on_bucket(r) ? 204 : 200);
	s3_resp_finish(c, on_bucket(r) ? NULL : "", 0);
}

static void get_done(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	struct s3_sbuf xml = {0};
	struct s3_tags t;
	char why[300] = "";
	uint64_t ino;
	int rc;

	if (!target(c, &ino))
		return;
	rc = s3_tags_load(c->srv->v, ino, &t, why, sizeof(why));
	vol_forget(c->srv->v, ino, 1);
	if (rc == -ENODATA && on_bucket(r)) {
		s3_req_errmsg(c, "The bucket %s has no tag set (set one with PutBucketTagging)",
			      r->bucket);
		rc = -S3E_NO_SUCH_TAG_SET;
	} else if (rc == -ENODATA) {
		rc = 0; /* an object without tags has an empty TagSet */
	} else if (rc == -EUCLEAN) {
		s3_req_errmsg(c,
			      "The tag set kept in the xattr " S3_TAGGING_X " of %s %s%s%s is not "
			      "valid (%s): set it again with Put%sTagging, or fix or remove the "
			      "xattr through the mount",
			      what(r), r->bucket, on_bucket(r) ? "" : "/",
			      on_bucket(r) ? "" : r->key, why, on_bucket(r) ? "Bucket" : "Object");
		rc = -S3E_INTERNAL;
	}
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	s3_tags_to_xml(&t, &xml);
	s3_tags_fini(&t);
	s3_resp_xml(c, &xml);
}

static void delete_done(struct s3_conn *c)
{
	uint64_t ino;
	int rc;

	if (!target(c, &ino))
		return;
	rc = s3_tags_store(c->srv->v, ino, NULL);
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

static const struct s3_handler op_put_bucket = {
	.name = "PutBucketTagging",
	.write = true,
	.small_body = true,
	.start = put_start,
	.done = put_done,
};
static const struct s3_handler op_get_bucket = {
	.name = "GetBucketTagging",
	.done = get_done,
};
static const struct s3_handler op_delete_bucket = {
	.name = "DeleteBucketTagging",
	.write = true,
	.done = delete_done,
};
static const struct s3_handler op_put_object = {
	.name = "PutObjectTagging",
	.write = true,
	.small_body = true,
	.start = put_start,
	.done = put_done,
};
static const struct s3_handler op_get_object = {
	.name = "GetObjectTagging",
	.done = get_done,
};
static const struct s3_handler op_delete_object = {
	.name = "DeleteObjectTagging",
	.write = true,
	.done = delete_done,
};

const struct s3_handler *s3_tagging_op(const struct s3_req *r)
{
	bool b = on_bucket(r);

	if (!strcmp(r->method, "PUT"))
		return b ? &op_put_bucket : &op_put_object;
	if (!strcmp(r->method, "GET"))
		return b ? &op_get_bucket : &op_get_object;
	if (!strcmp(r->method, "DELETE"))
		return b ? &op_delete_bucket : &op_delete_object;
	return NULL;
}
