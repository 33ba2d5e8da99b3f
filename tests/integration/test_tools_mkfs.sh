#!/usr/bin/env bash
# mkfs.trackfs: creates a volume over two directories and prints its UUID;
# refuses a non-empty directory and another volume's disk with a message
# naming the directory; --force overrides; bad chunk sizes are rejected;
# fsck.trackfs and trackfs-status accept the fresh volume.
set -u
bin="${TRACKFS_BIN_DIR:-build}/tools"
tmp=$(mktemp -d /tmp/trackfs-tools-mkfs.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
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
uuid_re='[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'

mkdir -p "$tmp/d1" "$tmp/d2"
expect 0 "mkfs over two disks" -- "$bin/mkfs.trackfs" --disk "$tmp/d1" --disk "$tmp/d2" --label t1
contains "mkfs prints the UUID" "UUID +$uuid_re"
contains "mkfs prints the metadata dir" "$tmp/d1/meta"
contains "mkfs prints each disk" "$tmp/d2"
contains "mkfs prints the chunk size" "chunk size +4 KiB"

expect 0 "fsck of a fresh volume" -- "$bin/fsck.trackfs" "$tmp/d1/meta"
contains "fsck says clean" "clean"
expect 0 "fsck -q of a fresh volume prints nothing" -- "$bin/fsck.trackfs" -q "$tmp/d1"
[ -z "$out" ] || fail "fsck -q printed: $out"
expect 0 "fsck --scrub of a fresh volume" -- "$bin/fsck.trackfs" --scrub "$tmp/d1/meta"
expect 0 "status of a fresh volume" -- "$bin/trackfs-status" "$tmp/d1/meta"
contains "status shows disk 2" "$tmp/d2"
contains "status shows totals" "total"
contains "status shows the label" '"t1"'

# A directory with a file in it.
mkdir -p "$tmp/full"
echo hello >"$tmp/full/keep.txt"
expect 1 "mkfs over a non-empty dir" -- "$bin/mkfs.trackfs" --disk "$tmp/full"
contains "non-empty dir is named" "$tmp/full"
contains "non-empty dir suggests --force" "--force"
[ -f "$tmp/full/keep.txt" ] || fail "mkfs removed a file from a directory it refused"

# A disk of another volume.
mkdir -p "$tmp/d3"
expect 1 "mkfs over another volume's disk" -- "$bin/mkfs.trackfs" --disk "$tmp/d3" --disk "$tmp/d2"
contains "foreign disk is named" "$tmp/d2"
contains "foreign disk suggests --force" "--force"
expect 0 "the refused volume still checks clean" -- "$bin/fsck.trackfs" "$tmp/d1/meta"

# --force reuses them.
expect 0 "mkfs --force over a non-empty dir" -- "$bin/mkfs.trackfs" --force --disk "$tmp/full"
contains "mkfs --force prints the UUID" "UUID +$uuid_re"
expect 0 "fsck after mkfs --force" -- "$bin/fsck.trackfs" "$tmp/full/meta"

# Sizes.
mkdir -p "$tmp/e1"
expect 2 "chunk size not a power of two" -- "$bin/mkfs.trackfs" --disk "$tmp/e1" --chunk-size 3000
contains "bad chunk size explained" "chunk size"
expect 2 "chunk size too large" -- "$bin/mkfs.trackfs" --disk "$tmp/e1" --chunk-size 8M
expect 2 "chunk size too small" -- "$bin/mkfs.trackfs" --disk "$tmp/e1" --chunk-size 1K
expect 2 "chunk size garbage" -- "$bin/mkfs.trackfs" --disk "$tmp/e1" --chunk-size 4Q
expect 0 "chunk size 64K, separate meta dir" -- "$bin/mkfs.trackfs" --disk "$tmp/e1" \
	--meta "$tmp/e1meta" --chunk-size 64K --max-track-size 1G
contains "64 KiB chunks reported" "64 KiB"
contains "separate meta dir reported" "$tmp/e1meta"
expect 0 "fsck of the 64K volume" -- "$bin/fsck.trackfs" "$tmp/e1meta"

# Usage errors.
expect 2 "mkfs without --disk" -- "$bin/mkfs.trackfs"
contains "mkfs without --disk says so" "--disk"
expect 0 "mkfs --help" -- "$bin/mkfs.trackfs" --help
mkdir -p "$tmp/novol"
expect 8 "fsck of a directory that is no volume" -- "$bin/fsck.trackfs" "$tmp/novol"

if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed" >&2
	exit 1
fi
echo "test_tools_mkfs: all checks passed"
