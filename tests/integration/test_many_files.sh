#!/usr/bin/env bash
# No file descriptor per file or inode: a tree of 200,000 files (the open-file
# limit here is 20,000) can be created, walked, stat'ed and read, and the
# daemon's open descriptors stay few.
source "$(dirname "$0")/lib.sh"
tfs_setup python3
tfs_mount
n=${TFS_MANY_FILES:-200000}

step "create $n files in 200 directories"
python3 - "$TFS_MNT/tree" "$n" <<'PY'
import os, sys
top, n = sys.argv[1], int(sys.argv[2])
for d in range(200):
    os.makedirs(f"{top}/d{d}")
for i in range(n):
    with open(f"{top}/d{i % 200}/f{i}", "w") as f:
        f.write(f"{i}\n")
PY
fds=$(ls /proc/"$TFS_PID"/fd | wc -l)
echo "daemon file descriptors: $fds"
[ "$fds" -lt 200 ] || fail "the daemon holds $fds descriptors after creating $n files"

step "walk, stat and read every file"
check_eq "$(find "$TFS_MNT/tree" -type f | wc -l)" "$n" "files found by find"
python3 - "$TFS_MNT/tree" "$n" <<'PY'
import os, sys
top, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    p = f"{top}/d{i % 200}/f{i}"
    os.stat(p)
    with open(p) as f:
        if f.read() != f"{i}\n":
            sys.exit(f"{p} has the wrong content")
print(f"read {n} files back")
PY
fds=$(ls /proc/"$TFS_PID"/fd | wc -l)
echo "daemon file descriptors: $fds"
[ "$fds" -lt 200 ] || fail "the daemon holds $fds descriptors after reading $n files"
tfs_umount
tfs_fsck
