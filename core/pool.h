/* The storage pool: the disks of one volume, their track files, the chunk
 * allocator and per-disk I/O workers. This is core/'s public interface; the
 * files behind it are named for their concern (track.c: the on-disk track
 * header and file; freelist.c: the FIFO of free runs; disk.c: a disk
 * directory and its identity file; alloc.c: choosing a disk and a run;
 * claim.c: claiming host space for tracks; space.c: host filesystems and
 * free-space figures; io.c: per-disk worker threads; checksum.c: xxh3 over
 * chunks).
 *
 * core/ knows nothing of LMDB, FUSE or files-as-users-see-them: it hands out
 * runs of chunks and moves bytes in and out of them.
 *
 * Threading: every function here is safe to call from any thread unless it
 * says otherwise. The pool has one mutex for allocator state (free lists,
 * high-water marks, deferred frees); I/O never runs under it.
 */
#ifndef TRK_POOL_H
#define TRK_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/base/uuid.h"

#define TRK_MAX_DISKS 64
#define TRK_MIN_CHUNK_SIZE 4096u
#define TRK_MAX_CHUNK_SIZE (4u << 20)
#define TRK_DEFAULT_CHUNK_SIZE 4096u
#define TRK_DEFAULT_TRACK_SIZE (4ull << 30) /* bytes of chunk data per track */
#define TRK_NIL UINT32_MAX

/** A run of consecutive chunks in one track. */
struct trk_run {
	uint16_t disk;	/* index of the disk in the volume (0..ndisks-1) */
	uint32_t track; /* track number on that disk */
	uint32_t chunk; /* first chunk */
	uint32_t count; /* number of chunks, >= 1 */
};

/** What a caller needs to create a pool's disks (mkfs) or open them. */
struct trk_disk_spec {
	const char *path;     /* disk directory */
	struct tfs_uuid uuid; /* the disk's UUID as the volume file names it */
	/* A slot kept for a disk taken out of the volume (`disk = N removed`):
	 * opened as missing, without a word, and never allocated from. */
	bool removed;
};

/** How a new file's disk is chosen (mergerfs's create policies). */
enum trk_placement {
	TRK_PLACE_MFS = 0, /* most free space (the default) */
	TRK_PLACE_LUS = 1, /* least used space: the disk holding the fewest chunks */
	TRK_PLACE_FF = 2,  /* first found: the lowest-numbered disk with room */
	TRK_PLACE_RAND = 3 /* random, weighted by free space */
};
#define TRK_PLACE_COUNT 4

/* The reserve: a disk whose free space is at or below it gets no new files,
 * and a file on it continues on another disk. TRK_RESERVE_AUTO is
 * min(TRK_RESERVE_AUTO_MAX, 5% of the disk's host filesystem). */
#define TRK_RESERVE_AUTO UINT64_MAX
#define TRK_RESERVE_AUTO_MAX (4ull << 30)

/** "mfs", "lus", "ff", "rand" -> the policy. @return 0 or -EINVAL. */
int trk_placement_parse(const char *name, enum trk_placement *out);
/** The policy's name ("mfs" ...), "?" for an unknown value. */
const char *trk_placement_name(enum trk_placement p);

struct trk_pool_config {
	struct tfs_uuid volume_uuid;
	enum trk_placement placement; /* how new files choose a disk */
	uint64_t reserve;	      /* bytes kept free on each disk (see above); 0 = none, AUTO */
	uint32_t chunk_size;	      /* power of two, TRK_MIN_CHUNK_SIZE..TRK_MAX_CHUNK_SIZE */
	uint64_t max_track_bytes;     /* chunk data per track; 0 = TRK_DEFAULT_TRACK_SIZE */
	unsigned io_threads;	      /* workers per disk; 0 = 2 */
	bool readonly;		      /* open tracks O_RDONLY (fsck without --repair, status) */
};

struct trk_pool;

/**
 * Prepare an empty directory as disk @p disk_index of a volume: writes the
 * identity file (volume UUID, disk UUID, index, chunk size) and creates the
 * tracks/ folder. Tracks themselves are created on demand.
 * @return 0; -ENOTEMPTY if the directory holds anything (unless @p force);
 * -EEXIST if it already belongs to a volume (unless @p force; the message
 * names that volume's UUID); -errno from the filesystem.
 */
int trk_disk_format(const char *path, const struct tfs_uuid *volume_uuid,
		    const struct tfs_uuid *disk_uuid, uint16_t disk_index, uint32_t chunk_size,
		    bool force);

/** What a disk directory's identity file says. */
struct trk_disk_identity {
	struct tfs_uuid volume, disk;
	unsigned disk_index;
	uint32_t chunk_size;
};
/**
 * Read the identity file of disk directory @p path (restoring a lost
 * metadata directory finds the disks by it). @return 0, -ENOENT (not a
 * disk), -EINVAL (garbage; @p why says what) or -errno.
 */
int trk_disk_identify(const char *path, struct trk_disk_identity *out, char *why, size_t whylen);

/**
 * Where chunk @p chunk of track @p track of disk directory @p disk_path lives
 * on the host: the track file's path into @p path and the chunk's byte
 * offset in it into @p off, for chunks of @p chunk_size bytes (a debugging
 * tool points a user at the bytes without knowing the track format).
 * @return 0, or -ENAMETOOLONG if @p path is too small.
 */
int trk_chunk_locate(const char *disk_path, uint32_t chunk_size, uint32_t track, uint32_t chunk,
		     char *path, size_t pathlen, uint64_t *off);

struct stat;
/**
 * Call @p cb for every track file in disk directory @p path with its number
 * and stat (a restore skips checking tracks not written since its snapshot).
 * @return 0, the callback's non-zero value, or -errno.
 */
int trk_disk_tracks(const char *path, int (*cb)(void *arg, uint32_t track, const struct stat *st),
		    void *arg);

/**
 * Open the disks of a volume. Each disk's identity file must name
 * @p cfg->volume_uuid and the disk UUID in @p disks[i]; a wrong or swapped disk
 * is refused with -EINVAL and a message naming the path and both UUIDs.
 * A disk directory that is missing or unreadable does not fail the open: the
 * disk is marked missing (trk_pool_disk_missing) and every I/O to it returns
 * -EIO with a message naming the disk. Track headers are read and checked
 * (magic, version, incompatible features, checksum, UUIDs); a bad header
 * marks that track failed (reads -EIO) and is reported, never silently reset.
 * The in-memory free lists come from the on-disk free lists; call
 * trk_pool_rebuild_* afterwards when the volume was not shut down cleanly.
 * @return 0, -ENOMEM, -EINVAL (bad config or foreign disk).
 */
int trk_pool_open(const struct trk_pool_config *cfg, const struct trk_disk_spec *disks,
		  unsigned ndisks, struct trk_pool **out);

/**
 * Write every track's free list and header (a checkpoint), fdatasync them,
 * stop the workers and close the track files. Deferred frees that were never
 * released are NOT put on the free lists (the index did not become durable
 * for them; the next open after an unclean close rebuilds). Accepts NULL.
 * @return 0 or the first -errno seen while writing.
 */
int trk_pool_close(struct trk_pool *pool);

/**
 * True when trk_pool_open found an on-disk free list it could not trust
 * (bad record checksum, cycle, out-of-range run, count mismatch); the caller
 * must rebuild from the index (trk_pool_rebuild_*) before allocating.
 */
bool trk_pool_needs_rebuild(const struct trk_pool *pool);

unsigned trk_pool_ndisks(const struct trk_pool *pool);

/**
 * Add a disk to an open pool (trk_disk_format'ed with the next index,
 * trk_pool_ndisks()): its tracks are opened, its host filesystem grouped
 * with the others' and its workers started before it is published, so
 * allocations may choose it as soon as this returns. Serialized with sync
 * passes; concurrent I/O on other disks goes on.
 * @return 0 with *@p index_out set; -ENOSPC (TRK_MAX_DISKS reached), -ENOENT
 * (the directory or its identity file is absent), -EINVAL (foreign disk),
 * -EROFS, -ENOMEM.
 */
int trk_pool_add_disk(struct trk_pool *pool, const struct trk_disk_spec *spec, unsigned *index_out);
/** Change the placement policy and the reserve (bytes, TRK_RESERVE_AUTO). */
void trk_pool_set_placement(struct trk_pool *pool, enum trk_placement p, uint64_t reserve);
/** The placement policy in force. */
enum trk_placement trk_pool_placement(struct trk_pool *pool);
uint32_t trk_pool_chunk_size(const struct trk_pool *pool);
bool trk_pool_disk_missing(const struct trk_pool *pool, unsigned disk);

/**
 * Take missing disk @p disk back once its directory holds its identity file
 * again (a device mounted late): its tracks are opened and its I/O workers
 * started, then it is no longer missing, so its files read. With @p noalloc
 * it gets no new chunks until the pool is opened again (its free lists lack
 * chunks freed while it was away and need a rebuild from the index).
 * Call from one thread at a time.
 * @return 1 (back), 0 (not missing, or no identity file yet), -errno (a wrong
 * or unusable disk, logged naming it: it stays missing; do not call again).
 */
int trk_pool_disk_reopen(struct trk_pool *pool, unsigned disk, bool noalloc);
/** True while a disk taken back by trk_pool_disk_reopen gets no new chunks. */
bool trk_pool_disk_noalloc(const struct trk_pool *pool, unsigned disk);
/** True for a slot of a removed disk (missing on purpose: nothing refers to it). */
bool trk_pool_disk_removed(const struct trk_pool *pool, unsigned disk);
const char *trk_pool_disk_path(const struct trk_pool *pool, unsigned disk);

/* ---- allocation ---------------------------------------------------------- */

/**
 * Allocate at most @p want chunks as one run. Chunks come from the head of the
 * chosen track's FIFO free list (a run at the head is taken whole or split),
 * else from never-used chunks above the high-water mark; a new track is
 * created when all tracks of the disk are full. The run may be shorter than
 * @p want; call again for the rest.
 * Every chunk handed out has its blocks on the host filesystem already: a
 * track's space is claimed with fallocate (TRK_CLAIM_STEP at a time, mode 0,
 * so the file's size marks the claim) before the high-water mark passes it.
 * Where the host filesystem has no fallocate (EOPNOTSUPP), zeros are written
 * and fdatasync'ed instead. On a copy-on-write filesystem (btrfs, ZFS) a
 * claim cannot promise the blocks of later overwrites: put tracks on one
 * without copy-on-write (chattr +C on the tracks folder for btrfs).
 * @p disk_hint: a disk index to prefer (the file's disk), or -1 to choose one
 * by the placement policy (trk_pool_pick_disk). The hinted disk is left only
 * when it is at its reserve and another disk is above its own, or when it is
 * full, missing or failing. A full or missing disk, or one whose host
 * filesystem refuses the claim, sends the allocation to another disk, and so
 * does a failing one (an I/O error was seen on it) unless no other disk has
 * room; *out->disk says where it went. Free space is the host filesystem's
 * f_bavail (the root reserve of ext4 is left alone), counted once per host
 * filesystem.
 * @return 0; -ENOSPC when no disk can hold a chunk (deferred frees are not
 * counted: the caller may make the index durable, call
 * trk_pool_release_deferred and try again); -EIO when no usable disk remains
 * (or every claim failed with it).
 */
int trk_pool_alloc(struct trk_pool *pool, int disk_hint, uint32_t want, struct trk_run *out);

/** The disk that trk_pool_alloc would choose without a hint: by the
 * placement policy among the present, healthy disks above their reserve, else
 * among those with any room, else a failing one.
 * @return its index, -ENOSPC or -EIO. */
int trk_pool_pick_disk(struct trk_pool *pool);

/**
 * Give back a run that was allocated but never became part of a durable
 * index (an error path after trk_pool_alloc): it goes straight to the tail of
 * its track's free list.
 */
void trk_pool_unalloc(struct trk_pool *pool, const struct trk_run *run);

/**
 * Note that the index stopped referencing @p run. The chunks are NOT reusable
 * until trk_pool_release_deferred() is called after that index state is
 * durable (DESIGN.md invariant 2).
 * @return 0 or -ENOMEM (the chunks then leak until the next rebuild; the
 * caller logs and carries on).
 */
int trk_pool_free_deferred(struct trk_pool *pool, const struct trk_run *run);

/**
 * Take @p run back off the deferred list: the index references it again (a
 * write that could not be made durable was undone, and the chunks it had
 * replaced are the file's again). @p run must lie inside one run given to
 * trk_pool_free_deferred and not yet released.
 * @return 0; -ENOENT (not deferred: nothing changed); -ENOMEM.
 */
int trk_pool_undefer(struct trk_pool *pool, const struct trk_run *run);

/** Number of chunks waiting in the deferred list. */
uint64_t trk_pool_deferred_count(struct trk_pool *pool);

/**
 * Append every deferred run to the tail of its track's free list, in the
 * order they were freed. Call only after the index state that dropped them is
 * durable. @return 0 or -errno writing free-list links.
 */
int trk_pool_release_deferred(struct trk_pool *pool);

/**
 * Write dirty free-list records and track headers and fdatasync every track
 * written since the last call (data and allocator state). Used before an
 * index sync (data before metadata) and at checkpoints.
 * @return 0 or the first -errno (the message names the track file).
 */
int trk_pool_sync(struct trk_pool *pool);
/**
 * fdatasync every track written since its last sync, and nothing else (the
 * index's precommit hook: chunk data before the index that references it).
 * A track whose fdatasync failed keeps failing: @return 0, or the -errno of
 * the first such track (-EIO, or -ENOSPC).
 */
int trk_pool_sync_data(struct trk_pool *pool);

/* ---- writes that a failed fdatasync lost --------------------------------- */

/*
 * A failed fdatasync means some writes to that track since its last good
 * sync may be gone, and Linux says so only once. The pool keeps the error
 * (every sync fails, so nothing is committed that points at lost chunks)
 * until the caller has undone those writes: it keeps a note of each write
 * with the epoch read after the write returned, and asks which are durable
 * or lost.
 */

/**
 * The sync epoch: it grows at every sync pass. Read it after a write to a
 * track returned (trk_io_run); the write is durable once a pass that began
 * later synced its track (trk_pool_write_durable).
 */
uint64_t trk_pool_epoch(struct trk_pool *pool);
/** True when the write to @p run's track that returned before epoch @p done
 * was made durable by an fdatasync that succeeded. */
bool trk_pool_write_durable(struct trk_pool *pool, const struct trk_run *run, uint64_t done);
/** True when @p run's track has a failed fdatasync not yet repaired and the
 * write (done at epoch @p done; UINT64_MAX while it is still running) is not
 * durable: the write must be undone. */
bool trk_pool_write_lost(struct trk_pool *pool, const struct trk_run *run, uint64_t done);
/**
 * With no sync pass running, call @p cb, which undoes every write that
 * trk_pool_write_lost says was lost; if it returns 0 the failed tracks'
 * errors are cleared, so that the writes made since can be synced and
 * committed. Lock order: call it without any pool lock; @p cb may allocate,
 * free and undefer. @return 0 or @p cb's -errno (the errors stay).
 */
int trk_pool_sync_repair(struct trk_pool *pool, int (*cb)(void *arg), void *arg);
/** True once an I/O error was seen on @p disk since the pool was opened: it
 * gets new chunks only when no other disk can take them. */
bool trk_pool_disk_failing(const struct trk_pool *pool, unsigned disk);

/**
 * Mark @p disk as draining (or no longer): trk_pool_alloc and
 * trk_pool_pick_disk never choose it, not even as a last resort or when it
 * is the hint; a pool with room only there gives -ENOSPC. Chunks it holds
 * stay readable and are freed as usual. @return 0 or -ENODEV.
 */
int trk_pool_set_draining(struct trk_pool *pool, unsigned disk, bool draining);
bool trk_pool_disk_draining(const struct trk_pool *pool, unsigned disk);

/* ---- rebuilding the allocator from the index (unclean open, fsck) -------- */

/** Start a rebuild: forget all free lists; every chunk is considered unused. */
int trk_pool_rebuild_begin(struct trk_pool *pool);
/**
 * Mark a run as referenced by the index. Raises the track's high-water mark
 * if the run lies above it (creating the track if it does not exist yet).
 * @return 0; -EEXIST if any chunk in it was already marked (a chunk referenced
 * twice: the caller reports it); -ERANGE if the run lies outside any track
 * the disk can hold; -ENODEV for a disk index out of range.
 */
int trk_pool_rebuild_mark(struct trk_pool *pool, const struct trk_run *run);
/**
 * Finish: every unmarked chunk below each track's high-water mark becomes a
 * free run (ascending order), free lists and headers are written and synced.
 * @return 0 or -errno.
 */
int trk_pool_rebuild_end(struct trk_pool *pool);

/* ---- checking (fsck) ----------------------------------------------------- */

typedef void (*trk_problem_cb)(void *arg, const char *msg);

/**
 * Start a check: walk every track's on-disk free list as last written (run
 * records' checksums, bounds, no cycles, no overlapping runs, the header's
 * free count), reporting each problem through @p cb with a message that names
 * the track file. @return the number of problems found (>= 0) or -errno.
 */
int trk_pool_check_begin(struct trk_pool *pool, trk_problem_cb cb, void *arg);
/**
 * Record that the index references @p run. @return 0; -EEXIST if a chunk is
 * referenced twice; -EBUSY if a chunk is also on a free list; -ERANGE if the
 * run lies outside its track or above the high-water mark; -ENODATA if its
 * bytes were never written (it lies past the end of the track file, or on a
 * hole in it);
 * -ENODEV for a bad disk or track. Problems are also reported through the
 * callback.
 */
int trk_pool_check_ref(struct trk_pool *pool, const struct trk_run *run);
/**
 * Finish: report chunks below a high-water mark that are neither free nor
 * referenced (leaks). @p leaked_out gets their number.
 * @return the number of problems found by check_end, or -errno.
 */
int trk_pool_check_end(struct trk_pool *pool, uint64_t *leaked_out);

/* ---- space accounting ---------------------------------------------------- */

struct trk_disk_stats {
	uint32_t tracks;
	uint64_t chunks_total; /* chunks_used + chunks_free */
	uint64_t chunks_used;  /* below high-water marks and not free */
	uint64_t chunks_free;  /* chunks_free_tracks + fs_chunks_free: what this disk could take */
	uint64_t chunks_free_tracks; /* in its tracks: on free lists, or claimed and never used */
	uint64_t fs_chunks_free;     /* what its host filesystem can still give, new tracks' headers
				      * paid: shared by every disk on that filesystem */
	unsigned fs_first;	     /* the first disk on the same host filesystem (this one's own
				      * index when no disk before it shares it) */
	uint64_t bytes_on_disk;	     /* st_blocks*512 of all track files */
	uint64_t fs_bytes_free; /* the host filesystem's free bytes (f_bavail), less claims since */
	uint64_t reserve_bytes; /* its reserve as it applies now */
	bool at_reserve;	/* free space at or below the reserve: no new files */
	bool missing;
	bool failing;	    /* an I/O error was seen since open (trk_pool_disk_failing) */
	uint64_t io_errors; /* failed reads, writes and fdatasyncs since open */
	uint64_t read_errors, write_errors; /* of those, failed track reads and writes */
};

/** @return 0 or -ENODEV for a bad disk index. */
int trk_pool_disk_stats(struct trk_pool *pool, unsigned disk, struct trk_disk_stats *out);

/**
 * The chunks in use and free over the present disks, each host filesystem
 * counted once (two disk directories on one filesystem share its free
 * space), a new track's header counted as the space it takes.
 * @return 0.
 */
int trk_pool_space(struct trk_pool *pool, uint64_t *used_out, uint64_t *free_out);

/* ---- I/O ----------------------------------------------------------------- */

/**
 * Read @p len bytes starting @p byte_off bytes into @p run (byte_off + len
 * must fit in run->count chunks) through the disk's I/O workers.
 * Bytes past the end of a track file read as zeros.
 * @return 0; -EIO for a missing or failed disk (logged with its path).
 */
int trk_io_read(struct trk_pool *pool, const struct trk_run *run, uint64_t byte_off, void *buf,
		size_t len);
/** Write, likewise. @return 0, -EIO, -ENOSPC (the host filesystem is full). */
int trk_io_write(struct trk_pool *pool, const struct trk_run *run, uint64_t byte_off,
		 const void *buf, size_t len);

/** An asynchronous request: fill in, submit, then wait. */
struct trk_io {
	bool write;
	struct trk_run run;
	uint64_t byte_off;
	void *buf;
	size_t len;
	/* private */
	int result;
	bool done;
	struct trk_io *next;
	void *waiter;
};

/** Queue @p io on its disk's workers. Never blocks on another disk. */
void trk_io_submit(struct trk_pool *pool, struct trk_io *io);
/** Wait until @p io completes. @return its result (0 or -errno). */
int trk_io_wait(struct trk_pool *pool, struct trk_io *io);
/** Do the @p n requests @p ios: all but the first on their disks' workers,
 * the first in the calling thread, and wait for all of them.
 * @return 0 or the first error. */
int trk_io_run(struct trk_pool *pool, struct trk_io *ios, size_t n);

/* ---- checksums ------------------------------------------------------------ */

/** xxh3-64 of one chunk's bytes. */
uint64_t trk_checksum(const void *buf, size_t len);

#endif
