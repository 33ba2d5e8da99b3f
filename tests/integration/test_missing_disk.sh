#!/usr/bin/env bash
# A disk missing at mount (its directory moved away): files on it give EIO,
# but deleting, truncating, overwriting or renaming over them, and unlinking
# one that is still open, must not leak its chunks (issue 8 point 7). The
# frees wait in the index until the disk is back, across clean unmounts and a
# kill -9; while it is missing fsck only notes them; once it is back the next
# mount puts them on its free lists, fsck is clean and the space is reused.
source "$(dirname "$0")/lib.sh"
tfs_setup python3 stat
M=$TFS_MNT
DEBUG="$TRACKFS_BIN_DIR/tools/trackfs-debug"
STATUS="$TRACKFS_BIN_DIR/tools/trackfs-status"
D2="$TFS_TMP/disk2"
CPF=64 # chunks per test file (256 KiB of 4 KiB chunks)

# disk_of PATH: index of the disk holding PATH's first chunk (unmounted volume).
disk_of() {
	"$DEBUG" locate "$TFS_META" "$1" 0 | awk '$1 == "disk" { print $2 }'
}
# chunk_of PATH: chunk number of PATH's first chunk in its track.
chunk_of() {
	"$DEBUG" locate "$TFS_META" "$1" 0 | awk '$1 == "chunk" { print $2 }'
}
# used_on DISK: CHUNKS USED of disk DISK in trackfs status (unmounted volume).
used_on() {
	"$STATUS" "$TFS_META" | awk -v d="$1" '$1 == d { print $4 }'
}
# fsck_out: run fsck.trackfs, leave its output in $out and exit code in $code.
fsck_out() {
	code=0
	out=$("$TFS_FSCK" "$TFS_META" 2>&1) || code=$?
}

step "write files until each disk holds several"
tfs_mount
mkdir "$TFS_TMP/orig"
for i in $(seq 1 16); do
	head -c $((CPF * 4096)) /dev/urandom >"$TFS_TMP/orig/f$i"
	cp "$TFS_TMP/orig/f$i" "$M/f$i"
done
tfs_umount
on0=() on1=()
for i in $(seq 1 16); do
	case $(disk_of "/f$i") in
	0) on0+=("f$i") ;;
	1) on1+=("f$i") ;;
	*) fail "cannot locate /f$i" ;;
	esac
done
[ "${#on0[@]}" -ge 2 ] && [ "${#on1[@]}" -ge 8 ] ||
	fail "placement put ${#on0[@]} files on disk 0 and ${#on1[@]} on disk 1; need 2 and 8"
used1_before=$(used_on 1)
echo "disk 0: ${on0[*]}; disk 1: ${on1[*]}; disk 1 uses $used1_before chunks"
tfs_fsck

step "move disk 2 away: the volume mounts with it missing, its files give EIO"
mv "$D2" "$D2.away"
tfs_mount
expect_fail "read of a file on the missing disk" cat "$M/${on1[0]}"
cmp -s "$M/${on0[0]}" "$TFS_TMP/orig/${on0[0]}" || fail "a file on the present disk reads wrong"

step "delete, truncate, overwrite, rename over and unlink-while-open on the missing disk"
freed=0
rm "$M/${on1[0]}" "$M/${on1[1]}" "$M/${on0[0]}"
freed=$((freed + 2 * CPF))
truncate -s 4096 "$M/${on1[2]}" || fail "truncate of a file on the missing disk"
freed=$((freed + CPF - 1))
# An overwrite of whole chunks needs no old data: the new chunks go to the
# present disk and the old ones are freed.
head -c $((16 * 4096)) /dev/urandom >"$TFS_TMP/over"
dd if="$TFS_TMP/over" of="$M/${on1[3]}" bs=4096 count=16 conv=notrunc status=none ||
	fail "overwrite of whole chunks of a file on the missing disk"
cat "$TFS_TMP/over" >"$TFS_TMP/want3"
tail -c +$((16 * 4096 + 1)) "$TFS_TMP/orig/${on1[3]}" >>"$TFS_TMP/want3"
head -c 4096 "$TFS_TMP/orig/${on1[2]}" >"$TFS_TMP/want2"
freed=$((freed + 16))
head -c 8192 /dev/urandom >"$TFS_TMP/new"
cp "$TFS_TMP/new" "$M/new"
mv "$M/new" "$M/${on1[4]}" || fail "rename over a file on the missing disk"
freed=$((freed + CPF))
python3 - "$M/${on1[5]}" <<'PY' || fail "unlink of an open file on the missing disk"
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.unlink(sys.argv[1])
os.close(fd)
PY
freed=$((freed + CPF))
cmp -s "$TFS_TMP/new" "$M/${on1[4]}" || fail "the renamed file reads back wrong"
tfs_umount
grep -q "run on disk 1 ignored" "$TFS_TMP"/daemon.*.log &&
	fail "the daemon dropped frees on the missing disk (log: $(grep -h 'ignored' "$TFS_TMP"/daemon.*.log | head -1))"

step "fsck while the disk is missing: only the missing disk, the frees are noted"
fsck_out
echo "$out"
check_eq "$code" 4 "fsck exit code with a missing disk"
echo "$out" | grep -q "leak" && fail "fsck reports a leak while the disk is missing"
echo "$out" | grep -Eq "$freed chunks on disk 1 .*wait" ||
	fail "fsck does not say that $freed chunks on disk 1 wait for the disk"
sout=$("$STATUS" "$TFS_META" 2>&1) || true
echo "$sout" | grep -Eq "$freed chunks.*wait" || fail "status does not mention the waiting frees: $sout"

step "remount with the disk still missing, then a kill -9 after a durable delete"
tfs_mount
rm "$M/${on1[6]}"
freed=$((freed + CPF))
python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)' "$M/${on0[1]}"
kill -9 "$TFS_PID"
wait "$TFS_PID" 2>/dev/null || true
TFS_PID=""
for _ in $(seq 100); do
	mountpoint -q "$M" || break
	sleep 0.1
done
mountpoint -q "$M" && fail "the mount point is still mounted 10 s after kill -9"
tfs_mount
[ -e "$M/${on1[6]}" ] && fail "a delete made durable before kill -9 came back"
tfs_umount
fsck_out
check_eq "$code" 4 "fsck exit code with a missing disk after the crash"
echo "$out" | grep -Eq "$freed chunks on disk 1 .*wait" ||
	fail "after the crash fsck does not say that $freed chunks on disk 1 wait: $out"

step "put the disk back: until the next mount fsck calls its free lists stale"
mv "$D2.away" "$D2"
fsck_out
echo "$out"
echo "$out" | grep -Eq "disk 1 .* is back after being missing: its free lists lack $freed chunks" ||
	fail "fsck does not say that disk 1 is back with $freed chunks to free"
echo "$out" | grep -q "mount the volume" || fail "fsck does not say that a mount fixes it"
sout=$("$STATUS" "$TFS_META" 2>&1) || true
echo "$sout" | grep -q "Disk 1: back after being missing" || fail "status: $sout"

step "the next mount frees the chunks, fsck is clean"
tfs_mount
grep -q "disk 1 .* is back after being missing ($freed chunks were freed" "$TFS_LOG" ||
	fail "the daemon does not log the returning disk"
cmp -s "$M/${on0[1]}" "$TFS_TMP/orig/${on0[1]}" || fail "a file on disk 0 reads wrong"
cmp -s "$M/${on1[7]}" "$TFS_TMP/orig/${on1[7]}" || fail "an untouched file on disk 1 reads wrong"
cmp -s "$M/${on1[3]}" "$TFS_TMP/want3" || fail "the file overwritten while its disk was missing"
cmp -s "$M/${on1[2]}" "$TFS_TMP/want2" || fail "the file truncated while its disk was missing"
cmp -s "$M/${on1[4]}" "$TFS_TMP/new" || fail "the file renamed over one on the missing disk"
tfs_umount
fsck_out
echo "$out"
check_eq "$code" 0 "fsck exit code once the disk is back"
echo "$out" | grep -q "wait" && fail "fsck still notes waiting frees: $out"
check_eq "$(used_on 1)" $((used1_before - freed)) "chunks in use on disk 1"

step "the freed chunks are reused"
tfs_mount
head -c $((CPF * 4096)) /dev/urandom >"$M/reuse"
tfs_umount
[ "$(disk_of /reuse)" = 1 ] || fail "the new file went to disk $(disk_of /reuse), not disk 1"
c=$(chunk_of /reuse)
[ "$c" -lt "$used1_before" ] ||
	fail "the new file starts at chunk $c, above the $used1_before chunks disk 1 ever used"
tfs_fsck
