/* DeleteObject and DeleteObjects: unlink the key's file (deleting a missing
 * key succeeds, as in S3), then remove the directories that S3 made for it
 * once they are empty. A directory marker's key ("a/b/") removes the empty
 * directory; a non-empty one is kept (204 all the same) and only loses its
 * marker. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/base/log.h"
#include "fs/s3/s3_int.h"

/* @p cond: the request's If-Match applies (DeleteObject, not DeleteObjects). */
static int delete_key(struct s3_conn *c, const char *bucket, const char *key, bool cond)
{
	struct vol *v = c->srv->v;
	struct s3_path p;
	uint64_t bino;
	size_t klen = strlen(key);
	int rc;

	rc = s3_key_check(NULL, key);
	if (rc)
		return rc;
	rc = s3_bucket_lookup(v, bucket, &bino);
	if (rc)
		return rc;
	rc = s3_path_resolve(c, bino, key, false, &p);
	if (rc == -S3E_NO_SUCH_KEY)
		return cond && s3_hdr(&c->req, "if-match") ? -S3E_NO_SUCH_KEY : 0;
	if (rc)
		return rc;
	if (key[klen - 1] == '/') {
		/* A directory marker: remove the directory if it is empty. One
		 * with children stays, as the prefix of their keys, but loses
		 * its marker (and the marker's metadata) and is removed with
		 * the last of them, as S3 would forget the prefix. */
		if (p.ndirs > 1) {
			char name[256];
			unsigned i = p.ndirs - 1;
			memcpy(name, key + p.seg_off[i], p.seg_len[i]);
			name[p.seg_len[i]] = '\0';
			rc = vol_rmdir(v, p.dirs[i - 1], name);
			if (!rc) {
				s3_notify(c->srv, p.dirs[i - 1], name, 0);
				vol_forget(v, p.dirs[i], 1);
				p.ndirs--;
			} else if (rc == -ENOTEMPTY || rc == -EEXIST) {
				rc = s3_dir_unmark(v, p.dirs[i]);
				if (rc)
					goto out_release;
			} else if (rc == -ENOENT) {
				rc = 0;
			} else {
				goto out_release;
			}
		}
	} else {
		struct vol_expect exp;
		bool on = false;
		if (cond) {
			rc = s3_write_cond(c, p.dirs[p.ndirs - 1], p.name, true, &exp, &on);
			if (rc)
				goto out_release;
			c->req.cond_prechecked = on;
		}
		rc = on ? vol_unlink_if(v, p.dirs[p.ndirs - 1], p.name, &exp)
			: vol_unlink(v, p.dirs[p.ndirs - 1], p.name);
		if (on && rc == -ESTALE) {
			/* replaced or written meanwhile */
			rc = s3_cond_outcome(c, -S3E_PRECONDITION_FAILED);
			goto out_release;
		}
		if (on && rc == -ENOENT) {
			rc = -S3E_NO_SUCH_KEY;
			goto out_release;
		}
		if (rc == -ENOENT) {
			rc = 0;
		} else if (rc == -EISDIR) {
			/* The key is a prefix, not an object: nothing to delete. */
			rc = 0;
			goto out_release;
		} else if (rc) {
			goto out_release;
		} else {
			s3_notify(c->srv, p.dirs[p.ndirs - 1], p.name, 0);
		}
	}
	s3_path_prune(c, &p);
out_release:
	s3_path_release(v, &p);
	return rc;
}

static void delete_done(struct s3_conn *c)
{
	int rc = delete_key(c, c->req.bucket, c->req.key, true);

	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	s3_resp_start(c, 204);
	s3_resp_finish(c, NULL, 0);
}

const struct s3_handler s3_op_delete_object = {
	.name = "DeleteObject",
	.write = true,
	.done = delete_done,
};

/* As S3 does, DeleteObjects must carry Content-MD5 or a flexible checksum
 * (checked against the body by body.c), so that a damaged list cannot
 * delete other keys. */
static int delete_many_start(struct s3_conn *c)
{
	if (!s3_req_has_integrity(c, false)) {
		s3_req_errmsg(c, "Missing required header for this request: Content-MD5 or "
				 "x-amz-checksum-crc32, -crc32c, -crc64nvme, -sha1 or -sha256");
		return -S3E_INVALID_REQUEST;
	}
	return 0;
}

static void delete_many_done(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	struct s3_delete_list d;
	struct s3_sbuf b = {0};
	uint64_t bino;
	int rc;

	if (!s3_req_has_integrity(c, true)) {
		s3_req_errmsg(c, "The trailer announced by x-amz-trailer did not come: the "
				 "DeleteObjects body cannot be verified");
		s3_resp_error(c, -S3E_INVALID_REQUEST);
		return;
	}

	rc = s3_bucket_lookup(c->srv->v, r->bucket, &bino);
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	vol_forget(c->srv->v, bino, 1);
	rc = s3_xml_parse_delete(r->body.p ? r->body.p : "", r->body.len, &d);
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	s3_xml_begin(&b, "DeleteResult");
	for (size_t i = 0; i < d.n; i++) {
		rc = delete_key(c, r->bucket, d.keys[i], false);
		if (!rc) {
			if (d.quiet)
				continue;
			s3_xml_open(&b, "Deleted");
			s3_xml_text(&b, "Key", d.keys[i]);
			s3_xml_close(&b, "Deleted");
		} else {
			const struct s3_errinfo *e = s3_err_info(rc);
			s3_xml_open(&b, "Error");
			s3_xml_text(&b, "Key", d.keys[i]);
			s3_xml_text(&b, "Code", e->code);
			s3_xml_text(&b, "Message", e->message);
			s3_xml_close(&b, "Error");
		}
	}
	s3_xml_close(&b, "DeleteResult");
	s3_delete_list_fini(&d);
	s3_resp_xml(c, &b);
}

const struct s3_handler s3_op_delete_objects = {
	.name = "DeleteObjects",
	.write = true,
	.small_body = true,
	.start = delete_many_start,
	.done = delete_many_done,
};
