/* Multipart uploads. */
#include "fs/s3/s3_int.h"

static void ni_done(struct s3_conn *c)
{
	s3_resp_error(c, -S3E_NOT_IMPLEMENTED);
}

const struct s3_handler s3_op_mpu_create = {.name = "CreateMultipartUpload", .done = ni_done};
const struct s3_handler s3_op_mpu_part = {.name = "UploadPart", .done = ni_done};
const struct s3_handler s3_op_mpu_part_copy = {.name = "UploadPartCopy", .done = ni_done};
const struct s3_handler s3_op_mpu_complete = {.name = "CompleteMultipartUpload", .done = ni_done};
const struct s3_handler s3_op_mpu_abort = {.name = "AbortMultipartUpload", .done = ni_done};
const struct s3_handler s3_op_mpu_list_parts = {.name = "ListParts", .done = ni_done};
const struct s3_handler s3_op_mpu_list_uploads = {.name = "ListMultipartUploads", .done = ni_done};

void s3_mpu_sweep(struct s3_server *s)
{
}
