/* HTTP/1.1 chunked transfer coding (RFC 9112 section 7.1), decoded strictly:
 * http_parser tolerates any two bytes after a chunk's data where CRLF belongs
 * (so "3\r\nabcXX5\r\n..." would decode as "abc" + the next chunk), which lets
 * a body be framed differently here than by a proxy in front (request
 * smuggling). This decoder accepts exactly chunk-size [; extensions] CRLF
 * data CRLF ... 0 CRLF trailers CRLF and refuses everything else. */
#include <errno.h>
#include <string.h>

#include "fs/s3/s3_int.h"

#define SIZE_DIGITS_MAX 15	 /* < 2^60: no overflow, no absurd chunk */
#define EXT_MAX 4096		 /* chunk extensions on one line */
#define TRAILERS_MAX (16 * 1024) /* the whole trailer section */

enum {
	T_SIZE,	   /* hex digits */
	T_EXT,	   /* after ';' up to CR */
	T_SIZE_LF, /* CR seen after the size line */
	T_DATA,	   /* chunk data */
	T_DATA_CR, /* data done, CR expected */
	T_DATA_LF, /* LF expected */
	T_TRAILER, /* start of a trailer line (or the final CRLF) */
	T_TR_LINE, /* inside a trailer line */
	T_TR_LF,   /* CR seen at the end of a trailer line */
	T_END_LF,  /* CR of the final empty line seen */
	T_DONE,
};

void s3_te_init(struct s3_te_chunked *t)
{
	memset(t, 0, sizeof(*t));
	t->state = T_SIZE;
}

bool s3_te_done(const struct s3_te_chunked *t)
{
	return t->state == T_DONE;
}

static int bad(struct s3_te_chunked *t, const char *why)
{
	t->why = why;
	return -S3E_BAD_REQUEST;
}

ssize_t s3_te_feed(struct s3_te_chunked *t, const char *data, size_t len, s3_chunk_out_cb out,
		   void *arg)
{
	size_t i = 0;
	int rc, h;

	while (i < len && t->state != T_DONE) {
		char ch = data[i];

		switch (t->state) {
		case T_SIZE:
			h = s3_hexval(ch);
			if (h >= 0) {
				if (++t->digits > SIZE_DIGITS_MAX)
					return bad(t, "chunk size too large");
				t->left = t->left * 16 + (uint64_t)h;
			} else if (!t->digits) {
				return bad(t, "chunk size is not a hex number");
			} else if (ch == ';') {
				t->ext = 0;
				t->state = T_EXT;
			} else if (ch == '\r') {
				t->state = T_SIZE_LF;
			} else {
				return bad(t, "unexpected byte after the chunk size");
			}
			i++;
			break;
		case T_EXT:
			if (ch == '\r')
				t->state = T_SIZE_LF;
			else if (ch == '\n' || ch == '\0')
				return bad(t, "bare LF or NUL in a chunk extension");
			else if (++t->ext > EXT_MAX)
				return bad(t, "chunk extension too long");
			i++;
			break;
		case T_SIZE_LF:
			if (ch != '\n')
				return bad(t, "chunk size line not ended by CRLF");
			t->state = t->left ? T_DATA : T_TRAILER;
			t->digits = 0;
			i++;
			break;
		case T_DATA: {
			size_t n = len - i < t->left ? len - i : (size_t)t->left;
			rc = out(arg, data + i, n);
			if (rc)
				return rc;
			t->left -= n;
			i += n;
			if (!t->left)
				t->state = T_DATA_CR;
			break;
		}
		case T_DATA_CR:
			if (ch != '\r')
				return bad(
					t,
					"chunk data not followed by CRLF (longer than its size)");
			t->state = T_DATA_LF;
			i++;
			break;
		case T_DATA_LF:
			if (ch != '\n')
				return bad(t, "chunk data not followed by CRLF");
			t->state = T_SIZE;
			i++;
			break;
		case T_TRAILER:
			if (ch == '\r') {
				t->state = T_END_LF;
				i++;
				break;
			}
			t->state = T_TR_LINE;
			/* fall through */
		case T_TR_LINE:
			if (++t->trailer > TRAILERS_MAX)
				return bad(t, "chunked trailer section too large");
			if (ch == '\r')
				t->state = T_TR_LF;
			else if (ch == '\n' || ch == '\0')
				return bad(t, "bare LF or NUL in a chunked trailer");
			i++;
			break;
		case T_TR_LF:
			if (ch != '\n')
				return bad(t, "chunked trailer line not ended by CRLF");
			t->state = T_TRAILER;
			i++;
			break;
		case T_END_LF:
			if (ch != '\n')
				return bad(t, "chunked body not ended by CRLF");
			t->state = T_DONE;
			i++;
			break;
		}
	}
	return (ssize_t)i;
}
