/* vol_read / vol_write: random writes and reads against an in-memory copy,
 * sparse files, large sequential writes, and the copy-on-write guarantees
 * (a corrupted chunk reads as EIO, a replaced chunk is not reused before the
 * index that dropped it is durable). */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>

#include "tests/unit/vol/fixture.h"

static struct fx F;

static void setup_4k(void)
{
	fx_setup(&F, 4096);
}

static void teardown(void)
{
	fx_teardown(&F);
}

TestSuite(vol_rw, .init = setup_4k, .fini = teardown, .timeout = 300);

static void expect_model(uint64_t ino, const uint8_t *model, size_t size)
{
	uint8_t *b = malloc(size + 100);
	cr_assert_not_null(b);
	ssize_t n = vol_read(F.v, ino, b, size + 100, 0);
	cr_assert_eq(n, (ssize_t)size, "read whole file: %zd, size %zu", n, size);
	for (size_t i = 0; i < size; i++)
		cr_assert_eq(b[i], model[i], "byte %zu: %#x, expected %#x", i, b[i], model[i]);
	free(b);
	cr_assert_eq(fx_getattr(&F, ino).size, size);
}

Test(vol_rw, random_writes_match_a_model)
{
	const size_t max = 600 * 1024;
	uint64_t seed = 0x5eed0001, s = seed;
	uint8_t *model = calloc(1, max), *buf = malloc(max), *rb = malloc(max);
	size_t size = 0;
	uint64_t ino = fx_create(&F, "f");

	cr_assert(model && buf && rb);
	for (int step = 0; step < 400; step++) {
		size_t off, len;
		switch (fx_rand(&s) % 4) {
		case 0: /* chunk-aligned: the no-copy path */
			off = (fx_rand(&s) % (max / F.cs - 8)) * F.cs;
			len = (1 + fx_rand(&s) % 8) * F.cs;
			break;
		case 1: /* tiny, inside one chunk or across one boundary */
			off = fx_rand(&s) % (max - 200);
			len = 1 + fx_rand(&s) % 150;
			break;
		default: /* anything */
			off = fx_rand(&s) % (max - 1);
			len = 1 + fx_rand(&s) % (max - off < 70000 ? max - off : 70000);
			break;
		}
		fx_random_bytes(&s, buf, len);
		ssize_t n = vol_write(F.v, ino, buf, len, (off_t)off);
		cr_assert_eq(n, (ssize_t)len, "seed %" PRIx64 " step %d: write %zu at %zu: %zd",
			     seed, step, len, off, n);
		memcpy(model + off, buf, len);
		if (off + len > size)
			size = off + len;

		/* A random read, possibly past EOF. */
		size_t roff = fx_rand(&s) % (size + 10);
		size_t rlen = 1 + fx_rand(&s) % 50000;
		n = vol_read(F.v, ino, rb, rlen, (off_t)roff);
		size_t want = roff >= size ? 0 : (size - roff < rlen ? size - roff : rlen);
		cr_assert_eq(n, (ssize_t)want, "seed %" PRIx64 " step %d: read %zu at %zu: %zd",
			     seed, step, rlen, roff, n);
		cr_assert(memcmp(rb, model + roff, want) == 0,
			  "seed %" PRIx64 " step %d: read %zu at %zu differs", seed, step, rlen,
			  roff);
	}
	expect_model(ino, model, size);
	fx_extent_count(&F, ino);
	fx_reopen(&F);
	expect_model(ino, model, size);
	fx_close_and_fsck(&F);
	free(model);
	free(buf);
	free(rb);
}

Test(vol_rw, empty_and_eof_cases)
{
	uint64_t ino = fx_create(&F, "f");
	char b[16];

	cr_assert_eq(vol_write(F.v, ino, "x", 0, 100), 0);
	cr_assert_eq(fx_getattr(&F, ino).size, 0);
	cr_assert_eq(vol_read(F.v, ino, b, sizeof(b), 0), 0);
	fx_write(&F, ino, "hello", 5, 0);
	cr_assert_eq(vol_read(F.v, ino, b, sizeof(b), 5), 0);
	cr_assert_eq(vol_read(F.v, ino, b, sizeof(b), 1000000), 0);
	cr_assert_eq(vol_read(F.v, ino, b, sizeof(b), 2), 3);
	cr_assert(memcmp(b, "llo", 3) == 0);
	cr_assert_eq(vol_read(F.v, ino, b, 2, 0), 2);
	cr_assert(memcmp(b, "he", 2) == 0);
	cr_assert_eq(vol_write(F.v, ino, "x", 1, -1), -EINVAL);
	cr_assert_eq(vol_write(F.v, ino, "x", 1, (off_t)VOL_MAX_FILE_SIZE), -EFBIG);
	cr_assert_eq(vol_write(F.v, VOL_ROOT_INO, "x", 1, 0), -EISDIR);
	cr_assert_eq(vol_read(F.v, VOL_ROOT_INO, b, 1, 0), -EISDIR);
	cr_assert_eq(fx_chunks(&F, ino), 1);
}

Test(vol_rw, sparse_write_far_past_eof_reads_zeros)
{
	uint64_t ino = fx_create(&F, "sparse");
	const uint64_t far = 10ull << 20;

	fx_write(&F, ino, "head", 4, 0);
	fx_write(&F, ino, "tail", 4, far + 3);
	struct vol_attr a = fx_getattr(&F, ino);
	cr_assert_eq(a.size, far + 7);
	cr_assert_eq(fx_chunks(&F, ino), 2, "only the written chunks are allocated");
	fx_expect_bytes(&F, ino, 0, far - 4, 4);
	fx_expect_bytes(&F, ino, 0, 3, far);
	char b[8];
	cr_assert_eq(vol_read(F.v, ino, b, 8, (off_t)far + 3), 4);
	cr_assert(memcmp(b, "tail", 4) == 0);
	cr_assert_eq(vol_read(F.v, ino, b, 4, 0), 4);
	cr_assert(memcmp(b, "head", 4) == 0);
	fx_reopen(&F);
	fx_expect_bytes(&F, ino, 0, far - 4, 4);
	cr_assert_eq(fx_getattr(&F, ino).size, far + 7);
}

Test(vol_rw, overwrite_middle_keeps_the_rest)
{
	const size_t size = 1 << 20;
	uint64_t s = 42;
	uint8_t *model = malloc(size), *patch = malloc(7000);
	uint64_t ino = fx_create(&F, "m");

	cr_assert(model && patch);
	fx_random_bytes(&s, model, size);
	fx_write(&F, ino, model, size, 0);
	unsigned before = fx_extent_count(&F, ino);
	fx_random_bytes(&s, patch, 7000);
	fx_write(&F, ino, patch, 7000, 300001);
	memcpy(model + 300001, patch, 7000);
	expect_model(ino, model, size);
	cr_assert_eq(fx_chunks(&F, ino), size / F.cs, "an overwrite allocates no extra blocks");
	cr_assert_leq(fx_extent_count(&F, ino), before + 3);
	free(model);
	free(patch);
}

Test(vol_rw, write_clears_setuid)
{
	uint64_t ino = fx_create_mode(&F, "suid", 06755);
	cr_assert_eq(fx_getattr(&F, ino).mode & 07777, 06755);
	fx_write(&F, ino, "x", 1, 0);
	cr_assert_eq(fx_getattr(&F, ino).mode & 07777, 0755);
}

Test(vol_rw, mtime_and_ctime_advance)
{
	uint64_t ino = fx_create(&F, "t");
	struct vol_attr a = fx_getattr(&F, ino);
	struct timespec ts = {0, 20 * 1000 * 1000};
	nanosleep(&ts, NULL);
	fx_write(&F, ino, "abc", 3, 0);
	struct vol_attr b = fx_getattr(&F, ino);
	cr_assert(b.mtime.tv_sec > a.mtime.tv_sec ||
		  (b.mtime.tv_sec == a.mtime.tv_sec && b.mtime.tv_nsec > a.mtime.tv_nsec));
	cr_assert(b.ctime.tv_sec == b.mtime.tv_sec && b.ctime.tv_nsec == b.mtime.tv_nsec);
}

/* Corrupt the chunk at file offset @p off directly on disk, bypassing the index. */
static void corrupt_chunk(uint64_t ino, uint64_t off)
{
	struct idx_extent e;
	cr_assert_eq(fx_extent_at(&F, ino, off, &e), 0);
	uint32_t idx = (uint32_t)((off - e.off) / F.cs);
	struct trk_run r = {.disk = e.disk, .track = e.track, .chunk = e.chunk + idx, .count = 1};
	uint8_t *junk = malloc(F.cs);
	cr_assert_not_null(junk);
	cr_assert_eq(trk_io_read(F.v->pool, &r, 0, junk, F.cs), 0);
	junk[17] ^= 0x40;
	cr_assert_eq(trk_io_write(F.v->pool, &r, 0, junk, F.cs), 0);
	free(junk);
}

Test(vol_rw, corrupted_new_chunk_reads_eio_others_fine)
{
	uint64_t ino = fx_create(&F, "cow");
	uint32_t cs = F.cs;
	char b[64];

	fx_fill(&F, ino, 0xA1, 3 * cs, 0);
	struct idx_extent old;
	cr_assert_eq(fx_extent_at(&F, ino, cs, &old), 0);
	uint32_t old_chunk = old.chunk + (uint32_t)((cs - old.off) / cs);

	fx_fill(&F, ino, 0xB2, cs, cs); /* copy-on-write of chunk 1 */
	struct idx_extent now;
	cr_assert_eq(fx_extent_at(&F, ino, cs, &now), 0);
	uint32_t new_chunk = now.chunk + (uint32_t)((cs - now.off) / cs);
	cr_assert(now.disk != old.disk || now.track != old.track || new_chunk != old_chunk,
		  "an overwrite must go to a new chunk");

	corrupt_chunk(ino, cs);
	uint8_t *whole = malloc(3 * cs);
	cr_assert_not_null(whole);
	cr_assert_eq(vol_read(F.v, ino, whole, cs, cs), -EIO);
	cr_assert_eq(vol_read(F.v, ino, b, 10, cs + 100), -EIO, "a partial read checks too");
	cr_assert_eq(vol_read(F.v, ino, whole, 3 * cs, 0), -EIO);
	fx_expect_bytes(&F, ino, 0xA1, cs, 0);
	fx_expect_bytes(&F, ino, 0xA1, cs, 2 * cs);
	fx_expect_bytes(&F, ino, 0xA1, 50, 2 * cs + 7);
	/* A partial write into the bad chunk must not launder it. */
	cr_assert_eq(vol_write(F.v, ino, "zz", 2, (off_t)cs + 5), -EIO);
	/* A whole-chunk overwrite replaces it. */
	fx_fill(&F, ino, 0xC3, cs, cs);
	fx_expect_bytes(&F, ino, 0xC3, cs, cs);
	free(whole);
}

static bool run_holds(const struct idx_extent *e, uint16_t disk, uint32_t track, uint32_t chunk)
{
	return e->disk == disk && e->track == track && chunk >= e->chunk &&
	       chunk < e->chunk + e->nchunks;
}

Test(vol_rw, replaced_chunk_not_reused_before_sync)
{
	uint64_t ino = fx_create(&F, "a");
	uint32_t cs = F.cs;

	fx_fill(&F, ino, 1, cs, 0);
	cr_assert_eq(vol_sync_all(F.v), 0);
	struct idx_extent old;
	cr_assert_eq(fx_extent_at(&F, ino, 0, &old), 0);
	uint64_t d0 = trk_pool_deferred_count(F.v->pool);

	fx_fill(&F, ino, 2, 10, 5); /* partial overwrite: copy-on-write */
	cr_assert_eq(trk_pool_deferred_count(F.v->pool), d0 + 1);

	/* Allocate plenty elsewhere on the same disk: the old chunk stays out. */
	uint64_t other = fx_create(&F, "b");
	uint8_t *buf = calloc(1, 64 * cs);
	cr_assert_not_null(buf);
	for (int i = 0; i < 8; i++)
		fx_write(&F, other, buf, 64 * cs, (uint64_t)i * 64 * cs);
	for (int i = 0; i < 16; i++)
		fx_fill(&F, ino, 3 + i, cs, cs * (1 + (uint64_t)i));
	uint64_t files[2] = {ino, other};
	for (int k = 0; k < 2; k++) {
		struct idx_extent e;
		for (uint64_t pos = 0; fx_extent_next(&F, files[k], pos, &e) == 0;) {
			cr_assert(!run_holds(&e, old.disk, old.track, old.chunk),
				  "freed chunk reused before the index was durable");
			pos = e.off + (uint64_t)e.nchunks * cs;
		}
	}
	cr_assert_eq(vol_sync_all(F.v), 0);
	cr_assert_eq(trk_pool_deferred_count(F.v->pool), 0);
	fx_expect_bytes(&F, ino, 2, 10, 5);
	fx_expect_bytes(&F, ino, 1, 5, 0);
	free(buf);
}

Test(vol_rw, large_sequential_write_makes_few_extents)
{
	/* 64 KiB chunks: 64 MiB is 1024 chunks, at least 8 extents of 128. */
	fx_teardown(&F);
	fx_setup(&F, 64 * 1024);
	const size_t total = 64u << 20, piece = 1u << 20;
	uint64_t s = 7;
	uint8_t *buf = malloc(piece), *rb = malloc(piece);
	uint64_t ino = fx_create(&F, "big");

	cr_assert(buf && rb);
	for (size_t off = 0; off < total; off += piece) {
		s = off;
		fx_random_bytes(&s, buf, piece);
		fx_write(&F, ino, buf, piece, off);
	}
	struct vol_attr a = fx_getattr(&F, ino);
	cr_assert_eq(a.size, total);
	cr_assert_eq(fx_chunks(&F, ino), total / F.cs);
	cr_assert_eq(a.blocks, total / 512);
	unsigned n = fx_extent_count(&F, ino);
	cr_assert_leq(n, 16, "64 MiB written sequentially made %u extents", n);
	fx_reopen(&F);
	for (size_t off = 0; off < total; off += piece) {
		s = off;
		fx_random_bytes(&s, buf, piece);
		cr_assert_eq(vol_read(F.v, ino, rb, piece, (off_t)off), (ssize_t)piece);
		cr_assert(memcmp(rb, buf, piece) == 0, "data differs in MiB %zu", off >> 20);
	}
	free(buf);
	free(rb);
}

Test(vol_rw, one_huge_call_spans_pieces)
{
	/* One vol_write / vol_read larger than a piece (4 MiB), unaligned. */
	const size_t len = 9u << 20;
	uint64_t s = 99;
	uint8_t *buf = malloc(len), *rb = malloc(len + 10);
	uint64_t ino = fx_create(&F, "huge");

	cr_assert(buf && rb);
	fx_random_bytes(&s, buf, len);
	fx_write(&F, ino, buf, len, 1234);
	cr_assert_eq(vol_read(F.v, ino, rb, len + 10, 1234), (ssize_t)len);
	cr_assert(memcmp(rb, buf, len) == 0);
	fx_expect_bytes(&F, ino, 0, 1234, 0);
	free(buf);
	free(rb);
}

/* ---- threads ----------------------------------------------------------------- */

struct worker {
	uint64_t ino;
	uint64_t seed;
	int failures;
};

#define WFILE (256 * 1024)

static void *private_file_worker(void *arg)
{
	struct worker *w = arg;
	uint8_t *model = calloc(1, WFILE), *buf = malloc(WFILE), *rb = malloc(WFILE);
	uint64_t s = w->seed;
	size_t size = 0;

	if (!model || !buf || !rb) {
		w->failures++;
		goto out;
	}
	for (int i = 0; i < 60; i++) {
		size_t off = fx_rand(&s) % (WFILE - 1);
		size_t len = 1 + fx_rand(&s) % (WFILE - off < 30000 ? WFILE - off : 30000);
		fx_random_bytes(&s, buf, len);
		if (vol_write(F.v, w->ino, buf, len, (off_t)off) != (ssize_t)len)
			w->failures++;
		memcpy(model + off, buf, len);
		if (off + len > size)
			size = off + len;
		if (vol_read(F.v, w->ino, rb, WFILE, 0) != (ssize_t)size ||
		    memcmp(rb, model, size) != 0)
			w->failures++;
	}
out:
	free(model);
	free(buf);
	free(rb);
	return NULL;
}

/* Rewrites groups of 4 chunks of a shared file, one byte value per write. */
static void *chunk_writer(void *arg)
{
	struct worker *w = arg;
	uint8_t *buf = malloc(4 * F.cs);
	uint64_t s = w->seed;

	if (!buf) {
		w->failures++;
		return NULL;
	}
	for (int i = 0; i < 150; i++) {
		uint64_t c = fx_rand(&s) % 4 * 4;
		memset(buf, 1 + i % 250, 4 * F.cs);
		if (vol_write(F.v, w->ino, buf, 4 * F.cs, (off_t)(c * F.cs)) != 4 * (ssize_t)F.cs)
			w->failures++;
	}
	free(buf);
	return NULL;
}

/* Reads the shared file: a read never sees half of a write. */
static void *chunk_reader(void *arg)
{
	struct worker *w = arg;
	uint8_t *buf = malloc(20 * F.cs);
	uint64_t s = w->seed;

	if (!buf) {
		w->failures++;
		return NULL;
	}
	for (int i = 0; i < 300; i++) {
		uint64_t c = fx_rand(&s) % 4 * 4;
		ssize_t n = vol_read(F.v, w->ino, buf, 4 * F.cs, (off_t)(c * F.cs));
		if (n != 4 * (ssize_t)F.cs) {
			w->failures++;
			continue;
		}
		for (uint32_t j = 1; j < 4 * F.cs; j++)
			if (buf[j] != buf[0]) {
				w->failures++;
				break;
			}
	}
	free(buf);
	return NULL;
}

static atomic_bool syncer_stop;

/* Releases freed chunks all the time, so reuse races would show. */
static void *syncer(void *arg)
{
	struct worker *w = arg;

	while (!atomic_load(&syncer_stop))
		if (vol_sync_all(F.v) < 0)
			w->failures++;
	return NULL;
}

Test(vol_rw, concurrent_writers_and_readers)
{
	struct worker w[7];
	pthread_t t[7];
	uint64_t shared = fx_create(&F, "shared");

	fx_fill(&F, shared, 0, 20 * F.cs, 0);
	for (int i = 0; i < 6; i++) {
		char name[16];
		snprintf(name, sizeof(name), "p%d", i);
		w[i] = (struct worker){.ino = i < 3 ? fx_create(&F, name) : shared,
				       .seed = 100 + i};
	}
	for (int i = 0; i < 3; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, private_file_worker, &w[i]), 0);
	cr_assert_eq(pthread_create(&t[3], NULL, chunk_writer, &w[3]), 0);
	cr_assert_eq(pthread_create(&t[4], NULL, chunk_reader, &w[4]), 0);
	cr_assert_eq(pthread_create(&t[5], NULL, chunk_reader, &w[5]), 0);
	w[6] = (struct worker){0};
	atomic_store(&syncer_stop, false);
	cr_assert_eq(pthread_create(&t[6], NULL, syncer, &w[6]), 0);
	for (int i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(w[i].failures, 0, "worker %d saw %d failures", i, w[i].failures);
	}
	atomic_store(&syncer_stop, true);
	pthread_join(t[6], NULL);
	cr_assert_eq(w[6].failures, 0);
	fx_extent_count(&F, shared);
	cr_assert_eq(fx_chunks(&F, shared), 20);
	fx_close_and_fsck(&F);
}
