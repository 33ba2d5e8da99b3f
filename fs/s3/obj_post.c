/* POST Object: a browser form upload to POST /bucket (multipart/form-data).
 * The fields before the file are collected (at most 20 KiB, as S3); when
 * the file part begins the form's SigV4 policy signature, the key's write
 * access and every policy condition are checked, and only then does the
 * file stream into a temporary file beside the key (obj_put.c's helpers),
 * renamed onto it once the whole body is in. Nothing is written for a form
 * that fails, and a file larger than the policy's content-length-range is
 * cut off and removed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/base/log.h"
#include "fs/s3/s3_int.h"

#define FIELDS_MAX (20 * 1024)
#define POLICY_MAX (16 * 1024)
#define META_MAX 2048

struct post_op {
	struct s3_form form;
	struct s3_post_fields fields;
	struct s3_sbuf val; /* the field being read */
	char cur[S3_FORM_NAME_MAX + 1];
	size_t field_bytes;
	bool in_file, file_seen, file_done, ignore;
	uint64_t min, max, size;
	struct s3_path path;
	bool have_path, committed;
	struct s3_tmpfile tmp;
	struct s3_hash hash;
	bool hash_on;
	struct s3_tags tags; /* from the field "tagging", a <Tagging> document */
	bool public;	     /* the field acl is public-read */
};

bool s3_post_object_req(const struct s3_req *r)
{
	const char *ct = s3_hdr(r, "content-type");

	return !strcmp(r->method, "POST") && !s3_qhas(r, "delete") && ct &&
	       !strncasecmp(ct, "multipart/form-data", 19);
}

static const char *field(struct post_op *op, const char *name)
{
	struct s3_post_field *f = s3_post_field_get(&op->fields, name);

	return f ? f->value : NULL;
}

/* x-amz-* fields the upload honours; any other is refused, never ignored. */
static int check_fields(struct s3_conn *c, struct post_op *op)
{
	static const char *const ok[] = {"x-amz-algorithm", "x-amz-credential", "x-amz-date",
					 "x-amz-signature", "x-amz-security-token"};

	for (size_t i = 0; i < op->fields.n; i++) {
		const char *n = op->fields.f[i].name, *v = op->fields.f[i].value;
		bool known = !strncmp(n, "x-amz-meta-", 11) && n[11];

		for (size_t k = 0; k < sizeof(ok) / sizeof(ok[0]); k++)
			known |= !strcmp(n, ok[k]);
		if (!strcmp(n, "x-amz-storage-class") && !strcmp(v, "STANDARD"))
			known = true;
		if (!strcmp(n, "tagging")) {
			char why[300] = "";
			int rc;

			s3_tags_fini(&op->tags);
			rc = s3_tags_parse_xml(v, strlen(v), S3_TAGS_OBJECT_MAX, &op->tags, why,
					       sizeof(why));
			if (rc) {
				if (why[0])
					s3_req_errmsg(c, "The form field tagging: %s", why);
				return rc;
			}
			continue;
		}
		if (!strncmp(n, "x-amz-", 6) && !known) {
			s3_req_errmsg(c,
				      "The form field %s is not supported by this server (a form "
				      "upload to bucket %s takes key, policy, acl (private, "
				      "public-read), "
				      "tagging, Content-Type and the like, x-amz-meta-*, "
				      "success_action_*)",
				      n, c->req.bucket);
			return -S3E_NOT_IMPLEMENTED;
		}
		if (!strcmp(n, "acl")) {
			int rc = s3_acl_canned(c, v, &op->public);
			if (rc)
				return rc;
		}
		if (!strcmp(n, "awsaccesskeyid") || !strcmp(n, "signature")) {
			s3_req_errmsg(c, "Only AWS Signature Version 4 form uploads are supported "
					 "(x-amz-algorithm AWS4-HMAC-SHA256)");
			return -S3E_INVALID_REQUEST;
		}
	}
	return 0;
}

/* The form's signature: x-amz-signature = hex(HMAC(signing key, policy)),
 * the key derived as for SigV4 from x-amz-credential. */
static int check_signature(struct s3_conn *c, struct post_op *op, const char *policy)
{
	struct s3_server *srv = c->srv;
	const char *algo = field(op, "x-amz-algorithm"), *cred = field(op, "x-amz-credential");
	const char *date = field(op, "x-amz-date"), *sig = field(op, "x-amz-signature");
	char ak[128], date8[16], region[64], service[16], term[32], hex[65];
	const char *secret;
	uint8_t key[32];
	time_t t;

	if (!algo || !cred || !date || !sig) {
		s3_req_errmsg(c, "A form upload with a policy needs the fields x-amz-algorithm, "
				 "x-amz-credential, x-amz-date and x-amz-signature");
		return -S3E_INVALID_ARGUMENT;
	}
	if (strcmp(algo, "AWS4-HMAC-SHA256")) {
		s3_req_errmsg(c, "x-amz-algorithm '%.32s' is not supported: use AWS4-HMAC-SHA256",
			      algo);
		return -S3E_INVALID_ARGUMENT;
	}
	if (sscanf(cred, "%127[^/]/%15[^/]/%63[^/]/%15[^/]/%31s", ak, date8, region, service,
		   term) != 5 ||
	    strlen(date8) != 8 || strcmp(service, "s3") || strcmp(term, "aws4_request")) {
		s3_req_errmsg(c,
			      "x-amz-credential '%.200s' is not AK/YYYYMMDD/REGION/s3/aws4_request",
			      cred);
		return -S3E_INVALID_ARGUMENT;
	}
	if (strcmp(region, srv->region)) {
		s3_req_errmsg(c, "x-amz-credential: the region '%s' is wrong; expecting '%s'",
			      region, srv->region);
		return -S3E_INVALID_ARGUMENT;
	}
	if (s3_parse_amz_date(date, &t) || strncmp(date, date8, 8)) {
		s3_req_errmsg(c,
			      "x-amz-date '%.32s' is not a YYYYMMDD'T'HHMMSS'Z' date of the "
			      "credential's day",
			      date);
		return -S3E_INVALID_ARGUMENT;
	}
	secret = s3_auth_secret(s3_req_auth(c), ak);
	if (!secret) {
		s3_req_errmsg(c,
			      "The access key %s of the form's x-amz-credential is not in the "
			      "auth file",
			      ak);
		return -S3E_INVALID_ACCESS_KEY;
	}
	s3_sigv4_signing_key(secret, date8, srv->region, "s3", key);
	s3_sigv4_sign(key, policy, strlen(policy), hex);
	if (!s3_str_equal_ct(hex, sig)) {
		s3_req_errmsg(c,
			      "The form's x-amz-signature does not match the policy signed with "
			      "the secret of %s (check the key and the policy sent)",
			      ak);
		return -S3E_SIGNATURE_MISMATCH;
	}
	if (!s3_auth_allows(s3_req_auth(c), ak, c->req.bucket, true)) {
		s3_req_errmsg(c, "The access key %s may not write to bucket %s (auth file)", ak,
			      c->req.bucket);
		return -S3E_ACCESS_DENIED;
	}
	return 0;
}

static int check_policy(struct s3_conn *c, struct post_op *op)
{
	const char *policy = field(op, "policy");
	char why[512] = "";
	char *json;
	ssize_t n;
	int rc;

	if (!policy) {
		/* Anonymous: only where anonymous writes are allowed. */
		if (s3_auth_allows(s3_req_auth(c), NULL, c->req.bucket, true))
			return 0;
		s3_req_errmsg(c,
			      "A form upload without a policy is anonymous, and bucket %s does "
			      "not allow anonymous writes: sign a policy (e.g. boto3's "
			      "generate_presigned_post)",
			      c->req.bucket);
		return -S3E_ACCESS_DENIED;
	}
	if (!c->srv->cfg.no_auth) {
		rc = check_signature(c, op, policy);
		if (rc)
			return rc;
	}
	if (strlen(policy) > POLICY_MAX * 4 / 3 + 4) {
		s3_req_errmsg(c, "The form's policy is longer than 16 KiB");
		return -S3E_INVALID_ARGUMENT;
	}
	json = malloc(strlen(policy) * 3 / 4 + 4);
	if (!json)
		return -ENOMEM;
	n = s3_base64_decode(policy, strlen(policy), json);
	if (n < 0) {
		free(json);
		s3_req_errmsg(c, "Invalid Policy: the policy field is not base64");
		return -S3E_INVALID_ARGUMENT;
	}
	rc = s3_post_policy_check(json, (size_t)n, c->req.bucket, &op->fields, time(NULL), &op->min,
				  &op->max, why, sizeof(why));
	free(json);
	if (rc && why[0])
		s3_req_errmsg(c, "%s", why);
	return rc;
}

/* The key field, with ${filename} replaced by the file's name. */
static int form_key(struct s3_conn *c, struct post_op *op, const char *filename)
{
	const char *k = field(op, "key");
	struct s3_sbuf b = {0};
	const char *p;

	if (!k) {
		s3_req_errmsg(c, "Bucket POST must contain a field named 'key' (bucket %s)",
			      c->req.bucket);
		return -S3E_INVALID_ARGUMENT;
	}
	while ((p = strstr(k, "${filename}"))) {
		s3_sb_add(&b, k, (size_t)(p - k));
		s3_sb_puts(&b, filename ? filename : "");
		k = p + 11;
	}
	s3_sb_puts(&b, k);
	if (b.oom)
		return -ENOMEM;
	free(c->req.key);
	c->req.key = s3_sb_take(&b);
	if (!c->req.key) {
		c->req.key = strdup("");
		return -ENOMEM;
	}
	if (!c->req.key[0]) {
		s3_req_errmsg(c, "The form's key is empty (bucket %s)", c->req.bucket);
		return -S3E_INVALID_ARGUMENT;
	}
	if (s3_key_is_dir(c->req.key)) {
		s3_req_errmsg(c,
			      "The form's key %s ends in '/': it names a directory and cannot "
			      "hold a file",
			      c->req.key);
		return -S3E_INVALID_ARGUMENT;
	}
	return s3_key_check(c, c->req.key);
}

/* As put_start: the key's directories, and a temporary file beside it. */
static int open_target(struct s3_conn *c, struct post_op *op)
{
	struct vol *v = c->srv->v;
	struct vol_attr a;
	uint64_t bino;
	int rc;

	for (int attempt = 0;; attempt++) {
		rc = s3_bucket_lookup(v, c->req.bucket, &bino);
		if (rc)
			return rc;
		rc = s3_path_resolve(c, bino, c->req.key, true, &op->path);
		if (rc)
			return rc;
		op->have_path = true;
		rc = vol_lookup(v, op->path.dirs[op->path.ndirs - 1], op->path.name, &a);
		if (!rc) {
			vol_forget(v, a.ino, 1);
			if (S_ISDIR(a.mode))
				return -S3E_KEY_IS_PREFIX;
		}
		rc = s3_tmp_open(v, op->path.dirs[op->path.ndirs - 1], &op->tmp);
		if (rc != -ENOENT || attempt == 3)
			return rc;
		s3_path_release(v, &op->path);
		op->have_path = false;
	}
}

/* The file part begins: everything is checked before its first byte. */
static int file_begin(struct s3_conn *c, struct post_op *op, const char *filename)
{
	int rc = check_fields(c, op);

	if (!rc)
		rc = check_policy(c, op);
	if (!rc)
		rc = form_key(c, op, filename);
	if (!rc)
		rc = open_target(c, op);
	if (!rc)
		rc = s3_hash_init(&op->hash, S3_HASH_MD5);
	if (!rc)
		op->hash_on = true;
	return rc;
}

static int on_part_begin(void *arg, const char *name, const char *filename, const char *ctype)
{
	struct s3_conn *c = arg;
	struct post_op *op = c->req.op;

	(void)ctype;
	if (op->file_seen) {
		op->ignore = true; /* S3 ignores the fields after the file */
		return 0;
	}
	if (!strcasecmp(name, "file")) {
		op->file_seen = op->in_file = true;
		return file_begin(c, op, filename);
	}
	if (s3_post_field_get(&op->fields, name)) {
		s3_req_errmsg(c, "The form field %.64s appears more than once", name);
		return -S3E_INVALID_ARGUMENT;
	}
	snprintf(op->cur, sizeof(op->cur), "%s", name);
	s3_sb_reset(&op->val);
	op->field_bytes += strlen(name);
	return 0;
}

static int on_part_data(void *arg, const char *data, size_t len)
{
	struct s3_conn *c = arg;
	struct post_op *op = c->req.op;

	if (op->ignore)
		return 0;
	if (op->in_file) {
		if (op->size + len > op->max) {
			s3_req_errmsg(c,
				      "Your proposed upload exceeds the maximum allowed size: the "
				      "policy's content-length-range allows at most %llu bytes "
				      "for %s",
				      (unsigned long long)op->max, c->req.key);
			return -S3E_ENTITY_TOO_LARGE;
		}
		op->size += len;
		s3_hash_update(&op->hash, data, len);
		return s3_tmp_write(&op->tmp, data, len);
	}
	op->field_bytes += len;
	if (op->field_bytes > FIELDS_MAX) {
		s3_req_errmsg(c, "The form fields before the file exceed 20 KiB "
				 "(MaxPostPreDataLengthExceeded)");
		return -S3E_ENTITY_TOO_LARGE;
	}
	s3_sb_add(&op->val, data, len);
	return op->val.oom ? -ENOMEM : 0;
}

static int on_part_end(void *arg)
{
	struct s3_conn *c = arg;
	struct post_op *op = c->req.op;

	if (op->ignore)
		return 0;
	if (op->in_file) {
		op->in_file = false;
		op->file_done = true;
		return 0;
	}
	return s3_post_field_add(&op->fields, op->cur, op->val.p ? op->val.p : "", op->val.len);
}

static const struct s3_form_cb form_cb = {on_part_begin, on_part_data, on_part_end};

static int post_start(struct s3_conn *c)
{
	struct post_op *op;
	uint64_t ino;
	int rc = s3_bucket_lookup(c->srv->v, c->req.bucket, &ino);

	if (rc)
		return rc;
	vol_forget(c->srv->v, ino, 1);
	op = calloc(1, sizeof(*op));
	if (!op)
		return -ENOMEM;
	c->req.op = op;
	rc = s3_form_init(&op->form, s3_hdr(&c->req, "content-type"), &form_cb, c);
	if (rc) {
		s3_req_errmsg(c,
			      "A form upload to bucket %s needs Content-Type "
			      "multipart/form-data with a boundary of 1 to 70 characters",
			      c->req.bucket);
		return -S3E_INVALID_ARGUMENT;
	}
	return 0;
}

static int post_body(struct s3_conn *c, const char *data, size_t len)
{
	struct post_op *op = c->req.op;
	int rc = s3_form_feed(&op->form, data, len);

	if (rc == -EINVAL) {
		s3_req_errmsg(c,
			      "The body of your POST request is not well-formed "
			      "multipart/form-data: %s",
			      op->form.why ? op->form.why : "bad framing");
		rc = -S3E_BAD_REQUEST;
	}
	return rc;
}

/* Content-Type and the other standard headers, and x-amz-meta-*, from the
 * form's fields, stored as meta.c stores them from a PUT's headers. */
static int store_meta(struct s3_conn *c, struct post_op *op, uint64_t ino)
{
	static const char *const std[] = {"content-type",     "content-disposition",
					  "cache-control",    "content-encoding",
					  "content-language", "expires"};
	char name[300];

	for (size_t i = 0; i < op->fields.n; i++) {
		const char *n = op->fields.f[i].name, *v = op->fields.f[i].value;
		bool keep = false;
		int rc;

		for (size_t k = 0; k < sizeof(std) / sizeof(std[0]); k++)
			keep |= !strcmp(n, std[k]);
		if (keep)
			snprintf(name, sizeof(name), "user.s3.%s", n);
		else if (!strncmp(n, "x-amz-meta-", 11) && n[11] && strlen(n) < 250)
			snprintf(name, sizeof(name), "user.s3.meta.%s", n + 11);
		else
			continue;
		if (strlen(v) > META_MAX) {
			s3_req_errmsg(c, "The form field %s is longer than %d bytes", n, META_MAX);
			return -S3E_INVALID_ARGUMENT;
		}
		rc = vol_setxattr(c->srv->v, ino, name, v, strlen(v), 0);
		if (rc)
			return rc;
	}
	return 0;
}

static void respond(struct s3_conn *c, struct post_op *op, const char *etag)
{
	struct s3_req *r = &c->req;
	const char *redir = field(op, "success_action_redirect");
	const char *status = field(op, "success_action_status");
	const char *host = s3_hdr(r, "host");
	struct s3_sbuf loc = {0}, b = {0};
	int st = 204;

	if (!redir)
		redir = field(op, "redirect");
	s3_sb_printf(&loc, "http://%s/", host ? host : "localhost");
	s3_uri_encode(&loc, r->bucket, strlen(r->bucket), false);
	s3_sb_putc(&loc, '/');
	s3_uri_encode(&loc, r->key, strlen(r->key), true);
	if (redir && *redir) {
		s3_sb_puts(&b, redir);
		s3_sb_puts(&b, strchr(redir, '?') ? "&bucket=" : "?bucket=");
		s3_uri_encode(&b, r->bucket, strlen(r->bucket), false);
		s3_sb_puts(&b, "&key=");
		s3_uri_encode(&b, r->key, strlen(r->key), false);
		s3_sb_printf(&b, "&etag=%%22%s%%22", etag);
		s3_resp_start(c, 303);
		s3_resp_hdr(c, "Location", "%s", b.p ? b.p : "");
		s3_resp_hdr(c, "ETag", "\"%s\"", etag);
		s3_resp_finish(c, "", 0);
		goto out;
	}
	if (status && (!strcmp(status, "200") || !strcmp(status, "201")))
		st = atoi(status);
	if (st == 201) {
		s3_sb_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PostResponse>");
		s3_xml_text(&b, "Location", loc.p ? loc.p : "");
		s3_xml_text(&b, "Bucket", r->bucket);
		s3_xml_text(&b, "Key", r->key);
		s3_sb_printf(&b, "<ETag>&quot;%s&quot;</ETag></PostResponse>", etag);
	}
	if (b.oom || loc.oom) {
		s3_resp_error(c, -ENOMEM);
		goto out;
	}
	s3_resp_start(c, st);
	s3_resp_hdr(c, "ETag", "\"%s\"", etag);
	s3_resp_hdr(c, "Location", "%s", loc.p);
	if (st == 201)
		s3_resp_hdr(c, "Content-Type", "application/xml");
	s3_resp_finish(c, st == 201 ? b.p : "", st == 201 ? b.len : 0);
out:
	s3_sb_free(&loc);
	s3_sb_free(&b);
}

static void post_done(struct s3_conn *c)
{
	struct post_op *op = c->req.op;
	uint8_t md5[16];
	char etag[33];
	int rc = 0;

	if (!s3_form_complete(&op->form)) {
		s3_req_errmsg(c, "The body of your POST request is not well-formed "
				 "multipart/form-data: it ends before the closing boundary");
		rc = -S3E_BAD_REQUEST;
	} else if (!op->file_done) {
		s3_req_errmsg(c,
			      "POST requires exactly one file upload per request (a form field "
			      "named 'file', after the others; bucket %s)",
			      c->req.bucket);
		rc = -S3E_INVALID_ARGUMENT;
	} else if (op->size < op->min) {
		s3_req_errmsg(c,
			      "Your proposed upload is smaller than the minimum allowed size: "
			      "the policy's content-length-range needs at least %llu bytes "
			      "for %s",
			      (unsigned long long)op->min, c->req.key);
		rc = -S3E_ENTITY_TOO_SMALL;
	}
	if (!rc && s3_hash_final(&op->hash, md5, NULL))
		rc = -ENOMEM;
	if (!rc) {
		s3_hex_encode(md5, 16, etag);
		rc = s3_tmp_flush(&op->tmp);
	}
	if (!rc)
		rc = store_meta(c, op, op->tmp.ino);
	if (!rc)
		rc = s3_tags_store(c->srv->v, op->tmp.ino, &op->tags);
	if (!rc)
		rc = s3_acl_store(c->srv->v, op->tmp.ino, op->public);
	if (!rc)
		rc = s3_etag_store(c->srv->v, op->tmp.ino, etag, "", "");
	if (!rc)
		rc = s3_tmp_commit(c, &op->tmp, op->path.name);
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	op->committed = true;
	respond(c, op, etag);
}

static void post_cleanup(struct s3_conn *c)
{
	struct post_op *op = c->req.op;

	if (!op)
		return;
	s3_tmp_discard(&op->tmp);
	if (op->have_path) {
		if (!op->committed)
			s3_path_prune(c, &op->path);
		s3_path_release(c->srv->v, &op->path);
	}
	if (op->hash_on)
		s3_hash_fini(&op->hash);
	s3_form_fini(&op->form);
	s3_post_fields_fini(&op->fields);
	s3_tags_fini(&op->tags);
	s3_sb_free(&op->val);
	free(op);
	c->req.op = NULL;
}

/* Not .write: the form, not the request, carries the credentials (checked
 * in file_begin against the auth file, for writing). */
const struct s3_handler s3_op_post_object = {
	.name = "PostObject",
	.start = post_start,
	.body = post_body,
	.done = post_done,
	.cleanup = post_cleanup,
};
