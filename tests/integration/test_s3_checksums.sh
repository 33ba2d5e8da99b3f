#!/usr/bin/env bash
# Flexible checksums (CRC32, CRC32C, CRC64NVME, SHA1, SHA256) on PutObject,
# in aws-chunked trailers and in multipart uploads (COMPOSITE and
# FULL_OBJECT), read back with checksum mode; GET/HEAD ?partNumber=;
# GetObjectAttributes (s3_checksums.py, boto3 and raw HTTP). Then the
# @aws-sdk/client-s3 from npm sending CRC64NVME itself (s3_checksums_node.py).
# Last, through the FUSE mount with the sidecar: an
# object rewritten through the mount is a plain single-part object again
# (no stale part ranges or checksum). fsck must find the volumes clean.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c "import boto3" || fail "python3-boto3 is not installed (packaging/install-deps.sh)"

pidfile=$(mktemp)
cleanup_s3() {
	local pid
	pid=$(cat "$pidfile" 2>/dev/null || true)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
}
trap cleanup_s3 EXIT

step "checksums, part reads, attributes (s3_checksums.py)"
S3_PIDFILE=$pidfile "$PY" "$here/s3_env.py" -- "$PY" "$here/s3_checksums.py" ||
	fail "s3_checksums.py failed (output above)"
for tool in node npm; do
	command -v "$tool" >/dev/null || fail "$tool is not installed (packaging/install-deps.sh)"
done
step "CRC64NVME from @aws-sdk/client-s3 (s3_checksums_node.py)"
S3_PIDFILE=$pidfile "$PY" "$here/s3_env.py" -- "$PY" "$here/s3_checksums_node.py" ||
	fail "s3_checksums_node.py failed (output above)"
cleanup_s3
trap - EXIT

tfs_setup
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
AUTH="$TFS_TMP/s3-auth"
printf 'AKCK SKCK rw *\n' >"$AUTH"
chmod 600 "$AUTH"
step "mount with the sidecar"
tfs_mount -o "s3=127.0.0.1:$PORT,s3_auth=$AUTH"
for _ in $(seq 100); do
	"$PY" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)' \
		"$PORT" 2>/dev/null && break
	sleep 0.05
done
step "an object rewritten through the mount (s3_checksums.py t_mount_rewrite)"
S3_ENDPOINT="http://127.0.0.1:$PORT" S3_AK=AKCK S3_SK=SKCK TFS_MNT="$TFS_MNT" \
	"$PY" "$here/s3_checksums.py" t_mount_rewrite || fail "t_mount_rewrite failed (output above)"
tfs_umount
tfs_fsck
