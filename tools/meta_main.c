/* trackfs-meta (`trackfs meta COMMAND`): the index's snapshots, its mirror
 * and restoring a metadata directory. */
#include <stdio.h>
#include <string.h>

#include "tools/meta.h"

static void usage(FILE *out)
{
	fprintf(out, "Usage: trackfs meta restore [--disk PATH]... [--from SNAPSHOT|MIRROR] "
		     "METADIR\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 16;
	}
	if (!strcmp(argv[1], "restore"))
		return meta_restore_cli(argc - 1, argv + 1, "trackfs meta restore");
	usage(stderr);
	return 16;
}
