#!/usr/bin/env bash
# `trackfs status` of a mounted volume: the daemon answers on the volume's
# status socket with live figures; after unmount the tool opens the volume
# itself.
source "$(dirname "$0")/lib.sh"
tfs_setup
tfs_mount
status="$TRACKFS_BIN_DIR/fs/fuse/trackfs"

step "status of the mounted volume comes from the daemon"
for i in $(seq 1 20); do echo "file $i" >"$TFS_MNT/f$i"; done
dd if=/dev/urandom of="$TFS_MNT/big" bs=1M count=4 status=none
sync "$TFS_MNT/big"
out=$("$status" status "$TFS_META") || fail "trackfs status failed on a mounted volume: $out"
echo "$out"
grep -q "^Mounted     yes" <<<"$out" || fail "status did not come from the daemon"
inodes=$(awk '/^Inodes/ {print $2}' <<<"$out")
[ "$inodes" -ge 22 ] || fail "status shows $inodes inodes, want at least 22"
used=$(awk '$1 == "total" {print $3}' <<<"$out")
[ "$used" -ge 1024 ] || fail "status shows $used chunks used, want at least 1024 (4 MiB)"

step "after unmount, status opens the volume itself"
tfs_umount
out=$("$status" status "$TFS_META") || fail "trackfs status failed on an unmounted volume"
grep -q "^State       clean" <<<"$out" || fail "an unmounted volume should be clean: $out"
tfs_fsck
