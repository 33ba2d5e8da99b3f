/* trackfs-debug: reach files of an unmounted volume through fs/vol, for
 * scripts, tests and people without FUSE: put (stdin to a file), get (a file
 * to stdout), ls, rm, and locate (debug_locate.c: where a file's byte lives
 * on disk). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/log.h"
#include "fs/vol/vol.h"
#include "tools/cli_common.h"
#include "tools/debug.h"

#define IO_SIZE (1u << 20)

static void usage(FILE *out)
{
	fprintf(out, "Usage: trackfs-debug COMMAND VOLUME ...\n"
		     "Reach the files of an unmounted trackfs volume without FUSE.\n"
		     "\n"
		     "  put VOLUME PATH            write stdin to PATH (parents are created)\n"
		     "  get VOLUME PATH            write PATH's bytes to stdout\n"
		     "  ls VOLUME [PATH]           list a directory\n"
		     "  rm VOLUME PATH             remove a file\n"
		     "  locate VOLUME PATH OFFSET  where the chunk holding byte OFFSET of PATH\n"
		     "                             lies: disk, track file and byte offset\n");
}

/* Resolve @p path to an inode; *ino_out holds one reference (vol_forget). */
static int walk(struct vol *v, const char *path, bool mkdirs, bool want_parent, uint64_t *ino_out,
		const char **last)
{
	char *copy = strdup(path), *save = NULL, *comp, *next;
	uint64_t cur = VOL_ROOT_INO;
	struct vol_cred cred = {.uid = getuid(), .gid = getgid()};
	struct vol_attr a;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	comp = strtok_r(copy, "/", &save);
	while (comp) {
		next = strtok_r(NULL, "/", &save);
		if (!next && want_parent) {
			*last = path + (comp - copy);
			break;
		}
		rc = vol_lookup(v, cur, comp, &a);
		if (rc == -ENOENT && mkdirs)
			rc = vol_mkdir(v, cur, comp, S_IFDIR | 0755, &cred, &a);
		if (cur != VOL_ROOT_INO)
			vol_forget(v, cur, 1);
		if (rc < 0) {
			cli_msg("%s: cannot find '%s': %s", path, comp, tfs_strerror(rc));
			free(copy);
			return rc;
		}
		cur = a.ino;
		comp = next;
	}
	if (want_parent && !*last) {
		cli_msg("%s: not a file path", path);
		rc = -EINVAL;
	}
	free(copy);
	if (rc < 0) {
		if (cur != VOL_ROOT_INO)
			vol_forget(v, cur, 1);
		return rc;
	}
	*ino_out = cur;
	return 0;
}

static void release(struct vol *v, uint64_t ino)
{
	if (ino != VOL_ROOT_INO)
		vol_forget(v, ino, 1);
}

static int cmd_put(struct vol *v, const char *path, bool crash)
{
	struct vol_cred cred = {.uid = getuid(), .gid = getgid()};
	struct vol_attr a;
	const char *name = NULL;
	uint64_t dir, ino;
	char *buf;
	off_t off = 0;
	int rc;

	rc = walk(v, path, true, true, &dir, &name);
	if (rc < 0)
		return rc;
	rc = vol_lookup(v, dir, name, &a);
	if (rc == 0) {
		struct vol_attr zero = {.size = 0};
		rc = vol_setattr(v, a.ino, &zero, VOL_SET_SIZE, &a);
	} else if (rc == -ENOENT) {
		rc = vol_create(v, dir, name, S_IFREG | 0644, &cred, &a);
	}
	release(v, dir);
	if (rc < 0) {
		cli_msg("put %s: %s", path, tfs_strerror(rc));
		return rc;
	}
	ino = a.ino;
	buf = malloc(IO_SIZE);
	if (!buf) {
		rc = -ENOMEM;
		goto out_forget;
	}
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, IO_SIZE);
		if (n < 0) {
			rc = -errno;
			cli_msg("put %s: reading stdin: %s", path, tfs_strerror(rc));
			goto out_free;
		}
		if (n == 0)
			break;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = vol_write(v, ino, buf + done, (size_t)(n - done), off);
			if (w < 0) {
				rc = (int)w;
				cli_msg("put %s: write at offset %lld: %s", path, (long long)off,
					tfs_strerror(rc));
				goto out_free;
			}
			done += w;
			off += w;
		}
	}
	rc = vol_fsync(v, ino, false);
	if (rc < 0) {
		cli_msg("put %s: fsync: %s", path, tfs_strerror(rc));
		goto out_free;
	}
	if (crash) {
		/* Test hook: die like kill -9 after the data is durable, leaving the
		 * volume marked unclean. */
		_exit(0);
	}
out_free:
	free(buf);
out_forget:
	vol_forget(v, ino, 1);
	return rc;
}

static int cmd_get(struct vol *v, const char *path)
{
	uint64_t ino;
	char *buf;
	off_t off = 0;
	int rc = walk(v, path, false, false, &ino, NULL);

	if (rc < 0)
		return rc;
	buf = malloc(IO_SIZE);
	if (!buf) {
		release(v, ino);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = vol_read(v, ino, buf, IO_SIZE, off);
		if (n < 0) {
			rc = (int)n;
			cli_msg("get %s: read at offset %lld: %s", path, (long long)off,
				tfs_strerror(rc));
			break;
		}
		if (n == 0)
			break;
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
			rc = -EIO;
			cli_msg("get %s: writing stdout failed", path);
			break;
		}
		off += n;
	}
	free(buf);
	release(v, ino);
	return rc;
}

struct ls_list {
	struct ls_ent {
		uint64_t ino;
		char *name;
	} * ents;
	size_t n, cap;
};

/* vol_readdir calls back inside an index transaction, so entries are only
 * collected here and their attributes fetched afterwards. */
static int ls_cb(void *arg, const struct vol_dirent *d, const struct vol_attr *unused)
{
	struct ls_list *l = arg;

	(void)unused;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		struct ls_ent *e = realloc(l->ents, ncap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		l->ents = e;
		l->cap = ncap;
	}
	l->ents[l->n].name = strndup(d->name, d->namelen);
	if (!l->ents[l->n].name)
		return -ENOMEM;
	l->ents[l->n++].ino = d->ino;
	return 0;
}

/* One line per entry: mode, links, size, inode, name. */
static int cmd_ls(struct vol *v, const char *path)
{
	struct ls_list l = {0};
	uint64_t ino = VOL_ROOT_INO;
	int rc = 0;

	if (path && strcmp(path, "/") != 0) {
		rc = walk(v, path, false, false, &ino, NULL);
		if (rc < 0)
			return rc;
	}
	rc = vol_readdir(v, ino, 0, false, ls_cb, &l);
	if (rc < 0)
		cli_msg("ls %s: %s", path ? path : "/", tfs_strerror(rc));
	for (size_t i = 0; i < l.n; i++) {
		struct vol_attr a;
		if (rc == 0 && vol_getattr(v, l.ents[i].ino, &a) == 0)
			printf("%06o %3u %12llu %8llu %s\n", a.mode, a.nlink,
			       (unsigned long long)a.size, (unsigned long long)l.ents[i].ino,
			       l.ents[i].name);
		free(l.ents[i].name);
	}
	free(l.ents);
	release(v, ino);
	return rc;
}

static int cmd_rm(struct vol *v, const char *path)
{
	const char *name = NULL;
	uint64_t dir;
	int rc = walk(v, path, false, true, &dir, &name);

	if (rc < 0)
		return rc;
	rc = vol_unlink(v, dir, name);
	if (rc < 0)
		cli_msg("rm %s: %s", path, tfs_strerror(rc));
	release(v, dir);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"crash-after", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct vol_open_opts oo = {.owner = "trackfs-debug"};
	bool crash = false;
	struct vol *v;
	const char *cmd;
	int c, rc;

	cli_init(argv[0]);
	cli_std_args(argc, argv, usage);
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'C') {
			crash = true;
		} else if (c == 'h') {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	const char *volume = argv[optind + 1];
	int nargs = argc - optind - 2;
	char **args = argv + optind + 2;
	/* Options may also follow the command: put --crash-after VOLUME PATH. */
	if (nargs >= 0 && strcmp(volume, "--crash-after") == 0 && nargs >= 1) {
		crash = true;
		volume = args[0];
		args++;
		nargs--;
	}

	if (strcmp(cmd, "locate") == 0) {
		if (nargs != 2) {
			usage(stderr);
			return 2;
		}
		return debug_locate(volume, args[0], args[1]) < 0 ? 1 : 0;
	}
	bool writes = strcmp(cmd, "put") == 0 || strcmp(cmd, "rm") == 0;
	if (!writes)
		oo.flags = VOL_RDONLY | VOL_NO_RECOVER;
	if ((strcmp(cmd, "put") == 0 || strcmp(cmd, "get") == 0 || strcmp(cmd, "rm") == 0)
		    ? nargs != 1
	    : strcmp(cmd, "ls") == 0 ? nargs > 1
				     : true) {
		usage(stderr);
		return 2;
	}
	rc = vol_open(volume, &oo, &v);
	if (rc < 0) {
		cli_fail("cannot open the volume %s: %s", volume, tfs_strerror(rc));
		return 1;
	}
	if (strcmp(cmd, "put") == 0)
		rc = cmd_put(v, args[0], crash);
	else if (strcmp(cmd, "get") == 0)
		rc = cmd_get(v, args[0]);
	else if (strcmp(cmd, "rm") == 0)
		rc = cmd_rm(v, args[0]);
	else
		rc = cmd_ls(v, nargs ? args[0] : NULL);
	fflush(stdout);
	int crc = vol_close(v);
	if (crc < 0 && rc == 0) {
		cli_msg("closing the volume: %s", tfs_strerror(crc));
		rc = crc;
	}
	return rc < 0 ? 1 : 0;
}
