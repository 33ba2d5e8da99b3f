/* trackfs-debug's subcommands that live outside debug.c. */
#ifndef CLI_DEBUG_H
#define CLI_DEBUG_H

/**
 * Print where byte @p offset_arg of file @p path of the (unmounted) volume
 * @p volume lies: disk directory, track number and file, chunk, and the byte
 * offset of that chunk in the track file. Reads the index directly (like
 * fsck) under the volume lock.
 * @return 0 or -errno (the message is printed).
 */
int debug_locate(const char *volume, const char *path, const char *offset_arg);

#endif
