/* The volume file (meta/volume.conf) naming the disks by UUID, and the
 * volume lock (meta/lock). Shared by vol_open, mkfs and fsck. */
#ifndef VOL_VOLFILE_H
#define VOL_VOLFILE_H

#include <limits.h>
#include <stdint.h>

#include "core/base/uuid.h"
#include "fs/vol/vol.h"

#define VOL_VOLFILE_NAME "volume.conf"
#define VOL_LOCK_NAME "lock"
#define VOL_INDEX_DIR "index"
#define VOL_RESERVE_AUTO UINT64_MAX /* min(4 GiB, 5% of the disk's filesystem) */

struct vol_volfile {
	struct tfs_uuid uuid;
	uint32_t chunk_size;
	uint64_t max_track_bytes;
	char label[65];
	unsigned placement; /* enum trk_placement: how new files choose a disk */
	uint64_t reserve;   /* bytes kept free on each disk, VOL_RESERVE_AUTO */
	/* "meta_mirror = DIR": a second metadata directory (volume file and
	 * index) kept current with every group commit (fs/vol/mirror.c). */
	char meta_mirror[PATH_MAX];
	unsigned ndisks;
	struct {
		struct tfs_uuid uuid;
		char path[PATH_MAX]; /* "" when removed */
		/* "disk = N removed": taken out by `trackfs disk remove` but
		 * kept as a slot, since extents name disks by number. */
		bool removed;
	} disks[VOL_MAX_DISKS];
};

/**
 * Resolve what a user typed as VOLUME to the metadata directory: the volume
 * mounted there if @p arg is a trackfs mount point, else @p arg itself if it
 * holds volume.conf, else @p arg/meta if that does.
 * @return 0 or -ENOENT (with a message saying what was looked for).
 */
int vol_meta_resolve(const char *arg, char out[PATH_MAX]);
/** Parse meta/volume.conf. -ENOENT, -EINVAL (the message names the line). */
int vol_volfile_read(const char *meta_dir, struct vol_volfile *out);
/** Write meta/volume.conf atomically. */
int vol_volfile_write(const char *meta_dir, const struct vol_volfile *vf);

/**
 * Take the volume lock (flock on meta/lock, pid and @p owner written into it).
 * @return the lock's file descriptor (>= 0), or -EBUSY with a message naming
 * the holder's pid and owner, or -errno.
 */
int vol_lock_take(const char *meta_dir, const char *owner);
/** Release a lock taken by vol_lock_take. */
void vol_lock_release(int fd);

#endif
