#!/usr/bin/env bash
# A full metadata filesystem (issue 8, point 2): the index on an 8 MiB ext4
# loop device, data on plain directories. Creating files until the index
# fills it must give ENOSPC and nothing else; every acknowledged file reads
# back byte-exact, before and after a remount; deletes work while it is full
# and stay deleted; a kill -9 while full recovers; freeing space on the metadata filesystem lets creates
# work again without a remount; fsck is clean.
source "$(dirname "$0")/lib.sh"
tfs_setup python3 losetup mkfs.ext4
here=$(dirname "$0")
loopdev=""
cleanup_loop() {
	local rc=$?
	umount "$TFS_TMP/metafs" 2>/dev/null || umount -l "$TFS_TMP/metafs" 2>/dev/null
	[ -n "$loopdev" ] && losetup -d "$loopdev" 2>/dev/null
	tfs_teardown "$rc"
}
trap cleanup_loop EXIT

step "the metadata directory on an 8 MiB ext4"
truncate -s 8M "$TFS_TMP/meta.img"
mkfs.ext4 -q -F -m 0 "$TFS_TMP/meta.img"
loopdev=$(losetup -f --show "$TFS_TMP/meta.img")
mkdir "$TFS_TMP/metafs"
mount "$loopdev" "$TFS_TMP/metafs"
TFS_META="$TFS_TMP/metafs/meta"
"$TFS_MKFS" -f --disk "$TFS_TMP/disk1" --disk "$TFS_TMP/disk2" --meta "$TFS_META" \
	>"$TFS_TMP/mkfs2.log" 2>&1 || fail "mkfs.trackfs with --meta failed: $(cat "$TFS_TMP/mkfs2.log")"
# Ballast: freeing it later is how space comes back.
dd if=/dev/zero of="$TFS_TMP/metafs/ballast" bs=1M count=1 status=none
sync

journal="$TFS_TMP/journal"
tfs_mount
step "fill the index: only ENOSPC, acknowledged files intact"
python3 "$here/meta_full.py" fill "$TFS_MNT/d" "$journal" || fail "filling the index"
python3 "$here/meta_full.py" verify "$TFS_MNT/d" "$journal" || fail "files while full"
kill -0 "$TFS_PID" || fail "the daemon died"
grep -q "filesystem is full" "$TFS_LOG" || fail "the log does not say the metadata filesystem is full"

step "deletes work while it is full"
python3 "$here/meta_full.py" delete "$TFS_MNT/d" "$journal" 300 || fail "deleting on a full index"
sleep 1.5 # a group commit
python3 "$here/meta_full.py" verify "$TFS_MNT/d" "$journal" || fail "files after deletes"

step "kill -9 while full: it mounts again (recovering) with everything flushed"
sleep 2.5 # the flusher commits what the deletes changed
kill -9 "$TFS_PID"
wait "$TFS_PID" 2>/dev/null || true
TFS_PID=""
for _ in $(seq 100); do
	mountpoint -q "$TFS_MNT" || break
	sleep 0.1
done
tfs_mount
python3 "$here/meta_full.py" verify "$TFS_MNT/d" "$journal" || fail "files after kill -9 and recovery"
python3 "$here/meta_full.py" delete "$TFS_MNT/d" "$journal" 20 || fail "deleting after recovery"

step "space freed on the metadata filesystem: creates work again, no remount"
rm "$TFS_TMP/metafs/ballast"
python3 "$here/meta_full.py" more "$TFS_MNT/d" "$journal" 50 || fail "creating after space returned"

step "after a remount everything acknowledged is there, nothing deleted came back"
tfs_umount
tfs_fsck
tfs_mount
python3 "$here/meta_full.py" verify "$TFS_MNT/d" "$journal" || fail "files after remount"
tfs_umount
tfs_fsck
