/* Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket
 * (with the bucket's uploads in progress), GetBucketLocation,
 * GetBucketVersioning (never versioned), and the 404s of the configurations
 * never kept (policy, lifecycle, encryption). CORS, tagging and canned ACLs
 * are kept and served by cors_ops.c, tagging_ops.c and acl_ops.c. A bucket
 * is a top-level directory of the volume. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/log.h"
#include "fs/s3/s3_int.h"

struct bucket_ent {
	char *name;
	uint64_t ino;
};

struct bucket_list {
	struct bucket_ent *e;
	size_t n;
	int err;
};

static int collect_cb(void *arg, const struct vol_dirent *d, const struct vol_attr *attr)
{
	struct bucket_list *l = arg;

	if (d->type != DT_DIR || (d->namelen <= 2 && d->name[0] == '.') ||
	    s3_name_hidden(d->name, d->namelen) || d->name[0] == '.')
		return 0;
	struct bucket_ent *e = realloc(l->e, (l->n + 1) * sizeof(*e));
	if (!e) {
		l->err = -ENOMEM;
		return 1;
	}
	l->e = e;
	e[l->n].name = strndup(d->name, d->namelen);
	e[l->n].ino = d->ino;
	if (!e[l->n].name) {
		l->err = -ENOMEM;
		return 1;
	}
	l->n++;
	return 0;
}

static int ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct bucket_ent *)a)->name, ((const struct bucket_ent *)b)->name);
}

#define MAX_BUCKETS 10000

/* max-buckets (1..10000; without it every bucket is listed, as AWS does) and
 * continuation-token (base64 of the last name of the page before).
 * @return 0 or -S3E_INVALID_ARGUMENT (message set), -ENOMEM. */
static int list_buckets_args(struct s3_conn *c, long *max, char **after)
{
	const char *mb = s3_qparam(&c->req, "max-buckets");
	const char *tok = s3_qparam(&c->req, "continuation-token");

	*max = LONG_MAX;
	*after = NULL;
	if (mb) {
		char *end;
		*max = strtol(mb, &end, 10);
		if (!*mb || *end || *max < 1 || *max > MAX_BUCKETS) {
			s3_req_errmsg(c, "max-buckets must be a number from 1 to %d (got '%s')",
				      MAX_BUCKETS, mb);
			return -S3E_INVALID_ARGUMENT;
		}
	}
	if (tok && *tok) {
		size_t tl = strlen(tok);
		ssize_t n;

		*after = malloc(tl + 1);
		if (!*after)
			return -ENOMEM;
		n = s3_base64_decode(tok, tl, *after);
		if (n <= 0 || memchr(*after, '\0', (size_t)n)) {
			free(*after);
			*after = NULL;
			s3_req_errmsg(c, "The continuation token provided is incorrect");
			return -S3E_INVALID_ARGUMENT;
		}
		(*after)[n] = '\0';
	}
	return 0;
}

static void list_buckets_done(struct s3_conn *c)
{
	struct s3_server *s = c->srv;
	struct bucket_list l = {0};
	struct s3_sbuf b = {0};
	const char *owner = c->req.id.access_key ? c->req.id.access_key : "trackfs";
	const char *prefix = s3_qparam(&c->req, "prefix");
	char *after = NULL, *last = NULL;
	long max, count = 0;
	bool truncated = false;
	int rc;

	rc = list_buckets_args(c, &max, &after);
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	rc = vol_readdir(s->v, VOL_ROOT_INO, 0, false, collect_cb, &l);
	if (!rc)
		rc = l.err;
	if (rc)
		goto out_free;
	if (l.n)
		qsort(l.e, l.n, sizeof(*l.e), ent_cmp);
	s3_xml_begin(&b, "ListAllMyBucketsResult");
	s3_xml_open(&b, "Owner");
	s3_xml_text(&b, "ID", owner);
	s3_xml_text(&b, "DisplayName", owner);
	s3_xml_close(&b, "Owner");
	s3_xml_open(&b, "Buckets");
	for (size_t i = 0; i < l.n; i++) {
		struct vol_attr a;
		char date[40];

		if (!s->cfg.no_auth &&
		    !s3_auth_allows(s3_req_auth(c), c->req.id.access_key, l.e[i].name, false))
			continue;
		if (prefix && strncmp(l.e[i].name, prefix, strlen(prefix)))
			continue;
		if (after && strcmp(l.e[i].name, after) <= 0)
			continue;
		if (vol_getattr(s->v, l.e[i].ino, &a))
			continue;
		if (count == max) {
			truncated = true;
			break;
		}
		count++;
		last = l.e[i].name;
		s3_fmt_iso_date(a.btime.tv_sec ? &a.btime : &a.mtime, date, sizeof(date));
		s3_xml_open(&b, "Bucket");
		s3_xml_text(&b, "Name", l.e[i].name);
		s3_xml_text(&b, "CreationDate", date);
		s3_xml_close(&b, "Bucket");
	}
	s3_xml_close(&b, "Buckets");
	if (truncated && last) {
		size_t ll = strlen(last);
		char *t = malloc(4 * ((ll + 2) / 3) + 1);

		if (!t) {
			rc = -ENOMEM;
			goto out_free;
		}
		s3_base64_encode(last, ll, t);
		s3_xml_text(&b, "ContinuationToken", t);
		free(t);
	}
	if (prefix)
		s3_xml_text(&b, "Prefix", prefix);
	s3_xml_close(&b, "ListAllMyBucketsResult");
out_free:
	free(after);
	for (size_t i = 0; i < l.n; i++)
		free(l.e[i].name);
	free(l.e);
	if (rc) {
		s3_sb_free(&b);
		s3_resp_error(c, rc);
		return;
	}
	s3_resp_xml(c, &b);
}

const struct s3_handler s3_op_list_buckets = {
	.name = "ListBuckets",
	.done = list_buckets_done,
};

static void create_bucket_done(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	struct vol_cred cred = {getuid(), getgid(), S3_UMASK};
	struct vol_attr a;
	int rc;

	const char *why = s3_bucket_name_problem(r->bucket);
	if (why) {
		s3_req_errmsg(c, "The bucket name '%s' is not valid: %s", r->bucket, why);
		s3_resp_error(c, -S3E_INVALID_BUCKET_NAME);
		return;
	}
	rc = vol_mkdir(c->srv->v, VOL_ROOT_INO, r->bucket, S_IFDIR | 0777, &cred, &a);
	if (rc == -EEXIST) {
		uint64_t ino;

		/* Every key that may write here owns every bucket. us-east-1
		 * answers a re-creation by its owner with 200, the other
		 * regions with BucketAlreadyOwnedByYou. */
		rc = s3_bucket_lookup(c->srv->v, r->bucket, &ino);
		if (rc) {
			s3_req_errmsg(c, "'%s' exists in the volume but is not a directory",
				      r->bucket);
			s3_resp_error(c, -S3E_BUCKET_EXISTS);
			return;
		}
		vol_forget(c->srv->v, ino, 1);
		if (strcmp(c->srv->region, "us-east-1")) {
			s3_resp_error(c, -S3E_BUCKET_EXISTS);
			return;
		}
		s3_resp_start(c, 200);
		s3_resp_hdr(c, "Location", "/%s", r->bucket);
		s3_resp_finish(c, "", 0);
		return;
	}
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	/* x-amz-acl was checked with the headers: this only writes it. */
	rc = s3_acl_store_from_req(c, a.ino);
	if (rc) {
		vol_rmdir(c->srv->v, VOL_ROOT_INO, r->bucket);
		vol_forget(c->srv->v, a.ino, 1);
		s3_resp_error(c, rc);
		return;
	}
	if (s3_hdr(r, "x-amz-acl"))
		s3_public_note(c->srv);
	s3_notify(c->srv, VOL_ROOT_INO, r->bucket, a.ino);
	vol_forget(c->srv->v, a.ino, 1);
	s3_resp_start(c, 200);
	s3_resp_hdr(c, "Location", "/%s", r->bucket);
	s3_resp_finish(c, "", 0);
}

const struct s3_handler s3_op_create_bucket = {
	.name = "CreateBucket",
	.write = true,
	.small_body = true, /* CreateBucketConfiguration: the region is ours anyway */
	.done = create_bucket_done,
};

static void head_bucket_done(struct s3_conn *c)
{
	uint64_t ino;
	int rc = s3_bucket_lookup(c->srv->v, c->req.bucket, &ino);

	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	vol_forget(c->srv->v, ino, 1);
	s3_resp_start(c, 200);
	s3_resp_hdr(c, "x-amz-bucket-region", "%s", c->srv->region);
	s3_resp_finish(c, "", 0);
}

const struct s3_handler s3_op_head_bucket = {
	.name = "HeadBucket",
	.done = head_bucket_done,
};

/* An upload in progress for the bucket being deleted goes with it, so that
 * it does not reappear when a bucket of that name is made again. */
static int drop_upload(struct s3_server *s, uint64_t up, const char *id, const struct vol_attr *dir,
		       void *arg)
{
	const char *bucket = arg;
	char val[S3_KEY_MAX + 1];
	int rc;

	if (s3_mpu_get_str(s->v, dir->ino, S3_MPU_X_BUCKET, val, sizeof(val)) < 0 ||
	    strcmp(val, bucket))
		return 0;
	if (s3_mpu_claimed(s->v, dir->ino)) {
		tfs_warn("s3: upload %s of deleted bucket %s is being completed; the expiry "
			 "sweep removes it",
			 id, bucket);
		return 0;
	}
	rc = s3_mpu_remove(s->v, up, id);
	if (rc && rc != -ENOENT)
		tfs_warn("s3: removing upload %s of deleted bucket %s failed: %s; the expiry "
			 "sweep will retry",
			 id, bucket, tfs_strerror(rc));
	return 0;
}

static void delete_bucket_done(struct s3_conn *c)
{
	uint64_t ino;
	int rc = s3_bucket_lookup(c->srv->v, c->req.bucket, &ino);

	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	vol_forget(c->srv->v, ino, 1);
	rc = vol_rmdir(c->srv->v, VOL_ROOT_INO, c->req.bucket);
	if (rc == -ENOTEMPTY || rc == -EEXIST)
		rc = -S3E_BUCKET_NOT_EMPTY;
	else if (rc == -ENOENT || rc == -ENOTDIR)
		rc = -S3E_NO_SUCH_BUCKET;
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	s3_notify(c->srv, VOL_ROOT_INO, c->req.bucket, 0);
	rc = s3_mpu_each(c->srv, drop_upload, c->req.bucket);
	if (rc)
		tfs_warn("s3: listing the uploads of deleted bucket %s failed: %s", c->req.bucket,
			 tfs_strerror(rc));
	s3_public_note(c->srv);
	s3_resp_start(c, 204);
	s3_resp_finish(c, NULL, 0);
}

const struct s3_handler s3_op_delete_bucket = {
	.name = "DeleteBucket",
	.write = true,
	.done = delete_bucket_done,
};

/* The bucket must exist for the small informational answers below. */
static bool bucket_exists(struct s3_conn *c)
{
	uint64_t ino;
	int rc = s3_bucket_lookup(c->srv->v, c->req.bucket, &ino);

	if (rc) {
		s3_resp_error(c, rc);
		return false;
	}
	vol_forget(c->srv->v, ino, 1);
	return true;
}

static void location_done(struct s3_conn *c)
{
	struct s3_sbuf b = {0};

	if (!bucket_exists(c))
		return;
	/* us-east-1 is spelled as an empty constraint, as S3 does. */
	s3_sb_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint "
			 "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
	if (strcmp(c->srv->region, "us-east-1"))
		s3_xml_escape(&b, c->srv->region, strlen(c->srv->region));
	s3_sb_puts(&b, "</LocationConstraint>");
	s3_resp_xml(c, &b);
}

const struct s3_handler s3_op_bucket_location = {
	.name = "GetBucketLocation",
	.done = location_done,
};

static void versioning_done(struct s3_conn *c)
{
	struct s3_sbuf b = {0};

	if (!bucket_exists(c))
		return;
	s3_xml_begin(&b, "VersioningConfiguration");
	s3_xml_close(&b, "VersioningConfiguration");
	s3_resp_xml(c, &b);
}

const struct s3_handler s3_op_bucket_versioning = {
	.name = "GetBucketVersioning",
	.done = versioning_done,
};

/* Bucket configurations the sidecar does not keep: reading one answers the
 * 404 AWS gives for a bucket that has none (setting one stays NotImplemented). */
static const struct {
	const char *sub;
	int err;
} no_config[] = {
	{"policy", S3E_NO_SUCH_BUCKET_POLICY},
	{"cors", S3E_NO_SUCH_CORS_CONFIGURATION},
	{"lifecycle", S3E_NO_SUCH_LIFECYCLE_CONFIGURATION},
	{"encryption", S3E_SSE_CONFIGURATION_NOT_FOUND},
};

const struct s3_handler *s3_bucket_config_op(const struct s3_req *r)
{
	if (strcmp(r->method, "GET"))
		return NULL;
	for (size_t i = 0; i < sizeof(no_config) / sizeof(no_config[0]); i++)
		if (s3_qhas(r, no_config[i].sub))
			return &s3_op_bucket_config_get;
	return NULL;
}

static void config_get_done(struct s3_conn *c)
{
	if (!bucket_exists(c))
		return;
	for (size_t i = 0; i < sizeof(no_config) / sizeof(no_config[0]); i++) {
		if (!s3_qhas(&c->req, no_config[i].sub))
			continue;
		s3_resp_error(c, -no_config[i].err);
		return;
	}
	s3_resp_error(c, -S3E_NOT_IMPLEMENTED);
}

const struct s3_handler s3_op_bucket_config_get = {
	.name = "GetBucketConfiguration",
	.done = config_get_done,
};
