#!/usr/bin/env bash
# Canned ACLs over S3 (s3_acl.py), served by the mount daemon: public-read
# buckets and objects read by unsigned requests, private ones refused, the
# mark visible through the mount as user.s3.acl; trackfs status names the
# public bucket; and it all survives a remount.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c "import boto3" || fail "python3-boto3 is not installed (packaging/install-deps.sh)"
tfs_setup

PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
AUTH="$TFS_TMP/s3-auth"
printf 'AKACL SKACL rw *\nAKARO SKARO ro *\n' >"$AUTH"
chmod 600 "$AUTH"
mount_s3() {
	tfs_mount -o "s3=127.0.0.1:$PORT,s3_auth=$AUTH"
	for _ in $(seq 100); do
		"$PY" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)' \
			"$PORT" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "the sidecar did not listen on port $PORT"
}
step "mount with the sidecar"
mount_s3

run() {
	S3_ENDPOINT="http://127.0.0.1:$PORT" S3_AK=AKACL S3_SK=SKACL S3_RO_AK=AKARO S3_RO_SK=SKARO \
		TFS_MNT="$TFS_MNT" "$PY" "$here/s3_acl.py" "$@" || fail "s3_acl.py $* failed (output above)"
}
step "canned ACLs (s3_acl.py)"
run

step "trackfs status names the public-read bucket"
out=$("$TRACKFS_BIN_DIR/tools/trackfs-status" "$TFS_MNT") || true
echo "$out" | grep -q "^S3 .*public-read bucket (anyone may list): pub$" ||
	fail "trackfs status does not show the public bucket: $out"

step "the ACLs survive a remount"
tfs_umount
mount_s3
run after
out=$("$TRACKFS_BIN_DIR/tools/trackfs-status" "$TFS_MNT") || true
echo "$out" | grep -q "public-read bucket (anyone may list): pub$" ||
	fail "after the remount, trackfs status does not show the public bucket: $out"
tfs_umount
tfs_fsck
