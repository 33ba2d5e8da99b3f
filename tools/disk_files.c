/* `trackfs disk files VOLUME DISK`: the files that would be lost with a disk.
 * Two sections: files whose chunks are all on the disk, then files with
 * chunks on it and on other disks (losing the disk loses part of those). A
 * mounted volume is asked through its daemon, an unmounted one is opened
 * read-only here. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "fs/vol/vol.h"
#include "fs/vol/volfile.h"
#include "tools/cli_common.h"
#include "tools/disk.h"

struct files_list {
	char **only, **spans;
	size_t nonly, nspans, conly, cspans;
	uint64_t bytes_only, bytes_spans;
};

static int push(char ***arr, size_t *n, size_t *cap, const char *s)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		char **a = realloc(*arr, c * sizeof(*a));
		if (!a)
			return -ENOMEM;
		*arr = a;
		*cap = c;
	}
	char *line = malloc(PATH_MAX * 2 + 64);
	if (!line)
		return -ENOMEM;
	(*arr)[(*n)++] = line;
	snprintf(line, PATH_MAX * 2 + 64, "%s", s);
	return 0;
}

static int collect_cb(void *arg, const struct vol_disk_file *f)
{
	struct files_list *l = arg;
	char esc[PATH_MAX * 2], line[PATH_MAX * 2 + 64], b1[32], b2[32];

	if (*f->path)
		vol_path_escape(f->path, esc, sizeof(esc));
	else
		snprintf(esc, sizeof(esc), "(inode %" PRIu64 ", deleted but still open)", f->ino);
	if (!f->bytes_elsewhere) {
		snprintf(line, sizeof(line), "%10s  %s",
			 cli_fmt_bytes(f->bytes_here, b1, sizeof(b1)), esc);
		l->bytes_only += f->bytes_here;
		return push(&l->only, &l->nonly, &l->conly, line);
	}
	snprintf(line, sizeof(line), "%10s %10s  %s", cli_fmt_bytes(f->bytes_here, b1, sizeof(b1)),
		 cli_fmt_bytes(f->bytes_elsewhere, b2, sizeof(b2)), esc);
	l->bytes_spans += f->bytes_here;
	return push(&l->spans, &l->nspans, &l->cspans, line);
}

static int cmp_str(const void *a, const void *b)
{
	/* Sorted by path: the text after the size columns. */
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	const char *px = strstr(x, "  "), *py = strstr(y, "  ");
	while (px && px[0] == ' ')
		px++;
	while (py && py[0] == ' ')
		py++;
	return strcmp(px ? px : x, py ? py : y);
}

static void print(struct files_list *l, unsigned disk)
{
	char b[32];

	qsort(l->only, l->nonly, sizeof(char *), cmp_str);
	qsort(l->spans, l->nspans, sizeof(char *), cmp_str);
	printf("Only on disk %u: %zu files, %s\n", disk, l->nonly,
	       cli_fmt_bytes(l->bytes_only, b, sizeof(b)));
	if (l->nonly)
		printf("%10s  %s\n", "ON DISK", "PATH");
	for (size_t i = 0; i < l->nonly; i++)
		printf("%s\n", l->only[i]);
	printf("On disk %u and others: %zu files, %s on disk %u\n", disk, l->nspans,
	       cli_fmt_bytes(l->bytes_spans, b, sizeof(b)), disk);
	if (l->nspans)
		printf("%10s %10s  %s\n", "ON DISK", "ELSEWHERE", "PATH");
	for (size_t i = 0; i < l->nspans; i++)
		printf("%s\n", l->spans[i]);
}

static void list_free(struct files_list *l)
{
	for (size_t i = 0; i < l->nonly; i++)
		free(l->only[i]);
	for (size_t i = 0; i < l->nspans; i++)
		free(l->spans[i]);
	free(l->only);
	free(l->spans);
}

int cli_disk_files(int argc, char **argv)
{
	struct vol_open_opts oo = {.flags = VOL_RDONLY | VOL_NO_RECOVER,
				   .owner = "trackfs disk files"};
	struct files_list l = {0};
	char meta[PATH_MAX];
	unsigned disk;
	struct vol *v;
	int rc;

	if (argc != 2 || argv[0][0] == '-' || argv[1][0] == '-')
		return 2;
	if (vol_meta_resolve(argv[0], meta) < 0 || cli_disk_resolve(meta, argv[1], &disk) < 0)
		return 1;
	rc = vol_disk_files_remote(meta, disk, collect_cb, &l);
	if (rc == -ECONNREFUSED || rc == -ENOENT) {
		list_free(&l);
		memset(&l, 0, sizeof(l));
		rc = vol_open(meta, &oo, &v);
		if (rc < 0) {
			cli_fail("cannot open the volume %s: %s", meta, tfs_strerror(rc));
			return 1;
		}
		rc = vol_disk_files(v, disk, collect_cb, &l);
		vol_close(v);
	}
	if (rc == -EPERM) {
		cli_msg("list the files of disk %u: only root or the owner of %s may (the list "
			"names every file)",
			disk, meta);
	} else if (rc < 0) {
		cli_msg("could not list the files of disk %u of %s: %s%s", disk, meta,
			tfs_strerror(rc),
			rc == -EPROTO ? " (the daemon's answer was cut short; its log says why)"
				      : "");
	} else {
		print(&l, disk);
	}
	list_free(&l);
	return rc < 0 ? 1 : 0;
}
