#!/usr/bin/env bash
# Placement and disks that change (issue 9): the reserve keeps new files off
# a disk that is down to it, and a file continues on another disk only once
# its own is at its reserve; each placement policy places as documented
# (trackfs-debug locate says where); `trackfs disk add` on a mounted volume
# puts new files on the new disk at once and warns about a shared host
# filesystem; `trackfs disk list` states; a disk directory without its
# identity file (a device not mounted at boot) mounts degraded with a message
# naming it and is never written to; a disk line deleted from volume.conf by
# hand is refused, pointing at `trackfs disk remove`.
source "$(dirname "$0")/lib.sh"
tfs_require stat
DEBUG="$TRACKFS_BIN_DIR/tools/trackfs-debug"
DISK="$TRACKFS_BIN_DIR/tools/trackfs-disk"
MIB=$((1 << 20))

TFS_TMP=$(mktemp -d /tmp/trackfs-it.XXXXXX)
chmod 755 "$TFS_TMP"
TFS_MNT="$TFS_TMP/mnt"
mkdir -p "$TFS_MNT"
PL_MOUNTS=()
pl_cleanup() {
	local rc=$? i
	set +e
	if mountpoint -q "$TFS_MNT" 2>/dev/null; then
		fusermount3 -u "$TFS_MNT" 2>/dev/null || fusermount3 -uz "$TFS_MNT" 2>/dev/null
	fi
	if [ -n "$TFS_PID" ] && kill -0 "$TFS_PID" 2>/dev/null; then
		kill "$TFS_PID" 2>/dev/null
		sleep 1
		kill -9 "$TFS_PID" 2>/dev/null
	fi
	for ((i = ${#PL_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount "${PL_MOUNTS[i]}" 2>/dev/null || umount -l "${PL_MOUNTS[i]}"
	done
	tfs_teardown "$rc"
}
trap pl_cleanup EXIT

# pl_tmpfs NAME MIB: a tmpfs of its own at $TFS_TMP/fs/NAME.
pl_tmpfs() {
	mkdir -p "$TFS_TMP/fs/$1"
	mount -t tmpfs -o "size=$2m" tmpfs "$TFS_TMP/fs/$1"
	PL_MOUNTS+=("$TFS_TMP/fs/$1")
}
# disk_at PATH OFFSET: the disk holding that byte of PATH (unmounted volume).
disk_at() {
	"$DEBUG" locate "$TFS_META" "$1" "$2" | awk '$1 == "disk" { print $2 }'
}
# write NAME MIB: a file of random bytes in the mount, closed and fsynced.
write() {
	head -c $(($2 * MIB)) /dev/urandom >"$TFS_TMP/$1.src"
	dd if="$TFS_TMP/$1.src" of="$TFS_MNT/$1" bs=1M conv=fsync status=none || fail "write $1"
}

step "ff with a 20 MiB reserve over two 64 MiB disks"
pl_tmpfs a 64
pl_tmpfs b 64
TFS_META="$TFS_TMP/meta1"
"$TFS_MKFS" --disk "$TFS_TMP/fs/a/d" --disk "$TFS_TMP/fs/b/d" --meta "$TFS_META" \
	--placement ff --reserve 20M >"$TFS_TMP/mkfs1.log" 2>&1 || {
	cat "$TFS_TMP/mkfs1.log" >&2
	fail "mkfs.trackfs --placement ff --reserve 20M"
}
grep -q '^placement = ff$' "$TFS_META/volume.conf" || fail "volume.conf lacks placement = ff"
grep -q "^reserve = $((20 * MIB))\$" "$TFS_META/volume.conf" || fail "volume.conf lacks the reserve"
tfs_mount
write f1 30 # disk 0 down to about 34 MiB: well above its reserve
write f2 20 # crosses disk 0's reserve after ~14 MiB: continues on disk 1
write f3 1  # a new file: disk 0 is at its reserve
"$DISK" list "$TFS_META" >"$TFS_TMP/list1" || true
cat "$TFS_TMP/list1"
grep -E '^0 .*at reserve' "$TFS_TMP/list1" || fail "disk list (mounted) does not show disk 0 at reserve"
grep -E '^1 .* ok$' "$TFS_TMP/list1" || fail "disk list (mounted) does not show disk 1 ok"
tfs_umount
check_eq "$(disk_at /f1 0)" 0 "first byte of f1 (ff: the first disk)"
check_eq "$(disk_at /f1 $((30 * MIB - 1)))" 0 "last byte of f1 (its disk above the reserve)"
# f2 fills disk 0 down to its reserve (about 14 of its 20 MiB) and continues
# on disk 1. Which MiB go where is not fixed: the kernel writes a file's
# cached pages back in parallel at fsync, so chunks are allocated out of
# offset order. Count them instead.
on1=0
for o in $(seq 0 19); do
	[ "$(disk_at /f2 $((o * MIB)))" = 1 ] && on1=$((on1 + 1))
done
echo "f2: $on1 of its 20 MiB on disk 1 (about 6 expected)"
[ "$on1" -ge 3 ] && [ "$on1" -le 10 ] ||
	fail "f2 has $on1 MiB on disk 1: it should fill disk 0 to its reserve (about 14 MiB) and continue there"
check_eq "$(disk_at /f3 0)" 1 "f3 (a new file avoids the disk at its reserve)"
tfs_mount
for f in f1 f2 f3; do
	cmp "$TFS_MNT/$f" "$TFS_TMP/$f.src" || fail "$f reads back wrong"
done
tfs_umount
tfs_fsck

step "policies: mfs, then lus, ff, rand changed while mounted"
pl_tmpfs e 64
pl_tmpfs f 32
TFS_META="$TFS_TMP/meta2"
"$TFS_MKFS" --disk "$TFS_TMP/fs/e/d" --disk "$TFS_TMP/fs/f/d" --meta "$TFS_META" \
	--reserve 0 >"$TFS_TMP/mkfs2.log" 2>&1 || fail "mkfs.trackfs (volume 2)"
grep -q '^placement = mfs$' "$TFS_META/volume.conf" || fail "the default placement is not mfs"
tfs_mount
write m1 2
"$DISK" policy "$TFS_META" lus || fail "trackfs disk policy lus (mounted)"
grep -q '^placement = lus$' "$TFS_META/volume.conf" || fail "policy lus not in volume.conf"
write l1 1
"$DISK" policy "$TFS_META" ff || fail "trackfs disk policy ff (mounted)"
write ff1 1
"$DISK" policy "$TFS_META" rand || fail "trackfs disk policy rand (mounted)"
for i in $(seq 1 16); do head -c 65536 /dev/urandom >"$TFS_MNT/r$i"; done
sync
expect_fail "an unknown policy" "$DISK" policy "$TFS_META" most-free
tfs_umount
check_eq "$(disk_at /m1 0)" 0 "mfs: the 64 MiB disk"
check_eq "$(disk_at /l1 0)" 1 "lus: the disk holding least"
check_eq "$(disk_at /ff1 0)" 0 "ff: the first disk"
on0=0 on1=0
for i in $(seq 1 16); do
	case $(disk_at "/r$i" 0) in 0) on0=$((on0 + 1)) ;; 1) on1=$((on1 + 1)) ;; esac
done
echo "rand: $on0 files on disk 0, $on1 on disk 1"
[ "$on0" -ge 1 ] && [ "$on1" -ge 1 ] || fail "rand put all 16 files on one disk"

step "trackfs disk add on a mounted volume: new files land there"
"$DISK" policy "$TFS_META" mfs || fail "trackfs disk policy mfs (unmounted)"
pl_tmpfs g 256
tfs_mount
"$DISK" add "$TFS_META" "$TFS_TMP/fs/g/d" >"$TFS_TMP/add.out" 2>&1 || {
	cat "$TFS_TMP/add.out" >&2
	fail "trackfs disk add (mounted)"
}
cat "$TFS_TMP/add.out"
[ -f "$TFS_TMP/fs/g/d/trackfs-disk" ] || fail "the added disk has no identity file"
grep -q "^disk = 2 " "$TFS_META/volume.conf" || fail "the added disk is not in volume.conf"
write n1 4
mkdir "$TFS_TMP/fs/e/d2"
"$DISK" add "$TFS_META" "$TFS_TMP/fs/e/d2" >"$TFS_TMP/add2.out" 2>&1 || fail "second add"
grep -q "same host filesystem as disk 0" "$TFS_TMP/add2.out" ||
	fail "no warning for a disk on the host filesystem of disk 0: $(cat "$TFS_TMP/add2.out")"
"$DISK" list "$TFS_META" >"$TFS_TMP/list2" || true
cat "$TFS_TMP/list2"
grep -E '^3 .*shares fs with disk 0' "$TFS_TMP/list2" || fail "list does not show disk 3 sharing"
expect_fail "adding a disk twice" "$DISK" add "$TFS_META" "$TFS_TMP/fs/g/d"
tfs_umount
check_eq "$(disk_at /n1 0)" 2 "a new file after the add (mfs: the new 256 MiB disk)"
tfs_fsck

step "a disk directory without its identity file mounts degraded"
mv "$TFS_TMP/fs/f/d" "$TFS_TMP/fs/f/d.away"
mkdir "$TFS_TMP/fs/f/d"
tfs_mount
grep -q "disk 1 ($TFS_TMP/fs/f/d) is missing" "$TFS_LOG" || fail "the log does not name disk 1 as missing"
grep -q "safe once it is back" "$TFS_LOG" || fail "the log does not say the data is safe"
grep -qi "mkfs" "$TFS_LOG" && fail "the log suggests mkfs for a missing disk"
cmp "$TFS_MNT/m1" "$TFS_TMP/m1.src" || fail "a file on a present disk reads wrong"
expect_fail "read of a file on the missing disk" cat "$TFS_MNT/l1"
for i in $(seq 1 8); do head -c 65536 /dev/urandom >"$TFS_MNT/deg$i"; done
sync
"$DISK" list "$TFS_META" >"$TFS_TMP/list3" || true
grep -E '^1 .*missing' "$TFS_TMP/list3" || fail "list does not show disk 1 missing"
tfs_umount
[ -z "$(ls -A "$TFS_TMP/fs/f/d")" ] || fail "something was written into the missing disk's directory"
rmdir "$TFS_TMP/fs/f/d"
mv "$TFS_TMP/fs/f/d.away" "$TFS_TMP/fs/f/d"
tfs_mount
cmp "$TFS_MNT/l1" "$TFS_TMP/l1.src" || fail "l1 reads wrong once its disk is back"
tfs_umount

step "a disk line deleted from volume.conf by hand is refused"
cp "$TFS_META/volume.conf" "$TFS_TMP/volume.conf.good"
grep -v '^disk = 3 ' "$TFS_TMP/volume.conf.good" >"$TFS_META/volume.conf"
code=0
out=$(timeout 30 "$TFS_DAEMON" -f "$TFS_META" "$TFS_MNT" 2>&1) || code=$?
echo "$out" | tail -3
[ "$code" -ne 0 ] || fail "the daemon mounted with a disk line deleted"
mountpoint -q "$TFS_MNT" && fail "mounted with a disk line deleted"
echo "$out" | grep -q "trackfs disk remove" || fail "the refusal does not point at trackfs disk remove"
cp "$TFS_TMP/volume.conf.good" "$TFS_META/volume.conf"
tfs_fsck
