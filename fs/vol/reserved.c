/* Names front ends reserve for their own files (vol_reserve_name): the S3
 * sidecar declares its uploads directory and its temporary files' prefix,
 * and the FUSE front end hides those names and refuses to create them, so
 * neither front end mistakes the other's files for its own. The rule lives
 * here, once; the table is written before a volume is served and read
 * without a lock. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "fs/vol/vol.h"
#include "fs/vol/vol_int.h"

static bool matches(const struct vol_reserved *r, uint64_t parent, const char *name, size_t len)
{
	if ((r->flags & VOL_RESERVED_ROOT) && parent != VOL_ROOT_INO)
		return false;
	if (r->flags & VOL_RESERVED_PREFIX)
		return len >= r->len && memcmp(name, r->name, r->len) == 0;
	return len == r->len && memcmp(name, r->name, len) == 0;
}

int vol_reserve_name(struct vol *v, const char *name, unsigned flags)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || len >= VOL_RESERVED_NAME_MAX || strchr(name, '/') ||
	    (flags & ~(VOL_RESERVED_ROOT | VOL_RESERVED_PREFIX)))
		return -EINVAL;
	int rc = 0;
	pthread_mutex_lock(&v->reserved_mu);
	unsigned n = atomic_load_explicit(&v->nreserved, memory_order_relaxed);
	for (unsigned i = 0; i < n; i++)
		if (v->reserved[i].len == len && v->reserved[i].flags == flags &&
		    memcmp(v->reserved[i].name, name, len) == 0)
			goto out;
	if (n == VOL_RESERVED_MAX) {
		rc = -ENOSPC;
		goto out;
	}
	memcpy(v->reserved[n].name, name, len + 1);
	v->reserved[n].len = len;
	v->reserved[n].flags = flags;
	atomic_store_explicit(&v->nreserved, n + 1, memory_order_release);
out:
	pthread_mutex_unlock(&v->reserved_mu);
	return rc;
}

bool vol_name_reserved(struct vol *v, uint64_t parent, const char *name, size_t len)
{
	unsigned n = atomic_load_explicit(&v->nreserved, memory_order_acquire);

	for (unsigned i = 0; i < n; i++)
		if (matches(&v->reserved[i], parent, name, len))
			return true;
	return false;
}
