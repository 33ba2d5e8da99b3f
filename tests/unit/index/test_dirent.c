/* index/dirent.c: add/get/replace/delete, name limits, slots (increasing,
 * stable across deletes), readdir from a slot cookie while the directory
 * changes, name-order listing, emptiness and the all-dirents walk. */
#include <dirent.h>

#include "idx_fixture.h"

static struct fx f;

static void setup(void)
{
	fx_setup(&f);
}

static void teardown(void)
{
	fx_teardown(&f);
}

#define ADD(txn, dir, name, ino) idx_dirent_add(txn, dir, name, strlen(name), ino, DT_REG)
#define DEL(txn, dir, name) idx_dirent_del(txn, dir, name, strlen(name))

Test(dirent, add_get_replace_del, .init = setup, .fini = teardown)
{
	struct idx_txn *txn = fx_begin(&f);
	struct idx_dirent d;

	cr_assert_eq(idx_dirent_get(txn, 1, "a", 1, &d), -ENOENT);
	cr_assert_eq(ADD(txn, 1, "a", 10), 0);
	cr_assert_eq(ADD(txn, 1, "a", 11), -EEXIST);
	cr_assert_eq(idx_dirent_get(txn, 1, "a", 1, &d), 0);
	cr_assert_eq(d.ino, 10);
	cr_assert_eq(d.type, DT_REG);
	cr_assert_eq(d.namelen, 1);
	cr_assert_str_eq(d.name, "a");
	cr_assert_geq(d.slot, 1);
	cr_assert_eq(idx_dirent_get(txn, 1, "a", 1, NULL), 0);
	/* Same name in another directory is another entry. */
	cr_assert_eq(idx_dirent_get(txn, 2, "a", 1, NULL), -ENOENT);
	cr_assert_eq(ADD(txn, 2, "a", 12), 0);

	uint64_t slot = d.slot;
	cr_assert_eq(idx_dirent_replace(txn, 1, "a", 1, 20, DT_DIR), 0);
	cr_assert_eq(idx_dirent_get(txn, 1, "a", 1, &d), 0);
	cr_assert_eq(d.ino, 20);
	cr_assert_eq(d.type, DT_DIR);
	cr_assert_eq(d.slot, slot);
	cr_assert_eq(idx_dirent_replace(txn, 1, "zz", 2, 20, DT_DIR), -ENOENT);

	cr_assert_eq(DEL(txn, 1, "a"), 0);
	cr_assert_eq(DEL(txn, 1, "a"), -ENOENT);
	cr_assert_eq(idx_dirent_get(txn, 1, "a", 1, NULL), -ENOENT);
	cr_assert_eq(idx_dirent_get(txn, 2, "a", 1, NULL), 0);
	fx_commit(txn);
}

Test(dirent, name_limits, .init = setup, .fini = teardown)
{
	struct idx_txn *txn = fx_begin(&f);
	char name[300];
	struct idx_dirent d;

	memset(name, 'x', sizeof(name));
	cr_assert_eq(idx_dirent_add(txn, 1, name, 0, 5, DT_REG), -EINVAL);
	cr_assert_eq(idx_dirent_add(txn, 1, name, 256, 5, DT_REG), -ENAMETOOLONG);
	cr_assert_eq(idx_dirent_get(txn, 1, name, 256, NULL), -ENAMETOOLONG);
	cr_assert_eq(idx_dirent_add(txn, 1, name, 255, 5, DT_REG), 0);
	cr_assert_eq(idx_dirent_get(txn, 1, name, 255, &d), 0);
	cr_assert_eq(d.namelen, 255);
	cr_assert_eq(strlen(d.name), 255);
	/* Names are bytes: a prefix is a different name. */
	cr_assert_eq(idx_dirent_get(txn, 1, name, 254, NULL), -ENOENT);
	fx_commit(txn);
}

Test(dirent, slots_increase_and_survive_deletes, .init = setup, .fini = teardown)
{
	struct idx_txn *txn = fx_begin(&f);
	struct idx_dirent a, b, c, d2;

	cr_assert_eq(ADD(txn, 1, "a", 2), 0);
	cr_assert_eq(ADD(txn, 1, "b", 3), 0);
	cr_assert_eq(ADD(txn, 1, "c", 4), 0);
	cr_assert_eq(idx_dirent_get(txn, 1, "a", 1, &a), 0);
	cr_assert_eq(idx_dirent_get(txn, 1, "b", 1, &b), 0);
	cr_assert_eq(idx_dirent_get(txn, 1, "c", 1, &c), 0);
	cr_assert_eq(a.slot, 1);
	cr_assert_lt(a.slot, b.slot);
	cr_assert_lt(b.slot, c.slot);
	/* Another directory numbers its own slots from 1. */
	cr_assert_eq(ADD(txn, 2, "a", 5), 0);
	cr_assert_eq(idx_dirent_get(txn, 2, "a", 1, &d2), 0);
	cr_assert_eq(d2.slot, 1);
	/* Deleting keeps the others' slots; new entries go above them all. */
	cr_assert_eq(DEL(txn, 1, "b"), 0);
	cr_assert_eq(idx_dirent_get(txn, 1, "c", 1, &d2), 0);
	cr_assert_eq(d2.slot, c.slot);
	cr_assert_eq(ADD(txn, 1, "d", 6), 0);
	cr_assert_eq(idx_dirent_get(txn, 1, "d", 1, &d2), 0);
	cr_assert_gt(d2.slot, c.slot);
	/* The largest possible directory number has no successor key. */
	cr_assert_eq(ADD(txn, UINT64_MAX, "x", 7), 0);
	cr_assert_eq(ADD(txn, UINT64_MAX, "y", 8), 0);
	cr_assert_eq(idx_dirent_get(txn, UINT64_MAX, "y", 1, &d2), 0);
	cr_assert_eq(d2.slot, 2);
	fx_commit(txn);
}

struct collect {
	char names[64][8];
	uint64_t slots[64];
	int n;
	int max; /* stop (return 1) after this many */
};

static int collect_cb(void *arg, const struct idx_dirent *d)
{
	struct collect *c = arg;

	cr_assert_lt(c->n, 64);
	strcpy(c->names[c->n], d->name);
	c->slots[c->n] = d->slot;
	c->n++;
	return c->n == c->max ? 1 : 0;
}

static bool has(const struct collect *c, const char *name, int *count)
{
	*count = 0;
	for (int i = 0; i < c->n; i++)
		*count += strcmp(c->names[i], name) == 0;
	return *count > 0;
}

Test(dirent, readdir_cookie_while_changing, .init = setup, .fini = teardown)
{
	struct collect all = {.n = 0}, page = {.n = 0};
	struct idx_txn *txn = fx_begin(&f);
	char name[8];
	uint64_t cookie = 0;
	int count;

	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "e%02d", i);
		cr_assert_eq(ADD(txn, 1, name, 100 + i), 0);
	}
	fx_commit(txn);
	/* Read 5 at a time; between pages remove some entries (read and not
	 * yet read) and add new ones. */
	for (int round = 0;; round++) {
		txn = fx_begin(&f);
		page.n = 0;
		page.max = 5;
		int rc = idx_dirent_list(txn, 1, cookie, collect_cb, &page);
		cr_assert(rc == 0 || rc == 1);
		for (int i = 0; i < page.n; i++) {
			cr_assert_geq(page.slots[i], cookie);
			strcpy(all.names[all.n], page.names[i]);
			all.slots[all.n++] = page.slots[i];
			cookie = page.slots[i] + 1;
		}
		if (round == 0) {
			cr_assert_eq(DEL(txn, 1, "e01"), 0); /* already read */
			cr_assert_eq(DEL(txn, 1, "e10"), 0); /* not yet read */
			cr_assert_eq(ADD(txn, 1, "new1", 200), 0);
		}
		if (round == 1) {
			cr_assert_eq(DEL(txn, 1, "e15"), 0);
			cr_assert_eq(ADD(txn, 1, "new2", 201), 0);
			cr_assert_eq(DEL(txn, 1, "new2"), 0);
		}
		fx_commit(txn);
		if (rc == 0)
			break;
	}
	/* Each surviving original entry exactly once; deleted unread ones never. */
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "e%02d", i);
		has(&all, name, &count);
		if (i == 10 || i == 15)
			cr_assert_eq(count, 0, "%s", name);
		else
			cr_assert_eq(count, 1, "%s seen %d times", name, count);
	}
	has(&all, "new1", &count);
	cr_assert_leq(count, 1);
	for (int i = 1; i < all.n; i++)
		cr_assert_lt(all.slots[i - 1], all.slots[i]);
}

Test(dirent, list_by_name_and_empty, .init = setup, .fini = teardown)
{
	const char *names[] = {"b", "a", "ab", "B", "c"};
	const char *sorted[] = {"B", "a", "ab", "b", "c"};
	struct collect c = {.n = 0};
	struct idx_txn *txn = fx_begin(&f);

	cr_assert(idx_dir_empty(txn, 5));
	for (int i = 0; i < 5; i++)
		cr_assert_eq(ADD(txn, 5, names[i], 10 + i), 0);
	cr_assert_eq(ADD(txn, 4, "zzz", 1), 0);
	cr_assert_eq(ADD(txn, 6, "0", 1), 0);
	cr_assert_not(idx_dir_empty(txn, 5));
	cr_assert(idx_dir_empty(txn, 7));
	cr_assert_eq(idx_dirent_list_by_name(txn, 5, NULL, 0, collect_cb, &c), 0);
	cr_assert_eq(c.n, 5);
	for (int i = 0; i < 5; i++)
		cr_assert_str_eq(c.names[i], sorted[i]);
	c.n = 0;
	cr_assert_eq(idx_dirent_list_by_name(txn, 5, "a", 1, collect_cb, &c), 0);
	cr_assert_eq(c.n, 3);
	cr_assert_str_eq(c.names[0], "ab");
	c.n = 0;
	cr_assert_eq(idx_dirent_list_by_name(txn, 5, "aa", 2, collect_cb, &c), 0);
	cr_assert_eq(c.n, 3);
	cr_assert_str_eq(c.names[0], "ab");
	c.n = 0;
	cr_assert_eq(idx_dirent_list_by_name(txn, 5, "c", 1, collect_cb, &c), 0);
	cr_assert_eq(c.n, 0);
	c.n = 0;
	c.max = 2;
	cr_assert_eq(idx_dirent_list_by_name(txn, 5, NULL, 0, collect_cb, &c), 1);
	cr_assert_eq(c.n, 2);
	/* Slot order is insertion order. */
	c.n = 0;
	c.max = 0;
	cr_assert_eq(idx_dirent_list(txn, 5, 0, collect_cb, &c), 0);
	cr_assert_eq(c.n, 5);
	for (int i = 0; i < 5; i++)
		cr_assert_str_eq(c.names[i], names[i]);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(DEL(txn, 5, names[i]), 0);
	cr_assert(idx_dir_empty(txn, 5));
	fx_commit(txn);
}

struct all_state {
	uint64_t parents[8];
	char names[8][8];
	int n;
};

static int all_cb(void *arg, uint64_t parent, const struct idx_dirent *d)
{
	struct all_state *s = arg;

	cr_assert_lt(s->n, 8);
	s->parents[s->n] = parent;
	strcpy(s->names[s->n++], d->name);
	return 0;
}

Test(dirent, iter_all, .init = setup, .fini = teardown)
{
	struct all_state s = {.n = 0};
	struct idx_txn *txn = fx_begin(&f);

	cr_assert_eq(ADD(txn, 300, "x", 1), 0);
	cr_assert_eq(ADD(txn, 2, "b", 1), 0);
	cr_assert_eq(ADD(txn, 2, "a", 1), 0);
	cr_assert_eq(idx_dirent_iter_all(txn, all_cb, &s), 0);
	cr_assert_eq(s.n, 3);
	cr_assert_eq(s.parents[0], 2);
	cr_assert_str_eq(s.names[0], "a");
	cr_assert_str_eq(s.names[1], "b");
	cr_assert_eq(s.parents[2], 300);
	fx_commit(txn);
}

Test(dirent, corrupt_record_is_eio, .init = setup, .fini = teardown)
{
	uint8_t key[9], bad[3] = {1, 2, 3};
	struct idx_txn *txn;

	cr_assert_eq(idx_env_close(f.env, true), 0);
	f.env = NULL;
	fx_be64(key, 1);
	key[8] = 'q';
	fx_raw_put(f.dir, "dirent", key, 9, bad, sizeof(bad));
	fx_open(&f, 0);
	txn = fx_begin(&f);
	cr_assert_eq(idx_dirent_get(txn, 1, "q", 1, NULL), -EIO);
	fx_abort(txn);
}
