/* Reading a snapshot file: its header, a full check of its body (checksum
 * and record structure, before anything is written), and restoring it into
 * a new index directory. A snapshot that fails any check is refused whole,
 * with the reason: a restore never starts from garbage. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/base/fileio.h"
#include "core/base/log.h"
#include "index/idx_int.h"

#define RBUF (1u << 20)
/* Commit the restore's write transaction every this many body bytes, well
 * under LMDB's limit of dirty pages per transaction. */
#define RESTORE_TXN_BYTES (64ull << 20)

void idx_snapshot_header_encode(const struct idx_snap_info *in, uint8_t hdr[IDX_SNAP_HEADER])
{
	memset(hdr, 0, IDX_SNAP_HEADER);
	memcpy(hdr + IDX_SNAPH_MAGIC, IDX_SNAP_MAGIC, 8);
	tfs_put_le32(hdr + IDX_SNAPH_VERSION, IDX_SNAP_VERSION);
	tfs_put_le32(hdr + IDX_SNAPH_SIZE, IDX_SNAP_HEADER);
	memcpy(hdr + IDX_SNAPH_UUID, in->uuid.b, sizeof(in->uuid.b));
	tfs_put_le64(hdr + IDX_SNAPH_GENERATION, in->generation);
	tfs_put_le64(hdr + IDX_SNAPH_SEQ, in->seq);
	tfs_put_le64(hdr + IDX_SNAPH_TIME, in->time_ns);
	tfs_put_le64(hdr + IDX_SNAPH_BODY_LEN, in->body_len);
	tfs_put_le64(hdr + IDX_SNAPH_BODY_SUM, in->body_sum);
	tfs_put_le64(hdr + IDX_SNAPH_RECORDS, in->records);
	tfs_put_le64(hdr + IDX_SNAPH_ATTACH_LEN, in->attach_len);
	tfs_put_le64(hdr + IDX_SNAPH_SUM, XXH3_64bits(hdr, IDX_SNAPH_SUM));
}

int idx_snapshot_header(int fd, struct idx_snap_info *out, char *why, size_t whylen)
{
	uint8_t hdr[IDX_SNAP_HEADER];
	struct stat st;
	ssize_t n;

	n = tfs_pread_full(fd, hdr, sizeof(hdr), 0);
	if (n < 0) {
		snprintf(why, whylen, "cannot read it: %s", tfs_strerror((int)n));
		return (int)n;
	}
	if (n < (ssize_t)sizeof(hdr) || memcmp(hdr, IDX_SNAP_MAGIC, 8) != 0) {
		snprintf(why, whylen, "not a trackfs index snapshot (%s)",
			 n < (ssize_t)sizeof(hdr) ? "shorter than its header" : "bad magic");
		return -EINVAL;
	}
	if (tfs_get_le64(hdr + IDX_SNAPH_SUM) != XXH3_64bits(hdr, IDX_SNAPH_SUM)) {
		snprintf(why, whylen, "header checksum mismatch (damaged)");
		return -EIO;
	}
	if (tfs_get_le32(hdr + IDX_SNAPH_VERSION) != IDX_SNAP_VERSION ||
	    tfs_get_le32(hdr + IDX_SNAPH_SIZE) != IDX_SNAP_HEADER) {
		snprintf(why, whylen, "snapshot format version %u, this build reads %u",
			 tfs_get_le32(hdr + IDX_SNAPH_VERSION), IDX_SNAP_VERSION);
		return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	memcpy(out->uuid.b, hdr + IDX_SNAPH_UUID, sizeof(out->uuid.b));
	out->generation = tfs_get_le64(hdr + IDX_SNAPH_GENERATION);
	out->seq = tfs_get_le64(hdr + IDX_SNAPH_SEQ);
	out->time_ns = tfs_get_le64(hdr + IDX_SNAPH_TIME);
	out->body_len = tfs_get_le64(hdr + IDX_SNAPH_BODY_LEN);
	out->body_sum = tfs_get_le64(hdr + IDX_SNAPH_BODY_SUM);
	out->records = tfs_get_le64(hdr + IDX_SNAPH_RECORDS);
	out->attach_len = tfs_get_le64(hdr + IDX_SNAPH_ATTACH_LEN);
	if (fstat(fd, &st) != 0) {
		int rc = -errno;
		snprintf(why, whylen, "cannot stat it: %s", tfs_strerror(rc));
		return rc;
	}
	if ((uint64_t)st.st_size != IDX_SNAP_HEADER + out->body_len) {
		snprintf(why, whylen,
			 "%" PRIu64 " bytes where the header says %" PRIu64 " (truncated or "
			 "grown)",
			 (uint64_t)st.st_size, (uint64_t)IDX_SNAP_HEADER + out->body_len);
		return -EIO;
	}
	return 0;
}

/* A sequential reader over the body that hands out whole records. */
struct body_reader {
	int fd;
	uint64_t off, end; /* file offsets */
	uint8_t *buf;
	size_t pos, len;
	XXH3_state_t *sum;
};

struct rec {
	unsigned op, db;
	MDB_val key, val;
};

/* Move what is left to the front of the buffer and read more behind it. */
static int refill(struct body_reader *r, char *why, size_t whylen)
{
	size_t have = r->len - r->pos;
	size_t want = RBUF - have;

	memmove(r->buf, r->buf + r->pos, have);
	r->pos = 0;
	r->len = have;
	if (want > r->end - r->off)
		want = (size_t)(r->end - r->off);
	if (!want)
		return 0;
	ssize_t n = tfs_pread_full(r->fd, r->buf + have, want, (off_t)r->off);
	if (n < 0) {
		snprintf(why, whylen, "read error: %s", tfs_strerror((int)n));
		return (int)n;
	}
	if ((size_t)n != want) {
		snprintf(why, whylen, "shorter than its header says");
		return -EIO;
	}
	if (r->sum)
		XXH3_64bits_update(r->sum, r->buf + have, want);
	r->off += want;
	r->len += want;
	return 0;
}

/* @return 1 and the next record, 0 at the end of the body, or -errno. */
static int next_record(struct body_reader *r, struct rec *out, char *why, size_t whylen)
{
	size_t need;
	int rc;

	if (r->len - r->pos < IDX_SNAP_REC_HDR) {
		rc = refill(r, why, whylen);
		if (rc)
			return rc;
		if (r->len == 0)
			return 0;
		if (r->len < IDX_SNAP_REC_HDR) {
			snprintf(why, whylen, "the body ends inside a record (damaged)");
			return -EIO;
		}
	}
	const uint8_t *p = r->buf + r->pos;
	need = IDX_SNAP_REC_HDR + tfs_get_le16(p + 2) + (size_t)tfs_get_le32(p + 4);
	if (need > RBUF) {
		snprintf(why, whylen, "a record of %zu bytes (damaged)", need);
		return -EIO;
	}
	if (r->len - r->pos < need) {
		rc = refill(r, why, whylen);
		if (rc)
			return rc;
		if (r->len < need) {
			snprintf(why, whylen, "the body ends inside a record (damaged)");
			return -EIO;
		}
		p = r->buf;
	}
	out->op = p[0];
	out->db = p[1];
	out->key.mv_size = tfs_get_le16(p + 2);
	out->val.mv_size = tfs_get_le32(p + 4);
	out->key.mv_data = (void *)(p + IDX_SNAP_REC_HDR);
	out->val.mv_data = (void *)(p + IDX_SNAP_REC_HDR + out->key.mv_size);
	r->pos += need;
	return 1;
}

/* Structure rules every record must follow. */
static int check_record(const struct rec *rc, uint64_t index, bool dumping, char *why,
			size_t whylen)
{
	switch (rc->op) {
	case IDX_SNAP_ATTACH:
		if (index != 0)
			break;
		return 0;
	case IDX_SNAP_DUMP:
		if (!dumping)
			break;
		/* fallthrough */
	case IDX_SNAP_PUT:
	case IDX_SNAP_DEL:
		if (rc->db >= IDX_DB_COUNT || rc->key.mv_size == 0 ||
		    rc->key.mv_size > 8 + IDX_NAME_MAX ||
		    (rc->op == IDX_SNAP_DEL && rc->val.mv_size))
			break;
		return 0;
	case IDX_SNAP_END:
		return 0;
	}
	snprintf(why, whylen, "record %" PRIu64 " is malformed (op %u, table %u) (damaged)", index,
		 rc->op, rc->db);
	return -EIO;
}

static int reader_init(struct body_reader *r, int fd, const struct idx_snap_info *info, bool sum)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->off = IDX_SNAP_HEADER;
	r->end = IDX_SNAP_HEADER + info->body_len;
	r->buf = malloc(RBUF);
	if (!r->buf)
		return -ENOMEM;
	if (sum) {
		r->sum = XXH3_createState();
		if (!r->sum) {
			free(r->buf);
			return -ENOMEM;
		}
		XXH3_64bits_reset(r->sum);
	}
	return 0;
}

static void reader_fini(struct body_reader *r)
{
	free(r->buf);
	if (r->sum)
		XXH3_freeState(r->sum);
}

int idx_snapshot_verify(int fd, struct idx_snap_info *info, void **attach, char *why, size_t whylen)
{
	struct body_reader r;
	struct rec rec = {0};
	uint64_t n = 0;
	bool dumping = true, ended = false;
	int rc;

	if (attach)
		*attach = NULL;
	rc = idx_snapshot_header(fd, info, why, whylen);
	if (rc)
		return rc;
	rc = reader_init(&r, fd, info, true);
	if (rc)
		return rc;
	while ((rc = next_record(&r, &rec, why, whylen)) == 1) {
		if (ended) {
			snprintf(why, whylen, "records after the end record (damaged)");
			rc = -EIO;
			break;
		}
		rc = check_record(&rec, n, dumping, why, whylen);
		if (rc)
			break;
		if (rec.op == IDX_SNAP_PUT || rec.op == IDX_SNAP_DEL)
			dumping = false;
		if (rec.op == IDX_SNAP_END)
			ended = true;
		if (rec.op == IDX_SNAP_ATTACH && attach && rec.val.mv_size == info->attach_len) {
			*attach = malloc(rec.val.mv_size + 1);
			if (!*attach) {
				rc = -ENOMEM;
				break;
			}
			memcpy(*attach, rec.val.mv_data, rec.val.mv_size);
			((char *)*attach)[rec.val.mv_size] = '\0';
		}
		n++;
	}
	if (rc == 0 && !ended) {
		snprintf(why, whylen, "no end record (truncated)");
		rc = -EIO;
	}
	if (rc == 0 && XXH3_64bits_digest(r.sum) != info->body_sum) {
		snprintf(why, whylen, "body checksum mismatch (damaged)");
		rc = -EIO;
	}
	if (rc == 0 && n != info->records) {
		snprintf(why, whylen, "%" PRIu64 " records where the header says %" PRIu64, n,
			 info->records);
		rc = -EIO;
	}
	reader_fini(&r);
	if (rc && attach) {
		free(*attach);
		*attach = NULL;
	}
	return rc;
}

int idx_snapshot_attachment(int fd, void **attach, size_t *len, char *why, size_t whylen)
{
	struct idx_snap_info info;
	struct body_reader r;
	struct rec rec;
	int rc;

	*attach = NULL;
	*len = 0;
	rc = idx_snapshot_header(fd, &info, why, whylen);
	if (rc || !info.attach_len)
		return rc;
	rc = reader_init(&r, fd, &info, false);
	if (rc)
		return rc;
	rc = next_record(&r, &rec, why, whylen);
	if (rc == 1 && (rec.op != IDX_SNAP_ATTACH || rec.val.mv_size != info.attach_len)) {
		snprintf(why, whylen, "its first record is not the attachment (damaged)");
		rc = -EIO;
	} else if (rc == 1) {
		*attach = malloc(rec.val.mv_size + 1);
		rc = *attach ? 0 : -ENOMEM;
		if (*attach) {
			memcpy(*attach, rec.val.mv_data, rec.val.mv_size);
			((char *)*attach)[rec.val.mv_size] = '\0';
			*len = rec.val.mv_size;
		}
	} else if (rc == 0) {
		snprintf(why, whylen, "no attachment where the header says one is (damaged)");
		rc = -EIO;
	}
	reader_fini(&r);
	return rc;
}

int idx_snapshot_restore(int fd, const char *dir, const struct idx_snapshot_opts *opts, char *why,
			 size_t whylen)
{
	struct idx_snapshot_opts none = {0};
	struct idx_snap_info info;
	struct body_reader r;
	struct idx_env *env = NULL;
	MDB_txn *t = NULL;
	struct rec rec;
	uint64_t done = 0, since_commit = 0;
	int rc;

	if (!opts)
		opts = &none;
	rc = idx_snapshot_verify(fd, &info, NULL, why, whylen);
	if (rc)
		return rc;
	char file[PATH_MAX];
	struct stat st;
	if (snprintf(file, sizeof(file), "%s/data.mdb", dir) >= (int)sizeof(file))
		return -ENAMETOOLONG;
	if (stat(file, &st) == 0) {
		snprintf(why, whylen, "%s already holds an index: restore into an empty directory",
			 dir);
		return -EEXIST;
	}
	rc = idx_env_open(dir, IDX_CREATE, &env);
	if (rc) {
		snprintf(why, whylen, "cannot create the index in %s: %s", dir, tfs_strerror(rc));
		return rc;
	}
	/* Records packed by MDB_APPEND fill pages; the replayed changes split a
	 * few. Room for both, so that the restore never runs out of map. */
	uint64_t map = env->map_size;
	while (map < info.body_len * 2 + (64ull << 20))
		map *= 2;
	rc = mdb_env_set_mapsize(env->mdb, map);
	if (rc) {
		rc = idx_errmap(env, rc, "restore: set the map size");
		snprintf(why, whylen, "cannot size the new index: %s", tfs_strerror(rc));
		goto out_close;
	}
	env->map_size = map;
	/* Checksummed again as it is loaded: a file that changed since the
	 * check is not loaded. */
	rc = reader_init(&r, fd, &info, true);
	if (rc)
		goto out_close;
	while ((rc = next_record(&r, &rec, why, whylen)) == 1) {
		int mrc = 0;

		if (rec.op == IDX_SNAP_ATTACH || rec.op == IDX_SNAP_END) {
			done++;
			continue;
		}
		if (!t) {
			mrc = mdb_txn_begin(env->mdb, NULL, 0, &t);
			if (mrc)
				goto mdb_fail;
		}
		if (rec.op == IDX_SNAP_DUMP) {
			mrc = mdb_put(t, env->dbi[rec.db], &rec.key, &rec.val, MDB_APPEND);
		} else if (rec.op == IDX_SNAP_PUT) {
			mrc = mdb_put(t, env->dbi[rec.db], &rec.key, &rec.val, 0);
		} else {
			mrc = mdb_del(t, env->dbi[rec.db], &rec.key, NULL);
			if (mrc == MDB_NOTFOUND)
				mrc = 0;
		}
		if (mrc == MDB_KEYEXIST) {
			snprintf(why, whylen, "its records are out of order (damaged)");
			rc = -EIO;
			break;
		}
		if (mrc)
			goto mdb_fail;
		since_commit += IDX_SNAP_REC_HDR + rec.key.mv_size + rec.val.mv_size;
		if (since_commit >= RESTORE_TXN_BYTES) {
			mrc = mdb_txn_commit(t);
			t = NULL;
			since_commit = 0;
			if (mrc)
				goto mdb_fail;
		}
		if (opts->progress && (++done & 4095) == 0)
			opts->progress(opts->progress_arg, done, info.records);
		continue;
	mdb_fail:
		rc = idx_errmap(env, mrc, "restore");
		snprintf(why, whylen, "writing the new index in %s failed: %s", dir,
			 tfs_strerror(rc));
		break;
	}
	if (rc == 0 && XXH3_64bits_digest(r.sum) != info.body_sum) {
		snprintf(why, whylen, "it changed while being restored (body checksum mismatch)");
		rc = -EIO;
	}
	reader_fini(&r);
	if (t && rc == 0) {
		int mrc = mdb_txn_commit(t);
		if (mrc) {
			rc = idx_errmap(env, mrc, "restore");
			snprintf(why, whylen, "writing the new index in %s failed: %s", dir,
				 tfs_strerror(rc));
		}
	} else if (t) {
		mdb_txn_abort(t);
	}
	if (rc == 0) {
		int mrc = mdb_env_sync(env->mdb, 1);
		if (mrc) {
			rc = idx_errmap(env, mrc, "restore: sync");
			snprintf(why, whylen, "syncing the new index in %s failed: %s", dir,
				 tfs_strerror(rc));
		}
	}
	if (rc == 0 && opts->progress)
		opts->progress(opts->progress_arg, info.records, info.records);
out_close:
	idx_env_close(env, false);
	return rc;
}
