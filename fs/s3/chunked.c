/* aws-chunked request bodies: STREAMING-AWS4-HMAC-SHA256-PAYLOAD (every chunk
 * signed, each signature chained to the previous one from the seed), its
 * -TRAILER variant (trailing checksum headers, signed too), and
 * STREAMING-UNSIGNED-PAYLOAD-TRAILER (plain chunks plus a checksum trailer).
 * Decoding streams: the framing never reaches the caller's data. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "fs/s3/s3_int.h"

#define LINE_MAX_BYTES 4096
#define MAX_TRAILERS 8
#define CHUNK_MAX (1ull << 34)
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

enum ch_state { CH_LINE, CH_DATA, CH_DATA_CRLF, CH_TRAILER, CH_DONE };

struct s3_chunked {
	enum s3_payload mode;
	enum ch_state st;
	bool signed_chunks, last; /* last: the zero-size chunk was seen */
	bool verify;
	char line[LINE_MAX_BYTES];
	size_t llen;
	uint64_t left; /* data bytes left in this chunk */
	EVP_MD_CTX *sha;
	char chunk_sig[65];
	char prev_sig[65];
	const struct s3_identity *id;
	struct s3_kv trailers[MAX_TRAILERS];
	size_t ntrailers;
	char trailer_sig[65];
};

struct s3_chunked *s3_chunked_create(enum s3_payload mode, const struct s3_identity *id,
				     bool verify)
{
	struct s3_chunked *ch = calloc(1, sizeof(*ch));

	if (!ch)
		return NULL;
	ch->mode = mode;
	ch->signed_chunks =
		mode == S3_PAYLOAD_STREAM_SIGNED || mode == S3_PAYLOAD_STREAM_SIGNED_TRAILER;
	ch->id = id;
	ch->verify = verify;
	if (ch->signed_chunks) {
		ch->sha = EVP_MD_CTX_new();
		if (!ch->sha) {
			free(ch);
			return NULL;
		}
		memcpy(ch->prev_sig, id->seed_sig, sizeof(ch->prev_sig));
	}
	return ch;
}

void s3_chunked_destroy(struct s3_chunked *ch)
{
	if (!ch)
		return;
	for (size_t i = 0; i < ch->ntrailers; i++) {
		free(ch->trailers[i].name);
		free(ch->trailers[i].value);
	}
	EVP_MD_CTX_free(ch->sha);
	free(ch);
}

/* The chunk just ended: its signature covers the previous signature and the
 * hash of its data. */
static int chunk_verify(struct s3_chunked *ch)
{
	uint8_t d[32];
	unsigned n;
	char hex[65], sig[65];
	struct s3_sbuf sts = {0};
	int rc = 0;

	if (!ch->signed_chunks)
		return 0;
	if (!ch->verify) {
		memcpy(ch->prev_sig, ch->chunk_sig, sizeof(ch->prev_sig));
		return 0;
	}
	if (!EVP_DigestFinal_ex(ch->sha, d, &n))
		return -ENOMEM;
	s3_hex_encode(d, 32, hex);
	s3_sb_printf(&sts, "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n%s\n%s", ch->id->amz_date,
		     ch->id->scope, ch->prev_sig, EMPTY_SHA256, hex);
	if (sts.oom) {
		rc = -ENOMEM;
		goto out_free;
	}
	s3_sigv4_sign(ch->id->key, sts.p, sts.len, sig);
	if (!s3_str_equal_ct(sig, ch->chunk_sig)) {
		rc = -S3E_SIGNATURE_MISMATCH;
		goto out_free;
	}
	memcpy(ch->prev_sig, sig, sizeof(sig));
out_free:
	s3_sb_free(&sts);
	return rc;
}

static int parse_chunk_line(struct s3_chunked *ch)
{
	char *semi, *end;
	unsigned long long size;

	ch->line[ch->llen] = '\0';
	semi = strchr(ch->line, ';');
	if (semi)
		*semi = '\0';
	if (!ch->line[0] || strspn(ch->line, "0123456789abcdefABCDEF") != strlen(ch->line) ||
	    strlen(ch->line) > 16)
		return -S3E_INCOMPLETE_BODY;
	size = strtoull(ch->line, &end, 16);
	if (size > CHUNK_MAX)
		return -S3E_ENTITY_TOO_LARGE;
	if (ch->signed_chunks) {
		const char *p = semi ? strstr(semi + 1, "chunk-signature=") : NULL;
		if (!p || strlen(p + 16) != 64)
			return -S3E_SIGNATURE_MISMATCH;
		memcpy(ch->chunk_sig, p + 16, 65);
		if (!EVP_DigestInit_ex(ch->sha, EVP_sha256(), NULL))
			return -ENOMEM;
	}
	ch->left = size;
	if (size == 0) {
		int rc = chunk_verify(ch);
		if (rc)
			return rc;
		ch->last = true;
		ch->st = ch->mode == S3_PAYLOAD_STREAM_SIGNED ? CH_DATA_CRLF : CH_TRAILER;
	} else {
		ch->st = CH_DATA;
	}
	return 0;
}

static int trailer_verify(struct s3_chunked *ch)
{
	struct s3_sbuf t = {0}, sts = {0};
	char hex[65], sig[65];
	int rc = 0;

	if (ch->mode != S3_PAYLOAD_STREAM_SIGNED_TRAILER || !ch->verify)
		return 0;
	if (!ch->trailer_sig[0])
		return -S3E_SIGNATURE_MISMATCH;
	for (size_t i = 0; i < ch->ntrailers; i++)
		s3_sb_printf(&t, "%s:%s\n", ch->trailers[i].name, ch->trailers[i].value);
	s3_sha256_hex(t.p ? t.p : "", t.len, hex);
	s3_sb_printf(&sts, "AWS4-HMAC-SHA256-TRAILER\n%s\n%s\n%s\n%s", ch->id->amz_date,
		     ch->id->scope, ch->prev_sig, hex);
	if (t.oom || sts.oom) {
		rc = -ENOMEM;
		goto out_free;
	}
	s3_sigv4_sign(ch->id->key, sts.p, sts.len, sig);
	if (!s3_str_equal_ct(sig, ch->trailer_sig))
		rc = -S3E_SIGNATURE_MISMATCH;
out_free:
	s3_sb_free(&t);
	s3_sb_free(&sts);
	return rc;
}

static int parse_trailer_line(struct s3_chunked *ch)
{
	char *colon;

	ch->line[ch->llen] = '\0';
	if (ch->llen == 0) {
		ch->st = CH_DONE;
		return trailer_verify(ch);
	}
	colon = strchr(ch->line, ':');
	if (!colon)
		return -S3E_INCOMPLETE_BODY;
	*colon = '\0';
	for (char *p = ch->line; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	char *v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	size_t vl = strlen(v);
	while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		v[--vl] = '\0';
	if (!strcmp(ch->line, "x-amz-trailer-signature")) {
		if (vl != 64)
			return -S3E_SIGNATURE_MISMATCH;
		memcpy(ch->trailer_sig, v, 65);
		return 0;
	}
	if (ch->ntrailers == MAX_TRAILERS)
		return -S3E_INVALID_REQUEST;
	struct s3_kv *kv = &ch->trailers[ch->ntrailers];
	kv->name = strdup(ch->line);
	kv->value = strdup(v);
	ch->ntrailers++;
	if (!kv->name || !kv->value)
		return -ENOMEM;
	return 0;
}

/* Collect bytes up to CRLF into ch->line. @return bytes used; *complete set
 * when the line ended. */
static ssize_t take_line(struct s3_chunked *ch, const char *d, size_t len, bool *complete)
{
	for (size_t i = 0; i < len; i++) {
		if (d[i] == '\n') {
			if (ch->llen && ch->line[ch->llen - 1] == '\r')
				ch->llen--;
			*complete = true;
			return (ssize_t)i + 1;
		}
		if (ch->llen >= LINE_MAX_BYTES - 1)
			return -S3E_INCOMPLETE_BODY;
		ch->line[ch->llen++] = d[i];
	}
	*complete = false;
	return (ssize_t)len;
}

int s3_chunked_feed(struct s3_chunked *ch, const char *d, size_t len, s3_chunk_out_cb out,
		    void *arg)
{
	int rc;

	while (len) {
		switch (ch->st) {
		case CH_LINE:
		case CH_TRAILER: {
			bool complete;
			ssize_t n = take_line(ch, d, len, &complete);
			if (n < 0)
				return (int)n;
			d += n;
			len -= (size_t)n;
			if (!complete)
				break;
			rc = ch->st == CH_LINE ? parse_chunk_line(ch) : parse_trailer_line(ch);
			ch->llen = 0;
			if (rc)
				return rc;
			break;
		}
		case CH_DATA: {
			size_t n = len < ch->left ? len : (size_t)ch->left;
			if (ch->signed_chunks)
				EVP_DigestUpdate(ch->sha, d, n);
			rc = out(arg, d, n);
			if (rc)
				return rc;
			d += n;
			len -= n;
			ch->left -= n;
			if (!ch->left) {
				rc = chunk_verify(ch);
				if (rc)
					return rc;
				ch->st = CH_DATA_CRLF;
			}
			break;
		}
		case CH_DATA_CRLF: {
			bool complete;
			ssize_t n = take_line(ch, d, len, &complete);
			if (n < 0)
				return (int)n;
			d += n;
			len -= (size_t)n;
			if (!complete)
				break;
			if (ch->llen)
				return -S3E_INCOMPLETE_BODY;
			ch->st = ch->last ? CH_DONE : CH_LINE;
			break;
		}
		case CH_DONE:
			/* Tolerate stray line ends after the last chunk, nothing else. */
			if (*d != '\r' && *d != '\n')
				return -S3E_INCOMPLETE_BODY;
			d++;
			len--;
			break;
		}
	}
	return 0;
}

int s3_chunked_finish(struct s3_chunked *ch)
{
	return ch->st == CH_DONE ? 0 : -S3E_INCOMPLETE_BODY;
}

const char *s3_chunked_trailer(const struct s3_chunked *ch, const char *name)
{
	for (size_t i = 0; i < ch->ntrailers; i++)
		if (!strcmp(ch->trailers[i].name, name))
			return ch->trailers[i].value;
	return NULL;
}
