#!/usr/bin/env bash
# The S3 sidecar driven by the JavaScript SDKs from npm (@aws-sdk/client-s3 with its
# defaults: aws-chunked uploads with CRC32 trailers; and minio, as Milvus uses it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
for tool in node npm; do command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed (packaging/install-deps.sh)"; exit 1; }; done

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

S3_PIDFILE=$pidfile "$PY" "$here/s3_env.py" -- "$PY" "$here/s3_node.py"
