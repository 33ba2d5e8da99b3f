#!/usr/bin/env bash
# fsck.trackfs and the engine against damaged volumes (issue 2's bad input):
# a chunk with flipped bits, a truncated track, a corrupted track header, a
# missing disk, another volume's disk in place of ours, a garbage, truncated or
# empty index, an unclean shutdown, a volume in use. Each must give a clear message naming
# what is wrong, the documented exit code, and no crash.
set -u
bin="${TRACKFS_BIN_DIR:-build}/tools"
tmp=$(mktemp -d /tmp/trackfs-tools-fsck.XXXXXX)
lockpid=
trap '[ -n "$lockpid" ] && kill "$lockpid" 2>/dev/null; rm -rf "$tmp"' EXIT
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}
# expect CODE DESCRIPTION -- COMMAND...: run, keep stdout+stderr in $out.
expect() {
	local want=$1 what=$2
	shift 3
	out=$("$@" 2>&1)
	local got=$?
	if [ "$got" -ne "$want" ]; then
		fail "$what: exit $got, expected $want; output:"
		printf '%s\n' "$out" >&2
	fi
}
contains() {
	local what=$1 pattern=$2
	if ! printf '%s\n' "$out" | grep -Eq -- "$pattern"; then
		fail "$what: output lacks /$pattern/; output:"
		printf '%s\n' "$out" >&2
	fi
}
no_crash() {
	# A sanitizer report or a signal means a crash, whatever the exit code.
	if printf '%s\n' "$out" | grep -Eq 'AddressSanitizer|runtime error|Segmentation'; then
		fail "$1: crashed; output:"
		printf '%s\n' "$out" >&2
	fi
}
# A fresh volume in $tmp/$1 (meta apart from the disks, so that removing a
# disk keeps the metadata) with a few files; $vol is its metadata dir.
setup() {
	local v="$tmp/$1"
	mkdir -p "$v/d1" "$v/d2"
	"$bin/mkfs.trackfs" --meta "$v/meta" --disk "$v/d1" --disk "$v/d2" --label "$1" \
		>/dev/null || { fail "mkfs in $v"; return 1; }
	vol="$v/meta"
	head -c 100000 /dev/urandom >"$v/a.data"
	head -c 1048576 /dev/urandom >"$v/b.data"
	printf 'small\n' >"$v/c.data"
	"$bin/trackfs-debug" put "$vol" /dir/a <"$v/a.data" || fail "put /dir/a in $v"
	"$bin/trackfs-debug" put "$vol" /b <"$v/b.data" || fail "put /b in $v"
	"$bin/trackfs-debug" put "$vol" /dir/sub/c <"$v/c.data" || fail "put /dir/sub/c in $v"
}
# locate VOL PATH OFFSET: sets loc_file, loc_offset, loc_disk, loc_track.
locate() {
	local l
	l=$("$bin/trackfs-debug" locate "$1" "$2" "$3") || { fail "locate $2 $3"; return 1; }
	loc_file=$(printf '%s\n' "$l" | awk '$1 == "file" { print $2 }')
	loc_offset=$(printf '%s\n' "$l" | awk '$1 == "offset" { print $2 }')
	loc_disk=$(printf '%s\n' "$l" | awk '$1 == "disk" { print $3 }')
	loc_track=$(printf '%s\n' "$l" | awk '$1 == "track" { print $2 }')
}
# flip FILE OFFSET: invert one byte in place.
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf '%03o' $((255 - b)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# ---- a clean volume ----------------------------------------------------------
setup clean || exit 1
expect 0 "fsck of a populated volume" -- "$bin/fsck.trackfs" "$vol"
contains "fsck counts the inodes" "inodes"
expect 0 "fsck --scrub of a populated volume" -- "$bin/fsck.trackfs" --scrub "$vol"
"$bin/trackfs-debug" get "$vol" /b >"$tmp/clean/b.out" || fail "get /b"
cmp -s "$tmp/clean/b.data" "$tmp/clean/b.out" || fail "get /b returned other bytes"
expect 0 "ls /dir" -- "$bin/trackfs-debug" ls "$vol" /dir
contains "ls shows sub" " sub$"

# The volume in use: fsck and status name the holder.
flock "$vol/lock" sleep 30 &
lockpid=$!
sleep 0.5
expect 8 "fsck of a locked volume" -- "$bin/fsck.trackfs" "$vol"
contains "fsck says it is in use" "in use"
expect 1 "status of a locked volume" -- "$bin/trackfs-status" "$vol"
contains "status says it is in use" "in use"
kill "$lockpid" 2>/dev/null
wait "$lockpid" 2>/dev/null
lockpid=

# ---- flipped bits in a chunk -------------------------------------------------
setup flip || exit 1
locate "$vol" /b 8192
flip "$loc_file" $((loc_offset + 100))
expect 1 "get of a file with a bad chunk" -- "$bin/trackfs-debug" get "$vol" /b
contains "the read error names the file by path" "read of /b \(inode [0-9]+\) at offset 8192: chunk checksum mismatch on disk"
contains "get reports EIO" "Input/output error"
no_crash "get of a bad chunk"
expect 0 "fsck without --scrub does not read data" -- "$bin/fsck.trackfs" "$vol"
expect 4 "fsck --scrub finds the bad chunk" -- "$bin/fsck.trackfs" --scrub "$vol"
contains "scrub names the file and offset" "file /b \(inode [0-9]+\) offset 8192: checksum mismatch"
contains "scrub names the disk" "on disk $loc_disk track $loc_track chunk"
expect 4 "fsck --scrub --repair cannot fix data" -- "$bin/fsck.trackfs" --scrub --repair "$vol"
"$bin/trackfs-debug" get "$vol" /dir/a >"$tmp/flip/a.out" || fail "get /dir/a next to a bad chunk"
cmp -s "$tmp/flip/a.data" "$tmp/flip/a.out" || fail "/dir/a changed"

# ---- a truncated track file ----------------------------------------------------
setup trunc || exit 1
locate "$vol" /b 0
truncate -s 4096 "$loc_file"
expect 1 "get from a truncated track" -- "$bin/trackfs-debug" get "$vol" /b
no_crash "get from a truncated track"
contains "get reports EIO" "Input/output error"
expect 4 "fsck --scrub of a truncated track" -- "$bin/fsck.trackfs" --scrub "$vol"
no_crash "fsck of a truncated track"
contains "fsck names the file" "file /b "

# ---- a corrupted track header ------------------------------------------------------
setup hdr || exit 1
locate "$vol" /b 0
printf 'garbage!garbage!' | dd of="$loc_file" bs=1 seek=0 conv=notrunc status=none
expect 4 "fsck of a corrupted track header" -- "$bin/fsck.trackfs" "$vol"
no_crash "fsck of a corrupted header"
contains "fsck names the track file" "$(basename "$loc_file")"
expect 1 "get through a corrupted track header" -- "$bin/trackfs-debug" get "$vol" /b
contains "get reports EIO" "Input/output error"
expect 4 "fsck --repair keeps the extents of a bad track" -- "$bin/fsck.trackfs" --repair "$vol"
no_crash "fsck --repair of a corrupted header"

# ---- a missing disk ----------------------------------------------------------------
setup missing || exit 1
locate "$vol" /b 0
mv "$loc_disk" "$loc_disk.away"
expect 4 "fsck with a missing disk" -- "$bin/fsck.trackfs" "$vol"
contains "fsck names the missing disk" "$loc_disk.*missing|missing.*$loc_disk"
expect 1 "status with a missing disk" -- "$bin/trackfs-status" "$vol"
contains "status flags the disk" "MISSING"
expect 1 "get of a file on the missing disk" -- "$bin/trackfs-debug" get "$vol" /b
contains "get reports EIO" "Input/output error"
no_crash "get from a missing disk"
mv "$loc_disk.away" "$loc_disk"
expect 0 "fsck once the disk is back" -- "$bin/fsck.trackfs" --scrub "$vol"

# ---- another volume's disk in place of ours ---------------------------------------------
setup swap || exit 1
setup other || exit 1
mv "$tmp/swap/d2" "$tmp/swap/d2.orig"
cp -a "$tmp/other/d2" "$tmp/swap/d2"
expect 8 "fsck with a foreign disk" -- "$bin/fsck.trackfs" "$tmp/swap/meta"
contains "fsck names the foreign disk" "$tmp/swap/d2"
uuids=$(printf '%s\n' "$out" | grep -Eo '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}' |
	sort -u | wc -l)
[ "$uuids" -ge 2 ] || fail "the foreign-disk message should name both UUIDs: $out"
expect 1 "status with a foreign disk" -- "$bin/trackfs-status" "$tmp/swap/meta"
contains "status names the foreign disk" "$tmp/swap/d2"
no_crash "foreign disk"

# ---- a garbage index ------------------------------------------------------------------
setup garbage || exit 1
mdb=$(find "$vol" -name data.mdb | head -n1)
[ -n "$mdb" ] || fail "no data.mdb under $vol"
head -c 1048576 /dev/urandom >"$mdb"
expect 8 "fsck of a garbage index" -- "$bin/fsck.trackfs" "$vol"
contains "fsck names the index" "$(dirname "$mdb")"
no_crash "fsck of a garbage index"
expect 1 "status of a garbage index" -- "$bin/trackfs-status" "$vol"
no_crash "status of a garbage index"

# ---- a truncated or empty index ----------------------------------------------------
# LMDB maps the whole file: cut short, the first read of a page past its end
# was a SIGBUS in every tool. Each must refuse with the documented error and
# leave the file as it was.
setup truncated || exit 1
for i in $(seq 300); do printf 'f%s\n' "$i"; done | while read -r name; do
	printf '%s' "$name" | "$bin/trackfs-debug" put "$vol" "/many/$name" || exit 1
done || fail "put many small files"
mdb=$(find "$vol" -name data.mdb | head -n1)
cp "$mdb" "$tmp/truncated/data.mdb.whole"
full=$(stat -c %s "$mdb")
for cut in $((full / 2)) $((full * 3 / 4)) 0; do
	cp "$tmp/truncated/data.mdb.whole" "$mdb"
	truncate -s "$cut" "$mdb"
	sum=$(sha256sum <"$mdb")
	what="index cut to $cut of $full bytes"
	expect 8 "fsck of an $what" -- "$bin/fsck.trackfs" "$vol"
	contains "fsck of an $what names the file" "data.mdb is"
	expect 8 "fsck --repair of an $what" -- "$bin/fsck.trackfs" --repair "$vol"
	out=$("$bin/trackfs-debug" ls "$vol" / 2>&1)
	rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] || fail "trackfs-debug ls of an $what: exit $rc"
	expect 1 "status of an $what" -- "$bin/trackfs-status" "$vol"
	mkdir -p "$tmp/truncated/mnt"
	out=$(timeout 20 "${TRACKFS_BIN_DIR:-build}/fs/fuse/trackfs" -f "$vol" "$tmp/truncated/mnt" 2>&1)
	rc=$?
	if mountpoint -q "$tmp/truncated/mnt"; then
		fusermount3 -u "$tmp/truncated/mnt"
		fail "the daemon mounted an $what"
	fi
	[ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] || fail "the daemon on an $what: exit $rc, want an error"
	printf '%s\n' "$out" | grep -q "data.mdb is" || fail "the daemon on an $what: unclear: $out"
	[ "$(sha256sum <"$mdb")" = "$sum" ] || fail "opening an $what changed the file"
done
cp "$tmp/truncated/data.mdb.whole" "$mdb"
expect 0 "fsck of the whole index again" -- "$bin/fsck.trackfs" "$vol"

# ---- an unclean shutdown ------------------------------------------------------------------
setup unclean || exit 1
head -c 300000 /dev/urandom >"$tmp/unclean/x.data"
"$bin/trackfs-debug" put --crash-after "$vol" /x <"$tmp/unclean/x.data"
# Stale free lists are an error only if they disagree with the index (exit 4);
# if they agree, fsck only reports the unclean shutdown (exit 0).
out=$("$bin/fsck.trackfs" "$vol" 2>&1)
rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 4 ] || fail "fsck of an unclean volume: exit $rc: $out"
contains "fsck reports the unclean shutdown" "not shut down cleanly"
expect 1 "fsck --repair of an unclean volume" -- "$bin/fsck.trackfs" --repair "$vol"
contains "repair rebuilds the free lists" "rebuilt the free lists"
expect 0 "fsck after the repair" -- "$bin/fsck.trackfs" --scrub "$vol"
"$bin/trackfs-debug" get "$vol" /x >"$tmp/unclean/x.out" || fail "get /x after repair"
cmp -s "$tmp/unclean/x.data" "$tmp/unclean/x.out" || fail "/x (fsynced before the crash) differs"

if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed" >&2
	exit 1
fi
echo "test_tools_fsck: all checks passed"
