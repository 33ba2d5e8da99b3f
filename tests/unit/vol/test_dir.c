/* readdir: ".", "..", every entry once, cookies that resume correctly while
 * entries are added and removed, stopping early, and readdirplus's
 * attributes and references. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/vol/vol_int.h"
#include "tests/unit/vol/fixture.h"

static struct fx f;
static struct vol_cred cred = {.uid = 1000, .gid = 1000};
static const uint64_t R = VOL_ROOT_INO;

static void setup(void)
{
	fx_setup(&f, 0);
}

static void teardown(void)
{
	fx_teardown(&f);
}

TestSuite(dir, .init = setup, .fini = teardown);

#define MAXE 512

struct seen {
	unsigned n;
	unsigned limit; /* stop after this many (0: no limit) */
	char names[MAXE][64];
	uint64_t ino[MAXE];
	uint32_t type[MAXE];
	uint64_t next[MAXE];
	bool has_attr[MAXE];
	struct vol_attr attr[MAXE];
};

static int collect_cb(void *arg, const struct vol_dirent *d, const struct vol_attr *attr)
{
	struct seen *s = arg;
	if (s->limit && s->n == s->limit)
		return 1;
	cr_assert_lt(s->n, MAXE);
	cr_assert_lt(d->namelen, 64);
	memcpy(s->names[s->n], d->name, d->namelen);
	s->names[s->n][d->namelen] = '\0';
	s->ino[s->n] = d->ino;
	s->type[s->n] = d->type;
	s->next[s->n] = d->next;
	s->has_attr[s->n] = attr != NULL;
	if (attr)
		s->attr[s->n] = *attr;
	s->n++;
	return 0;
}

static int find(const struct seen *s, const char *name)
{
	int at = -1;
	for (unsigned i = 0; i < s->n; i++) {
		if (strcmp(s->names[i], name) == 0) {
			cr_assert_eq(at, -1, "%s listed twice", name);
			at = (int)i;
		}
	}
	return at;
}

static uint64_t make(uint64_t dir, const char *name, bool is_dir)
{
	struct vol_attr a;
	int rc = is_dir ? vol_mkdir(f.v, dir, name, 0755, &cred, &a)
			: vol_create(f.v, dir, name, S_IFREG | 0644, &cred, &a);
	cr_assert_eq(rc, 0, "make %s: %d", name, rc);
	vol_forget(f.v, a.ino, 1);
	return a.ino;
}

Test(dir, empty_directory_has_dot_and_dotdot)
{
	static struct seen s;
	uint64_t d = make(R, "d", true);
	memset(&s, 0, sizeof(s));
	cr_assert_eq(vol_readdir(f.v, d, 0, false, collect_cb, &s), 0);
	cr_assert_eq(s.n, 2);
	cr_assert_str_eq(s.names[0], ".");
	cr_assert_eq(s.ino[0], d);
	cr_assert_eq(s.next[0], 1);
	cr_assert_eq(s.type[0], DT_DIR);
	cr_assert_str_eq(s.names[1], "..");
	cr_assert_eq(s.ino[1], R);
	cr_assert_eq(s.next[1], 2);
	cr_assert_eq(s.has_attr[0], false);
	/* the root's ".." is itself; cookie 1 resumes after "." */
	memset(&s, 0, sizeof(s));
	cr_assert_eq(vol_readdir(f.v, R, 1, false, collect_cb, &s), 0);
	cr_assert_eq(s.n, 2);
	cr_assert_str_eq(s.names[0], "..");
	cr_assert_eq(s.ino[0], R);
	cr_assert_str_eq(s.names[1], "d");
	cr_assert_eq(s.ino[1], d);
}

Test(dir, lists_every_entry_with_its_type)
{
	static struct seen s;
	char name[32];
	uint64_t ino[40];
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "e%02d", i);
		ino[i] = make(R, name, i % 5 == 0);
	}
	struct vol_attr a;
	cr_assert_eq(vol_symlink(f.v, R, "ln", "e00", &cred, &a), 0);
	vol_forget(f.v, a.ino, 1);
	memset(&s, 0, sizeof(s));
	cr_assert_eq(vol_readdir(f.v, R, 0, false, collect_cb, &s), 0);
	cr_assert_eq(s.n, 43);
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "e%02d", i);
		int at = find(&s, name);
		cr_assert_geq(at, 0, "%s missing", name);
		cr_assert_eq(s.ino[at], ino[i]);
		cr_assert_eq(s.type[at], i % 5 == 0 ? DT_DIR : DT_REG);
	}
	cr_assert_eq(s.type[find(&s, "ln")], DT_LNK);
	/* cookies grow, so a resumed scan cannot go back */
	for (unsigned i = 1; i < s.n; i++)
		cr_assert_gt(s.next[i], s.next[i - 1]);

	uint64_t file = ino[1];
	cr_assert_eq(vol_readdir(f.v, file, 0, false, collect_cb, &s), -ENOTDIR);
	cr_assert_eq(vol_readdir(f.v, 5555555, 0, false, collect_cb, &s), -ENOENT);
}

Test(dir, stopping_early_and_resuming_by_cookie)
{
	static struct seen all, part;
	char name[32];
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "n%03d", i);
		make(R, name, false);
	}
	memset(&all, 0, sizeof(all));
	uint64_t cookie = 0;
	for (int round = 0; round < 1000; round++) {
		memset(&part, 0, sizeof(part));
		part.limit = 7;
		cr_assert_eq(vol_readdir(f.v, R, cookie, false, collect_cb, &part), 0);
		if (part.n == 0)
			break;
		for (unsigned i = 0; i < part.n; i++) {
			strcpy(all.names[all.n], part.names[i]);
			all.ino[all.n++] = part.ino[i];
		}
		cookie = part.next[part.n - 1];
	}
	cr_assert_eq(all.n, 102);
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "n%03d", i);
		cr_assert_geq(find(&all, name), 0, "%s missing", name);
	}
	find(&all, ".");
	find(&all, "..");
}

/* Resume a scan while entries come and go: every entry present for the whole
 * scan is returned exactly once; removed ones may or may not appear, new
 * ones at most once. */
Test(dir, resuming_while_entries_are_added_and_removed)
{
	static struct seen all, part;
	char name[32];
	for (int i = 0; i < 60; i++) {
		snprintf(name, sizeof(name), "old%02d", i);
		make(R, name, i % 7 == 0);
	}
	memset(&all, 0, sizeof(all));
	uint64_t cookie = 0;
	int round = 0;
	for (;; round++) {
		cr_assert_lt(round, 1000);
		memset(&part, 0, sizeof(part));
		part.limit = 5;
		cr_assert_eq(vol_readdir(f.v, R, cookie, false, collect_cb, &part), 0);
		if (part.n == 0)
			break;
		for (unsigned i = 0; i < part.n; i++) {
			cr_assert_lt(all.n, MAXE);
			strcpy(all.names[all.n], part.names[i]);
			all.ino[all.n++] = part.ino[i];
		}
		cookie = part.next[part.n - 1];
		/* between batches: remove two old entries (odd numbers, some
		 * behind the cursor, some ahead) and add two new ones */
		for (int k = 0; k < 2; k++) {
			/* 1, 5, 9 ... (behind) and 59, 55, 51 ... (ahead) */
			int victim = k == 0 ? 4 * round + 1 : 59 - 4 * round;
			if (victim > 0 && victim < 60) {
				snprintf(name, sizeof(name), "old%02d", victim);
				int rc = victim % 7 == 0 ? vol_rmdir(f.v, R, name)
							 : vol_unlink(f.v, R, name);
				cr_assert_eq(rc, 0, "remove %s: %d", name, rc);
			}
			if (round < 15) { /* then let the scan catch up */
				snprintf(name, sizeof(name), "new%02d_%d", round, k);
				make(R, name, false);
			}
		}
	}
	/* every even-numbered old entry stayed the whole time: exactly once */
	for (int i = 0; i < 60; i += 2) {
		snprintf(name, sizeof(name), "old%02d", i);
		cr_assert_geq(find(&all, name), 0, "%s was present throughout but not listed",
			      name);
	}
	/* removed before the scan reached it: not listed */
	cr_assert_eq(find(&all, "old59"), -1);
	/* entries added while the scan ran are after the cursor: all listed */
	cr_assert_geq(find(&all, "new14_1"), 0);
	/* nothing at all is listed twice (find asserts that), new ones included */
	for (unsigned i = 0; i < all.n; i++)
		find(&all, all.names[i]);
	cr_assert_geq(find(&all, "."), 0);
	cr_assert_geq(find(&all, ".."), 0);
}

Test(dir, readdirplus_fills_attributes_and_counts_references)
{
	static struct seen s;
	uint64_t d = make(R, "d", true);
	uint64_t a = make(d, "a", false), b = make(d, "b", true), c = make(d, "c", false);
	fx_fill(&f, a, 7, 1234, 0);
	memset(&s, 0, sizeof(s));
	cr_assert_eq(vol_readdir(f.v, d, 0, true, collect_cb, &s), 0);
	cr_assert_eq(s.n, 5);
	for (unsigned i = 0; i < s.n; i++) {
		cr_assert(s.has_attr[i]);
		cr_assert_eq(s.attr[i].ino, s.ino[i]);
	}
	int ia = find(&s, "a");
	cr_assert_eq(s.attr[ia].size, 1234);
	cr_assert(S_ISREG(s.attr[ia].mode));
	cr_assert(S_ISDIR(s.attr[find(&s, "b")].mode));
	cr_assert_eq(s.attr[find(&s, "..")].ino, R);
	cr_assert_eq(vol_ref_count(f.v, a), 1);
	cr_assert_eq(vol_ref_count(f.v, b), 1);
	cr_assert_eq(vol_ref_count(f.v, c), 1);
	cr_assert_eq(vol_ref_count(f.v, d), 0, "\".\" is not counted");
	cr_assert_eq(vol_ref_count(f.v, R), 0, "\"..\" is not counted");

	/* an entry the callback refuses gets no reference */
	memset(&s, 0, sizeof(s));
	s.limit = 3; /* ".", "..", and one entry */
	cr_assert_eq(vol_readdir(f.v, d, 0, true, collect_cb, &s), 0);
	cr_assert_eq(s.n, 3);
	unsigned total =
		(unsigned)(vol_ref_count(f.v, a) + vol_ref_count(f.v, b) + vol_ref_count(f.v, c));
	cr_assert_eq(total, 4);
	/* those references keep an unlinked file alive */
	vol_forget(f.v, b, vol_ref_count(f.v, b));
	cr_assert_eq(vol_unlink(f.v, d, "a"), 0);
	fx_expect_bytes(&f, a, 7, 1234, 0);
	vol_forget(f.v, a, vol_ref_count(f.v, a));
	struct vol_attr st;
	cr_assert_eq(vol_getattr(f.v, a, &st), -ENOENT);
	vol_forget(f.v, c, vol_ref_count(f.v, c));
}
