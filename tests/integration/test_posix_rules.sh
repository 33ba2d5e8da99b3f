#!/usr/bin/env bash
# One set of POSIX rules for every front end: in a set-group-ID directory
# with a default ACL, a file and a directory created through the mount and
# the same through the S3 sidecar of the same daemon get the same mode,
# owner, group, access and default ACLs (the engine applies them in the
# create's own transaction). Then chmod and setfacl keep mode and ACL in
# step, whichever is changed.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
tfs_require setfacl getfacl
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c "import boto3" || fail "python3-boto3 is not installed (packaging/install-deps.sh)"
tfs_setup

PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
AUTH="$TFS_TMP/s3-auth"
printf 'AKPX SKPX rw *\n' >"$AUTH"
chmod 600 "$AUTH"
step "mount with the sidecar"
tfs_mount -o "s3=127.0.0.1:$PORT,s3_auth=$AUTH"
for _ in $(seq 100); do
	"$PY" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)' \
		"$PORT" 2>/dev/null && break
	sleep 0.05
done

step "a set-group-ID directory with a default ACL"
mkdir "$TFS_MNT/bkt" "$TFS_MNT/bkt/d"
chgrp 4242 "$TFS_MNT/bkt/d"
chmod 2770 "$TFS_MNT/bkt/d"
setfacl -d -m u::rwx,u:4343:rwx,g::r-x,m::rwx,o::--- "$TFS_MNT/bkt/d"

step "create through the mount and through S3"
(umask 022 && echo via-mount >"$TFS_MNT/bkt/d/fuse.txt" && mkdir "$TFS_MNT/bkt/d/fusedir")
S3_ENDPOINT="http://127.0.0.1:$PORT" "$PY" - <<'PYEOF'
import os
import boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], aws_access_key_id="AKPX",
                  aws_secret_access_key="SKPX", region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}))
s3.put_object(Bucket="bkt", Key="d/s3.txt", Body=b"via-s3\n")
s3.put_object(Bucket="bkt", Key="d/s3dir/inner", Body=b"x")
PYEOF

describe() { # mode owner group, then the ACLs with the name line dropped
	stat -c '%A %u %g' "$1"
	getfacl -cp "$1" 2>/dev/null
	[ -d "$1" ] && getfacl -cpd "$1" 2>/dev/null
	return 0
}
f1=$(describe "$TFS_MNT/bkt/d/fuse.txt")
f2=$(describe "$TFS_MNT/bkt/d/s3.txt")
check_eq "$f1" "$f2" "a file made through S3 is made as one made through the mount"
echo "$f1" | grep -q "^user:4343:rwx" || fail "the file did not inherit the default ACL: $f1"
echo "$f1" | grep -q " 4242$" || fail "the file did not take the directory's group: $f1"
d1=$(describe "$TFS_MNT/bkt/d/fusedir")
d2=$(describe "$TFS_MNT/bkt/d/s3dir")
check_eq "$d1" "$d2" "a directory made by S3 on the way to a key is made as mkdir makes it"
echo "$d1" | grep -q "^drwxrws" || fail "the directory is not set-group-ID: $d1"
echo "$d1" | grep -q "^default:user:4343:rwx" || fail "the directory has no default ACL: $d1"

step "chmod rewrites the ACL, setfacl rewrites the mode"
chmod 0640 "$TFS_MNT/bkt/d/s3.txt"
getfacl -cp "$TFS_MNT/bkt/d/s3.txt" | grep -q "^mask::r--" ||
	fail "chmod 0640 did not set the ACL mask to r--: $(getfacl -cp "$TFS_MNT/bkt/d/s3.txt")"
setfacl -m m::rwx,o::r-- "$TFS_MNT/bkt/d/s3.txt"
check_eq "-rw-rwxr--+" "$(stat -c '%A' "$TFS_MNT/bkt/d/s3.txt")+" "the mode follows setfacl"
setfacl -b "$TFS_MNT/bkt/d/s3.txt"
getfattr --absolute-names -n system.posix_acl_access "$TFS_MNT/bkt/d/s3.txt" >/dev/null 2>&1 &&
	fail "setfacl -b left an access ACL"

step "outside an ACL'd directory, S3 files are 0644 and directories 0755"
S3_ENDPOINT="http://127.0.0.1:$PORT" "$PY" - <<'PYEOF'
import os
import boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], aws_access_key_id="AKPX",
                  aws_secret_access_key="SKPX", region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}))
s3.put_object(Bucket="bkt", Key="plain/file", Body=b"p")
PYEOF
check_eq "644 755" "$(stat -c %a "$TFS_MNT/bkt/plain/file") $(stat -c %a "$TFS_MNT/bkt/plain")" \
	"S3's modes without a default ACL"
tfs_umount
tfs_fsck
