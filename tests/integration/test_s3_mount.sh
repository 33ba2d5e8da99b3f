#!/usr/bin/env bash
# The S3 sidecar inside the mounted daemon (trackfs -o s3=HOST:PORT,s3_auth=FILE):
# start-up errors (port in use, bad or missing auth file) fail the mount with
# exit 1 and leave no mount behind; then both directions through one daemon
# (s3_mount.py, boto3): objects put, overwritten and deleted over S3 are seen
# in the mount at once despite the kernel's caches, files written in the mount
# come back over S3 with ETag == MD5, and the sidecar's own files never show.
# The unmount stops the sidecar; fsck.trackfs finds the volume clean. A
# read-only mount (-o ro) serves S3 reads and refuses every S3 write.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
TFS_DEBUG_TOOL="$TRACKFS_BIN_DIR/tools/trackfs-debug"
HOLDER_PID=""

"$PY" -c "import boto3" 2>/dev/null || fail "python3-boto3 is not installed (packaging/install-deps.sh)"
tfs_setup fusermount3 mountpoint pgrep

cleanup_holder() {
	if [ -n "$HOLDER_PID" ]; then
		kill "$HOLDER_PID" 2>/dev/null || true
		wait "$HOLDER_PID" 2>/dev/null || true
		HOLDER_PID=""
	fi
}
# Hand the script's exit status on (a subshell's "(exit $rc)" would end the
# trap under set -e before the teardown, leaving the daemon mounted).
trap 'rc=$?; set +e; cleanup_holder; tfs_teardown "$rc"' EXIT

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# listening PORT: something accepts connections on 127.0.0.1:PORT.
listening() {
	"$PY" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)' \
		"$1" 2>/dev/null
}

# mount_must_fail WHAT DAEMON-ARGS...: the daemon (in the background mode that
# users start, without -f) must exit 1, say why on stderr, and leave neither a
# mount nor a process nor the volume's lock behind.
mount_must_fail() {
	local what=$1 rc=0 out
	shift
	out=$("$TFS_DAEMON" "$@" "$TFS_META" "$TFS_MNT" 2>&1) || rc=$?
	check_eq "$rc" 1 "$what: exit code"
	echo "$out" | grep -q "$EXPECT" || fail "$what: stderr lacks '$EXPECT': $out"
	for _ in $(seq 50); do
		pgrep -f "^$TFS_DAEMON .*$TFS_MNT\$" >/dev/null || break
		sleep 0.1
	done
	pgrep -f "^$TFS_DAEMON .*$TFS_MNT\$" >/dev/null && fail "$what: a daemon is still running"
	mountpoint -q "$TFS_MNT" && fail "$what: $TFS_MNT is still mounted"
	grep -q " $TFS_MNT " /proc/self/mounts && fail "$what: $TFS_MNT still in /proc/self/mounts"
	return 0
}

AUTH="$TFS_TMP/s3-auth"
printf '# test users\nAKMOUNT SKMOUNT rw *\n' >"$AUTH"
chmod 600 "$AUTH"

step "a port already in use: the mount fails with exit 1 and leaves nothing behind"
PORT=$(free_port)
# A plain listener (no SO_REUSEPORT), as any other program would have.
"$PY" -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
print("ready", flush=True); time.sleep(600)' "$PORT" >"$TFS_TMP/holder.out" &
HOLDER_PID=$!
for _ in $(seq 100); do
	grep -q ready "$TFS_TMP/holder.out" && break
	sleep 0.05
done
EXPECT="cannot serve S3 on 127.0.0.1:$PORT" \
	mount_must_fail "port in use" -o "s3=127.0.0.1:$PORT,s3_auth=$AUTH"
cleanup_holder

step "a malformed auth file: exit 1, the offending line named, nothing mounted"
printf 'AK-only-one-field\n' >"$TFS_TMP/bad-auth"
chmod 600 "$TFS_TMP/bad-auth"
EXPECT="auth file $TFS_TMP/bad-auth:1:" mount_must_fail "malformed auth file" -o "s3=127.0.0.1:$PORT,s3_auth=$TFS_TMP/bad-auth"

step "a missing auth file or none at all: exit 1 before mounting"
EXPECT="S3 auth file $TFS_TMP/nonexistent" \
	mount_must_fail "missing auth file" -o "s3=127.0.0.1:$PORT,s3_auth=$TFS_TMP/nonexistent"
EXPECT="needs -o s3_auth=FILE" mount_must_fail "no auth file" -o "s3=127.0.0.1:$PORT"
EXPECT="need -o s3=HOST:PORT" mount_must_fail "s3_auth without s3" -o "s3_auth=$AUTH"

step "trackfs --help documents the S3 options"
"$TFS_DAEMON" --help | grep -q -- "-o s3=HOST:PORT" || fail "--help does not mention -o s3="
"$TFS_DAEMON" --help | grep -q -- "s3_auth=FILE" || fail "--help does not mention s3_auth"

step "mount with the sidecar on 127.0.0.1:PORT"
PORT=$(free_port)
REGION=test-region-1
tfs_mount -o "s3=127.0.0.1:$PORT,s3_auth=$AUTH,s3_region=$REGION"
for _ in $(seq 100); do
	listening "$PORT" && break
	sleep 0.05
done
listening "$PORT" || fail "nothing listens on 127.0.0.1:$PORT once the mount stands"

step "both directions through one daemon (s3_mount.py)"
S3_ENDPOINT="http://127.0.0.1:$PORT" S3_AK=AKMOUNT S3_SK=SKMOUNT S3_REGION=$REGION \
	TFS_MNT="$TFS_MNT" TFS_META="$TFS_META" TFS_STATUS="$TRACKFS_BIN_DIR/tools/trackfs-status" \
	"$PY" "$here/s3_mount.py" || fail "s3_mount.py failed (output above)"
kill -0 "$TFS_PID" 2>/dev/null || fail "the daemon died during the S3 checks"

step "unmount: the daemon exits 0 and the sidecar stops listening"
tfs_umount
listening "$PORT" && fail "127.0.0.1:$PORT still accepts connections after the unmount"
grep -q "S3 sidecar stopped" "$TFS_LOG" || fail "the daemon's log does not say the sidecar stopped"
tfs_fsck

step "the upload left in progress was on the volume all along, hidden from the mount"
"$TFS_DEBUG_TOOL" ls "$TFS_META" / | grep -q '\.trackfs-s3' ||
	fail "trackfs-debug ls / shows no .trackfs-s3 (the hiding test proved nothing)"

step "remount without S3: the sidecar's names stay hidden, the objects are files"
tfs_mount
ls -a "$TFS_MNT" | grep -q '\.trackfs-s3' && fail "ls -a shows .trackfs-s3 after a remount"
[ -f "$TFS_MNT/bkt1/mpu/big.bin" ] || fail "bkt1/mpu/big.bin missing after the remount"
[ -e "$TFS_MNT/bkt1/mpu/left.bin" ] && fail "an unfinished upload became a file"
# The names the sidecar reserves (s3_reserve_names -> vol_reserve_name):
# .trackfs-s3 in the root only, .trackfs-s3-tmp.* in every directory.
mkdir "$TFS_MNT/.trackfs-s3" 2>/dev/null && fail "mkdir /.trackfs-s3 through the mount was allowed"
: >"$TFS_MNT/bkt1/.trackfs-s3-tmp.x" 2>/dev/null && fail "creating bkt1/.trackfs-s3-tmp.x was allowed"
mkdir "$TFS_MNT/bkt1/.trackfs-s3" || fail "bkt1/.trackfs-s3 (reserved in the root only) was refused"
rmdir "$TFS_MNT/bkt1/.trackfs-s3"
tfs_umount
tfs_fsck

step "mount -o ro with S3: reads work, every write over S3 is AccessDenied and changes nothing"
"$TFS_DEBUG_TOOL" get "$TFS_META" /bkt1/mpu/big.bin >"$TFS_TMP/big.before" ||
	fail "trackfs-debug get bkt1/mpu/big.bin failed"
[ -s "$TFS_TMP/big.before" ] || fail "bkt1/mpu/big.bin is empty before the read-only mount"
PORT=$(free_port)
tfs_mount -o "ro,s3=127.0.0.1:$PORT,s3_auth=$AUTH"
for _ in $(seq 100); do
	listening "$PORT" && break
	sleep 0.05
done
touch "$TFS_MNT/bkt1/new" 2>/dev/null && fail "touch succeeded on a read-only mount"
S3_ENDPOINT="http://127.0.0.1:$PORT" S3_AK=AKMOUNT S3_SK=SKMOUNT "$PY" - <<'PY' || fail "read-only S3 checks failed"
import os, boto3, botocore
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1",
                  aws_access_key_id=os.environ["S3_AK"], aws_secret_access_key=os.environ["S3_SK"])
body = s3.get_object(Bucket="bkt1", Key="mpu/big.bin")["Body"].read()
assert len(body) > 0, "GET returned nothing"
for what, call in [
    ("PutObject", lambda: s3.put_object(Bucket="bkt1", Key="ro-new", Body=b"x")),
    ("DeleteObject", lambda: s3.delete_object(Bucket="bkt1", Key="mpu/big.bin")),
    ("CreateBucket", lambda: s3.create_bucket(Bucket="robucket")),
    ("CopyObject", lambda: s3.copy_object(Bucket="bkt1", Key="ro-copy",
                                          CopySource={"Bucket": "bkt1", "Key": "mpu/big.bin"})),
    ("CreateMultipartUpload", lambda: s3.create_multipart_upload(Bucket="bkt1", Key="ro-mpu")),
]:
    try:
        call()
    except botocore.exceptions.ClientError as e:
        code = e.response["Error"]["Code"]
        assert code == "AccessDenied", f"{what}: {code}"
    else:
        raise AssertionError(f"{what} succeeded on a read-only volume")
print("read-only S3: GET ok, 5 writes refused")
PY
[ -e "$TFS_MNT/bkt1/ro-new" ] && fail "an S3 PUT created a file on a read-only mount"
[ -e "$TFS_MNT/robucket" ] && fail "an S3 CreateBucket made a directory on a read-only mount"
tfs_umount
"$TFS_DEBUG_TOOL" get "$TFS_META" /bkt1/mpu/big.bin >"$TFS_TMP/big.after" ||
	fail "trackfs-debug get bkt1/mpu/big.bin failed after the read-only mount"
cmp -s "$TFS_TMP/big.before" "$TFS_TMP/big.after" ||
	fail "bkt1/mpu/big.bin changed during the read-only mount"
tfs_fsck
