#!/usr/bin/env bash
# `trackfs disk replace` (issue 9): a volume over three disks with files on
# each. Disk 1 is replaced, unmounted, by a new directory: every byte reads
# back after a remount, disk 1 is drained, fsck is clean. Its replacement is
# replaced in turn, mounted, with one chunk flipped: that file is listed by
# path and offset, the rest is copied. Then disk 2's
# directory is moved away (missing) and it is replaced through the daemon:
# its files are listed as lost by path and still give EIO (nothing silent),
# the rest reads back; with the directory back, a drain takes what is left
# and every byte verifies.
source "$(dirname "$0")/lib.sh"
tfs_setup sha256sum
source "$(dirname "$0")/disks.sh"
T=$TFS_TMP
disks_mkfs3

# files_on N: the base files whose first byte is on disk N (unmounted volume).
files_on() {
	for f in "$T"/names/*; do
		f=${f##*/}
		[ "$(disk_of "/$f" 0)" = "$1" ] && echo "$f"
	done
	true
}
verify() {
	(cd "$TFS_MNT" && sha256sum -c --quiet "$T/$1") || fail "bytes differ after $2"
}

step "30 files of 1 MiB over the three disks"
tfs_mount
mkdir "$T/names"
for i in $(seq -w 1 30); do
	head -c $((1 << 20)) /dev/urandom >"$TFS_MNT/f$i"
	touch "$T/names/f$i"
done
(cd "$TFS_MNT" && sha256sum f*) >"$T/all.sha"
tfs_umount
mapfile -t on1 < <(files_on 1)
mapfile -t on2 < <(files_on 2)
echo "files on disk 1: ${#on1[@]}, on disk 2: ${#on2[@]}"
[ "${#on1[@]}" -ge 2 ] && [ "${#on2[@]}" -ge 2 ] || fail "too few files on disks 1 and 2"

step "replace disk 1 (unmounted) by an empty directory"
mkdir "$T/new1"
"$DISK" replace "$TFS_META" 1 "$T/new1" >"$T/rep1.out" 2>"$T/rep1.err" || {
	cat "$T/rep1.out" "$T/rep1.err" >&2
	fail "disk replace of disk 1 failed"
}
cat "$T/rep1.out"
grep -q 'lost:' "$T/rep1.err" && fail "a replace of a readable disk listed lost data"
"$DISK" list "$TFS_META" >"$T/list1" 2>&1 || true
grep -E '^1 ' "$T/list1" | grep -q drained || { cat "$T/list1" >&2; fail "disk 1 is not drained"; }
grep -q "$T/new1" "$T/list1" || fail "the new disk is not in disk list"
for f in "${on1[@]}"; do
	d=$(disk_of "/$f" 0)
	[ "$d" = 3 ] || fail "/$f is on disk $d after the replace, not on the new disk 3"
done
tfs_fsck
tfs_mount
verify all.sha "the replace of disk 1"
tfs_umount

step "replace disk 3 (mounted) with a chunk that fails its checksum: listed, the rest copied"
bad=${on1[0]}
loc=$("$DEBUG" locate "$TFS_META" "/$bad" 0) || fail "locate /$bad"
file=$(awk '$1 == "file" { print $2 }' <<<"$loc")
off=$(awk '$1 == "offset" { print $2 }' <<<"$loc")
b=$(od -An -tu1 -j $((off + 100)) -N1 "$file" | tr -d ' ')
printf "\\$(printf '%03o' $((255 - b)))" | dd of="$file" bs=1 seek=$((off + 100)) conv=notrunc status=none
mkdir "$T/new3"
tfs_mount
rc=0
"$DISK" replace "$TFS_META" 3 "$T/new3" >"$T/rep3.out" 2>"$T/rep3.err" || rc=$?
cat "$T/rep3.out" "$T/rep3.err"
[ "$rc" = 1 ] || fail "a replace that met a bad chunk exited $rc, not 1"
grep -q "lost: /$bad	inode [0-9]*	offset 0	" "$T/rep3.err" || fail "/$bad (bad chunk) is not listed"
check_eq "$(grep -c 'lost:' "$T/rep3.err")" 1 "stretches listed as lost"
grep -v "  $bad\$" "$T/all.sha" >"$T/good.sha"
verify good.sha "the replace of disk 3"
rm "$TFS_MNT/$bad" "$T/names/$bad"
mv "$T/good.sha" "$T/all.sha"
"$DISK" drain "$TFS_META" 3 >"$T/drain3.out" 2>&1 || {
	cat "$T/drain3.out" >&2
	fail "drain of disk 3 after its bad file was deleted"
}
tfs_umount
tfs_fsck
mapfile -t on2 < <(files_on 2)

step "disk 2's directory gone: replace it through the daemon, its files listed as lost"
mv "$T/disk2" "$T/disk2.away"
mkdir "$T/new2"
tfs_mount
rc=0
"$DISK" replace "$TFS_META" 2 "$T/new2" >"$T/rep2.out" 2>"$T/rep2.err" || rc=$?
cat "$T/rep2.out" "$T/rep2.err"
[ "$rc" = 1 ] || fail "a replace of a missing disk exited $rc, not 1"
for f in "${on2[@]}"; do
	grep -q "lost: /$f	" "$T/rep2.err" || fail "/$f (on the missing disk) is not listed as lost"
	expect_fail "read of /$f, lost with the missing disk" cat "$TFS_MNT/$f"
done
pat=$(
	IFS='|'
	echo "${on2[*]}"
)
grep -v -E "  ($pat)\$" "$T/all.sha" >"$T/rest.sha"
check_eq "$(wc -l <"$T/rest.sha")" $(($(wc -l <"$T/all.sha") - ${#on2[@]})) "files off the missing disk"
verify rest.sha "the replace of the missing disk 2"
head -c 100000 /dev/urandom >"$TFS_MNT/after"
tfs_umount
d=$(disk_of /after 0)
[ "$d" = 2 ] && fail "a file written after the replace went to the replaced disk 2"

step "disk 2 back: a drain takes what is left; every byte verifies, fsck clean"
mv "$T/disk2.away" "$T/disk2"
"$DISK" drain "$TFS_META" 2 >"$T/drain2.out" 2>&1 || {
	cat "$T/drain2.out" >&2
	fail "drain of disk 2 once back"
}
tfs_fsck
tfs_mount
verify all.sha "disk 2 came back and was drained"
tfs_umount
echo "PASS"
