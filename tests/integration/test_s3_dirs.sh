#!/usr/bin/env bash
# Directory markers ("a/" keys) over the S3 sidecar inside the mounted daemon:
# s3_dirs.py checks PUT/HEAD/GET/LIST/COPY/DELETE of markers with boto3 and
# raw HTTP, mkdir in the mount seen as a marker and a marker PUT seen as a
# directory, rclone and the AWS CLI; then s3fs (Debian's s3fs-fuse) mounted
# over the sidecar: mkdir, nested dirs, rmdir, cp in, mv of files and
# directories, chmod and touch of a directory, ls -la, an s3fs remount with
# everything read back byte-exact, and the same tree in the trackfs mount.
# Without a usable /dev/fuse only the S3 checks run (against trackfs-s3).
here=$(cd "$(dirname "$0")" && pwd)

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c "import boto3" 2>/dev/null || {
	echo "FAIL: python3-boto3 is not installed (packaging/install-deps.sh)" >&2
	exit 1
}
for tool in s3fs rclone /usr/bin/aws; do
	command -v "$tool" >/dev/null || {
		echo "FAIL: $tool is not installed (packaging/install-deps.sh)" >&2
		exit 1
	}
done

fuse_usable() {
	[ -c /dev/fuse ] && [ "$(id -u)" -eq 0 ] && "$PY" -c 'import os; os.close(os.open("/dev/fuse", os.O_RDWR))' 2>/dev/null
}
if ! fuse_usable; then
	echo "SKIP: s3fs and the mount checks: /dev/fuse is unusable here; running the S3 checks alone"
	exec "$PY" "$here/s3_env.py" -- "$PY" "$here/s3_dirs.py"
fi

source "$here/lib.sh"
S3FS_MNT=""
s3fs_umount() {
	if [ -n "$S3FS_MNT" ] && mountpoint -q "$S3FS_MNT"; then
		fusermount3 -u "$S3FS_MNT" 2>/dev/null || fusermount3 -uz "$S3FS_MNT" 2>/dev/null
	fi
	return 0
}
tfs_setup fusermount3 mountpoint
# s3fs goes first: it is a client of the daemon's sidecar.
trap 'rc=$?; set +e; s3fs_umount; tfs_teardown "$rc"' EXIT

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
listening() {
	"$PY" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)' \
		"$1" 2>/dev/null
}

AUTH="$TFS_TMP/s3-auth"
printf 'AKDIRS SKDIRS rw *\n' >"$AUTH"
chmod 600 "$AUTH"
PORT=$(free_port)

step "mount with the sidecar on 127.0.0.1:$PORT"
tfs_mount -o "s3=127.0.0.1:$PORT,s3_auth=$AUTH"
for _ in $(seq 100); do
	listening "$PORT" && break
	sleep 0.05
done
listening "$PORT" || fail "nothing listens on 127.0.0.1:$PORT once the mount stands"

step "markers over S3 and in the mount, rclone, the AWS CLI (s3_dirs.py)"
S3_ENDPOINT="http://127.0.0.1:$PORT" S3_AK=AKDIRS S3_SK=SKDIRS TFS_MNT="$TFS_MNT" \
	"$PY" "$here/s3_dirs.py" || fail "s3_dirs.py failed (output above)"

# s3fs_mount: bucket "s3fsb" on $S3FS_MNT, path-style requests to the sidecar.
PASSWD="$TFS_TMP/s3fs-passwd"
printf 'AKDIRS:SKDIRS\n' >"$PASSWD"
chmod 600 "$PASSWD"
S3FS_MNT="$TFS_TMP/s3fs"
mkdir -p "$S3FS_MNT"
S3FS_N=0
s3fs_mount() {
	S3FS_N=$((S3FS_N + 1))
	s3fs s3fsb "$S3FS_MNT" -o "use_path_request_style,url=http://127.0.0.1:$PORT" \
		-o "passwd_file=$PASSWD,nomixupload,dbglevel=warn,logfile=$TFS_TMP/s3fs.$S3FS_N.log" ||
		fail "s3fs could not mount bucket s3fsb"
	for _ in $(seq 100); do
		mountpoint -q "$S3FS_MNT" && return 0
		sleep 0.05
	done
	fail "s3fs: $S3FS_MNT not mounted after 5 s"
}
s3head() { # s3head KEY: the HTTP status of HEAD s3fsb/KEY
	S3_ENDPOINT="http://127.0.0.1:$PORT" "$PY" - "$1" <<'PY'
import os, sys, boto3, botocore
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1",
                  aws_access_key_id="AKDIRS", aws_secret_access_key="SKDIRS")
try:
    s3.head_object(Bucket="s3fsb", Key=sys.argv[1])
    print(200)
except botocore.exceptions.ClientError as e:
    print(e.response["ResponseMetadata"]["HTTPStatusCode"])
PY
}

step "s3fs over the sidecar: mkdir, nested directories, rmdir"
mkdir "$TFS_MNT/s3fsb"
s3fs_mount
S=$S3FS_MNT
M=$TFS_MNT/s3fsb
mkdir "$S/d1" || fail "mkdir d1 through s3fs"
mkdir -p "$S/d1/d2/d3" "$S/e1/e2" || fail "mkdir -p d1/d2/d3 e1/e2 through s3fs"
[ -d "$M/d1/d2/d3" ] && [ -d "$M/e1/e2" ] || fail "s3fs's directories are not in the trackfs mount"
check_eq "$(s3head d1/d2/)" 200 "HEAD d1/d2/ after s3fs's mkdir"
rmdir "$S/d1/d2/d3" || fail "rmdir d1/d2/d3 through s3fs"
[ -e "$M/d1/d2/d3" ] && fail "rmdir through s3fs left d1/d2/d3 in the trackfs mount"
check_eq "$(s3head d1/d2/d3/)" 404 "HEAD d1/d2/d3/ after s3fs's rmdir"
rmdir "$S/e1" 2>/dev/null && fail "rmdir of the non-empty e1 succeeded through s3fs"
[ -d "$M/e1/e2" ] || fail "a refused rmdir removed e1/e2"

step "s3fs: cp in, mv of a file and of a directory, chmod and touch of a directory, ls -la"
head -c 3000000 /dev/urandom >"$TFS_TMP/big.bin"
printf 'small\n' >"$TFS_TMP/small.txt"
cp "$TFS_TMP/big.bin" "$S/d1/d2/big.bin" || fail "cp big.bin in through s3fs"
cp "$TFS_TMP/small.txt" "$S/e1/e2/small.txt" || fail "cp small.txt in through s3fs"
mv "$S/d1/d2/big.bin" "$S/d1/moved.bin" || fail "mv of a file through s3fs"
mv "$S/e1" "$S/e9" || fail "mv of a directory through s3fs"
chmod 700 "$S/d1/d2" || fail "chmod of a directory through s3fs"
touch -d '2021-02-03 04:05:06' "$S/d1/d2" || fail "touch of a directory through s3fs"
ls -la "$S" "$S/d1" "$S/e9" "$S/e9/e2" >"$TFS_TMP/ls.1" || fail "ls -la through s3fs"
grep -q ' d1$' "$TFS_TMP/ls.1" && grep -q ' e9$' "$TFS_TMP/ls.1" && grep -q ' moved.bin$' "$TFS_TMP/ls.1" ||
	fail "ls -la through s3fs lacks d1, e9 or moved.bin: $(cat "$TFS_TMP/ls.1")"
grep -q ' e1$' "$TFS_TMP/ls.1" && fail "ls -la through s3fs still shows e1 after mv"
cmp -s "$TFS_TMP/big.bin" "$M/d1/moved.bin" || fail "d1/moved.bin differs in the trackfs mount"
cmp -s "$TFS_TMP/small.txt" "$M/e9/e2/small.txt" || fail "e9/e2/small.txt differs in the trackfs mount"
[ -e "$M/e1" ] && fail "e1 is still in the trackfs mount after mv"
[ -e "$M/d1/d2/big.bin" ] && fail "d1/d2/big.bin is still in the trackfs mount after mv"

step "a directory made in the trackfs mount is one in s3fs too"
mkdir -p "$M/fromtfs/inner"
ls "$S/fromtfs" | grep -qx inner || fail "s3fs does not show fromtfs/inner"

step "unmount and remount s3fs: the tree reads back byte-exact"
fusermount3 -u "$S3FS_MNT" || fail "fusermount3 -u of s3fs"
s3fs_mount
cmp -s "$TFS_TMP/big.bin" "$S/d1/moved.bin" || fail "d1/moved.bin differs through s3fs after the remount"
cmp -s "$TFS_TMP/small.txt" "$S/e9/e2/small.txt" || fail "e9/e2/small.txt differs after the remount"
check_eq "$(stat -c %a "$S/d1/d2")" 700 "the mode s3fs set on d1/d2, after the remount"
check_eq "$(stat -c %Y "$S/d1/d2")" "$(date -d '2021-02-03 04:05:06' +%s)" \
	"the mtime s3fs set on d1/d2, after the remount"
[ -d "$S/fromtfs/inner" ] || fail "fromtfs/inner missing through s3fs after the remount"
(cd "$S" && find . | sort) >"$TFS_TMP/tree.s3fs"
(cd "$M" && find . | sort) >"$TFS_TMP/tree.tfs"
cmp -s "$TFS_TMP/tree.s3fs" "$TFS_TMP/tree.tfs" ||
	fail "s3fs and the trackfs mount show different trees: $(diff "$TFS_TMP/tree.s3fs" "$TFS_TMP/tree.tfs")"

step "rm -r through s3fs empties the bucket; DeleteBucket then works"
rm -r "$S/d1" "$S/e9" "$S/fromtfs" || fail "rm -r through s3fs"
check_eq "$(ls -A "$M")" "" "the bucket directory in the trackfs mount after rm -r"
s3fs_umount
S3_ENDPOINT="http://127.0.0.1:$PORT" "$PY" - <<'PY' || fail "DeleteBucket after s3fs's rm -r"
import os, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1",
                  aws_access_key_id="AKDIRS", aws_secret_access_key="SKDIRS")
s3.delete_bucket(Bucket="s3fsb")
PY
[ -e "$M" ] && fail "the bucket is still in the trackfs mount after DeleteBucket"

step "unmount: the volume is clean"
tfs_umount
tfs_fsck
