/* Shared by the data-path tests (test_rw.c, test_trunc.c, test_falloc.c): a
 * fresh volume over two disks, opened with the background flusher slowed
 * down so that tests decide when deferred frees are released, plus helpers
 * that look into the index and the pool. */
#ifndef TFS_TEST_VOL_FIXTURE_H
#define TFS_TEST_VOL_FIXTURE_H

#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/vol/vol_int.h"
#include "tests/harness/tmpvol.h"

struct fx {
	struct tmpvol tv;
	struct vol *v;
	uint32_t cs;
};

static inline void fx_open(struct fx *f)
{
	/* An hour: nothing is released behind the test's back. */
	struct vol_open_opts o = {.owner = "unit test", .flush_ms = 3600000, .sync_ms = 3600000};
	int rc = vol_open(f->tv.meta, &o, &f->v);
	cr_assert_eq(rc, 0, "vol_open: %d", rc);
	f->cs = f->v->chunk_size;
}

static inline void fx_setup(struct fx *f, uint32_t chunk_size)
{
	memset(f, 0, sizeof(*f));
	tmpvol_create(&f->tv, chunk_size);
	fx_open(f);
}

static inline void fx_close(struct fx *f)
{
	if (f->v) {
		int rc = vol_close(f->v);
		f->v = NULL;
		cr_assert_eq(rc, 0, "vol_close: %d", rc);
	}
}

static inline void fx_teardown(struct fx *f)
{
	fx_close(f);
	tmpvol_destroy(&f->tv);
}

static inline void fx_reopen(struct fx *f)
{
	fx_close(f);
	fx_open(f);
}

/* Close the volume and check it with the real fsck.trackfs: every chunk
 * free or referenced exactly once, checksums right (invariants 1 and 3). */
static inline void fx_close_and_fsck(struct fx *f)
{
	fx_close(f);
	int st = tmpvol_fsck(&f->tv, "");
	cr_assert_eq(st, 0, "fsck.trackfs exit status %d", st);
}

static inline uint64_t fx_create_mode(struct fx *f, const char *name, uint32_t mode)
{
	struct vol_cred cred = {.uid = 1000, .gid = 1000};
	struct vol_attr a;
	int rc = vol_create(f->v, VOL_ROOT_INO, name, S_IFREG | mode, &cred, &a);
	cr_assert_eq(rc, 0, "vol_create %s: %d", name, rc);
	return a.ino;
}

static inline uint64_t fx_create(struct fx *f, const char *name)
{
	return fx_create_mode(f, name, 0644);
}

static inline struct vol_attr fx_getattr(struct fx *f, uint64_t ino)
{
	struct vol_attr a;
	int rc = vol_getattr(f->v, ino, &a);
	cr_assert_eq(rc, 0, "vol_getattr %llu: %d", (unsigned long long)ino, rc);
	return a;
}

/* Chunks allocated to the file, as the index records them. */
static inline uint64_t fx_chunks(struct fx *f, uint64_t ino)
{
	struct idx_txn *txn;
	struct idx_inode in;
	cr_assert_eq(idx_txn_begin(f->v->idx, &txn), 0);
	int rc = idx_inode_get(txn, ino, &in);
	idx_txn_abort(txn);
	cr_assert_eq(rc, 0);
	return in.blocks;
}

/* The extent holding file offset @p off (0 found, -ENOENT a hole). */
static inline int fx_extent_at(struct fx *f, uint64_t ino, uint64_t off, struct idx_extent *e)
{
	struct idx_txn *txn;
	cr_assert_eq(idx_txn_begin(f->v->idx, &txn), 0);
	int rc = idx_extent_seek(txn, ino, off, e);
	idx_txn_abort(txn);
	if (rc == 0 && e->off > off)
		rc = -ENOENT;
	return rc;
}

/* The first extent ending after @p off (0, or -ENOENT when there is none). */
static inline int fx_extent_next(struct fx *f, uint64_t ino, uint64_t off, struct idx_extent *e)
{
	struct idx_txn *txn;
	cr_assert_eq(idx_txn_begin(f->v->idx, &txn), 0);
	int rc = idx_extent_seek(txn, ino, off, e);
	idx_txn_abort(txn);
	return rc;
}

/* Number of extents of the file; also checks they do not overlap and that
 * their chunks add up to the inode's block count. */
static inline unsigned fx_extent_count(struct fx *f, uint64_t ino)
{
	struct idx_txn *txn;
	struct idx_extent e;
	uint64_t pos = 0, chunks = 0;
	unsigned n = 0;
	cr_assert_eq(idx_txn_begin(f->v->idx, &txn), 0);
	while (idx_extent_seek(txn, ino, pos, &e) == 0) {
		cr_assert_geq(e.off, pos, "extents overlap at %llu", (unsigned long long)e.off);
		cr_assert(e.nchunks >= 1 && e.nchunks <= IDX_EXTENT_MAX_CHUNKS);
		pos = e.off + (uint64_t)e.nchunks * f->cs;
		chunks += e.nchunks;
		n++;
	}
	idx_txn_abort(txn);
	cr_assert_eq(chunks, fx_chunks(f, ino), "extents hold %llu chunks, inode says %llu",
		     (unsigned long long)chunks, (unsigned long long)fx_chunks(f, ino));
	return n;
}

static inline void fx_write(struct fx *f, uint64_t ino, const void *buf, size_t len, uint64_t off)
{
	ssize_t n = vol_write(f->v, ino, buf, len, (off_t)off);
	cr_assert_eq(n, (ssize_t)len, "write %zu at %llu: %zd", len, (unsigned long long)off, n);
}

static inline void fx_fill(struct fx *f, uint64_t ino, int byte, size_t len, uint64_t off)
{
	uint8_t *b = malloc(len);
	cr_assert_not_null(b);
	memset(b, byte, len);
	fx_write(f, ino, b, len, off);
	free(b);
}

/* Read [off, off+len) and check every byte equals @p byte. */
static inline void fx_expect_bytes(struct fx *f, uint64_t ino, int byte, size_t len, uint64_t off)
{
	uint8_t *b = malloc(len);
	cr_assert_not_null(b);
	ssize_t n = vol_read(f->v, ino, b, len, (off_t)off);
	cr_assert_eq(n, (ssize_t)len, "read %zu at %llu: %zd", len, (unsigned long long)off, n);
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(b[i], (uint8_t)byte, "byte %llu is %#x, expected %#x",
			     (unsigned long long)(off + i), b[i], (uint8_t)byte);
	free(b);
}

/* Truncate the way vol_setattr does: under the inode's ilock. */
static inline int fx_truncate(struct fx *f, uint64_t ino, uint64_t size)
{
	pthread_rwlock_wrlock(vol_ilock(f->v, ino));
	int rc = vol_truncate_locked(f->v, ino, size, true);
	pthread_rwlock_unlock(vol_ilock(f->v, ino));
	return rc;
}

/* Chunks in use over all disks (deferred frees count as used). Taken from
 * the pool rather than statfs, whose totals follow the host's free space. */
static inline uint64_t fx_used(struct fx *f)
{
	uint64_t used = 0;
	for (unsigned d = 0; d < trk_pool_ndisks(f->v->pool); d++) {
		struct trk_disk_stats st;
		cr_assert_eq(trk_pool_disk_stats(f->v->pool, d, &st), 0);
		used += st.chunks_used;
	}
	return used;
}

/* splitmix64, so a failing run can be repeated from its seed */
static inline uint64_t fx_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static inline void fx_random_bytes(uint64_t *s, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t r = fx_rand(s);
		memcpy(buf + i, &r, len - i < 8 ? len - i : 8);
	}
}

#endif
