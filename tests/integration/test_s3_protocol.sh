#!/usr/bin/env bash
# The S3 sidecar at the HTTP level (raw sockets): aws-chunked uploads in all
# three forms, 100-continue, pipelining, virtual-hosted style, and bad input
# (malformed, oversize headers, truncated bodies, wrong Content-Length, a
# payload hash for another body, a one-byte-a-second client, 200 connections).
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

S3_HEADER_TIMEOUT=3 S3_PIDFILE=$pidfile "$PY" "$here/s3_env.py" --server-arg --header-timeout \
	--server-arg 3 -- "$PY" "$here/s3_protocol.py"
