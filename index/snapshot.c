/* Taking a snapshot of the index while it is in use: every table is copied
 * in key order, a slice of records at a time with the environment's lock
 * held only for that slice, and every change committed meanwhile is captured
 * (changelog.c) and written after the copy. Restoring the copy and then
 * replaying the changes gives exactly the index as of the group commit that
 * ends the snapshot. LMDB's own hot copy cannot be used: the environment has
 * no reader table (MDB_NOLOCK), so pages a long read transaction still uses
 * may be reused by the second commit after it began. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/base/fileio.h"
#include "core/base/log.h"
#include "index/idx_int.h"

/* One slice ends after this many records or bytes, whichever comes first:
 * a few hundred microseconds with the lock held. */
#define SLICE_RECORDS 1024u
#define SLICE_BYTES (256u << 10)
#define WBUF (1u << 20)

struct snap_writer {
	int fd;
	off_t off; /* where the buffer goes */
	struct idx_clog buf;
	XXH3_state_t *sum;
	uint64_t body_len;
	uint64_t records;
};

static int w_flush(struct snap_writer *w)
{
	int rc;

	if (!w->buf.len)
		return 0;
	XXH3_64bits_update(w->sum, w->buf.buf, w->buf.len);
	rc = tfs_pwrite_full(w->fd, w->buf.buf, w->buf.len, w->off);
	if (rc)
		return rc;
	w->off += (off_t)w->buf.len;
	w->body_len += w->buf.len;
	w->buf.len = 0;
	return 0;
}

/* Append records already laid out (a slice, the change log). */
static int w_records(struct snap_writer *w, const uint8_t *p, size_t len, uint64_t nrec)
{
	int rc = idx_clog_append(&w->buf, p, len);

	if (rc)
		return rc;
	w->records += nrec;
	return w->buf.len >= WBUF ? w_flush(w) : 0;
}

static int w_record(struct snap_writer *w, unsigned op, unsigned db, const void *k, size_t klen,
		    const void *v, size_t vlen)
{
	MDB_val key = {.mv_size = klen, .mv_data = (void *)k};
	MDB_val val = {.mv_size = vlen, .mv_data = (void *)v};
	int rc = idx_clog_add(&w->buf, op, db, &key, vlen ? &val : NULL);

	if (rc)
		return rc;
	w->records++;
	return w->buf.len >= WBUF ? w_flush(w) : 0;
}

/* Count a log's records (they are well formed: we wrote them). */
static uint64_t log_records(const struct idx_clog *log)
{
	uint64_t n = 0;

	for (size_t off = 0; off + IDX_SNAP_REC_HDR <= log->len; n++)
		off += IDX_SNAP_REC_HDR + tfs_get_le16(log->buf + off + 2) +
		       tfs_get_le32(log->buf + off + 4);
	return n;
}

struct slice_state {
	uint8_t last[512]; /* the last key copied (keys are at most 8 + 255 bytes) */
	size_t last_len;
	bool started, done;
};

/*
 * Copy the next slice of table @p db into @p out with the lock held.
 * @return records copied, or -errno.
 */
static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long copy_slice(struct idx_env *env, enum idx_db db, struct slice_state *st,
		       struct idx_clog *out, uint64_t *held_ns)
{
	struct idx_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	long n = 0;
	int rc;

	rc = idx_txn_begin_read(env, &txn);
	if (rc)
		return rc;
	uint64_t t0 = mono_ns(); /* the lock is held from here */
	rc = idx_cursor_open(txn, db, &cur);
	if (rc) {
		idx_txn_abort(txn);
		return rc;
	}
	if (!st->started) {
		rc = idx_cursor_get(txn, cur, &k, &v, MDB_FIRST);
	} else {
		k.mv_data = st->last;
		k.mv_size = st->last_len;
		rc = idx_cursor_get(txn, cur, &k, &v, MDB_SET_RANGE);
		if (rc == 0 && k.mv_size == st->last_len && !memcmp(k.mv_data, st->last, k.mv_size))
			rc = idx_cursor_get(txn, cur, &k, &v, MDB_NEXT);
	}
	st->started = true;
	while (rc == 0) {
		if (k.mv_size > sizeof(st->last)) {
			rc = idx_corrupt(txn, "key longer than any table allows", k.mv_size);
			break;
		}
		rc = idx_clog_add(out, IDX_SNAP_DUMP, (unsigned)db, &k, &v);
		if (rc)
			break;
		memcpy(st->last, k.mv_data, k.mv_size);
		st->last_len = k.mv_size;
		if (++n >= (long)SLICE_RECORDS || out->len >= SLICE_BYTES)
			break;
		rc = idx_cursor_get(txn, cur, &k, &v, MDB_NEXT);
	}
	if (rc == -ENOENT) {
		st->done = true;
		rc = 0;
	}
	mdb_cursor_close(cur);
	*held_ns = mono_ns() - t0;
	idx_txn_abort(txn);
	return rc ? rc : n;
}

/* Begin capturing, and read what the header needs and the progress total. */
static int capture_begin(struct idx_env *env, struct idx_snap_capture *cap, struct idx_volume *vol,
			 uint64_t *total)
{
	struct idx_txn *txn;
	int rc;

	rc = idx_txn_begin_read(env, &txn);
	if (rc)
		return rc;
	if (env->snap) {
		idx_txn_abort(txn);
		tfs_err("index at %s: a snapshot is already being taken", env->path);
		return -EBUSY;
	}
	rc = idx_volume_get(txn, vol);
	*total = 0;
	for (int i = 0; i < IDX_DB_COUNT && rc == 0; i++) {
		MDB_stat st;
		rc = mdb_stat(txn->mdb, env->dbi[i], &st);
		if (rc)
			rc = idx_errmap(env, rc, "snapshot: count records");
		else
			*total += st.ms_entries;
	}
	if (rc == 0) {
		cap->from = env->clog.len;
		env->snap = cap;
	}
	idx_txn_abort(txn);
	return rc;
}

/*
 * End capturing at a group commit: what the snapshot holds is then exactly
 * the index as of that commit (whose chunk data the precommit hook made
 * durable). @return 0 and the commit's sequence number, or -errno.
 */
static int capture_end(struct idx_env *env, struct idx_snap_capture *cap, bool ok, uint64_t *seq,
		       uint64_t *time_ns, uint64_t *held_ns)
{
	struct timespec now;
	int rc = 0;

	pthread_mutex_lock(&env->lock);
	uint64_t t0 = mono_ns();
	if (ok && !env->rdonly) {
		if (env->broken)
			rc = env->broken;
		else
			rc = idx_group_commit_locked(env, "snapshot");
	}
	*seq = env->seq;
	/* The time of the state it holds: a restore trusts tracks not written
	 * since (tools/restore.c). */
	clock_gettime(CLOCK_REALTIME, &now);
	*time_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	env->snap = NULL;
	*held_ns = mono_ns() - t0;
	pthread_mutex_unlock(&env->lock);
	if (rc == 0 && cap->log.err)
		rc = cap->log.err;
	return rc;
}

int idx_snapshot_write(struct idx_env *env, int fd, const struct idx_snapshot_opts *opts,
		       struct idx_snap_info *out)
{
	struct idx_snapshot_opts none = {0};
	struct idx_snap_capture cap = {0};
	struct snap_writer w = {.fd = fd, .off = IDX_SNAP_HEADER};
	struct idx_clog slice = {0};
	struct idx_volume vol;
	uint64_t total = 0, done = 0, seq = 0, time_ns = 0, max_slice = 0, end_ns = 0;
	uint8_t hdr[IDX_SNAP_HEADER];
	int rc, rc2;

	if (!opts)
		opts = &none;
	/* A record must fit the reader's buffer (snapload.c). */
	if (opts->attach_len > IDX_SNAP_ATTACH_MAX)
		return -EFBIG;
	w.sum = XXH3_createState();
	if (!w.sum)
		return -ENOMEM;
	XXH3_64bits_reset(w.sum);
	rc = capture_begin(env, &cap, &vol, &total);
	if (rc) {
		XXH3_freeState(w.sum);
		return rc;
	}
	if (opts->attach_len)
		rc = w_record(&w, IDX_SNAP_ATTACH, 0, NULL, 0, opts->attach, opts->attach_len);
	for (int db = 0; db < IDX_DB_COUNT && rc == 0; db++) {
		struct slice_state st = {0};
		while (!st.done && rc == 0) {
			long n;

			slice.len = 0;
			uint64_t held = 0;
			n = copy_slice(env, (enum idx_db)db, &st, &slice, &held);
			if (held > max_slice)
				max_slice = held;
			if (n < 0) {
				rc = (int)n;
				break;
			}
			rc = w_records(&w, slice.buf, slice.len, (uint64_t)n);
			done += (uint64_t)n;
			if (done > total) /* records added meanwhile */
				total = done;
			if (opts->progress)
				opts->progress(opts->progress_arg, done, total);
		}
	}
	idx_clog_free(&slice);
	rc2 = capture_end(env, &cap, rc == 0, &seq, &time_ns, &end_ns);
	if (rc == 0)
		rc = rc2;
	if (rc == 0)
		rc = w_records(&w, cap.log.buf, cap.log.len, log_records(&cap.log));
	idx_clog_free(&cap.log);
	if (rc == 0)
		rc = w_record(&w, IDX_SNAP_END, 0, NULL, 0, NULL, 0);
	if (rc == 0)
		rc = w_flush(&w);
	if (rc == 0) {
		memset(out, 0, sizeof(*out));
		out->uuid = vol.uuid;
		out->generation = vol.generation;
		out->seq = seq;
		out->time_ns = time_ns;
		out->body_len = w.body_len;
		out->body_sum = XXH3_64bits_digest(w.sum);
		out->records = w.records;
		out->attach_len = opts->attach_len;
		out->max_slice_ns = max_slice;
		out->end_commit_ns = end_ns;
		idx_snapshot_header_encode(out, hdr);
		rc = tfs_pwrite_full(fd, hdr, sizeof(hdr), 0);
	}
	if (rc && rc != -EBUSY)
		tfs_err("index at %s: taking a snapshot failed: %s", env->path, tfs_strerror(rc));
	idx_clog_free(&w.buf);
	XXH3_freeState(w.sum);
	return rc;
}
