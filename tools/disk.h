/* The subcommands of trackfs-disk that live in files of their own. Each takes
 * the arguments after its name and returns the exit status (0 done, 1 failed,
 * 2 bad usage). */
#ifndef TOOLS_DISK_H
#define TOOLS_DISK_H

#include <stdbool.h>
#include <stdint.h>

/** `trackfs disk drain VOLUME DISK [--rate SIZE/s]`, `drain --stop VOLUME [DISK]`. */
int cli_disk_drain(int argc, char **argv);

/** `trackfs disk remove VOLUME DISK` (an unmounted volume, a drained disk). */
int cli_disk_remove(int argc, char **argv);

/** `trackfs disk undrain VOLUME DISK` (mounted or not). */
int cli_disk_undrain(int argc, char **argv);

/** `trackfs disk files VOLUME DISK` (mounted or not). */
int cli_disk_files(int argc, char **argv);

/** Resolve @p arg (a disk's number or path) to its index in @p meta's
 * volume file; names the problem when it is none. @return 0, -ENODEV, -errno. */
int cli_disk_resolve(const char *meta, const char *arg, unsigned *disk);

/** `trackfs disk replace VOLUME OLD NEW [--rate SIZE/s]`. */
int cli_disk_replace(int argc, char **argv);

#endif
