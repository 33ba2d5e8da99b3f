/* Restoring a metadata directory from a snapshot or the mirror. */
#include <stdio.h>

#include "tools/meta.h"

int meta_restore_cli(int argc, char **argv, const char *prog)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "%s: restore is not built yet\n", prog);
	return 8;
}
