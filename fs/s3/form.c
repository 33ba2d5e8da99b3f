/* An incremental multipart/form-data parser (RFC 7578 over RFC 2046) for
 * browser form uploads: bytes are fed as they arrive, in pieces of any size,
 * and each part's headers and data are handed to callbacks without the
 * body ever being held whole. A delimiter split across pieces is held back
 * (at most its own length) until it is known to be one or not. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fs/s3/s3_int.h"

#define FORM_HDR_MAX 8192

enum {
	F_PREAMBLE, /* before the first delimiter: discarded */
	F_AFTER,    /* after a delimiter: "--" or transport padding and CRLF */
	F_AFTER_DASH,
	F_AFTER_CR,
	F_HEADERS,
	F_DATA,
	F_END, /* after the close delimiter: the epilogue, discarded */
	F_ERROR,
};

/* The value of parameter @p param ("boundary", "name") in a header value
 * such as 'form-data; name="key"; filename="a.txt"', quoted or not; a quoted
 * value may hold '\"'. @return its length, or -1 when absent or too long. */
ssize_t s3_form_param(const char *hv, const char *param, char *out, size_t size)
{
	size_t pl = strlen(param);
	const char *p = strchr(hv, ';');

	while (p) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!strncasecmp(p, param, pl) && p[pl] == '=') {
			const char *v = p + pl + 1;
			size_t o = 0;
			if (*v == '"') {
				for (v++; *v && *v != '"'; v++) {
					if (*v == '\\' && v[1])
						v++;
					if (o + 1 >= size)
						return -1;
					out[o++] = *v;
				}
				if (*v != '"')
					return -1;
			} else {
				for (; *v && *v != ';' && *v != ' ' && *v != '\t'; v++) {
					if (o + 1 >= size)
						return -1;
					out[o++] = *v;
				}
			}
			out[o] = '\0';
			return (ssize_t)o;
		}
		/* Skip to the next ';' outside quotes. */
		bool q = false;
		for (; *p; p++) {
			if (*p == '"')
				q = !q;
			else if (*p == '\\' && q && p[1])
				p++;
			else if (*p == ';' && !q)
				break;
		}
		p = *p ? p : NULL;
	}
	return -1;
}

int s3_form_init(struct s3_form *f, const char *content_type, const struct s3_form_cb *cb,
		 void *arg)
{
	char b[S3_FORM_BOUNDARY_MAX + 1];
	ssize_t n;

	memset(f, 0, sizeof(*f));
	if (!content_type || strncasecmp(content_type, "multipart/form-data", 19) ||
	    (content_type[19] && content_type[19] != ';' && content_type[19] != ' '))
		return -EINVAL;
	n = s3_form_param(content_type, "boundary", b, sizeof(b));
	if (n < 1 || n > 70 || strpbrk(b, "\r\n"))
		return -EINVAL;
	f->dlen = (size_t)snprintf(f->delim, sizeof(f->delim), "\r\n--%s", b);
	f->state = F_PREAMBLE;
	f->match = 2; /* the first delimiter may open the body, without a CRLF before it */
	f->cb = cb;
	f->arg = arg;
	return 0;
}

void s3_form_fini(struct s3_form *f)
{
	s3_sb_free(&f->hdr);
}

static int fail(struct s3_form *f, const char *why, int rc)
{
	f->state = F_ERROR;
	f->why = why;
	return rc;
}

/* A part's header block (CRLF-separated lines) is complete. */
static int part_headers(struct s3_form *f)
{
	char name[S3_FORM_NAME_MAX + 1] = "", filename[S3_FORM_NAME_MAX + 1] = "";
	char ctype[256] = "";
	bool have_name = false, have_file = false;
	char *line = f->hdr.p ? f->hdr.p : (char *)"";

	while (*line) {
		char *eol = strstr(line, "\r\n");
		if (!eol)
			break;
		*eol = '\0';
		char *colon = strchr(line, ':');
		if (colon) {
			*colon = '\0';
			char *v = colon + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			if (!strcasecmp(line, "content-disposition")) {
				if (strncasecmp(v, "form-data", 9))
					return fail(f, "a part is not form-data", -EINVAL);
				have_name = s3_form_param(v, "name", name, sizeof(name)) >= 0;
				have_file = s3_form_param(v, "filename", filename,
							  sizeof(filename)) >= 0;
			} else if (!strcasecmp(line, "content-type")) {
				snprintf(ctype, sizeof(ctype), "%s", v);
			}
		} else if (*line) {
			return fail(f, "a part's header line has no ':'", -EINVAL);
		}
		line = eol + 2;
	}
	s3_sb_reset(&f->hdr);
	if (!have_name)
		return fail(f, "a part has no Content-Disposition name", -EINVAL);
	f->in_part = true;
	return f->cb->part_begin(f->arg, name, have_file ? filename : NULL, ctype);
}

static int emit(struct s3_form *f, const char *data, size_t len)
{
	if (!len || f->state != F_DATA)
		return 0;
	return f->cb->part_data(f->arg, data, len);
}

/* The bytes of a part's data (or of the preamble) up to a delimiter. */
static ssize_t feed_data(struct s3_form *f, const char *data, size_t len)
{
	size_t run = 0;
	int rc;

	for (size_t i = 0; i < len; i++) {
		char ch = data[i];

		if (ch == f->delim[f->match]) {
			if (f->match == 0) {
				rc = emit(f, data + run, i - run);
				if (rc)
					return rc;
			}
			if (++f->match == f->dlen) {
				f->match = 0;
				if (f->state == F_DATA) {
					f->in_part = false;
					rc = f->cb->part_end(f->arg);
					if (rc)
						return rc;
				}
				f->state = F_AFTER;
				return (ssize_t)(i + 1);
			}
			continue;
		}
		if (f->match) {
			/* Not a delimiter after all: what was held back is data.
			 * The boundary has no CR, so only this byte can begin one. */
			rc = emit(f, f->delim, f->match);
			if (rc)
				return rc;
			f->match = 0;
			if (ch == f->delim[0]) {
				f->match = 1;
				continue;
			}
			run = i;
		}
	}
	if (!f->match) {
		rc = emit(f, data + run, len - run);
		if (rc)
			return rc;
	}
	return (ssize_t)len;
}

static ssize_t feed_headers(struct s3_form *f, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		s3_sb_putc(&f->hdr, data[i]);
		if (f->hdr.oom)
			return fail(f, "out of memory", -ENOMEM);
		if (f->hdr.len > FORM_HDR_MAX)
			return fail(f, "a part's headers are longer than 8 KiB", -EINVAL);
		if ((f->hdr.len == 2 && !memcmp(f->hdr.p, "\r\n", 2)) ||
		    (f->hdr.len >= 4 && !memcmp(f->hdr.p + f->hdr.len - 4, "\r\n\r\n", 4))) {
			int rc = part_headers(f);
			if (rc)
				return rc;
			f->state = F_DATA;
			f->match = 0;
			return (ssize_t)(i + 1);
		}
	}
	return (ssize_t)len;
}

int s3_form_feed(struct s3_form *f, const char *data, size_t len)
{
	while (len) {
		ssize_t n = 0;

		switch (f->state) {
		case F_PREAMBLE:
		case F_DATA:
			n = feed_data(f, data, len);
			break;
		case F_AFTER:
			if (*data == '-')
				f->state = F_AFTER_DASH;
			else if (*data == '\r')
				f->state = F_AFTER_CR;
			else if (*data != ' ' && *data != '\t')
				return fail(f, "a delimiter is followed by neither CRLF nor \"--\"",
					    -EINVAL);
			n = 1;
			break;
		case F_AFTER_DASH:
			if (*data != '-')
				return fail(f, "a delimiter is followed by a single '-'", -EINVAL);
			f->state = F_END;
			n = 1;
			break;
		case F_AFTER_CR:
			if (*data != '\n')
				return fail(f, "a delimiter's CR is not followed by LF", -EINVAL);
			f->state = F_HEADERS;
			n = 1;
			break;
		case F_HEADERS:
			n = feed_headers(f, data, len);
			break;
		case F_END:
			return 0;
		default:
			return -EINVAL;
		}
		if (n < 0) {
			if (f->state != F_ERROR)
				fail(f, f->why ? f->why : "refused", (int)n);
			return (int)n;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

bool s3_form_complete(const struct s3_form *f)
{
	return f->state == F_END;
}
