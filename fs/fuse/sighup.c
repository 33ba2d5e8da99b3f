/* SIGHUP in the mount daemon: reload the S3 sidecar's auth file, as
 * trackfs-s3 does and as `systemctl reload` expects, instead of unmounting
 * (libfuse's default). The handler only writes a byte to a pipe; a thread
 * reads it and reloads, logging the outcome. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/base/log.h"
#include "fs/fuse/main_int.h"
#include "fs/s3/s3.h"

struct fs_hup {
	pthread_t thread;
	int rfd;
	struct s3_server *s3; /* NULL: this daemon serves no S3 */
};

static int hup_wfd = -1; /* the handler's end of the pipe */

static void on_hup(int sig)
{
	int saved = errno;
	char b = 'h';

	(void)sig;
	if (write(hup_wfd, &b, 1) < 0) {
		/* A full pipe already holds a reload to do. */
	}
	errno = saved;
}

static void *hup_main(void *arg)
{
	struct fs_hup *h = arg;
	char b;

	while (read(h->rfd, &b, 1) == 1 && b == 'h') {
		if (h->s3)
			s3_server_sighup(h->s3);
		else
			tfs_info("SIGHUP received: this mount serves no S3, nothing to reload "
				 "(unmount with fusermount3 -u or SIGTERM)");
	}
	return NULL;
}

int fs_hup_start(struct s3_server *s3, struct fs_hup **out)
{
	struct fs_hup *h = calloc(1, sizeof(*h));
	int p[2], rc;

	if (!h)
		return -ENOMEM;
	if (pipe2(p, O_CLOEXEC) < 0) {
		rc = -errno;
		free(h);
		return rc;
	}
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	h->rfd = p[0];
	h->s3 = s3;
	hup_wfd = p[1];
	rc = -pthread_create(&h->thread, NULL, hup_main, h);
	if (rc < 0)
		goto out_close;
	struct sigaction sa = {.sa_handler = on_hup, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGHUP, &sa, NULL) < 0) {
		rc = -errno;
		char q = 'q';
		if (write(p[1], &q, 1) == 1)
			pthread_join(h->thread, NULL);
		goto out_close;
	}
	*out = h;
	return 0;
out_close:
	hup_wfd = -1;
	close(p[0]);
	close(p[1]);
	free(h);
	return rc;
}

void fs_hup_stop(struct fs_hup *h)
{
	if (!h)
		return;
	/* From here on SIGHUP is ignored: the daemon is on its way out. */
	signal(SIGHUP, SIG_IGN);
	char q = 'q';
	while (write(hup_wfd, &q, 1) < 0 && errno == EAGAIN)
		usleep(1000);
	pthread_join(h->thread, NULL);
	close(hup_wfd);
	hup_wfd = -1;
	close(h->rfd);
	free(h);
}
