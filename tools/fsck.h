/* fsck.trackfs internals shared by fsck_main.c (options, opening, summary),
 * fsck_tree.c (inodes, directory tree, link counts, orphans, lost+found),
 * fsck_extents.c (extents against the pool's free lists, scrub) and
 * fsck_repair.c (writing the fixes and rebuilding the free lists). */
#ifndef CLI_FSCK_H
#define CLI_FSCK_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/base/progress.h"
#include "core/pool.h"
#include "fs/vol/volfile.h"
#include "index/index.h"

/* fsck(8) exit codes. */
#define FSCK_OK 0
#define FSCK_CORRECTED 1
#define FSCK_UNCORRECTED 4
#define FSCK_OPERATIONAL 8

/* What fsck knows of one inode (the index's inode plus what the scan found). */
struct fsck_inode {
	uint64_t ino;
	uint64_t size;
	uint64_t blocks; /* as recorded */
	uint64_t parent; /* as recorded (directories) */
	uint32_t mode;
	uint32_t nlink;	     /* as recorded */
	uint32_t links;	     /* directory entries found pointing at it */
	uint32_t subdirs;    /* entries of type directory inside it */
	uint64_t dparent;    /* the directory holding its first entry (0: none) */
	char *name;	     /* that entry's name (malloc'ed), for paths */
	uint64_t ext_chunks; /* chunks found in its extents */
	bool orphan;	     /* on the orphan list */
	bool reclaim;	     /* to be reclaimed (--repair) */
	bool relink;	     /* to be moved into /lost+found (--repair) */
	bool dirty;	     /* want_* differ from the record (--repair) */
	uint8_t reach;	     /* REACH_* */
	uint32_t want_nlink;
	uint64_t want_parent;
	uint64_t want_blocks;
};

enum { REACH_UNKNOWN, REACH_WALKING, REACH_YES, REACH_NO };

/* One directory entry (for reachability of files with several links). */
struct fsck_edge {
	uint64_t parent;
	uint64_t ino;
};

/* A fix to a directory entry, applied after the scan. */
enum fsck_dirent_fix { DFIX_DELETE, DFIX_RETYPE };
struct fsck_dfix {
	enum fsck_dirent_fix what;
	uint64_t parent;
	uint64_t ino;
	uint8_t type;
	char *name;
};

/* An extent to delete (--repair), applied after the scan. */
struct fsck_xfix {
	uint64_t ino;
	uint64_t off;
};

struct fsck {
	/* options */
	bool repair, scrub, quiet;
	const char *volume_arg;

	/* the opened volume */
	char meta[PATH_MAX];
	char index_dir[PATH_MAX + 16];
	struct vol_volfile vf;
	int lock_fd;
	struct idx_env *idx;
	struct trk_pool *pool;
	struct idx_volume vrec;
	uint32_t chunk_size;
	uint64_t chunks_per_track;

	/* the scan */
	struct fsck_inode *inodes; /* sorted by ino */
	size_t ninodes, cap_inodes;
	struct fsck_edge *edges;
	size_t nedges, cap_edges;
	struct fsck_dfix *dfixes;
	size_t ndfixes, cap_dfixes;
	struct fsck_xfix *xfixes;
	size_t nxfixes, cap_xfixes;
	uint64_t *odel; /* entries to remove from the orphan list */
	size_t nodel, cap_odel;
	uint64_t total_chunks; /* for the progress bar */
	uint64_t nextents, nfiles, ndirs, bad_chunks;
	bool unclean;		/* the volume record says: not shut down cleanly */
	bool missing_disk;	/* a disk is missing: no allocator rebuild */
	bool stale_disk;	/* a present disk has a stale-disk record: its free lists lag */
	uint64_t pool_problems; /* free-list inconsistencies (stale after an unclean stop) */
	bool need_rebuild;	/* rebuild the free lists at the end (--repair) */
	struct tfs_progress progress;

	/* the verdict */
	uint64_t errors;  /* problems found */
	uint64_t pending; /* of those, to be corrected by fsck_repair */
	uint64_t fixed;	  /* of those, corrected */
	uint64_t left;	  /* of those, left uncorrected */
	uint64_t fixable; /* of those left, what --repair would correct */
	uint64_t notes;
};

/**
 * Report a problem. @p fixable: --repair will correct it (the caller then
 * schedules the fix); otherwise it counts as left uncorrected.
 * Returns true when the caller should schedule a fix.
 */
bool fsck_problem(struct fsck *f, bool fixable, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/** An informational line (not an error); suppressed by -q. */
void fsck_note(struct fsck *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Binary search of the inode table. @return the inode or NULL. */
struct fsck_inode *fsck_inode_find(struct fsck *f, uint64_t ino);
/** "/a/b/c" for @p ino (any one of its names), or "<inode N>" if unreachable. */
void fsck_path(struct fsck *f, uint64_t ino, char *buf, size_t size);

/* fsck_tree.c */
/** Load inodes, directory entries and the orphan list in @p txn. @return 0 or -errno. */
int fsck_tree_load(struct fsck *f, struct idx_txn *txn);
/** Check reachability, parents and (after fsck_extents_scan) link counts and blocks. */
int fsck_tree_check(struct fsck *f);

/* fsck_extents.c */
/** Walk every extent: bounds, owners, references against the free lists, scrub. */
int fsck_extents_scan(struct fsck *f, struct idx_txn *txn);

/* fsck_repair.c */
/** Write the scheduled fixes, make them durable, rebuild free lists if needed. */
int fsck_repair(struct fsck *f);

/** Grow an array by doubling. @return 0 or -ENOMEM. */
int fsck_grow(void **arr, size_t *cap, size_t need, size_t elem);

void fsck_free(struct fsck *f);

#endif
