/* The sidecar as the FUSE daemon uses it: s3_server_start on an open volume,
 * the on_change hook after every change made over S3, and files written
 * through the volume directly (as through the mount) served with the right
 * ETag. Requests go over a real socket on 127.0.0.1. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/s3/s3.h"
#include "fs/s3/s3_int.h"
#include "fs/vol/vol.h"
#include "tests/harness/tmpvol.h"

struct event {
	uint64_t parent, ino;
	char name[64];
};

static struct tmpvol tv;
static struct vol *v;
static struct s3_server *srv;
static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static struct event events[64];
static int nevents;

static void on_change(void *arg, uint64_t parent, const char *name, uint64_t ino)
{
	pthread_mutex_lock(&ev_lock);
	if (nevents < 64) {
		events[nevents].parent = parent;
		events[nevents].ino = ino;
		snprintf(events[nevents].name, sizeof(events[0].name), "%s", name);
		nevents++;
	}
	pthread_mutex_unlock(&ev_lock);
}

static void setup(void)
{
	struct s3_config cfg = {.listen = "127.0.0.1:0", .no_auth = true, .on_change = on_change};

	tmpvol_create(&tv, 0);
	cr_assert_eq(vol_open(tv.meta, NULL, &v), 0);
	cr_assert_eq(s3_server_start(v, &cfg, &srv), 0);
	nevents = 0;
}

static void teardown(void)
{
	s3_server_stop(srv);
	cr_assert_eq(vol_close(v), 0);
	tmpvol_destroy(&tv);
}

/* One request on its own connection; returns the status, *body (malloc'ed) and
 * the ETag header (without quotes) if @p etag. */
static int http(const char *method, const char *path, const char *body, char **out, char *etag)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(s3_server_port(srv))};
	char req[1024], *resp = NULL;
	size_t len = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;
	ssize_t n;

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	snprintf(req, sizeof(req),
		 "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: %zu\r\n"
		 "\r\n%s",
		 method, path, body ? strlen(body) : 0, body ? body : "");
	cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	for (;;) {
		resp = realloc(resp, len + 4097);
		n = read(fd, resp + len, 4096);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	resp[len] = '\0';
	sscanf(resp, "HTTP/1.1 %d", &status);
	if (etag) {
		const char *e = strstr(resp, "ETag: \"");
		etag[0] = '\0';
		if (e)
			sscanf(e + 7, "%79[^\"]", etag);
	}
	if (out) {
		const char *b = strstr(resp, "\r\n\r\n");
		*out = strdup(b ? b + 4 : "");
	}
	free(resp);
	return status;
}

static bool has_event(uint64_t parent, const char *name, uint64_t ino)
{
	bool found = false;

	pthread_mutex_lock(&ev_lock);
	for (int i = 0; i < nevents; i++)
		if (events[i].parent == parent && !strcmp(events[i].name, name) &&
		    events[i].ino == ino)
			found = true;
	pthread_mutex_unlock(&ev_lock);
	return found;
}

static uint64_t lookup(uint64_t parent, const char *name)
{
	struct vol_attr a;
	int rc = vol_lookup(v, parent, name, &a);

	if (rc)
		return 0;
	vol_forget(v, a.ino, 1);
	return a.ino;
}

static void md5_hex(const void *data, size_t len, char out[33])
{
	unsigned char d[16];
	unsigned n;

	EVP_Digest(data, len, d, &n, EVP_md5(), NULL);
	for (int i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

Test(server, on_change_after_every_change, .init = setup, .fini = teardown)
{
	uint64_t b, x, y;

	cr_assert_eq(http("PUT", "/bkt", NULL, NULL, NULL), 200);
	b = lookup(VOL_ROOT_INO, "bkt");
	cr_assert(b && has_event(VOL_ROOT_INO, "bkt", b), "bucket creation reported");

	cr_assert_eq(http("PUT", "/bkt/x/y.txt", "hello", NULL, NULL), 200);
	x = lookup(b, "x");
	y = lookup(x, "y.txt");
	cr_assert(x && has_event(b, "x", x), "directory made for the key reported");
	cr_assert(y && has_event(x, "y.txt", y), "the key's file reported with its inode");

	cr_assert_eq(http("PUT", "/bkt/x/y.txt", "again", NULL, NULL), 200);
	cr_assert(has_event(x, "y.txt", lookup(x, "y.txt")), "an overwrite is reported");

	cr_assert_eq(http("DELETE", "/bkt/x/y.txt", NULL, NULL, NULL), 204);
	cr_assert(has_event(x, "y.txt", 0), "the delete is reported");
	cr_assert(has_event(b, "x", 0), "the emptied S3-made directory's removal is reported");
	cr_assert_eq(lookup(b, "x"), 0, "the directory S3 made is gone");

	cr_assert_eq(http("DELETE", "/bkt", NULL, NULL, NULL), 204);
	cr_assert(has_event(VOL_ROOT_INO, "bkt", 0), "bucket removal reported");
}

Test(server, files_written_directly_get_their_md5_etag, .init = setup, .fini = teardown)
{
	struct vol_cred cred = {0};
	struct vol_attr d, f;
	char etag[80], want[33], *body;
	const char *data = "written through the mount";
	uint64_t b;

	cr_assert_eq(http("PUT", "/bkt", NULL, NULL, NULL), 200);
	b = lookup(VOL_ROOT_INO, "bkt");
	/* As the FUSE front end would: a directory and a file, no S3 xattrs. */
	cr_assert_eq(vol_mkdir(v, b, "keep", S_IFDIR | 0755, &cred, &d), 0);
	cr_assert_eq(vol_create(v, d.ino, "f.txt", S_IFREG | 0644, &cred, &f), 0);
	cr_assert_eq(vol_write(v, f.ino, data, strlen(data), 0), (ssize_t)strlen(data));

	cr_assert_eq(http("GET", "/bkt/keep/f.txt", NULL, &body, etag), 200);
	cr_assert_str_eq(body, data);
	md5_hex(data, strlen(data), want);
	cr_assert_str_eq(etag, want, "ETag of a file written directly is its MD5");
	free(body);

	/* Changed behind the sidecar's back: a fresh MD5, not the kept one. */
	cr_assert_eq(vol_write(v, f.ino, "W", 1, 0), 1);
	cr_assert_eq(http("HEAD", "/bkt/keep/f.txt", NULL, NULL, etag), 200);
	md5_hex("Written through the mount", strlen(data), want);
	cr_assert_str_eq(etag, want, "ETag follows a change made through the mount");

	/* Deleting over S3 leaves a directory made through the mount. */
	cr_assert_eq(http("DELETE", "/bkt/keep/f.txt", NULL, NULL, NULL), 204);
	cr_assert_neq(lookup(b, "keep"), 0, "a directory made through the mount stays");
	vol_forget(v, f.ino, 1);
	vol_forget(v, d.ino, 1);
}

Test(server, hidden_names_never_listed, .init = setup, .fini = teardown)
{
	char *body;

	cr_assert_eq(http("PUT", "/bkt", NULL, NULL, NULL), 200);
	cr_assert_eq(http("POST", "/bkt/big?uploads", NULL, &body, NULL), 200);
	cr_assert(strstr(body, "<UploadId>"));
	free(body);
	/* The upload lives in /.trackfs-s3, which is neither a bucket nor a key. */
	cr_assert_neq(lookup(VOL_ROOT_INO, S3_HIDDEN_DIR), 0);
	cr_assert_eq(http("GET", "/", NULL, &body, NULL), 200);
	cr_assert_null(strstr(body, S3_HIDDEN_DIR), "%s", body);
	cr_assert(strstr(body, "<Name>bkt</Name>"));
	free(body);
	cr_assert_eq(http("GET", "/bkt?list-type=2", NULL, &body, NULL), 200);
	cr_assert_null(strstr(body, "<Key>"), "an upload in progress is no object: %s", body);
	free(body);
	cr_assert_eq(http("PUT", "/bkt/.trackfs-s3-tmp.x", "x", NULL, NULL), 400,
		     "the sidecar's own names cannot be keys");
}

/* Keys in one page of a listing: the number of <Key> elements, the last in
 * @p last (for the next page's start-after). */
static int list_page(const char *bucket, const char *after, char *last, size_t lastsz)
{
	char path[512], *body, *p, *k = NULL;
	int n = 0;

	snprintf(path, sizeof(path), "/%s?list-type=2&max-keys=100&start-after=%s", bucket, after);
	cr_assert_eq(http("GET", path, NULL, &body, NULL), 200);
	for (p = body; (p = strstr(p, "<Key>")); p += 5) {
		k = p + 5;
		n++;
	}
	if (k)
		snprintf(last, lastsz, "%.*s", (int)(strchr(k, '<') - k), k);
	free(body);
	return n;
}

static int list_all(const char *bucket)
{
	char after[256] = "", last[256];
	int n, total = 0;

	while ((n = list_page(bucket, after, last, sizeof(last))) > 0) {
		total += n;
		memcpy(after, last, sizeof(after));
	}
	return total;
}

static void *lister(void *arg)
{
	for (int i = 0; i < 10; i++)
		if (list_all("bkt") < 400)
			return arg;
	return NULL;
}

/* A large directory is listed from a sorted snapshot shared by the event
 * loops (list_snap.c): every page follows the changes made through the
 * volume, and listings on several loops at once while the directory changes
 * (and snapshots are replaced under them) neither miss keys nor leak. */
Test(server, large_directory_listing_follows_changes, .init = setup, .fini = teardown)
{
	struct vol_cred cred = {0};
	struct vol_attr f;
	pthread_t t[4];
	char name[32];
	uint64_t b;

	cr_assert_eq(http("PUT", "/bkt", NULL, NULL, NULL), 200);
	b = lookup(VOL_ROOT_INO, "bkt");
	for (int i = 0; i < 400; i++) {
		snprintf(name, sizeof(name), "k%04d", i);
		cr_assert_eq(vol_create(v, b, name, S_IFREG | 0644, &cred, &f), 0);
		vol_forget(v, f.ino, 1);
	}
	cr_assert_eq(list_all("bkt"), 400);
	cr_assert_eq(list_all("bkt"), 400, "the second listing, from the snapshot");
	cr_assert_eq(vol_unlink(v, b, "k0123"), 0);
	cr_assert_eq(list_all("bkt"), 399, "an unlink shows in the next listing");
	cr_assert_eq(vol_create(v, b, "k0123", S_IFREG | 0644, &cred, &f), 0);
	vol_forget(v, f.ino, 1);
	cr_assert_eq(list_all("bkt"), 400, "a create shows in the next listing");

	for (int i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, lister, (void *)"short"), 0);
	/* Names past every key: each listing sees at least the 400. */
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "z%04d", i);
		cr_assert_eq(vol_create(v, b, name, S_IFREG | 0644, &cred, &f), 0);
		vol_forget(v, f.ino, 1);
		if (i % 2)
			cr_assert_eq(vol_unlink(v, b, name), 0);
	}
	for (int i = 0; i < 4; i++) {
		void *ret;
		pthread_join(t[i], &ret);
		cr_assert_null(ret, "a listing during changes missed keys");
	}
	cr_assert_eq(list_all("bkt"), 500);
}

static uint64_t upload_dir(const char *id)
{
	uint64_t hidden = lookup(VOL_ROOT_INO, S3_HIDDEN_DIR), up;

	cr_assert_neq(hidden, 0);
	up = lookup(hidden, "uploads");
	cr_assert_neq(up, 0);
	return lookup(up, id);
}

static bool has_xattr(uint64_t ino, const char *name)
{
	char buf[128];
	return vol_getxattr(v, ino, name, buf, sizeof(buf)) >= 0;
}

/* A completion that a crash interrupted after moving a part into the
 * object's temporary file (the state is made by hand here, as the sidecar
 * leaves it): while its record stands no other completion may run; the next
 * start of the sidecar moves the part back and removes the temporary file,
 * and the upload then completes with every byte. */
Test(server, interrupted_completion_is_undone_at_start, .init = setup, .fini = teardown)
{
	struct s3_config cfg = {.listen = "127.0.0.1:0", .no_auth = true, .on_change = on_change};
	struct vol_cred cred = {0};
	size_t n1 = 5u << 20;
	char id[64], path[256], xml[512], e1[33], e2[33], rec[96], *body, *p1 = malloc(n1);
	struct vol_attr part1, part2, tmp;
	uint64_t b, dir;

	cr_assert_eq(http("PUT", "/bkt", NULL, NULL, NULL), 200);
	b = lookup(VOL_ROOT_INO, "bkt");
	cr_assert_eq(http("POST", "/bkt/obj?uploads", NULL, &body, NULL), 200);
	cr_assert_eq(sscanf(strstr(body, "<UploadId>"), "<UploadId>%63[^<]", id), 1);
	free(body);
	dir = upload_dir(id);
	/* Parts as UploadPart leaves them (their ETag is their MD5). */
	for (size_t i = 0; i < n1; i++)
		p1[i] = (char)('a' + i % 23);
	cr_assert_eq(vol_create(v, dir, "00001", S_IFREG | 0644, &cred, &part1), 0);
	cr_assert_eq(vol_write(v, part1.ino, p1, n1, 0), (ssize_t)n1);
	cr_assert_eq(vol_create(v, dir, "00002", S_IFREG | 0644, &cred, &part2), 0);
	cr_assert_eq(vol_write(v, part2.ino, "tail", 4, 0), 4);
	md5_hex(p1, n1, e1);
	md5_hex("tail", 4, e2);
	snprintf(xml, sizeof(xml),
		 "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"%s\"</ETag>"
		 "</Part><Part><PartNumber>2</PartNumber><ETag>\"%s\"</ETag></Part>"
		 "</CompleteMultipartUpload>",
		 e1, e2);

	/* The crash: part 1 moved into the temporary file, not yet named. */
	cr_assert_eq(vol_create(v, b, S3_TMP_PREFIX "crash", S_IFREG | 0644, &cred, &tmp), 0);
	snprintf(rec, sizeof(rec), "%llu %s", (unsigned long long)b, S3_TMP_PREFIX "crash");
	cr_assert_eq(vol_setxattr(v, dir, S3_MPU_X_TMP, rec, strlen(rec), 0), 0);
	snprintf(rec, sizeof(rec), "0 %zu", n1);
	cr_assert_eq(vol_setxattr(v, part1.ino, S3_MPU_X_MOVED, rec, strlen(rec), 0), 0);
	cr_assert_eq(vol_move_range(v, part1.ino, 0, n1, tmp.ino, 0), 0);

	snprintf(path, sizeof(path), "/bkt/obj?uploadId=%s", id);
	cr_assert_eq(http("POST", path, xml, &body, NULL), 409, "one completion at a time: %s",
		     body);
	cr_assert(strstr(body, "OperationAborted"), "%s", body);
	free(body);
	cr_assert_eq(http("DELETE", path, NULL, &body, NULL), 409,
		     "no abort under a completion: %s", body);
	free(body);

	s3_server_stop(srv);
	cr_assert_eq(s3_server_start(v, &cfg, &srv), 0);
	cr_assert_eq(lookup(b, S3_TMP_PREFIX "crash"), 0, "the temporary file is gone");
	cr_assert_eq(vol_getattr(v, part1.ino, &part1), 0);
	cr_assert_eq(part1.size, n1, "part 1 has its bytes back");
	cr_assert(!has_xattr(part1.ino, S3_MPU_X_MOVED));
	cr_assert(!has_xattr(dir, S3_MPU_X_TMP));

	cr_assert_eq(http("POST", path, xml, &body, NULL), 200, "%s", body);
	free(body);
	uint64_t obj = lookup(b, "obj");
	cr_assert_neq(obj, 0);
	char *got = malloc(n1 + 8);
	cr_assert_eq(vol_read(v, obj, got, n1 + 8, 0), (ssize_t)(n1 + 4));
	cr_assert(!memcmp(got, p1, n1) && !memcmp(got + n1, "tail", 4), "the object's bytes");
	free(got);
	free(p1);
	vol_forget(v, tmp.ino, 1);
	vol_forget(v, part1.ino, 1);
	vol_forget(v, part2.ino, 1);
	vol_forget(v, dir, 1);
}

/* Temporary files an earlier process left (a PUT, a copy or a part cut short
 * by a kill) are removed after the next start, anywhere in the tree; those
 * of this process, and files that only look alike, stay. */
Test(server, left_over_temporary_files_are_removed_at_start, .init = setup, .fini = teardown)
{
	struct s3_config cfg = {.listen = "127.0.0.1:0", .no_auth = true, .on_change = on_change};
	struct vol_cred cred = {0};
	struct vol_attr b, d, f;
	bool gone = false;

	cr_assert_eq(vol_mkdir(v, VOL_ROOT_INO, "bkt", S_IFDIR | 0755, &cred, &b), 0);
	cr_assert_eq(vol_mkdir(v, b.ino, "deep", S_IFDIR | 0755, &cred, &d), 0);
	cr_assert_eq(vol_create(v, b.ino, S3_TMP_PREFIX "left1", S_IFREG | 0644, &cred, &f), 0);
	cr_assert_eq(vol_write(v, f.ino, "partial", 7, 0), 7);
	vol_forget(v, f.ino, 1);
	cr_assert_eq(vol_create(v, d.ino, S3_TMP_PREFIX "left2", S_IFREG | 0644, &cred, &f), 0);
	vol_forget(v, f.ino, 1);
	cr_assert_eq(vol_create(v, d.ino, "keep" S3_TMP_PREFIX, S_IFREG | 0644, &cred, &f), 0);
	vol_forget(v, f.ino, 1);
	sleep(2); /* older than the next start by more than the coarse clock's slack */

	s3_server_stop(srv);
	cr_assert_eq(s3_server_start(v, &cfg, &srv), 0);
	cr_assert_eq(vol_create(v, d.ino, S3_TMP_PREFIX "mine", S_IFREG | 0644, &cred, &f), 0);
	vol_forget(v, f.ino, 1);
	for (int i = 0; i < 500 && !gone; i++) {
		gone = !lookup(b.ino, S3_TMP_PREFIX "left1") &&
		       !lookup(d.ino, S3_TMP_PREFIX "left2");
		if (!gone)
			usleep(10000);
	}
	cr_assert(gone, "left-over temporary files removed");
	cr_assert_neq(lookup(d.ino, S3_TMP_PREFIX "mine"), 0, "this process's own stays");
	cr_assert_neq(lookup(d.ino, "keep" S3_TMP_PREFIX), 0, "a look-alike name stays");
	vol_forget(v, d.ino, 1);
	vol_forget(v, b.ino, 1);
}
