/* Conditional writes and deletes (If-None-Match: * and If-Match: ETAG on
 * PutObject, CopyObject, CompleteMultipartUpload; If-Match on DeleteObject),
 * the way table formats (Delta Lake, Iceberg, Hudi, lakeFS) commit on S3.
 * The ETag is checked here; what it was checked against (inode, mtime,
 * size) is then checked again by the volume engine in the same transaction
 * that replaces or removes the name (vol_rename_if, vol_unlink_if). The
 * condition is checked once more when the request begins: failing then is
 * 412 PreconditionFailed (before any body is read); holding then and failing
 * at the commit means a writer got in between, through S3 or the mount, and
 * is 409 ConditionalRequestConflict, which clients retry, as on AWS. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/s3/s3_int.h"

bool s3_etag_in(const char *list, const char *etag)
{
	char buf[1024];
	char *save = NULL;

	if (strlen(list) >= sizeof(buf))
		return false;
	strcpy(buf, list);
	for (char *t = strtok_r(buf, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
		size_t l = strlen(t);
		if (!strcmp(t, "*"))
			return true;
		if (!strncmp(t, "W/", 2)) { /* a weak tag compares as its value */
			t += 2;
			l -= 2;
		}
		if (l >= 2 && t[0] == '"' && t[l - 1] == '"') {
			t[l - 1] = '\0';
			t++;
		}
		if (!strcmp(t, etag))
			return true;
	}
	return false;
}

int s3_write_cond(struct s3_conn *c, uint64_t dir, const char *name, bool for_delete,
		  struct vol_expect *exp, bool *on)
{
	struct s3_req *r = &c->req;
	const char *inm = s3_hdr(r, "if-none-match"), *im = s3_hdr(r, "if-match");
	struct vol *v = c->srv->v;
	struct vol_attr a;
	char etag[80];
	int rc;

	*on = false;
	memset(exp, 0, sizeof(*exp));
	if (!inm && !im)
		return 0;
	if (inm && (im || for_delete)) {
		s3_req_errmsg(c, for_delete ? "DeleteObject takes If-Match only"
					    : "Give either If-None-Match or If-Match, not both");
		return -S3E_NOT_IMPLEMENTED;
	}
	*on = true;
	if (inm) {
		while (*inm == ' ')
			inm++;
		if (strcmp(inm, "*") != 0) {
			s3_req_errmsg(c, "If-None-Match on a write takes only *");
			return -S3E_NOT_IMPLEMENTED;
		}
	}
	rc = vol_lookup(v, dir, name, &a);
	if (inm) {
		if (rc == -ENOENT)
			return 0; /* exp->ino 0: the key must not exist */
		if (rc)
			return rc;
		vol_forget(v, a.ino, 1);
		/* A directory is a prefix: the commit answers KeyIsPrefix. */
		return S_ISDIR(a.mode) ? 0 : -S3E_PRECONDITION_FAILED;
	}
	if (rc == -ENOENT)
		return -S3E_NO_SUCH_KEY;
	if (rc)
		return rc;
	vol_forget(v, a.ino, 1);
	if (S_ISDIR(a.mode))
		return -S3E_NO_SUCH_KEY; /* a prefix, not an object */
	rc = s3_etag_get(v, &a, etag);
	if (rc)
		return rc;
	if (!s3_etag_in(im, etag))
		return -S3E_PRECONDITION_FAILED;
	exp->ino = a.ino;
	exp->mtime = a.mtime;
	exp->size = a.size;
	return 0;
}

int s3_write_precheck(struct s3_conn *c, uint64_t dir, const char *name, bool for_delete)
{
	struct vol_expect exp;
	bool on;
	int rc = s3_write_cond(c, dir, name, for_delete, &exp, &on);

	c->req.cond_prechecked = !rc && on;
	return rc;
}

int s3_cond_outcome(struct s3_conn *c, int rc)
{
	if (rc != -S3E_PRECONDITION_FAILED || !c->req.cond_prechecked)
		return rc;
	s3_req_errmsg(c,
		      "%s/%s was written or removed by another request while this conditional "
		      "request was in progress (its condition held when it began): retry it",
		      c->req.bucket, c->req.key);
	return -S3E_CONDITIONAL_CONFLICT;
}
