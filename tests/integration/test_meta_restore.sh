#!/usr/bin/env bash
# The metadata directory lost: restored from the index snapshots on the data
# disks (every file unchanged since the snapshot byte-exact, every changed one
# either intact or named and set aside in /lost+found, never wrong bytes, fsck
# clean, no leaked space), from the metadata mirror (nothing committed lost),
# and a damaged data.mdb (garbage in the middle, truncated) found and replaced.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/disks.sh"
CHECK="$(dirname "$0")/restore_check.py"

tfs_setup
disks_mkfs3
D="--disk $TFS_TMP/disk0 --disk $TFS_TMP/disk1 --disk $TFS_TMP/disk2"

restore() { # restore LOG [extra args]: fsck.trackfs --restore-meta; prints its exit code
	local log=$1 rc=0
	shift
	# shellcheck disable=SC2086
	"$TFS_FSCK" --restore-meta $D "$@" "$TFS_META" >"$log" 2>&1 || rc=$?
	echo "$rc"
}

step "write a tree; the clean unmount leaves a snapshot on every disk"
tfs_mount -o snapshot_interval=0
python3 "$CHECK" tree "$TFS_MNT" 48
setfattr -n user.colour -v blue "$TFS_MNT/d0/f004"
mkdir "$TFS_MNT/empty"
python3 "$CHECK" save "$TFS_MNT" "$TFS_TMP/before"
tfs_umount
for d in 0 1 2; do
	n=$(find "$TFS_TMP/disk$d/meta-snapshots" -name 'index-*.snap' | wc -l)
	check_eq "$n" 1 "snapshots on disk $d"
done

step "change it (deletes, then new files that reuse their chunks, overwrites, appends, renames), then kill -9"
tfs_mount -o snapshot_interval=0
python3 "$CHECK" change "$TFS_MNT" "$TFS_TMP/changes"
# The deleted files' chunks become reusable once their frees are durable (the
# flusher's sync, every 5 s); the new files then take them.
sleep 6
python3 "$CHECK" create "$TFS_MNT" 24 "$TFS_TMP/changes"
sleep 2
kill9

step "delete meta/ entirely: the volume refuses to mount and says why"
rm -rf "$TFS_META"
expect_fail "mount without meta/" "$TFS_DAEMON" -f "$TFS_META" "$TFS_MNT"

step "restore from the snapshots on the disks"
rc=$(restore "$TFS_TMP/restore1.log")
cat "$TFS_TMP/restore1.log"
[ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] || fail "restore exited $rc"
grep -q "Using the snapshot $TFS_TMP/disk" "$TFS_TMP/restore1.log" || fail "it did not use a snapshot"
moved=$(grep -c -- ' -> /lost+found/' "$TFS_TMP/restore1.log" || true)
[ "$moved" -gt 0 ] || fail "no file was set aside, yet new files reused deleted files' chunks"
[ "$rc" -eq 1 ] || fail "files were set aside but the exit code is $rc, not 1"
tfs_fsck

step "every file is as the snapshot saw it, or named and in /lost+found with holes for what changed"
tfs_mount -o snapshot_interval=0
python3 "$CHECK" verify "$TFS_MNT" "$TFS_TMP/before" "$TFS_TMP/changes" "$TFS_TMP/restore1.log" 4096
check_eq "$(getfattr --absolute-names --only-values -n user.colour "$TFS_MNT/d0/f004")" blue "xattr of an unchanged file"
check_eq "$(readlink "$TFS_MNT/link")" d0/f000 "symlink"
check_eq "$(stat -c %h "$TFS_MNT/hard001")" 2 "hard link count"
[ -d "$TFS_MNT/empty" ] || fail "the empty directory is gone"
one=$(find "$TFS_MNT/lost+found" -type f | head -1)
getfattr --absolute-names --only-values -n user.trackfs.lost "$one" | grep -Eq '^[0-9]+-[0-9]+' ||
	fail "$one has no user.trackfs.lost ranges"
getfattr --absolute-names --only-values -n user.trackfs.restored "$one" | grep -q "restored from the index snapshot" ||
	fail "$one does not say where it came from"
tfs_umount
tfs_fsck

step "the free space is what the restored files do not use: fill it, delete, and fsck stays clean"
tfs_mount -o snapshot_interval=0
head -c 3000000 /dev/urandom >"$TFS_MNT/after-restore"
sync "$TFS_MNT/after-restore"
rm "$TFS_MNT/after-restore"
python3 "$CHECK" verify "$TFS_MNT" "$TFS_TMP/before" "$TFS_TMP/changes" "$TFS_TMP/restore1.log" 4096 ||
	fail "writing after the restore damaged a restored file"
tfs_umount
tfs_fsck

step "with a metadata mirror, nothing committed is lost"
mkdir -p "$TFS_TMP/mirror"
sed -i "/^disk = 0 /i meta_mirror = $TFS_TMP/mirror" "$TFS_META/volume.conf"
tfs_mount -o snapshot_interval=0
[ -f "$TFS_TMP/mirror/index/data.mdb" ] || fail "the mirror was not made at mount"
rm -rf "$TFS_MNT/lost+found"
for i in $(seq 1 20); do
	head -c $((i * 9000)) /dev/urandom >"$TFS_MNT/m$i"
done
sync "$TFS_MNT"/m*
rm "$TFS_MNT/m3"
mv "$TFS_MNT/m4" "$TFS_MNT/m4.renamed"
sleep 2 # committed (the flusher commits every second)
python3 "$CHECK" save "$TFS_MNT" "$TFS_TMP/before-mirror"
kill9
rm -rf "$TFS_META"
rc=$(restore "$TFS_TMP/restore2.log" --mirror "$TFS_TMP/mirror")
cat "$TFS_TMP/restore2.log"
check_eq "$rc" 0 "restore from the mirror (exit code)"
grep -q "Using the mirror $TFS_TMP/mirror" "$TFS_TMP/restore2.log" || fail "the mirror (newest) was not used"
tfs_fsck
: >"$TFS_TMP/nochanges"
tfs_mount -o snapshot_interval=0
python3 "$CHECK" verify "$TFS_MNT" "$TFS_TMP/before-mirror" "$TFS_TMP/nochanges" "$TFS_TMP/restore2.log" 4096
[ ! -e "$TFS_MNT/m3" ] || fail "m3 was deleted before the kill but is back"
tfs_umount
sed -i '/^meta_mirror = /d' "$TFS_META/volume.conf"

step "garbage in the middle of data.mdb: found, kept aside, restored"
size=$(stat -c %s "$TFS_META/index/data.mdb")
dd if=/dev/urandom of="$TFS_META/index/data.mdb" bs=4096 seek=$((size / 8192)) count=2 conv=notrunc status=none
frc=0
"$TFS_FSCK" "$TFS_META" >"$TFS_TMP/fsck-garbage.log" 2>&1 || frc=$?
cat "$TFS_TMP/fsck-garbage.log"
[ "$frc" -ne 0 ] || echo "(the garbage landed in free pages: fsck finds nothing wrong)"
rc=$(restore "$TFS_TMP/restore3.log" --force)
cat "$TFS_TMP/restore3.log"
[ "$rc" -eq 0 ] || fail "restore after garbage exited $rc"
ls -d "$TFS_META".damaged-* >/dev/null || fail "the damaged metadata directory was not kept aside"
tfs_fsck
rm -rf "$TFS_META".damaged-*

step "a truncated data.mdb: fsck says so, restore needs no --force"
truncate -s 8192 "$TFS_META/index/data.mdb"
frc=0
"$TFS_FSCK" "$TFS_META" >"$TFS_TMP/fsck-trunc.log" 2>&1 || frc=$?
cat "$TFS_TMP/fsck-trunc.log"
[ "$frc" -ne 0 ] || fail "fsck found nothing wrong with a truncated index"
grep -q -- "--restore-meta" "$TFS_TMP/fsck-trunc.log" || fail "fsck does not say how to restore"
rc=$(restore "$TFS_TMP/restore4.log")
cat "$TFS_TMP/restore4.log"
[ "$rc" -eq 0 ] || fail "restore after truncation exited $rc"
grep -q "is damaged" "$TFS_TMP/restore4.log" || fail "restore does not say what was wrong"
tfs_fsck
tfs_mount -o snapshot_interval=0
python3 "$CHECK" verify "$TFS_MNT" "$TFS_TMP/before-mirror" "$TFS_TMP/nochanges" "$TFS_TMP/restore2.log" 4096
tfs_umount

step "a disk missing at restore: its files are named, not checked, and read again once it is back"
mv "$TFS_TMP/disk2" "$TFS_TMP/disk2.away"
rc=0
"$TFS_FSCK" --restore-meta --disk "$TFS_TMP/disk0" --disk "$TFS_TMP/disk1" --force "$TFS_META" \
	>"$TFS_TMP/restore-missing.log" 2>&1 || rc=$?
cat "$TFS_TMP/restore-missing.log"
check_eq "$rc" 0 "restore with a disk missing"
grep -q "disk 2: MISSING" "$TFS_TMP/restore-missing.log" || fail "the missing disk is not named"
grep -q "not checked, it has chunks on a missing disk" "$TFS_TMP/restore-missing.log" ||
	fail "files on the missing disk are not named"
mv "$TFS_TMP/disk2.away" "$TFS_TMP/disk2"
rm -rf "$TFS_META".damaged-*
tfs_mount -o snapshot_interval=0
python3 "$CHECK" verify "$TFS_MNT" "$TFS_TMP/before-mirror" "$TFS_TMP/nochanges" "$TFS_TMP/restore2.log" 4096
tfs_umount
tfs_fsck

step "track files not written since the snapshot are trusted, not read (unless --check-all)"
# As if the snapshot were hours old and the tracks idle since.
find "$TFS_TMP"/disk?/tracks -name 'track-*.trk' -exec touch -d '1 hour ago' {} +
touch "$TFS_TMP/disk1/tracks/track-000000.trk" # written since: checked
rc=$(restore "$TFS_TMP/restore-trust.log" --force)
cat "$TFS_TMP/restore-trust.log"
check_eq "$rc" 0 "restore trusting idle tracks"
grep -Eq "^  [1-9][0-9]* chunks are in track files not written since" "$TFS_TMP/restore-trust.log" ||
	fail "no chunk was trusted"
grep -Eq "[1-9][0-9]* bytes read and checked" "$TFS_TMP/restore-trust.log" ||
	fail "the track written since the snapshot was not checked"
rm -rf "$TFS_META".damaged-*
rc=$(restore "$TFS_TMP/restore-all.log" --force --check-all)
check_eq "$rc" 0 "restore with --check-all"
! grep -q "not written since" "$TFS_TMP/restore-all.log" || fail "--check-all trusted chunks"
rm -rf "$TFS_META".damaged-*
tfs_fsck
tfs_mount -o snapshot_interval=0
python3 "$CHECK" verify "$TFS_MNT" "$TFS_TMP/before-mirror" "$TFS_TMP/nochanges" "$TFS_TMP/restore2.log" 4096
tfs_umount

step "a readable index is not replaced without --force; garbage snapshots are refused"
rc=$(restore "$TFS_TMP/restore5.log")
check_eq "$rc" 8 "restore over a readable index"
grep -q "reads whole" "$TFS_TMP/restore5.log" || fail "no reason given"
for d in 0 1 2; do
	for f in "$TFS_TMP/disk$d"/meta-snapshots/index-*.snap; do
		dd if=/dev/urandom of="$f" bs=1 seek=5000 count=16 conv=notrunc status=none
	done
done
rc=$(restore "$TFS_TMP/restore6.log" --force)
cat "$TFS_TMP/restore6.log"
check_eq "$rc" 0 "restore with damaged snapshots and the mirror the volume file names"
grep -q "not usable (body checksum mismatch" "$TFS_TMP/restore6.log" || fail "damaged snapshots not named"
grep -q "Using the mirror $TFS_TMP/mirror" "$TFS_TMP/restore6.log" || fail "the mirror was not used"
tfs_fsck
sed -i '/^meta_mirror = /d' "$TFS_META/volume.conf"
rm -rf "$TFS_TMP/mirror"
for d in 0 1 2; do
	for f in "$TFS_TMP/disk$d"/meta-snapshots/index-*.snap; do
		dd if=/dev/urandom of="$f" bs=1 seek=5000 count=16 conv=notrunc status=none
	done
done
cp -a "$TFS_META" "$TFS_TMP/meta-before"
rc=$(restore "$TFS_TMP/restore7.log" --force)
cat "$TFS_TMP/restore7.log"
check_eq "$rc" 8 "restore with only damaged snapshots"
grep -q "no usable snapshot or mirror" "$TFS_TMP/restore7.log" || fail "no reason given"
diff -r "$TFS_META" "$TFS_TMP/meta-before" >/dev/null || fail "a refused restore changed $TFS_META"
tfs_fsck
