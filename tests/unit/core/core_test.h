/* Shared fixtures for core/'s unit tests: a temporary directory holding
 * formatted disks, and opening a pool on them. Header-only (static). */
#ifndef TESTS_UNIT_CORE_CORE_TEST_H
#define TESTS_UNIT_CORE_CORE_TEST_H

#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/log.h"
#include "core/pool.h"
#include "core/pool_int.h"

#define CT_MAX_DISKS 4

struct ct {
	char root[64];
	char paths[CT_MAX_DISKS][128];
	struct trk_disk_spec specs[CT_MAX_DISKS];
	struct trk_pool_config cfg;
	unsigned ndisks;
	struct trk_pool *pool;
};

static int ct_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void ct_rmrf(const char *path)
{
	nftw(path, ct_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Make a temp dir with @p ndisks formatted disks; do not open them yet. */
static inline void ct_setup(struct ct *c, unsigned ndisks, uint32_t chunk_size,
			    uint64_t max_track_bytes)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->root, "/tmp/trk-core-XXXXXX");
	cr_assert_not_null(mkdtemp(c->root));
	c->ndisks = ndisks;
	cr_assert_eq(tfs_uuid_generate(&c->cfg.volume_uuid), 0);
	c->cfg.chunk_size = chunk_size;
	c->cfg.max_track_bytes = max_track_bytes;
	for (unsigned i = 0; i < ndisks; i++) {
		snprintf(c->paths[i], sizeof(c->paths[i]), "%s/d%u", c->root, i);
		c->specs[i].path = c->paths[i];
		cr_assert_eq(tfs_uuid_generate(&c->specs[i].uuid), 0);
		cr_assert_eq(trk_disk_format(c->paths[i], &c->cfg.volume_uuid, &c->specs[i].uuid,
					     (uint16_t)i, chunk_size, false),
			     0);
	}
}

static inline int ct_open(struct ct *c)
{
	return trk_pool_open(&c->cfg, c->specs, c->ndisks, &c->pool);
}

static inline void ct_close(struct ct *c)
{
	if (c->pool)
		cr_assert_eq(trk_pool_close(c->pool), 0);
	c->pool = NULL;
}

static inline void ct_teardown(struct ct *c)
{
	if (c->pool)
		trk_pool_close(c->pool);
	c->pool = NULL;
	ct_rmrf(c->root);
}

/* Write a pattern into every chunk of @p run: a check (fsck) reports
 * referenced chunks that were never written. */
static inline void ct_fill_run(struct ct *c, const struct trk_run *run)
{
	uint32_t cs = trk_pool_chunk_size(c->pool);
	void *buf = malloc(cs);

	cr_assert_not_null(buf);
	memset(buf, 0x5a, cs);
	for (uint32_t i = 0; i < run->count; i++)
		cr_assert_eq(trk_io_write(c->pool, run, (uint64_t)i * cs, buf, cs), 0);
	free(buf);
}

static inline void ct_track_path(struct ct *c, unsigned disk, uint32_t track, char *buf, size_t len)
{
	snprintf(buf, len, "%s/tracks/track-%06u.trk", c->paths[disk], track);
}

#endif
