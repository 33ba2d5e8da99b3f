#!/usr/bin/env bash
# Browser form uploads (POST Object, SigV4 policy) over raw HTTP with forms
# made by boto3's generate_presigned_post (s3_post.py): 204/201/303, the
# conditions, content-length-range, expired/tampered/uncovered forms refused
# with nothing written. trackfs-s3 runs on a temporary volume; fsck after.
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

S3_PIDFILE=$pidfile "$PY" "$here/s3_env.py" -- "$PY" "$here/s3_post.py"
