/* Private to the data path of fs/vol (rw.c, truncate.c, fallocate.c):
 * the copy-on-write primitive every data-changing operation goes through,
 * single-chunk helpers and the list of runs freed by a transaction. */
#ifndef VOL_VOL_DATA_INT_H
#define VOL_VOL_DATA_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fs/vol/vol_int.h"

/* Data operations work in pieces of at most this many bytes: it bounds the
 * memory and the chunks one transaction switches. */
#define VOL_PIECE_MAX (4u << 20)

/* How many times a data operation starts over on -EAGAIN: an undo changed
 * the file under it (vol_cow.gen), or the index asks for the transaction to
 * be retried whole (a map that must grow). Undos come from failed syncs and
 * a failing disk gets no new chunks, so a few suffice; the bound only keeps
 * an index that cannot grow from looping. */
#define VOL_REDO_MAX 16

static inline uint64_t vol_round_down(uint64_t x, uint32_t cs)
{
	return x - x % cs;
}

static inline uint64_t vol_round_up(uint64_t x, uint32_t cs)
{
	return x % cs ? x - x % cs + cs : x;
}

/** The sub-run of @p e holding its chunks [idx, idx + count). */
static inline struct trk_run vol_ext_run(const struct idx_extent *e, uint32_t idx, uint32_t count)
{
	struct trk_run r = {
		.disk = e->disk, .track = e->track, .chunk = e->chunk + idx, .count = count};
	return r;
}

/** A buffer for whole chunks, aligned so the I/O layer may use direct I/O
 * without bouncing. Free with free(). NULL when out of memory. */
static inline void *vol_chunk_buf_alloc(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, len) != 0)
		return NULL;
	return p;
}

/* ---- runs freed inside a transaction (truncate.c) ------------------------ */

/**
 * Runs that a transaction stopped referencing. They are handed to the pool's
 * deferred list only after that transaction committed (vol_runs_release), so
 * an aborted transaction never frees a chunk the index still references.
 */
struct vol_runs {
	struct trk_run *r;
	size_t n, cap;
};

/** @return 0 or -ENOMEM. */
int vol_runs_push(struct vol_runs *rs, const struct trk_run *run);
/** Forget the runs (the transaction that freed them was aborted). */
void vol_runs_fini(struct vol_runs *rs);
/**
 * Put every run on the pool's deferred list, then forget them. Call after the
 * transaction that dropped them committed; vol_sync_all then releases them
 * only once that state is durable.
 */
void vol_runs_release(struct vol *v, struct vol_runs *rs);

/** One path of @p ino into @p buf (slow: for reports of lost or bad chunks).
 * @return 0, -ENOENT (no name: an unlinked open file), or an index error. */
int vol_ino_path(struct vol *v, uint64_t ino, char *buf, size_t size);

/**
 * The first extent of @p ino that overlaps [@p a, @p b), checked for sanity
 * (a malformed one is logged, naming the inode). @return 1 (*e set), 0 (no
 * more in the range), -EIO, or an index error.
 */
int vol_extent_next_in(struct vol *v, struct idx_txn *txn, uint64_t ino, uint64_t a, uint64_t b,
		       struct idx_extent *e);

/**
 * Remove the mapping of file bytes [@p a, @p b) (both multiples of the chunk
 * size; @p b may be UINT64_MAX) from @p inode inside @p txn: extents inside
 * are deleted, straddling ones shortened or split (the part after the range
 * gets a new key). inode->blocks drops by the chunks unmapped (the caller
 * writes the inode). Unmapped runs are pushed onto @p pending, or put on the
 * pool's deferred list at once when @p pending is NULL; runs on a missing
 * disk go to neither: its stale-disk record counts them, inside @p txn.
 * @return 0, -ENOMEM, or an index error (the txn must then be aborted).
 */
int vol_extents_cut(struct vol *v, struct idx_txn *txn, struct idx_inode *inode, uint64_t a,
		    uint64_t b, struct vol_runs *pending);
/** Like vol_extents_cut, but the runs unmapped stay in use (another extent,
 * written by the caller in @p txn, references them now): nothing is freed. */
int vol_extents_unmap(struct vol *v, struct idx_txn *txn, struct idx_inode *inode, uint64_t a,
		      uint64_t b);
struct vol_wnote;
/** vol_extents_cut that also copies what it cuts into @p note (vol_wnote_old). */
int vol_extents_cut_noted(struct vol *v, struct idx_txn *txn, struct idx_inode *inode, uint64_t a,
			  uint64_t b, struct vol_runs *pending, struct vol_wnote *note);

/* ---- reading single chunks (truncate.c) ------------------------------------ */

/** Read inode @p ino in a short transaction. @return 0 or -errno. */
int vol_inode_read(struct vol *v, uint64_t ino, struct idx_inode *out);
/** idx_inode_get of a regular file. @return 0, -EISDIR, -EINVAL (another
 * kind), or an index error. */
int vol_file_get(struct idx_txn *txn, uint64_t ino, struct idx_inode *out);
/** vol_inode_read of a regular file: -EISDIR, -EINVAL for other kinds. */
int vol_file_read(struct vol *v, uint64_t ino, struct idx_inode *out);

/**
 * Find the extent holding the chunk that starts at file offset @p coff (a
 * multiple of the chunk size), in a short transaction. *idx gets the chunk's
 * position inside *ext. @return 0, -ENOENT (a hole) or -errno.
 */
int vol_chunk_lookup(struct vol *v, uint64_t ino, uint64_t coff, struct idx_extent *ext,
		     uint32_t *idx);

/**
 * Read chunk @p idx of @p ext (file offset @p ext->off + idx * cs) whole into
 * @p buf (chunk size bytes) and verify its checksum. A mismatch is logged
 * with the inode, offset, disk, track and chunk. No txn may be held.
 * @return 0, -EIO.
 */
int vol_chunk_read_verified(struct vol *v, uint64_t ino, const struct idx_extent *ext, uint32_t idx,
			    void *buf);

/** Log a checksum mismatch of chunk @p idx of @p ext (invariant 5). */
void vol_log_bad_chunk(struct vol *v, uint64_t ino, const struct idx_extent *ext, uint32_t idx);

/* ---- copy-on-write (rw.c) --------------------------------------------- */

/** A stretch of whole new chunks taken from @p buf (nchunks * cs bytes). */
struct vol_seg {
	const uint8_t *buf;
	uint32_t nchunks;
};

/** What vol_cow_locked writes and how it updates the inode. */
struct vol_cow {
	uint64_t start;	       /* file offset of the first chunk, a multiple of cs */
	struct vol_seg seg[3]; /* consecutive chunks from start on */
	unsigned nseg;
	uint64_t new_size; /* raise the size to this if it is larger */
	bool touch;	   /* set mtime and ctime */
	bool clear_suid;   /* clear S_ISUID, and S_ISGID when S_IXGRP is set */
	int disk;	   /* in: disk to allocate on (-1: any); out: disk used */
	/* The bytes [ua, ub) of the file that the caller supplies (a write's);
	 * empty (ua == ub) for zeroing and preallocation, which supply none.
	 * Only these are marked lost if the write is undone, and only these
	 * stop being lost once it is merged. */
	uint64_t ua, ub;
	/* v->undo_gen read before the caller read the size and extents it
	 * built this from: if an undo ran since, cow_switch returns -EAGAIN
	 * and the caller starts over. */
	uint64_t gen;
};

/**
 * Write the chunks described by @p c to newly allocated chunks and switch the
 * file's extents to them in one transaction; the chunks they replace go to
 * the deferred list after the commit (DESIGN.md invariants 2 and 3). On any
 * failure the new chunks are given back and the file is exactly as before.
 * Caller holds the inode's ilock exclusively and no txn.
 * @return 0, -EAGAIN (an undo changed the file since @p c->gen, or the index
 * asks for a retry: nothing changed, start over from reading the inode),
 * -ENOSPC, -EIO, -ENOMEM, -ENOENT (inode gone) or an index error.
 */
int vol_cow_locked(struct vol *v, uint64_t ino, struct vol_cow *c);

/* ---- notes of writes not yet durable (lost_writes.c) ------------------------- */

/*
 * A failed fdatasync may have lost any write to that track since its last
 * good sync, and the group commit must not publish extents that point at
 * such chunks (DESIGN.md: a failed flush is remembered). Every copy-on-write
 * takes a note before its data is written: the new runs, and once it is in
 * its transaction, the extents it replaces. The precommit hook drops the
 * notes of writes that a sync made durable and undoes the writes a failed
 * sync lost (vol_wnotes_repair).
 */

/** An extent a write replaced, cut to the write's range. */
struct vol_old {
	uint64_t off;
	uint16_t disk;
	uint32_t track, chunk, nchunks;
	const uint64_t *sums; /* into the note's sums */
};

struct vol_wnote {
	struct vol_wnote *prev, *next; /* v->wnotes, under wnote_mu */
	uint64_t ino;
	uint64_t off;  /* file offset of runs[0]'s first chunk; the runs follow in order */
	uint64_t done; /* trk_pool_epoch after the data was written; UINT64_MAX before */
	uint64_t size_before, size_after; /* the file's size before and after the write */
	uint64_t ua, ub;		  /* the bytes the caller supplied (vol_cow) */
	size_t cap_old, nsums;
	bool merged; /* its extents are in the group (wnote_mu) */
	bool lost;   /* undone before it was merged: the write must fail (wnote_mu) */
	bool move;   /* a drain's move (drain.c): undoing it maps the same bytes again,
		      * so the file's fsync is not made to fail; set before it is merged */
	size_t nruns;
	struct trk_run *runs;
	size_t nold;
	struct vol_old *old;
	uint64_t *sums;
};

/** Take a note of a write of @p runs at file offset @p off of @p ino, which
 * supplies the file's bytes [@p ua, @p ub), before the data is written.
 * @return the note, or NULL (out of memory). */
struct vol_wnote *vol_wnote_begin(struct vol *v, uint64_t ino, uint64_t off,
				  const struct trk_run *runs, size_t nruns, uint64_t ua,
				  uint64_t ub);
/** The data of @p n is on the tracks (trk_io_run returned 0). */
void vol_wnote_written(struct vol *v, struct vol_wnote *n);
/**
 * From the write's cut (vol_extents_cut_noted): chunks [i0, i0 + count) of
 * @p e, at file offset @p off, are replaced; @p room is how many chunks the
 * rest of the write's range holds from @p off on. @return 0 or -ENOMEM.
 */
int vol_wnote_old(struct vol_wnote *n, const struct idx_extent *e, uint64_t off, uint32_t i0,
		  uint32_t count, uint64_t room);
/** In the write's transaction, just before it merges: true when the note was
 * undone meanwhile (a failed sync): the write must be given up. */
bool vol_wnote_lost(struct vol *v, struct vol_wnote *n);
/** After the merge (idx_txn_commit_keep succeeded), before the index lock is
 * released: the write's extents are in the group, of size @p size_after. */
void vol_wnote_merged(struct vol *v, struct vol_wnote *n, uint64_t size_after);
/** Forget a note whose write failed or was given up. Accepts NULL. */
void vol_wnote_drop(struct vol *v, struct vol_wnote *n);

/* ---- zeroing parts of chunks (truncate.c) -------------------------------- */

/**
 * Make bytes [@p from, @p to) of the chunk at file offset @p coff zero by
 * copy-on-write, if that chunk is allocated and they are not zero already.
 * ctime/mtime are not changed. Caller holds the ilock exclusively. @p gen is
 * v->undo_gen read before the caller decided on this (vol_cow.gen).
 * @return 0, -EAGAIN (start over), -EIO (the old chunk failed its checksum),
 * -ENOSPC, -errno.
 */
int vol_chunk_zero_locked(struct vol *v, uint64_t ino, uint64_t coff, uint32_t from, uint32_t to,
			  uint64_t gen);

/**
 * The EOF rule: before the size of a file grows from @p size, bytes
 * [size, end of its chunk) must be zero on disk. Does that when size is not
 * chunk-aligned and its chunk is allocated. Caller holds the ilock exclusively;
 * @p gen as for vol_chunk_zero_locked, and the caller's own commit of the new
 * size must check it as well (an undo may come after the zeroing).
 */
int vol_zero_tail_locked(struct vol *v, uint64_t ino, uint64_t size, uint64_t gen);

#endif
