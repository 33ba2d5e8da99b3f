/* Private to index/: the byte layouts of the values stored in the index.
 * Every field is little-endian at a fixed offset; decoders check the length
 * (and version) first and report a malformed value as corruption (-EIO). */
#ifndef IDX_FORMAT_INT_H
#define IDX_FORMAT_INT_H

#include "index/index.h"

/* Volume record, key "volume" in the volume table. */
enum {
	IDX_VOL_FORMAT = 0,	      /* u32: index format version (struct idx_volume.format) */
	IDX_VOL_CHUNK_SIZE = 4,	      /* u32: bytes per chunk */
	IDX_VOL_UUID = 8,	      /* 16 bytes: volume UUID */
	IDX_VOL_NEXT_INO = 24,	      /* u64: next inode number to hand out */
	IDX_VOL_GENERATION = 32,      /* u64: bumped at every open */
	IDX_VOL_CLEAN = 40,	      /* u8: 1 after a clean close */
	IDX_VOL_LABEL_LEN = 41,	      /* u8: label length, <= IDX_LABEL_MAX */
	IDX_VOL_LABEL = 42,	      /* label bytes, no NUL */
	IDX_VOL_FIXED = IDX_VOL_LABEL /* length without the label */
};

/* Inode record, key ino(8). */
#define IDX_INODE_VERSION 1
enum {
	IDX_INO_VERSION = 0,	 /* u8: IDX_INODE_VERSION */
	IDX_INO_PAD = 1,	 /* u8: 0 */
	IDX_INO_DISK = 2,	 /* u16: disk of the file's chunks, IDX_NO_DISK if none */
	IDX_INO_MODE = 4,	 /* u32: st_mode */
	IDX_INO_UID = 8,	 /* u32 */
	IDX_INO_GID = 12,	 /* u32 */
	IDX_INO_NLINK = 16,	 /* u32 */
	IDX_INO_FLAGS = 20,	 /* u32: IDX_INODE_* */
	IDX_INO_SIZE = 24,	 /* u64: bytes */
	IDX_INO_RDEV = 32,	 /* u64 */
	IDX_INO_BLOCKS = 40,	 /* u64: chunks allocated */
	IDX_INO_GENERATION = 48, /* u64 */
	IDX_INO_PARENT = 56,	 /* u64: directories: parent; others 0 */
	IDX_INO_TIMES = 64,	 /* 4 x (i64 seconds, u32 nanoseconds): atime mtime ctime btime */
	IDX_INO_TIME_SIZE = 12,
	IDX_INO_LEN = IDX_INO_TIMES + 4 * IDX_INO_TIME_SIZE /* 112 */
};
_Static_assert(IDX_INO_LEN == 112, "inode record layout changed");

/* Dirent record, key parent(8) name. The dirslot table maps parent(8)
 * slot(8) -> the name bytes, so both records name each other. */
enum {
	IDX_DIRENT_INO = 0,  /* u64: the entry's inode */
	IDX_DIRENT_TYPE = 8, /* u8: DT_* */
	IDX_DIRENT_SLOT = 9, /* u64: readdir slot, >= 1 */
	IDX_DIRENT_LEN = 17
};

/* Extent record, key ino(8) off(8); variable length. */
enum {
	IDX_EXT_DISK = 0,     /* u16 */
	IDX_EXT_TRACK = 2,    /* u32 */
	IDX_EXT_CHUNK = 6,    /* u32: first chunk of the run in the track */
	IDX_EXT_NCHUNKS = 10, /* u32: 1..IDX_EXTENT_MAX_CHUNKS */
	IDX_EXT_SUMS = 14,    /* nchunks x u64: xxh3 of each chunk */
	IDX_EXT_FIXED = IDX_EXT_SUMS
};
#define IDX_EXT_LEN(n) (IDX_EXT_FIXED + 8u * (n))

/* Stale-disk record, key "stale" disk(2, big-endian) in the volume table
 * (idx_disk_stale_*): the free lists on that disk lack chunks the index
 * stopped referencing while the disk was missing. */
#define IDX_STALE_KEY "stale"
#define IDX_STALE_KEYLEN 7 /* the prefix and the disk */
enum {
	IDX_STALE_CHUNKS = 0, /* u64: chunks freed while the disk was missing */
	IDX_STALE_FLAGS = 8,  /* u32: IDX_DISK_STALE_* (index.h) */
	IDX_STALE_LEN = 12
};

/* Drain record, key "drain" disk(2, big-endian) in the volume table
 * (idx_disk_drain_*): the disk is being drained, or was. */
#define IDX_DRAIN_KEY "drain"
#define IDX_DRAIN_KEYLEN 7 /* the prefix and the disk */
enum {
	IDX_DRAIN_STATE = 0,   /* u32: IDX_DRAIN_* (index.h) */
	IDX_DRAIN_PASSES = 4,  /* u32: full scans begun */
	IDX_DRAIN_INO = 8,     /* u64: cursor inode */
	IDX_DRAIN_OFF = 16,    /* u64: cursor file offset */
	IDX_DRAIN_DONE = 24,   /* u64: bytes moved */
	IDX_DRAIN_TOTAL = 32,  /* u64: bytes to move, estimated at the start */
	IDX_DRAIN_LEN = 40,    /* a record without the fields below (before --stop persisted) */
	IDX_DRAIN_FLAGS = 40,  /* u32: IDX_DRAIN_F_* (index.h) */
	IDX_DRAIN_TARGET = 44, /* u32: the new disk of a replace (IDX_DRAIN_F_REPLACE); else 0 */
	IDX_DRAIN_RATE = 48,   /* u64: bytes/s the drain was asked to keep to; 0: none */
	IDX_DRAIN_LEN2 = 56
};

/* Xattr (key ino(8) name), inline (key ino(8)) and orphan (key ino(8))
 * values are raw bytes: the xattr value, the inline data, nothing. */

#endif
