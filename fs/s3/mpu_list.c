/* Multipart uploads, the housekeeping half: AbortMultipartUpload, ListParts,
 * ListMultipartUploads, and the sweep that removes uploads abandoned for
 * longer than the configured expiry. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "fs/s3/s3_int.h"

static void abort_done(struct s3_conn *c)
{
	struct vol *v = c->srv->v;
	uint64_t up, dir;
	int rc = s3_mpu_open(c, &up, &dir);

	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	/* Not under a completion that is moving its parts. */
	bool busy = s3_mpu_claimed(v, dir);
	vol_forget(v, dir, 1);
	rc = busy ? -S3E_OPERATION_ABORTED : s3_mpu_remove(v, up, s3_qparam(&c->req, "uploadId"));
	vol_forget(v, up, 1);
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	s3_resp_start(c, 204);
	s3_resp_finish(c, NULL, 0);
}

const struct s3_handler s3_op_mpu_abort = {
	.name = "AbortMultipartUpload",
	.write = true,
	.done = abort_done,
};

static void list_parts_done(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	struct vol *v = c->srv->v;
	const char *mp = s3_qparam(r, "max-parts"), *pm = s3_qparam(r, "part-number-marker");
	unsigned max = mp ? (unsigned)strtoul(mp, NULL, 10) : 1000, marker = 0, count = 0;
	struct s3_mpu_names l = {0};
	struct s3_sbuf b = {0};
	uint64_t up, dir;
	unsigned last = 0;
	bool truncated = false;
	struct s3_mpu_cksum ck;
	int rc;

	if (max == 0 || max > 1000)
		max = 1000;
	if (pm)
		marker = (unsigned)strtoul(pm, NULL, 10);
	rc = s3_mpu_open(c, &up, &dir);
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	rc = s3_mpu_cksum_get(v, dir, &ck);
	if (!rc)
		rc = vol_readdir(v, dir, 0, false, s3_mpu_names_cb, &l);
	if (!rc)
		rc = l.err;
	if (rc)
		goto out_free;
	if (l.count)
		qsort(l.n, l.count, sizeof(*l.n), s3_mpu_name_cmp);
	s3_xml_begin(&b, "ListPartsResult");
	s3_xml_text(&b, "Bucket", r->bucket);
	s3_xml_text(&b, "Key", r->key);
	s3_xml_text(&b, "UploadId", s3_qparam(r, "uploadId"));
	s3_sb_printf(&b, "<PartNumberMarker>%u</PartNumberMarker>", marker);
	for (size_t i = 0; i < l.count; i++) {
		struct vol_attr a;
		char etag[80], date[40], pck[16] = "", pb64[80] = "";
		unsigned n = (unsigned)strtoul(l.n[i], NULL, 10);

		if (s3_name_hidden(l.n[i], strlen(l.n[i])) || n <= marker)
			continue;
		if (count == max) {
			truncated = true;
			break;
		}
		if (vol_lookup(v, dir, l.n[i], &a))
			continue;
		rc = s3_etag_get(v, &a, etag);
		if (!rc && s3_checksum_get(v, &a, pck, sizeof(pck), pb64, sizeof(pb64)))
			pck[0] = '\0';
		vol_forget(v, a.ino, 1);
		if (rc)
			goto out_free;
		s3_fmt_iso_date(&a.mtime, date, sizeof(date));
		s3_xml_open(&b, "Part");
		s3_xml_u64(&b, "PartNumber", n);
		s3_xml_text(&b, "LastModified", date);
		s3_sb_printf(&b, "<ETag>&quot;%s&quot;</ETag>", etag);
		s3_xml_u64(&b, "Size", a.size);
		if (pck[0])
			s3_mpu_cksum_xml(&b, pck, pb64, false);
		s3_xml_close(&b, "Part");
		count++;
		last = n;
	}
	if (truncated)
		s3_sb_printf(&b, "<NextPartNumberMarker>%u</NextPartNumberMarker>", last);
	s3_sb_printf(&b, "<MaxParts>%u</MaxParts><IsTruncated>%s</IsTruncated>", max,
		     truncated ? "true" : "false");
	s3_xml_text(&b, "StorageClass", "STANDARD");
	if (ck.a) {
		s3_xml_text(&b, "ChecksumAlgorithm", ck.a->upper);
		s3_xml_text(&b, "ChecksumType", s3_mpu_cksum_type(&ck));
	}
	s3_xml_close(&b, "ListPartsResult");
out_free:
	s3_mpu_names_free(&l);
	vol_forget(v, dir, 1);
	vol_forget(v, up, 1);
	if (rc) {
		s3_sb_free(&b);
		s3_resp_error(c, rc);
		return;
	}
	s3_resp_xml(c, &b);
}

const struct s3_handler s3_op_mpu_list_parts = {
	.name = "ListParts",
	.done = list_parts_done,
};

struct upload_ent {
	char *key;
	char id[33];
	struct timespec t;
	struct s3_mpu_cksum ck;
};

static int upload_cmp(const void *a, const void *b)
{
	const struct upload_ent *x = a, *y = b;
	int r = strcmp(x->key, y->key);

	return r ? r : strcmp(x->id, y->id);
}

static void list_uploads_done(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	struct vol *v = c->srv->v;
	const char *prefix = s3_qparam(r, "prefix") ? s3_qparam(r, "prefix") : "";
	struct s3_mpu_names l = {0};
	struct upload_ent *e = NULL;
	size_t ne = 0;
	struct s3_sbuf b = {0};
	uint64_t up = 0, bino;
	int rc;

	rc = s3_bucket_lookup(v, r->bucket, &bino);
	if (rc) {
		s3_resp_error(c, rc);
		return;
	}
	vol_forget(v, bino, 1);
	rc = s3_mpu_uploads_dir(c, false, &up);
	if (rc == -ENOENT) {
		rc = 0;
		up = 0;
	} else if (!rc) {
		rc = vol_readdir(v, up, 0, false, s3_mpu_names_cb, &l);
		if (!rc)
			rc = l.err;
	}
	if (rc)
		goto out_free;
	e = calloc(l.count ? l.count : 1, sizeof(*e));
	if (!e) {
		rc = -ENOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < l.count; i++) {
		char val[S3_KEY_MAX + 1];
		struct vol_attr a;

		if (!s3_mpu_valid_id(l.n[i]) || vol_lookup(v, up, l.n[i], &a))
			continue;
		if (s3_mpu_get_str(v, a.ino, S3_MPU_X_BUCKET, val, sizeof(val)) >= 0 &&
		    !strcmp(val, r->bucket) &&
		    s3_mpu_get_str(v, a.ino, S3_MPU_X_KEY, val, sizeof(val)) >= 0 &&
		    !strncmp(val, prefix, strlen(prefix))) {
			e[ne].key = strdup(val);
			strcpy(e[ne].id, l.n[i]);
			e[ne].t = a.mtime;
			if (s3_mpu_cksum_get(v, a.ino, &e[ne].ck))
				e[ne].ck.a = NULL;
			if (e[ne].key)
				ne++;
		}
		vol_forget(v, a.ino, 1);
	}
	qsort(e, ne, sizeof(*e), upload_cmp);
	s3_xml_begin(&b, "ListMultipartUploadsResult");
	s3_xml_text(&b, "Bucket", r->bucket);
	s3_xml_text(&b, "KeyMarker", "");
	s3_xml_text(&b, "UploadIdMarker", "");
	s3_xml_text(&b, "Prefix", prefix);
	s3_xml_u64(&b, "MaxUploads", 1000);
	s3_xml_text(&b, "IsTruncated", "false");
	for (size_t i = 0; i < ne && i < 1000; i++) {
		char date[40];
		s3_fmt_iso_date(&e[i].t, date, sizeof(date));
		s3_xml_open(&b, "Upload");
		s3_xml_text(&b, "Key", e[i].key);
		s3_xml_text(&b, "UploadId", e[i].id);
		s3_xml_text(&b, "StorageClass", "STANDARD");
		s3_xml_text(&b, "Initiated", date);
		if (e[i].ck.a) {
			s3_xml_text(&b, "ChecksumAlgorithm", e[i].ck.a->upper);
			s3_xml_text(&b, "ChecksumType", s3_mpu_cksum_type(&e[i].ck));
		}
		s3_xml_close(&b, "Upload");
	}
	s3_xml_close(&b, "ListMultipartUploadsResult");
out_free:
	for (size_t i = 0; i < ne; i++)
		free(e[i].key);
	free(e);
	s3_mpu_names_free(&l);
	if (up)
		vol_forget(v, up, 1);
	if (rc) {
		s3_sb_free(&b);
		s3_resp_error(c, rc);
		return;
	}
	s3_resp_xml(c, &b);
}

const struct s3_handler s3_op_mpu_list_uploads = {
	.name = "ListMultipartUploads",
	.done = list_uploads_done,
};

int s3_mpu_each(struct s3_server *s,
		int (*fn)(struct s3_server *s, uint64_t up, const char *id,
			  const struct vol_attr *dir, void *arg),
		void *arg)
{
	struct s3_conn fake = {0};
	struct s3_mpu_names l = {0};
	uint64_t up;
	int rc;

	fake.srv = s;
	rc = s3_mpu_uploads_dir(&fake, false, &up);
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	rc = vol_readdir(s->v, up, 0, false, s3_mpu_names_cb, &l);
	if (!rc)
		rc = l.err;
	for (size_t i = 0; !rc && i < l.count; i++) {
		struct vol_attr a;
		if (!s3_mpu_valid_id(l.n[i]) || vol_lookup(s->v, up, l.n[i], &a))
			continue;
		rc = fn(s, up, l.n[i], &a, arg);
		vol_forget(s->v, a.ino, 1);
	}
	s3_mpu_names_free(&l);
	vol_forget(s->v, up, 1);
	return rc;
}

static int expire_one(struct s3_server *s, uint64_t up, const char *id, const struct vol_attr *dir,
		      void *arg)
{
	const struct timespec *now = arg;

	if (s3_mpu_claimed(s->v, dir->ino) ||
	    now->tv_sec - dir->mtime.tv_sec < (time_t)s->cfg.upload_expiry_s)
		return 0;
	int rc = s3_mpu_remove(s->v, up, id);
	if (rc)
		tfs_warn("s3: removing expired upload %s failed: %s", id, tfs_strerror(rc));
	else
		tfs_info("s3: removed multipart upload %s, abandoned for over %u s", id,
			 s->cfg.upload_expiry_s);
	return 0;
}

void s3_mpu_sweep(struct s3_server *s)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	s3_mpu_each(s, expire_one, &now);
}
