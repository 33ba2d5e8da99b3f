/* trackfs-bench-engine space measurement: many small files of random sizes
 * written through fs/vol, then what the volume occupies on the host (track
 * files and the index, by allocated blocks) against the bytes written. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/log.h"
#include "core/base/progress.h"
#include "fs/vol/vol.h"
#include "fs/vol/volfile.h"
#include "tools/bench.h"
#include "tools/cli_common.h"

#define SPACE_MAX (64u << 10)

int bench_space(const struct bench_opts *o, struct bench_space *out)
{
	char root[PATH_MAX], meta[PATH_MAX], name[32], path[PATH_MAX + 32];
	struct vol_cred cred = {.uid = 0, .gid = 0};
	struct tfs_progress p;
	struct vol_attr a;
	struct vol *v;
	uint64_t seed = 20261123;
	char *buf;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((size_t)snprintf(root, sizeof(root), "%s/space", o->dir) >= sizeof(root))
		return -ENAMETOOLONG;
	bench_rmtree(root);
	rc = bench_mkvol(root, meta);
	if (rc < 0)
		return rc;
	buf = malloc(SPACE_MAX);
	if (!buf) {
		rc = -ENOMEM;
		goto out_rm;
	}
	bench_fill(buf, SPACE_MAX, 3);
	rc = vol_open(meta, NULL, &v);
	if (rc < 0)
		goto out_free;
	tfs_progress_init(&p, "space: small files", o->space_files);
	for (unsigned i = 0; i < o->space_files; i++) {
		size_t len = 1 + bench_rand(&seed) % SPACE_MAX;
		snprintf(name, sizeof(name), "s%06u", i);
		rc = vol_create(v, VOL_ROOT_INO, name, S_IFREG | 0644, &cred, &a);
		if (rc < 0)
			break;
		memcpy(buf, &i, sizeof(i));
		ssize_t n = vol_write(v, a.ino, buf, len, 0);
		vol_forget(v, a.ino, 1);
		if (n != (ssize_t)len) {
			rc = n < 0 ? (int)n : -EIO;
			break;
		}
		out->files++;
		out->logical += len;
		tfs_progress_update(&p, i);
	}
	if (rc == 0)
		rc = vol_sync(v);
	tfs_progress_fini(&p);
	/* Measured while open, right after the sync, as the issue asks; the
	 * close that follows only rewrites headers in place. */
	snprintf(path, sizeof(path), "%s/disk1", root);
	out->track_bytes = bench_du(path, ".trk");
	snprintf(path, sizeof(path), "%s/%s", meta, VOL_INDEX_DIR);
	out->index_bytes = bench_du(path, "data.mdb");
	int crc = vol_close(v);
	if (rc == 0)
		rc = crc;
	if (rc < 0)
		cli_msg("space measurement in %s: %s", root, tfs_strerror(rc));
out_free:
	free(buf);
out_rm:
	bench_rmtree(root);
	return rc;
}
