/* ListObjects (v1), ListObjectsV2 and a minimal ListObjectVersions: a walk of
 * the bucket's directories in the byte order of whole keys, each directory
 * sorted (list_snap.c), with a directory "a" sorting as "a/". The walk starts
 * at the deepest directory the prefix names and, in each directory, at the
 * first name that the prefix or the marker lets through.
 *
 * A directory "a/b" is also the key "a/b/" (a directory marker, size 0, the
 * empty string's ETag) while it is empty or carries a marker (a marker PUT
 * made it so; see s3_int.h), unless a delimiter rolls it up into a common
 * prefix. So an empty directory made through the mount shows as a marker, a
 * non-empty one without a marker only as the prefix of its keys. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/s3/s3_int.h"

#define MAX_KEYS 1000

struct lctx {
	struct s3_conn *c;
	const char *prefix, *delim, *marker;
	size_t plen, dlen;
	unsigned max, count;
	bool truncated, url, versions;
	int err;
	char *last;    /* last item emitted (key or common prefix) */
	char *last_cp; /* last common prefix emitted */
	struct s3_sbuf contents, cps;
};

static bool starts_with(const char *s, const char *p, size_t plen)
{
	return !strncmp(s, p, plen);
}

static void put_key(struct lctx *x, struct s3_sbuf *b, const char *tag, const char *s)
{
	if (x->url) {
		s3_xml_open(b, tag);
		struct s3_sbuf e = {0};
		s3_uri_encode(&e, s, strlen(s), true);
		if (e.p)
			s3_xml_escape(b, e.p, e.len);
		if (e.oom)
			b->oom = true;
		s3_sb_free(&e);
		s3_xml_close(b, tag);
	} else {
		s3_xml_text(b, tag, s);
	}
}

/* Room for one more item? Sets truncated when the page is full. */
static bool room(struct lctx *x)
{
	if (x->count < x->max)
		return true;
	x->truncated = true;
	return false;
}

static int set_last(struct lctx *x, char **slot, const char *s)
{
	char *d = strdup(s);

	if (!d)
		return -ENOMEM;
	free(*slot);
	*slot = d;
	return 0;
}

static int emit_cp(struct lctx *x, const char *cp)
{
	if (x->last_cp && !strcmp(x->last_cp, cp))
		return 0;
	if (x->marker && strcmp(cp, x->marker) <= 0)
		return 0;
	if (!room(x))
		return 1;
	s3_xml_open(&x->cps, "CommonPrefixes");
	put_key(x, &x->cps, "Prefix", cp);
	s3_xml_close(&x->cps, "CommonPrefixes");
	x->count++;
	if (set_last(x, &x->last_cp, cp) || set_last(x, &x->last, cp))
		return -ENOMEM;
	return 0;
}

/* V2 lists owners only when asked (fetch-owner=true); V1 and versions always. */
static bool fetch_owner(const struct s3_req *r)
{
	const char *f = s3_qparam(r, "fetch-owner");

	return f && !strcmp(f, "true");
}

static int emit_key(struct lctx *x, const char *key, uint64_t ino)
{
	struct vol *v = x->c->srv->v;
	struct vol_attr a;
	char etag[80], date[40];
	const char *tag = x->versions ? "Version" : "Contents";
	int rc;

	if (vol_getattr(v, ino, &a) || !(S_ISREG(a.mode) || S_ISDIR(a.mode)))
		return 0; /* gone since readdir */
	if (!room(x))
		return 1;
	if (S_ISDIR(a.mode)) { /* a directory marker: an empty object */
		strcpy(etag, S3_EMPTY_MD5);
		a.size = 0;
	} else {
		rc = s3_etag_get(v, &a, etag);
		if (rc)
			return rc;
	}
	s3_fmt_iso_date(&a.mtime, date, sizeof(date));
	s3_xml_open(&x->contents, tag);
	put_key(x, &x->contents, "Key", key);
	if (x->versions) {
		s3_xml_text(&x->contents, "VersionId", "null");
		s3_xml_text(&x->contents, "IsLatest", "true");
	}
	s3_xml_text(&x->contents, "LastModified", date);
	s3_sb_printf(&x->contents, "<ETag>&quot;%s&quot;</ETag>", etag);
	s3_xml_u64(&x->contents, "Size", a.size);
	s3_xml_text(&x->contents, "StorageClass", "STANDARD");
	if (x->versions || fetch_owner(&x->c->req) || !s3_qhas(&x->c->req, "list-type")) {
		const char *owner = x->c->req.id.access_key ? x->c->req.id.access_key : "trackfs";
		s3_xml_open(&x->contents, "Owner");
		s3_xml_text(&x->contents, "ID", owner);
		s3_xml_text(&x->contents, "DisplayName", owner);
		s3_xml_close(&x->contents, "Owner");
	}
	s3_xml_close(&x->contents, tag);
	x->count++;
	return set_last(x, &x->last, key);
}

/* The common prefix @p full rolls up into, or false. */
static bool rollup(struct lctx *x, const char *full, size_t *cplen)
{
	const char *d;

	if (!x->dlen || !starts_with(full, x->prefix, x->plen))
		return false;
	d = strstr(full + x->plen, x->delim);
	if (!d)
		return false;
	*cplen = (size_t)(d - full) + x->dlen;
	return true;
}

/* The first key of directory @p dirpath ("" or "a/b/") that can matter: keys
 * below the prefix's name at this level cannot start with the prefix, and
 * keys below the marker's first segment here sort before the marker with
 * everything under them. Written to @p out (at most 256 bytes used). */
static void first_key(const struct lctx *x, const char *dirpath, size_t dlen, char *out)
{
	const char *bounds[2] = {x->prefix, x->marker};

	out[0] = '\0';
	for (unsigned i = 0; i < 2; i++) {
		const char *k = bounds[i], *slash;
		if (!k || strncmp(k, dirpath, dlen))
			continue;
		k += dlen;
		slash = strchr(k, '/');
		size_t n = slash ? (size_t)(slash - k) + 1 : strlen(k);
		if (n > 255)
			n = 255;
		if (strncmp(k, out, n) > 0 || (!strncmp(k, out, n) && n > strlen(out))) {
			memcpy(out, k, n);
			out[n] = '\0';
		}
	}
}

/* Walk directory @p ino whose keys start with @p dirpath ("" or "a/b/").
 * @return 0, 1 (page full: stop), or -errno. */
static int walk(struct lctx *x, uint64_t ino, struct s3_sbuf *path, unsigned depth)
{
	struct s3_dirsnap *snap;
	size_t base = path->len, cplen;
	char from[256];
	int rc;

	if (depth > S3_MAX_DEPTH)
		return 0;
	rc = s3_dirsnap_get(x->c->srv, ino, &snap);
	if (rc)
		return rc;
	/* The directory's own key ("a/b/"), when it is a marker or empty. */
	if (base && starts_with(path->p, x->prefix, x->plen) &&
	    (!x->marker || strcmp(path->p, x->marker) > 0) && !rollup(x, path->p, &cplen) &&
	    (snap->n == 0 || s3_dir_marked(x->c->srv->v, ino))) {
		rc = emit_key(x, path->p, ino);
		if (rc) {
			s3_dirsnap_put(x->c->srv, snap);
			return rc;
		}
	}
	first_key(x, path->p, base, from);
	for (size_t i = s3_dirsnap_lower_bound(snap, from); i < snap->n && !rc; i++) {
		const struct s3_snap_ent *e = &snap->e[i];

		path->len = base;
		s3_sb_puts(path, e->key);
		if (path->oom) {
			rc = -ENOMEM;
			break;
		}
		const char *full = path->p;
		bool compatible = starts_with(full, x->prefix, x->plen) ||
				  starts_with(x->prefix, full, strlen(full));
		if (!compatible) {
			if (strcmp(full, x->prefix) > 0)
				break; /* sorted: nothing later can match either */
			continue;
		}
		if (e->dir) {
			if (x->marker && strcmp(full, x->marker) < 0 &&
			    !starts_with(x->marker, full, strlen(full)))
				continue; /* the whole subtree sorts before the marker */
			if (rollup(x, full, &cplen)) {
				char save = path->p[cplen];
				path->p[cplen] = '\0';
				rc = emit_cp(x, path->p);
				path->p[cplen] = save;
				continue;
			}
			rc = walk(x, e->ino, path, depth + 1);
			continue;
		}
		if (!starts_with(full, x->prefix, x->plen))
			continue;
		if (x->marker && strcmp(full, x->marker) <= 0)
			continue;
		if (rollup(x, full, &cplen)) {
			path->p[cplen] = '\0';
			rc = emit_cp(x, path->p);
			continue;
		}
		rc = emit_key(x, full, e->ino);
	}
	path->len = base;
	if (path->p)
		path->p[base] = '\0';
	s3_dirsnap_put(x->c->srv, snap);
	return rc;
}

/* Start at the deepest directory that the prefix names whole. */
static int walk_from_prefix(struct lctx *x, uint64_t bino)
{
	struct vol *v = x->c->srv->v;
	struct s3_sbuf path = {0};
	uint64_t dir = bino, held = 0;
	const char *p = x->prefix, *slash;
	int rc = 0;

	while ((slash = strchr(p, '/'))) {
		char seg[256];
		size_t sl = (size_t)(slash - p);
		struct vol_attr a;

		if (sl == 0 || sl > 255)
			goto out_free; /* no such directory: an empty listing */
		memcpy(seg, p, sl);
		seg[sl] = '\0';
		rc = vol_lookup(v, dir, seg, &a);
		if (rc == -ENOENT || rc == -ENOTDIR) {
			rc = 0;
			goto out_free;
		}
		if (rc)
			goto out_free;
		if (held)
			vol_forget(v, held, 1);
		held = a.ino;
		if (!S_ISDIR(a.mode))
			goto out_free;
		dir = a.ino;
		s3_sb_add(&path, p, sl + 1);
		p = slash + 1;
	}
	if (path.oom) {
		rc = -ENOMEM;
		goto out_free;
	}
	if (!path.p)
		s3_sb_puts(&path, "");
	rc = walk(x, dir, &path, 0);
	if (rc == 1)
		rc = 0;
out_free:
	if (held)
		vol_forget(v, held, 1);
	s3_sb_free(&path);
	return rc;
}

static void list_done(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	struct vol *v = c->srv->v;
	bool v2 = !strcmp(s3_qparam(r, "list-type") ? s3_qparam(r, "list-type") : "", "2");
	bool versions = r->h == &s3_op_list_versions;
	struct lctx x = {0};
	const char *mk = s3_qparam(r, "max-keys"), *enc = s3_qparam(r, "encoding-type");
	const char *token = s3_qparam(r, "continuation-token");
	char *token_key = NULL;
	struct s3_sbuf b = {0};
	uint64_t bino;
	int rc;

	x.c = c;
	x.prefix = s3_qparam(r, "prefix") ? s3_qparam(r, "prefix") : "";
	x.delim = s3_qparam(r, "delimiter");
	if (x.delim && !*x.delim)
		x.delim = NULL;
	x.plen = strlen(x.prefix);
	x.dlen = x.delim ? strlen(x.delim) : 0;
	x.max = MAX_KEYS;
	x.versions = versions;
	if (mk) {
		char *end;
		long m = strtol(mk, &end, 10);
		if (*end || m < 0) {
			s3_resp_error(c, -S3E_INVALID_ARGUMENT);
			return;
		}
		x.max = m < MAX_KEYS ? (unsigned)m : MAX_KEYS;
	}
	if (enc && strcmp(enc, "url")) {
		s3_req_errmsg(c, "Invalid Encoding Method specified in Request");
		s3_resp_error(c, -S3E_INVALID_ARGUMENT);
		return;
	}
	x.url = enc != NULL;
	if (versions) {
		x.marker = s3_qparam(r, "key-marker");
	} else if (v2 && token) {
		size_t tl = strlen(token);
		token_key = malloc(tl + 1);
		ssize_t n = token_key ? s3_base64_decode(token, tl, token_key) : -ENOMEM;
		if (n < 0) {
			free(token_key);
			s3_req_errmsg(c, "The continuation token provided is incorrect");
			s3_resp_error(c, -S3E_INVALID_ARGUMENT);
			return;
		}
		token_key[n] = '\0';
		x.marker = token_key;
	} else {
		x.marker = s3_qparam(r, v2 ? "start-after" : "marker");
	}
	if (x.marker && !*x.marker)
		x.marker = NULL;

	rc = s3_bucket_lookup(v, r->bucket, &bino);
	if (rc) {
		free(token_key);
		s3_resp_error(c, rc);
		return;
	}
	if (x.max)
		rc = walk_from_prefix(&x, bino);
	vol_forget(v, bino, 1);
	if (!rc && (x.contents.oom || x.cps.oom))
		rc = -ENOMEM;
	if (rc)
		goto out_free;

	s3_xml_begin(&b, versions ? "ListVersionsResult" : "ListBucketResult");
	s3_xml_text(&b, "Name", r->bucket);
	/* V1's Prefix is the one element not encoded with encoding-type=url (as
	 * AWS answers and boto3, which always asks for url, expects). */
	if (!v2 && !versions)
		s3_xml_text(&b, "Prefix", x.prefix);
	else
		put_key(&x, &b, "Prefix", x.prefix);
	if (versions) {
		put_key(&x, &b, "KeyMarker", x.marker ? x.marker : "");
		s3_xml_text(&b, "VersionIdMarker", "");
		if (x.truncated && x.last) {
			put_key(&x, &b, "NextKeyMarker", x.last);
			s3_xml_text(&b, "NextVersionIdMarker", "null");
		}
	} else if (v2) {
		s3_xml_u64(&b, "KeyCount", x.count);
		if (token)
			s3_xml_text(&b, "ContinuationToken", token);
		if (s3_qparam(r, "start-after"))
			put_key(&x, &b, "StartAfter", s3_qparam(r, "start-after"));
		if (x.truncated && x.last) {
			size_t ll = strlen(x.last);
			char *t = malloc(4 * ((ll + 2) / 3) + 1);
			if (!t) {
				rc = -ENOMEM;
				goto out_free;
			}
			s3_base64_encode(x.last, ll, t);
			s3_xml_text(&b, "NextContinuationToken", t);
			free(t);
		}
	} else {
		put_key(&x, &b, "Marker", x.marker ? x.marker : "");
		if (x.truncated && x.last)
			put_key(&x, &b, "NextMarker", x.last);
	}
	s3_xml_u64(&b, "MaxKeys", x.max);
	if (x.delim)
		put_key(&x, &b, "Delimiter", x.delim);
	if (x.url)
		s3_xml_text(&b, "EncodingType", "url");
	s3_xml_text(&b, "IsTruncated", x.truncated ? "true" : "false");
	if (x.contents.p)
		s3_sb_add(&b, x.contents.p, x.contents.len);
	if (x.cps.p)
		s3_sb_add(&b, x.cps.p, x.cps.len);
	s3_xml_close(&b, versions ? "ListVersionsResult" : "ListBucketResult");
out_free:
	free(token_key);
	free(x.last);
	free(x.last_cp);
	s3_sb_free(&x.contents);
	s3_sb_free(&x.cps);
	if (rc) {
		s3_sb_free(&b);
		s3_resp_error(c, rc);
		return;
	}
	s3_resp_xml(c, &b);
}

const struct s3_handler s3_op_list_objects = {
	.name = "ListObjects",
	.done = list_done,
};

const struct s3_handler s3_op_list_versions = {
	.name = "ListObjectVersions",
	.done = list_done,
};
