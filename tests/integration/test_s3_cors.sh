#!/usr/bin/env bash
# CORS on the S3 sidecar (s3_cors.py): boto3's put/get/delete_bucket_cors,
# the raw-HTTP OPTIONS preflight allowed and denied, Access-Control-* on
# ordinary and error responses; then the rules must survive a restart of
# trackfs-s3 on the same volume. fsck.trackfs must find the volumes clean.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${TRACKFS_BIN_DIR:-$here/../../build}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c "import boto3" || { echo "FAIL: python3-boto3 is not installed (packaging/install-deps.sh)"; exit 1; }

pidfile=$(mktemp)
tmp=$(mktemp -d)
cleanup() {
	local pid
	pid=$(cat "$pidfile" 2>/dev/null || true)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
	rm -rf "$tmp"
}
trap cleanup EXIT

S3_PIDFILE=$pidfile "$PY" "$here/s3_env.py" -- "$PY" "$here/s3_cors.py"

# Restart: the same volume, served twice.
mkdir "$tmp/d1" "$tmp/d2"
"$bin/tools/mkfs.trackfs" -d "$tmp/d1" -d "$tmp/d2" >/dev/null
printf 'AKRW SKRW rw *\nAKRO SKRO ro *\n' >"$tmp/auth"
chmod 600 "$tmp/auth"
serve() {
	rm -f "$tmp/port"
	"$bin/fs/s3/trackfs-s3" --auth "$tmp/auth" --listen 127.0.0.1:0 --port-file "$tmp/port" \
		"$tmp/d1/meta" >>"$tmp/server.log" 2>&1 &
	echo $! >"$pidfile"
	for _ in $(seq 100); do
		[ -s "$tmp/port" ] && return 0
		sleep 0.1
	done
	echo "FAIL: trackfs-s3 did not start"; cat "$tmp/server.log"; exit 1
}
stop() {
	local pid
	pid=$(cat "$pidfile")
	kill -TERM "$pid"
	wait "$pid" || { echo "FAIL: trackfs-s3 exited with $? on SIGTERM"; cat "$tmp/server.log"; exit 1; }
}
run() {
	S3_ENDPOINT="http://127.0.0.1:$(cat "$tmp/port")" S3_AK=AKRW S3_SK=SKRW S3_RO_AK=AKRO \
		S3_RO_SK=SKRO "$PY" "$here/s3_cors.py" "$@"
}
serve
run set cors-restart
stop
serve
run check cors-restart
stop
"$bin/tools/fsck.trackfs" --scrub "$tmp/d1/meta" >/dev/null ||
	{ echo "FAIL: fsck.trackfs found the volume unclean after the restart test"; exit 1; }
echo "ok restart keeps the CORS rules"
