/* The policy of a browser form upload (POST Object): the base64 JSON
 * document's expiration and conditions (json-c), checked against the form's
 * fields as S3 does: exact matches ({"f": "v"}, ["eq", "$f", "v"]),
 * ["starts-with", "$f", "prefix"], ["content-length-range", min, max]; a
 * bucket condition is required and every field the form sends (but the
 * signature, the policy, the file and x-ignore-*) must be covered by one. */
#include <errno.h>
#include <stdarg.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "fs/s3/s3_int.h"

struct s3_post_field *s3_post_field_get(struct s3_post_fields *fl, const char *name)
{
	for (size_t i = 0; i < fl->n; i++)
		if (!strcasecmp(fl->f[i].name, name))
			return &fl->f[i];
	return NULL;
}

int s3_post_field_add(struct s3_post_fields *fl, const char *name, const char *value, size_t vlen)
{
	struct s3_post_field *f = realloc(fl->f, (fl->n + 1) * sizeof(*f));

	if (!f)
		return -ENOMEM;
	fl->f = f;
	f = &fl->f[fl->n];
	memset(f, 0, sizeof(*f));
	f->name = strdup(name);
	f->value = strndup(value, vlen);
	fl->n++;
	if (!f->name || !f->value)
		return -ENOMEM;
	for (char *p = f->name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return 0;
}

void s3_post_fields_fini(struct s3_post_fields *fl)
{
	for (size_t i = 0; i < fl->n; i++) {
		free(fl->f[i].name);
		free(fl->f[i].value);
	}
	free(fl->f);
	memset(fl, 0, sizeof(*fl));
}

/* "2026-12-03T21:00:00Z" or with fractional seconds "...00.000Z". */
static int parse_expiration(const char *s, time_t *out)
{
	struct tm tm = {0};
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);

	if (!p)
		return -EINVAL;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (strcmp(p, "Z"))
		return -EINVAL;
	*out = timegm(&tm);
	return 0;
}

struct pcheck {
	const char *bucket;
	struct s3_post_fields *fl;
	char *why;
	size_t wsize;
	bool bucket_seen;
	uint64_t min, max;
};

static int deny(struct pcheck *pc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int deny(struct pcheck *pc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pc->why, pc->wsize, fmt, ap);
	va_end(ap);
	return -S3E_ACCESS_DENIED;
}

/* The value the form gives field @p name ("$key" without the '$'). */
static const char *value_of(struct pcheck *pc, const char *name, bool mark)
{
	if (!strcasecmp(name, "bucket")) {
		pc->bucket_seen = true;
		return pc->bucket;
	}
	struct s3_post_field *f = s3_post_field_get(pc->fl, name);
	if (!f)
		return NULL;
	if (mark)
		f->covered = true;
	return f->value;
}

static int cond_exact(struct pcheck *pc, const char *name, const char *want)
{
	const char *have = value_of(pc, name, true);

	if (!have || strcmp(have, want))
		return deny(pc,
			    "Invalid according to Policy: Policy Condition failed: [\"eq\", "
			    "\"$%s\", \"%s\"]",
			    name, want);
	return 0;
}

static int cond_object(struct pcheck *pc, struct json_object *o)
{
	json_object_object_foreach(o, k, v)
	{
		if (!json_object_is_type(v, json_type_string))
			return deny(pc, "Invalid Policy: the condition on '%s' is not a string", k);
		int rc = cond_exact(pc, k, json_object_get_string(v));
		if (rc)
			return rc;
	}
	return 0;
}

static int get_u64(struct json_object *v, uint64_t *out)
{
	if (json_object_is_type(v, json_type_int)) {
		int64_t n = json_object_get_int64(v);
		if (n < 0)
			return -EINVAL;
		*out = (uint64_t)n;
		return 0;
	}
	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		char *end;
		if (!*s || *s == '-')
			return -EINVAL;
		*out = strtoull(s, &end, 10);
		return *end ? -EINVAL : 0;
	}
	return -EINVAL;
}

static int cond_array(struct pcheck *pc, struct json_object *a)
{
	size_t n = json_object_array_length(a);
	struct json_object *op = n ? json_object_array_get_idx(a, 0) : NULL;
	const char *ops;

	if (n != 3 || !json_object_is_type(op, json_type_string))
		return deny(pc, "Invalid Policy: a condition array needs 3 elements");
	ops = json_object_get_string(op);
	if (!strcasecmp(ops, "content-length-range")) {
		if (get_u64(json_object_array_get_idx(a, 1), &pc->min) ||
		    get_u64(json_object_array_get_idx(a, 2), &pc->max) || pc->min > pc->max)
			return deny(pc, "Invalid Policy: content-length-range needs two whole "
					"numbers, min <= max");
		return 0;
	}
	struct json_object *f = json_object_array_get_idx(a, 1);
	struct json_object *v = json_object_array_get_idx(a, 2);
	if (!json_object_is_type(f, json_type_string) || !json_object_is_type(v, json_type_string))
		return deny(pc, "Invalid Policy: condition \"%s\" needs a field and a string", ops);
	const char *fname = json_object_get_string(f), *want = json_object_get_string(v);
	if (fname[0] != '$')
		return deny(pc, "Invalid Policy: the field '%s' of a condition must start with '$'",
			    fname);
	fname++;
	if (!strcasecmp(ops, "eq"))
		return cond_exact(pc, fname, want);
	if (!strcasecmp(ops, "starts-with")) {
		const char *have = value_of(pc, fname, true);
		if (!have)
			have = "";
		if (strncmp(have, want, strlen(want)))
			return deny(pc,
				    "Invalid according to Policy: Policy Condition failed: "
				    "[\"starts-with\", \"$%s\", \"%s\"]",
				    fname, want);
		return 0;
	}
	return deny(pc, "Invalid Policy: unknown condition operation \"%s\"", ops);
}

/* Fields the policy need not name. */
static bool exempt(const char *name)
{
	return !strcmp(name, "policy") || !strcmp(name, "x-amz-signature") ||
	       !strcmp(name, "file") || !strncmp(name, "x-ignore-", 9);
}

int s3_post_policy_check(const char *json, size_t len, const char *bucket,
			 struct s3_post_fields *fl, time_t now, uint64_t *min, uint64_t *max,
			 char *why, size_t wsize)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *doc, *exp, *conds;
	struct pcheck pc = {bucket, fl, why, wsize, false, 0, UINT64_MAX};
	time_t t;
	int rc = 0;

	if (!tok)
		return -ENOMEM;
	doc = json_tokener_parse_ex(tok, json, (int)len);
	if (!doc || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		json_tokener_free(tok);
		json_object_put(doc);
		deny(&pc, "Invalid Policy: the policy is not a JSON document");
		return -S3E_INVALID_ARGUMENT;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(doc, json_type_object) ||
	    !json_object_object_get_ex(doc, "expiration", &exp) ||
	    !json_object_is_type(exp, json_type_string) ||
	    !json_object_object_get_ex(doc, "conditions", &conds) ||
	    !json_object_is_type(conds, json_type_array)) {
		json_object_put(doc);
		deny(&pc, "Invalid Policy: it needs \"expiration\" (a date) and \"conditions\" (an "
			  "array)");
		return -S3E_INVALID_ARGUMENT;
	}
	if (parse_expiration(json_object_get_string(exp), &t)) {
		json_object_put(doc);
		deny(&pc, "Invalid Policy: Invalid 'expiration' value: '%s'",
		     json_object_get_string(exp));
		return -S3E_INVALID_ARGUMENT;
	}
	if (now > t) {
		json_object_put(doc);
		return deny(&pc, "Invalid according to Policy: Policy expired.");
	}
	for (size_t i = 0; !rc && i < json_object_array_length(conds); i++) {
		struct json_object *cd = json_object_array_get_idx(conds, i);
		if (json_object_is_type(cd, json_type_object))
			rc = cond_object(&pc, cd);
		else if (json_object_is_type(cd, json_type_array))
			rc = cond_array(&pc, cd);
		else
			rc = deny(&pc,
				  "Invalid Policy: a condition is neither an object nor an array");
	}
	json_object_put(doc);
	if (rc)
		return rc;
	if (!pc.bucket_seen)
		return deny(&pc,
			    "Invalid according to Policy: Policy Condition failed: the policy has "
			    "no condition on the bucket (add {\"bucket\": \"%s\"})",
			    bucket);
	for (size_t i = 0; i < fl->n; i++)
		if (!fl->f[i].covered && !exempt(fl->f[i].name))
			return deny(&pc,
				    "Invalid according to Policy: Extra input fields: %s (no "
				    "policy condition names it)",
				    fl->f[i].name);
	*min = pc.min;
	*max = pc.max;
	return 0;
}
