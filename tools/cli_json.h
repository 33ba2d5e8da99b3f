/* The --json output of `trackfs status` and `trackfs disk list`: one object
 * built from struct vol_info with json-c, with the field names README
 * "JSON output" documents (a stable interface: add fields, never rename). */
#ifndef TOOLS_CLI_JSON_H
#define TOOLS_CLI_JSON_H

#include <stdbool.h>

#include "fs/vol/vol.h"

struct json_object;

/** How the figures were had. */
struct cli_json_ctx {
	const char *meta; /* the metadata directory */
	bool live;	  /* from the process that holds the volume */
	bool unclean;	  /* (opened here) the last shutdown was not clean */
	bool ok;	  /* what the exit status says: nothing needs attention */
};

/** The whole report of `trackfs status --json`. NULL: out of memory. */
struct json_object *cli_json_status(const struct vol_info *info, const struct cli_json_ctx *ctx);
/** The report of `trackfs disk list --json`. NULL: out of memory. */
struct json_object *cli_json_disks(const struct vol_info *info, const struct cli_json_ctx *ctx);
/** Print @p obj (pretty, one trailing newline) to stdout and free it.
 * @return 0, or 1 when @p obj is NULL (reported). */
int cli_json_print(struct json_object *obj);

#endif
