/* Canned ACLs mapped onto the auth file's model: a bucket or an object is
 * private (only the keys the auth file lets in) or public-read (anyone may
 * also read it: GET and HEAD of a public object, listing and HEAD of a
 * public bucket, as AllUsers READ means on AWS). The mark is the xattr
 * user.s3.acl = "public-read" on the file or bucket directory, so that it
 * survives restarts and goes with a rename. Nothing else is accepted:
 * other canned ACLs, grant headers and AccessControlPolicy documents that
 * are not one of these two answer NotImplemented. */
#include <dirent.h>
#include <errno.h>
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/s3/s3_int.h"

#define ALL_USERS "http://acs.amazonaws.com/groups/global/AllUsers"

int s3_acl_canned(struct s3_conn *c, const char *v, bool *public)
{
	/* With one owner for every bucket and object, the bucket-owner ACLs
	 * grant nothing beyond private. */
	if (!strcmp(v, "private") || !strcmp(v, "bucket-owner-full-control") ||
	    !strcmp(v, "bucket-owner-read")) {
		*public = false;
		return 0;
	}
	if (!strcmp(v, "public-read")) {
		*public = true;
		return 0;
	}
	s3_req_errmsg(c,
		      "The canned ACL '%.64s' (x-amz-acl, or a form's acl field) is not "
		      "supported: only private and public-read (anonymous reads) map onto this "
		      "server's access keys",
		      v);
	return -S3E_NOT_IMPLEMENTED;
}

bool s3_acl_public(struct vol *v, uint64_t ino)
{
	char val[32];
	ssize_t n = vol_getxattr(v, ino, S3_ACL_X, val, sizeof(val) - 1);

	if (n < 0)
		return false;
	val[n] = '\0';
	return !strcmp(val, "public-read");
}

int s3_acl_store(struct vol *v, uint64_t ino, bool public)
{
	int rc;

	if (public)
		return vol_setxattr(v, ino, S3_ACL_X, "public-read", 11, 0);
	rc = vol_removexattr(v, ino, S3_ACL_X);
	return rc == -ENODATA ? 0 : rc;
}

int s3_acl_store_from_req(struct s3_conn *c, uint64_t ino)
{
	const char *h = s3_hdr(&c->req, "x-amz-acl");
	bool public = false;
	int rc = h ? s3_acl_canned(c, h, &public) : 0;

	return rc ? rc : s3_acl_store(c->srv->v, ino, public);
}

/* ---- GetBucketAcl, GetObjectAcl ----------------------------------------------------------- */

void s3_acl_respond(struct s3_conn *c, bool public)
{
	struct s3_sbuf b = {0};
	const char *owner = c->req.id.access_key ? c->req.id.access_key : "trackfs";

	s3_xml_begin(&b, "AccessControlPolicy");
	s3_xml_open(&b, "Owner");
	s3_xml_text(&b, "ID", owner);
	s3_xml_text(&b, "DisplayName", owner);
	s3_xml_close(&b, "Owner");
	s3_sb_puts(&b, "<AccessControlList><Grant><Grantee "
		       "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
		       "xsi:type=\"CanonicalUser\">");
	s3_xml_text(&b, "ID", owner);
	s3_xml_text(&b, "DisplayName", owner);
	s3_sb_puts(&b, "</Grantee><Permission>FULL_CONTROL</Permission></Grant>");
	if (public)
		s3_sb_puts(&b, "<Grant><Grantee "
			       "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
			       "xsi:type=\"Group\"><URI>" ALL_USERS "</URI></Grantee>"
			       "<Permission>READ</Permission></Grant>");
	s3_sb_puts(&b, "</AccessControlList></AccessControlPolicy>");
	s3_resp_xml(c, &b);
}

/* ---- PutBucketAcl, PutObjectAcl with an AccessControlPolicy ------------------------------- */

struct acl_xp {
	XML_Parser p;
	int depth;
	char path[6][24];
	struct s3_sbuf text;
	char type[24]; /* the Grantee's xsi:type */
	char uri[128], perm[24];
	bool owner_full, all_read, other;
	int err;
};

static const char *lname(const char *n)
{
	const char *c = strrchr(n, ':');
	return c ? c + 1 : n;
}

static void XMLCALL ax_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct acl_xp *x = ud;

	x->depth++;
	s3_sb_reset(&x->text);
	if (x->depth > 5) {
		x->err = -S3E_MALFORMED_XML;
		XML_StopParser(x->p, XML_FALSE);
		return;
	}
	snprintf(x->path[x->depth], sizeof(x->path[0]), "%s", lname(name));
	if (x->depth == 1 && strcmp(x->path[1], "AccessControlPolicy")) {
		x->err = -S3E_MALFORMED_XML;
		XML_StopParser(x->p, XML_FALSE);
	}
	if (x->depth == 3 && !strcmp(x->path[3], "Grant"))
		x->type[0] = x->uri[0] = x->perm[0] = '\0';
	if (x->depth == 4 && !strcmp(x->path[4], "Grantee"))
		for (size_t i = 0; attrs[i]; i += 2)
			if (!strcmp(lname(attrs[i]), "type"))
				snprintf(x->type, sizeof(x->type), "%s", attrs[i + 1]);
}

static void XMLCALL ax_text(void *ud, const XML_Char *s, int len)
{
	struct acl_xp *x = ud;

	if (x->text.len + (size_t)len <= 1024)
		s3_sb_add(&x->text, s, (size_t)len);
}

static void XMLCALL ax_end(void *ud, const XML_Char *name)
{
	struct acl_xp *x = ud;
	const char *t = x->text.p ? x->text.p : "";

	(void)name;
	if (x->depth == 5 && !strcmp(x->path[4], "Grantee") && !strcmp(x->path[5], "URI"))
		snprintf(x->uri, sizeof(x->uri), "%s", t);
	else if (x->depth == 5 && !strcmp(x->path[4], "Grantee") && strcmp(x->path[5], "ID") &&
		 strcmp(x->path[5], "DisplayName"))
		x->other = true; /* EmailAddress and the like */
	else if (x->depth == 4 && !strcmp(x->path[4], "Permission"))
		snprintf(x->perm, sizeof(x->perm), "%s", t);
	else if (x->depth == 3 && !strcmp(x->path[3], "Grant")) {
		if (!strcmp(x->type, "CanonicalUser") && !strcmp(x->perm, "FULL_CONTROL"))
			x->owner_full = true; /* the one owner there is */
		else if (!strcmp(x->type, "Group") && !strcmp(x->uri, ALL_USERS) &&
			 !strcmp(x->perm, "READ"))
			x->all_read = true;
		else
			x->other = true;
	}
	s3_sb_reset(&x->text);
	x->depth--;
}

int s3_acl_parse_policy(struct s3_conn *c, const char *xml, size_t len, bool *public)
{
	struct acl_xp x = {0};
	int rc = 0;

	x.p = XML_ParserCreate(NULL);
	if (!x.p)
		return -ENOMEM;
	XML_SetUserData(x.p, &x);
	XML_SetElementHandler(x.p, ax_start, ax_end);
	XML_SetCharacterDataHandler(x.p, ax_text);
	if (XML_Parse(x.p, xml, (int)len, XML_TRUE) != XML_STATUS_OK)
		rc = x.err ? x.err : -S3E_MALFORMED_XML;
	XML_ParserFree(x.p);
	s3_sb_free(&x.text);
	if (rc) {
		s3_req_errmsg(c, "The XML you provided was not a well-formed AccessControlPolicy");
		return rc;
	}
	if (x.other || !x.owner_full) {
		s3_req_errmsg(c,
			      "Only the grants of the canned ACLs private (the owner's "
			      "FULL_CONTROL) and public-read (with AllUsers READ) are supported");
		return -S3E_NOT_IMPLEMENTED;
	}
	*public = x.all_read;
	return 0;
}

/* ---- who may read without a grant ----------------------------------------------------------- */

bool s3_acl_allows(struct s3_conn *c, const struct s3_handler *h)
{
	struct s3_req *r = &c->req;
	struct vol_attr a;
	uint64_t ino;
	bool ok;

	if (h == &s3_op_get_object || h == &s3_op_head_object) {
		if (s3_key_lookup(c, r->bucket, r->key, &a))
			return false;
		ino = a.ino;
	} else if (h == &s3_op_list_objects || h == &s3_op_list_versions ||
		   h == &s3_op_head_bucket) {
		if (s3_bucket_lookup(c->srv->v, r->bucket, &ino))
			return false;
	} else {
		return false;
	}
	ok = s3_acl_public(c->srv->v, ino);
	vol_forget(c->srv->v, ino, 1);
	return ok;
}

/* ---- what trackfs status shows ----------------------------------------------------------------
 */

struct names {
	char (*n)[256];
	size_t len, cap;
	int err;
};

static int name_cb(void *arg, const struct vol_dirent *d, const struct vol_attr *attr)
{
	struct names *l = arg;

	(void)attr;
	if (d->type != DT_DIR || d->namelen > 255 || s3_dot_name(d->name, d->namelen) ||
	    s3_name_hidden(d->name, d->namelen))
		return 0;
	if (!s3_grow((void **)&l->n, &l->cap, l->len + 1, sizeof(*l->n))) {
		l->err = -ENOMEM;
		return 1;
	}
	memcpy(l->n[l->len], d->name, d->namelen);
	l->n[l->len][d->namelen] = '\0';
	l->len++;
	return 0;
}

void s3_public_note(struct s3_server *s)
{
	struct names l = {0};
	struct s3_sbuf b = {0};
	size_t shown = 0;
	int rc = vol_readdir(s->v, VOL_ROOT_INO, 0, false, name_cb, &l);

	for (size_t i = 0; !rc && !l.err && i < l.len; i++) {
		struct vol_attr a;

		if (vol_lookup(s->v, VOL_ROOT_INO, l.n[i], &a))
			continue;
		if (s3_acl_public(s->v, a.ino)) {
			if (b.len < 400)
				s3_sb_printf(&b, "%s%s", shown ? ", " : "", l.n[i]);
			shown++;
		}
		vol_forget(s->v, a.ino, 1);
	}
	free(l.n);
	if (rc || l.err || b.oom) {
		s3_sb_free(&b);
		return;
	}
	if (b.len >= 400)
		s3_sb_puts(&b, ", ...");
	if (shown) {
		char text[VOL_NOTE_TEXT_MAX];
		snprintf(text, sizeof(text), "public-read bucket%s (anyone may list): %s",
			 shown == 1 ? "" : "s", b.p);
		vol_note_set(s->v, "S3", text);
	} else {
		vol_note_set(s->v, "S3", NULL);
	}
	s3_sb_free(&b);
}
