#!/usr/bin/env bash
# Two S3 servers must not share a port: the second one (another volume, the
# same user) fails with "address in use" instead of splitting connections
# between two volumes.
source "$(dirname "$0")/lib.sh"
tfs_setup python3 curl
s3="$TRACKFS_BIN_DIR/fs/s3/trackfs-s3"
mkdir -p "$TFS_TMP/b1" "$TFS_TMP/b2"
"$TFS_MKFS" --disk "$TFS_TMP/b1" --disk "$TFS_TMP/b2" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

step "the first server listens on 127.0.0.1:$port"
"$s3" --listen "127.0.0.1:$port" --no-auth "$TFS_META" >"$TFS_TMP/s3a.log" 2>&1 &
first=$!
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
	sleep 0.1
done
curl -sf "http://127.0.0.1:$port/health" >/dev/null || fail "the first server does not answer"

step "a second server on the same port fails clearly"
rc=0
timeout 20 "$s3" --listen "127.0.0.1:$port" --no-auth "$TFS_TMP/b1/meta" >"$TFS_TMP/s3b.log" 2>&1 || rc=$?
cat "$TFS_TMP/s3b.log"
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "the second server started on a port in use (exit $rc)"
grep -qi "in use" "$TFS_TMP/s3b.log" || fail "the message does not say the address is in use"
kill "$first"
wait "$first" || fail "the first server did not exit cleanly"
tfs_fsck
