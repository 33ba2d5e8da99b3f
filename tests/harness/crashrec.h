/* The log that tests/harness/crashrec.c writes and
 * tests/integration/crash_replay.py reads: one record per operation that a
 * process made on a file under the recorded directories, in host byte order
 * (the log is read back on the machine that wrote it).
 *
 * A record is a struct cr_rec followed by path_len bytes of path, path2_len
 * bytes of a second path (rename's target, or an error's text) and, for
 * CR_WRITE, len bytes of data (what the write wrote). Paths are absolute, without a
 * terminating NUL. Records are numbered by seq without gaps, but a record is
 * appended when its operation ends, so the log is not in seq order: readers
 * sort by seq. */
#ifndef TFS_HARNESS_CRASHREC_H
#define TFS_HARNESS_CRASHREC_H

#include <stdint.h>

#define CR_MAGIC 0x52434654u /* "TFCR" */

enum cr_op {
	CR_OPEN = 1,	   /* arg: open flags; flags: CR_F_CREATED when the call made the file */
	CR_WRITE = 2,	   /* off, len: where and how much; the bytes follow */
	CR_TRUNC = 3,	   /* off: the new size (ftruncate, truncate, or O_TRUNC at open) */
	CR_FALLOC = 4,	   /* arg: fallocate mode; off, len: the range */
	CR_SYNC_BEGIN = 5, /* fsync/fdatasync/sync_file_range/syncfs/sync called */
	CR_SYNC_END = 6,   /* ... and returned (rc) */
	CR_RENAME = 7,	   /* path to path2 */
	CR_UNLINK = 8,	   /* flags: CR_F_DIR for rmdir */
	CR_MKDIR = 9,
	CR_ERROR = 10, /* the recorder could not record something: path2 says what */
};

/* cr_rec.flags */
#define CR_F_CREATED 0x1   /* CR_OPEN: the file did not exist before this open */
#define CR_F_SYNCWRITE 0x2 /* CR_WRITE: O_SYNC/O_DSYNC descriptor: durable on return */
#define CR_F_DIR 0x4	   /* CR_UNLINK: a directory (rmdir); CR_OPEN: O_DIRECTORY */
#define CR_F_DATASYNC 0x8  /* CR_SYNC_*: fdatasync */
#define CR_F_RANGE 0x10	   /* CR_SYNC_*: sync_file_range (no durability promised) */
#define CR_F_ALL 0x20	   /* CR_SYNC_*: sync() or syncfs(): every file */
#define CR_F_DIRECT 0x40   /* CR_WRITE: through an O_DIRECT descriptor */

struct cr_rec {
	uint32_t magic;	    /* CR_MAGIC */
	uint16_t op;	    /* enum cr_op */
	uint16_t flags;	    /* CR_F_* */
	uint64_t seq;	    /* 0, 1, 2, ...: the order the operations began in */
	uint64_t t_ns;	    /* CLOCK_MONOTONIC when seq was taken */
	int64_t off;	    /* file offset, or new size (CR_TRUNC) */
	uint64_t len;	    /* byte count (CR_WRITE, CR_FALLOC, sync_file_range) */
	int64_t arg;	    /* open flags, fallocate mode */
	uint32_t path_len;  /* bytes of path after the record */
	uint32_t path2_len; /* bytes of the second path after that */
	uint32_t tid;	    /* the calling thread (pairs a flush's begin and end) */
	int32_t rc;	    /* 0, or -errno when the call failed (then nothing happened) */
};
_Static_assert(sizeof(struct cr_rec) == 64, "cr_rec is read by crash_replay.py as 64 bytes");

#endif
