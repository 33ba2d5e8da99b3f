/* ListObjects. */
#include "fs/s3/s3_int.h"

static void ni_done(struct s3_conn *c)
{
	s3_resp_error(c, -S3E_NOT_IMPLEMENTED);
}

const struct s3_handler s3_op_list_objects = {.name = "ListObjects", .done = ni_done};
const struct s3_handler s3_op_list_versions = {.name = "ListObjectVersions", .done = ni_done};
