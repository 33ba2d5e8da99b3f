/* Whole-buffer file I/O helpers that retry on EINTR and short transfers. */
#ifndef TFS_BASE_FILEIO_H
#define TFS_BASE_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/** pread until @p len bytes or EOF. @return bytes read (short only at EOF) or -errno. */
ssize_t tfs_pread_full(int fd, void *buf, size_t len, off_t off);
/** pwrite all @p len bytes. @return 0 or -errno (-ENOSPC, -EIO ...). */
int tfs_pwrite_full(int fd, const void *buf, size_t len, off_t off);
/** Read a whole small file (at most @p max bytes) into a malloc'ed NUL-terminated
 * buffer. @return 0, -ENOENT, -EFBIG, -ENOMEM or another -errno. */
int tfs_read_file(const char *path, size_t max, char **out, size_t *len_out);
/** Write @p len bytes to @p path atomically: temp file, fsync, rename, fsync dir.
 * @return 0 or -errno. */
int tfs_write_file_atomic(const char *path, const void *buf, size_t len);
/** fsync the directory at @p path. @return 0 or -errno. */
int tfs_fsync_dir(const char *path);

#endif
