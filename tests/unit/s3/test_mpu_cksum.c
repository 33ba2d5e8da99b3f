/* Checksums of a multipart upload whose parts lost their records (as after
 * a completion that a crash interrupted and s3_mpu_recover undid: the
 * parts' chunks moved away and back): the completion computes their
 * checksums again from their bytes, so the object's FULL_OBJECT CRC32 and
 * COMPOSITE SHA-256 are still right. The sidecar runs on a real volume,
 * the parts are written through the volume directly. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "fs/s3/s3.h"
#include "fs/s3/s3_int.h"
#include "fs/vol/vol.h"
#include "tests/harness/tmpvol.h"

static struct tmpvol tv;
static struct vol *v;
static struct s3_server *srv;

static void setup(void)
{
	struct s3_config cfg = {.listen = "127.0.0.1:0", .no_auth = true};

	tmpvol_create(&tv, 0);
	cr_assert_eq(vol_open(tv.meta, NULL, &v), 0);
	cr_assert_eq(s3_server_start(v, &cfg, &srv), 0);
}

static void teardown(void)
{
	s3_server_stop(srv);
	cr_assert_eq(vol_close(v), 0);
	tmpvol_destroy(&tv);
}

/* One request with extra header lines @p hdrs ("Name: value\r\n"...). */
static int http(const char *method, const char *path, const char *hdrs, const char *body,
		char **out)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(s3_server_port(srv))};
	char req[2048], *resp = NULL;
	size_t len = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;
	ssize_t n;

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	snprintf(req, sizeof(req),
		 "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%sContent-Length: "
		 "%zu\r\n\r\n%s",
		 method, path, hdrs ? hdrs : "", body ? strlen(body) : 0, body ? body : "");
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
	*out = resp;
	return status;
}

static uint64_t lookup(uint64_t parent, const char *name)
{
	struct vol_attr a;

	if (vol_lookup(v, parent, name, &a))
		return 0;
	vol_forget(v, a.ino, 1);
	return a.ino;
}

static void md5_hex(const void *data, size_t len, char out[33])
{
	unsigned char d[16];
	unsigned n;

	EVP_Digest(data, len, d, &n, EVP_md5(), NULL);
	s3_hex_encode(d, 16, out);
}

static void b64_be32(uint32_t x, char *out)
{
	uint8_t be[4] = {(uint8_t)(x >> 24), (uint8_t)(x >> 16), (uint8_t)(x >> 8), (uint8_t)x};

	s3_base64_encode(be, 4, out);
}

/* Make upload @p hdrs for "obj", write its two parts directly (no records),
 * complete it: the response body. */
static char *upload(const char *hdrs, const char *p1, size_t n1, const char *p2, size_t n2)
{
	struct vol_cred cred = {0};
	struct vol_attr pa;
	char id[64], path[256], xml[512], e1[33], e2[33], *body;
	uint64_t hidden, dir;

	cr_assert_eq(http("POST", "/bkt/obj?uploads", hdrs, NULL, &body), 200, "%s", body);
	cr_assert_eq(sscanf(strstr(body, "<UploadId>"), "<UploadId>%63[^<]", id), 1);
	free(body);
	hidden = lookup(VOL_ROOT_INO, S3_HIDDEN_DIR);
	dir = lookup(lookup(hidden, "uploads"), id);
	cr_assert_neq(dir, 0);
	cr_assert_eq(vol_create(v, dir, "00001", S_IFREG | 0644, &cred, &pa), 0);
	cr_assert_eq(vol_write(v, pa.ino, p1, n1, 0), (ssize_t)n1);
	vol_forget(v, pa.ino, 1);
	cr_assert_eq(vol_create(v, dir, "00002", S_IFREG | 0644, &cred, &pa), 0);
	cr_assert_eq(vol_write(v, pa.ino, p2, n2, 0), (ssize_t)n2);
	vol_forget(v, pa.ino, 1);
	md5_hex(p1, n1, e1);
	md5_hex(p2, n2, e2);
	snprintf(xml, sizeof(xml),
		 "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>"
		 "<Part><PartNumber>2</PartNumber><ETag>%s</ETag></Part>"
		 "</CompleteMultipartUpload>",
		 e1, e2);
	snprintf(path, sizeof(path), "/bkt/obj?uploadId=%s", id);
	cr_assert_eq(http("POST", path, NULL, xml, &body), 200, "%s", body);
	return body;
}

Test(mpu_cksum, parts_without_records_get_their_checksums_again, .init = setup, .fini = teardown)
{
	size_t n1 = 5u << 20;
	char *p1 = malloc(n1), want[64], *body;

	for (size_t i = 0; i < n1; i++)
		p1[i] = (char)('a' + i % 23);
	cr_assert_eq(http("PUT", "/bkt", NULL, NULL, &body), 200);
	free(body);

	/* FULL_OBJECT CRC32: the CRC of the whole object. */
	body = upload("x-amz-checksum-algorithm: CRC32\r\nx-amz-checksum-type: FULL_OBJECT\r\n", p1,
		      n1, "tail", 4);
	uint32_t crc =
		(uint32_t)crc32(crc32(0, (const Bytef *)p1, (uInt)n1), (const Bytef *)"tail", 4);
	b64_be32(crc, want);
	cr_assert(strstr(body, want), "the whole object's CRC32 %s in %s", want, body);
	cr_assert(strstr(body, "<ChecksumType>FULL_OBJECT</ChecksumType>"), "%s", body);
	free(body);

	/* COMPOSITE SHA-256: of the parts' digests, "-2". */
	body = upload("x-amz-checksum-algorithm: SHA256\r\n", p1, n1, "end", 3);
	uint8_t d[64];
	unsigned dl;
	EVP_Digest(p1, n1, d, &dl, EVP_sha256(), NULL);
	EVP_Digest("end", 3, d + 32, &dl, EVP_sha256(), NULL);
	EVP_Digest(d, 64, d, &dl, EVP_sha256(), NULL);
	s3_base64_encode(d, 32, want);
	strcat(want, "-2");
	cr_assert(strstr(body, want), "the composite SHA-256 %s in %s", want, body);
	free(body);
	free(p1);
}
