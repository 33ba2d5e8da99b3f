/* A drain stopped by the user stays stopped: `trackfs disk drain --stop`
 * marks the disk's drain record, so that the next mount does not go on with
 * it (an unmount, kill -9 or power loss does not mark it: those drains go on
 * by themselves). `trackfs disk drain` clears the mark (drain.c). */
#include <errno.h>

#include "core/base/log.h"
#include "fs/vol/vol_int.h"

int vol_disk_drain_pause(struct vol *v, unsigned disk)
{
	struct idx_disk_drain rec;
	struct idx_txn *txn;
	int rc;

	if (v->rdonly)
		return -EROFS;
	if (disk >= trk_pool_ndisks(v->pool))
		return -ENODEV;
	rc = idx_txn_begin(v->idx, &txn);
	if (rc < 0)
		return rc;
	rc = idx_disk_drain_get(txn, (uint16_t)disk, &rec);
	if (rc == 0 && rec.state != IDX_DRAIN_DRAINING)
		rc = -EALREADY;
	if (rc < 0) {
		idx_txn_abort(txn);
		return rc == -ENOENT ? -ESRCH : rc;
	}
	if (rec.flags & IDX_DRAIN_F_STOPPED) {
		idx_txn_abort(txn);
		return 0;
	}
	rec.flags |= IDX_DRAIN_F_STOPPED;
	rc = idx_disk_drain_put(txn, (uint16_t)disk, &rec);
	if (rc < 0) {
		idx_txn_abort(txn);
		return rc;
	}
	rc = idx_txn_commit(txn);
	if (rc == 0)
		rc = vol_sync_all(v);
	if (rc < 0)
		tfs_err("drain disk %u (%s): could not record the stop: %s; the drain may go on "
			"at the next mount",
			disk, trk_pool_disk_path(v->pool, disk), tfs_strerror(rc));
	else
		tfs_info("drain disk %u (%s): stopped; it stays stopped across mounts until "
			 "`trackfs disk drain` (go on) or `trackfs disk undrain` (back into use)",
			 disk, trk_pool_disk_path(v->pool, disk));
	return rc;
}
