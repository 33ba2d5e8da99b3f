/* trackfs-bench-engine internals: the workloads run once through fs/vol and
 * once on plain files in an ext4 directory, and the space measurement. */
#ifndef CLI_BENCH_H
#define CLI_BENCH_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

struct bench_opts {
	char dir[PATH_MAX]; /* where the volume and the ext4 reference go */
	uint64_t size;	    /* sequential file size */
	unsigned small;	    /* small files created then deleted */
	unsigned randreads; /* 4 KiB random reads */
	unsigned space_files;
	bool drop_caches; /* running as root: drop the page cache before reads */
};

/* One workload's figures, in units per second (MiB/s or ops/s). */
struct bench_row {
	const char *name;
	const char *unit;
	double trackfs;
	double ext4;
};

enum { ROW_SEQ_WRITE, ROW_SEQ_READ, ROW_RAND_READ, ROW_CREATE, ROW_DELETE, ROW_COUNT };

/** Run every workload through a fresh volume in @p o->dir/trackfs. @return 0 or -errno. */
int bench_vol(const struct bench_opts *o, struct bench_row rows[ROW_COUNT]);
/** The same workloads on plain files in @p o->dir/ext4ref. @return 0 or -errno. */
int bench_ext4(const struct bench_opts *o, struct bench_row rows[ROW_COUNT]);

struct bench_space {
	uint64_t files;
	uint64_t logical;     /* bytes written */
	uint64_t track_bytes; /* st_blocks * 512 of the track files */
	uint64_t index_bytes; /* st_blocks * 512 of the index's data.mdb */
};
/** Write @p o->space_files files of 1..64 KiB (fixed seed) into a fresh volume
 * in @p o->dir/space, sync, and measure what it occupies. @return 0 or -errno. */
int bench_space(const struct bench_opts *o, struct bench_space *out);

/** Drop the page cache (root only). @return true if it was dropped. */
bool bench_drop_caches(void);
/** A fast deterministic generator (xorshift64*). */
uint64_t bench_rand(uint64_t *state);
/** Fill @p buf with bytes that differ per block (no zero pages, not compressible). */
void bench_fill(void *buf, size_t len, uint64_t seed);
/** Create a fresh one-disk volume under @p root; @p meta gets its meta dir. */
int bench_mkvol(const char *root, char meta[PATH_MAX]);
/** Bytes occupied (st_blocks * 512) by regular files under @p dir, recursively. */
uint64_t bench_du(const char *dir, const char *suffix);
/** rm -rf @p dir. */
void bench_rmtree(const char *dir);

#endif
