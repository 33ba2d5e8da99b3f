#!/usr/bin/env bash
# A slow fsync on one S3 request must not delay another connection: with one
# event loop and a slow data disk (every fsync of a track file 1.5 s longer:
# tests/harness/slowsync.c, preloaded), a GET sent while a PUT waits for its fsync is answered at once.
# The same run with --inline-writes (the fsync on the loop, as before)
# shows the GET waiting behind the PUT, so the check can fail.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${TRACKFS_BIN_DIR:-$here/../../build}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c "import boto3" || { echo "FAIL: python3-boto3 is not installed (packaging/install-deps.sh)"; exit 1; }
lib="$bin/tests/harness/libtfs_slowsync.so"
[ -f "$lib" ] || { echo "FAIL: $lib is not built"; exit 1; }

tmp=$(mktemp -d)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir "$tmp/d1" "$tmp/d2"
"$bin/tools/mkfs.trackfs" -d "$tmp/d1" -d "$tmp/d2" >/dev/null
printf 'AKSLOW SKSLOW rw *\n' >"$tmp/auth"
chmod 600 "$tmp/auth"

serve() {
	rm -f "$tmp/port" "$tmp/slow"
	TFS_SLOWSYNC_FLAG="$tmp/slow" TFS_SLOWSYNC_MS=1500 TFS_SLOWSYNC_MATCH=/tracks/ \
		LD_PRELOAD="$lib" \
		"$bin/fs/s3/trackfs-s3" --auth "$tmp/auth" --listen 127.0.0.1:0 --port-file "$tmp/port" \
		--threads 1 "$@" "$tmp/d1/meta" >>"$tmp/server.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		[ -s "$tmp/port" ] && return 0
		sleep 0.1
	done
	echo "FAIL: trackfs-s3 did not start"; cat "$tmp/server.log"; exit 1
}
stop() {
	kill -TERM "$pid"
	wait "$pid" || { echo "FAIL: trackfs-s3 exited with $? on SIGTERM"; cat "$tmp/server.log"; exit 1; }
	pid=""
}
measure() { # prints "PUT_SECONDS GET_SECONDS"
	S3_ENDPOINT="http://127.0.0.1:$(cat "$tmp/port")" SLOW_FLAG="$tmp/slow" "$PY" - <<'PYEOF'
import os, threading, time
import boto3
from botocore.config import Config
def client():
    return boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], aws_access_key_id="AKSLOW",
                        aws_secret_access_key="SKSLOW", region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                                      read_timeout=60))
a, b = client(), client()
try:
    a.create_bucket(Bucket="slow")
except Exception:
    pass
a.put_object(Bucket="slow", Key="ready", Body=b"r" * 4096)
b.get_object(Bucket="slow", Key="ready")["Body"].read()  # b's connection is open
open(os.environ["SLOW_FLAG"], "w").close()
took = {}
def put():
    t = time.monotonic()
    a.put_object(Bucket="slow", Key="new", Body=b"n" * 4096)
    took["put"] = time.monotonic() - t
th = threading.Thread(target=put)
th.start()
time.sleep(0.3)
t = time.monotonic()
assert b.get_object(Bucket="slow", Key="ready")["Body"].read() == b"r" * 4096
took["get"] = time.monotonic() - t
th.join()
os.unlink(os.environ["SLOW_FLAG"])
print("%.3f %.3f" % (took["put"], took["get"]))
PYEOF
}

serve
read -r put get < <(measure)
stop
echo "fsync on the thread pool: PUT ${put}s, GET beside it ${get}s"
serve --inline-writes
read -r iput iget < <(measure)
stop
echo "fsync on the event loop (--inline-writes): PUT ${iput}s, GET beside it ${iget}s"
"$PY" - "$put" "$get" "$iget" <<'PYEOF'
import sys
put, get, iget = map(float, sys.argv[1:])
assert put >= 1.4, "the slow fsync did not slow the PUT (%.3f s): the test measures nothing" % put
assert iget >= 1.0, ("with the fsync on the loop the GET should wait behind it (%.3f s): "
                     "the test cannot tell the two apart" % iget)
assert get < 0.8, "a GET beside a PUT waiting on a slow fsync took %.3f s" % get
PYEOF
"$bin/tools/fsck.trackfs" "$tmp/d1/meta" >/dev/null || { echo "FAIL: fsck.trackfs found the volume unclean"; exit 1; }
echo "PASS: test_s3_slow_fsync.sh"
