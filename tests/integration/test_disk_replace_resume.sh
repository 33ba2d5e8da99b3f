#!/usr/bin/env bash
# `trackfs disk replace` interrupted (issue 9): a volume over three disks,
# files with checksums, writers and a reader running.
#  1. Disk 1 is replaced through the daemon at a limited rate and the daemon
#     is killed (-9) mid-copy. The next mount goes on with the replace by
#     itself, onto the new disk only; every byte verifies; fsck is clean.
#  2. Disk 2's directory is gone; its replace is killed the same way. The
#     next mount goes on with it; its files are listed by path as lost and
#     read EIO; the mount after does not try again. With the directory
#     back, `disk drain` copies the rest onto the same new disk, every byte
#     verifies, fsck is clean.
source "$(dirname "$0")/lib.sh"
tfs_setup python3 sha256sum
source "$(dirname "$0")/disks.sh"
T=$TFS_TMP
disks_mkfs3

step "base files: 48 files of 1 MiB over the three disks"
tfs_mount
for i in $(seq -w 1 48); do
	head -c $((1 << 20)) /dev/urandom >"$TFS_MNT/base$i"
done
(cd "$TFS_MNT" && sha256sum base*) >"$T/base.sha"
tfs_umount
on1=() on2=()
for i in $(seq -w 1 48); do
	case "$(disk_of "/base$i" 0)" in
	1) on1+=("base$i") ;;
	2) on2+=("base$i") ;;
	esac
done
echo "base files on disk 1: ${#on1[@]}, on disk 2: ${#on2[@]}"
[ "${#on1[@]}" -ge 4 ] && [ "${#on2[@]}" -ge 4 ] || fail "too few base files on disks 1 and 2"

step "replace disk 1 through the daemon at 2 MiB/s, under load; kill -9 mid-copy"
mkdir "$T/new1"
tfs_mount
load_start a "$T/base.sha"
"$DISK" replace "$TFS_META" 1 "$T/new1" --rate 2M/s >"$T/rep1.out" 2>"$T/rep1.err" &
CLI=$!
s=$(wait_state 1 '^replacing onto disk 3 ([2-9][0-9]|1[5-9])%' 30)
echo "disk 1: $s"
"$STATUS" "$TFS_META" | grep -E '^1 .*replacing onto disk 3 [0-9]+% \(' ||
	fail "trackfs status does not show disk 1 being replaced"
load_stop
ls "$TFS_MNT/load" >"$T/made-a"
[[ $(disk_state 1) =~ ^replacing ]] || fail "the replace finished before the kill; lower the rate"
kill9
wait "$CLI" && fail "the replace CLI exited 0 although its daemon was killed"
grep -q "lost touch with the daemon" "$T/rep1.err" || fail "the CLI did not say it lost the daemon"
while read -r f; do
	[ "$(disk_of "/load/$f" 0)" = 1 ] && fail "/load/$f, made during the replace, is on disk 1"
done <"$T/made-a"
[[ $(disk_state 1) =~ ^replacing\ onto\ disk\ 3 ]] ||
	fail "unmounted, disk 1 is not shown being replaced: $(disk_state 1)"

step "remount: the replace goes on by itself, onto disk 3 only, under load"
tfs_mount
load_start b "$T/base.sha"
wait_state 1 '^drained' 60
grep -q "going on with the interrupted copy onto disk 3" "$TFS_LOG" ||
	fail "the daemon's log does not say it went on with the replace"
load_stop
tfs_umount
for f in "${on1[@]}"; do
	d=$(disk_of "/$f" 0)
	[ "$d" = 3 ] || fail "/$f was on disk 1 and is on disk $d after the resumed replace, not 3"
done
[ -e "$TFS_META/disk-1-lost.txt" ] || fail "the resumed replace wrote no list of lost data"
[ -s "$TFS_META/disk-1-lost.txt" ] && fail "a replace of a readable disk listed lost data"
tfs_fsck
tfs_mount
(cd "$TFS_MNT" && sha256sum -c --quiet "$T/base.sha") || fail "base files read back wrong"
load_verify
tfs_umount

step "disk 2's directory gone: its replace is killed mid-way under load"
# What disk 2 holds (the writers put files there too), to pick a rate that
# takes about 8 s: chunks that do not read count against the rate as well.
used=$("$STATUS" "$TFS_META" | awk '$1 == "2" { print $4 }')
rate=$((used * 4096 / 8 / 1024 + 1))
echo "disk 2 holds $used chunks; replace at $rate KiB/s"
mv "$T/disk2" "$T/disk2.away"
mkdir "$T/new2"
pat=$(
	IFS='|'
	echo "${on2[*]}"
)
grep -v -E "  ($pat)\$" "$T/base.sha" >"$T/rest.sha"
tfs_mount
load_start c "$T/rest.sha"
"$DISK" replace "$TFS_META" 2 "$T/new2" --rate "${rate}K/s" >"$T/rep2.out" 2>"$T/rep2.err" &
CLI=$!
wait_state 2 '^missing, being replaced by disk 4' 10
sleep 2
load_stop
[[ $(disk_state 2) =~ ^missing,\ being\ replaced ]] ||
	fail "the replace of the missing disk finished before the kill; lower the rate"
kill9
wait "$CLI" || true

step "remount, disk 2 still gone: the replace goes on and lists its files as lost"
tfs_mount
load_start d "$T/rest.sha"
wait_state 2 '^missing, replaced by disk 4; what did not read stays' 60
grep -q "replace disk 2 .*going on with the interrupted copy onto disk 4" "$TFS_LOG" ||
	fail "the daemon's log does not say it went on with the replace of disk 2"
load_stop
for f in "${on2[@]}"; do
	grep -q "^/$f	" "$TFS_META/disk-2-lost.txt" || fail "/$f (on the missing disk) is not listed as lost"
	expect_fail "read of /$f, lost with the missing disk" cat "$TFS_MNT/$f"
done
(cd "$TFS_MNT" && sha256sum -c --quiet "$T/rest.sha") || fail "files off disk 2 read back wrong"
files=$(cut -f1 "$TFS_META/disk-2-lost.txt" | sort -u | wc -l)
n=$(grep -c "is on the missing disk and is not copied" "$TFS_LOG")
echo "$files files lost with disk 2 ($(wc -l <"$TFS_META/disk-2-lost.txt") stretches), $n log lines"
[ "$n" -le "$files" ] || fail "$n log lines for $files lost files: one per file is enough"
tfs_umount
tfs_mount
sleep 1
grep -q "going on with the interrupted copy" "$TFS_LOG" &&
	fail "a replace that copied all that reads was tried again at mount"
grep -q "not tried again" "$TFS_LOG" || fail "the mount does not say why the replace is not resumed"
tfs_umount

step "disk 2 back: a drain goes on with the replace onto disk 4; every byte verifies"
mv "$T/disk2.away" "$T/disk2"
"$DISK" drain "$TFS_META" 2 >"$T/drain2.out" 2>&1 || {
	cat "$T/drain2.out" >&2
	fail "drain of disk 2 once back"
}
for f in "${on2[@]}"; do
	d=$(disk_of "/$f" 0)
	[ "$d" = 4 ] || fail "/$f was on disk 2 and is on disk $d after the drain, not the new disk 4"
done
[ -s "$TFS_META/disk-2-lost.txt" ] && fail "the list of lost data still names files once all was copied"
tfs_fsck
tfs_mount
(cd "$TFS_MNT" && sha256sum -c --quiet "$T/base.sha") || fail "base files read back wrong"
load_verify
tfs_umount
echo "PASS"
