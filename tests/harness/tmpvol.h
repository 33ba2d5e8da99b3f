/* Test fixtures shared by the C tests that drive fs/vol: a temporary
 * directory with a fresh volume over two disk directories, and a way to run
 * the real fsck.trackfs on it. */
#ifndef TFS_HARNESS_TMPVOL_H
#define TFS_HARNESS_TMPVOL_H

#include <limits.h>
#include <stdint.h>

struct tmpvol {
	char root[PATH_MAX]; /* mkdtemp directory, removed by tmpvol_destroy */
	char meta[PATH_MAX]; /* root/disk1/meta: the VOLUME argument */
	char disk[2][PATH_MAX];
};

/** Create root, two disks and a volume (chunk size 0 = default). Aborts the
 * test (criterion assert) on failure. */
void tmpvol_create(struct tmpvol *tv, uint32_t chunk_size);
/** Remove the whole temporary tree. */
void tmpvol_destroy(struct tmpvol *tv);
/** Run fsck.trackfs (from $TRACKFS_BIN_DIR/tools) with @p args on the volume;
 * @return its exit status (0 clean), or -1 if it could not be run. Its output
 * goes to the test's stderr. */
int tmpvol_fsck(const struct tmpvol *tv, const char *args);

#endif
