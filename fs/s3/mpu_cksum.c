/* Checksums of multipart uploads. CreateMultipartUpload's
 * x-amz-checksum-algorithm (CRC32, CRC32C, CRC64NVME, SHA1, SHA256) and
 * x-amz-checksum-type (COMPOSITE, the default but for CRC64NVME; or
 * FULL_OBJECT, for the CRCs only) are kept on the upload directory as
 * user.s3.mpu.checksum = "ALGO TYPE"; every part must then carry a checksum
 * of that algorithm (checked by body.c, kept in the part's ETag record);
 * the completion checks the checksums its XML lists against the parts' and
 * makes the object's: COMPOSITE, the digest of the parts' raw digests with
 * "-N"; FULL_OBJECT, the parts' CRCs joined (s3_crc_combine), without
 * reading the object again. A client's x-amz-checksum-ALGO on the
 * completion must match it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fs/s3/s3_int.h"

int s3_mpu_cksum_from_req(struct s3_conn *c, struct s3_mpu_cksum *out)
{
	const char *algo = s3_hdr(&c->req, "x-amz-checksum-algorithm");
	const char *type = s3_hdr(&c->req, "x-amz-checksum-type");

	memset(out, 0, sizeof(*out));
	if (!algo) {
		if (type) {
			s3_req_errmsg(c, "x-amz-checksum-type needs x-amz-checksum-algorithm on "
					 "CreateMultipartUpload");
			return -S3E_INVALID_REQUEST;
		}
		return 0;
	}
	out->a = s3_cksum_algo(algo);
	if (!out->a) {
		s3_req_errmsg(c,
			      "Checksum algorithm %.32s is not supported: use CRC32, CRC32C, "
			      "CRC64NVME, SHA1 or SHA256",
			      algo);
		return -S3E_INVALID_REQUEST;
	}
	if (type && strcasecmp(type, "COMPOSITE") && strcasecmp(type, "FULL_OBJECT")) {
		s3_req_errmsg(c, "x-amz-checksum-type must be COMPOSITE or FULL_OBJECT (got %.32s)",
			      type);
		return -S3E_INVALID_REQUEST;
	}
	out->full = type ? !strcasecmp(type, "FULL_OBJECT") : out->a->hash == S3_HASH_CRC64NVME;
	if (out->full && !out->a->crc) {
		s3_req_errmsg(c,
			      "The FULL_OBJECT checksum type is not supported for %s: use "
			      "COMPOSITE, or a CRC algorithm",
			      out->a->upper);
		return -S3E_INVALID_REQUEST;
	}
	if (!out->full && out->a->hash == S3_HASH_CRC64NVME) {
		s3_req_errmsg(c, "The COMPOSITE checksum type is not supported for CRC64NVME: "
				 "use FULL_OBJECT");
		return -S3E_INVALID_REQUEST;
	}
	return 0;
}

int s3_mpu_cksum_store(struct vol *v, uint64_t dir, const struct s3_mpu_cksum *k)
{
	char rec[48];
	int n;

	if (!k->a)
		return 0;
	n = snprintf(rec, sizeof(rec), "%s %s", k->a->name, k->full ? "FULL_OBJECT" : "COMPOSITE");
	return vol_setxattr(v, dir, S3_MPU_X_CKSUM, rec, (size_t)n, 0);
}

int s3_mpu_cksum_get(struct vol *v, uint64_t dir, struct s3_mpu_cksum *k)
{
	char rec[48], name[16], type[16];
	ssize_t n = s3_mpu_get_str(v, dir, S3_MPU_X_CKSUM, rec, sizeof(rec));

	memset(k, 0, sizeof(*k));
	if (n == -ENODATA)
		return 0;
	if (n < 0)
		return (int)n;
	if (sscanf(rec, "%15s %15s", name, type) != 2 || !(k->a = s3_cksum_algo(name)))
		return -EIO;
	k->full = !strcmp(type, "FULL_OBJECT");
	return 0;
}

const char *s3_mpu_cksum_type(const struct s3_mpu_cksum *k)
{
	return k->full ? "FULL_OBJECT" : "COMPOSITE";
}

void s3_mpu_cksum_headers(struct s3_conn *c, const struct s3_mpu_cksum *k)
{
	if (!k->a)
		return;
	s3_resp_hdr(c, "x-amz-checksum-algorithm", "%s", k->a->upper);
	s3_resp_hdr(c, "x-amz-checksum-type", "%s", s3_mpu_cksum_type(k));
}

int s3_mpu_cksum_part(struct s3_conn *c, const struct s3_mpu_cksum *k, const char *name)
{
	if (!k->a || !strcmp(name, k->a->name))
		return 0;
	s3_req_errmsg(c,
		      "Checksum Type mismatch occurred, expected checksum Type: %s, actual "
		      "checksum Type: %s (upload %s for %s/%s was created with "
		      "x-amz-checksum-algorithm %s: send each part's x-amz-checksum-%s)",
		      k->a->name, name[0] ? name : "null", s3_qparam(&c->req, "uploadId"),
		      c->req.bucket, c->req.key, k->a->upper, k->a->name);
	return -S3E_INVALID_REQUEST;
}

/* The client's x-amz-checksum-* on the completion, which must be of the
 * upload's algorithm and, for COMPOSITE, may leave out the "-N". */
static int check_client(struct s3_conn *c, const struct s3_mpu_cksum *k, const char *b64)
{
	struct s3_req *r = &c->req;
	const char *type = s3_hdr(r, "x-amz-checksum-type");

	if (type && (!k->a || strcasecmp(type, s3_mpu_cksum_type(k)))) {
		s3_req_errmsg(c, "x-amz-checksum-type %.32s does not match the upload's (%s)", type,
			      k->a ? s3_mpu_cksum_type(k) : "none");
		return -S3E_INVALID_REQUEST;
	}
	for (size_t i = 0; i < r->nhdrs; i++) {
		const char *n = r->hdrs[i].name, *val = r->hdrs[i].value;
		if (strncmp(n, "x-amz-checksum-", 15) || !strcmp(n, "x-amz-checksum-type") ||
		    !strcmp(n, "x-amz-checksum-mode") || !strcmp(n, "x-amz-checksum-algorithm"))
			continue;
		if (!k->a || strcmp(n + 15, k->a->name)) {
			s3_req_errmsg(c,
				      "%s does not match the upload's checksum algorithm (%s); "
				      "give the algorithm when creating the upload",
				      n, k->a ? k->a->upper : "none");
			return -S3E_INVALID_REQUEST;
		}
		const char *dash = strchr(b64, '-');
		size_t bl =
			dash && !k->full && !strchr(val, '-') ? (size_t)(dash - b64) : strlen(b64);
		if (strlen(val) != bl || strncmp(val, b64, bl)) {
			s3_req_errmsg(c, "Value for %s header is invalid: the object's is %s", n,
				      b64);
			return -S3E_BAD_DIGEST;
		}
	}
	return 0;
}

/* The checksum of part @p p computed from its bytes: for a part whose record
 * went stale (a completion interrupted by a crash moved its chunks away and
 * back, s3_mpu_recover), as its ETag is then computed again. */
static int part_recompute(struct vol *v, const struct s3_cksum_algo *a, struct s3_mpu_part *p)
{
	struct s3_hash h;
	uint8_t sha[32];
	char *buf = malloc(1 << 20);
	int rc = buf ? s3_hash_init(&h, a->hash) : -ENOMEM;

	for (uint64_t off = 0; !rc && off < p->size;) {
		size_t n = p->size - off < (1u << 20) ? (size_t)(p->size - off) : (1u << 20);
		rc = s3_read_full(v, p->ino, buf, n, off);
		if (!rc)
			s3_hash_update(&h, buf, n);
		off += n;
	}
	if (buf && !rc) {
		s3_hash_final(&h, NULL, a->hash == S3_HASH_SHA256 ? sha : NULL);
		rc = s3_cksum_value(a, &h, sha, p->ck_b64);
		if (!rc)
			snprintf(p->ck, sizeof(p->ck), "%s", a->name);
	}
	if (buf)
		s3_hash_fini(&h);
	free(buf);
	return rc;
}

int s3_mpu_cksum_complete(struct s3_conn *c, const struct s3_mpu_cksum *k,
			  const struct s3_complete_list *l, struct s3_mpu_part *parts, char *b64)
{
	uint8_t *raws;
	uint64_t *sizes;
	int rc = 0;

	b64[0] = '\0';
	if (!k->a) {
		/* No object checksum; a part's that the XML lists is still
		 * checked against the one the part was uploaded with. */
		for (size_t i = 0; i < l->n; i++) {
			const struct s3_part_ref *ref = &l->parts[i];
			if (!ref->ck_name[0])
				continue;
			if (strcmp(ref->ck_name, parts[i].ck)) {
				s3_req_errmsg(c,
					      "Part %u lists a Checksum%s, but was uploaded "
					      "without one (upload %s has no "
					      "x-amz-checksum-algorithm)",
					      ref->number, ref->ck_name,
					      s3_qparam(&c->req, "uploadId"));
				return -S3E_INVALID_PART;
			}
			if (strcmp(ref->ck_b64, parts[i].ck_b64)) {
				s3_req_errmsg(c, "Part %u's checksum is %s %s, not %s", ref->number,
					      parts[i].ck, parts[i].ck_b64, ref->ck_b64);
				return -S3E_INVALID_PART;
			}
		}
		return check_client(c, k, "");
	}
	raws = malloc(l->n * k->a->raw + 1);
	sizes = malloc(l->n * sizeof(*sizes) + 1);
	if (!raws || !sizes) {
		rc = -ENOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < l->n; i++) {
		const struct s3_part_ref *ref = &l->parts[i];
		if (!parts[i].ck[0]) {
			rc = part_recompute(c->srv->v, k->a, &parts[i]);
			if (rc)
				goto out_free;
		}
		if (strcmp(parts[i].ck, k->a->name) ||
		    s3_cksum_raw(k->a, parts[i].ck_b64, raws + i * k->a->raw)) {
			s3_req_errmsg(c, "Part %u has no %s checksum: upload it again with one",
				      ref->number, k->a->upper);
			rc = -S3E_INVALID_PART;
			goto out_free;
		}
		if (ref->ck_name[0] && (strcasecmp(ref->ck_name, k->a->name) ||
					strcmp(ref->ck_b64, parts[i].ck_b64))) {
			s3_req_errmsg(c, "Part %u's checksum is %s %s, not %s %s", ref->number,
				      k->a->upper, parts[i].ck_b64, ref->ck_name, ref->ck_b64);
			rc = -S3E_INVALID_PART;
			goto out_free;
		}
		sizes[i] = parts[i].size;
	}
	if (k->full)
		s3_cksum_full(k->a, raws, sizes, l->n, b64);
	else
		rc = s3_cksum_composite(k->a, raws, l->n, b64);
	if (!rc)
		rc = check_client(c, k, b64);
out_free:
	free(raws);
	free(sizes);
	return rc;
}

void s3_mpu_cksum_xml(struct s3_sbuf *b, const char *name, const char *b64, bool with_type)
{
	const struct s3_cksum_algo *a = s3_cksum_algo(name);

	if (!a || !b64[0])
		return;
	s3_sb_printf(b, "<Checksum%s>%s</Checksum%s>", a->upper, b64, a->upper);
	if (with_type)
		s3_xml_text(b, "ChecksumType", strchr(b64, '-') ? "COMPOSITE" : "FULL_OBJECT");
}
