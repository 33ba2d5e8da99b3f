/* The volume file (meta/volume.conf: `key = value` lines naming the volume
 * and its disks by UUID), and finding a volume's metadata directory from
 * what a user names (the directory, its parent, or a mount point). The
 * volume lock is in lock.c. */
#include "fs/vol/volfile.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/fileio.h"
#include "core/base/log.h"
#include "core/pool.h"

#define VOLFILE_FORMAT 1
#define VOLFILE_MAX_BYTES (1u << 20)

static bool has_volfile(const char *dir)
{
	char path[PATH_MAX + 32];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", dir, VOL_VOLFILE_NAME) >= (int)sizeof(path))
		return false;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Undo the octal escapes (\040 for a space) of a /proc/self/mountinfo field. */
static void mountinfo_unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* If @p dir is where a trackfs volume is mounted, the volume the daemon was
 * given (its fsname is "trackfs:VOLUME"), found without a call into the
 * mount itself. @return true with @p vol set. */
static bool mounted_volume(const char *dir, char vol[PATH_MAX])
{
	char real[PATH_MAX], line[3 * PATH_MAX];
	bool found = false;
	FILE *f;

	if (!realpath(dir, real))
		return false;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char mpoint[PATH_MAX], type[64], source[PATH_MAX];
		char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*u %*u %*s %*s %4095s", mpoint) != 1 ||
		    sscanf(sep + 3, "%63s %4095s", type, source) != 2)
			continue;
		mountinfo_unescape(mpoint);
		mountinfo_unescape(source);
		/* The last match is the mount on top. */
		if (!strcmp(mpoint, real) && !strcmp(type, "fuse.trackfs") &&
		    !strncmp(source, "trackfs:", 8) && source[8]) {
			snprintf(vol, PATH_MAX, "%s", source + 8);
			found = true;
		} else if (!strcmp(mpoint, real)) {
			found = false;
		}
	}
	fclose(f);
	return found;
}

int vol_meta_resolve(const char *arg, char out[PATH_MAX])
{
	char cand[PATH_MAX + 8], vol[PATH_MAX];

	if (!arg || !*arg) {
		tfs_err("open volume: no volume directory given");
		return -EINVAL;
	}
	/* A mount point names its volume (`trackfs status /mnt/media`). */
	if (mounted_volume(arg, vol))
		arg = vol;
	if (has_volfile(arg)) {
		snprintf(cand, sizeof(cand), "%s", arg);
	} else {
		if (snprintf(cand, sizeof(cand), "%s/meta", arg) >= PATH_MAX)
			return -ENAMETOOLONG;
		if (!has_volfile(cand)) {
			tfs_err("open volume %s: neither %s/%s nor %s/%s exists: "
				"is this a trackfs volume (made by mkfs.trackfs)?",
				arg, arg, VOL_VOLFILE_NAME, cand, VOL_VOLFILE_NAME);
			return -ENOENT;
		}
	}
	if (!realpath(cand, out)) {
		int rc = -errno;
		tfs_err("open volume %s: cannot resolve %s: %s", arg, cand, tfs_strerror(rc));
		return rc;
	}
	return 0;
}

/* Strip leading and trailing white space in place; returns the start. */
static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = x;
	return 0;
}

/* "disk = <index> <uuid> <absolute path>": the path is the rest of the line,
 * so it may contain spaces. */
static int parse_disk(char *val, struct vol_volfile *vf, const char **why)
{
	char *sp = strchr(val, ' ');
	uint64_t idx;

	if (!sp) {
		*why = "expected: disk = <index> <uuid> <path>";
		return -EINVAL;
	}
	*sp = '\0';
	if (parse_u64(val, &idx) < 0 || idx >= VOL_MAX_DISKS) {
		*why = "bad disk index";
		return -EINVAL;
	}
	if (strcmp(trim(sp + 1), "removed") == 0) {
		if (idx != vf->ndisks) {
			*why = "disk indexes must be listed in order 0, 1, 2 ...";
			return -EINVAL;
		}
		memset(&vf->disks[idx], 0, sizeof(vf->disks[idx]));
		vf->disks[idx].removed = true;
		vf->ndisks++;
		return 0;
	}
	char *u = trim(sp + 1);
	sp = strchr(u, ' ');
	if (!sp) {
		*why = "expected: disk = <index> <uuid> <path>";
		return -EINVAL;
	}
	*sp = '\0';
	char *path = trim(sp + 1);
	if (idx != vf->ndisks) {
		*why = "disk indexes must be listed in order 0, 1, 2 ...";
		return -EINVAL;
	}
	if (tfs_uuid_parse(u, &vf->disks[idx].uuid) < 0) {
		*why = "bad disk UUID";
		return -EINVAL;
	}
	if (path[0] != '/' || strlen(path) >= sizeof(vf->disks[idx].path)) {
		*why = "the disk path must be absolute";
		return -EINVAL;
	}
	strcpy(vf->disks[idx].path, path);
	vf->disks[idx].removed = false;
	vf->ndisks++;
	return 0;
}

static int parse_line(char *line, struct vol_volfile *vf, bool *have_uuid, const char **why)
{
	char *eq = strchr(line, '=');
	uint64_t x;

	if (!eq) {
		*why = "expected `key = value`";
		return -EINVAL;
	}
	*eq = '\0';
	char *key = trim(line), *val = trim(eq + 1);

	if (strcmp(key, "format") == 0) {
		if (parse_u64(val, &x) < 0 || x != VOLFILE_FORMAT) {
			*why = "unknown format (made by a newer trackfs?)";
			return -EINVAL;
		}
	} else if (strcmp(key, "uuid") == 0) {
		if (tfs_uuid_parse(val, &vf->uuid) < 0) {
			*why = "bad volume UUID";
			return -EINVAL;
		}
		*have_uuid = true;
	} else if (strcmp(key, "label") == 0) {
		if (strlen(val) >= sizeof(vf->label)) {
			*why = "label longer than 64 bytes";
			return -EINVAL;
		}
		strcpy(vf->label, val);
	} else if (strcmp(key, "chunk_size") == 0) {
		if (parse_u64(val, &x) < 0 || x == 0 || x > UINT32_MAX || (x & (x - 1))) {
			*why = "chunk_size must be a power of two";
			return -EINVAL;
		}
		vf->chunk_size = (uint32_t)x;
	} else if (strcmp(key, "max_track_bytes") == 0) {
		if (parse_u64(val, &x) < 0) {
			*why = "bad max_track_bytes";
			return -EINVAL;
		}
		vf->max_track_bytes = x;
	} else if (strcmp(key, "placement") == 0) {
		enum trk_placement pl;
		if (trk_placement_parse(val, &pl) < 0) {
			*why = "placement must be mfs, lus, ff or rand";
			return -EINVAL;
		}
		vf->placement = (unsigned)pl;
	} else if (strcmp(key, "reserve") == 0) {
		if (strcmp(val, "auto") == 0) {
			vf->reserve = VOL_RESERVE_AUTO;
		} else if (parse_u64(val, &x) < 0 || x == VOL_RESERVE_AUTO) {
			*why = "reserve must be `auto` or a number of bytes";
			return -EINVAL;
		} else {
			vf->reserve = x;
		}
	} else if (strcmp(key, "meta_mirror") == 0) {
		if (val[0] != '/' || strlen(val) >= sizeof(vf->meta_mirror)) {
			*why = "meta_mirror must be an absolute path";
			return -EINVAL;
		}
		snprintf(vf->meta_mirror, sizeof(vf->meta_mirror), "%s", val);
	} else if (strcmp(key, "disk") == 0) {
		if (vf->ndisks >= VOL_MAX_DISKS) {
			*why = "too many disks";
			return -EINVAL;
		}
		return parse_disk(val, vf, why);
	} else {
		*why = "unknown key";
		return -EINVAL;
	}
	return 0;
}

int vol_volfile_read(const char *meta_dir, struct vol_volfile *out)
{
	char path[PATH_MAX + 32];
	char *text;
	bool have_uuid = false;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", meta_dir, VOL_VOLFILE_NAME);
	rc = tfs_read_file(path, VOLFILE_MAX_BYTES, &text, NULL);
	if (rc < 0) {
		tfs_err("read volume file %s: %s", path, tfs_strerror(rc));
		return rc;
	}

	struct vol_volfile *vf = calloc(1, sizeof(*vf));
	if (!vf) {
		free(text);
		return -ENOMEM;
	}
	vf->reserve = VOL_RESERVE_AUTO;
	unsigned lineno = 0;
	char *save = NULL;
	/* strtok_r would skip empty lines and so miscount; walk by hand. */
	for (char *line = text; line; line = save) {
		char *nl = strchr(line, '\n');
		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		lineno++;
		char *s = trim(line);
		if (!*s || *s == '#')
			continue;
		const char *why = "";
		rc = parse_line(s, vf, &have_uuid, &why);
		if (rc < 0) {
			tfs_err("volume file %s line %u: %s; fix the line or recreate the volume "
				"file",
				path, lineno, why);
			goto out_free;
		}
	}
	rc = -EINVAL;
	if (!have_uuid) {
		tfs_err("volume file %s: no `uuid = ...` line", path);
		goto out_free;
	}
	if (!vf->chunk_size) {
		tfs_err("volume file %s: no `chunk_size = ...` line", path);
		goto out_free;
	}
	if (!vf->ndisks) {
		tfs_err("volume file %s: no `disk = ...` line", path);
		goto out_free;
	}
	*out = *vf;
	rc = 0;
out_free:
	free(vf);
	free(text);
	return rc;
}

int vol_volfile_write(const char *meta_dir, const struct vol_volfile *vf)
{
	char path[PATH_MAX + 32], u[TFS_UUID_STRLEN];
	size_t cap = 512 + PATH_MAX + (size_t)vf->ndisks * (PATH_MAX + 64), len = 0;
	int rc;

	if (strchr(vf->label, '\n')) {
		tfs_err("write volume file in %s: the label may not contain a newline", meta_dir);
		return -EINVAL;
	}
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	tfs_uuid_format(&vf->uuid, u);
	len += (size_t)snprintf(buf + len, cap - len,
				"# trackfs volume file: the disks of this volume, by UUID.\n"
				"# The disk paths may be edited when disks move.\n"
				"format = %d\nuuid = %s\nlabel = %s\nchunk_size = %" PRIu32
				"\nmax_track_bytes = %" PRIu64 "\n",
				VOLFILE_FORMAT, u, vf->label, vf->chunk_size, vf->max_track_bytes);
	len += (size_t)snprintf(
		buf + len, cap - len,
		"# placement of new files: mfs (most free space), lus (least used\n"
		"# space), ff (first found), rand (random, weighted by free space)\n"
		"placement = %s\n",
		trk_placement_name((enum trk_placement)vf->placement));
	if (vf->reserve == VOL_RESERVE_AUTO)
		len += (size_t)snprintf(buf + len, cap - len,
					"# bytes kept free on each disk; auto = min(4 GiB, 5%%)\n"
					"reserve = auto\n");
	else
		len += (size_t)snprintf(buf + len, cap - len, "reserve = %" PRIu64 "\n",
					vf->reserve);
	if (vf->meta_mirror[0])
		len += (size_t)snprintf(buf + len, cap - len,
					"# a second copy of this directory, kept current\n"
					"meta_mirror = %s\n",
					vf->meta_mirror);
	for (unsigned i = 0; i < vf->ndisks; i++) {
		if (vf->disks[i].removed) {
			len += (size_t)snprintf(buf + len, cap - len, "disk = %u removed\n", i);
			continue;
		}
		tfs_uuid_format(&vf->disks[i].uuid, u);
		len += (size_t)snprintf(buf + len, cap - len, "disk = %u %s %s\n", i, u,
					vf->disks[i].path);
	}
	snprintf(path, sizeof(path), "%s/%s", meta_dir, VOL_VOLFILE_NAME);
	rc = tfs_write_file_atomic(path, buf, len);
	if (rc < 0)
		tfs_err("write volume file %s: %s", path, tfs_strerror(rc));
	if (rc == 0 && vf->meta_mirror[0] && strcmp(vf->meta_mirror, meta_dir) != 0) {
		/* The mirror is a whole metadata directory: it gets the volume
		 * file too. Its failure is the mirror's, not the volume's. */
		char mpath[PATH_MAX + 32];
		snprintf(mpath, sizeof(mpath), "%s/%s", vf->meta_mirror, VOL_VOLFILE_NAME);
		int mrc = tfs_write_file_atomic(mpath, buf, len);
		if (mrc < 0)
			tfs_warn("write volume file %s into the metadata mirror: %s; the mirror "
				 "holds an older copy of it",
				 mpath, tfs_strerror(mrc));
	}
	free(buf);
	return rc;
}
