/* A missing disk that comes back while the volume is open (its device was
 * mounted late): the flusher looks every few seconds, only while a disk is
 * missing, and takes it back so its files read again. A disk whose free
 * lists are stale (chunks were freed while it was away, or it missed a
 * rebuild) is taken back for reads only: the next mount rebuilds its lists. */
#include <errno.h>
#include <inttypes.h>
#include <time.h>

#include "core/base/log.h"
#include "fs/vol/vol_int.h"

#define DISKBACK_EVERY_MS 2000

static bool due(struct vol *v)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t ms = (int64_t)(now.tv_sec - v->diskback_last.tv_sec) * 1000 +
		     (now.tv_nsec - v->diskback_last.tv_nsec) / 1000000;
	if (v->diskback_last.tv_sec && ms < DISKBACK_EVERY_MS)
		return false;
	v->diskback_last = now;
	return true;
}

/* Whether @p disk's free lists lack chunks (a stale-disk record): *stale,
 * and the chunks freed while it was away in *chunks. */
static int stale_of(struct vol *v, unsigned disk, bool *stale, uint64_t *chunks)
{
	struct idx_disk_stale st;
	struct idx_txn *txn;
	int rc = idx_txn_begin_read(v->idx, &txn);

	if (rc < 0)
		return rc;
	rc = idx_disk_stale_get(txn, (uint16_t)disk, &st);
	idx_txn_abort(txn);
	*stale = rc == 0;
	*chunks = rc == 0 ? st.chunks : 0;
	return rc == -ENOENT ? 0 : rc;
}

void vol_disks_recheck(struct vol *v)
{
	unsigned n = trk_pool_ndisks(v->pool);
	bool any = false;

	for (unsigned i = 0; i < n; i++)
		any |= trk_pool_disk_missing(v->pool, i) && !trk_pool_disk_removed(v->pool, i) &&
		       !(v->diskback_given_up & (1ull << i));
	if (!any || !due(v))
		return;
	for (unsigned i = 0; i < n; i++) {
		const char *path = trk_pool_disk_path(v->pool, i);
		uint64_t bit = 1ull << i, chunks = 0;
		bool stale = false;
		int rc;

		if (!trk_pool_disk_missing(v->pool, i) || trk_pool_disk_removed(v->pool, i) ||
		    (v->diskback_given_up & bit))
			continue;
		rc = stale_of(v, i, &stale, &chunks);
		if (rc == 0)
			rc = trk_pool_disk_reopen(v->pool, i, stale || v->rdonly);
		if (rc < 0) {
			v->diskback_given_up |= bit;
			tfs_err("volume %s: disk %u (%s) came back but cannot be taken into use: "
				"%s; its files return EIO until the volume is mounted again",
				v->meta_dir, i, path, tfs_strerror(rc));
			continue;
		}
		if (rc == 0)
			continue;
		if (stale)
			tfs_warn("volume %s: disk %u (%s) is back: its files read again; it takes "
				 "no new data until the volume is mounted again, which rebuilds "
				 "its free lists (%" PRIu64 " chunks were freed while it was away)",
				 v->meta_dir, i, path, chunks);
		else
			tfs_info("volume %s: disk %u (%s) is back: its files read again and new "
				 "data may go to it",
				 v->meta_dir, i, path);
	}
}
