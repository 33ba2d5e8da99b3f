/* Track files: encoding and verifying the 4 KiB header and the free-run
 * records, opening an existing track (a bad header marks it failed, never
 * rewrites it) and creating a new, empty one. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/base/endian.h"
#include "core/base/fileio.h"
#include "core/base/log.h"
#include "core/pool_int.h"

#define HDR_OFF(field) offsetof(struct trk_hdr_disk, field)
#define REC_OFF(field) offsetof(struct trk_rec_disk, field)

uint64_t trk_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void trk_hdr_encode(const struct trk_hdr *h, uint8_t *buf)
{
	memset(buf, 0, TRK_HDR_SIZE);
	memcpy(buf + HDR_OFF(magic), TRK_MAGIC, 8);
	tfs_put_le32(buf + HDR_OFF(version), h->version);
	tfs_put_le32(buf + HDR_OFF(incompat), h->incompat);
	tfs_put_le32(buf + HDR_OFF(compat), h->compat);
	tfs_put_le32(buf + HDR_OFF(disk_index), h->disk_index);
	memcpy(buf + HDR_OFF(volume), h->volume.b, 16);
	memcpy(buf + HDR_OFF(disk), h->disk.b, 16);
	tfs_put_le32(buf + HDR_OFF(track), h->track);
	tfs_put_le32(buf + HDR_OFF(chunk_size), h->chunk_size);
	tfs_put_le32(buf + HDR_OFF(chunk_count), h->chunk_count);
	tfs_put_le32(buf + HDR_OFF(hwm), h->hwm);
	tfs_put_le32(buf + HDR_OFF(free_count), h->free_count);
	tfs_put_le32(buf + HDR_OFF(free_head), h->free_head);
	tfs_put_le32(buf + HDR_OFF(free_tail), h->free_tail);
	uint64_t sum = trk_checksum(buf, sizeof(struct trk_hdr_disk));
	tfs_put_le64(buf + HDR_OFF(checksum), sum);
}

int trk_hdr_decode(const uint8_t *buf, struct trk_hdr *h, char *why, size_t whylen)
{
	uint8_t tmp[sizeof(struct trk_hdr_disk)];

	if (memcmp(buf + HDR_OFF(magic), TRK_MAGIC, 8) != 0) {
		snprintf(why, whylen, "bad magic (not a trackfs track header)");
		return -EIO;
	}
	memcpy(tmp, buf, sizeof(tmp));
	memset(tmp + HDR_OFF(checksum), 0, 8);
	uint64_t want = tfs_get_le64(buf + HDR_OFF(checksum));
	uint64_t got = trk_checksum(tmp, sizeof(tmp));
	if (want != got) {
		snprintf(why, whylen, "header checksum mismatch (stored %016llx, computed %016llx)",
			 (unsigned long long)want, (unsigned long long)got);
		return -EIO;
	}
	h->version = tfs_get_le32(buf + HDR_OFF(version));
	h->incompat = tfs_get_le32(buf + HDR_OFF(incompat));
	h->compat = tfs_get_le32(buf + HDR_OFF(compat));
	h->disk_index = tfs_get_le32(buf + HDR_OFF(disk_index));
	memcpy(h->volume.b, buf + HDR_OFF(volume), 16);
	memcpy(h->disk.b, buf + HDR_OFF(disk), 16);
	h->track = tfs_get_le32(buf + HDR_OFF(track));
	h->chunk_size = tfs_get_le32(buf + HDR_OFF(chunk_size));
	h->chunk_count = tfs_get_le32(buf + HDR_OFF(chunk_count));
	h->hwm = tfs_get_le32(buf + HDR_OFF(hwm));
	h->free_count = tfs_get_le32(buf + HDR_OFF(free_count));
	h->free_head = tfs_get_le32(buf + HDR_OFF(free_head));
	h->free_tail = tfs_get_le32(buf + HDR_OFF(free_tail));
	return 0;
}

void trk_rec_encode(const struct trk_rec *r, uint8_t *buf)
{
	tfs_put_le32(buf + REC_OFF(magic), TRK_REC_MAGIC);
	tfs_put_le32(buf + REC_OFF(count), r->count);
	tfs_put_le32(buf + REC_OFF(next), r->next);
	tfs_put_le32(buf + REC_OFF(track), r->track);
	tfs_put_le64(buf + REC_OFF(checksum), trk_checksum(buf, REC_OFF(checksum)));
}

int trk_rec_decode(const uint8_t *buf, struct trk_rec *r)
{
	if (tfs_get_le32(buf + REC_OFF(magic)) != TRK_REC_MAGIC)
		return -EIO;
	if (tfs_get_le64(buf + REC_OFF(checksum)) != trk_checksum(buf, REC_OFF(checksum)))
		return -EIO;
	r->count = tfs_get_le32(buf + REC_OFF(count));
	r->next = tfs_get_le32(buf + REC_OFF(next));
	r->track = tfs_get_le32(buf + REC_OFF(track));
	return 0;
}

struct trk_track *trk_disk_track(struct trk_disk *d, uint32_t n)
{
	if (n >= atomic_load_explicit(&d->ntracks, memory_order_acquire))
		return NULL;
	return d->leaves[n / TRK_LEAF_TRACKS][n % TRK_LEAF_TRACKS];
}

int trk_disk_publish(struct trk_disk *d, struct trk_track *t)
{
	uint32_t n = t->number;

	if (n >= TRK_MAX_TRACKS || n != atomic_load(&d->ntracks))
		return -ERANGE;
	struct trk_track ***leaf = &d->leaves[n / TRK_LEAF_TRACKS];
	if (!*leaf) {
		*leaf = calloc(TRK_LEAF_TRACKS, sizeof(**leaf));
		if (!*leaf)
			return -ENOMEM;
	}
	(*leaf)[n % TRK_LEAF_TRACKS] = t;
	atomic_store_explicit(&d->ntracks, n + 1, memory_order_release);
	return 0;
}

int trk_chunk_locate(const char *disk_path, uint32_t chunk_size, uint32_t track, uint32_t chunk,
		     char *path, size_t pathlen, uint64_t *off)
{
	int n = snprintf(path, pathlen, "%s/tracks/" TRK_FILE_FMT, disk_path, track);
	if (n < 0 || (size_t)n >= pathlen)
		return -ENAMETOOLONG;
	*off = TRK_HDR_SIZE + (uint64_t)chunk * chunk_size;
	return 0;
}

static struct trk_track *track_new(struct trk_pool *pool, struct trk_disk *d, uint32_t n)
{
	struct trk_track *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (asprintf(&t->path, "%s/" TRK_FILE_FMT, d->tracks_dir, n) < 0) {
		free(t);
		return NULL;
	}
	t->disk = d;
	t->number = n;
	t->fd = -1;
	t->dfd = -1;
	t->chunk_count = pool->track_chunks;
	t->fifo.dirty_from = UINT64_MAX;
	atomic_init(&t->data_dirty, false);
	atomic_init(&t->sync_err, 0);
	atomic_init(&t->synced, 0);
	return t;
}

void trk_track_destroy(struct trk_track *t)
{
	if (!t)
		return;
	if (t->fd >= 0)
		close(t->fd);
	if (t->dfd >= 0)
		close(t->dfd);
	trk_fifo_fini(&t->fifo);
	free(t->mark);
	free(t->state);
	free(t->path);
	free(t);
}

void trk_track_hdr_fill(struct trk_pool *pool, struct trk_track *t, struct trk_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->version = TRK_VERSION;
	h->compat = t->compat;
	h->disk_index = t->disk->index;
	h->volume = pool->cfg.volume_uuid;
	h->disk = t->disk->uuid;
	h->track = t->number;
	h->chunk_size = pool->cfg.chunk_size;
	h->chunk_count = t->chunk_count;
	h->hwm = t->hwm;
	h->free_count = (uint32_t)t->fifo.nfree;
	h->free_head = t->fifo.len ? trk_fifo_at(&t->fifo, 0)->chunk : TRK_NIL;
	h->free_tail = t->fifo.len ? trk_fifo_at(&t->fifo, t->fifo.len - 1)->chunk : TRK_NIL;
}

int trk_track_read_hdr(struct trk_pool *pool, struct trk_track *t, struct trk_hdr *h, char *why,
		       size_t whylen)
{
	uint8_t *buf = malloc(TRK_HDR_SIZE);
	char a[TFS_UUID_STRLEN], b[TFS_UUID_STRLEN];
	int rc;

	if (!buf)
		return -ENOMEM;
	ssize_t n = tfs_pread_full(t->fd, buf, TRK_HDR_SIZE, 0);
	if (n < 0) {
		snprintf(why, whylen, "cannot read header: %s", tfs_strerror((int)n));
		rc = -EIO;
		goto out_free;
	}
	if (n < (ssize_t)TRK_HDR_SIZE) {
		snprintf(why, whylen, "truncated (%zd bytes, shorter than the %u-byte header)", n,
			 TRK_HDR_SIZE);
		rc = -EIO;
		goto out_free;
	}
	rc = trk_hdr_decode(buf, h, why, whylen);
	if (rc < 0)
		goto out_free;
	rc = -EIO;
	if (h->version != TRK_VERSION) {
		snprintf(why, whylen, "format version %u is not %u; upgrade trackfs", h->version,
			 TRK_VERSION);
	} else if (h->incompat & ~TRK_INCOMPAT_KNOWN) {
		snprintf(why, whylen, "uses unsupported features 0x%x; upgrade trackfs",
			 h->incompat & ~TRK_INCOMPAT_KNOWN);
	} else if (!tfs_uuid_equal(&h->volume, &pool->cfg.volume_uuid)) {
		tfs_uuid_format(&pool->cfg.volume_uuid, a);
		tfs_uuid_format(&h->volume, b);
		snprintf(why, whylen, "belongs to volume %s, expected %s", b, a);
	} else if (!tfs_uuid_equal(&h->disk, &t->disk->uuid)) {
		tfs_uuid_format(&t->disk->uuid, a);
		tfs_uuid_format(&h->disk, b);
		snprintf(why, whylen, "belongs to disk %s, expected %s", b, a);
	} else if (h->track != t->number) {
		snprintf(why, whylen, "header says track %u, file name says %u", h->track,
			 t->number);
	} else if (h->chunk_size != pool->cfg.chunk_size) {
		snprintf(why, whylen, "chunk size %u, volume uses %u", h->chunk_size,
			 pool->cfg.chunk_size);
	} else if (h->chunk_count == 0 || h->chunk_count == TRK_NIL || h->hwm > h->chunk_count ||
		   h->free_count > h->hwm) {
		snprintf(why, whylen, "inconsistent counts (capacity %u, hwm %u, free %u)",
			 h->chunk_count, h->hwm, h->free_count);
	} else {
		rc = 0;
	}
out_free:
	free(buf);
	return rc;
}

static void report_log(void *arg, const char *msg)
{
	tfs_err("%s; the free list will be rebuilt from the index", msg);
}

/* Set up the descriptors' I/O hints once the track is open.
 * Reads of a track come whole from above: a 4 KiB random read is one chunk,
 * a sequential read arrives as the kernel's 1 MiB FUSE readahead. The track's
 * own readahead would only read neighbouring chunks of other files.
 * Large reads and writes go through a second, O_DIRECT descriptor (io.c);
 * where the disk's filesystem has no O_DIRECT (tmpfs), all I/O is buffered. */
/* Give @p tmp the name @p path, never replacing an existing file. */
static int publish_name(const char *tmp, const char *path)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	/* A filesystem without RENAME_NOREPLACE: link fails on an existing name. */
	if (link(tmp, path) < 0)
		return -errno;
	return unlink(tmp) < 0 ? -errno : 0;
}

static void track_io_setup(struct trk_pool *pool, struct trk_track *t)
{
	(void)posix_fadvise(t->fd, 0, 0, POSIX_FADV_RANDOM);
	t->dfd = open(t->path, (pool->cfg.readonly ? O_RDONLY : O_RDWR) | O_DIRECT | O_CLOEXEC);
}

int trk_track_open(struct trk_pool *pool, struct trk_disk *d, uint32_t n, struct trk_track **out)
{
	struct trk_hdr h;
	char why[256];
	int rc;

	struct trk_track *t = track_new(pool, d, n);
	if (!t)
		return -ENOMEM;
	*out = t;
	t->fd = open(t->path, (pool->cfg.readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (t->fd < 0) {
		rc = -errno;
		tfs_err("track %s: cannot open: %s; its chunks return EIO until the file is "
			"restored (run fsck.trackfs)",
			t->path, tfs_strerror(rc));
		t->failed = true;
		return 0;
	}
	track_io_setup(pool, t);
	rc = trk_track_read_hdr(pool, t, &h, why, sizeof(why));
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0) {
		tfs_err("track %s: %s; the track is not used (its chunks return EIO) and is left "
			"untouched",
			t->path, why);
		t->failed = true;
		return 0;
	}
	t->compat = h.compat;
	t->chunk_count = h.chunk_count;
	t->hwm = h.hwm;
	trk_track_claim_init(pool, t);
	rc = trk_freelist_walk(pool, t, &h, &t->fifo, NULL, report_log, NULL);
	if (rc < 0)
		return rc;
	if (rc > 0) {
		/* Hand out nothing from a list we cannot trust; the rebuild refills it. */
		trk_fifo_clear(&t->fifo);
		pool->needs_rebuild = true;
	}
	return 0;
}

int trk_track_create(struct trk_pool *pool, struct trk_disk *d, uint32_t n, struct trk_track **out)
{
	struct trk_hdr h;
	int rc;

	struct trk_track *t = track_new(pool, d, n);
	if (!t)
		return -ENOMEM;
	uint8_t *buf = malloc(TRK_HDR_SIZE);
	if (!buf) {
		rc = -ENOMEM;
		goto out_destroy;
	}
	/* Under a temporary name until its header is on the disk: a power
	 * loss must never leave a track file without one (the name reaching
	 * the disk before the header would make it unusable for good). A
	 * leftover temporary file from such a crash is simply overwritten. */
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.new", t->path) >= (int)sizeof(tmp)) {
		rc = -ENAMETOOLONG;
		goto out_free_buf;
	}
	t->fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (t->fd < 0) {
		rc = -errno;
		tfs_err("track %s: cannot create: %s", tmp, tfs_strerror(rc));
		goto out_free_buf;
	}
	trk_track_hdr_fill(pool, t, &h);
	trk_hdr_encode(&h, buf);
	rc = tfs_pwrite_full(t->fd, buf, TRK_HDR_SIZE, 0);
	if (rc == 0 && fdatasync(t->fd) < 0)
		rc = -errno;
	if (rc == 0)
		rc = publish_name(tmp, t->path);
	if (rc == 0)
		rc = tfs_fsync_dir(d->tracks_dir);
	if (rc < 0) {
		tfs_err("track %s: cannot create it with its header: %s", t->path,
			tfs_strerror(rc));
		unlink(tmp);
		goto out_free_buf;
	}
	track_io_setup(pool, t);
	free(buf);
	*out = t;
	return 0;

out_free_buf:
	free(buf);
out_destroy:
	trk_track_destroy(t);
	return rc;
}
