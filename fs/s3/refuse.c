/* Never pretend: a request asking for something the sidecar does not do
 * (encryption, object lock, any x-amz-* header
 * it does not know) is refused before anything is read or written, with the
 * error AWS gives for it, instead of being answered 200 and not honoured. */
#include <string.h>
#include <strings.h>

#include "fs/s3/s3_int.h"

/* x-amz-* request headers the sidecar implements or may safely ignore. A
 * trailing '*' matches a prefix. Checked in order, after the refusals below. */
static const char *const allowed[] = {
	"x-amz-date",
	"x-amz-content-sha256",
	"x-amz-decoded-content-length",
	"x-amz-trailer",
	/* Session credentials: the signature is still checked against the
	 * key's secret in the auth file, so the token adds nothing to trust. */
	"x-amz-security-token",
	"x-amz-user-agent",
	"x-amz-meta-*",
	"x-amz-copy-source",
	"x-amz-copy-source-range",
	"x-amz-copy-source-if-match",
	"x-amz-copy-source-if-none-match",
	"x-amz-copy-source-if-modified-since",
	"x-amz-copy-source-if-unmodified-since",
	"x-amz-metadata-directive",
	/* Tag sets (tagging.c); the directive is checked by obj_copy.c. */
	"x-amz-tagging",
	"x-amz-tagging-directive",
	/* Values checked by body.c (unknown algorithms refused there). GET's
	 * x-amz-checksum-mode answers the stored checksum when there is one. */
	"x-amz-checksum-*",
	"x-amz-sdk-checksum-algorithm",
	"x-amz-acl",
	/* One owner: the sidecar's. Requester-pays has no meaning here. */
	"x-amz-expected-bucket-owner",
	"x-amz-source-expected-bucket-owner",
	"x-amz-request-payer",
	/* No object is under retention, so there is nothing to bypass. */
	"x-amz-bypass-governance-retention",
	/* ListObjectsV2 asking for RestoreStatus: nothing is ever archived. */
	"x-amz-optional-object-attributes",
	"x-amz-storage-class",
	"x-amz-object-ownership",
	"x-amz-bucket-object-lock-enabled",
	/* GetObjectAttributes (obj_attrs.c), which checks their values. */
	"x-amz-object-attributes",
	"x-amz-max-parts",
	"x-amz-part-number-marker",
};

static bool allowed_header(const char *name)
{
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		const char *a = allowed[i];
		size_t l = strlen(a);
		if (a[l - 1] == '*' ? !strncmp(name, a, l - 1) : !strcmp(name, a))
			return true;
	}
	return false;
}

static int refuse(struct s3_conn *c, int err, const char *hdr, const char *what)
{
	s3_req_errmsg(c, "%s%s%s", hdr ? hdr : "", hdr ? ": " : "", what);
	return err;
}

static int check_header(struct s3_conn *c, const char *n, const char *v)
{

	if (!strncmp(n, "x-amz-server-side-encryption", 28) ||
	    !strncmp(n, "x-amz-copy-source-server-side-encryption", 40))
		return refuse(c, -S3E_NOT_IMPLEMENTED, n,
			      "server-side encryption (SSE-C, SSE-S3, SSE-KMS) is not supported; "
			      "objects are stored as sent");
	if (!strncmp(n, "x-amz-object-lock-", 18))
		/* What AWS answers for a bucket made without object lock, as
		 * every bucket here is. */
		return refuse(c, -S3E_INVALID_REQUEST, n,
			      "Bucket is missing Object Lock Configuration (object lock is not "
			      "supported)");
	if (!strcmp(n, "x-amz-bucket-object-lock-enabled") && strcasecmp(v, "false"))
		return refuse(c, -S3E_NOT_IMPLEMENTED, n,
			      "object lock is not supported (only 'false' is accepted)");
	if (!strcmp(n, "x-amz-tagging"))
		return s3_tags_check_header(c, v); /* before the body is read */
	if (!strcmp(n, "x-amz-storage-class") && strcmp(v, "STANDARD"))
		return refuse(c, -S3E_NOT_IMPLEMENTED, n,
			      "only the storage class STANDARD is supported");
	if (!strcmp(n, "x-amz-object-ownership") && strcmp(v, "BucketOwnerEnforced"))
		return refuse(c, -S3E_NOT_IMPLEMENTED, n,
			      "only BucketOwnerEnforced object ownership is supported");
	if (!strcmp(n, "x-amz-acl")) {
		bool public;
		return s3_acl_canned(c, v, &public); /* acl.c: private, public-read */
	}
	if (!strncmp(n, "x-amz-", 6) && !allowed_header(n)) {
		s3_req_errmsg(c,
			      "The header %s is not supported by this server; supported x-amz-* "
			      "headers: date, content-sha256, decoded-content-length, trailer, "
			      "security-token, meta-*, copy-source*, metadata-directive, tagging, "
			      "tagging-directive, "
			      "checksum-*, sdk-checksum-algorithm, acl (private, public-read), "
			      "storage-class (STANDARD), expected-bucket-owner, request-payer",
			      n);
		return -S3E_NOT_IMPLEMENTED;
	}
	return 0;
}

/* The query of a presigned URL: its own X-Amz-* parameters, and request
 * headers a presigner hoisted into it. Those are checked like headers, but
 * what the sidecar reads only from headers (metadata, checksums, the copy
 * source) would be dropped, so it is refused too. */
static const char *const presign_params[] = {
	"x-amz-algorithm",	"x-amz-credential",
	"x-amz-date",		"x-amz-expires",
	"x-amz-signedheaders",	"x-amz-signature",
	"x-amz-security-token", "x-amz-content-sha256",
	"x-amz-user-agent",	"x-amz-sdk-checksum-algorithm",
};

/* The query parameters and subresources the router knows: listing and
 * paging parameters, the subresources it serves, the ones it answers with a
 * specific error or NotImplemented, response overrides, presigning (V2 and
 * V4) and what SDKs add for their own routing (x-id). Anything else changes
 * what the request means in a way the sidecar would ignore: refused. */
static const char *const known_params[] = {
	/* listing and paging */
	"list-type",
	"prefix",
	"delimiter",
	"marker",
	"max-keys",
	"continuation-token",
	"start-after",
	"fetch-owner",
	"encoding-type",
	"key-marker",
	"version-id-marker",
	"upload-id-marker",
	"max-uploads",
	"part-number-marker",
	"max-parts",
	"max-buckets",
	"bucket-region",
	/* served */
	"uploads",
	"uploadId",
	"partNumber",
	"acl",
	"location",
	"versioning",
	"versions",
	"delete",
	/* answered with their own error, or NotImplemented */
	"accelerate",
	"analytics",
	"cors",
	"encryption",
	"intelligent-tiering",
	"inventory",
	"lifecycle",
	"logging",
	"metrics",
	"notification",
	"object-lock",
	"ownershipControls",
	"policy",
	"policyStatus",
	"publicAccessBlock",
	"replication",
	"requestPayment",
	"tagging",
	"website",
	"legal-hold",
	"retention",
	"torrent",
	"restore",
	"select",
	"select-type",
	"attributes",
	"id",
	/* response overrides on GET */
	"response-content-type",
	"response-content-language",
	"response-expires",
	"response-cache-control",
	"response-content-disposition",
	"response-content-encoding",
	/* presigning (V2) and SDK routing hints */
	"AWSAccessKeyId",
	"Signature",
	"Expires",
	"x-id",
	"versionId",
};

static int check_plain_param(struct s3_conn *c, const char *name, const char *v)
{
	for (size_t i = 0; i < sizeof(known_params) / sizeof(known_params[0]); i++) {
		if (strcmp(name, known_params[i]) != 0)
			continue;
		/* No object has versions here but the one S3 calls "null". */
		if (!strcmp(name, "versionId") && strcmp(v, "null") != 0) {
			s3_req_errmsg(c,
				      "versionId=%.64s: this server keeps no object versions "
				      "(only versionId=null names an object)",
				      v);
			return -S3E_NOT_IMPLEMENTED;
		}
		return 0;
	}
	s3_req_errmsg(c, "The query parameter or subresource %.64s is not supported", name);
	return -S3E_NOT_IMPLEMENTED;
}

static int check_query_param(struct s3_conn *c, const char *name, const char *v)
{
	char n[128];
	size_t len = strlen(name);

	if (strncasecmp(name, "x-amz-", 6))
		return check_plain_param(c, name, v);
	if (len >= sizeof(n)) {
		s3_req_errmsg(c, "The query parameter %.64s... is not supported", name);
		return -S3E_NOT_IMPLEMENTED;
	}
	for (size_t i = 0; i <= len; i++)
		n[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] - 'A' + 'a' : name[i]);
	for (size_t i = 0; i < sizeof(presign_params) / sizeof(presign_params[0]); i++)
		if (!strcmp(n, presign_params[i]))
			return 0;
	if (!strncmp(n, "x-amz-meta-", 11) || !strncmp(n, "x-amz-checksum-", 15) ||
	    !strncmp(n, "x-amz-copy-source", 17) || !strcmp(n, "x-amz-metadata-directive") ||
	    !strcmp(n, "x-amz-decoded-content-length") || !strcmp(n, "x-amz-trailer") ||
	    !strncmp(n, "x-amz-tagging", 13)) {
		s3_req_errmsg(c,
			      "The query parameter %s is not supported: send it as a header (a "
			      "presigner that hoists headers into the URL can be told not to)",
			      name);
		return -S3E_NOT_IMPLEMENTED;
	}
	return check_header(c, n, v);
}

int s3_refuse_unsupported(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	int rc;

	for (size_t i = 0; i < r->nhdrs; i++) {
		rc = check_header(c, r->hdrs[i].name, r->hdrs[i].value);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < r->nq; i++) {
		rc = check_query_param(c, r->q[i].name, r->q[i].value);
		if (rc)
			return rc;
	}
	return 0;
}
