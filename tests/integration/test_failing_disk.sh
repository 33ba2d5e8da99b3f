#!/usr/bin/env bash
# A failing disk (issue 8, point 4). One disk of the volume is an ext4 on a
# loop device whose backing file lives in tfs-failstore (tests/harness), a
# FUSE store that fails every read, write and fsync with EIO while told to;
# the other is a healthy tmpfs. While the device fails: an overwrite of an
# fsynced range on it gets EIO from fsync (and keeps getting it), a file on
# the healthy disk still fsyncs, new files go to the healthy disk, and
# `trackfs status` shows the disk failing with an error count. Once the device
# is back: the overwritten range reads its old, fsynced bytes, fsck (and
# --scrub) find the volume clean after unmount, and after a remount every
# fsynced file is intact and none is empty.
#
# The ext4 has no journal and is mounted errors=continue: with a journal, the
# first failed journal write would make it read-only, which is another test.
# Loop over a FUSE file needs --direct-io=off (FUSE files take no O_DIRECT
# from the loop driver).
source "$(dirname "$0")/lib.sh"
tfs_require losetup mkfs.ext4 python3 sha256sum
FAILSTORE="$TRACKFS_BIN_DIR/tests/tfs-failstore"
[ -x "$FAILSTORE" ] || fail "not built: $FAILSTORE"
STATUS="$TRACKFS_BIN_DIR/tools/trackfs-status"
DEBUG="$TRACKFS_BIN_DIR/tools/trackfs-debug"

TFS_TMP=$(mktemp -d /tmp/trackfs-it.XXXXXX)
chmod 755 "$TFS_TMP"
FS_PID=""
LOOP=""
healthy="$TFS_TMP/disk1"
failing="$TFS_TMP/disk2"

teardown() {
	local rc=$?
	set +e
	if [ -n "$TFS_MNT" ] && mountpoint -q "$TFS_MNT"; then
		fusermount3 -u "$TFS_MNT" || fusermount3 -uz "$TFS_MNT"
	fi
	if [ -n "$TFS_PID" ]; then
		kill "$TFS_PID" 2>/dev/null
		wait "$TFS_PID" 2>/dev/null
		TFS_PID=""
	fi
	[ -n "$FS_PID" ] && kill -USR2 "$FS_PID" 2>/dev/null
	mountpoint -q "$failing" && umount "$failing"
	[ -n "$LOOP" ] && losetup -d "$LOOP"
	if [ -n "$FS_PID" ]; then
		fusermount3 -u "$TFS_TMP/store" 2>/dev/null
		kill "$FS_PID" 2>/dev/null
		wait "$FS_PID" 2>/dev/null
	fi
	mountpoint -q "$healthy" && umount "$healthy"
	[ "$rc" -ne 0 ] && [ -s "$TFS_TMP/failstore.log" ] && tail -5 "$TFS_TMP/failstore.log" >&2
	tfs_teardown "$rc"
}
trap teardown EXIT

step "a failing store, a loop device over it, ext4 on that; a tmpfs as the healthy disk"
mkdir -p "$TFS_TMP/store" "$healthy" "$failing" "$TFS_TMP/mnt"
truncate -s 64M "$TFS_TMP/backing.img"
"$FAILSTORE" "$TFS_TMP/backing.img" "$TFS_TMP/store" -f -s >"$TFS_TMP/failstore.log" 2>&1 &
FS_PID=$!
for _ in $(seq 100); do
	[ -e "$TFS_TMP/store/disk.img" ] && break
	sleep 0.05
done
[ -e "$TFS_TMP/store/disk.img" ] || fail "tfs-failstore did not come up"
LOOP=$(losetup -f --show --direct-io=off "$TFS_TMP/store/disk.img") ||
	fail "losetup over a FUSE file failed"
mkfs.ext4 -q -F -O ^has_journal -m 0 "$LOOP" || fail "mkfs.ext4 on $LOOP failed"
mount -o errors=continue "$LOOP" "$failing" || fail "mounting ext4 from $LOOP failed"
# Smaller than the ext4, so that files go to the failing disk first.
mount -t tmpfs -o size=48m tmpfs "$healthy"
TFS_META="$healthy/meta"
TFS_MNT="$TFS_TMP/mnt"
"$TFS_MKFS" --disk "$healthy" --disk "$failing" --label failing >"$TFS_TMP/mkfs.log" 2>&1 || {
	cat "$TFS_TMP/mkfs.log" >&2
	fail "mkfs.trackfs failed"
}
tfs_mount

# where PATH [OFFSET]: the disk index holding that byte of PATH (volume
# unmounted).
where() {
	"$DEBUG" locate "$TFS_META" "$1" "${2:-0}" | sed -n 's/.*disk \([0-9]*\).*/\1/p' | head -1
}

# fsync_rc PATH: write nothing, fsync PATH, print 0 or the errno name.
fsync_rc() {
	python3 - "$1" <<'EOF'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    os.fsync(fd)
    print(0)
except OSError as e:
    print(errno.errorcode[e.errno])
EOF
}

# overwrite PATH OFFSET LEN [DATAFILE]: pwrite LEN new bytes (from DATAFILE,
# or random) at OFFSET, then fsync; print the fsync's result as fsync_rc does.
overwrite() {
	python3 - "$@" <<'EOF'
import errno, os, sys
path, off, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = open(sys.argv[4], "rb").read(n) if len(sys.argv) > 4 else os.urandom(n)
fd = os.open(path, os.O_RDWR)
os.pwrite(fd, data, off)
try:
    os.fsync(fd)
    print(0)
except OSError as e:
    print(errno.errorcode[e.errno])
EOF
}

range_sum() { # PATH OFFSET LEN
	python3 -c 'import hashlib,sys
f=open(sys.argv[1],"rb"); f.seek(int(sys.argv[2]))
print(hashlib.sha256(f.read(int(sys.argv[3]))).hexdigest())' "$@"
}

step "files on both disks, fsynced"
# The ext4 (57 MiB for chunks) has more room than the tmpfs (47 MiB):
# "big" and "side" go there and leave it less, so the small files then go to
# the healthy disk.
dd if=/dev/urandom of="$TFS_MNT/big" bs=1M count=4 conv=fsync status=none
dd if=/dev/urandom of="$TFS_MNT/side" bs=1M count=10 conv=fsync status=none
for i in 1 2 3; do
	dd if=/dev/urandom of="$TFS_MNT/h$i" bs=64k count=4 conv=fsync status=none
done
sums=$(cd "$TFS_MNT" && sha256sum big h1 h3)
old=$(range_sum "$TFS_MNT/big" $((2 << 20)) 65536)
side_head=$(range_sum "$TFS_MNT/side" 0 $((4 << 20)))

step "the device fails; an overwrite of a fsynced range gets EIO from fsync"
kill -USR1 "$FS_PID"
sleep 0.2
rc=$(overwrite "$TFS_MNT/big" $((2 << 20)) 65536)
check_eq "$rc" EIO "fsync after overwriting big on the failing disk"
check_eq "$(fsync_rc "$TFS_MNT/big")" EIO "a second fsync of big"

step "another file on the failing disk takes new writes: they go to the healthy disk"
# The allocator avoids the failing disk now, the file's own included.
dd if=/dev/urandom of="$TFS_TMP/later" bs=256k count=1 status=none
check_eq "$(overwrite "$TFS_MNT/side" $((4 << 20)) 262144 "$TFS_TMP/later")" 0 \
	"fsync after writing a range of side"
later=$(sha256sum <"$TFS_TMP/later" | cut -d' ' -f1)

step "the healthy disk goes on: its files fsync, new files go there"
check_eq "$(overwrite "$TFS_MNT/h2" 0 65536)" 0 "fsync of h2 on the healthy disk"
h2sum=$(cd "$TFS_MNT" && sha256sum h2)
for i in $(seq 1 20); do
	dd if=/dev/urandom of="$TFS_MNT/new$i" bs=16k count=1 conv=fsync status=none 2>"$TFS_TMP/dd.err" ||
		fail "new file new$i: $(cat "$TFS_TMP/dd.err")"
done
news=$(cd "$TFS_MNT" && sha256sum new*)

step "trackfs status shows the disk failing with its error count"
out=$("$STATUS" "$TFS_META") || true
echo "$out"
grep -Eq "^1 +$failing .*FAILING \([1-9][0-9]* I/O errors?\)" <<<"$out" ||
	fail "status does not show disk 1 ($failing) failing"
grep -Eq "^0 +$healthy .* ok$" <<<"$out" || fail "status does not show disk 0 ok"
n=$(grep -c "is failing" "$TFS_LOG" || true)
check_eq "$n" 1 "messages saying the disk is failing"
grep -q "writes .* were undone" "$TFS_LOG" || fail "the log does not say which writes were undone"

step "the device is back: the overwritten range reads its old bytes"
kill -USR2 "$FS_PID"
sleep 0.2
check_eq "$(range_sum "$TFS_MNT/big" $((2 << 20)) 65536)" "$old" "big's overwritten range"
check_eq "$(cd "$TFS_MNT" && sha256sum big h1 h3)" "$sums" "files after the failure"
check_eq "$(range_sum "$TFS_MNT/side" 0 $((4 << 20)))" "$side_head" "side before its new range"
check_eq "$(range_sum "$TFS_MNT/side" $((4 << 20)) 262144)" "$later" "side's new range"
sums=$(cd "$TFS_MNT" && sha256sum big side h1 h3)
check_eq "$(cd "$TFS_MNT" && sha256sum h2)" "$h2sum" "h2 after the failure"

step "unmount; fsck and fsck --scrub find the volume clean"
tfs_umount
tfs_fsck
out=$("$TFS_FSCK" --scrub "$TFS_META" 2>&1) || {
	echo "$out" >&2
	fail "fsck.trackfs --scrub found problems"
}
check_eq "$(where /big)" 1 "the disk of big"
check_eq "$(where /h1)" 0 "the disk of h1"
for i in 1 5 20; do
	check_eq "$(where "/new$i")" 0 "the disk of new$i"
done
check_eq "$(where /side $((4 << 20)))" 0 "the disk of side's new range"

step "after a remount every fsynced file is intact and none is empty"
tfs_mount
check_eq "$(cd "$TFS_MNT" && sha256sum big side h1 h3)" "$sums" "files after the remount"
check_eq "$(cd "$TFS_MNT" && sha256sum h2)" "$h2sum" "h2 after the remount"
check_eq "$(cd "$TFS_MNT" && sha256sum new*)" "$news" "new files after the remount"
check_eq "$(find "$TFS_MNT" -type f -size 0 | wc -l)" 0 "empty files"
tfs_umount
tfs_fsck
