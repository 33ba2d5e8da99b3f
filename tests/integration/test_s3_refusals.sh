#!/usr/bin/env bash
# What the S3 sidecar refuses, at the HTTP level (raw sockets): copy sources
# outside the buckets or not readable by the caller, malformed chunked
# framing and unsupported transfer codings, an anonymous 100 MB PUT (refused
# before its body), DeleteObjects without a checksum, and features it does not
# have (SSE, object lock, tagging, ?partNumber, versioning, unknown x-amz-*
# headers). Each refused request leaves the volume unchanged.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

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

S3_PIDFILE=$pidfile "$PY" "$here/s3_env.py" -- "$PY" "$here/s3_refusals.py" "$@"
