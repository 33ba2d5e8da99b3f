#!/usr/bin/env bash
# The daemon's control socket (fs/vol/control.c), protocol 1: the hello
# answers with the version and the commands, an unknown command and a
# version other than the daemon's get an error that says so, the tools say
# it too, a user who is neither root nor the owner is refused; the log level
# changes at run time (a debug line shows after "log-level debug"); the S3
# auth file is reloaded without dropping connections, by `trackfs s3 reload`
# on the mount daemon and by SIGHUP on a standalone trackfs-s3, and a broken
# file keeps the credentials in force and names its file and line
# (s3_reload.py). With a daemon from before versioning (a stand-in,
# control_old_daemon.py) the tools fall back to the bare request.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c "import boto3" 2>/dev/null || fail "python3-boto3 is not installed (packaging/install-deps.sh)"
tfs_setup setpriv fusermount3 mountpoint
T="$TRACKFS_BIN_DIR/fs/fuse/trackfs" # `trackfs control`, `trackfs s3 reload`
S3="$TRACKFS_BIN_DIR/fs/s3/trackfs-s3"
S3_PID=""
OLD_PID=""
stop_s3() {
	[ -z "$OLD_PID" ] || kill "$OLD_PID" 2>/dev/null || true
	if [ -n "$S3_PID" ]; then
		kill "$S3_PID" 2>/dev/null || true
		wait "$S3_PID" 2>/dev/null || true
		S3_PID=""
	fi
}
trap 'rc=$?; set +e; stop_s3; tfs_teardown "$rc"' EXIT

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() {
	for _ in $(seq 200); do
		"$PY" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)' \
			"$1" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "nothing listens on port $1 after 10 s"
}

step "--help and --version, as every tool"
"$T" control --help | grep -q "Usage: trackfs control version VOLUME" || fail "trackfs control --help"
"$T" control --version | grep -q "^trackfs-control " || fail "trackfs control --version"
"$T" s3 reload --help | grep -q "trackfs-s3 reload VOLUME" || fail "trackfs s3 reload --help"
"$T" s3 reload --version | grep -q "^trackfs-s3 " || fail "trackfs s3 reload --version"
rc=0
"$T" control version >/dev/null 2>&1 || rc=$?
check_eq "$rc" 2 "trackfs control without a volume"

step "no daemon: the tools say nothing holds the volume"
rc=0
"$T" control version "$TFS_META" >/dev/null 2>"$TFS_TMP/err" || rc=$?
check_eq "$rc" 1 "version of an unmounted volume"
grep -q "no process holds the volume" "$TFS_TMP/err" || fail "unmounted: $(cat "$TFS_TMP/err")"

PORT=$(free_port)
AUTH="$TFS_TMP/s3-auth"
printf 'AKA SKA rw *\n' >"$AUTH"
chmod 600 "$AUTH"
step "mount with the S3 sidecar (key A)"
tfs_mount -o "s3=127.0.0.1:$PORT,s3_auth=$AUTH"
wait_port "$PORT"

step "the hello: protocol 1 and the commands"
"$T" control version "$TFS_MNT" >"$TFS_TMP/out" || fail "trackfs control version: $(cat "$TFS_TMP/out")"
grep -q "^daemon: control protocol 1$" "$TFS_TMP/out" || fail "version: $(cat "$TFS_TMP/out")"
grep -q "^commands: info version .*s3-reload log-level" "$TFS_TMP/out" ||
	fail "commands: $(cat "$TFS_TMP/out")"
# On the wire, as the comment at the top of fs/vol/control.c has it.
UUID=$(sed -n 's/^uuid *= *//p; s/^uuid //p' "$TFS_META/volume.conf" 2>/dev/null | head -1)
cat >"$TFS_TMP/wire.py" <<'EOF'
import socket, sys
uuid, lines = sys.argv[1], sys.argv[2:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect("\0trackfs/" + uuid)
s.sendall("".join(l + "\n" for l in lines).encode())
s.shutdown(socket.SHUT_WR)
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode())
EOF
if [ -z "$UUID" ]; then
	UUID=$("$TRACKFS_BIN_DIR/tools/trackfs-status" "$TFS_META" 2>/dev/null |
		sed -n 's/.*\([0-9a-f]\{8\}-[0-9a-f]\{4\}-[0-9a-f]\{4\}-[0-9a-f]\{4\}-[0-9a-f]\{12\}\).*/\1/p' | head -1)
fi
[ -n "$UUID" ] || fail "cannot find the volume's uuid"
"$PY" "$TFS_TMP/wire.py" "$UUID" "trackfs-control 1" "version" >"$TFS_TMP/out"
head -1 "$TFS_TMP/out" | grep -q "^trackfs-control 1 info version " || fail "hello: $(cat "$TFS_TMP/out")"
sed -n 2p "$TFS_TMP/out" | grep -q "^ok 1 info " || fail "version after hello: $(cat "$TFS_TMP/out")"
"$PY" "$TFS_TMP/wire.py" "$UUID" "trackfs-control 7" "info" >"$TFS_TMP/out"
sed -n 2p "$TFS_TMP/out" | grep -q "^err 93 this daemon speaks control protocol 1, the client 7" ||
	fail "hello of version 7: $(cat "$TFS_TMP/out")"
grep -q "^uuid " "$TFS_TMP/out" && fail "a version-7 client got an answer: $(cat "$TFS_TMP/out")"
# The tools from before versioning send the bare request: still answered.
"$PY" "$TFS_TMP/wire.py" "$UUID" "info" | grep -q "^uuid $UUID" || fail "a bare info is not answered"

step "an unknown command: an error naming it and the commands known"
"$PY" "$TFS_TMP/wire.py" "$UUID" "trackfs-control 1" "frobnicate 3" >"$TFS_TMP/out"
sed -n 2p "$TFS_TMP/out" |
	grep -q "^err 22 unknown command 'frobnicate'; this daemon speaks control protocol 1: info, version, .*log-level$" ||
	fail "unknown command: $(cat "$TFS_TMP/out")"
"$PY" "$TFS_TMP/wire.py" "$UUID" "frobnicate" | grep -q "^err 22 unknown command 'frobnicate'" ||
	fail "unknown bare command"
rc=0
"$T" control send "$TFS_MNT" frobnicate >"$TFS_TMP/out" 2>&1 || rc=$?
check_eq "$rc" 1 "trackfs control send frobnicate"
grep -q "unknown command 'frobnicate'" "$TFS_TMP/out" || fail "send: $(cat "$TFS_TMP/out")"

step "a tool of another protocol version says what to do"
rc=0
TRACKFS_CONTROL_PROTO=2 "$T" status "$TFS_MNT" >/dev/null 2>"$TFS_TMP/err" || rc=$?
check_eq "$rc" 1 "trackfs status, tool of version 2"
grep -q "daemon is version 1 of the control protocol, tool is 2: restart the mount" "$TFS_TMP/err" ||
	fail "status of another version: $(cat "$TFS_TMP/err")"
rc=0
TRACKFS_CONTROL_PROTO=2 "$T" control version "$TFS_MNT" >"$TFS_TMP/out" 2>&1 || rc=$?
check_eq "$rc" 1 "trackfs control version, tool of version 2"
grep -q "daemon: control protocol 1" "$TFS_TMP/out" || fail "version 2: $(cat "$TFS_TMP/out")"

step "a user who is neither root nor the owner is refused"
for req in version log-level s3-reload; do
	rc=0
	args=("$req" "$TFS_META")
	[ "$req" = log-level ] && args+=(debug)
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$T" control "${args[@]}" \
		>/dev/null 2>"$TFS_TMP/err" || rc=$?
	check_eq "$rc" 1 "trackfs control $req by nobody"
	grep -q "refused: only root, the daemon's user and the volume's owner" "$TFS_TMP/err" ||
		fail "$req by nobody: $(cat "$TFS_TMP/err")"
done
setpriv --reuid=65534 --regid=65534 --clear-groups -- "$PY" "$TFS_TMP/wire.py" "$UUID" \
	"trackfs-control 1" "log-level debug" >"$TFS_TMP/out"
grep -q "^err 1 permission denied" "$TFS_TMP/out" || fail "nobody on the wire: $(cat "$TFS_TMP/out")"
"$T" control log-level "$TFS_MNT" | grep -qx info || fail "nobody changed the log level"

step "log level: debug lines appear after log-level debug, and go after log-level info"
grep -q "debug: control socket: " "$TFS_LOG" && fail "debug lines before log-level debug"
"$T" control log-level "$TFS_MNT" debug | grep -qx debug || fail "log-level debug"
"$T" control send "$TFS_MNT" version | grep -q "^ok 1 info " || fail "send version"
grep -q "debug: control socket: hello of protocol 1 from uid 0" "$TFS_LOG" ||
	fail "no debug line for the hello after log-level debug"
grep -q "debug: control socket: request 'version' from uid 0" "$TFS_LOG" ||
	fail "no debug line for the request after log-level debug"
"$T" control log-level "$TFS_MNT" info | grep -qx info || fail "log-level info"
n=$(grep -c "debug: " "$TFS_LOG")
"$T" control version "$TFS_MNT" >/dev/null
check_eq "$(grep -c "debug: " "$TFS_LOG")" "$n" "debug lines after log-level info"
rc=0
"$T" control log-level "$TFS_MNT" loud >/dev/null 2>"$TFS_TMP/err" || rc=$?
check_eq "$rc" 2 "log-level loud"
grep -q "unknown log level 'loud'" "$TFS_TMP/err" || fail "log-level loud: $(cat "$TFS_TMP/err")"

step "S3 reload on the mount daemon (trackfs s3 reload MOUNTPOINT)"
"$PY" "$here/s3_reload.py" "http://127.0.0.1:$PORT" "$AUTH" "$TFS_LOG" cmd \
	"$T" s3 reload "$TFS_MNT" || fail "s3_reload.py (cmd) failed (output above)"
tfs_umount

step "SIGHUP reloads the mount daemon's auth file and does not unmount"
printf 'AKA SKA rw *\n' >"$AUTH"
tfs_mount -o "s3=127.0.0.1:$PORT,s3_auth=$AUTH"
"$PY" "$here/s3_reload.py" "http://127.0.0.1:$PORT" "$AUTH" "$TFS_LOG" signal \
	kill -HUP "$TFS_PID" || fail "s3_reload.py (signal, mount daemon) failed (output above)"
mountpoint -q "$TFS_MNT" || fail "SIGHUP unmounted $TFS_MNT"
kill -0 "$TFS_PID" 2>/dev/null || fail "the daemon is gone after SIGHUP: $(tail "$TFS_LOG")"
echo after-hup >"$TFS_MNT/after-hup" && check_eq "$(cat "$TFS_MNT/after-hup")" after-hup "a file written after SIGHUP"
tfs_umount

step "s3-reload on a mount without S3: an error that says so"
tfs_mount
rc=0
"$T" s3 reload "$TFS_META" >/dev/null 2>"$TFS_TMP/err" || rc=$?
check_eq "$rc" 1 "s3 reload without S3"
grep -q "serves no S3" "$TFS_TMP/err" || fail "s3 reload without S3: $(cat "$TFS_TMP/err")"
kill -HUP "$TFS_PID"
for _ in $(seq 100); do
	grep -q "SIGHUP received: this mount serves no S3" "$TFS_LOG" && break
	sleep 0.05
done
grep -q "SIGHUP received: this mount serves no S3" "$TFS_LOG" ||
	fail "SIGHUP on a mount without S3 logged nothing: $(tail "$TFS_LOG")"
mountpoint -q "$TFS_MNT" || fail "SIGHUP unmounted $TFS_MNT (no S3)"
tfs_umount

step "SIGHUP reloads a standalone trackfs-s3's auth file"
printf 'AKA SKA rw *\n' >"$AUTH"
S3LOG="$TFS_TMP/s3.log"
"$S3" --listen 127.0.0.1:0 --port-file "$TFS_TMP/port" --auth "$AUTH" "$TFS_META" >"$S3LOG" 2>&1 &
S3_PID=$!
for _ in $(seq 200); do
	[ -s "$TFS_TMP/port" ] && break
	kill -0 "$S3_PID" 2>/dev/null || fail "trackfs-s3 exited: $(cat "$S3LOG")"
	sleep 0.05
done
SPORT=$(cat "$TFS_TMP/port")
"$PY" "$here/s3_reload.py" "http://127.0.0.1:$SPORT" "$AUTH" "$S3LOG" signal \
	kill -HUP "$S3_PID" || fail "s3_reload.py (signal) failed (output above)"
kill -0 "$S3_PID" 2>/dev/null || fail "trackfs-s3 is gone after SIGHUP: $(tail "$S3LOG")"

step "trackfs s3 reload reaches the standalone trackfs-s3 too"
printf 'AKA SKA rw *\n' >"$AUTH"
"$T" s3 reload "$TFS_META" >"$TFS_TMP/out" || fail "s3 reload of trackfs-s3: $(cat "$TFS_TMP/out")"
grep -q "reloaded: 1 grants" "$TFS_TMP/out" || fail "s3 reload of trackfs-s3: $(cat "$TFS_TMP/out")"
kill "$S3_PID"
rc=0
wait "$S3_PID" || rc=$?
S3_PID=""
check_eq "$rc" 0 "trackfs-s3's exit status on SIGTERM"
tfs_fsck

step "a daemon from before versioning: the tools fall back to bare requests"
"$PY" "$here/control_old_daemon.py" "$UUID" "$TFS_TMP/old.log" 3 &
OLD_PID=$!
for _ in $(seq 100); do
	[ -s "$TFS_TMP/old.log" ] && break
	sleep 0.05
done
"$T" control send "$TFS_META" meta-snapshot >"$TFS_TMP/out" || fail "send to an old daemon: $(cat "$TFS_TMP/out")"
check_eq "$(cat "$TFS_TMP/out")" "ok 7 100 2 0 0.010" "reply of the old daemon"
rc=0
"$T" control version "$TFS_META" >"$TFS_TMP/out" 2>&1 || rc=$?
check_eq "$rc" 1 "trackfs control version of an old daemon"
grep -q "daemon: control protocol 0" "$TFS_TMP/out" || fail "version of an old daemon: $(cat "$TFS_TMP/out")"
wait "$OLD_PID" || fail "the old daemon's stand-in failed"
OLD_PID=""
check_eq "$(tr '\n' ' ' <"$TFS_TMP/old.log")" "ready trackfs-control 1 meta-snapshot trackfs-control 1 " \
	"what the old daemon was sent"
