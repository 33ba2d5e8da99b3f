#!/usr/bin/env bash
# Conditional writes and deletes over S3 (If-None-Match: *, If-Match: ETAG
# on PutObject, CopyObject, CompleteMultipartUpload; If-Match on
# DeleteObject), coherent with writes through the mount of the same daemon,
# and a race: 8 S3 clients creating one key with If-None-Match: * while a
# process writes the same path through the mount (s3_cond.py).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c "import boto3" || fail "python3-boto3 is not installed (packaging/install-deps.sh)"
tfs_setup

PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
AUTH="$TFS_TMP/s3-auth"
printf 'AKCOND SKCOND rw *\n' >"$AUTH"
chmod 600 "$AUTH"
step "mount with the sidecar"
tfs_mount -o "s3=127.0.0.1:$PORT,s3_auth=$AUTH"
for _ in $(seq 100); do
	"$PY" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)' \
		"$PORT" 2>/dev/null && break
	sleep 0.05
done

step "conditional writes and deletes (s3_cond.py)"
S3_ENDPOINT="http://127.0.0.1:$PORT" S3_AK=AKCOND S3_SK=SKCOND TFS_MNT="$TFS_MNT" \
	"$PY" "$here/s3_cond.py" || fail "s3_cond.py failed (output above)"
tfs_umount
tfs_fsck
