#!/usr/bin/env bash
# A drain stopped with `trackfs disk drain --stop` stays stopped (issue 9):
# the next mount does not go on with it, `disk list` says "stopped" and keeps
# the --rate given at the start; `trackfs disk drain` without --rate goes on
# at that rate; --stop of an unmounted volume marks it too; `trackfs disk
# undrain` gives the disk back to placement. Every byte verified, fsck clean.
source "$(dirname "$0")/lib.sh"
tfs_setup
DISK="$TRACKFS_BIN_DIR/tools/trackfs-disk"
DEBUG="$TRACKFS_BIN_DIR/tools/trackfs-debug"
MIB=$((1 << 20))
T=$TFS_TMP

disk1() { "$DISK" list "$TFS_META" | grep -E '^1 ' || true; }
# done1: bytes moved so far, from the drain status of a mounted volume.
pct1() { disk1 | grep -oE 'draining [0-9]+%' | grep -oE '[0-9]+' || echo none; }

step "files on both disks, then drain disk 1 at 1 MiB/s and stop it"
tfs_mount
for i in $(seq 1 8); do
	head -c $((2 * MIB)) /dev/urandom >"$T/f$i.src"
	cp "$T/f$i.src" "$TFS_MNT/f$i"
done
sync
tfs_umount
on1=0
for i in $(seq 1 8); do
	d=$("$DEBUG" locate "$TFS_META" "/f$i" 0 | awk '$1 == "disk" { print $2 }')
	[ "$d" = 1 ] && on1=$((on1 + 1))
done
[ "$on1" -ge 2 ] || fail "too few files on disk 1 ($on1) to drain"
tfs_mount
"$DISK" drain "$TFS_META" 1 --rate 1M/s >"$T/drain.out" 2>&1 &
DRAIN_CLI=$!
for _ in $(seq 100); do
	disk1 | grep -q 'draining' && break
	sleep 0.1
done
sleep 1
"$DISK" drain --stop "$TFS_META" 1 >"$T/stop.out" 2>&1 || {
	cat "$T/stop.out"
	fail "drain --stop"
}
cat "$T/stop.out"
wait "$DRAIN_CLI" || true
for _ in $(seq 100); do
	disk1 | grep -q 'stopped' && break
	sleep 0.1
done
disk1
disk1 | grep -qE 'draining .*stopped, at most 1(\.0)? MiB/s' ||
	fail "disk list does not show the stopped drain and its rate: $(disk1)"
tfs_umount

step "the next mount leaves the stopped drain stopped"
p0=$(pct1)
tfs_mount
sleep 2
p1=$(pct1)
disk1
grep -q 'not resumed' "$TFS_LOG" || fail "the daemon log does not say the drain is left stopped"
disk1 | grep -q 'stopped' || fail "the drain is not stopped after a remount: $(disk1)"
check_eq "$p1" "$p0" "drain progress across a remount of a stopped drain"

step "trackfs disk drain again goes on at the rate kept (no --rate given)"
"$DISK" drain "$TFS_META" 1 >"$T/drain2.out" 2>&1 &
DRAIN_CLI=$!
for _ in $(seq 50); do
	disk1 | grep -q 'stopped' || break
	sleep 0.1
done
disk1
disk1 | grep -qE 'draining .*at most 1(\.0)? MiB/s' || fail "the resumed drain lost its rate: $(disk1)"
disk1 | grep -q 'stopped' && fail "the drain is still marked stopped after drain"
"$DISK" drain --stop "$TFS_META" 1 >/dev/null || fail "second drain --stop"
wait "$DRAIN_CLI" || true
tfs_umount

step "undrain (unmounted): the disk takes new files again"
"$DISK" undrain "$TFS_META" 1 || fail "trackfs disk undrain"
disk1 | grep -q 'draining' && fail "disk 1 still draining after undrain: $(disk1)"
rc=0
"$DISK" undrain "$TFS_META" 7 2>/dev/null || rc=$?
check_eq "$rc" 1 "undrain of a disk that does not exist"
rc=0
"$DISK" undrain "$TFS_META" 2>/dev/null || rc=$?
check_eq "$rc" 2 "undrain without a disk"
tfs_mount
for i in $(seq 1 8); do
	cmp "$TFS_MNT/f$i" "$T/f$i.src" || fail "f$i reads back wrong"
done
tfs_umount

step "--stop on an unmounted volume marks an interrupted drain"
tfs_mount
"$DISK" drain "$TFS_META" 1 --rate 1M/s >/dev/null 2>&1 &
DRAIN_CLI=$!
for _ in $(seq 100); do
	disk1 | grep -q 'draining' && break
	sleep 0.1
done
kill "$DRAIN_CLI" 2>/dev/null # the daemon's drain goes on
wait "$DRAIN_CLI" 2>/dev/null || true
tfs_umount # an unmount only interrupts: it would go on at the next mount
disk1 | grep -q 'stopped' && fail "an unmount marked the drain stopped"
"$DISK" drain --stop "$TFS_META" 1 || fail "drain --stop (unmounted)"
disk1 | grep -q 'draining .*stopped' || fail "unmounted --stop did not mark it: $(disk1)"
tfs_mount
sleep 1
grep -q 'not resumed' "$TFS_LOG" || fail "the drain went on after an unmounted --stop"
tfs_umount
"$DISK" undrain "$TFS_META" 1 || fail "undrain"
tfs_fsck
echo PASS
