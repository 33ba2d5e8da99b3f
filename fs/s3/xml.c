/* XML for the S3 wire: small writers for responses (with escaping) and
 * expat parsers for the two request bodies that carry XML, DeleteObjects and
 * CompleteMultipartUpload. */
#include <ctype.h>
#include <errno.h>
#include <expat.h>
#include <stdlib.h>
#include <string.h>

#include "fs/s3/s3_int.h"

#define S3_XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"
#define MAX_DELETE_KEYS 1000
#define MAX_PARTS 10000

void s3_xml_escape(struct s3_sbuf *b, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		switch (ch) {
		case '&':
			s3_sb_puts(b, "&amp;");
			break;
		case '<':
			s3_sb_puts(b, "&lt;");
			break;
		case '>':
			s3_sb_puts(b, "&gt;");
			break;
		case '"':
			s3_sb_puts(b, "&quot;");
			break;
		case '\'':
			s3_sb_puts(b, "&apos;");
			break;
		default:
			/* XML 1.0 cannot carry most control characters even as
			 * references; S3 writes them as numeric references, and
			 * clients that care ask for encoding-type=url. */
			if (ch < 0x20)
				s3_sb_printf(b, "&#x%X;", ch);
			else
				s3_sb_putc(b, (char)ch);
		}
	}
}

void s3_xml_begin(struct s3_sbuf *b, const char *root)
{
	s3_sb_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<%s xmlns=\"%s\">", root,
		     S3_XMLNS);
}

void s3_xml_open(struct s3_sbuf *b, const char *tag)
{
	s3_sb_printf(b, "<%s>", tag);
}

void s3_xml_close(struct s3_sbuf *b, const char *tag)
{
	s3_sb_printf(b, "</%s>", tag);
}

void s3_xml_textn(struct s3_sbuf *b, const char *tag, const char *text, size_t len)
{
	s3_xml_open(b, tag);
	s3_xml_escape(b, text, len);
	s3_xml_close(b, tag);
}

void s3_xml_text(struct s3_sbuf *b, const char *tag, const char *text)
{
	s3_xml_textn(b, tag, text ? text : "", text ? strlen(text) : 0);
}

void s3_xml_u64(struct s3_sbuf *b, const char *tag, uint64_t v)
{
	s3_sb_printf(b, "<%s>%llu</%s>", tag, (unsigned long long)v, tag);
}

/* ---- parsing ----------------------------------------------------------------------- */

struct xp {
	XML_Parser p;
	int depth;
	char path[4][40]; /* element names by depth (1-based below) */
	struct s3_sbuf text;
	int err;
	/* DeleteObjects */
	struct s3_delete_list *del;
	/* CompleteMultipartUpload */
	struct s3_complete_list *cl;
	unsigned cur_part;
	char cur_etag[80];
	char cur_ck[16], cur_ck_b64[80];
	bool have_part;
};

static const char *local_name(const char *n)
{
	const char *c = strrchr(n, ':');
	return c ? c + 1 : n;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct xp *x = ud;

	x->depth++;
	if (x->depth <= 3)
		snprintf(x->path[x->depth], sizeof(x->path[0]), "%s", local_name(name));
	s3_sb_reset(&x->text);
	if (x->cl && x->depth == 2 && !strcmp(x->path[2], "Part")) {
		x->cur_part = 0;
		x->cur_etag[0] = '\0';
		x->cur_ck[0] = x->cur_ck_b64[0] = '\0';
		x->have_part = false;
	}
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	struct xp *x = ud;

	if (x->text.len + (size_t)len > 4096) {
		x->err = -S3E_MALFORMED_XML;
		XML_StopParser(x->p, XML_FALSE);
		return;
	}
	s3_sb_add(&x->text, s, (size_t)len);
}

static const char *text_of(struct xp *x)
{
	return x->text.p ? x->text.p : "";
}

static void del_end(struct xp *x)
{
	struct s3_delete_list *d = x->del;

	if (x->depth == 2 && !strcmp(x->path[2], "Quiet")) {
		d->quiet = !strcmp(text_of(x), "true");
	} else if (x->depth == 3 && !strcmp(x->path[2], "Object") && !strcmp(x->path[3], "Key")) {
		if (d->n == MAX_DELETE_KEYS) {
			x->err = -S3E_MALFORMED_XML;
			return;
		}
		char **k = realloc(d->keys, (d->n + 1) * sizeof(*k));
		if (!k) {
			x->err = -ENOMEM;
			return;
		}
		d->keys = k;
		d->keys[d->n] = strdup(text_of(x));
		if (!d->keys[d->n]) {
			x->err = -ENOMEM;
			return;
		}
		d->n++;
	}
}

static void complete_end(struct xp *x)
{
	struct s3_complete_list *l = x->cl;
	const char *t = text_of(x);

	if (x->depth == 3 && !strcmp(x->path[2], "Part")) {
		if (!strcmp(x->path[3], "PartNumber")) {
			char *end;
			unsigned long n = strtoul(t, &end, 10);
			if (*end || n < 1 || n > MAX_PARTS) {
				x->err = -S3E_INVALID_PART;
				return;
			}
			x->cur_part = (unsigned)n;
			x->have_part = true;
		} else if (!strcmp(x->path[3], "ETag")) {
			size_t len = strlen(t);
			if (len >= 2 && t[0] == '"' && t[len - 1] == '"') {
				t++;
				len -= 2;
			}
			if (len >= sizeof(x->cur_etag))
				len = sizeof(x->cur_etag) - 1;
			memcpy(x->cur_etag, t, len);
			x->cur_etag[len] = '\0';
		} else if (!strncmp(x->path[3], "Checksum", 8) && x->path[3][8] &&
			   strcmp(x->path[3], "ChecksumType") &&
			   strlen(x->path[3] + 8) < sizeof(x->cur_ck) && strlen(t) < 80) {
			size_t i;
			for (i = 0; x->path[3][8 + i]; i++)
				x->cur_ck[i] = (char)tolower((unsigned char)x->path[3][8 + i]);
			x->cur_ck[i] = '\0';
			snprintf(x->cur_ck_b64, sizeof(x->cur_ck_b64), "%s", t);
		}
	} else if (x->depth == 2 && !strcmp(x->path[2], "Part")) {
		if (!x->have_part || l->n == MAX_PARTS) {
			x->err = -S3E_MALFORMED_XML;
			return;
		}
		struct s3_part_ref *p = realloc(l->parts, (l->n + 1) * sizeof(*p));
		if (!p) {
			x->err = -ENOMEM;
			return;
		}
		l->parts = p;
		p[l->n].number = x->cur_part;
		memcpy(p[l->n].etag, x->cur_etag, sizeof(p[l->n].etag));
		memcpy(p[l->n].ck_name, x->cur_ck, sizeof(p[l->n].ck_name));
		memcpy(p[l->n].ck_b64, x->cur_ck_b64, sizeof(p[l->n].ck_b64));
		l->n++;
	}
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	struct xp *x = ud;

	if (!x->err) {
		if (x->del)
			del_end(x);
		else
			complete_end(x);
		if (x->err)
			XML_StopParser(x->p, XML_FALSE);
	}
	s3_sb_reset(&x->text);
	x->depth--;
}

static int parse(struct xp *x, const char *root, const char *xml, size_t len)
{
	int rc = 0;

	x->p = XML_ParserCreate(NULL);
	if (!x->p)
		return -ENOMEM;
	XML_SetUserData(x->p, x);
	XML_SetElementHandler(x->p, on_start, on_end);
	XML_SetCharacterDataHandler(x->p, on_text);
	if (XML_Parse(x->p, xml, (int)len, XML_TRUE) != XML_STATUS_OK)
		rc = x->err ? x->err : -S3E_MALFORMED_XML;
	else if (strcmp(x->path[1], root))
		rc = -S3E_MALFORMED_XML;
	XML_ParserFree(x->p);
	s3_sb_free(&x->text);
	return rc;
}

int s3_xml_parse_delete(const char *xml, size_t len, struct s3_delete_list *out)
{
	struct xp x = {0};
	int rc;

	memset(out, 0, sizeof(*out));
	x.del = out;
	rc = parse(&x, "Delete", xml, len);
	if (!rc && out->n == 0)
		rc = -S3E_MALFORMED_XML;
	if (rc)
		s3_delete_list_fini(out);
	return rc;
}

void s3_delete_list_fini(struct s3_delete_list *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->keys[i]);
	free(d->keys);
	memset(d, 0, sizeof(*d));
}

int s3_xml_parse_complete(const char *xml, size_t len, struct s3_complete_list *out)
{
	struct xp x = {0};
	int rc;

	memset(out, 0, sizeof(*out));
	x.cl = out;
	rc = parse(&x, "CompleteMultipartUpload", xml, len);
	if (!rc && out->n == 0)
		rc = -S3E_MALFORMED_XML;
	if (rc)
		s3_complete_list_fini(out);
	return rc;
}

void s3_complete_list_fini(struct s3_complete_list *l)
{
	free(l->parts);
	memset(l, 0, sizeof(*l));
}
