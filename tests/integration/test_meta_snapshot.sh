#!/usr/bin/env bash
# Index snapshots and the metadata mirror, operated (issue 10): the snapshot
# thread (-o snapshot_interval) puts one on every disk, `trackfs status`
# shows each disk's newest with its age, `trackfs meta snapshot` takes one
# through the daemon and on an unmounted volume, at most three stay per
# disk, unmount leaves one of the final commit, `trackfs meta list` checks
# each whole (a damaged one is named invalid). The mirror: made by
# `mkfs.trackfs --meta-mirror` on another filesystem, current while mounted
# and equal to the index after unmount (commit sequence included), resynced
# at mount when its index is gone, FAILED in status when its device fills up
# and resynced by `trackfs meta mirror`, and set by `trackfs meta mirror` on
# a volume made without one, mounted and not.
source "$(dirname "$0")/lib.sh"
tfs_setup mdb_dump setpriv
source "$(dirname "$0")/disks.sh"
T="$TRACKFS_BIN_DIR/fs/fuse/trackfs" # `trackfs meta`, `trackfs status`
D=("$TFS_TMP/disk0" "$TFS_TMP/disk1" "$TFS_TMP/disk2")

# newest DISK: the commit of DISK's newest valid snapshot (`trackfs meta list`).
newest() {
	{ "$T" meta list "$1" || true; } | awk '$1 ~ /^[0-9]+$/ && $NF == "ok" { print $1; exit }'
}
# nsnaps DISK: how many snapshot files DISK holds.
nsnaps() {
	find "$1/meta-snapshots" -maxdepth 1 -name 'index-*.snap' | wc -l
}
# status_commit: the index's commit in `trackfs status`.
status_commit() {
	{ "$T" status "$TFS_META" || true; } | awk '$1 == "Commit" { print $2 }'
}
# dump DIR: the index in DIR/index, record by record (mdb_dump), without the
# map size (the mirror's map may differ; its records may not).
dump() {
	mdb_dump -a "$1/index" | grep -v '^mapsize='
}
# same_index MIRROR: the mirror's index holds exactly the records of the
# volume's, the commit sequence record included.
same_index() {
	dump "$TFS_META" >"$TFS_TMP/dump.main" || fail "mdb_dump of $TFS_META/index"
	dump "$1" >"$TFS_TMP/dump.mirror" || fail "mdb_dump of $1/index"
	grep -q "^database=volume" "$TFS_TMP/dump.main" || fail "no volume table in the dump"
	# "commitseq" in hex, as mdb_dump prints keys
	grep -q "^ 636f6d6d6974736571$" "$TFS_TMP/dump.main" || fail "no commitseq record"
	[ "$(grep -c '^ ' "$TFS_TMP/dump.main")" -ge 8 ] || fail "the dump holds too few records"
	if ! cmp -s "$TFS_TMP/dump.main" "$TFS_TMP/dump.mirror"; then
		diff "$TFS_TMP/dump.main" "$TFS_TMP/dump.mirror" | head -20 >&2
		fail "the mirror's index differs from the volume's"
	fi
}
write_files() { # write_files PREFIX COUNT
	mkdir -p "$TFS_MNT/$1"
	for i in $(seq "$2"); do
		head -c $((i * 1000)) /dev/urandom >"$TFS_MNT/$1/f$i"
	done
	sync "$TFS_MNT/$1/f$2"
}

step "usage: --help, --version, bad arguments exit 16"
"$T" meta --help | grep -q "trackfs meta snapshot VOLUME" || fail "trackfs meta --help"
for c in snapshot list mirror restore; do
	"$T" meta "$c" --help | grep -q "^Usage: trackfs meta $c" || fail "trackfs meta $c --help"
	"$T" meta "$c" --version | grep -Eq "^trackfs meta $c [0-9]" ||
		fail "trackfs meta $c --version"
done
"$T" meta --version | grep -Eq "^trackfs meta [0-9]" || fail "trackfs meta --version"
for args in "" "bogus" "snapshot" "snapshot a b" "list" "mirror $TFS_META" "list --bad x"; do
	rc=0
	# shellcheck disable=SC2086
	"$T" meta $args >/dev/null 2>"$TFS_TMP/err" || rc=$?
	check_eq "$rc" 2 "exit status of 'trackfs meta $args'"
done
rc=0
"$T" meta snapshot "$TFS_TMP/nothing" 2>"$TFS_TMP/err" || rc=$?
check_eq "$rc" 8 "exit status of a snapshot of no volume"
grep -q "$TFS_TMP/nothing" "$TFS_TMP/err" || fail "the error does not name the path: $(cat "$TFS_TMP/err")"
check_eq "$(grep -c . "$TFS_TMP/err")" 1 "lines of the error for no volume"

step "three disks, mounted with -o snapshot_interval=2: every disk gets a snapshot"
disks_mkfs3
for d in "${D[@]}"; do
	[ -e "$d/meta-snapshots" ] && fail "mkfs left snapshots on $d"
done
"$T" status "$TFS_META" | grep -Eq "^  disk 0 +no snapshot yet$" ||
	fail "status of a fresh volume does not say 'no snapshot yet'"
tfs_mount -o snapshot_interval=2
write_files a 30
ok=0
for _ in $(seq 150); do
	if "$T" meta list "${D[@]}" >"$TFS_TMP/list" 2>&1; then
		ok=1
		break
	fi
	sleep 0.2
done
[ "$ok" = 1 ] || fail "not every disk has a valid snapshot 30 s into the mount: $(cat "$TFS_TMP/list")"
cat "$TFS_TMP/list"

step "trackfs status shows each disk's snapshot and its age, from the daemon"
out=$("$T" status "$TFS_META") || fail "trackfs status failed: $out"
echo "$out"
grep -q "^Mounted     yes" <<<"$out" || fail "status did not come from the daemon"
for i in 0 1 2; do
	grep -Eq "^  disk $i +snapshot (just now|[0-9]+ s ago), commit [0-9]+$" <<<"$out" ||
		fail "status does not show disk $i's snapshot with its age"
done
grep -q "^Mirror      none$" <<<"$out" || fail "status shows a mirror on a volume without one"
live=$(awk '$1 == "Commit" { print $2 }' <<<"$out")
[ "$live" -ge "$(newest "${D[0]}")" ] || fail "the index's commit $live is below its snapshot's"

step "trackfs meta snapshot through the daemon: the commit goes up on every disk"
before=$(newest "${D[0]}")
write_files b 5
out=$("$T" meta snapshot "$TFS_META") || fail "trackfs meta snapshot of the mounted volume: $out"
echo "$out"
grep -q "written to 3 disks .* by the daemon" <<<"$out" || fail "not written to 3 disks by the daemon"
seq=$(sed -nE 's/.* at commit ([0-9]+) .*/\1/p' <<<"$out")
[ "$seq" -gt "$before" ] || fail "the snapshot's commit $seq is not above the last one's ($before)"
for d in "${D[@]}"; do
	n=$(newest "$d")
	[ "$n" -ge "$seq" ] || fail "the newest snapshot on $d holds commit $n, want $seq or later"
done

step "an unprivileged user may not take a snapshot"
rc=0
setpriv --reuid=65534 --regid=65534 --clear-groups -- "$T" meta snapshot "$TFS_META" \
	>/dev/null 2>"$TFS_TMP/err" || rc=$?
check_eq "$rc" 8 "exit status of a snapshot by nobody"
grep -q "only root or the owner of $TFS_META" "$TFS_TMP/err" || fail "nobody's error: $(cat "$TFS_TMP/err")"

step "after several snapshots at most three stay on each disk"
for k in 1 2 3 4 5; do
	echo "change $k" >"$TFS_MNT/c$k"
	sync "$TFS_MNT/c$k"
	"$T" meta snapshot "$TFS_META" >/dev/null || fail "snapshot $k"
done
for d in "${D[@]}"; do
	check_eq "$(nsnaps "$d")" 3 "snapshot files on $d"
	[ -z "$(find "$d/meta-snapshots" -name '.tmp-*')" ] || fail "a temporary snapshot was left on $d"
done

step "unmount: each disk has a snapshot of the final commit"
tfs_umount
final=$(status_commit)
[ -n "$final" ] || fail "status of the unmounted volume shows no commit"
for d in "${D[@]}"; do
	check_eq "$(newest "$d")" "$final" "the newest snapshot on $d after unmount"
	[ "$(nsnaps "$d")" -le 3 ] || fail "more than three snapshots on $d after unmount"
done
out=$("$T" status "$TFS_META") || fail "status of the unmounted volume: $out"
grep -Eq "^  disk 2 +snapshot (just now|[0-9]+ s ago), commit $final$" <<<"$out" ||
	fail "the unmounted status does not show disk 2's snapshot of commit $final: $out"

step "trackfs meta snapshot of the unmounted volume (opened read-only: no new commit)"
sleep 1.1
touch "$TFS_TMP/marker"
out=$("$T" meta snapshot "$TFS_META") || fail "trackfs meta snapshot of the unmounted volume: $out"
echo "$out"
grep -q "at commit $final .* written to 3 disks in" <<<"$out" || fail "offline snapshot: $out"
grep -q "by the daemon" <<<"$out" && fail "an unmounted volume's snapshot says 'by the daemon'"
check_eq "$(find "${D[@]/%//meta-snapshots}" -name 'index-*.snap' -newer "$TFS_TMP/marker" | wc -l)" 3 \
	"snapshot files written by the offline snapshot"
check_eq "$(status_commit)" "$final" "the index's commit after an offline snapshot"
"$T" meta list "${D[@]}" >/dev/null || fail "the snapshots do not all check after the offline one"

step "a damaged snapshot is listed invalid with the reason"
old=$(find "${D[1]}/meta-snapshots" -name 'index-*.snap' | sort | head -1)
printf 'garbage!' | dd of="$old" bs=1 seek=5000 conv=notrunc status=none
rc=0
"$T" meta list "${D[1]}" >"$TFS_TMP/list" 2>&1 || rc=$?
cat "$TFS_TMP/list"
check_eq "$rc" 1 "exit status of meta list with a damaged snapshot"
grep -q "$(basename "$old") INVALID: " "$TFS_TMP/list" || fail "the damaged snapshot is not named invalid"
rm -f "$old"
tfs_fsck

# ---- the mirror -----------------------------------------------------------------
step "mkfs.trackfs --meta-mirror on another filesystem makes a copy of the new index"
tfs_tmpfs "$TFS_TMP/mfs" 16
MIR="$TFS_TMP/mfs/mirror"
VOL1_META=$TFS_META
mkdir -p "$TFS_TMP/m0" "$TFS_TMP/m1"
out=$("$TFS_MKFS" --disk "$TFS_TMP/m0" --disk "$TFS_TMP/m1" --reserve 0 --meta-mirror "$MIR" 2>&1) ||
	fail "mkfs.trackfs --meta-mirror: $out"
grep -q "mirror      $MIR" <<<"$out" || fail "mkfs does not show the mirror: $out"
TFS_META="$TFS_TMP/m0/meta"
grep -q "^meta_mirror = $MIR$" "$TFS_META/volume.conf" || fail "volume.conf does not name the mirror"
cmp -s "$TFS_META/volume.conf" "$MIR/volume.conf" || fail "the mirror's volume file differs"
same_index "$MIR"
"$TFS_MKFS" --help | grep -q -- "--meta-mirror DIR" || fail "mkfs --help does not document --meta-mirror"
rc=0
"$TFS_MKFS" --disk "$TFS_TMP/m9" --meta-mirror "$MIR" >/dev/null 2>"$TFS_TMP/err" || rc=$?
check_eq "$rc" 1 "mkfs over a used mirror directory"
grep -q "metadata mirror $MIR is not empty" "$TFS_TMP/err" || fail "mkfs's error: $(cat "$TFS_TMP/err")"

step "mounted: writes and fsyncs; status says the mirror is current"
tfs_mount
write_files m 40
out=$("$T" status "$TFS_META") || fail "status with a current mirror exits non-zero: $out"
echo "$out"
c=$(awk '$1 == "Commit" { print $2 }' <<<"$out")
grep -q "^Mirror      $MIR: current (commit $c)$" <<<"$out" || fail "status does not say the mirror is current at $c"

step "after unmount the mirror's index equals the volume's"
tfs_umount
same_index "$MIR"
c=$(status_commit) # (not in the pipeline: two status runs would share the lock)
"$T" status "$TFS_META" | grep -q "^Mirror      $MIR: current (commit $c)$" ||
	fail "the unmounted status does not say the mirror is current at $c"
tfs_fsck

step "the mirror's index removed while unmounted is resynced at mount"
rm -rf "$MIR/index"
rc=0
out=$("$T" status "$TFS_META") || rc=$?
check_eq "$rc" 0 "status exit with a mirror the next mount resyncs"
grep -q "^Mirror      $MIR: holds no copy of the index" <<<"$out" || fail "unmounted status of a lost mirror: $out"
tfs_mount
"$T" status "$TFS_META" | grep -q "^Mirror      $MIR: current" || fail "the mirror is not current after the mount"
write_files r 10
tfs_umount
same_index "$MIR"

step "the mirror's device fills up: status says FAILED, trackfs meta mirror resyncs it"
tfs_mount
dd if=/dev/zero of="$TFS_TMP/mfs/filler" bs=64k status=none 2>/dev/null || true
write_files full 200
out=$("$T" status "$TFS_META") && fail "status exits 0 with a failed mirror"
echo "$out" | grep '^Mirror'
grep -q "^Mirror      $MIR: FAILED (No space left on device)" <<<"$out" || fail "status does not say the mirror failed"
grep -q "trackfs meta mirror $TFS_META $MIR" <<<"$out" || fail "status does not say how to resync it"
rm "$TFS_TMP/mfs/filler"
out=$("$T" meta mirror "$TFS_META" "$MIR") || fail "trackfs meta mirror (resync): $out"
grep -q "is $MIR, current at commit" <<<"$out" || fail "the resync's answer: $out"
"$T" status "$TFS_META" | grep -q "^Mirror      $MIR: current" || fail "the mirror is not current after the resync"
write_files after 10
tfs_umount
same_index "$MIR"
tfs_fsck

step "trackfs meta mirror on a mounted volume made without one"
TFS_META=$VOL1_META
MIR2="$TFS_TMP/mfs/mirror2"
tfs_mount
rc=0
"$T" meta mirror "$TFS_META" "$TFS_META" >/dev/null 2>"$TFS_TMP/err" || rc=$?
check_eq "$rc" 8 "exit status of a mirror onto the metadata directory itself"
mkdir -p "$TFS_TMP/mfs/junk" && echo x >"$TFS_TMP/mfs/junk/x"
rc=0
"$T" meta mirror "$TFS_META" "$TFS_TMP/mfs/junk" >/dev/null 2>"$TFS_TMP/err" || rc=$?
check_eq "$rc" 8 "exit status of a mirror onto a non-empty directory"
grep -q "is not empty and holds no metadata of this volume" "$TFS_TMP/err" || fail "error: $(cat "$TFS_TMP/err")"
out=$("$T" meta mirror "$TFS_META" "$MIR2") || fail "trackfs meta mirror of the mounted volume: $out"
echo "$out"
grep -q "^meta_mirror = $MIR2$" "$TFS_META/volume.conf" || fail "volume.conf does not name the new mirror"
write_files n 20
"$T" status "$TFS_META" | grep -q "^Mirror      $MIR2: current" || fail "the new mirror is not current"
tfs_umount
same_index "$MIR2"
# The next mount attaches it as it is (no resync needed).
tfs_mount
tfs_umount
grep -q "resync" "$TFS_LOG" && fail "a current mirror was resynced at mount: $(grep resync "$TFS_LOG")"
same_index "$MIR2"

step "trackfs meta mirror on an unmounted volume made without one"
mkdir -p "$TFS_TMP/u0"
"$TFS_MKFS" --disk "$TFS_TMP/u0" --reserve 0 >/dev/null 2>&1 || fail "mkfs of a one-disk volume"
TFS_META="$TFS_TMP/u0/meta"
MIR3="$TFS_TMP/mfs/mirror3"
out=$("$T" meta mirror "$TFS_META" "$MIR3") || fail "trackfs meta mirror of the unmounted volume: $out"
echo "$out"
grep -q "is $MIR3, current" <<<"$out" || fail "the offline answer: $out"
same_index "$MIR3"
tfs_mount
write_files o 10
tfs_umount
same_index "$MIR3"
tfs_fsck

step "a disk added to a mounted volume reaches the snapshots soon, not at the next interval"
tfs_mount -o snapshot_interval=3600
write_files p 5
mkdir -p "$TFS_TMP/u1"
"$DISK" add "$TFS_META" "$TFS_TMP/u1" >/dev/null || fail "trackfs disk add (mounted)"
found=""
for _ in $(seq 100); do
	f=$(ls "$TFS_TMP/u1/meta-snapshots"/index-*.snap 2>/dev/null | tail -1 || true)
	if [ -n "$f" ] && grep -aq "$TFS_TMP/u1" "$f"; then
		found=$f
		break
	fi
	sleep 0.1
done
[ -n "$found" ] || fail "no snapshot naming the new disk within 10 s of adding it"
tfs_umount
tfs_fsck
