/* Private to core/ (its .c files and its unit tests): the pool, disk and track
 * objects behind core/pool.h and the helpers the core files share.
 *
 * Locking: pool->mu guards every field marked "mu" below (free lists,
 * high-water marks, dirty flags, deferred frees, host-space reservations).
 * It is never held across a read, write or fsync. Each disk's I/O queue has
 * its own qmu. Lock order: pool->sync_mu, then pool->mu, then a disk's qmu.
 */
#ifndef TRK_POOL_INT_H
#define TRK_POOL_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/pool.h"
#include "core/track_int.h"

#define TRK_MAX_TRACKS 1000000u /* track-NNNNNN.trk: six digits */
#define TRK_LEAF_TRACKS 1024u
#define TRK_LEAVES ((TRK_MAX_TRACKS + TRK_LEAF_TRACKS - 1) / TRK_LEAF_TRACKS)
#define TRK_FS_CACHE_MS 1000 /* how long a statvfs result is trusted */
/* Host space is claimed (fallocate) for this many bytes of chunks at a time,
 * so that a sequential write costs one fallocate per 8 MiB, not per chunk. */
#define TRK_CLAIM_STEP (8u << 20)
#define TRK_FS_SLOTS (2 * TRK_MAX_DISKS) /* host filesystems, tests' overrides included */
#define TRK_IDENTITY_FILE "trackfs-disk"
#define TRK_IDENTITY_FORMAT "trackfs-disk-1"

/* One free run as the in-memory FIFO holds it. */
struct trk_frun {
	uint32_t chunk;
	uint32_t count;
};

/*
 * A track's free list in memory: a ring buffer of runs, oldest at the head.
 * Entries get consecutive sequence numbers as they are appended, so "every
 * run from dirty_from to the tail needs its on-disk record rewritten" is one
 * number: appends only ever dirty the old tail and the new run, and taking
 * from the head only ever dirties the head run.
 */
struct trk_fifo {
	struct trk_frun *buf;
	uint32_t cap;	     /* power of two, 0 before the first append */
	uint32_t first;	     /* buf index of the head */
	uint32_t len;	     /* runs held */
	uint64_t nfree;	     /* chunks held */
	uint64_t seq_head;   /* sequence number of the head run */
	uint64_t dirty_from; /* runs with seq >= this need records; UINT64_MAX: none */
	bool head_dirty;     /* the head run's record needs rewriting (it was split) */
};

struct trk_disk;

/*
 * One host filesystem holding one or more disks (same st_dev): its free space
 * is counted once, however many disks share it. The figures are an estimate
 * that routes allocations; fallocate decides (claim.c).
 */
struct trk_hostfs {
	dev_t dev;
	const char *path; /* the first disk on it, for messages */
	/* mu: */
	uint64_t fs_free;     /* bytes free (statvfs f_bavail) when last read, or the override */
	uint64_t fs_size;     /* bytes in the filesystem (f_blocks), for the automatic reserve */
	uint64_t fs_stamp_ms; /* when fs_free was read; 0 = never */
	uint64_t claimed;     /* bytes claimed (tracks' headers and chunks) since then */
	bool override;	      /* tests: fs_free is fixed and shrinks as space is claimed */
	bool no_fallocate;    /* fallocate said EOPNOTSUPP: claim by writing zeros */
	bool full;	      /* the last claim failed (logged once until one succeeds) */
};

struct trk_track {
	struct trk_disk *disk;
	uint32_t number;
	char *path;		/* DISK/tracks/track-NNNNNN.trk */
	int fd;			/* -1 when the file could not be opened */
	int dfd;		/* the same file opened O_DIRECT for large writes, or -1 */
	bool failed;		/* unusable (bad header, missing file): I/O -EIO, never allocated
				 * from, never rewritten; set before the track is published */
	bool sparse;		/* an older trackfs left holes below its high-water mark that
				 * the host filesystem could not back at open: never allocated
				 * from, and a rebuild lists only free runs whose record lands
				 * on written blocks (claim.c); set before it is published */
	atomic_bool data_dirty; /* written since the last fdatasync; set after the write */
	atomic_int sync_err;	/* a failed fdatasync's -errno: sticky until trk_pool_sync_repair */
	_Atomic uint64_t synced; /* the epoch of the last sync pass that left it durable */
	uint32_t compat;	 /* header compat bits, kept when the header is rewritten */

	/* mu: */
	uint32_t chunk_count; /* capacity in chunks */
	uint32_t hwm;	      /* chunks below it were handed out at least once */
	uint32_t claimed;     /* chunks below it have space on the host filesystem
			       * (fallocate'd; the file's size ends there); normally
			       * hwm <= claimed, see claim.c */
	bool claiming;	      /* a thread is claiming space for it (without mu) */
	struct trk_fifo fifo; /* free runs */
	bool hdr_dirty;	      /* the header on disk is stale */
	bool syncing;	      /* trk_pool_sync is writing records into free chunks:
			       * nobody may take runs from the free list meanwhile */
	uint8_t *mark;	      /* rebuild: bitmap of referenced chunks (NULL until needed) */
	uint8_t *state;	      /* check: TRK_ST_* per chunk (NULL when not checking) */
};

enum { TRK_ST_UNKNOWN = 0, TRK_ST_FREE = 1, TRK_ST_REF = 2 };

struct trk_disk {
	struct trk_pool *pool;
	unsigned index;
	char *path;
	char *tracks_dir;
	struct tfs_uuid uuid;
	/* Directory absent or unreadable at open; set before workers start, and
	 * cleared (once) by trk_pool_disk_reopen after its tracks and workers are. */
	atomic_bool missing;
	atomic_bool noalloc; /* back while open, free lists not rebuilt: no new chunks */
	bool removed; /* a removed disk's slot (missing too, never reopened); fixed at open */
	atomic_uint_fast64_t io_errors; /* failed reads, writes and syncs since open */
	atomic_uint_fast64_t read_errors, write_errors; /* of those, track reads and writes */
	atomic_bool failing;	  /* an I/O error was seen: allocate elsewhere (pool.c) */
	atomic_bool draining;	  /* being drained: never given new chunks (pool.c) */
	atomic_int inject_syncs;  /* tests: fail this many more fdatasyncs */
	atomic_int inject_writes; /* tests: fail this many more writes */

	/* Tracks are published by storing the pointer, then raising ntracks with
	 * release order, so I/O workers read them without pool->mu. */
	struct trk_track **leaves[TRK_LEAVES];
	_Atomic uint32_t ntracks;

	struct trk_hostfs *fs; /* its host filesystem; set at open (NULL when missing) */

	/* mu: */
	bool creating; /* a thread is creating track files (without mu) */

	/* The I/O queue: qmu guards qhead, qtail, stop and every queued io's done. */
	pthread_mutex_t qmu;
	pthread_cond_t qcv;    /* work queued or stop */
	pthread_cond_t donecv; /* some request finished */
	struct trk_io *qhead, *qtail;
	bool stop;
	pthread_t *threads;
	unsigned nthreads;
};

struct trk_pool {
	struct trk_pool_config cfg;
	uint32_t track_chunks; /* capacity of a new track */
	/* disks has TRK_MAX_DISKS slots, so that trk_pool_add_disk never moves
	 * it under a reader: a new disk is set up whole, then ndisks is raised
	 * (readers use only disks below it, without a lock). */
	_Atomic unsigned ndisks;
	struct trk_disk *disks;
	struct trk_hostfs *fs; /* TRK_FS_SLOTS slots, the first nfs used (raised under mu) */
	_Atomic unsigned nfs;
	/* mu: cfg.placement and cfg.reserve (trk_pool_set_placement) */
	uint64_t rnd; /* mu: xorshift state for TRK_PLACE_RAND */

	pthread_mutex_t sync_mu; /* serializes sync passes and trk_pool_sync_repair */
	_Atomic uint64_t epoch;	 /* sync passes begun, from 1 (see trk_pool_epoch) */
	pthread_mutex_t mu;
	pthread_cond_t cv; /* a track stopped syncing, or a disk stopped creating */

	/* mu: */
	bool needs_rebuild;
	struct trk_run *deferred;
	size_t ndeferred, cap_deferred;
	uint64_t deferred_chunks;
	bool rebuilding;

	/* check (fsck): used by one thread between check_begin and check_end */
	trk_problem_cb check_cb;
	void *check_arg;
	bool checking;
};

/* ---- tracks (track.c) ---- */

/** The track @p n of @p d, or NULL if it does not exist. No lock needed. */
struct trk_track *trk_disk_track(struct trk_disk *d, uint32_t n);
/** Open track file @p n of @p d (at pool open). Problems mark the track
 * failed; only -ENOMEM is returned. */
int trk_track_open(struct trk_pool *pool, struct trk_disk *d, uint32_t n, struct trk_track **out);
/** Create track file @p n of @p d with an empty header. @return 0 or -errno. */
int trk_track_create(struct trk_pool *pool, struct trk_disk *d, uint32_t n, struct trk_track **out);
/** Publish @p t as track t->number of its disk (numbers ascend without gaps). */
int trk_disk_publish(struct trk_disk *d, struct trk_track *t);
void trk_track_destroy(struct trk_track *t);
/** Fill @p h from the in-memory state of @p t. Caller holds mu. */
void trk_track_hdr_fill(struct trk_pool *pool, struct trk_track *t, struct trk_hdr *h);
/** Read and verify the header of an open track. @p why gets the reason on
 * -EIO (bad magic, checksum, version, features, UUIDs, size). */
int trk_track_read_hdr(struct trk_pool *pool, struct trk_track *t, struct trk_hdr *h, char *why,
		       size_t whylen);
/** Byte offset of @p chunk in a track file. */
static inline uint64_t trk_chunk_off(const struct trk_pool *pool, uint32_t chunk)
{
	return TRK_HDR_SIZE + (uint64_t)chunk * pool->cfg.chunk_size;
}

/* ---- free lists (freelist.c) ---- */

void trk_fifo_fini(struct trk_fifo *f);
/** Forget every run (keeps the buffer). */
void trk_fifo_clear(struct trk_fifo *f);
/** Append a run at the tail, merging it into the tail run when adjacent.
 * @return 0 or -ENOMEM. */
int trk_fifo_push(struct trk_fifo *f, uint32_t chunk, uint32_t count);
/** Take at most @p want chunks from the head run. @return chunks taken (0 if empty). */
uint32_t trk_fifo_take(struct trk_fifo *f, uint32_t want, uint32_t *chunk_out);
/** The @p i-th run from the head. */
static inline struct trk_frun *trk_fifo_at(struct trk_fifo *f, uint32_t i)
{
	return &f->buf[(f->first + i) & (f->cap - 1)];
}
/** Mark every run dirty (after a rebuild or a failed sync). */
void trk_fifo_dirty_all(struct trk_fifo *f);

typedef void (*trk_report_fn)(void *arg, const char *msg);
/**
 * Walk the on-disk free list of @p t described by @p h, checking each record.
 * Runs found go to @p fifo (when non-NULL) and are flagged TRK_ST_FREE in
 * @p state (when non-NULL, chunk_count bytes). Each problem is reported
 * through @p report with a message naming the track file.
 * @return number of problems (0 = list trusted) or -ENOMEM.
 */
int trk_freelist_walk(struct trk_pool *pool, struct trk_track *t, const struct trk_hdr *h,
		      struct trk_fifo *fifo, uint8_t *state, trk_report_fn report, void *arg);
/** Write dirty records and the header of @p t (sync helper). Takes mu itself. */
int trk_track_flush(struct trk_pool *pool, struct trk_track *t);

/* ---- disks (disk.c) ---- */

/** Read and check a disk's identity, open its tracks. -EINVAL for a foreign
 * or unreadable disk; a missing directory marks the disk missing. */
/** A missing disk's directory again: if it holds this disk's identity file,
 * open its tracks. @return 1 (opened), 0 (no identity file yet), -errno
 * (a wrong or unreadable disk, a track that does not open: logged). */
int trk_disk_reopen(struct trk_pool *pool, struct trk_disk *d);
int trk_disk_open(struct trk_pool *pool, struct trk_disk *d, const struct trk_disk_spec *spec,
		  unsigned index);
void trk_disk_close(struct trk_disk *d);
/** Create tracks until track @p upto exists. Caller holds mu; it is dropped
 * while the files are created. @return 0 or -errno. */
int trk_disk_grow(struct trk_pool *pool, struct trk_disk *d, uint32_t upto);

/* ---- placement (place.c) ---- */

/** One disk as the placement policy sees it. */
struct trk_place_cand {
	uint64_t free; /* chunks it could take (> 0) */
	uint64_t used; /* chunks it holds */
};
/**
 * The policy's choice among @p n candidates (each with room): mfs the most
 * free (ties: the less used), lus the least used (ties: the more free), ff
 * the first, rand one at random weighted by free chunks, from @p rnd.
 * @return an index into @p c, or -1 when @p n is 0. Pure, for unit tests.
 */
int trk_place_choose(enum trk_placement p, const struct trk_place_cand *c, unsigned n,
		     uint64_t rnd);
/** Chunks disk @p d could take for a file (its free chunks; on a shared host
 * filesystem, space the others claimed and did not use too); *@p used_out
 * gets the chunks it holds. Caller holds mu. */
uint64_t trk_disk_room(struct trk_pool *pool, struct trk_disk *d, uint64_t *used_out);
/** Chunks a disk's reserve keeps free. Caller holds mu. */
uint64_t trk_disk_reserve_chunks(struct trk_pool *pool, const struct trk_disk *d);
/**
 * Choose a disk for new chunks, skipping disks in @p full (a bit per disk):
 * by the policy among present healthy disks above their reserve; if none,
 * among present healthy disks with room; if none, the failing disk with most
 * room. With @p above_only, only the first tier. NULL if none; *any_present
 * says whether any disk is present. Caller holds mu.
 */
struct trk_disk *trk_choose_disk(struct trk_pool *pool, uint64_t full, bool above_only,
				 bool *any_present);

/* ---- host filesystems (space.c) and claimed space (claim.c) ---- */

/** Group the present disks by host filesystem (st_dev) and read each one's
 * free space. Called once by trk_pool_open. @return 0 or -EINVAL (a disk
 * that cannot be stat'ed, logged). */
int trk_hostfs_setup(struct trk_pool *pool);
/** Put disk @p d (present) with the host filesystem it lies on, a new one if
 * no other disk is on it. Caller holds mu. @return 0 or -EINVAL (logged). */
int trk_hostfs_attach(struct trk_pool *pool, struct trk_disk *d);
/** Re-read the free space of every host filesystem whose figure is older than
 * TRK_FS_CACHE_MS (all of them when @p force). Call without mu. */
void trk_hostfs_refresh(struct trk_pool *pool, bool force);
/** Bytes the host filesystem @p fs can still give, by the estimate. Caller holds mu. */
uint64_t trk_hostfs_avail(const struct trk_hostfs *fs);
/** Chunks that new claims on @p fs could still add, counted once for all the
 * disks on it: the unclaimed rest of their tracks first, then new tracks,
 * each costing its header. Caller holds mu. */
uint64_t trk_hostfs_growth(struct trk_pool *pool, const struct trk_hostfs *fs);
/** Set t->claimed from the track file's size when it is opened; on a pool
 * opened for writing, also claim what an older trackfs left sparse below the
 * high-water mark (when the host filesystem cannot, t->sparse is set and it
 * is logged). No lock needed (the track is not yet published). */
void trk_track_claim_init(struct trk_pool *pool, struct trk_track *t);
/** The first chunk in [@p from, @p to) of a sparse track whose first bytes
 * lie on written blocks (SEEK_DATA), so that a free-run record there needs no
 * new space; @p to if none. */
uint32_t trk_track_next_written(struct trk_pool *pool, struct trk_track *t, uint32_t from,
				uint32_t to);
/**
 * Claim host space for chunks [t->claimed, @p upto) of @p t, or as much of it
 * as the host filesystem can give (a shorter claim is tried when the whole
 * cannot be had). Caller holds mu and has checked that t->claiming is false;
 * mu is dropped during the system calls.
 * @return 0 (t->claimed grew), -ENOSPC (the host filesystem is full: nothing
 * was claimed, and the estimate says so until the next refresh) or another
 * -errno (logged with the track's path).
 */
int trk_track_claim(struct trk_pool *pool, struct trk_track *t, uint32_t upto);

/** Tests: pretend @p disk has a host filesystem of its own with @p bytes free
 * (used up as space is claimed); UINT64_MAX returns to statvfs. */
void trk_pool_set_fs_free(struct trk_pool *pool, unsigned disk, uint64_t bytes);
/** Tests: make @p disk count the host filesystem of disk @p with as its own. */
void trk_pool_share_fs(struct trk_pool *pool, unsigned disk, unsigned with);

/* ---- system calls through a table, for tests (io.c) ---- */

/* Tests set these to inject failures (SQLite's idea of an OS table, in
 * small). Process-wide; a NULL member means the real system call. */
struct trk_sys {
	/* fallocate(2) as claims use it: 0, or -1 with errno set */
	int (*fallocate)(int fd, int mode, off_t off, off_t len);
	/* asked before each chunk write of io.c: 0 lets it happen, -errno makes
	 * it fail as the write would (-ENOSPC, -EIO) */
	int (*write_fault)(const char *track_path, off_t off, size_t len);
	/* asked before each fdatasync of a track's data (pool.c), likewise */
	int (*sync_fault)(const char *track_path);
};
extern struct trk_sys trk_sys;

/** Count an I/O error of @p d (@p what: "write track X at ...", already
 * logged by the caller until the disk is failing) and mark the disk failing
 * unless the host filesystem was only full (-ENOSPC). Says once what it means
 * and what to do. @return true while the disk was already failing (the caller
 * may then log at debug level only). */
bool trk_disk_note_error(struct trk_disk *d, int err);

/** Tests: make the next @p syncs fdatasyncs and the next @p writes writes of
 * tracks on @p disk fail with EIO, as a failing device's would (the bytes may
 * or may not be on it). */
void trk_pool_inject_errors(struct trk_pool *pool, unsigned disk, int syncs, int writes);
/** Take one injected failure from @p counter: true if one was left. */
static inline bool trk_inject_take(atomic_int *counter)
{
	int n = atomic_load(counter);

	while (n > 0 && !atomic_compare_exchange_weak(counter, &n, n - 1))
		;
	return n > 0;
}

/* ---- I/O workers (io.c) ---- */

int trk_io_start(struct trk_pool *pool, struct trk_disk *d);
void trk_io_stop(struct trk_disk *d);

/* ---- small helpers ---- */

static inline bool trk_bit_get(const uint8_t *bm, uint32_t i)
{
	return (bm[i >> 3] >> (i & 7)) & 1;
}

static inline void trk_bit_set(uint8_t *bm, uint32_t i)
{
	bm[i >> 3] |= (uint8_t)(1u << (i & 7));
}

uint64_t trk_now_ms(void);

#endif
