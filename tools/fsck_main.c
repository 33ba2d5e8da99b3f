/* fsck.trackfs: options, opening the volume (metadata, lock, index, pool),
 * the order of the checks, the summary line and fsck(8) exit codes.
 * The checks themselves are in fsck_tree.c and fsck_extents.c. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/log.h"
#include "tools/cli_common.h"
#include "tools/fsck.h"
#include "tools/meta.h"

bool fsck_problem(struct fsck *f, bool fixable, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	f->errors++;
	if (fixable && f->repair) {
		f->pending++;
		printf(" [fixing]\n");
		return true;
	}
	f->left++;
	f->fixable += fixable;
	printf("\n");
	return false;
}

void fsck_note(struct fsck *f, const char *fmt, ...)
{
	va_list ap;

	f->notes++;
	if (f->quiet)
		return;
	printf("note: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

int fsck_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 64;
	while (ncap < need)
		ncap *= 2;
	void *p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

void fsck_free(struct fsck *f)
{
	for (size_t i = 0; i < f->ninodes; i++)
		free(f->inodes[i].name);
	for (size_t i = 0; i < f->ndfixes; i++)
		free(f->dfixes[i].name);
	free(f->inodes);
	free(f->edges);
	free(f->dfixes);
	free(f->xfixes);
	free(f->odel);
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: fsck.trackfs [--repair] [--scrub] [-q] VOLUME\n"
		     "       fsck.trackfs --restore-meta --disk PATH... [--from SNAPSHOT|MIRROR] "
		     "METADIR\n"
		     "Check a trackfs volume (its metadata directory, or a disk holding meta/).\n"
		     "\n"
		     "  -r, --repair  correct what can be corrected\n"
		     "  -s, --scrub   also read every chunk and verify its checksum\n"
		     "  -q, --quiet   print nothing when the volume is clean\n"
		     "  -y, -a, -p    as --repair (what fsck(8) passes to fix automatically)\n"
		     "  -n            check only (the default)\n"
		     "  -h, --help    show this help\n"
		     "      --version print the version\n"
		     "  --restore-meta: fsck.trackfs --restore-meta --help tells its options\n"
		     "\n"
		     "Exit status (fsck(8)'s; they add up): 0 clean, 1 errors corrected,\n"
		     "4 errors left uncorrected, 8 operational error (the volume could not be\n"
		     "opened), 16 usage error.\n");
}

/* Open metadata, lock, index and pool. @return 0 or an fsck exit code. */
/* LMDB follows the page numbers it finds: a damaged data.mdb can send it
 * past the end of the file (SIGBUS). Say so instead
 * of dumping core; nothing was being written (a read-only check) or the
 * write was not committed. */
static void fault_handler(int sig)
{
	static const char msg[] =
		"fsck.trackfs: reading the index faulted: data.mdb is damaged (garbage pages); "
		"rebuild the metadata directory from the index snapshots on the data disks: "
		"fsck.trackfs --restore-meta --disk DISK... METADIR\n";
	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(FSCK_OPERATIONAL);
	_exit(FSCK_OPERATIONAL);
}

/* The command that rebuilds this volume's metadata directory from the
 * index snapshots on its disks (tools/restore.c). */
static void say_restore(const struct fsck *f)
{
	fprintf(stderr,
		"%s: to rebuild it from the index snapshots on the data disks (or the "
		"metadata mirror):\n  fsck.trackfs --restore-meta",
		cli_prog);
	for (unsigned i = 0; i < f->vf.ndisks; i++)
		if (!f->vf.disks[i].removed)
			fprintf(stderr, " --disk %s", f->vf.disks[i].path);
	if (!f->vf.ndisks)
		fprintf(stderr, " --disk DISK...");
	if (f->vf.meta_mirror[0])
		fprintf(stderr, " --mirror %s", f->vf.meta_mirror);
	fprintf(stderr, " %s\n", f->meta);
}

static int fsck_open(struct fsck *f)
{
	struct trk_disk_spec specs[VOL_MAX_DISKS];
	int rc;

	rc = vol_meta_resolve(f->volume_arg, f->meta);
	if (rc < 0) {
		cli_msg("%s is not a trackfs volume (no volume.conf in it or in its meta/); if "
			"its metadata directory was lost, rebuild it from the data disks: "
			"fsck.trackfs --restore-meta --disk DISK... METADIR",
			f->volume_arg);
		return FSCK_OPERATIONAL;
	}
	rc = vol_volfile_read(f->meta, &f->vf);
	if (rc < 0) {
		cli_fail("cannot read %s/%s: %s", f->meta, VOL_VOLFILE_NAME, tfs_strerror(rc));
		say_restore(f);
		return FSCK_OPERATIONAL;
	}
	f->lock_fd = vol_lock_take(f->meta, "fsck.trackfs");
	if (f->lock_fd < 0) {
		if (f->lock_fd == -EBUSY)
			cli_msg("the volume %s is in use (mounted?); unmount it before checking",
				f->meta);
		else
			cli_fail("cannot lock the volume %s: %s", f->meta,
				 tfs_strerror(f->lock_fd));
		return FSCK_OPERATIONAL;
	}
	snprintf(f->index_dir, sizeof(f->index_dir), "%s/%s", f->meta, VOL_INDEX_DIR);
	rc = idx_env_open(f->index_dir, f->repair ? 0 : IDX_RDONLY, &f->idx);
	if (rc < 0) {
		cli_fail("cannot open the index in %s: %s", f->index_dir, tfs_strerror(rc));
		say_restore(f);
		return FSCK_OPERATIONAL;
	}

	f->chunk_size = f->vf.chunk_size;
	struct trk_pool_config cfg = {
		.volume_uuid = f->vf.uuid,
		.chunk_size = f->vf.chunk_size,
		.max_track_bytes = f->vf.max_track_bytes,
		.io_threads = 1,
		.readonly = !f->repair,
	};
	uint64_t track_bytes =
		f->vf.max_track_bytes ? f->vf.max_track_bytes : TRK_DEFAULT_TRACK_SIZE;
	f->chunks_per_track = f->chunk_size ? track_bytes / f->chunk_size : 0;
	for (unsigned i = 0; i < f->vf.ndisks; i++) {
		specs[i].path = f->vf.disks[i].path;
		specs[i].uuid = f->vf.disks[i].uuid;
		specs[i].removed = f->vf.disks[i].removed;
	}
	rc = trk_pool_open(&cfg, specs, f->vf.ndisks, &f->pool);
	if (rc < 0) {
		cli_fail("cannot open the disks of %s: %s (see the message above)", f->meta,
			 tfs_strerror(rc));
		return FSCK_OPERATIONAL;
	}
	for (unsigned i = 0; i < f->vf.ndisks; i++) {
		if (trk_pool_disk_missing(f->pool, i) && !f->vf.disks[i].removed) {
			f->missing_disk = true;
			fsck_problem(
				f, false,
				"disk %u (%s) is missing or unreadable: the files on it cannot "
				"be checked or read",
				i, f->vf.disks[i].path);
		}
	}
	return 0;
}

static void fsck_close(struct fsck *f)
{
	int rc = trk_pool_close(f->pool);

	if (rc < 0)
		cli_msg("closing the disks: %s", tfs_strerror(rc));
	rc = idx_env_close(f->idx, f->repair);
	if (rc < 0)
		cli_msg("closing the index: %s", tfs_strerror(rc));
	if (f->lock_fd >= 0)
		vol_lock_release(f->lock_fd);
}

/* Compare the volume record with volume.conf. @return 0 or an fsck exit code. */
static int check_volrec(struct fsck *f, struct idx_txn *txn)
{
	char a[TFS_UUID_STRLEN], b[TFS_UUID_STRLEN];
	int rc = idx_volume_get(txn, &f->vrec);

	if (rc < 0) {
		cli_fail("cannot read the volume record from the index in %s: %s", f->index_dir,
			 tfs_strerror(rc));
		return FSCK_OPERATIONAL;
	}
	if (!tfs_uuid_equal(&f->vrec.uuid, &f->vf.uuid)) {
		tfs_uuid_format(&f->vrec.uuid, a);
		tfs_uuid_format(&f->vf.uuid, b);
		cli_msg("the index in %s belongs to volume %s but %s/%s names volume %s",
			f->index_dir, a, f->meta, VOL_VOLFILE_NAME, b);
		return FSCK_OPERATIONAL;
	}
	if (f->vrec.chunk_size != f->vf.chunk_size) {
		cli_msg("the index says chunk size %u but %s/%s says %u", f->vrec.chunk_size,
			f->meta, VOL_VOLFILE_NAME, f->vf.chunk_size);
		return FSCK_OPERATIONAL;
	}
	f->unclean = !f->vrec.clean;
	return 0;
}

/*
 * Stale-disk records (index.h): frees the index made while a disk was
 * missing. On a disk still missing they are expected and only noted; on a
 * disk that is back its free lists lag behind the index like after an
 * unclean stop, until the next mount or --repair rebuilds them.
 */
static int check_stale(struct fsck *f, struct idx_txn *txn)
{
	for (unsigned i = 0; i < f->vf.ndisks; i++) {
		struct idx_disk_stale st;
		int rc = idx_disk_stale_get(txn, (uint16_t)i, &st);
		if (rc == -ENOENT)
			continue;
		if (rc < 0)
			return rc;
		bool missed = st.flags & IDX_DISK_STALE_MISSED_REBUILD;
		if (trk_pool_disk_missing(f->pool, i)) {
			fsck_note(f,
				  "%llu chunks on disk %u (%s) wait for the disk to return: files "
				  "on it were deleted, truncated or overwritten while it was "
				  "missing%s; the first mount with the disk present rebuilds its "
				  "free lists",
				  (unsigned long long)st.chunks, i, f->vf.disks[i].path,
				  missed ? ", and its free lists missed a rebuild after an unclean "
					   "shutdown"
					 : "");
			continue;
		}
		f->stale_disk = true;
		fsck_note(f,
			  "disk %u (%s) is back after being missing: its free lists lack %llu "
			  "chunks freed meanwhile%s; the next mount (or fsck.trackfs --repair) "
			  "rebuilds them",
			  i, f->vf.disks[i].path, (unsigned long long)st.chunks,
			  missed ? " and missed a rebuild after an unclean shutdown" : "");
	}
	return 0;
}

/* Run every check inside one read transaction. @return 0 or an fsck exit code. */
static int fsck_scan(struct fsck *f)
{
	struct idx_txn *txn;
	int rc, code;

	rc = idx_txn_begin(f->idx, &txn);
	if (rc < 0) {
		cli_fail("cannot read the index in %s: %s", f->index_dir, tfs_strerror(rc));
		return FSCK_OPERATIONAL;
	}
	code = check_volrec(f, txn);
	if (code)
		goto out_abort;
	if (f->unclean)
		printf("%s: not shut down cleanly: free lists are stale\n", f->meta);
	rc = check_stale(f, txn);
	if (rc < 0)
		goto out_err;
	if (trk_pool_needs_rebuild(f->pool) && !f->unclean) {
		if (fsck_problem(f, !f->missing_disk,
				 "the free lists on disk are damaged (see above)"))
			f->need_rebuild = true;
	}

	rc = fsck_tree_load(f, txn);
	if (rc < 0)
		goto out_err;
	rc = fsck_extents_scan(f, txn);
	if (rc < 0)
		goto out_err;
	rc = fsck_tree_check(f);
	if (rc < 0)
		goto out_err;
	idx_txn_abort(txn);

	if (f->unclean || f->stale_disk) {
		/* After an unclean stop the free lists on disk lag behind the index by
		 * design (the mount rebuilds them), and so do those of a disk that is
		 * back after being missing. Without --repair that is an error only
		 * when they also disagree with the index; with --repair they are rebuilt
		 * (and an unclean volume marked clean). */
		if (f->pool_problems) {
			if (fsck_problem(f, !f->missing_disk,
					 "the free lists disagree with the index in %llu places; "
					 "rebuilding them corrects this (fsck.trackfs --repair, or "
					 "mount the volume)",
					 (unsigned long long)f->pool_problems))
				f->need_rebuild = true;
		} else if (f->repair) {
			if (fsck_problem(f, !f->missing_disk,
					 "the free lists must be rebuilt from the index"))
				f->need_rebuild = true;
		} else {
			fsck_note(f, "the free lists agree with the index; the next mount "
				     "rebuilds them anyway");
		}
	}
	return 0;

out_err:
	cli_msg("checking %s failed: %s", f->meta, tfs_strerror(rc));
	if (rc == -EIO)
		say_restore(f);
	code = FSCK_OPERATIONAL;
out_abort:
	idx_txn_abort(txn);
	return code;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"repair", no_argument, NULL, 'r'},
		{"scrub", no_argument, NULL, 's'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct fsck fs;
	struct fsck *f = &fs;
	int c, code;

	cli_init(argv[0]);
	/* fsck.trackfs --restore-meta ...: rebuild a lost metadata directory
	 * (its --help is its own). */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--restore-meta") != 0)
			continue;
		memmove(argv + i, argv + i + 1, (size_t)(argc - i) * sizeof(*argv));
		return meta_restore_cli(argc - 1, argv, "fsck.trackfs --restore-meta");
	}
	cli_std_args(argc, argv, usage);
	f->lock_fd = -1;
	signal(SIGBUS, fault_handler);
	/* -y and -p are what fsck(8) passes to fix automatically. */
	while ((c = getopt_long(argc, argv, "rsqhyapn", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
		case 'y':
		case 'a':
		case 'p':
			f->repair = true;
			break;
		case 'n':
			break;
		case 's':
			f->scrub = true;
			break;
		case 'q':
			f->quiet = true;
			break;
		case 'h':
			usage(stdout);
			return FSCK_OK;
		default:
			usage(stderr);
			return 16; /* fsck(8): usage or syntax error */
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 16;
	}
	f->volume_arg = argv[optind];
	setvbuf(stdout, NULL, _IOLBF, 0);

	code = fsck_open(f);
	if (code)
		goto out_close;
	code = fsck_scan(f);
	if (code)
		goto out_close;
	if (f->repair && (f->pending || f->need_rebuild)) {
		int rc = fsck_repair(f);
		if (rc < 0) {
			cli_msg("repairing %s failed: %s; nothing more was changed", f->meta,
				tfs_strerror(rc));
			f->left += f->pending;
			f->pending = 0;
		}
	}
	f->fixed += f->pending;
	code = (f->fixed ? FSCK_CORRECTED : 0) | (f->left ? FSCK_UNCORRECTED : 0);
	if (code || !f->quiet) {
		printf("%s: %llu inodes (%llu files, %llu directories), %llu extents, %llu chunks",
		       f->meta, (unsigned long long)f->ninodes, (unsigned long long)f->nfiles,
		       (unsigned long long)f->ndirs, (unsigned long long)f->nextents,
		       (unsigned long long)f->total_chunks);
		if (f->scrub)
			printf(", %llu bad chunks", (unsigned long long)f->bad_chunks);
		if (!f->errors)
			printf(": clean\n");
		else
			printf(": %llu errors, %llu corrected, %llu left uncorrected\n",
			       (unsigned long long)f->errors, (unsigned long long)f->fixed,
			       (unsigned long long)f->left);
		if (f->fixable && !f->repair)
			printf("Run fsck.trackfs --repair %s to correct what can be corrected.\n",
			       f->volume_arg);
	}
out_close:
	fsck_close(f);
	fsck_free(f);
	return code;
}
