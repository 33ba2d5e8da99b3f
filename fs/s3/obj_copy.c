/* CopyObject (metadata COPY and REPLACE). */
#include "fs/s3/s3_int.h"

static void copy_done(struct s3_conn *c)
{
	s3_resp_error(c, -S3E_NOT_IMPLEMENTED);
}

const struct s3_handler s3_op_copy_object = {
	.name = "CopyObject",
	.write = true,
	.done = copy_done,
};
