/* Bucket and key <-> directories and files: name validation (a key that
 * cannot be a path is refused before anything is written), walking a key's
 * directories by inode, creating the ones a PUT needs (marked so that S3
 * deletes can remove them again once empty), and the change hook. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/log.h"
#include "fs/s3/s3_int.h"

#define DIR_MARK S3_DIR_MADE_X

/* Prefixes and suffixes AWS reserves (punycode, access point and multi-region
 * aliases, directory buckets). */
static const char *const reserved_pfx[] = {"xn--", "sthree-"};
static const char *const reserved_sfx[] = {"-s3alias", "--ol-s3", ".mrap", "--x-s3"};

const char *s3_bucket_name_problem(const char *name)
{
	size_t len = strlen(name);
	struct in_addr ip;

	if (len < 3 || len > 63)
		return "a bucket name must be 3 to 63 characters long";
	for (size_t i = 0; i < len; i++) {
		char ch = name[i], next = name[i + 1];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');

		if (!alnum && ch != '.' && ch != '-')
			return "a bucket name may only have lower-case letters, digits, '.' and "
			       "'-'";
		if ((i == 0 || i == len - 1) && !alnum)
			return "a bucket name must begin and end with a letter or a digit";
		if ((ch == '.' && (next == '.' || next == '-')) || (ch == '-' && next == '.'))
			return "a bucket name must not have '..', '.-' or '-.'";
	}
	if (inet_pton(AF_INET, name, &ip) == 1)
		return "a bucket name must not be formatted as an IP address";
	for (size_t i = 0; i < sizeof(reserved_pfx) / sizeof(reserved_pfx[0]); i++)
		if (!strncmp(name, reserved_pfx[i], strlen(reserved_pfx[i])))
			return "a bucket name must not begin with 'xn--' or 'sthree-'";
	for (size_t i = 0; i < sizeof(reserved_sfx) / sizeof(reserved_sfx[0]); i++) {
		size_t sl = strlen(reserved_sfx[i]);
		if (len >= sl && !strcmp(name + len - sl, reserved_sfx[i]))
			return "a bucket name must not end with '-s3alias', '--ol-s3', '.mrap' or "
			       "'--x-s3'";
	}
	return NULL;
}

int s3_bucket_name_check(const char *name)
{
	return s3_bucket_name_problem(name) ? -S3E_INVALID_BUCKET_NAME : 0;
}

int s3_bucket_req_check(const char *bucket)
{
	size_t len = strlen(bucket);

	/* Looser than s3_bucket_name_check (which is for new buckets): a
	 * directory made through the mount may be addressed by any name
	 * that is a single, visible path segment. */
	if (!len || len > 255 || bucket[0] == '.' || strchr(bucket, '/') ||
	    s3_name_hidden(bucket, len))
		return -S3E_INVALID_BUCKET_NAME;
	return 0;
}

bool s3_dot_name(const char *name, size_t len)
{
	return (len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.');
}

int s3_reserve_names(struct vol *v)
{
	int rc = vol_reserve_name(v, S3_HIDDEN_DIR, VOL_RESERVED_ROOT);
	return rc < 0 ? rc : vol_reserve_name(v, S3_TMP_PREFIX, VOL_RESERVED_PREFIX);
}

bool s3_name_hidden(const char *name, size_t len)
{
	static const char pfx[] = S3_HIDDEN_DIR; /* S3_TMP_PREFIX starts with it too */

	return len >= sizeof(pfx) - 1 && !memcmp(name, pfx, sizeof(pfx) - 1);
}

int s3_key_check(struct s3_conn *c, const char *key)
{
	size_t len = strlen(key);
	const char *s = key;

	if (len > S3_KEY_MAX)
		return -S3E_KEY_TOO_LONG;
	while (*s) {
		const char *slash = strchr(s, '/');
		size_t sl = slash ? (size_t)(slash - s) : strlen(s);

		/* A trailing slash (a directory marker, "a/") ends the loop
		 * after its segment: an empty segment here is "//" or a
		 * leading '/'. */
		if (sl == 0) {
			if (c)
				s3_req_errmsg(c, "The key has an empty path segment (a leading '/' "
						 "or '//'), which cannot be a file name");
			return -S3E_INVALID_KEY;
		}
		if (s3_dot_name(s, sl)) {
			if (c)
				s3_req_errmsg(c, "The key has a '.' or '..' segment, which cannot "
						 "be a file name");
			return -S3E_INVALID_KEY;
		}
		if (sl > 255)
			return -S3E_KEY_TOO_LONG;
		if (s3_name_hidden(s, sl)) {
			if (c)
				s3_req_errmsg(c,
					      "Names starting with '%s' are reserved for the "
					      "sidecar's own files",
					      S3_HIDDEN_DIR);
			return -S3E_INVALID_KEY;
		}
		s += sl;
		if (*s == '/')
			s++;
	}
	return 0;
}

int s3_bucket_lookup(struct vol *v, const char *bucket, uint64_t *ino)
{
	struct vol_attr a;
	int rc = vol_lookup(v, VOL_ROOT_INO, bucket, &a);

	if (rc == -ENOENT || rc == -ENOTDIR || rc == -ENAMETOOLONG)
		return -S3E_NO_SUCH_BUCKET;
	if (rc)
		return rc;
	if (!S_ISDIR(a.mode)) {
		vol_forget(v, a.ino, 1);
		return -S3E_NO_SUCH_BUCKET;
	}
	*ino = a.ino;
	return 0;
}

void s3_notify(struct s3_server *s, uint64_t parent, const char *name, uint64_t ino)
{
	if (s->cfg.on_change)
		s->cfg.on_change(s->cfg.on_change_arg, parent, name, ino);
}

void s3_path_release(struct vol *v, struct s3_path *p)
{
	for (unsigned i = 0; i < p->ndirs; i++)
		vol_forget(v, p->dirs[i], 1);
	p->ndirs = 0;
}

static int make_dir(struct s3_conn *c, uint64_t parent, const char *name, struct vol_attr *a)
{
	struct vol *v = c->srv->v;
	struct vol_cred cred = {getuid(), getgid(), S3_UMASK};
	int rc = vol_mkdir(v, parent, name, S_IFDIR | 0777, &cred, a);

	if (rc == -EEXIST)
		return vol_lookup(v, parent, name, a); /* raced with another maker */
	if (rc)
		return rc;
	rc = vol_setxattr(v, a->ino, DIR_MARK, "1", 1, 0);
	if (rc)
		tfs_warn("s3: marking directory %s as made by S3 failed: %s", name,
			 tfs_strerror(rc));
	s3_notify(c->srv, parent, name, a->ino);
	return 0;
}

int s3_path_resolve(struct s3_conn *c, uint64_t bucket_ino, const char *key, bool create,
		    struct s3_path *p)
{
	struct vol *v = c->srv->v;
	const char *s = key;
	int rc;

	p->ndirs = 1;
	p->dirs[0] = bucket_ino;
	p->key = key;
	for (;;) {
		const char *slash = strchr(s, '/');
		size_t sl = slash ? (size_t)(slash - s) : strlen(s);
		char seg[256];
		struct vol_attr a;

		if (sl > 255)
			goto out_too_long;
		if (!slash) {
			memcpy(p->name, s, sl);
			p->name[sl] = '\0';
			return 0;
		}
		if (p->ndirs == S3_MAX_DEPTH)
			goto out_too_long;
		memcpy(seg, s, sl);
		seg[sl] = '\0';
		rc = vol_lookup(v, p->dirs[p->ndirs - 1], seg, &a);
		if (rc == -ENOENT && create)
			rc = make_dir(c, p->dirs[p->ndirs - 1], seg, &a);
		if (rc == -ENOENT) {
			rc = -S3E_NO_SUCH_KEY;
			goto out_release;
		}
		if (rc)
			goto out_release;
		if (!S_ISDIR(a.mode)) {
			vol_forget(v, a.ino, 1);
			s3_req_errmsg(c,
				      "'%.*s' is an object, so it cannot also be a prefix of "
				      "this key",
				      (int)(s + sl - key), key);
			rc = create ? -S3E_KEY_CONFLICT : -S3E_NO_SUCH_KEY;
			goto out_release;
		}
		p->seg_off[p->ndirs] = (uint16_t)(s - key);
		p->seg_len[p->ndirs] = (uint16_t)sl;
		p->dirs[p->ndirs++] = a.ino;
		s = slash + 1;
	}

out_too_long:
	rc = -S3E_KEY_TOO_LONG;
out_release:
	s3_path_release(v, p);
	return rc;
}

void s3_path_prune(struct s3_conn *c, struct s3_path *p)
{
	struct vol *v = c->srv->v;

	for (unsigned i = p->ndirs - 1; i >= 1; i--) {
		char name[256];
		char mark[2];

		if (vol_getxattr(v, p->dirs[i], DIR_MARK, mark, sizeof(mark)) < 0)
			return; /* made through the mount: leave it */
		memcpy(name, p->key + p->seg_off[i], p->seg_len[i]);
		name[p->seg_len[i]] = '\0';
		if (vol_rmdir(v, p->dirs[i - 1], name))
			return; /* not empty (or gone): stop here */
		s3_notify(c->srv, p->dirs[i - 1], name, 0);
	}
}

/* Resolve @p key in @p bucket (no creating) into @p p. */
static int key_resolve(struct s3_conn *c, const char *bucket, const char *key, struct s3_path *p)
{
	uint64_t bino;
	int rc = s3_bucket_lookup(c->srv->v, bucket, &bino);

	return rc ? rc : s3_path_resolve(c, bino, key, false, p);
}

int s3_object_lookup(struct s3_conn *c, const char *bucket, const char *key, struct vol_attr *attr)
{
	struct vol *v = c->srv->v;
	struct s3_path p;
	int rc;

	rc = key_resolve(c, bucket, key, &p);
	if (rc)
		return rc;
	if (!p.name[0]) {
		rc = -S3E_NO_SUCH_KEY;
		goto out_release;
	}
	rc = vol_lookup(v, p.dirs[p.ndirs - 1], p.name, attr);
	if (rc == -ENOENT || rc == -ENOTDIR) {
		rc = -S3E_NO_SUCH_KEY;
		goto out_release;
	}
	if (rc)
		goto out_release;
	if (!S_ISREG(attr->mode)) {
		vol_forget(v, attr->ino, 1);
		rc = -S3E_NO_SUCH_KEY;
	}
out_release:
	s3_path_release(v, &p);
	return rc;
}

bool s3_key_is_dir(const char *key)
{
	size_t len = key ? strlen(key) : 0;

	return len && key[len - 1] == '/';
}

int s3_dir_lookup(struct s3_conn *c, const char *bucket, const char *key, struct vol_attr *attr)
{
	struct vol *v = c->srv->v;
	struct s3_path p;
	int rc;

	rc = key_resolve(c, bucket, key, &p);
	if (rc)
		return rc;
	if (p.name[0] || p.ndirs < 2) {
		rc = -S3E_NO_SUCH_KEY;
		goto out_release;
	}
	rc = vol_getattr(v, p.dirs[p.ndirs - 1], attr);
	if (rc == -ENOENT)
		rc = -S3E_NO_SUCH_KEY;
	if (!rc) {
		/* The path's reference becomes the caller's. */
		attr->ino = p.dirs[p.ndirs - 1];
		p.ndirs--;
	}
out_release:
	s3_path_release(v, &p);
	return rc;
}

int s3_key_lookup(struct s3_conn *c, const char *bucket, const char *key, struct vol_attr *attr)
{
	return s3_key_is_dir(key) ? s3_dir_lookup(c, bucket, key, attr)
				  : s3_object_lookup(c, bucket, key, attr);
}

int s3_dir_mark(struct vol *v, uint64_t ino)
{
	int rc = vol_setxattr(v, ino, S3_DIR_MARKER_X, "1", 1, 0);

	if (rc)
		return rc;
	rc = vol_removexattr(v, ino, DIR_MARK);
	return rc == -ENODATA ? 0 : rc;
}

int s3_dir_unmark(struct vol *v, uint64_t ino)
{
	int rc = s3_meta_clear(v, ino);

	if (!rc)
		rc = vol_setxattr(v, ino, DIR_MARK, "1", 1, 0);
	if (!rc) {
		rc = vol_removexattr(v, ino, S3_DIR_MARKER_X);
		if (rc == -ENODATA)
			rc = 0;
	}
	return rc;
}

bool s3_dir_marked(struct vol *v, uint64_t ino)
{
	char mark[2];

	return vol_getxattr(v, ino, S3_DIR_MARKER_X, mark, sizeof(mark)) >= 0;
}

int s3_marker_make(struct s3_conn *c, const char *bucket, const char *key, struct s3_path *p)
{
	struct vol *v = c->srv->v;
	uint64_t bino, dir;
	int rc;

	/* A DELETE of a sibling may prune a directory just found or made (it
	 * was empty) before it is marked: resolve again in that case. */
	for (int attempt = 0;; attempt++) {
		struct vol_attr a;

		rc = s3_bucket_lookup(v, bucket, &bino);
		if (rc)
			return rc;
		rc = s3_path_resolve(c, bino, key, true, p);
		if (rc)
			return rc;
		dir = p->dirs[p->ndirs - 1];
		rc = s3_dir_mark(v, dir);
		if (!rc)
			rc = vol_getattr(v, dir, &a);
		if (!rc && a.nlink == 0)
			rc = -ENOENT; /* removed before it was marked */
		if (!rc)
			return 0;
		s3_path_prune(c, p);
		s3_path_release(v, p);
		if (rc != -ENOENT || attempt == 3)
			return rc;
	}
}
