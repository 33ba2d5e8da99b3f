#!/usr/bin/env bash
# The S3 sidecar driven by boto3 (Debian's python3-boto3): the calls Dify's
# S3 storage makes, a 64 MiB multipart upload, ranged and conditional GETs,
# listings over a tree of 1,000 keys, presigned URLs, checksums and denials.
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

S3_PIDFILE=$pidfile "$PY" "$here/s3_env.py" -- "$PY" "$here/s3_boto3.py"
