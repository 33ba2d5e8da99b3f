/* Randomized model test: tens of thousands of random operations through
 * fs/vol (create, write at random offsets, truncate, rename, unlink, link,
 * xattrs, punch hole, unlink-while-open), each compared with an in-memory
 * model; the volume is closed and reopened now and then, and fsck.trackfs
 * must find it clean at the end. A failure prints the seed; rerun one seed
 * with TRACKFS_MODEL_SEED=N (and TRACKFS_MODEL_OPS=N). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "fs/vol/vol.h"
#include "tests/harness/tmpvol.h"

#define NAMES 24	      /* f0..f11 in the root, f0..f11 in /sub */
#define MAX_FILE (384 * 1024) /* files stay small so every step can be compared */
#define MAX_INODES 4096
#define NXATTR 4

struct m_inode {
	bool used;
	uint64_t ino; /* vol inode number */
	uint8_t *data;
	size_t size;
	unsigned nlink;
	bool has_x[NXATTR];
	uint8_t xval[NXATTR][32];
	size_t xlen[NXATTR];
};

struct model {
	struct m_inode inodes[MAX_INODES];
	int names[NAMES]; /* index into inodes, -1 = absent */
	uint64_t sub_ino;
	uint64_t seed;
	uint64_t rng;
	long step;
	struct vol *v;
	struct tmpvol tv;
};

static uint64_t rnd(struct model *m)
{
	/* splitmix64: fast, and the whole run depends on the seed alone */
	uint64_t z = (m->rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static uint64_t rnd_below(struct model *m, uint64_t n)
{
	return n ? rnd(m) % n : 0;
}

#define check(m, cond, ...)                                                                        \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr,                                                            \
				"model test FAILED (seed %" PRIu64 ", step %ld): ", (m)->seed,     \
				(m)->step);                                                        \
			fprintf(stderr, __VA_ARGS__);                                              \
			fprintf(stderr, "\nrerun with TRACKFS_MODEL_SEED=%" PRIu64 "\n",           \
				(m)->seed);                                                        \
			cr_assert_fail("model mismatch, seed %" PRIu64, (m)->seed);                \
		}                                                                                  \
	} while (0)

static void name_of(int n, char *buf)
{
	sprintf(buf, "f%d", n % (NAMES / 2));
}

static uint64_t dir_of(struct model *m, int n)
{
	return n < NAMES / 2 ? VOL_ROOT_INO : m->sub_ino;
}

static int new_inode(struct model *m)
{
	for (int i = 0; i < MAX_INODES; i++) {
		if (!m->inodes[i].used) {
			memset(&m->inodes[i], 0, sizeof(m->inodes[i]));
			m->inodes[i].used = true;
			return i;
		}
	}
	cr_assert_fail("model out of inodes");
	return -1;
}

static void put_inode(struct model *m, int i)
{
	free(m->inodes[i].data);
	m->inodes[i].data = NULL;
	m->inodes[i].used = false;
}

static void compare_file(struct model *m, int i)
{
	struct m_inode *mi = &m->inodes[i];
	struct vol_attr a;
	int rc = vol_getattr(m->v, mi->ino, &a);
	check(m, rc == 0, "getattr ino %" PRIu64 ": %d", mi->ino, rc);
	check(m, a.size == mi->size, "ino %" PRIu64 " size %" PRIu64 " != model %zu", mi->ino,
	      a.size, mi->size);
	check(m, a.nlink == mi->nlink, "ino %" PRIu64 " nlink %u != model %u", mi->ino, a.nlink,
	      mi->nlink);
	uint8_t *buf = malloc(mi->size + 4096);
	cr_assert_not_null(buf);
	ssize_t n = vol_read(m->v, mi->ino, buf, mi->size + 4096, 0);
	check(m, n == (ssize_t)mi->size, "read ino %" PRIu64 ": %zd, want %zu", mi->ino, n,
	      mi->size);
	for (size_t k = 0; k < mi->size; k++)
		check(m, buf[k] == mi->data[k], "ino %" PRIu64 " byte %zu is %u, model %u", mi->ino,
		      k, buf[k], mi->data[k]);
	free(buf);
	for (int x = 0; x < NXATTR; x++) {
		char xn[32];
		uint8_t val[64];
		sprintf(xn, "user.k%d", x);
		ssize_t len = vol_getxattr(m->v, mi->ino, xn, val, sizeof(val));
		if (mi->has_x[x]) {
			check(m, len == (ssize_t)mi->xlen[x], "xattr %s len %zd", xn, len);
			check(m, memcmp(val, mi->xval[x], mi->xlen[x]) == 0, "xattr %s value", xn);
		} else {
			check(m, len == -ENODATA, "xattr %s should be absent: %zd", xn, len);
		}
	}
}

static void compare_names(struct model *m)
{
	for (int n = 0; n < NAMES; n++) {
		char name[16];
		struct vol_attr a;
		name_of(n, name);
		int rc = vol_lookup(m->v, dir_of(m, n), name, &a);
		if (m->names[n] < 0) {
			check(m, rc == -ENOENT, "name %d should be absent: %d", n, rc);
			continue;
		}
		check(m, rc == 0, "lookup name %d: %d", n, rc);
		vol_forget(m->v, a.ino, 1);
		check(m, a.ino == m->inodes[m->names[n]].ino, "name %d points at %" PRIu64, n,
		      a.ino);
	}
}

static void compare_all(struct model *m)
{
	compare_names(m);
	for (int i = 0; i < MAX_INODES; i++)
		if (m->inodes[i].used)
			compare_file(m, i);
}

static void fill_random(struct model *m, uint8_t *p, size_t len)
{
	/* runs of a repeated byte mixed with noise, so chunks differ */
	uint8_t b = (uint8_t)rnd(m);
	for (size_t k = 0; k < len; k++) {
		if ((k & 511) == 0)
			b = (uint8_t)rnd(m);
		p[k] = (k & 7) ? b : (uint8_t)rnd(m);
	}
}

static void op_create(struct model *m, int n)
{
	char name[16];
	struct vol_attr a;
	struct vol_cred cred = {0};
	name_of(n, name);
	int rc = vol_create(m->v, dir_of(m, n), name, S_IFREG | 0644, &cred, &a);
	if (m->names[n] >= 0) {
		check(m, rc == -EEXIST, "create over existing name %d: %d", n, rc);
		return;
	}
	check(m, rc == 0, "create %d: %d", n, rc);
	vol_forget(m->v, a.ino, 1);
	int i = new_inode(m);
	m->inodes[i].ino = a.ino;
	m->inodes[i].nlink = 1;
	m->names[n] = i;
}

static void op_write(struct model *m, int i)
{
	struct m_inode *mi = &m->inodes[i];
	size_t off = rnd_below(m, 4) == 0 ? mi->size : rnd_below(m, MAX_FILE - 1);
	size_t len = 1 + rnd_below(m, rnd_below(m, 3) == 0 ? 65536 : 5000);
	if (off + len > MAX_FILE)
		len = MAX_FILE - off;
	uint8_t *buf = malloc(len);
	cr_assert_not_null(buf);
	fill_random(m, buf, len);
	ssize_t n = vol_write(m->v, mi->ino, buf, len, (off_t)off);
	check(m, n == (ssize_t)len, "write ino %" PRIu64 " off %zu len %zu: %zd", mi->ino, off, len,
	      n);
	if (off + len > mi->size) {
		mi->data = realloc(mi->data, off + len);
		cr_assert_not_null(mi->data);
		memset(mi->data + mi->size, 0, off + len - mi->size);
		mi->size = off + len;
	}
	memcpy(mi->data + off, buf, len);
	free(buf);
}

static void op_truncate(struct model *m, int i)
{
	struct m_inode *mi = &m->inodes[i];
	size_t size = rnd_below(m, 3) == 0 ? 0 : rnd_below(m, MAX_FILE);
	struct vol_attr in = {.size = size}, out;
	int rc = vol_setattr(m->v, mi->ino, &in, VOL_SET_SIZE, &out);
	check(m, rc == 0, "truncate ino %" PRIu64 " to %zu: %d", mi->ino, size, rc);
	if (size > mi->size) {
		mi->data = realloc(mi->data, size);
		cr_assert_not_null(mi->data);
		memset(mi->data + mi->size, 0, size - mi->size);
	}
	mi->size = size;
}

static void op_punch(struct model *m, int i)
{
	struct m_inode *mi = &m->inodes[i];
	if (mi->size == 0)
		return;
	size_t off = rnd_below(m, mi->size);
	size_t len = 1 + rnd_below(m, 40000);
	int rc = vol_fallocate(m->v, mi->ino, VOL_FALLOC_PUNCH_HOLE | VOL_FALLOC_KEEP_SIZE,
			       (off_t)off, (off_t)len);
	check(m, rc == 0, "punch ino %" PRIu64 " %zu+%zu: %d", mi->ino, off, len, rc);
	size_t end = off + len > mi->size ? mi->size : off + len;
	memset(mi->data + off, 0, end - off);
}

static void drop_link(struct model *m, int i)
{
	if (--m->inodes[i].nlink == 0)
		put_inode(m, i);
}

static void op_unlink(struct model *m, int n)
{
	char name[16];
	name_of(n, name);
	int rc = vol_unlink(m->v, dir_of(m, n), name);
	if (m->names[n] < 0) {
		check(m, rc == -ENOENT, "unlink absent %d: %d", n, rc);
		return;
	}
	check(m, rc == 0, "unlink %d: %d", n, rc);
	drop_link(m, m->names[n]);
	m->names[n] = -1;
}

static void op_link(struct model *m, int from, int to)
{
	char name[16];
	struct vol_attr a;
	if (m->names[from] < 0)
		return;
	name_of(to, name);
	int i = m->names[from];
	int rc = vol_link(m->v, m->inodes[i].ino, dir_of(m, to), name, &a);
	if (m->names[to] >= 0) {
		check(m, rc == -EEXIST, "link over existing %d: %d", to, rc);
		return;
	}
	check(m, rc == 0, "link %d -> %d: %d", from, to, rc);
	vol_forget(m->v, a.ino, 1);
	m->inodes[i].nlink++;
	m->names[to] = i;
}

static void op_rename(struct model *m, int from, int to)
{
	char a[16], b[16];
	name_of(from, a);
	name_of(to, b);
	unsigned flags = rnd_below(m, 5) == 0 ? VOL_RENAME_NOREPLACE : 0;
	if (rnd_below(m, 7) == 0)
		flags = VOL_RENAME_EXCHANGE;
	int rc = vol_rename(m->v, dir_of(m, from), a, dir_of(m, to), b, flags);
	if (m->names[from] < 0) {
		check(m, rc == -ENOENT, "rename absent %d: %d", from, rc);
		return;
	}
	if (flags == VOL_RENAME_EXCHANGE) {
		if (m->names[to] < 0) {
			check(m, rc == -ENOENT, "exchange with absent %d: %d", to, rc);
			return;
		}
		check(m, rc == 0, "exchange %d <-> %d: %d", from, to, rc);
		int t = m->names[from];
		m->names[from] = m->names[to];
		m->names[to] = t;
		return;
	}
	if (flags == VOL_RENAME_NOREPLACE && m->names[to] >= 0) {
		check(m, rc == -EEXIST, "noreplace over %d: %d", to, rc);
		return;
	}
	check(m, rc == 0, "rename %d -> %d: %d", from, to, rc);
	if (from == to || m->names[from] == m->names[to])
		return; /* same name, or two links of one inode: rename(2) does nothing */
	if (m->names[to] >= 0)
		drop_link(m, m->names[to]);
	m->names[to] = m->names[from];
	m->names[from] = -1;
}

static void op_xattr(struct model *m, int i)
{
	struct m_inode *mi = &m->inodes[i];
	int x = (int)rnd_below(m, NXATTR);
	char xn[32];
	sprintf(xn, "user.k%d", x);
	if (rnd_below(m, 3) == 0) {
		int rc = vol_removexattr(m->v, mi->ino, xn);
		check(m, rc == (mi->has_x[x] ? 0 : -ENODATA), "removexattr %s: %d", xn, rc);
		mi->has_x[x] = false;
		return;
	}
	uint8_t val[32];
	size_t len = 1 + rnd_below(m, sizeof(val));
	fill_random(m, val, len);
	int flags = 0;
	if (rnd_below(m, 4) == 0)
		flags = XATTR_CREATE;
	else if (rnd_below(m, 4) == 0)
		flags = XATTR_REPLACE;
	int rc = vol_setxattr(m->v, mi->ino, xn, val, len, flags);
	if (flags == XATTR_CREATE && mi->has_x[x]) {
		check(m, rc == -EEXIST, "XATTR_CREATE over existing: %d", rc);
		return;
	}
	if (flags == XATTR_REPLACE && !mi->has_x[x]) {
		check(m, rc == -ENODATA, "XATTR_REPLACE of absent: %d", rc);
		return;
	}
	check(m, rc == 0, "setxattr %s: %d", xn, rc);
	mi->has_x[x] = true;
	memcpy(mi->xval[x], val, len);
	mi->xlen[x] = len;
}

/* Unlink a file while holding a reference: its bytes stay readable by inode
 * until the reference goes, then it is reclaimed. */
static void op_unlink_open(struct model *m, int n)
{
	char name[16];
	struct vol_attr a;
	if (m->names[n] < 0 || m->inodes[m->names[n]].nlink != 1)
		return;
	int i = m->names[n];
	name_of(n, name);
	int rc = vol_lookup(m->v, dir_of(m, n), name, &a);
	check(m, rc == 0, "lookup for unlink-open: %d", rc);
	rc = vol_unlink(m->v, dir_of(m, n), name);
	check(m, rc == 0, "unlink-open: %d", rc);
	m->inodes[i].nlink = 0;
	m->names[n] = -1;
	compare_file(m, i);
	vol_forget(m->v, a.ino, 1);
	put_inode(m, i);
}

static void reopen(struct model *m)
{
	int rc = vol_close(m->v);
	check(m, rc == 0, "vol_close: %d", rc);
	m->v = NULL;
	rc = vol_open(m->tv.meta, NULL, &m->v);
	check(m, rc == 0, "vol_open: %d", rc);
	check(m, !vol_was_unclean(m->v), "volume reported unclean after a clean close");
}

static int pick_file(struct model *m)
{
	int n = (int)rnd_below(m, NAMES);
	return m->names[n];
}

static void run_model(uint64_t seed, long ops)
{
	static struct model mm;
	struct model *m = &mm;
	memset(m, 0, sizeof(*m));
	m->seed = seed;
	m->rng = seed;
	for (int n = 0; n < NAMES; n++)
		m->names[n] = -1;
	tmpvol_create(&m->tv, 0);
	int rc = vol_open(m->tv.meta, NULL, &m->v);
	cr_assert_eq(rc, 0, "vol_open: %d", rc);
	struct vol_attr a;
	struct vol_cred cred = {0};
	rc = vol_mkdir(m->v, VOL_ROOT_INO, "sub", S_IFDIR | 0755, &cred, &a);
	cr_assert_eq(rc, 0);
	vol_forget(m->v, a.ino, 1);
	m->sub_ino = a.ino;

	for (m->step = 0; m->step < ops; m->step++) {
		int n = (int)rnd_below(m, NAMES), n2 = (int)rnd_below(m, NAMES);
		int i;
		switch (rnd_below(m, 20)) {
		case 0:
		case 1:
		case 2:
			op_create(m, n);
			break;
		case 3:
		case 4:
		case 5:
		case 6:
		case 7:
			if ((i = pick_file(m)) >= 0) {
				op_write(m, i);
				compare_file(m, i);
			}
			break;
		case 8:
			if ((i = pick_file(m)) >= 0) {
				op_truncate(m, i);
				compare_file(m, i);
			}
			break;
		case 9:
			if ((i = pick_file(m)) >= 0) {
				op_punch(m, i);
				compare_file(m, i);
			}
			break;
		case 10:
		case 11:
			op_rename(m, n, n2);
			compare_names(m);
			break;
		case 12:
			op_unlink(m, n);
			break;
		case 13:
			op_link(m, n, n2);
			break;
		case 14:
		case 15:
			if ((i = pick_file(m)) >= 0) {
				op_xattr(m, i);
				compare_file(m, i);
			}
			break;
		case 16:
			op_unlink_open(m, n);
			break;
		case 17:
			if (rnd_below(m, 40) == 0) {
				reopen(m);
				compare_all(m);
			}
			break;
		case 18:
			if (rnd_below(m, 50) == 0) {
				rc = vol_sync(m->v);
				check(m, rc == 0, "vol_sync: %d", rc);
			}
			break;
		default:
			if (rnd_below(m, 100) == 0)
				compare_all(m);
			break;
		}
	}
	reopen(m);
	compare_all(m);
	rc = vol_close(m->v);
	cr_assert_eq(rc, 0);
	int st = tmpvol_fsck(&m->tv, "");
	check(m, st == 0, "fsck.trackfs exit status %d after the run", st);
	for (int i = 0; i < MAX_INODES; i++)
		if (m->inodes[i].used)
			put_inode(m, i);
	tmpvol_destroy(&m->tv);
}

static long env_long(const char *name, long dflt)
{
	const char *s = getenv(name);
	return s ? strtol(s, NULL, 0) : dflt;
}

Test(model, random_operations, .timeout = 900)
{
	long ops = env_long("TRACKFS_MODEL_OPS", 25000);
	const char *one = getenv("TRACKFS_MODEL_SEED");
	if (one) {
		run_model(strtoull(one, NULL, 0), ops);
		return;
	}
	static const uint64_t seeds[] = {1, 0x5eed, 20261123};
	for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
		fprintf(stderr, "model: seed %" PRIu64 ", %ld operations\n", seeds[s], ops);
		run_model(seeds[s], ops);
	}
}
