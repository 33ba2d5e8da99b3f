/* The one table that turns a negative errno or an S3 error (-S3E_*) into the
 * S3 error code, HTTP status and default message a client sees. */
#include <errno.h>

#include "fs/s3/s3_int.h"

static const struct s3_errinfo s3_table[S3E_END - S3E_BASE] = {
	[S3E_ACCESS_DENIED - S3E_BASE] = {"AccessDenied", 403, "Access Denied"},
	[S3E_CORS_FORBIDDEN - S3E_BASE] = {"AccessForbidden", 403,
					   "CORSResponse: This CORS request is not allowed"},
	[S3E_AUTH_HEADER_MALFORMED - S3E_BASE] = {"AuthorizationHeaderMalformed", 400,
						  "The authorization header is malformed"},
	[S3E_AUTH_QUERY_ERROR - S3E_BASE] = {"AuthorizationQueryParametersError", 400,
					     "The presigned URL's query parameters are malformed"},
	[S3E_BAD_DIGEST - S3E_BASE] =
		{"BadDigest", 400,
		 "The Content-MD5 or checksum you specified did not match what we received"},
	[S3E_BAD_REQUEST - S3E_BASE] = {"BadRequest", 400, "The request is malformed"},
	[S3E_BUCKET_EXISTS - S3E_BASE] = {"BucketAlreadyOwnedByYou", 409,
					  "Your previous request to create the named bucket "
					  "succeeded and you already own it"},
	[S3E_BUCKET_NOT_EMPTY -
		S3E_BASE] = {"BucketNotEmpty", 409, "The bucket you tried to delete is not empty"},
	[S3E_ENTITY_TOO_LARGE -
		S3E_BASE] = {"EntityTooLarge", 400,
			     "Your proposed upload exceeds the maximum allowed size"},
	[S3E_ENTITY_TOO_SMALL - S3E_BASE] =
		{"EntityTooSmall", 400,
		 "Your proposed upload is smaller than the minimum allowed object size"},
	[S3E_EXPIRED - S3E_BASE] = {"AccessDenied", 403, "Request has expired"},
	[S3E_HEADERS_TOO_LARGE -
		S3E_BASE] = {"RequestHeaderSectionTooLarge", 400,
			     "Your request header section exceeds the maximum allowed size"},
	[S3E_INCOMPLETE_BODY - S3E_BASE] = {"IncompleteBody", 400,
					    "You did not provide the number of bytes specified by "
					    "the Content-Length HTTP header"},
	[S3E_INTERNAL - S3E_BASE] = {"InternalError", 500,
				     "We encountered an internal error. Please try again."},
	[S3E_INVALID_ACCESS_KEY -
		S3E_BASE] = {"InvalidAccessKeyId", 403,
			     "The AWS access key Id you provided does not exist in our records."},
	[S3E_INVALID_ARGUMENT - S3E_BASE] = {"InvalidArgument", 400, "Invalid Argument"},
	[S3E_INVALID_BUCKET_NAME -
		S3E_BASE] = {"InvalidBucketName", 400, "The specified bucket is not valid."},
	[S3E_INVALID_DIGEST -
		S3E_BASE] = {"InvalidDigest", 400,
			     "The Content-MD5 or checksum you specified is not valid."},
	[S3E_INVALID_KEY - S3E_BASE] =
		{"InvalidArgument", 400,
		 "The key cannot be stored as a path: it has an empty, '.' or '..' segment"},
	[S3E_INVALID_PART - S3E_BASE] =
		{"InvalidPart", 400,
		 "One or more of the specified parts could not be found or its ETag did not match"},
	[S3E_INVALID_PART_ORDER - S3E_BASE] = {"InvalidPartOrder", 400,
					       "The list of parts was not in ascending order"},
	[S3E_INVALID_RANGE -
		S3E_BASE] = {"InvalidRange", 416, "The requested range is not satisfiable"},
	[S3E_INVALID_REQUEST - S3E_BASE] = {"InvalidRequest", 400, "Invalid Request"},
	[S3E_INVALID_TAG - S3E_BASE] = {"InvalidTag", 400, "The tag provided was not a valid tag"},
	[S3E_CONDITIONAL_CONFLICT -
		S3E_BASE] = {"ConditionalRequestConflict", 409,
			     "A conflicting operation occurred while this conditional "
			     "request was in progress: retry it"},
	[S3E_KEY_CONFLICT -
		S3E_BASE] = {"KeyConflict", 409,
			     "An object exists where the key needs a prefix (directory)"},
	[S3E_KEY_IS_PREFIX -
		S3E_BASE] = {"KeyConflict", 409,
			     "The key is already a prefix of other objects (a directory)"},
	[S3E_KEY_TOO_LONG - S3E_BASE] = {"KeyTooLongError", 400, "Your key is too long"},
	[S3E_MALFORMED_XML - S3E_BASE] = {"MalformedXML", 400,
					  "The XML you provided was not well-formed or did not "
					  "validate against our published schema"},
	[S3E_METHOD_NOT_ALLOWED -
		S3E_BASE] = {"MethodNotAllowed", 405,
			     "The specified method is not allowed against this resource."},
	[S3E_MISSING_CONTENT_LENGTH -
		S3E_BASE] = {"MissingContentLength", 411,
			     "You must provide the Content-Length HTTP header."},
	[S3E_NO_SUCH_BUCKET -
		S3E_BASE] = {"NoSuchBucket", 404, "The specified bucket does not exist"},
	[S3E_NO_SUCH_BUCKET_POLICY -
		S3E_BASE] = {"NoSuchBucketPolicy", 404, "The bucket policy does not exist"},
	[S3E_NO_SUCH_KEY - S3E_BASE] = {"NoSuchKey", 404, "The specified key does not exist."},
	[S3E_OPERATION_ABORTED - S3E_BASE] = {"OperationAborted", 409,
					      "A conflicting conditional operation is currently in "
					      "progress against this resource. Please try again."},
	[S3E_NO_SUCH_CORS_CONFIGURATION - S3E_BASE] = {"NoSuchCORSConfiguration", 404,
						       "The CORS configuration does not exist"},
	[S3E_NO_SUCH_LIFECYCLE_CONFIGURATION - S3E_BASE] = {"NoSuchLifecycleConfiguration", 404,
							    "The lifecycle configuration does not "
							    "exist"},
	[S3E_NO_SUCH_TAG_SET - S3E_BASE] = {"NoSuchTagSet", 404, "The TagSet does not exist"},
	[S3E_NO_SUCH_UPLOAD -
		S3E_BASE] = {"NoSuchUpload", 404, "The specified multipart upload does not exist."},
	[S3E_NOT_IMPLEMENTED - S3E_BASE] =
		{"NotImplemented", 501,
		 "A header or query you provided implies functionality that is not implemented"},
	[S3E_NOT_MODIFIED - S3E_BASE] = {"NotModified", 304, "Not Modified"},
	[S3E_PRECONDITION_FAILED -
		S3E_BASE] = {"PreconditionFailed", 412,
			     "At least one of the preconditions you specified did not hold"},
	[S3E_SHA256_MISMATCH - S3E_BASE] =
		{"XAmzContentSHA256Mismatch", 400,
		 "The provided 'x-amz-content-sha256' header does not match what was computed."},
	[S3E_SIGNATURE_MISMATCH -
		S3E_BASE] = {"SignatureDoesNotMatch", 403,
			     "The request signature we calculated does not match the signature you "
			     "provided. Check your key and signing method."},
	[S3E_SSE_CONFIGURATION_NOT_FOUND -
		S3E_BASE] = {"ServerSideEncryptionConfigurationNotFoundError", 404,
			     "The server side encryption configuration was not found"},
	[S3E_STORAGE_FULL - S3E_BASE] = {"InsufficientStorage", 507,
					 "The volume is full: no disk has room for this object"},
	[S3E_TIME_SKEWED - S3E_BASE] =
		{"RequestTimeTooSkewed", 403,
		 "The difference between the request time and the server's time is too large."},
	[S3E_UNSUPPORTED_CHECKSUM - S3E_BASE] =
		{"InvalidRequest", 400,
		 "This checksum algorithm is not supported (use CRC32, CRC32C, CRC64NVME, SHA1 or "
		 "SHA256)"},
	[S3E_INVALID_PART_NUMBER - S3E_BASE] = {"InvalidPartNumber", 416,
						"The requested partnumber is not satisfiable"},
};

static const struct s3_errinfo internal = {"InternalError", 500,
					   "We encountered an internal error. Please try again."};

/* Errnos that reach a response: the volume's errors, translated once here. */
static const struct {
	int err;
	int s3;
	const char *message; /* NULL: the S3 error's own */
} errno_map[] = {
	{ENOENT, S3E_NO_SUCH_KEY, NULL},
	{ENOTDIR, S3E_NO_SUCH_KEY, NULL},
	{EISDIR, S3E_KEY_IS_PREFIX, NULL},
	{ENOTEMPTY, S3E_KEY_IS_PREFIX, NULL},
	{ENOSPC, S3E_STORAGE_FULL, NULL},
	{EDQUOT, S3E_STORAGE_FULL, NULL},
	{EFBIG, S3E_ENTITY_TOO_LARGE, NULL},
	{ENAMETOOLONG, S3E_KEY_TOO_LONG, NULL},
	{EACCES, S3E_ACCESS_DENIED, NULL},
	{EPERM, S3E_ACCESS_DENIED, NULL},
	{EROFS, S3E_ACCESS_DENIED, "The volume is read-only"},
	{EIO, S3E_INTERNAL, "I/O error reading or writing the volume (see the server log)"},
	{ENOMEM, S3E_INTERNAL, "Out of memory"},
	{EINVAL, S3E_INVALID_ARGUMENT, NULL},
};

const struct s3_errinfo *s3_err_info(int err)
{
	static struct s3_errinfo with_msg[sizeof(errno_map) / sizeof(errno_map[0])];
	int e = -err;

	if (e > S3E_BASE && e < S3E_END && s3_table[e - S3E_BASE].code)
		return &s3_table[e - S3E_BASE];
	for (size_t i = 0; i < sizeof(errno_map) / sizeof(errno_map[0]); i++) {
		if (errno_map[i].err != e)
			continue;
		if (!errno_map[i].message)
			return &s3_table[errno_map[i].s3 - S3E_BASE];
		/* Written once with constant data: benign if two threads race. */
		with_msg[i] = s3_table[errno_map[i].s3 - S3E_BASE];
		with_msg[i].message = errno_map[i].message;
		return &with_msg[i];
	}
	return &internal;
}
