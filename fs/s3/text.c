/* Small text helpers for the sidecar: growable buffers, percent coding as
 * SigV4 defines it, base64, hex, and the date formats S3 uses on the wire. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fs/s3/s3_int.h"

static bool sb_grow(struct s3_sbuf *b, size_t more)
{
	if (b->oom)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

bool s3_grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return true;
	size_t c = *cap ? *cap : 64;
	while (c < need)
		c *= 2;
	void *q = realloc(*p, c * size);
	if (!q)
		return false;
	*p = q;
	*cap = c;
	return true;
}

void s3_sb_add(struct s3_sbuf *b, const void *data, size_t len)
{
	if (!sb_grow(b, len))
		return;
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void s3_sb_puts(struct s3_sbuf *b, const char *s)
{
	s3_sb_add(b, s, strlen(s));
}

void s3_sb_putc(struct s3_sbuf *b, char ch)
{
	s3_sb_add(b, &ch, 1);
}

void s3_sb_printf(struct s3_sbuf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		s3_sb_add(b, small, (size_t)n);
		return;
	}
	if (!sb_grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void s3_sb_reset(struct s3_sbuf *b)
{
	b->len = 0;
	b->oom = false;
	if (b->p)
		b->p[0] = '\0';
}

void s3_sb_free(struct s3_sbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

char *s3_sb_take(struct s3_sbuf *b)
{
	char *p;

	if (b->oom) {
		s3_sb_free(b);
		return NULL;
	}
	if (!b->p && !sb_grow(b, 0))
		return NULL;
	if (!b->p)
		return NULL;
	p = b->p;
	memset(b, 0, sizeof(*b));
	return p;
}

static bool unreserved(unsigned char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

void s3_uri_encode(struct s3_sbuf *b, const char *s, size_t len, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (unreserved(ch) || (keep_slash && ch == '/')) {
			s3_sb_putc(b, (char)ch);
		} else {
			char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
			s3_sb_add(b, e, 3);
		}
	}
}

int s3_hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

ssize_t s3_uri_decode(char *s, size_t len, bool plus_is_space)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (ch == '%') {
			if (i + 2 >= len)
				return -EINVAL;
			int hi = s3_hexval(s[i + 1]), lo = s3_hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			ch = (char)(hi << 4 | lo);
			i += 2;
		} else if (ch == '+' && plus_is_space) {
			ch = ' ';
		}
		if (ch == '\0')
			return -EINVAL;
		s[o++] = ch;
	}
	s[o] = '\0';
	return (ssize_t)o;
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void s3_base64_encode(const void *data, size_t len, char *out)
{
	const unsigned char *p = data;
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		out[o++] = b64chars[v >> 18 & 63];
		out[o++] = b64chars[v >> 12 & 63];
		out[o++] = i + 1 < len ? b64chars[v >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? b64chars[v & 63] : '=';
	}
	out[o] = '\0';
}

ssize_t s3_base64_decode(const char *s, size_t len, void *out)
{
	unsigned char *o = out;
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;

	while (len > 0 && s[len - 1] == '=')
		len--;
	for (size_t i = 0; i < len; i++) {
		const char *c = memchr(b64chars, s[i], 64);
		if (!c || !s[i])
			return -EINVAL;
		acc = acc << 6 | (uint32_t)(c - b64chars);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[n++] = (unsigned char)(acc >> bits);
		}
	}
	return (ssize_t)n;
}

void s3_hex_encode(const void *data, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * len] = '\0';
}

uint64_t s3_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int s3_parse_amz_date(const char *s, time_t *out)
{
	struct tm tm = {0};
	const char *end;

	if (!s || strlen(s) != 16)
		return -EINVAL;
	end = strptime(s, "%Y%m%dT%H%M%SZ", &tm);
	if (!end || *end)
		return -EINVAL;
	*out = timegm(&tm);
	return 0;
}

int s3_parse_http_date(const char *s, time_t *out)
{
	static const char *const fmts[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
					   "%a %b %e %H:%M:%S %Y", "%Y-%m-%dT%H:%M:%SZ",
					   "%Y-%m-%dT%H:%M:%S.000Z"};
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		struct tm tm = {0};
		const char *end = strptime(s, fmts[i], &tm);
		if (end && !*end) {
			*out = timegm(&tm);
			return 0;
		}
	}
	return -EINVAL;
}

void s3_fmt_http_date(time_t t, char *out, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, size, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

void s3_fmt_iso_date(const struct timespec *ts, char *out, size_t size)
{
	struct tm tm;
	char base[32];

	gmtime_r(&ts->tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, size, "%s.%03ldZ", base, ts->tv_nsec / 1000000);
}

bool s3_str_equal_ct(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}
