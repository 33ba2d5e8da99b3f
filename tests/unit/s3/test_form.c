/* The multipart/form-data parser of browser form uploads (form.c): parts
 * and their bytes come out the same however the body is split, a boundary
 * look-alike inside a file stays data, and malformed bodies are refused. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/s3/s3_int.h"

struct seen {
	char log[8192];
	size_t len;
};

static void put(struct seen *s, const char *p, size_t n)
{
	cr_assert_lt(s->len + n, sizeof(s->log));
	memcpy(s->log + s->len, p, n);
	s->len += n;
	s->log[s->len] = '\0';
}

static int begin(void *arg, const char *name, const char *filename, const char *ctype)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "[%s|%s|%s]", name, filename ? filename : "-", ctype);
	put(arg, buf, (size_t)n);
	return 0;
}

static int data(void *arg, const char *d, size_t n)
{
	put(arg, d, n);
	return 0;
}

static int end(void *arg)
{
	put(arg, "<end>", 5);
	return 0;
}

static const struct s3_form_cb cb = {begin, data, end};
static const char ctype[] = "multipart/form-data; boundary=XyZ";
static const char body[] = "--XyZ\r\n"
			   "Content-Disposition: form-data; name=\"key\"\r\n\r\n"
			   "up/${filename}\r\n"
			   "--XyZ\r\n"
			   "Content-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n"
			   "Content-Type: application/octet-stream\r\n\r\n"
			   "data\r\n--XyQ not a boundary\r\n--Xy\r\nmore\r\n"
			   "--XyZ--\r\n";
static const char want[] = "[key|-|]up/${filename}<end>"
			   "[file|a.bin|application/octet-stream]"
			   "data\r\n--XyQ not a boundary\r\n--Xy\r\nmore<end>";

static void run(size_t piece, struct seen *s)
{
	struct s3_form f;
	size_t n = strlen(body);

	memset(s, 0, sizeof(*s));
	cr_assert_eq(s3_form_init(&f, ctype, &cb, s), 0);
	for (size_t o = 0; o < n; o += piece)
		cr_assert_eq(s3_form_feed(&f, body + o, n - o < piece ? n - o : piece), 0,
			     "piece %zu at %zu: %s", piece, o, f.why ? f.why : "");
	cr_assert(s3_form_complete(&f), "piece %zu: no close delimiter seen", piece);
	s3_form_fini(&f);
}

Test(form, same_parts_for_every_split)
{
	struct seen s;

	for (size_t piece = 1; piece <= strlen(body); piece++) {
		run(piece, &s);
		cr_assert_str_eq(s.log, want, "piece %zu", piece);
	}
}

Test(form, refuses_bad_bodies)
{
	static const char *const bad[] = {
		"no delimiter at all\r\n",
		"--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--\r\n", /* no name */
		"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n", /* headers never end */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct seen s = {0};
		struct s3_form f;
		cr_assert_eq(s3_form_init(&f, ctype, &cb, &s), 0);
		int rc = s3_form_feed(&f, bad[i], strlen(bad[i]));
		cr_assert(rc < 0 || !s3_form_complete(&f), "bad body %zu accepted", i);
		s3_form_fini(&f);
	}
}

Test(form, content_type_needs_a_boundary)
{
	struct s3_form f;
	struct seen s;

	cr_assert_eq(s3_form_init(&f, "multipart/form-data", &cb, &s), -EINVAL);
	cr_assert_eq(s3_form_init(&f, "text/plain; boundary=a", &cb, &s), -EINVAL);
}
