/* trackfs-bench-meta: the index's snapshots and mirror at scale, through the
 * index API alone (no volume, no file data). For each file count it builds
 * an index of small files (inode, directory entry, one extent of a few
 * chunks with their checksums), then times a snapshot (written and fsynced),
 * its verification and restore, and a mirror resync; the restored index and
 * the mirror are compared record by record with the original. Then 4 writer
 * threads and a reader run on that index, first alone and then while
 * snapshots are taken back to back, and their latencies are printed side by
 * side; the last snapshot taken under load is restored and checked against
 * what the writers had committed. Prints tables; asserts only correctness. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/base/log.h"
#include "core/base/progress.h"
#include "core/base/uuid.h"
#include "index/index.h"
#include "tools/cli_common.h"

#ifndef TRACKFS_VERSION
#define TRACKFS_VERSION "unknown"
#endif

#define CHUNK 4096u
#define NDISKS 3u
#define TRACK_CHUNKS 16384u /* chunks per track: 64 MiB tracks */
#define FILES_PER_DIR 1000u
#define FLUSH_EVERY 10000u /* generated files between idx_env_flush calls */
#define WRITERS 4
#define SYNC_EVERY 100u	 /* transactions between a writer's idx_env_sync calls */
#define UNLINK_EVERY 16u /* one writer transaction in this many is an unlink */
#define MAX_RUNS 4

static const char volfile_text[] = "# trackfs volume (benchmark stand-in)\n"
				   "label = bench-meta\n"
				   "chunk_size = 4096\n"
				   "disk = 0 /srv/disk0\n"
				   "disk = 1 /srv/disk1\n"
				   "disk = 2 /srv/disk2\n";

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rmtree(const char *dir)
{
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static int mkdir_p1(const char *dir)
{
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int path_join(char out[PATH_MAX], const char *a, const char *b)
{
	if (snprintf(out, PATH_MAX, "%s/%s", a, b) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* data.mdb in @p dir: its length and the bytes allocated to it. */
static void mdb_size(const char *dir, uint64_t *len, uint64_t *alloc)
{
	char p[PATH_MAX];
	struct stat st;

	*len = *alloc = 0;
	if (path_join(p, dir, "data.mdb") == 0 && stat(p, &st) == 0) {
		*len = (uint64_t)st.st_size;
		*alloc = (uint64_t)st.st_blocks * 512;
	}
}

static void progress_cb(void *arg, uint64_t done, uint64_t total)
{
	struct tfs_progress *p = arg;

	/* The total is counted when a snapshot begins: records added while it
	 * runs can take it past. */
	p->total = done > total ? done : total;
	tfs_progress_update(p, done);
}

/* ---- the generated index ---------------------------------------------------- */

/*
 * Inode numbers: the root (1), the directories (2 .. ndirs + 1), then file
 * i at first_file + i, in directory i / FILES_PER_DIR, named file%07u.txt.
 */
struct layout {
	uint64_t files;
	uint64_t ndirs;
	uint64_t first_file;
};

static void layout_init(struct layout *l, uint64_t files)
{
	l->files = files;
	l->ndirs = (files + FILES_PER_DIR - 1) / FILES_PER_DIR;
	if (l->ndirs == 0)
		l->ndirs = 1;
	l->first_file = IDX_ROOT_INO + 1 + l->ndirs;
}

static uint64_t dir_ino(const struct layout *l, uint64_t i)
{
	return IDX_ROOT_INO + 1 + i / FILES_PER_DIR;
}

static size_t file_name(char *buf, size_t size, uint64_t i)
{
	return (size_t)snprintf(buf, size, "file%07" PRIu64 ".txt", i);
}

static struct timespec ts_at(uint64_t base_s, uint64_t i)
{
	struct timespec t = {.tv_sec = (time_t)(base_s + i / 1000),
			     .tv_nsec = (long)(i % 1000) * 1000000};
	return t;
}

static int put_dir(struct idx_env *env, uint64_t ino, uint64_t parent, const char *name,
		   uint64_t base_s)
{
	struct idx_inode in = {
		.ino = ino,
		.mode = S_IFDIR | 0755,
		.nlink = 2,
		.generation = 1,
		.atime = ts_at(base_s, 0),
		.mtime = ts_at(base_s, 0),
		.ctime = ts_at(base_s, 0),
		.btime = ts_at(base_s, 0),
		.parent = parent,
		.disk = IDX_NO_DISK,
	};
	struct idx_txn *txn;
	int rc = idx_txn_begin(env, &txn);

	if (rc)
		return rc;
	rc = idx_inode_put(txn, &in);
	if (rc == 0 && name)
		rc = idx_dirent_add(txn, parent, name, strlen(name), ino, DT_DIR);
	if (rc) {
		idx_txn_abort(txn);
		return rc;
	}
	return idx_txn_commit(txn);
}

/* Where the chunks of the next file go, per disk: like an allocator filling
 * tracks in order. */
struct alloc {
	uint64_t next[NDISKS];
};

static int put_file(struct idx_env *env, const struct layout *l, uint64_t i, uint64_t *seed,
		    struct alloc *al, uint64_t base_s)
{
	uint64_t size = 1 + rnd(seed) % (4 * CHUNK); /* 1 B .. 16 KiB: 1 to 4 chunks */
	uint32_t nchunks = (uint32_t)((size + CHUNK - 1) / CHUNK);
	uint16_t disk = (uint16_t)(i % NDISKS);
	struct idx_extent ext = {.off = 0, .disk = disk, .nchunks = nchunks};
	struct idx_inode in = {
		.ino = l->first_file + i,
		.mode = S_IFREG | 0644,
		.uid = 1000,
		.gid = 1000,
		.nlink = 1,
		.size = size,
		.blocks = nchunks,
		.generation = 1,
		.atime = ts_at(base_s, i),
		.mtime = ts_at(base_s, i),
		.ctime = ts_at(base_s, i),
		.btime = ts_at(base_s, i),
		.disk = disk,
	};
	char name[32];
	size_t namelen = file_name(name, sizeof(name), i);
	struct idx_txn *txn;
	int rc;

	uint64_t c = al->next[disk];
	if (c % TRACK_CHUNKS + nchunks > TRACK_CHUNKS)
		c += TRACK_CHUNKS - c % TRACK_CHUNKS; /* a run stays in one track */
	ext.track = (uint32_t)(c / TRACK_CHUNKS);
	ext.chunk = (uint32_t)(c % TRACK_CHUNKS);
	al->next[disk] = c + nchunks;
	for (uint32_t k = 0; k < nchunks; k++)
		ext.sums[k] = rnd(seed); /* checksums of data: incompressible */

	rc = idx_txn_begin(env, &txn);
	if (rc)
		return rc;
	rc = idx_inode_put(txn, &in);
	if (rc == 0)
		rc = idx_dirent_add(txn, dir_ino(l, i), name, namelen, in.ino, DT_REG);
	if (rc == 0)
		rc = idx_extent_put(txn, in.ino, &ext);
	if (rc) {
		idx_txn_abort(txn);
		return rc;
	}
	return idx_txn_commit(txn);
}

/* Build the index of @p l->files small files in @p dir. */
static int generate(const char *dir, const struct layout *l, struct idx_env **out, double *secs_out)
{
	struct idx_volume vol = {
		.chunk_size = CHUNK, .next_ino = IDX_ROOT_INO + 1, .generation = 1, .clean = true};
	struct tfs_progress pr;
	struct alloc al = {{0}};
	struct idx_env *env;
	struct idx_txn *txn;
	uint64_t seed = 0x9E3779B97F4A7C15ull, base_s = (uint64_t)time(NULL);
	uint64_t t0 = now_ns();
	int rc;

	rc = idx_env_open(dir, IDX_CREATE, &env);
	if (rc) {
		cli_fail("cannot create an index in %s: %s", dir, tfs_strerror(rc));
		return rc;
	}
	rc = tfs_uuid_generate(&vol.uuid);
	if (rc)
		goto fail;
	snprintf(vol.label, sizeof(vol.label), "bench-meta");
	rc = idx_txn_begin(env, &txn);
	if (rc)
		goto fail;
	rc = idx_volume_put(txn, &vol);
	if (rc == 0)
		rc = idx_ndisks_put(txn, NDISKS);
	if (rc) {
		idx_txn_abort(txn);
		goto fail;
	}
	rc = idx_txn_commit(txn);
	if (rc == 0)
		rc = put_dir(env, IDX_ROOT_INO, IDX_ROOT_INO, NULL, base_s);
	for (uint64_t d = 0; d < l->ndirs && rc == 0; d++) {
		char name[32];
		snprintf(name, sizeof(name), "dir%05" PRIu64, d);
		/* -EAGAIN: the map grows before the next transaction; retry. */
		for (int tries = 0; tries < 8; tries++)
			if ((rc = put_dir(env, IDX_ROOT_INO + 1 + d, IDX_ROOT_INO, name, base_s)) !=
			    -EAGAIN)
				break;
	}
	tfs_progress_init(&pr, "generating the index", l->files);
	for (uint64_t i = 0; i < l->files && rc == 0; i++) {
		uint64_t s = seed;
		struct alloc a = al;
		/* A retried file gets the same sizes and sums. */
		for (int tries = 0; tries < 8; tries++) {
			seed = s;
			al = a;
			rc = put_file(env, l, i, &seed, &al, base_s);
			if (rc != -EAGAIN)
				break;
		}
		if (rc == 0 && (i + 1) % FLUSH_EVERY == 0) {
			rc = idx_env_flush(env);
			tfs_progress_update(&pr, i + 1);
		}
	}
	tfs_progress_fini(&pr);
	if (rc)
		goto fail;
	/* The volume record as the volume would leave it. */
	rc = idx_txn_begin(env, &txn);
	if (rc)
		goto fail;
	vol.next_ino = l->first_file + l->files;
	rc = idx_volume_put(txn, &vol);
	if (rc) {
		idx_txn_abort(txn);
		goto fail;
	}
	rc = idx_txn_commit(txn);
	if (rc == 0)
		rc = idx_env_sync(env);
	if (rc)
		goto fail;
	*secs_out = secs(now_ns() - t0);
	*out = env;
	return 0;
fail:
	cli_msg("generating the index in %s failed: %s", dir, tfs_strerror(rc));
	idx_env_close(env, false);
	return rc;
}

/* ---- comparing two indexes record by record ------------------------------------ */

struct digest {
	XXH3_state_t *st;
	uint64_t inodes, dirents, extents;
};

static void h64(struct digest *d, uint64_t v)
{
	XXH3_64bits_update(d->st, &v, sizeof(v));
}

static void h_ts(struct digest *d, const struct timespec *t)
{
	h64(d, (uint64_t)t->tv_sec);
	h64(d, (uint64_t)t->tv_nsec);
}

static int dg_inode(void *arg, const struct idx_inode *in)
{
	struct digest *d = arg;

	h64(d, in->ino);
	h64(d, in->mode);
	h64(d, in->uid);
	h64(d, in->gid);
	h64(d, in->nlink);
	h64(d, in->size);
	h64(d, in->rdev);
	h64(d, in->blocks);
	h64(d, in->generation);
	h_ts(d, &in->atime);
	h_ts(d, &in->mtime);
	h_ts(d, &in->ctime);
	h_ts(d, &in->btime);
	h64(d, in->parent);
	h64(d, in->flags);
	h64(d, in->disk);
	d->inodes++;
	return 0;
}

static int dg_dirent(void *arg, uint64_t parent, const struct idx_dirent *de)
{
	struct digest *d = arg;

	h64(d, parent);
	h64(d, de->ino);
	h64(d, de->type);
	h64(d, de->slot);
	h64(d, de->namelen);
	XXH3_64bits_update(d->st, de->name, de->namelen);
	d->dirents++;
	return 0;
}

static int dg_extent(void *arg, uint64_t ino, const struct idx_extent *e)
{
	struct digest *d = arg;

	h64(d, ino);
	h64(d, e->off);
	h64(d, e->disk);
	h64(d, e->track);
	h64(d, e->chunk);
	h64(d, e->nchunks);
	XXH3_64bits_update(d->st, e->sums, sizeof(e->sums[0]) * e->nchunks);
	d->extents++;
	return 0;
}

struct index_sum {
	uint64_t hash, inodes, dirents, extents, seq, next_ino;
};

/* A digest of every inode, directory entry, extent and the volume record. */
static int index_digest(struct idx_env *env, struct index_sum *out)
{
	struct digest d = {0};
	struct idx_volume vol;
	struct idx_txn *txn;
	int rc;

	d.st = XXH3_createState();
	if (!d.st)
		return -ENOMEM;
	XXH3_64bits_reset(d.st);
	rc = idx_txn_begin_read(env, &txn);
	if (rc)
		goto out;
	rc = idx_volume_get(txn, &vol);
	if (rc == 0) {
		XXH3_64bits_update(d.st, vol.uuid.b, sizeof(vol.uuid.b));
		h64(&d, vol.chunk_size);
		h64(&d, vol.next_ino);
		h64(&d, vol.generation);
		XXH3_64bits_update(d.st, vol.label, strlen(vol.label));
		rc = idx_inode_iter(txn, dg_inode, &d);
	}
	if (rc == 0)
		rc = idx_dirent_iter_all(txn, dg_dirent, &d);
	if (rc == 0)
		rc = idx_extent_iter_all(txn, dg_extent, &d);
	idx_txn_abort(txn);
	if (rc == 0) {
		out->hash = XXH3_64bits_digest(d.st);
		out->inodes = d.inodes;
		out->dirents = d.dirents;
		out->extents = d.extents;
		out->seq = idx_env_seq(env);
		out->next_ino = vol.next_ino;
	}
out:
	XXH3_freeState(d.st);
	return rc;
}

/* Open the index in @p dir and compare it with @p want. */
static int check_copy(const char *what, const char *dir, const struct index_sum *want)
{
	struct idx_env *env;
	struct index_sum got;
	int rc = idx_env_open(dir, 0, &env);

	if (rc) {
		cli_msg("%s in %s cannot be opened: %s", what, dir, tfs_strerror(rc));
		return rc;
	}
	rc = index_digest(env, &got);
	idx_env_close(env, false);
	if (rc) {
		cli_msg("%s in %s cannot be read: %s", what, dir, tfs_strerror(rc));
		return rc;
	}
	if (got.hash != want->hash || got.inodes != want->inodes || got.dirents != want->dirents ||
	    got.extents != want->extents || got.seq != want->seq) {
		cli_msg("%s in %s differs from the index: %" PRIu64 " inodes, %" PRIu64
			" entries, %" PRIu64 " extents at commit %" PRIu64 " (digest %016" PRIx64
			") where the index has %" PRIu64 ", %" PRIu64 ", %" PRIu64
			" at commit %" PRIu64 " (digest %016" PRIx64 ")",
			what, dir, got.inodes, got.dirents, got.extents, got.seq, got.hash,
			want->inodes, want->dirents, want->extents, want->seq, want->hash);
		return -EIO;
	}
	return 0;
}

/* ---- part 1: snapshot, verify, restore, mirror resync ---------------------------- */

struct run {
	struct layout l;
	double gen_s;
	uint64_t mdb_len, mdb_alloc;
	double snap_s;
	uint64_t snap_bytes, snap_records;
	double verify_s, restore_s;
	uint64_t restored_len;
	double resync_s;
	uint64_t mirror_len;
	/* part 2 */
	struct load *load;
};

/* Take a snapshot of @p env into @p path: written, fsynced. */
static int snapshot_to(struct idx_env *env, const char *path, struct tfs_progress *pr,
		       struct idx_snap_info *info, int *fd_out)
{
	struct idx_snapshot_opts o = {
		.attach = volfile_text,
		.attach_len = sizeof(volfile_text) - 1,
		.progress = pr ? progress_cb : NULL,
		.progress_arg = pr,
	};
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc;

	if (fd < 0)
		return -errno;
	rc = idx_snapshot_write(env, fd, &o, info);
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (rc) {
		close(fd);
		unlink(path);
		return rc;
	}
	*fd_out = fd;
	return 0;
}

static int part1(struct idx_env *env, const char *base, struct run *r)
{
	char snap[PATH_MAX], restored[PATH_MAX], mirror[PATH_MAX], index[PATH_MAX], why[256];
	struct tfs_progress pr;
	struct idx_snap_info info, vinfo;
	struct index_sum want;
	uint64_t t0;
	int fd, rc;

	if (path_join(snap, base, "index.snap") || path_join(restored, base, "restored") ||
	    path_join(mirror, base, "mirror") || path_join(index, base, "index"))
		return -ENAMETOOLONG;
	mdb_size(index, &r->mdb_len, &r->mdb_alloc);
	rc = index_digest(env, &want);
	if (rc) {
		cli_msg("reading the generated index failed: %s", tfs_strerror(rc));
		return rc;
	}
	if (want.inodes != 1 + r->l.ndirs + r->l.files || want.dirents != r->l.ndirs + r->l.files ||
	    want.extents != r->l.files) {
		cli_msg("the generated index holds %" PRIu64 " inodes, %" PRIu64
			" entries, %" PRIu64 " extents: not what was written",
			want.inodes, want.dirents, want.extents);
		return -EIO;
	}

	tfs_progress_init(&pr, "snapshot", 0);
	t0 = now_ns();
	rc = snapshot_to(env, snap, &pr, &info, &fd);
	r->snap_s = secs(now_ns() - t0);
	tfs_progress_fini(&pr);
	if (rc) {
		cli_msg("taking a snapshot failed: %s", tfs_strerror(rc));
		return rc;
	}
	r->snap_bytes = IDX_SNAPSHOT_HEADER + info.body_len;
	r->snap_records = info.records;
	/* The snapshot ends with a group commit, which is not a change of
	 * the records: compare at the commit it holds. */
	want.seq = info.seq;

	/* Read it back from the disk, not from the page cache. */
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	t0 = now_ns();
	rc = idx_snapshot_verify(fd, &vinfo, NULL, why, sizeof(why));
	r->verify_s = secs(now_ns() - t0);
	if (rc == 0 && (vinfo.seq != info.seq || vinfo.records != info.records)) {
		snprintf(why, sizeof(why), "its header disagrees with what was written");
		rc = -EIO;
	}
	if (rc) {
		cli_msg("the snapshot %s does not verify: %s", snap, why);
		close(fd);
		return rc;
	}

	rc = mkdir_p1(restored);
	if (rc) {
		close(fd);
		return rc;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	struct idx_snapshot_opts ro = {.progress = progress_cb, .progress_arg = &pr};
	tfs_progress_init(&pr, "restore", info.records);
	t0 = now_ns();
	rc = idx_snapshot_restore(fd, restored, &ro, why, sizeof(why));
	r->restore_s = secs(now_ns() - t0);
	tfs_progress_fini(&pr);
	close(fd);
	if (rc) {
		cli_msg("restoring %s failed: %s", snap, why);
		return rc;
	}
	uint64_t dummy;
	mdb_size(restored, &r->restored_len, &dummy);
	rc = check_copy("the restored index", restored, &want);
	if (rc)
		return rc;
	rmtree(restored);
	unlink(snap);

	t0 = now_ns();
	rc = idx_mirror_resync(env, mirror);
	r->resync_s = secs(now_ns() - t0);
	if (rc) {
		cli_msg("resyncing a mirror in %s failed: %s", mirror, tfs_strerror(rc));
		return rc;
	}
	idx_mirror_detach(env);
	want.seq = idx_env_seq(env);
	mdb_size(mirror, &r->mirror_len, &dummy);
	rc = check_copy("the mirror", mirror, &want);
	if (rc)
		return rc;
	rmtree(mirror);
	return 0;
}

/* ---- part 2: writers and a reader, without and during snapshots ---------------- */

enum { PH_IDLE, PH_PLAIN, PH_SNAP, PH_MIRROR, PH_STOP, PH_COUNT };
enum { OP_CREATE, OP_SYNC, OP_LOOKUP, OP_COUNT };
static const char *const op_names[OP_COUNT] = {
	[OP_CREATE] = "write txn",
	[OP_SYNC] = "idx_env_sync",
	[OP_LOOKUP] = "lookup",
};

struct samples {
	uint64_t *v; /* latencies in ns */
	size_t n, cap;
};

static int samples_add(struct samples *s, uint64_t ns)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		uint64_t *nv = realloc(s->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = ns;
	return 0;
}

#define NO_FILE UINT64_MAX

/* A transaction a writer committed. */
struct op {
	uint64_t t0, t1; /* begun, and its commit returned (ns) */
	uint64_t seq;	 /* the inode number it took: its place in commit order */
	uint64_t n;	 /* a create's name: w<writer>-<n> */
	uint64_t file;	 /* the generated file it changed or removed, or NO_FILE */
	bool unlink;
};

struct load;

struct worker {
	struct load *ld;
	int id;
	pthread_t th;
	struct samples lat[OP_COUNT][PH_COUNT];
	struct op *ops;
	size_t nops, cap;
	uint64_t seed;
	uint64_t retries;
	int rc;
};

struct load {
	struct idx_env *env;
	const struct layout *l;
	_Atomic int phase;
	uint64_t wdir[WRITERS];
	struct worker w[WRITERS + 1]; /* the writers, then the reader */
	_Atomic uint64_t unlinks;     /* generated files handed to an unlink */
	uint64_t unlink_step;	      /* the k-th goes to file k * step mod files */
	unsigned char *gone;	      /* per generated file: handed to an unlink */
	double phase_s[PH_COUNT];
	unsigned snaps;
	double snap_total_s, snap_max_s;
	uint64_t slice_max_ns, end_max_ns; /* the longest lock holds of the snapshots */
	uint64_t last_t0, last_t1;	   /* the last snapshot: called, returned */
	uint64_t in, after;		   /* the writers' transactions in it, and not */
};

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static void create_name(char *buf, size_t size, size_t *len, int w, uint64_t n)
{
	*len = (size_t)snprintf(buf, size, "w%d-%09" PRIu64, w, n);
}

/*
 * A create, as the volume makes one: an inode number (also the transaction's
 * place in commit order), the inode, its entry, the parent directory's inode
 * (its size counts the entries, its times change); and the inode of an
 * existing file, anywhere in the table, changed (rdev = that number) like a
 * write to it: a change the snapshot's copy may have passed already.
 */
static int create_one(struct worker *w, uint64_t n, struct op *op)
{
	struct load *ld = w->ld;
	uint64_t parent = ld->wdir[w->id];
	uint64_t j = rnd(&w->seed) % ld->l->files;
	struct idx_inode in, dir, old;
	struct timespec now;
	struct idx_txn *txn;
	char name[48];
	size_t len;
	uint64_t ino = 0;
	int rc;

	create_name(name, sizeof(name), &len, w->id, n);
	clock_gettime(CLOCK_REALTIME, &now);
	rc = idx_txn_begin(ld->env, &txn);
	if (rc)
		return rc;
	rc = idx_ino_alloc(txn, &ino);
	if (rc == 0) {
		in = (struct idx_inode){
			.ino = ino,
			.mode = S_IFREG | 0644,
			.nlink = 1,
			.generation = 1,
			.atime = now,
			.mtime = now,
			.ctime = now,
			.btime = now,
			.disk = IDX_NO_DISK,
		};
		rc = idx_inode_put(txn, &in);
	}
	if (rc == 0)
		rc = idx_dirent_add(txn, parent, name, len, ino, DT_REG);
	if (rc == 0)
		rc = idx_inode_get(txn, parent, &dir);
	if (rc == 0) {
		dir.size++;
		dir.mtime = dir.ctime = now;
		rc = idx_inode_put(txn, &dir);
	}
	op->file = NO_FILE;
	if (rc == 0) {
		rc = idx_inode_get(txn, ld->l->first_file + j, &old);
		if (rc == 0) {
			old.rdev = ino;
			old.ctime = now;
			rc = idx_inode_put(txn, &old);
			op->file = j;
		} else if (rc == -ENOENT) {
			rc = 0; /* removed by an unlink */
		}
	}
	if (rc) {
		idx_txn_abort(txn);
		return rc;
	}
	rc = idx_txn_commit(txn);
	op->seq = ino;
	op->n = n;
	op->unlink = false;
	return rc;
}

/*
 * An unlink of generated file @p j: its entry, inode and extent go, spread
 * over the tables (the snapshot copy meets removed keys, before and after
 * it). It takes an inode number too, only as its place in commit order.
 */
static int unlink_one(struct worker *w, uint64_t j, struct op *op)
{
	struct load *ld = w->ld;
	const struct layout *l = ld->l;
	struct idx_txn *txn;
	char name[32];
	size_t len = file_name(name, sizeof(name), j);
	uint64_t seq = 0;
	int rc;

	rc = idx_txn_begin(ld->env, &txn);
	if (rc)
		return rc;
	rc = idx_ino_alloc(txn, &seq);
	if (rc == 0)
		rc = idx_dirent_del(txn, dir_ino(l, j), name, len);
	if (rc == 0)
		rc = idx_extent_del(txn, l->first_file + j, 0);
	if (rc == 0)
		rc = idx_inode_del(txn, l->first_file + j);
	if (rc) {
		idx_txn_abort(txn);
		return rc;
	}
	rc = idx_txn_commit(txn);
	op->seq = seq;
	op->file = j;
	op->unlink = true;
	return rc;
}

static int ops_add(struct worker *w, const struct op *op)
{
	if (w->nops == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 4096;
		struct op *nv = realloc(w->ops, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		w->ops = nv;
		w->cap = cap;
	}
	w->ops[w->nops++] = *op;
	return 0;
}

static void *writer_main(void *arg)
{
	struct worker *w = arg;
	struct load *ld = w->ld;
	const struct layout *l = ld->l;
	uint64_t n = 0, txns = 0, j = NO_FILE;
	int ph, rc = 0;

	while ((ph = atomic_load(&ld->phase)) != PH_STOP && rc == 0) {
		struct op op = {.t0 = now_ns()};

		if (j == NO_FILE && txns % UNLINK_EVERY == UNLINK_EVERY - 1) {
			/* Half the generated files at most: the reader and the
			 * creates still find the others. */
			uint64_t k = atomic_fetch_add(&ld->unlinks, 1);
			if (k < l->files / 2) {
				j = k * ld->unlink_step % l->files;
				__atomic_store_n(&ld->gone[j], 1, __ATOMIC_RELAXED);
			}
		}
		rc = j != NO_FILE ? unlink_one(w, j, &op) : create_one(w, n, &op);
		if (rc == -EAGAIN) {
			w->retries++;
			rc = 0;
			continue; /* the same again: it was aborted whole */
		}
		if (rc)
			break;
		op.t1 = now_ns();
		rc = samples_add(&w->lat[OP_CREATE][ph], op.t1 - op.t0);
		if (rc == 0)
			rc = ops_add(w, &op);
		if (op.unlink)
			j = NO_FILE;
		else
			n++;
		if (rc == 0 && ++txns % SYNC_EVERY == 0) {
			uint64_t t0 = now_ns();

			ph = atomic_load(&ld->phase);
			rc = idx_env_sync(ld->env);
			if (rc == 0)
				rc = samples_add(&w->lat[OP_SYNC][ph], now_ns() - t0);
		}
	}
	w->rc = rc;
	return NULL;
}

static void *reader_main(void *arg)
{
	struct worker *w = arg;
	struct load *ld = w->ld;
	const struct layout *l = ld->l;
	uint64_t seed = 0xD1B54A32D192ED03ull;
	int ph, rc = 0;

	while ((ph = atomic_load(&ld->phase)) != PH_STOP && rc == 0) {
		uint64_t i = rnd(&seed) % l->files, t0 = now_ns();
		struct idx_dirent de;
		struct idx_inode in;
		struct idx_txn *txn;
		char name[32];
		size_t len = file_name(name, sizeof(name), i);

		rc = idx_txn_begin_read(ld->env, &txn);
		if (rc)
			break;
		rc = idx_dirent_get(txn, dir_ino(l, i), name, len, &de);
		if (rc == 0)
			rc = idx_inode_get(txn, de.ino, &in);
		idx_txn_abort(txn);
		if (rc == -ENOENT && __atomic_load_n(&ld->gone[i], __ATOMIC_RELAXED))
			rc = 0; /* unlinked */
		else if (rc == 0 && (de.ino != l->first_file + i || in.ino != de.ino)) {
			cli_msg("lookup of %s found inode %" PRIu64 ", not %" PRIu64, name, de.ino,
				l->first_file + i);
			rc = -EIO;
		} else if (rc) {
			cli_msg("lookup of %s failed: %s", name, tfs_strerror(rc));
		}
		if (rc == 0)
			rc = samples_add(&w->lat[OP_LOOKUP][ph], now_ns() - t0);
	}
	w->rc = rc;
	return NULL;
}

static void sleep_s(double s)
{
	struct timespec ts = {.tv_sec = (time_t)s,
			      .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Is generated file @p j whole in @p txn (entry, inode, extent)? 1 yes, 0 none
 * of it, -EIO partly, or another -errno. */
static int file_state(struct idx_txn *txn, const struct layout *l, uint64_t j)
{
	struct idx_dirent de;
	struct idx_inode in;
	struct idx_extent ext;
	char name[32];
	size_t len = file_name(name, sizeof(name), j);
	int a, b, c;

	a = idx_dirent_get(txn, dir_ino(l, j), name, len, &de);
	b = idx_inode_get(txn, l->first_file + j, &in);
	c = idx_extent_seek(txn, l->first_file + j, 0, &ext);
	if ((a && a != -ENOENT) || (b && b != -ENOENT) || (c && c != -ENOENT))
		return a && a != -ENOENT ? a : b && b != -ENOENT ? b : c;
	if (!a && !b && !c && de.ino == l->first_file + j)
		return 1;
	if (a && b && c)
		return 0;
	return -EIO;
}

static int not_one_commit(const char *what, const char *name, uint64_t seq, uint64_t next,
			  bool before, bool after)
{
	cli_msg("the snapshot taken under load is not the index of one commit: it %s %s (the "
		"transaction numbered %" PRIu64 ", committed %s the snapshot), and its next "
		"inode number is %" PRIu64,
		what, name, seq,
		before	? "before"
		: after ? "after"
			: "during",
		next);
	return -EIO;
}

/*
 * The last snapshot taken under load, restored, must be the index exactly as
 * of one commit. Every writer's transaction takes an inode number, so their
 * numbers are their commit order, and that commit is the one after which
 * the volume record's next_ino is what the snapshot holds: every transaction
 * with a lower number is in it, whole (a create's entry and inode, the
 * parent's entry count, the inode it changed; an unlinked file's entry,
 * inode and extent gone), and none with a higher one. And it is a commit
 * between the call and the return: everything committed before the call is
 * in it, nothing begun after the return.
 */
static int check_under_load(struct load *ld, const char *snap, const char *dir)
{
	const struct layout *l = ld->l;
	uint64_t *want_rdev = NULL, count[WRITERS] = {0};
	unsigned char *removed = NULL;
	struct idx_volume vol;
	struct idx_txn *txn = NULL;
	struct idx_env *env;
	char why[256];
	int fd, rc;

	fd = open(snap, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = mkdir_p1(dir);
	if (rc == 0)
		rc = idx_snapshot_restore(fd, dir, NULL, why, sizeof(why));
	close(fd);
	if (rc) {
		cli_msg("restoring the snapshot taken under load failed: %s", why);
		return rc;
	}
	want_rdev = calloc(l->files, sizeof(*want_rdev));
	removed = calloc(l->files, 1);
	if (!want_rdev || !removed) {
		free(want_rdev);
		free(removed);
		return -ENOMEM;
	}
	rc = idx_env_open(dir, 0, &env);
	if (rc) {
		free(want_rdev);
		free(removed);
		return rc;
	}
	rc = idx_txn_begin_read(env, &txn);
	if (rc)
		txn = NULL;
	if (rc == 0)
		rc = idx_volume_get(txn, &vol);
	for (int w = 0; w < WRITERS && rc == 0; w++) {
		const struct worker *wk = &ld->w[w];
		for (size_t k = 0; k < wk->nops && rc == 0; k++) {
			const struct op *op = &wk->ops[k];
			bool before = op->t1 < ld->last_t0;
			bool after = ld->last_t1 < op->t0;
			bool in = op->seq < vol.next_ino;
			char name[48];
			size_t len;

			if ((before && !in) || (after && in)) {
				rc = not_one_commit(in ? "holds" : "lacks", "a transaction",
						    op->seq, vol.next_ino, before, after);
				break;
			}
			if (op->unlink) {
				int st = file_state(txn, l, op->file);
				file_name(name, sizeof(name), op->file);
				if (st < 0 && st != -EIO) {
					rc = st;
				} else if (st != (in ? 0 : 1)) {
					rc = not_one_commit(st == -EIO ? "holds part of"
							    : st       ? "holds"
								       : "lacks",
							    name, op->seq, vol.next_ino, before,
							    after);
				}
				removed[op->file] = in;
			} else {
				struct idx_dirent de;
				struct idx_inode ino;
				int g;

				create_name(name, sizeof(name), &len, w, op->n);
				g = idx_dirent_get(txn, ld->wdir[w], name, len, &de);
				if (g == 0 && de.ino != op->seq)
					g = -ESTALE;
				if (g == 0)
					g = idx_inode_get(txn, de.ino, &ino);
				if (g && g != -ENOENT && g != -ESTALE)
					rc = g;
				else if ((g == 0) != in)
					rc = not_one_commit(g == 0 ? "holds" : "lacks", name,
							    op->seq, vol.next_ino, before, after);
				if (in) {
					count[w]++;
					if (op->file != NO_FILE && op->seq > want_rdev[op->file])
						want_rdev[op->file] = op->seq;
				}
			}
			if (in)
				ld->in++;
			else
				ld->after++;
		}
	}
	for (int w = 0; w < WRITERS && rc == 0; w++) {
		struct idx_inode d;
		rc = idx_inode_get(txn, ld->wdir[w], &d);
		if (rc == 0 && d.size != count[w]) {
			cli_msg("the snapshot taken under load is not the index of one commit: "
				"directory writer%d counts %" PRIu64 " entries and holds %" PRIu64,
				w, d.size, count[w]);
			rc = -EIO;
		}
	}
	for (uint64_t i = 0; i < l->files && rc == 0; i++) {
		struct idx_inode in;
		if (removed[i])
			continue;
		rc = idx_inode_get(txn, l->first_file + i, &in);
		if (rc == 0 && in.rdev != want_rdev[i]) {
			cli_msg("the snapshot taken under load is not the index of one commit: "
				"inode %" PRIu64
				" was last changed by the transaction numbered %" PRIu64
				" where %" PRIu64 " is expected",
				in.ino, in.rdev, want_rdev[i]);
			rc = -EIO;
		} else if (rc) {
			cli_msg("the snapshot taken under load lacks inode %" PRIu64 ": %s",
				l->first_file + i, tfs_strerror(rc));
		}
	}
	if (txn)
		idx_txn_abort(txn);
	idx_env_close(env, false);
	free(want_rdev);
	free(removed);
	rmtree(dir);
	return rc;
}

static int part2(struct idx_env *env, const struct layout *l, const char *base, double seconds,
		 struct load *ld)
{
	char snap[PATH_MAX], tmp[PATH_MAX], dir[PATH_MAX];
	struct tfs_progress pr;
	int rc = 0, nstarted = 0;
	uint64_t t0, t1 = 0;

	memset(ld, 0, sizeof(*ld));
	ld->env = env;
	ld->l = l;
	ld->gone = calloc(l->files, 1);
	if (!ld->gone)
		return -ENOMEM;
	/* Coprime with the file count: the unlinks' files are all different. */
	ld->unlink_step = l->files * 5 / 8 + 1;
	while (gcd(ld->unlink_step, l->files) != 1)
		ld->unlink_step++;
	atomic_store(&ld->phase, PH_IDLE);
	if (path_join(snap, base, "load.snap") || path_join(tmp, base, "load.snap.tmp") ||
	    path_join(dir, base, "load-restored"))
		return -ENAMETOOLONG;
	/* A directory per writer, under the root. */
	for (int w = 0; w < WRITERS && rc == 0; w++) {
		struct idx_txn *txn;
		char name[16];
		snprintf(name, sizeof(name), "writer%d", w);
		rc = idx_txn_begin(env, &txn);
		if (rc)
			break;
		rc = idx_ino_alloc(txn, &ld->wdir[w]);
		if (rc == 0)
			rc = idx_txn_commit(txn);
		else
			idx_txn_abort(txn);
		if (rc == 0)
			rc = put_dir(env, ld->wdir[w], IDX_ROOT_INO, name, 0);
	}
	if (rc == 0)
		rc = idx_env_sync(env);
	if (rc) {
		cli_msg("preparing the writers' directories failed: %s", tfs_strerror(rc));
		return rc;
	}
	for (int i = 0; i <= WRITERS; i++) {
		ld->w[i].ld = ld;
		ld->w[i].id = i;
		ld->w[i].seed = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1);
		if (pthread_create(&ld->w[i].th, NULL, i < WRITERS ? writer_main : reader_main,
				   &ld->w[i]) != 0) {
			rc = -EAGAIN;
			break;
		}
		nstarted++;
	}
	if (rc == 0) {
		/* The writers and the reader alone ... */
		sleep_s(0.2);
		atomic_store(&ld->phase, PH_PLAIN);
		t0 = now_ns();
		tfs_progress_init(&pr, "load without snapshots (tenths of a second)",
				  (uint64_t)(seconds * 10));
		for (uint64_t tick = 1; secs(now_ns() - t0) < seconds; tick++) {
			double left = seconds - secs(now_ns() - t0);
			sleep_s(left < 0.1 ? left : 0.1);
			tfs_progress_update(&pr, tick);
		}
		tfs_progress_fini(&pr);
		ld->phase_s[PH_PLAIN] = secs(now_ns() - t0);
		/* ... then while snapshots are taken back to back. */
		atomic_store(&ld->phase, PH_SNAP);
		t0 = now_ns();
		do {
			struct idx_snap_info info;
			int fd;
			uint64_t s0 = now_ns();

			tfs_progress_init(&pr, "load during snapshots (records copied)", 0);
			rc = snapshot_to(env, tmp, &pr, &info, &fd);
			tfs_progress_fini(&pr);
			t1 = now_ns();
			if (rc) {
				cli_msg("a snapshot under load failed: %s", tfs_strerror(rc));
				break;
			}
			close(fd);
			if (rename(tmp, snap) != 0) {
				rc = -errno;
				break;
			}
			ld->snaps++;
			if (info.max_slice_ns > ld->slice_max_ns)
				ld->slice_max_ns = info.max_slice_ns;
			if (info.end_commit_ns > ld->end_max_ns)
				ld->end_max_ns = info.end_commit_ns;
			ld->snap_total_s += secs(t1 - s0);
			if (secs(t1 - s0) > ld->snap_max_s)
				ld->snap_max_s = secs(t1 - s0);
			ld->last_t0 = s0;
			ld->last_t1 = t1;
		} while (secs(t1 - t0) < seconds);
		ld->phase_s[PH_SNAP] = secs(now_ns() - t0);
		/* ... then with a mirror that every group commit is applied to
		 * (and every sync fsyncs), on the same device here. */
		char mdir[PATH_MAX];
		if (rc == 0 && path_join(mdir, base, "load-mirror") == 0 &&
		    (rc = idx_mirror_resync(env, mdir)) == 0) {
			atomic_store(&ld->phase, PH_MIRROR);
			t0 = now_ns();
			tfs_progress_init(&pr, "load with a mirror (tenths of a second)",
					  (uint64_t)(seconds * 10));
			for (uint64_t tick = 1; secs(now_ns() - t0) < seconds; tick++) {
				double left = seconds - secs(now_ns() - t0);
				sleep_s(left < 0.1 ? left : 0.1);
				tfs_progress_update(&pr, tick);
			}
			tfs_progress_fini(&pr);
			ld->phase_s[PH_MIRROR] = secs(now_ns() - t0);
			struct idx_mirror_status ms;
			idx_mirror_status(env, &ms);
			if (ms.error) {
				cli_msg("the mirror failed under load: %s", tfs_strerror(ms.error));
				rc = ms.error;
			}
			idx_mirror_detach(env);
		}
		/* A little more load, not counted: transactions begun after the
		 * last snapshot, which it must not hold. */
		atomic_store(&ld->phase, PH_IDLE);
		sleep_s(0.2);
	}
	atomic_store(&ld->phase, PH_STOP);
	for (int i = 0; i < nstarted; i++) {
		pthread_join(ld->w[i].th, NULL);
		if (ld->w[i].rc && rc == 0) {
			cli_msg("%s %d failed: %s", i < WRITERS ? "writer" : "the reader", i,
				tfs_strerror(ld->w[i].rc));
			rc = ld->w[i].rc;
		}
	}
	if (rc == 0)
		rc = check_under_load(ld, snap, dir);
	unlink(snap);
	return rc;
}

static void load_free(struct load *ld)
{
	for (int i = 0; i <= WRITERS; i++) {
		for (int o = 0; o < OP_COUNT; o++)
			for (int p = 0; p < PH_COUNT; p++)
				free(ld->w[i].lat[o][p].v);
		free(ld->w[i].ops);
	}
	free(ld->gone);
}

/* ---- output ----------------------------------------------------------------------- */

static char *fmt_s(double s, char *buf, size_t size)
{
	if (s < 1e-3)
		snprintf(buf, size, "%.0f us", s * 1e6);
	else if (s < 1)
		snprintf(buf, size, "%.1f ms", s * 1e3);
	else
		snprintf(buf, size, "%.2f s", s);
	return buf;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct pct {
	size_t n;
	double p50, p99, max;
};

/* Merge the samples of op @p o in phase @p p over every worker. */
static int percentiles(const struct load *ld, int o, int p, struct pct *out)
{
	size_t n = 0, k = 0;
	uint64_t *all;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i <= WRITERS; i++)
		n += ld->w[i].lat[o][p].n;
	if (!n)
		return 0;
	all = malloc(n * sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (int i = 0; i <= WRITERS; i++) {
		memcpy(all + k, ld->w[i].lat[o][p].v, ld->w[i].lat[o][p].n * sizeof(*all));
		k += ld->w[i].lat[o][p].n;
	}
	qsort(all, n, sizeof(*all), cmp_u64);
	out->n = n;
	out->p50 = secs(all[(n - 1) / 2]);
	out->p99 = secs(all[(size_t)((double)(n - 1) * 0.99)]);
	out->max = secs(all[n - 1]);
	free(all);
	return 0;
}

static void print_runs(const struct run *runs, int nruns, const char *dir)
{
	char b[MAX_RUNS][32];

	printf("\ntrackfs index metadata benchmark (index API only, no file data) in %s\n", dir);
	printf("each file: an inode, an entry in a directory of %u, one extent of 1-4 chunks "
	       "with their checksums\n\n",
	       FILES_PER_DIR);
#define ROW(label, ...)                                                                            \
	do {                                                                                       \
		printf("%-32s", label);                                                            \
		for (int i_ = 0; i_ < nruns; i_++) {                                               \
			const struct run *r = &runs[i_];                                           \
			(void)r;                                                                   \
			__VA_ARGS__;                                                               \
			printf(" %14s", b[i_]);                                                    \
		}                                                                                  \
		printf("\n");                                                                      \
	} while (0)
	ROW("files", snprintf(b[i_], 32, "%" PRIu64, r->l.files));
	ROW("directories", snprintf(b[i_], 32, "%" PRIu64, r->l.ndirs));
	ROW("generate (1 txn per file)", fmt_s(r->gen_s, b[i_], 32));
	ROW("  files/s", snprintf(b[i_], 32, "%.0f", (double)r->l.files / r->gen_s));
	ROW("data.mdb size", cli_fmt_bytes(r->mdb_len, b[i_], 32));
	ROW("data.mdb allocated", cli_fmt_bytes(r->mdb_alloc, b[i_], 32));
	ROW("snapshot write + fsync", fmt_s(r->snap_s, b[i_], 32));
	ROW("snapshot size", cli_fmt_bytes(r->snap_bytes, b[i_], 32));
	ROW("snapshot bytes/file",
	    snprintf(b[i_], 32, "%.0f", (double)r->snap_bytes / (double)r->l.files));
	ROW("snapshot records", snprintf(b[i_], 32, "%" PRIu64, r->snap_records));
	ROW("verify (file not cached)", fmt_s(r->verify_s, b[i_], 32));
	ROW("restore into a new dir", fmt_s(r->restore_s, b[i_], 32));
	ROW("restored data.mdb size", cli_fmt_bytes(r->restored_len, b[i_], 32));
	ROW("mirror resync", fmt_s(r->resync_s, b[i_], 32));
	ROW("mirror data.mdb size", cli_fmt_bytes(r->mirror_len, b[i_], 32));
#undef ROW
	printf("(the restored index and the mirror were compared record by record with the "
	       "index: identical)\n");
}

static void print_load(const struct run *r)
{
	const struct load *ld = r->load;
	char b[6][32];
	uint64_t retries = 0;

	for (int i = 0; i < WRITERS; i++)
		retries += ld->w[i].retries;
	printf("\nconcurrent load on the %" PRIu64 "-file index: %d writers, 1 reader (entry + "
	       "inode lookups)\n",
	       r->l.files, WRITERS);
	printf("write txn: a create (inode number, inode, entry, parent's inode, an existing "
	       "file's inode), or 1 in %u an unlink (entry, inode, extent); idx_env_sync every "
	       "%u txns\n",
	       UNLINK_EVERY, SYNC_EVERY);
	printf("snapshots: %u taken back to back, %s each on average, %s at most\n", ld->snaps,
	       fmt_s(ld->snaps ? ld->snap_total_s / ld->snaps : 0, b[0], 32),
	       fmt_s(ld->snap_max_s, b[1], 32));
	printf("the index's lock was held by a snapshot slice %.2f ms at most, by its final "
	       "commit %.2f ms at most\n",
	       (double)ld->slice_max_ns / 1e6, (double)ld->end_max_ns / 1e6);
	printf("%-14s | %-44s | %-44s | %s\n", "", "without snapshots", "during snapshots",
	       "with a mirror, no snapshots");
	printf("%-14s | %8s %8s %8s %8s %8s | %8s %8s %8s %8s %8s | %8s %8s %8s %8s %8s\n", "op",
	       "count", "ops/s", "p50", "p99", "max", "count", "ops/s", "p50", "p99", "max",
	       "count", "ops/s", "p50", "p99", "max");
	for (int o = 0; o < OP_COUNT; o++) {
		printf("%-14s", op_names[o]);
		for (int p = PH_PLAIN; p <= PH_MIRROR; p++) {
			struct pct pc;
			if (percentiles(ld, o, p, &pc) != 0) {
				printf(" | (out of memory)");
				continue;
			}
			printf(" | %8zu %8.0f %8s %8s %8s", pc.n,
			       ld->phase_s[p] > 0 ? (double)pc.n / ld->phase_s[p] : 0.0,
			       fmt_s(pc.p50, b[0], 32), fmt_s(pc.p99, b[1], 32),
			       fmt_s(pc.max, b[2], 32));
		}
		printf("\n");
	}
	printf("the last snapshot under load, restored, is the index of one commit: %" PRIu64
	       " writer txns in it, %" PRIu64 " after it; %" PRIu64 " txns retried (-EAGAIN)\n",
	       ld->in, ld->after, retries);
}

/* ---- main --------------------------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: trackfs-bench-meta [--files N] [--quick] [--seconds S] [--dir DIR]\n"
		"Benchmark the index's snapshots and mirror: an index of N small files is built\n"
		"with the index API (no file data), then a snapshot is taken, verified and\n"
		"restored and a mirror resynced; then %d writers and a reader run without and\n"
		"during back-to-back snapshots and their latencies are compared.\n"
		"\n"
		"  --files N     one run of N files (default: 100000, then 1000000)\n"
		"  --quick       one run of 20000 files, 2 s per load phase (checks it works)\n"
		"  --seconds S   length of each load phase (default 4)\n"
		"  --dir DIR     work directory (default: a new directory in /var/tmp, removed\n"
		"                afterwards)\n"
		"  --version     print the version\n",
		WRITERS);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"files", required_argument, NULL, 'n'},
		{"quick", no_argument, NULL, 'q'},
		{"seconds", required_argument, NULL, 's'},
		{"dir", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	uint64_t files[MAX_RUNS] = {100000, 1000000};
	struct run runs[MAX_RUNS];
	struct load loads[MAX_RUNS];
	int nruns = 2, done = 0, c, rc = 0;
	double seconds = 4;
	char dir[PATH_MAX] = "";
	bool own_dir = false;
	uint64_t v;

	cli_init(argv[0]);
	while ((c = getopt_long(argc, argv, "n:qs:d:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (cli_parse_size(optarg, &v) < 0 || v == 0 || v > 100000000) {
				cli_msg("bad file count '%s' (1 to 100000000)", optarg);
				return 2;
			}
			files[0] = v;
			nruns = 1;
			break;
		case 'q':
			files[0] = 20000;
			nruns = 1;
			seconds = 2;
			break;
		case 's': {
			char *end;
			seconds = strtod(optarg, &end);
			if (*end || !(seconds >= 0.1 && seconds <= 3600)) {
				cli_msg("bad --seconds '%s' (0.1 to 3600)", optarg);
				return 2;
			}
			break;
		}
		case 'd':
			snprintf(dir, sizeof(dir), "%s", optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("trackfs-bench-meta %s\n", TRACKFS_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/var/tmp/trackfs-bench-meta.XXXXXX");
		if (!mkdtemp(dir)) {
			cli_fail("cannot create a work directory in /var/tmp: %s", strerror(errno));
			return 1;
		}
		own_dir = true;
	} else if (mkdir_p1(dir) != 0) {
		cli_fail("cannot create %s: %s", dir, strerror(errno));
		return 1;
	}
	/* Only warnings and errors from the index: the tables are the output. */
	tfs_log_set_level(TFS_LOG_WARN);
	memset(runs, 0, sizeof(runs));
	memset(loads, 0, sizeof(loads));

	for (int i = 0; i < nruns && rc == 0; i++) {
		char base[PATH_MAX], index[PATH_MAX], name[32];
		struct idx_env *env = NULL;
		struct run *r = &runs[i];

		snprintf(name, sizeof(name), "files-%" PRIu64, files[i]);
		if (path_join(base, dir, name) || path_join(index, base, "index")) {
			rc = -ENAMETOOLONG;
			break;
		}
		rmtree(base);
		rc = mkdir_p1(base);
		if (rc == 0)
			rc = mkdir_p1(index);
		if (rc) {
			cli_fail("cannot create %s: %s", index, tfs_strerror(rc));
			break;
		}
		layout_init(&r->l, files[i]);
		rc = generate(index, &r->l, &env, &r->gen_s);
		if (rc == 0)
			rc = part1(env, base, r);
		if (rc == 0) {
			r->load = &loads[i];
			rc = part2(env, &r->l, base, seconds, &loads[i]);
		}
		if (env) {
			int crc = idx_env_close(env, false);
			if (rc == 0)
				rc = crc;
		}
		rmtree(base);
		if (rc == 0)
			done++;
	}
	if (rc == 0) {
		print_runs(runs, done, dir);
		for (int i = 0; i < done; i++)
			print_load(&runs[i]);
	} else {
		cli_msg("the benchmark failed: %s", tfs_strerror(rc));
	}
	for (int i = 0; i < nruns; i++)
		load_free(&loads[i]);
	if (own_dir)
		rmtree(dir);
	return rc < 0 ? 1 : 0;
}
