#!/usr/bin/env bash
# `trackfs disk remove` of a middle disk (issue 9): extents name disks by
# number, so the disk's slot stays as `disk = N removed` in volume.conf. The
# volume then opens without a word about a missing disk, never puts data in
# the slot, lists it as "removed" (and is ok), fsck is clean, and removing
# the last disk later drops the slot too. --force gives up a missing,
# undrained disk: its files are listed, keep their size, read zeros there and
# carry user.trackfs.lost.
source "$(dirname "$0")/lib.sh"
tfs_require
DISK="$TRACKFS_BIN_DIR/tools/trackfs-disk"
DEBUG="$TRACKFS_BIN_DIR/tools/trackfs-debug"
STATUS="$TRACKFS_BIN_DIR/tools/trackfs-status"
MIB=$((1 << 20))
TFS_TMP=$(mktemp -d /tmp/trackfs-it.XXXXXX)
chmod 755 "$TFS_TMP"
trap tfs_teardown EXIT
T=$TFS_TMP
TFS_MNT="$T/mnt"
TFS_META="$T/meta"
mkdir -p "$TFS_MNT"

step "a volume over three disks, files on each"
"$TFS_MKFS" --disk "$T/d0" --disk "$T/d1" --disk "$T/d2" --meta "$TFS_META" \
	--placement rand --reserve 0 >"$T/mkfs.log" 2>&1 || fail "mkfs.trackfs"
tfs_mount
for i in $(seq 1 12); do head -c $((MIB / 2)) /dev/urandom >"$TFS_MNT/f$i"; done
sync
(cd "$TFS_MNT" && sha256sum f*) >"$T/base.sha"
tfs_umount

step "drain disk 1 and remove it: a tombstone slot"
"$DISK" drain "$TFS_META" 1 >"$T/drain.out" 2>&1 || fail "drain disk 1: $(cat "$T/drain.out")"
"$DISK" remove "$TFS_META" 1 >"$T/remove.out" 2>&1 || fail "remove disk 1: $(cat "$T/remove.out")"
cat "$T/remove.out"
grep -q '^disk = 1 removed$' "$TFS_META/volume.conf" || fail "no tombstone in volume.conf"
grep -q "^disk = 2 .* $T/d2\$" "$TFS_META/volume.conf" || fail "disk 2 lost its number"
"$DISK" list "$TFS_META" >"$T/list" 2>"$T/list.err" || {
	cat "$T/list" "$T/list.err"
	fail "disk list is not ok with a removed slot"
}
cat "$T/list"
grep -qE '^1 .*removed$' "$T/list" || fail "disk list does not show disk 1 removed"
if grep -qi missing "$T/list" "$T/list.err"; then fail "a removed disk is called missing"; fi
expect_fail "removing disk 1 twice" "$DISK" remove "$TFS_META" 1
tfs_fsck

step "mounted: no warning, new files never go to the removed slot"
tfs_mount
if grep -qiE 'missing|warn' "$TFS_LOG"; then
	cat "$TFS_LOG"
	fail "the daemon warned about the removed disk"
fi
"$DISK" list "$TFS_META" | grep -qE '^1 .*removed$' || fail "mounted list: disk 1 not removed"
"$STATUS" "$TFS_META" >"$T/status" 2>&1 || true
grep -qi 'missing' "$T/status" && fail "status calls the removed disk missing: $(cat "$T/status")"
for i in $(seq 1 12); do head -c 65536 /dev/urandom >"$TFS_MNT/n$i"; done
sync
(cd "$TFS_MNT" && sha256sum -c --quiet "$T/base.sha") || fail "files read back wrong"
tfs_umount
for i in $(seq 1 12); do
	d=$("$DEBUG" locate "$TFS_META" "/n$i" 0 | awk '$1 == "disk" { print $2 }')
	[ "$d" = 1 ] && fail "/n$i went to the removed disk 1"
	d=$("$DEBUG" locate "$TFS_META" "/f$i" 0 | awk '$1 == "disk" { print $2 }')
	[ "$d" = 1 ] && fail "/f$i still names the removed disk 1"
done
tfs_fsck

step "removing the last disk drops the tombstone before it too"
"$DISK" drain "$TFS_META" 2 >/dev/null 2>&1 || fail "drain disk 2"
"$DISK" remove "$TFS_META" 2 || fail "remove disk 2"
check_eq "$(grep -c '^disk = ' "$TFS_META/volume.conf")" 1 "disk lines left"
tfs_fsck
tfs_mount
(cd "$TFS_MNT" && sha256sum -c --quiet "$T/base.sha") || fail "files read back wrong"
tfs_umount

step "remove --force of a missing, undrained disk: files listed, ranges zeroed and marked"
TFS_META="$T/meta2"
"$TFS_MKFS" --disk "$T/e0" --disk "$T/e1" --disk "$T/e2" --meta "$TFS_META" \
	--placement rand --reserve 0 >"$T/mkfs2.log" 2>&1 || fail "mkfs.trackfs (volume 2)"
tfs_mount
for i in $(seq 1 12); do head -c $((MIB / 2)) /dev/urandom >"$TFS_MNT/g$i"; done
sync
(cd "$TFS_MNT" && sha256sum g*) >"$T/g.sha"
tfs_umount
"$DISK" files "$TFS_META" 1 | awk '$NF ~ /^\/g/ { print $NF }' | sort >"$T/on1"
[ -s "$T/on1" ] || fail "no file on disk 1 to lose"
expect_fail "remove of an undrained disk without --force" "$DISK" remove "$TFS_META" 1
rm -r "$T/e1" # the disk died
"$DISK" remove "$TFS_META" 1 --force >"$T/force.out" 2>"$T/force.err" || {
	cat "$T/force.out" "$T/force.err"
	fail "remove --force"
}
cat "$T/force.out"
awk '$1 == "lost" { print $NF }' "$T/force.out" | sort >"$T/lost"
check_eq "$(cat "$T/lost")" "$(cat "$T/on1")" "files listed as lost"
grep -q '^disk = 1 removed$' "$TFS_META/volume.conf" || fail "no tombstone after --force"
tfs_fsck
tfs_mount
while read -r p; do
	getfattr --only-values -n user.trackfs.lost "$TFS_MNT$p" >"$T/x" 2>/dev/null ||
		fail "$p has no user.trackfs.lost"
	grep -qE '^[0-9]+-[0-9]+' "$T/x" || fail "$p: bad lost ranges: $(cat "$T/x")"
	check_eq "$(stat -c %s "$TFS_MNT$p")" $((MIB / 2)) "size of $p after --force"
	check_eq "$(tr -d '\0' <"$TFS_MNT$p" | wc -c)" 0 "non-zero bytes of $p (wholly on disk 1)"
done <"$T/on1"
(cd "$TFS_MNT" && grep -vwF -f <(sed 's|^/||' "$T/on1") "$T/g.sha" | sha256sum -c --quiet) ||
	fail "files not on disk 1 read back wrong"
tfs_umount
tfs_fsck
echo PASS
