/* Space and identity of a volume: statfs (chunks summed over the disks, a
 * host filesystem that holds several counted once) and vol_info (per-disk
 * figures for `trackfs status`). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "fs/vol/vol_int.h"

/* Inodes are only limited by the index, which grows: report plenty free. */
#define VOL_FFREE (1ull << 32)

int vol_statfs(struct vol *v, struct vol_statfs *out)
{
	struct idx_env_stats es;
	struct vol_statfs s = {.bsize = v->chunk_size, .namemax = IDX_NAME_MAX};
	uint64_t used;
	int rc;

	/* Missing disks are left out (their space is not usable); disks on one
	 * host filesystem share its free space, counted once. */
	rc = trk_pool_space(v->pool, &used, &s.bfree);
	if (rc < 0)
		return rc;
	s.blocks = used + s.bfree;
	rc = idx_env_stats(v->idx, &es);
	if (rc < 0)
		return rc;
	s.files = es.entries;
	s.ffree = VOL_FFREE;
	*out = s;
	return 0;
}

/* The stale-disk records (frees made while a disk was missing). */
static int stale_info(struct vol *v, struct vol_info *out)
{
	struct idx_txn *txn;
	int rc = idx_txn_begin(v->idx, &txn);

	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < out->ndisks; i++) {
		struct idx_disk_stale st;
		rc = idx_disk_stale_get(txn, (uint16_t)i, &st);
		if (rc == -ENOENT) {
			rc = 0;
			continue;
		}
		if (rc < 0)
			break;
		out->disks[i].stale = true;
		out->disks[i].stale_chunks = st.chunks;
	}
	idx_txn_abort(txn);
	return rc;
}

static int info_locked(struct vol *v, struct vol_info *out);

/* Each present disk's newest snapshot whose header checks. */
static void snapshot_info(struct vol_info *out)
{
	for (unsigned i = 0; i < out->ndisks; i++) {
		struct vol_disk_info *d = &out->disks[i];
		struct vol_snapshot_entry *e;
		size_t n;

		if (d->missing || d->removed || vol_snapshot_list(d->path, false, &e, &n) < 0)
			continue;
		for (size_t j = 0; j < n; j++) {
			if (e[j].rc == 0) {
				d->has_snapshot = true;
				d->snapshot_seq = e[j].seq;
				d->snapshot_time_ns = e[j].time_ns;
				break;
			}
		}
		free(e);
	}
}

/* The mirror: attached to the index (a volume opened for writing), or, on
 * a read-only volume, the commit its directory holds against the index's. */
static void mirror_info(struct vol *v, struct vol_info *out)
{
	char dir[PATH_MAX + 16];

	snprintf(out->mirror, sizeof(out->mirror), "%s", v->vf.meta_mirror);
	if (!out->mirror[0])
		return;
	if (!v->rdonly) {
		struct idx_mirror_status ms;
		idx_mirror_status(v->idx, &ms);
		out->mirror_seq = ms.seq;
		out->mirror_error = ms.error;
		if (ms.attached && ms.error == 0)
			out->mirror_state = VOL_MIRROR_CURRENT;
		else if (ms.error == -ESTALE)
			out->mirror_state = VOL_MIRROR_STALE;
		else
			out->mirror_state = VOL_MIRROR_FAILED;
		if (out->mirror_state == VOL_MIRROR_FAILED && !out->mirror_error)
			out->mirror_error = -EIO; /* named but never attached: the log says why */
		return;
	}
	snprintf(dir, sizeof(dir), "%s/%s", out->mirror, VOL_INDEX_DIR);
	int rc = idx_mirror_peek(dir, &out->mirror_seq);
	if (rc == 0 && out->mirror_seq == out->index_seq) {
		out->mirror_state = VOL_MIRROR_CURRENT;
	} else if (rc == 0 || rc == -ENOENT) {
		/* Behind, or no copy there: the next mount makes it current. */
		out->mirror_state = VOL_MIRROR_STALE;
		out->mirror_error = rc ? rc : -ESTALE;
	} else {
		out->mirror_state = VOL_MIRROR_FAILED;
		out->mirror_error = rc;
	}
}

int vol_info(struct vol *v, struct vol_info *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&v->disks_mu);
	rc = info_locked(v, out);
	if (rc == 0) {
		out->index_seq = idx_env_seq(v->idx);
		mirror_info(v, out);
		if (v->scrubber)
			vol_scrub_status(v, &out->scrub);
		vol_notes_get(v, out->notes, sizeof(out->notes));
	}
	pthread_mutex_unlock(&v->disks_mu);
	/* Directory reads, with the disk paths copied out: not under disks_mu. */
	if (rc == 0)
		snapshot_info(out);
	return rc;
}

static int info_locked(struct vol *v, struct vol_info *out)
{
	struct idx_env_stats es;
	int rc;

	out->uuid = v->vf.uuid;
	snprintf(out->placement, sizeof(out->placement), "%s",
		 trk_placement_name((enum trk_placement)v->vf.placement));
	out->reserve = v->vf.reserve;
	snprintf(out->label, sizeof(out->label), "%s", v->vf.label);
	out->chunk_size = v->chunk_size;
	out->ndisks = v->vf.ndisks;
	rc = idx_env_stats(v->idx, &es);
	if (rc < 0)
		return rc;
	out->inodes = es.entries;
	out->index_bytes = es.used_bytes;
	rc = trk_pool_space(v->pool, &out->chunks_used, &out->chunks_free);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < v->vf.ndisks; i++) {
		struct vol_disk_info *d = &out->disks[i];
		struct trk_disk_stats ds;
		snprintf(d->path, sizeof(d->path), "%s", v->vf.disks[i].path);
		d->uuid = v->vf.disks[i].uuid;
		rc = trk_pool_disk_stats(v->pool, i, &ds);
		if (rc < 0)
			return rc;
		d->removed = v->vf.disks[i].removed;
		d->missing = ds.missing && !d->removed;
		d->tracks = ds.tracks;
		d->chunks_used = ds.chunks_used;
		d->chunks_free = ds.chunks_free;
		d->bytes_used = ds.chunks_used * v->chunk_size;
		d->bytes_free = ds.chunks_free * v->chunk_size;
		d->bytes_on_disk = ds.bytes_on_disk;
		d->failing = ds.failing;
		d->io_errors = ds.io_errors;
		d->read_errors = ds.read_errors;
		d->write_errors = ds.write_errors;
		d->checksum_errors = atomic_load(&v->ctr.csum_bad[i]);
		d->shares_fs_with = ds.missing || ds.fs_first == i ? -1 : (int)ds.fs_first;
		d->reserve_bytes = ds.reserve_bytes;
		d->at_reserve = !ds.missing && ds.at_reserve;
		struct vol_drain_status dst;
		d->drain_target = -1;
		if (vol_disk_drain_state(v, i, &dst) == 0) {
			d->drain_target = dst.replace_target;
			d->drain_salvaged = dst.salvaged;
			d->drain_state = (int)dst.state;
			d->drain_done = dst.bytes_done;
			d->drain_total = dst.bytes_total;
			d->drain_stopped = dst.stopped;
			d->drain_rate = dst.rate;
		}
	}
	return stale_info(v, out);
}
