#!/usr/bin/env bash
# The S3 access log (s3_access_log.py): every request logged with time,
# client, access key, request id, operation, bucket/key, status, bytes and
# duration; request ids differ from one start of the server to the next.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c "import boto3" || { echo "FAIL: python3-boto3 is not installed (packaging/install-deps.sh)"; exit 1; }

pidfile=$(mktemp)
out=$(mktemp)
cleanup() {
	local pid
	pid=$(cat "$pidfile" 2>/dev/null || true)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile" "$out"
}
trap cleanup EXIT

highs=()
for run in 1 2; do
	S3_PIDFILE=$pidfile "$PY" "$here/s3_env.py" -- "$PY" "$here/s3_access_log.py" | tee "$out"
	highs+=("$(awk '$1 == "high" { print $2 }' "$out")")
done
[ -n "${highs[0]}" ] && [ "${highs[0]}" != "${highs[1]}" ] ||
	{ echo "FAIL: request ids of two starts share their high bits (${highs[*]})"; exit 1; }
echo "PASS: test_s3_access_log.sh"
