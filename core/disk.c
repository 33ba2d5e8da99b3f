/* A disk directory: its identity file (which volume and disk it belongs to),
 * formatting it, opening its track files at pool open, and growing it by new
 * tracks. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/fileio.h"
#include "core/base/log.h"
#include "core/pool_int.h"

struct identity {
	struct tfs_uuid volume;
	struct tfs_uuid disk;
	unsigned disk_index;
	uint32_t chunk_size;
};

/* Parse "key = value" lines. @return 0 or -EINVAL (message in why). */
static int identity_parse(char *text, struct identity *id, char *why, size_t whylen)
{
	bool have_fmt = false, have_vol = false, have_disk = false, have_idx = false,
	     have_cs = false;
	char *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char key[64], val[128];
		if (line[0] == '#' || line[strspn(line, " \t\r")] == '\0')
			continue;
		if (sscanf(line, " %63[a-z_] = %127s", key, val) != 2) {
			snprintf(why, whylen, "unparsable line \"%.60s\"", line);
			return -EINVAL;
		}
		char *end = NULL;
		if (!strcmp(key, "format")) {
			if (strcmp(val, TRK_IDENTITY_FORMAT) != 0) {
				snprintf(why, whylen, "unknown format \"%s\"", val);
				return -EINVAL;
			}
			have_fmt = true;
		} else if (!strcmp(key, "volume_uuid")) {
			have_vol = tfs_uuid_parse(val, &id->volume) == 0;
		} else if (!strcmp(key, "disk_uuid")) {
			have_disk = tfs_uuid_parse(val, &id->disk) == 0;
		} else if (!strcmp(key, "disk_index")) {
			unsigned long v = strtoul(val, &end, 10);
			have_idx = *end == '\0' && v < TRK_MAX_DISKS;
			id->disk_index = (unsigned)v;
		} else if (!strcmp(key, "chunk_size")) {
			unsigned long v = strtoul(val, &end, 10);
			have_cs =
				*end == '\0' && v >= TRK_MIN_CHUNK_SIZE && v <= TRK_MAX_CHUNK_SIZE;
			id->chunk_size = (uint32_t)v;
		}
	}
	if (!have_fmt || !have_vol || !have_disk || !have_idx || !have_cs) {
		snprintf(why, whylen, "missing or invalid %s",
			 !have_fmt    ? "format"
			 : !have_vol  ? "volume_uuid"
			 : !have_disk ? "disk_uuid"
			 : !have_idx  ? "disk_index"
				      : "chunk_size");
		return -EINVAL;
	}
	return 0;
}

/* @return 0, -ENOENT (no identity file), -EINVAL (garbage) or -errno. */
static int identity_read(const char *dir, struct identity *id, char *why, size_t whylen)
{
	char path[4096];
	char *text = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, TRK_IDENTITY_FILE);
	rc = tfs_read_file(path, 4096, &text, NULL);
	if (rc < 0) {
		snprintf(why, whylen, "cannot read its %s file: %s", TRK_IDENTITY_FILE,
			 tfs_strerror(rc));
		return rc == -ENOENT ? rc : (rc == -EFBIG ? -EINVAL : rc);
	}
	rc = identity_parse(text, id, why, whylen);
	free(text);
	return rc;
}

int trk_disk_identify(const char *path, struct trk_disk_identity *out, char *why, size_t whylen)
{
	struct identity id;
	int rc = identity_read(path, &id, why, whylen);

	if (rc < 0)
		return rc;
	out->volume = id.volume;
	out->disk = id.disk;
	out->disk_index = id.disk_index;
	out->chunk_size = id.chunk_size;
	return 0;
}

int trk_disk_tracks(const char *path, int (*cb)(void *arg, uint32_t track, const struct stat *st),
		    void *arg)
{
	char tracks[4096];
	struct dirent *de;
	DIR *dir;
	int rc = 0;

	snprintf(tracks, sizeof(tracks), "%s/tracks", path);
	dir = opendir(tracks);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while (rc == 0 && (de = readdir(dir))) {
		unsigned n;
		int end = 0;
		struct stat st;
		if (sscanf(de->d_name, "track-%6u.trk%n", &n, &end) != 1 || end <= 0 ||
		    de->d_name[end] != '\0' || n >= TRK_MAX_TRACKS)
			continue;
		if (fstatat(dirfd(dir), de->d_name, &st, 0) != 0)
			continue; /* gone meanwhile: nothing to say about it */
		rc = cb(arg, (uint32_t)n, &st);
	}
	closedir(dir);
	return rc;
}

/* Remove old track files (a forced format), nothing else. */
static int remove_tracks(const char *tracks_dir)
{
	DIR *dir = opendir(tracks_dir);
	struct dirent *de;

	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dir))) {
		unsigned n;
		char tail[8];
		if (sscanf(de->d_name, "track-%u.tr%1s", &n, tail) != 2)
			continue;
		if (unlinkat(dirfd(dir), de->d_name, 0) < 0) {
			int rc = -errno;
			closedir(dir);
			return rc;
		}
	}
	closedir(dir);
	return 0;
}

int trk_disk_format(const char *path, const struct tfs_uuid *volume_uuid,
		    const struct tfs_uuid *disk_uuid, uint16_t disk_index, uint32_t chunk_size,
		    bool force)
{
	char a[TFS_UUID_STRLEN], b[TFS_UUID_STRLEN], why[512], tracks[4096], idpath[4096];
	struct identity old;
	int rc;

	if (chunk_size < TRK_MIN_CHUNK_SIZE || chunk_size > TRK_MAX_CHUNK_SIZE ||
	    (chunk_size & (chunk_size - 1)) || disk_index >= TRK_MAX_DISKS)
		return -EINVAL;
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		tfs_err("format disk %s: cannot create the directory: %s", path, tfs_strerror(rc));
		return rc;
	}
	rc = identity_read(path, &old, why, sizeof(why));
	if (rc == 0 && !tfs_uuid_equal(&old.volume, volume_uuid) && !force) {
		tfs_uuid_format(&old.volume, a);
		tfs_err("format disk %s: it already belongs to volume %s; use --force to "
			"overwrite it",
			path, a);
		return -EEXIST;
	}
	DIR *dir = opendir(path);
	if (!dir) {
		rc = -errno;
		tfs_err("format disk %s: cannot list it: %s", path, tfs_strerror(rc));
		return rc;
	}
	bool empty = true;
	struct dirent *de;
	while ((de = readdir(dir))) {
		/* A freshly made filesystem's root holds lost+found: still empty. */
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, "lost+found"))
			empty = false;
	}
	closedir(dir);
	if (!empty && !force) {
		tfs_err("format disk %s: the directory is not empty; use --force to format it "
			"anyway",
			path);
		return -ENOTEMPTY;
	}
	snprintf(tracks, sizeof(tracks), "%s/tracks", path);
	snprintf(idpath, sizeof(idpath), "%s/%s", path, TRK_IDENTITY_FILE);
	rc = remove_tracks(tracks);
	if (rc < 0) {
		tfs_err("format disk %s: cannot remove old tracks: %s", path, tfs_strerror(rc));
		return rc;
	}
	if (mkdir(tracks, 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		tfs_err("format disk %s: cannot create %s: %s", path, tracks, tfs_strerror(rc));
		return rc;
	}
	tfs_uuid_format(volume_uuid, a);
	tfs_uuid_format(disk_uuid, b);
	char text[512];
	int len = snprintf(text, sizeof(text),
			   "format = %s\nvolume_uuid = %s\ndisk_uuid = %s\ndisk_index = %u\n"
			   "chunk_size = %u\n",
			   TRK_IDENTITY_FORMAT, a, b, disk_index, chunk_size);
	rc = tfs_write_file_atomic(idpath, text, (size_t)len);
	if (rc < 0) {
		tfs_err("format disk %s: cannot write %s: %s", path, idpath, tfs_strerror(rc));
		return rc;
	}
	return 0;
}

/* Open track files 0..max found in tracks/. A gap is a failed track. */
static int open_tracks(struct trk_pool *pool, struct trk_disk *d)
{
	DIR *dir = opendir(d->tracks_dir);
	struct dirent *de;
	long max = -1;
	int rc;

	if (!dir) {
		rc = -errno;
		/* No track was ever created there: recreate the folder lazily. */
		if (rc == -ENOENT && (pool->cfg.readonly || mkdir(d->tracks_dir, 0755) == 0))
			return 0;
		tfs_err("disk %s: cannot list %s: %s", d->path, d->tracks_dir, tfs_strerror(rc));
		return -EINVAL;
	}
	while ((de = readdir(dir))) {
		unsigned n;
		int end = 0;
		if (sscanf(de->d_name, "track-%6u.trk%n", &n, &end) == 1 && end > 0 &&
		    de->d_name[end] == '\0' && n < TRK_MAX_TRACKS && (long)n > max)
			max = n;
	}
	closedir(dir);
	for (long n = 0; n <= max; n++) {
		struct trk_track *t = NULL;
		rc = trk_track_open(pool, d, (uint32_t)n, &t);
		if (rc == 0)
			rc = trk_disk_publish(d, t);
		if (rc < 0) {
			trk_track_destroy(t);
			return rc;
		}
	}
	return 0;
}

/* The identity @p id read from disk @p d's directory must be this disk of
 * this volume, with its chunk size. @return 0 or -EINVAL (logged). */
static int identity_check(struct trk_pool *pool, struct trk_disk *d, const struct identity *id,
			  unsigned index)
{
	char a[TFS_UUID_STRLEN], b[TFS_UUID_STRLEN];

	if (!tfs_uuid_equal(&id->volume, &pool->cfg.volume_uuid)) {
		tfs_uuid_format(&pool->cfg.volume_uuid, a);
		tfs_uuid_format(&id->volume, b);
		tfs_err("disk %s: wrong or swapped disk: expected volume %s, found volume %s",
			d->path, a, b);
		return -EINVAL;
	}
	if (!tfs_uuid_equal(&id->disk, &d->uuid) || id->disk_index != index) {
		tfs_uuid_format(&d->uuid, a);
		tfs_uuid_format(&id->disk, b);
		tfs_err("disk %s: wrong or swapped disk: expected disk %s (index %u), found disk "
			"%s (index %u)",
			d->path, a, index, b, id->disk_index);
		return -EINVAL;
	}
	if (id->chunk_size != pool->cfg.chunk_size) {
		tfs_err("disk %s: chunk size %u does not match the volume's %u", d->path,
			id->chunk_size, pool->cfg.chunk_size);
		return -EINVAL;
	}
	return 0;
}

int trk_disk_open(struct trk_pool *pool, struct trk_disk *d, const struct trk_disk_spec *spec,
		  unsigned index)
{
	char why[512];
	struct identity id;
	struct stat st;
	int rc;

	d->pool = pool;
	d->index = index;
	d->uuid = spec->uuid;
	if (spec->removed) {
		d->path = strdup("(removed)");
		d->tracks_dir = d->path ? strdup("(removed)") : NULL;
		if (!d->tracks_dir)
			return -ENOMEM;
		d->missing = true;
		d->removed = true;
		return 0;
	}
	d->path = strdup(spec->path);
	if (!d->path || asprintf(&d->tracks_dir, "%s/tracks", spec->path) < 0) {
		d->tracks_dir = NULL;
		return -ENOMEM;
	}
	rc = stat(d->path, &st) < 0 ? -errno : 0;
	if (rc < 0 || !S_ISDIR(st.st_mode)) {
		tfs_warn("disk %u (%s) is missing (%s): its files return EIO until it is back",
			 index, d->path, rc < 0 ? tfs_strerror(rc) : "not a directory");
		d->missing = true;
		return 0;
	}
	rc = identity_read(d->path, &id, why, sizeof(why));
	if (rc == -ENOENT) {
		/* What a disk that was not mounted at boot looks like: the empty
		 * mount point. Never written to (not even tracks/), so that the
		 * device mounted there later finds it as it was. */
		tfs_warn("disk %u (%s) is missing: the directory exists but has no %s identity "
			 "file, so the device that holds this disk is probably not mounted "
			 "there. The volume runs without it: its files return EIO, nothing is "
			 "written into that directory, and its data is safe once it is back "
			 "(mount the device at %s, then remount the volume)",
			 index, d->path, TRK_IDENTITY_FILE, d->path);
		d->missing = true;
		return 0;
	}
	if (rc < 0) {
		tfs_err("disk %u (%s): not a usable trackfs disk (%s); check the path and the "
			"file, or restore it from a copy: do not format a disk that holds data",
			index, d->path, why);
		return rc == -ENOMEM ? rc : -EINVAL;
	}
	rc = identity_check(pool, d, &id, index);
	if (rc < 0)
		return rc;
	return open_tracks(pool, d);
}

int trk_disk_reopen(struct trk_pool *pool, struct trk_disk *d)
{
	struct identity id;
	char why[512];
	int rc = identity_read(d->path, &id, why, sizeof(why));

	if (rc == -ENOENT)
		return 0; /* still the empty mount point, or still absent */
	if (rc < 0) {
		tfs_err("disk %u (%s) came back but is not usable (%s); it stays missing: check "
			"the file, or restore it from a copy",
			d->index, d->path, why);
		return rc == -ENOMEM ? rc : -EINVAL;
	}
	rc = identity_check(pool, d, &id, d->index);
	if (rc < 0)
		return rc;
	rc = open_tracks(pool, d);
	return rc < 0 ? rc : 1;
}

void trk_disk_close(struct trk_disk *d)
{
	uint32_t n = atomic_load(&d->ntracks);

	for (uint32_t i = 0; i < n; i++)
		trk_track_destroy(trk_disk_track(d, i));
	for (unsigned i = 0; i < TRK_LEAVES; i++)
		free(d->leaves[i]);
	free(d->path);
	free(d->tracks_dir);
}

int trk_disk_grow(struct trk_pool *pool, struct trk_disk *d, uint32_t upto)
{
	int rc = 0;

	if (pool->cfg.readonly)
		return -EROFS;
	if (upto >= TRK_MAX_TRACKS)
		return -ERANGE;
	while (d->creating)
		pthread_cond_wait(&pool->cv, &pool->mu);
	if (atomic_load(&d->ntracks) > upto)
		return 0;
	d->creating = true;
	pthread_mutex_unlock(&pool->mu);
	for (uint32_t n = atomic_load(&d->ntracks); n <= upto && rc == 0; n++) {
		struct trk_track *t = NULL;
		rc = trk_track_create(pool, d, n, &t);
		if (rc == 0) {
			/* Publish under mu so allocators see a consistent track. */
			pthread_mutex_lock(&pool->mu);
			rc = trk_disk_publish(d, t);
			if (rc == 0 && d->fs)
				d->fs->claimed += TRK_HDR_SIZE; /* its header */
			pthread_mutex_unlock(&pool->mu);
			if (rc < 0)
				trk_track_destroy(t);
		}
	}
	pthread_mutex_lock(&pool->mu);
	d->creating = false;
	pthread_cond_broadcast(&pool->cv);
	return rc;
}
