/* The auth file: who may do what. Lines "ACCESS_KEY SECRET_KEY rw|ro BUCKET|*"
 * (one key may have several lines, one per bucket) and "anonymous ro BUCKET"
 * for public reads; '#' starts a comment, blank lines are skipped. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/log.h"
#include "fs/s3/s3_int.h"

static int grant_add(struct s3_auth *a, const char *ak, const char *sk, bool rw, const char *bucket)
{
	struct s3_grant *g = realloc(a->g, (a->n + 1) * sizeof(*g));

	if (!g)
		return -ENOMEM;
	a->g = g;
	g = &a->g[a->n];
	memset(g, 0, sizeof(*g));
	g->access_key = ak ? strdup(ak) : NULL;
	g->secret = sk ? strdup(sk) : NULL;
	g->bucket = strdup(bucket);
	g->rw = rw;
	a->n++;
	if ((ak && !g->access_key) || (sk && !g->secret) || !g->bucket)
		return -ENOMEM;
	return 0;
}

int s3_auth_load(const char *path, struct s3_auth **out, char *why, size_t whylen)
{
	struct s3_auth *a;
	char line[1024], own[PATH_MAX + 160];
	unsigned lineno = 0;
	int rc = 0;
	FILE *f = fopen(path, "r");

	if (!why || !whylen) {
		why = own; /* only logged */
		whylen = sizeof(own);
	}
	if (!f) {
		rc = -errno;
		snprintf(why, whylen, "s3: cannot open auth file %s: %s", path, tfs_strerror(rc));
		tfs_err("%s", why);
		return rc;
	}
	{
		struct stat st;
		if (!fstat(fileno(f), &st) && (st.st_mode & 077))
			tfs_warn("s3: the auth file %s holds secrets but others can read it; "
				 "chmod 600 it",
				 path);
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		rc = -ENOMEM;
		goto out_close;
	}
	while (fgets(line, sizeof(line), f)) {
		char *w[5] = {0}, *save = NULL, *hash = strchr(line, '#');
		unsigned nw = 0;

		lineno++;
		if (hash)
			*hash = '\0';
		for (char *t = strtok_r(line, " \t\r\n", &save); t;
		     t = strtok_r(NULL, " \t\r\n", &save)) {
			if (nw == 5)
				break;
			w[nw++] = t;
		}
		if (nw == 0)
			continue;
		if (nw == 3 && !strcmp(w[0], "anonymous") && !strcmp(w[1], "ro")) {
			rc = grant_add(a, NULL, NULL, false, w[2]);
		} else if (nw == 4 && (!strcmp(w[2], "rw") || !strcmp(w[2], "ro")) &&
			   strcmp(w[0], "anonymous")) {
			rc = grant_add(a, w[0], w[1], w[2][1] == 'w', w[3]);
		} else {
			snprintf(why, whylen,
				 "s3: auth file %s:%u: expected \"ACCESS_KEY SECRET_KEY rw|ro "
				 "BUCKET|*\" or \"anonymous ro BUCKET\"",
				 path, lineno);
			tfs_err("%s", why);
			rc = -EINVAL;
		}
		if (rc)
			goto out_free;
	}
	if (ferror(f)) {
		rc = -EIO;
		snprintf(why, whylen, "s3: reading auth file %s failed", path);
		tfs_err("%s", why);
		goto out_free;
	}
	fclose(f);
	a->refs = 1;
	*out = a;
	return 0;

out_free:
	s3_auth_free(a);
out_close:
	fclose(f);
	return rc;
}

void s3_auth_free(struct s3_auth *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++) {
		free(a->g[i].access_key);
		if (a->g[i].secret)
			memset(a->g[i].secret, 0, strlen(a->g[i].secret));
		free(a->g[i].secret);
		free(a->g[i].bucket);
	}
	free(a->g);
	free(a);
}

const char *s3_auth_secret(const struct s3_auth *a, const char *access_key)
{
	for (size_t i = 0; a && i < a->n; i++)
		if (a->g[i].access_key && !strcmp(a->g[i].access_key, access_key))
			return a->g[i].secret;
	return NULL;
}

bool s3_auth_allows(const struct s3_auth *a, const char *access_key, const char *bucket, bool write)
{
	for (size_t i = 0; a && i < a->n; i++) {
		const struct s3_grant *g = &a->g[i];
		if (!access_key != !g->access_key)
			continue;
		if (access_key && strcmp(access_key, g->access_key))
			continue;
		if (write && !g->rw)
			continue;
		/* The service level (ListBuckets) is open to every known key;
		 * it shows only the buckets the key may read. */
		if (!bucket && access_key)
			return true;
		if (bucket && (!strcmp(g->bucket, "*") || !strcmp(g->bucket, bucket)))
			return true;
	}
	return false;
}
