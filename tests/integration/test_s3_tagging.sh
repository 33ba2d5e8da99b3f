#!/usr/bin/env bash
# Object and bucket tagging over S3 (s3_tagging.py), served by the mount
# daemon so that the tag sets can be read, written and renamed through the
# mount as the xattr user.s3.tagging; then the tags must survive a remount.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c "import boto3" || fail "python3-boto3 is not installed (packaging/install-deps.sh)"
tfs_setup

PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
AUTH="$TFS_TMP/s3-auth"
printf 'AKTAG SKTAG rw *\nAKTRO SKTRO ro *\n' >"$AUTH"
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

step "tagging (s3_tagging.py)"
S3_ENDPOINT="http://127.0.0.1:$PORT" S3_AK=AKTAG S3_SK=SKTAG S3_RO_AK=AKTRO S3_RO_SK=SKTRO \
	TFS_MNT="$TFS_MNT" "$PY" "$here/s3_tagging.py" || fail "s3_tagging.py failed (output above)"

step "the tags survive a remount"
tfs_umount
mount_s3
got=$(getfattr --absolute-names --only-values -n user.s3.tagging "$TFS_MNT/tags/mpu")
check_eq "part=of&whole=1" "$got" "the multipart object's tags after a remount"
got=$(getfattr --absolute-names --only-values -n user.s3.tagging "$TFS_MNT/tags/renamed")
check_eq "moved=yes" "$got" "the renamed object's tags after a remount"
tfs_umount
tfs_fsck
