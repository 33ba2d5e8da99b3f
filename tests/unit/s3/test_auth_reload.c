/* Reloading the auth file (fs/s3/server.c s3_server_reload_auth, auth.c): the
 * new table serves from the next request on, a request keeps the table it
 * started with until it ends, a file that does not load changes nothing and
 * says which file and line, and requests taking and letting go of the table
 * on several threads while it is swapped neither crash nor leak. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/s3/s3_int.h"

static char path[] = "/tmp/trackfs-auth-XXXXXX";
static struct s3_server srv;

static void write_auth(const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	cr_assert_geq(fputs(text, f), 0);
	cr_assert_eq(fclose(f), 0);
}

static void setup(void)
{
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	close(fd);
	write_auth("AKA SKA rw *\n");
	memset(&srv, 0, sizeof(srv));
	cr_assert_eq(uv_mutex_init(&srv.auth_lock), 0);
	srv.auth_file = path;
	cr_assert_eq(s3_auth_load(path, &srv.auth, NULL, 0), 0);
}

static void teardown(void)
{
	s3_auth_put(&srv, srv.auth);
	uv_mutex_destroy(&srv.auth_lock);
	unlink(path);
}

/* A request as far as the table goes: s3_req_auth, then s3_req_reset's put. */
static const struct s3_auth *req_begin(struct s3_conn *c)
{
	memset(c, 0, sizeof(*c));
	c->srv = &srv;
	return s3_req_auth(c);
}

static void req_end(struct s3_conn *c)
{
	if (c->req.auth_held)
		s3_auth_put(&srv, c->req.auth);
	c->req.auth_held = false;
}

Test(auth_reload, swap_keeps_the_old_table_for_requests_in_flight, .init = setup, .fini = teardown)
{
	struct s3_conn *c1 = calloc(1, sizeof(*c1)), *c2 = calloc(1, sizeof(*c2));
	char why[PATH_MAX + 256];

	cr_assert(c1 && c2);
	const struct s3_auth *old = req_begin(c1);
	cr_assert_str_eq(s3_auth_secret(old, "AKA"), "SKA");
	cr_assert_eq(s3_req_auth(c1), old, "a request asks once");

	write_auth("# B only\nAKB SKB ro bkt\n");
	cr_assert_eq(s3_server_reload_auth(&srv, why, sizeof(why)), 0, "%s", why);
	cr_assert(strstr(why, "reloaded: 1 grants"), "%s", why);
	/* The request that started before keeps A, the next one sees B. */
	cr_assert_str_eq(s3_auth_secret(old, "AKA"), "SKA");
	const struct s3_auth *now = req_begin(c2);
	cr_assert_neq(now, old);
	cr_assert_null(s3_auth_secret(now, "AKA"));
	cr_assert_str_eq(s3_auth_secret(now, "AKB"), "SKB");
	cr_assert(s3_auth_allows(now, "AKB", "bkt", false));
	cr_assert_not(s3_auth_allows(now, "AKB", "bkt", true));
	cr_assert_eq(old->refs, 1, "only the request holds the old table");
	req_end(c1); /* frees it */
	req_end(c2);
	cr_assert_eq(srv.auth->refs, 1);
	free(c1);
	free(c2);
}

Test(auth_reload, a_bad_file_changes_nothing_and_names_file_and_line, .init = setup,
     .fini = teardown)
{
	const struct s3_auth *before = srv.auth;
	char why[PATH_MAX + 256], want[PATH_MAX + 16];

	write_auth("AKB SKB rw *\nAKC SKC maybe *\n");
	cr_assert_eq(s3_server_reload_auth(&srv, why, sizeof(why)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2:", path);
	cr_assert(strstr(why, want), "%s", why);
	cr_assert_eq(srv.auth, before);
	cr_assert_str_eq(s3_auth_secret(srv.auth, "AKA"), "SKA");

	unlink(path);
	cr_assert_eq(s3_server_reload_auth(&srv, why, sizeof(why)), -ENOENT);
	cr_assert(strstr(why, path), "%s", why);
	cr_assert_eq(srv.auth, before);
}

Test(auth_reload, without_authentication_there_is_nothing_to_reload)
{
	struct s3_server s = {0};
	char why[256];

	cr_assert_eq(uv_mutex_init(&s.auth_lock), 0);
	cr_assert_eq(s3_server_reload_auth(&s, why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "without authentication"), "%s", why);
	uv_mutex_destroy(&s.auth_lock);
}

static atomic_bool stop;

static void *requests(void *arg)
{
	struct s3_conn *c = calloc(1, sizeof(*c));
	unsigned long n = 0;

	(void)arg;
	cr_assert_not_null(c);
	while (!atomic_load(&stop)) {
		const struct s3_auth *a = req_begin(c);
		const char *sa = s3_auth_secret(a, "AKA"), *sb = s3_auth_secret(a, "AKB");
		/* Always one whole table: A's or B's, never a mix or freed memory. */
		if (!((sa && !strcmp(sa, "SKA")) ^ (sb && !strcmp(sb, "SKB"))))
			abort();
		req_end(c);
		n++;
	}
	free(c);
	return (void *)n;
}

Test(auth_reload, concurrent_requests_while_swapping, .init = setup, .fini = teardown)
{
	pthread_t t[4];
	char why[PATH_MAX + 256];

	for (int i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, requests, NULL), 0);
	for (int i = 0; i < 200; i++) {
		write_auth(i % 2 ? "AKA SKA rw *\n" : "AKB SKB rw *\n");
		cr_assert_eq(s3_server_reload_auth(&srv, why, sizeof(why)), 0, "%s", why);
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 4; i++) {
		void *n;
		pthread_join(t[i], &n);
		cr_assert_gt((unsigned long)n, 0);
	}
	cr_assert_eq(srv.auth->refs, 1);
}
