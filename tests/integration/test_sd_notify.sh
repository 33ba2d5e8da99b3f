#!/usr/bin/env bash
# systemd readiness (Type=notify in packaging/systemd/trackfs@.service): with
# NOTIFY_SOCKET set, the daemon sends READY=1 only once the mount answers and
# its listeners (here -o metrics) accept connections, and STOPPING=1 on
# SIGTERM, after which it unmounts, exits 0 and leaves the volume clean.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
tfs_setup

port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sock="$TFS_TMP/notify.sock"

step "a listener on NOTIFY_SOCKET checks the mount and the listener at READY=1"
# It prints each message; at READY=1 it also prints whether the mount point
# is a mount and whether the metrics port accepts a connection, then waits
# for STOPPING=1.
"$PY" - "$sock" "$TFS_MNT" "$port" >"$TFS_TMP/notify.out" 2>&1 <<'EOF' &
import os, socket, sys
path, mnt, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(60)
while True:
    msg = s.recv(4096).decode()
    for line in msg.split("\n"):
        print("msg", line, flush=True)
    if "READY=1" in msg.split("\n"):
        print("mounted", os.path.ismount(mnt), flush=True)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            print("listening True", flush=True)
        except OSError as e:
            print("listening False", e, flush=True)
    if "STOPPING=1" in msg.split("\n"):
        break
EOF
lpid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || fail "the listener did not bind $sock"

NOTIFY_SOCKET="$sock" "$TFS_DAEMON" -f -o "metrics=127.0.0.1:$port" "$TFS_META" "$TFS_MNT" \
	>"$TFS_TMP/daemon.log" 2>&1 &
dpid=$!
for _ in $(seq 200); do grep -q '^listening' "$TFS_TMP/notify.out" && break; sleep 0.05; done
cat "$TFS_TMP/notify.out"
grep -q '^msg READY=1$' "$TFS_TMP/notify.out" || fail "no READY=1 (daemon log: $(cat "$TFS_TMP/daemon.log"))"
grep -q '^mounted True$' "$TFS_TMP/notify.out" || fail "READY=1 came before $TFS_MNT was mounted"
grep -q '^listening True$' "$TFS_TMP/notify.out" || fail "READY=1 came before the metrics port listened"
grep -q "^msg STATUS=volume .* mounted on $TFS_MNT\$" "$TFS_TMP/notify.out" ||
	fail "no STATUS= line naming the mount point"

step "the mount serves: a file written reads back"
echo "ready and serving" >"$TFS_MNT/f"
check_eq "$(cat "$TFS_MNT/f")" "ready and serving" "the file read back"

step "SIGTERM: STOPPING=1, a clean unmount, exit 0"
kill -TERM "$dpid"
rc=0
wait "$dpid" || rc=$?
check_eq "$rc" 0 "the daemon's exit status after SIGTERM"
wait "$lpid" || fail "the listener saw no STOPPING=1: $(cat "$TFS_TMP/notify.out")"
grep -q '^msg STOPPING=1$' "$TFS_TMP/notify.out" || fail "no STOPPING=1"
mountpoint -q "$TFS_MNT" && fail "$TFS_MNT is still mounted after SIGTERM"
tfs_fsck
echo "PASS"
