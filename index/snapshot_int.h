/* Private to index/: the snapshot file layout (written by snapshot.c, read
 * by snapload.c), the change-log records it shares with changelog.c and
 * mirror.c, and the capture a snapshot in progress keeps in the environment.
 *
 * A snapshot file is a 4096-byte header followed by a body of records:
 *
 *   header: magic "TFSSNAP1" | u32 version | u32 header size | volume UUID(16)
 *           | u64 generation | u64 commit sequence | u64 time (ns since the
 *           epoch) | u64 body bytes | u64 body xxh3-64 | u64 records
 *           | u64 attachment bytes | zeros ... | u64 xxh3-64 of bytes 0..4087
 *   record: u8 op | u8 table | u16 key bytes | u32 value bytes | key | value
 *
 * The body is the attachment (IDX_SNAP_ATTACH: the volume file), then every
 * table's records in key order (IDX_SNAP_DUMP, restored with MDB_APPEND),
 * then the changes committed while the dump ran, in commit order (IDX_SNAP_PUT,
 * IDX_SNAP_DEL), then IDX_SNAP_END. All integers are little-endian. */
#ifndef IDX_SNAPSHOT_INT_H
#define IDX_SNAPSHOT_INT_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#define IDX_SNAP_MAGIC "TFSSNAP1"
#define IDX_SNAP_VERSION 1u
#define IDX_SNAP_HEADER 4096u
#define IDX_SNAP_REC_HDR 8u
/* The largest attachment: a record must fit snapload.c's 1 MiB buffer. */
#define IDX_SNAP_ATTACH_MAX (512u << 10)

/* header offsets */
#define IDX_SNAPH_MAGIC 0
#define IDX_SNAPH_VERSION 8
#define IDX_SNAPH_SIZE 12
#define IDX_SNAPH_UUID 16
#define IDX_SNAPH_GENERATION 32
#define IDX_SNAPH_SEQ 40
#define IDX_SNAPH_TIME 48
#define IDX_SNAPH_BODY_LEN 56
#define IDX_SNAPH_BODY_SUM 64
#define IDX_SNAPH_RECORDS 72
#define IDX_SNAPH_ATTACH_LEN 80
#define IDX_SNAPH_SUM (IDX_SNAP_HEADER - 8)

enum idx_snap_op {
	IDX_SNAP_DUMP = 1,
	IDX_SNAP_PUT = 2,
	IDX_SNAP_DEL = 3,
	IDX_SNAP_ATTACH = 4,
	IDX_SNAP_END = 5,
};

/* A growable buffer of records. err: a record could not be kept. */
struct idx_clog {
	uint8_t *buf;
	size_t len, cap;
	int err;
};

/* The snapshot being taken: the changes committed since it began. */
struct idx_snap_capture {
	struct idx_clog log;
	size_t from; /* the open group's records before this offset predate it */
};

int idx_clog_append(struct idx_clog *log, const void *buf, size_t len);
/** Append one record; @p val may be NULL (a delete). */
int idx_clog_add(struct idx_clog *log, unsigned op, unsigned db, const MDB_val *key,
		 const MDB_val *val);
void idx_clog_free(struct idx_clog *log);

struct idx_snap_info;
void idx_snapshot_header_encode(const struct idx_snap_info *in, uint8_t hdr[IDX_SNAP_HEADER]);

#endif
