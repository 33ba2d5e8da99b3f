/* Private to core/: the on-disk formats of a track file — its 4 KiB header
 * and the record at the start of every free run — with explicit
 * little-endian encode/decode.
 *
 * A track file: header at offset 0 (TRK_HDR_SIZE bytes, the encoded struct
 * then zeros), then chunk i at TRK_HDR_SIZE + i * chunk_size. Chunks above the
 * high-water mark have never been written, so the file is sparse and grows.
 */
#ifndef TRK_TRACK_INT_H
#define TRK_TRACK_INT_H

/* A track file's name in its disk's tracks/ directory, from its number. */
#define TRK_FILE_FMT "track-%06u.trk"

#include <stddef.h>
#include <stdint.h>

#include "core/base/uuid.h"

#define TRK_HDR_SIZE 4096u
#define TRK_MAGIC "TFSTRACK"
#define TRK_VERSION 1u
/* Incompatible feature bits this code understands (none yet). A track with any
 * other incompat bit is refused: an old trackfs must not misread it. */
#define TRK_INCOMPAT_KNOWN 0u
#define TRK_REC_MAGIC 0x4e524654u /* "TFRN" as little-endian bytes */

/* The header as it lies on disk: byte arrays only, so the layout is exact. */
struct trk_hdr_disk {
	uint8_t magic[8];	/* "TFSTRACK" */
	uint8_t version[4];	/* TRK_VERSION */
	uint8_t incompat[4];	/* features an older reader must refuse */
	uint8_t compat[4];	/* features an older reader may ignore (kept on rewrite) */
	uint8_t disk_index[4];	/* index of the disk in its volume */
	uint8_t volume[16];	/* volume UUID */
	uint8_t disk[16];	/* disk UUID */
	uint8_t track[4];	/* this track's number (matches the file name) */
	uint8_t chunk_size[4];	/* bytes per chunk */
	uint8_t chunk_count[4]; /* capacity in chunks */
	uint8_t hwm[4];		/* high-water mark: chunks >= hwm were never handed out */
	uint8_t free_count[4];	/* chunks on the free list */
	uint8_t free_head[4];	/* first chunk of the oldest free run, TRK_NIL if none */
	uint8_t free_tail[4];	/* first chunk of the newest free run, TRK_NIL if none */
	uint8_t reserved[4];	/* zero */
	uint8_t checksum[8];	/* xxh3-64 of this struct with this field zeroed */
};
_Static_assert(sizeof(struct trk_hdr_disk) == 96, "track header layout");
_Static_assert(sizeof(struct trk_hdr_disk) <= TRK_HDR_SIZE, "track header fits its block");

/* The header decoded. */
struct trk_hdr {
	uint32_t version;
	uint32_t incompat;
	uint32_t compat;
	uint32_t disk_index;
	struct tfs_uuid volume;
	struct tfs_uuid disk;
	uint32_t track;
	uint32_t chunk_size;
	uint32_t chunk_count;
	uint32_t hwm;
	uint32_t free_count;
	uint32_t free_head;
	uint32_t free_tail;
};

/* The record at the start of the first chunk of every free run. */
struct trk_rec_disk {
	uint8_t magic[4];    /* TRK_REC_MAGIC ("TFRN") */
	uint8_t count[4];    /* chunks in this run */
	uint8_t next[4];     /* first chunk of the next (newer) run, TRK_NIL at the tail */
	uint8_t track[4];    /* track number, so a record copied elsewhere is caught */
	uint8_t checksum[8]; /* xxh3-64 of the 16 bytes above */
};
_Static_assert(sizeof(struct trk_rec_disk) == 24, "free run record layout");

struct trk_rec {
	uint32_t count;
	uint32_t next;
	uint32_t track;
};

/** Encode @p h into @p buf (TRK_HDR_SIZE bytes: the struct, then zeros). */
void trk_hdr_encode(const struct trk_hdr *h, uint8_t *buf);
/**
 * Decode and verify magic and checksum (not the version, features or UUIDs:
 * the caller checks those against what it expects).
 * @return 0 or -EIO with a reason in @p why.
 */
int trk_hdr_decode(const uint8_t *buf, struct trk_hdr *h, char *why, size_t whylen);

void trk_rec_encode(const struct trk_rec *r, uint8_t *buf);
/** @return 0 or -EIO (bad magic or checksum). */
int trk_rec_decode(const uint8_t *buf, struct trk_rec *r);

#endif
