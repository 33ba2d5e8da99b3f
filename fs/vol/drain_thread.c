/* The volume's drain thread: a process that holds a volume open for writing
 * (the FUSE daemon, trackfs-s3) drains disks on a thread of its own, asked
 * over the control socket or found interrupted at open, so that the client
 * that asked may go away (Ctrl-C) while the drain goes on. One disk at a
 * time, in disk order; vol_disk_drain itself keeps the cursor durable. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "core/base/log.h"
#include "fs/vol/vol_int.h"

int vol_drainer_init(struct vol *v)
{
	struct vol_drainer *dr = &v->drainer;
	int rc = -pthread_mutex_init(&dr->mu, NULL);

	if (rc < 0)
		return rc;
	dr->inited = true;
	dr->current = -1;
	for (unsigned i = 0; i < VOL_MAX_DISKS; i++)
		dr->last_rc[i] = 1;
	for (unsigned i = 0; i < VOL_MAX_DISKS; i++)
		dr->target[i] = -1;
	atomic_init(&dr->stop, false);
	return 0;
}

/* Whether @p disk's replace is done but for what did not read. */
static bool salvaged(struct vol *v, unsigned disk)
{
	struct vol_drain_status st;

	return vol_disk_drain_state(v, disk, &st) == 0 && st.salvaged;
}

static void *drainer_main(void *arg)
{
	struct vol *v = arg;
	struct vol_drainer *dr = &v->drainer;

	pthread_mutex_lock(&dr->mu);
	while (dr->pending && !dr->closing) {
		unsigned disk = (unsigned)__builtin_ctzll(dr->pending);
		struct vol_drain_opts o = {.rate = dr->rate[disk], .stop = &dr->stop};
		int target = dr->target[disk];

		dr->pending &= ~(1ull << disk);
		dr->current = (int)disk;
		dr->target[disk] = -1;
		pthread_mutex_unlock(&dr->mu);

		o.targeted = target >= 0;
		o.target = target >= 0 ? (unsigned)target : 0;
		int rc = vol_disk_drain(v, disk, &o);
		const char *path = trk_pool_disk_path(v->pool, disk);
		pthread_mutex_lock(&dr->mu);
		bool user = dr->user_stop & (1ull << disk);
		dr->user_stop &= ~(1ull << disk);
		pthread_mutex_unlock(&dr->mu);
		/* Asked to stop: it stays stopped across mounts. Marked after
		 * vol_disk_drain wrote its last record, so nothing undoes it
		 * (vol_disk_drain_pause logs it). */
		if (user && rc != 0)
			vol_disk_drain_pause(v, disk);
		else if (rc == -EINTR)
			tfs_info("drain disk %u (%s): paused; it goes on at the next mount or with "
				 "`trackfs disk drain`",
				 disk, path);
		else if (rc == -EIO && salvaged(v, disk))
			; /* a replace: vol_disk_drain listed what did not read */
		else if (rc < 0)
			tfs_err("drain disk %u (%s) failed: %s; what it moved stays moved, and "
				"`trackfs disk drain` goes on from there once the cause is fixed",
				disk, path, tfs_strerror(rc));

		pthread_mutex_lock(&dr->mu);
		dr->last_rc[disk] = rc;
		dr->current = -1;
		atomic_store(&dr->stop, false);
	}
	dr->running = false;
	pthread_mutex_unlock(&dr->mu);
	return NULL;
}

/* Under dr->mu: make sure a thread works on dr->pending. */
static int kick_locked(struct vol *v)
{
	struct vol_drainer *dr = &v->drainer;
	int rc;

	if (dr->running)
		return 0;
	if (dr->joinable) {
		/* It has finished (running is false): the join does not wait. */
		pthread_join(dr->thread, NULL);
		dr->joinable = false;
	}
	rc = -pthread_create(&dr->thread, NULL, drainer_main, v);
	if (rc < 0)
		return rc;
	dr->running = true;
	dr->joinable = true;
	return 0;
}

int vol_drainer_start(struct vol *v, unsigned disk, uint64_t rate)
{
	struct vol_drainer *dr = &v->drainer;
	int rc;

	if (v->rdonly || !dr->inited)
		return -EROFS;
	if (disk >= trk_pool_ndisks(v->pool))
		return -ENODEV;
	/* A missing disk drains only as a replace (what reads of it: nothing,
	 * listed); vol_disk_drain says why it refuses. */
	if (trk_pool_disk_missing(v->pool, disk)) {
		struct vol_drain_status st;
		if (vol_disk_drain_state(v, disk, &st) < 0 || st.state != VOL_DRAIN_DRAINING ||
		    st.replace_target < 0)
			return -ENXIO;
	}
	pthread_mutex_lock(&dr->mu);
	if (dr->closing) {
		rc = -ESHUTDOWN;
		goto out_unlock;
	}
	dr->rate[disk] = rate;
	dr->user_stop &= ~(1ull << disk);
	if (dr->current == (int)disk) {
		rc = 0;
		goto out_unlock;
	}
	dr->pending |= 1ull << disk;
	dr->last_rc[disk] = 1;
	rc = kick_locked(v);
	if (rc < 0)
		dr->pending &= ~(1ull << disk);
out_unlock:
	pthread_mutex_unlock(&dr->mu);
	return rc;
}

int vol_drainer_stop(struct vol *v, int disk)
{
	struct vol_drainer *dr = &v->drainer;
	int rc = -ESRCH;

	if (!dr->inited)
		return rc;
	pthread_mutex_lock(&dr->mu);
	uint64_t bits = disk < 0 ? ~0ull : 1ull << disk;
	if (dr->pending & bits) {
		for (unsigned i = 0; i < VOL_MAX_DISKS; i++)
			if (dr->pending & bits & (1ull << i))
				dr->last_rc[i] = -EINTR;
		dr->pending &= ~bits;
		rc = 0;
	}
	if (dr->current >= 0 && (disk < 0 || dr->current == disk)) {
		atomic_store(&dr->stop, true);
		dr->user_stop |= 1ull << dr->current;
		rc = 0;
	}
	/* Every other drain of those disks (pending, failed, or found
	 * interrupted and not resumed) is marked now. */
	for (unsigned i = 0; i < trk_pool_ndisks(v->pool); i++) {
		if (!(bits & (1ull << i)) || dr->current == (int)i)
			continue;
		int prc = vol_disk_drain_pause(v, i);
		if (prc == 0)
			rc = 0;
		else if (prc != -ESRCH && prc != -EALREADY && rc == -ESRCH)
			rc = prc;
	}
	pthread_mutex_unlock(&dr->mu);
	return rc;
}

int vol_drainer_replace(struct vol *v, unsigned old, unsigned target, uint64_t rate)
{
	struct vol_drainer *dr = &v->drainer;
	int rc;

	if (v->rdonly || !dr->inited)
		return -EROFS;
	if (old >= trk_pool_ndisks(v->pool) || target >= trk_pool_ndisks(v->pool))
		return -ENODEV;
	if (old == target)
		return -EINVAL;
	pthread_mutex_lock(&dr->mu);
	if (dr->closing) {
		rc = -ESHUTDOWN;
		goto out_unlock;
	}
	if (dr->current == (int)old) {
		rc = -EBUSY;
		goto out_unlock;
	}
	dr->rate[old] = rate;
	dr->user_stop &= ~(1ull << old);
	dr->target[old] = (int)target;
	dr->pending |= 1ull << old;
	dr->last_rc[old] = 1;
	rc = kick_locked(v);
	if (rc < 0) {
		dr->pending &= ~(1ull << old);
		dr->target[old] = -1;
	}
out_unlock:
	pthread_mutex_unlock(&dr->mu);
	return rc;
}

void vol_drainer_query(struct vol *v, unsigned disk, bool *running, int *last_rc)
{
	struct vol_drainer *dr = &v->drainer;

	*running = false;
	*last_rc = 1;
	if (!dr->inited || disk >= VOL_MAX_DISKS)
		return;
	pthread_mutex_lock(&dr->mu);
	*running = dr->current == (int)disk || (dr->pending & (1ull << disk));
	*last_rc = dr->last_rc[disk];
	pthread_mutex_unlock(&dr->mu);
}

void vol_drainer_resume(struct vol *v)
{
	struct vol_drainer *dr = &v->drainer;
	struct vol_drain_status st;

	if (!dr->inited)
		return;
	pthread_mutex_lock(&dr->mu);
	for (unsigned i = 0; i < trk_pool_ndisks(v->pool); i++) {
		if (vol_disk_drain_state(v, i, &st) < 0 || st.state != VOL_DRAIN_DRAINING)
			continue;
		if (st.stopped) {
			tfs_info(
				"drain disk %u (%s): stopped by `trackfs disk drain --stop`, so it "
				"is not resumed; `trackfs disk drain` goes on, `trackfs disk "
				"undrain` puts the disk back into use",
				i, trk_pool_disk_path(v->pool, i));
			continue;
		}
		if (st.salvaged) {
			tfs_info("replace disk %u (%s): done but for what could not be read; it "
				 "is not tried again until `trackfs disk drain`",
				 i, trk_pool_disk_path(v->pool, i));
			continue;
		}
		if (trk_pool_disk_missing(v->pool, i) && st.replace_target < 0) {
			tfs_warn("drain disk %u (%s): it was being drained but is missing; the "
				 "drain goes on once it is back and the volume is mounted again "
				 "(or replace it: trackfs disk replace)",
				 i, trk_pool_disk_path(v->pool, i));
			continue;
		}
		if (st.replace_target >= 0)
			tfs_info("replace disk %u (%s): going on with the interrupted copy onto "
				 "disk %d (%" PRIu64 " of about %" PRIu64 " bytes copied)",
				 i, trk_pool_disk_path(v->pool, i), st.replace_target,
				 st.bytes_done, st.bytes_total);
		else
			tfs_info("drain disk %u (%s): going on with the interrupted drain (%" PRIu64
				 " of about %" PRIu64 " bytes moved)",
				 i, trk_pool_disk_path(v->pool, i), st.bytes_done, st.bytes_total);
		dr->pending |= 1ull << i;
	}
	if (dr->pending) {
		int rc = kick_locked(v);
		if (rc < 0) {
			tfs_err("volume %s: cannot start the drain thread: %s; run `trackfs disk "
				"drain` to go on",
				v->meta_dir, tfs_strerror(rc));
			dr->pending = 0;
		}
	}
	pthread_mutex_unlock(&dr->mu);
}

void vol_drainer_fini(struct vol *v)
{
	struct vol_drainer *dr = &v->drainer;
	bool join;

	if (!dr->inited)
		return;
	pthread_mutex_lock(&dr->mu);
	dr->closing = true;
	dr->pending = 0;
	if (dr->current >= 0)
		atomic_store(&dr->stop, true);
	join = dr->joinable;
	dr->joinable = false;
	pthread_mutex_unlock(&dr->mu);
	if (join)
		pthread_join(dr->thread, NULL);
	pthread_mutex_destroy(&dr->mu);
	dr->inited = false;
}
