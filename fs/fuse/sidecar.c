/* The S3 sidecar inside the mounted daemon (-o s3=HOST:PORT): started on the
 * open volume once the mount stands, stopped before the mount goes, and its
 * change hook, which drops what the kernel caches about names and files that
 * S3 clients changed behind its back.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include "fs/fuse/fs_fuse.h"
#include "fs/fuse/main_int.h"
#include "fs/s3/s3.h"

/* Errors of a notification that only mean "nothing to drop": the kernel has
 * nothing cached (ENOENT), has not finished INIT (ENOTCONN) or the mount is
 * going away (ENODEV). */
static bool fs_notify_err_benign(int rc)
{
	return rc == 0 || rc == -ENOENT || rc == -ENOTCONN || rc == -ENODEV;
}

/*
 * The sidecar's on_change hook, on one of its threads (never inside a FUSE
 * request, so the kernel may take the directory's lock while it drops the
 * entry). The entry goes first (it may name a new inode now), then the
 * inode's attributes and pages, then the directory's attributes and cached
 * listing (an entry the kernel never looked up leaves no dentry to drop, but
 * the listing cached by cache_readdir must still show it).
 */
static void fs_s3_changed_cb(void *arg, uint64_t parent, const char *name, uint64_t ino)
{
	struct fs_daemon *d = arg;
	int rc;

	if (!atomic_load(&d->notify_on))
		return;
	rc = fs_invalidate_entry(d, parent, name);
	if (!fs_notify_err_benign(rc))
		tfs_warn("fuse: dropping the kernel's entry for '%s' in directory %" PRIu64
			 " after an S3 change failed: %s; the mount may show the old entry until "
			 "the entry timeout",
			 name, parent, tfs_strerror(rc));
	if (ino) {
		rc = fs_invalidate_inode(d, ino);
		if (!fs_notify_err_benign(rc))
			tfs_warn("fuse: dropping the kernel's cache of inode %" PRIu64
				 " ('%s') after an S3 change failed: %s; the mount may show old "
				 "data until it is reopened",
				 ino, name, tfs_strerror(rc));
	}
	rc = fs_invalidate_inode(d, parent);
	if (!fs_notify_err_benign(rc))
		tfs_warn("fuse: dropping the kernel's listing of directory %" PRIu64
			 " after an S3 change failed: %s",
			 parent, tfs_strerror(rc));
	tfs_debug("fuse: S3 changed '%s' in %" PRIu64 " (inode %" PRIu64 "): caches dropped", name,
		  parent, ino);
}

int fs_s3_start(struct fs_daemon *d, const struct fs_s3_opts *o, struct s3_server **out)
{
	struct s3_config cfg = {
		.listen = o->listen,
		.region = o->region,
		.auth_file = o->auth,
		.no_auth = o->no_auth != 0,
		.on_change = fs_s3_changed_cb,
		.on_change_arg = d,
	};
	sigset_t block, old;
	int rc;

	/* The sidecar's threads inherit this thread's mask: keep the signals
	 * that end the FUSE loop (SIGINT, SIGTERM, SIGHUP) away from them, so
	 * that they land on a thread of the loop, which then notices. SIGHUP
	 * reloads the auth file (sighup.c), as does `trackfs s3 reload` over
	 * the control socket (which s3_server_start registers). */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	rc = -pthread_sigmask(SIG_BLOCK, &block, &old);
	if (rc < 0)
		return rc;
	atomic_store(&d->notify_on, true);
	rc = s3_server_start(d->vol, &cfg, out);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc < 0)
		atomic_store(&d->notify_on, false);
	return rc;
}

void fs_s3_stop(struct fs_daemon *d, struct s3_server *s)
{
	if (!s)
		return;
	/* No notifications once the FUSE loop has ended: no thread answers
	 * the kernel any more, so one that needs a directory's lock held by a
	 * request in flight would wait for ever (and s3_server_stop with it). */
	atomic_store(&d->notify_on, false);
	s3_server_stop(s);
	tfs_info("S3 sidecar stopped");
}
