#!/usr/bin/env bash
# The smaller S3 gaps of issue 11 (s3_gaps.py), with boto3 and raw HTTP:
# uploads go with their bucket, bucket names, ListBuckets paging, the 404s of
# bucket configurations never set, expired presigned URLs, re-creating an
# owned bucket, ListObjects encoding and Owner, a repeated completion,
# Content-Encoding and UTF-8 metadata as sent.
# trackfs-s3 runs on a temporary volume; fsck.trackfs must find it clean after.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c "import boto3" || { echo "FAIL: python3-boto3 is not installed (packaging/install-deps.sh)"; exit 1; }

pidfile=$(mktemp)
cleanup() {
	local pid
	pid=$(cat "$pidfile" 2>/dev/null || true)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
}
trap cleanup EXIT

S3_PIDFILE=$pidfile "$PY" "$here/s3_env.py" -- "$PY" "$here/s3_gaps.py"
# Outside us-east-1 re-creating an owned bucket is BucketAlreadyOwnedByYou.
S3_PIDFILE=$pidfile S3_REGION=eu-west-1 "$PY" "$here/s3_env.py" --server-arg --region \
	--server-arg eu-west-1 -- "$PY" "$here/s3_gaps.py" t_recreate_owned
