/* trackfs-bench-engine: the storage engine alone (fs/vol, no FUSE) against
 * plain files on the host filesystem, in one run: sequential write and read,
 * 4 KiB random reads, small-file creates and deletes, then the space a set of
 * small files occupies. Prints a table; asserts nothing. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "core/base/log.h"
#include "fs/vol/vol.h"
#include "tools/bench.h"
#include "tools/cli_common.h"

uint64_t bench_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

void bench_fill(void *buf, size_t len, uint64_t seed)
{
	uint64_t s = seed | 1;
	uint8_t *p = buf;

	for (size_t i = 0; i + 8 <= len; i += 8) {
		uint64_t r = bench_rand(&s);
		memcpy(p + i, &r, 8);
	}
	for (size_t i = len & ~(size_t)7; i < len; i++)
		p[i] = (uint8_t)bench_rand(&s);
}

bool bench_drop_caches(void)
{
	int fd;
	bool ok;

	if (geteuid() != 0)
		return false;
	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd < 0)
		return false;
	ok = write(fd, "3\n", 2) == 2;
	close(fd);
	return ok;
}

int bench_mkvol(const char *root, char meta[PATH_MAX])
{
	char disk[PATH_MAX];
	const char *disks[1] = {disk};
	int rc;

	if (mkdir(root, 0755) < 0 && errno != EEXIST)
		return -errno;
	if ((size_t)snprintf(disk, sizeof(disk), "%s/disk1", root) >= sizeof(disk) ||
	    snprintf(meta, PATH_MAX, "%s/meta", disk) >= PATH_MAX)
		return -ENAMETOOLONG;
	if (mkdir(disk, 0755) < 0)
		return -errno;
	struct vol_mkfs_opts mo = {.meta_dir = meta, .disks = disks, .ndisks = 1, .label = "bench"};
	rc = vol_mkfs(&mo, NULL);
	if (rc < 0)
		cli_msg("creating a volume in %s failed: %s", root, tfs_strerror(rc));
	return rc;
}

static uint64_t du_total;
static const char *du_suffix;

static int du_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	size_t n = strlen(path), m = du_suffix ? strlen(du_suffix) : 0;

	(void)ftw;
	if (flag == FTW_F && S_ISREG(st->st_mode) &&
	    (!m || (n >= m && !strcmp(path + n - m, du_suffix))))
		du_total += (uint64_t)st->st_blocks * 512;
	return 0;
}

uint64_t bench_du(const char *dir, const char *suffix)
{
	du_total = 0;
	du_suffix = suffix;
	nftw(dir, du_cb, 16, FTW_PHYS);
	return du_total;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void bench_rmtree(const char *dir)
{
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: trackfs-bench-engine [--dir DIR] [--size SIZE] [--small N] [--quick]\n"
		     "Benchmark the trackfs engine (no FUSE) against plain files in DIR.\n"
		     "\n"
		     "  --dir DIR     work directory (default: a new directory in /var/tmp,\n"
		     "                removed afterwards); must have room for twice SIZE\n"
		     "  --size SIZE   sequential file size (default 2G)\n"
		     "  --small N     small files to create and delete (default 20000)\n"
		     "  --reads N     4 KiB random reads (default 20000)\n"
		     "  --quick       a tiny run (64M, 1000 small files) to check it works\n");
}

static const char *fs_name(const char *dir)
{
	struct statfs sf;

	if (statfs(dir, &sf) < 0)
		return "?";
	switch ((unsigned long)sf.f_type) {
	case 0xEF53:
		return "ext4";
	case 0x9123683E:
		return "btrfs";
	case 0x58465342:
		return "xfs";
	case 0x01021994:
		return "tmpfs";
	case 0x794c7630:
		return "overlayfs";
	default:
		return "other";
	}
}

static void print_table(const struct bench_opts *o, const struct bench_row *rows,
			const struct bench_space *sp, bool dropped)
{
	char b1[32], b2[32], b3[32];

	printf("\ntrackfs engine benchmark (fs/vol, no FUSE) vs plain files on %s in %s\n",
	       fs_name(o->dir), o->dir);
	printf("file %s, %u small files of 4 KiB, %u random 4 KiB reads; page cache dropped "
	       "before reads: %s\n\n",
	       cli_fmt_bytes(o->size, b1, sizeof(b1)), o->small, o->randreads,
	       dropped ? "yes" : "no (needs root)");
	printf("%-30s %14s %14s %14s\n", "workload", "trackfs", "ext4", "trackfs/ext4");
	for (int i = 0; i < ROW_COUNT; i++) {
		char t[32], e[32];
		snprintf(t, sizeof(t), "%.1f %s", rows[i].trackfs, rows[i].unit);
		snprintf(e, sizeof(e), "%.1f %s", rows[i].ext4, rows[i].unit);
		printf("%-30s %14s %14s %14.2f\n", rows[i].name, t, e,
		       rows[i].ext4 > 0 ? rows[i].trackfs / rows[i].ext4 : 0.0);
	}
	uint64_t occ = sp->track_bytes + sp->index_bytes;
	double ratio = sp->logical ? (double)occ / (double)sp->logical : 0;
	char b4[32];
	printf("\nspace: %llu files of 1..64 KiB: logical %s, on disk %s (tracks %s + index "
	       "%s), ratio %.3f (limit 1.30: %s)\n",
	       (unsigned long long)sp->files, cli_fmt_bytes(sp->logical, b1, sizeof(b1)),
	       cli_fmt_bytes(occ, b2, sizeof(b2)), cli_fmt_bytes(sp->track_bytes, b3, sizeof(b3)),
	       cli_fmt_bytes(sp->index_bytes, b4, sizeof(b4)), ratio, ratio <= 1.3 ? "ok" : "OVER");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"size", required_argument, NULL, 's'},
		{"small", required_argument, NULL, 'n'},
		{"reads", required_argument, NULL, 'r'},
		{"quick", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct bench_opts o = {
		.size = 2ull << 30, .small = 20000, .randreads = 20000, .space_files = 10000};
	struct bench_row rows[ROW_COUNT];
	struct bench_space sp = {0};
	bool own_dir = false, dropped;
	uint64_t v;
	int c, rc;

	cli_init(argv[0]);
	cli_std_args(argc, argv, usage);
	while ((c = getopt_long(argc, argv, "d:s:n:r:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			snprintf(o.dir, sizeof(o.dir), "%s", optarg);
			break;
		case 's':
			if (cli_parse_size(optarg, &o.size) < 0 || o.size < (1u << 20)) {
				cli_msg("bad size '%s' (at least 1M)", optarg);
				return 2;
			}
			break;
		case 'n':
		case 'r':
			if (cli_parse_size(optarg, &v) < 0 || v == 0 || v > 10000000) {
				cli_msg("bad count '%s'", optarg);
				return 2;
			}
			if (c == 'n')
				o.small = (unsigned)v;
			else
				o.randreads = (unsigned)v;
			break;
		case 'q':
			o.size = 64ull << 20;
			o.small = 1000;
			o.randreads = 2000;
			o.space_files = 1000;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	o.size &= ~((uint64_t)(1u << 20) - 1);
	if (!o.dir[0]) {
		snprintf(o.dir, sizeof(o.dir), "/var/tmp/trackfs-bench.XXXXXX");
		if (!mkdtemp(o.dir)) {
			cli_fail("cannot create a work directory in /var/tmp: %s", strerror(errno));
			return 1;
		}
		own_dir = true;
	} else if (mkdir(o.dir, 0755) < 0 && errno != EEXIST) {
		cli_fail("cannot create %s: %s", o.dir, strerror(errno));
		return 1;
	}
	/* Only warnings and errors from the engine: the table is the output. */
	tfs_log_set_level(TFS_LOG_WARN);
	o.drop_caches = geteuid() == 0;
	dropped = o.drop_caches && bench_drop_caches();

	rc = bench_vol(&o, rows);
	if (rc == 0)
		rc = bench_ext4(&o, rows);
	if (rc == 0)
		rc = bench_space(&o, &sp);
	if (rc == 0)
		print_table(&o, rows, &sp, dropped);
	else
		cli_msg("the benchmark failed: %s", tfs_strerror(rc));
	if (own_dir)
		bench_rmtree(o.dir);
	return rc < 0 ? 1 : 0;
}
