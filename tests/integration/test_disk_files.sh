#!/usr/bin/env bash
# `trackfs disk files VOLUME DISK` (issue 9): the files living only on a disk
# and those spanning it and another, named by path, on an unmounted volume
# (opened read-only) and on a mounted one (asked of the daemon); a name with
# a newline stays one escaped line; a bad disk and bad usage exit 1 and 2.
source "$(dirname "$0")/lib.sh"
DISK="$TRACKFS_BIN_DIR/tools/trackfs-disk"
MIB=$((1 << 20))

TFS_TMP=$(mktemp -d /tmp/trackfs-it.XXXXXX)
chmod 755 "$TFS_TMP"
TFS_MNT="$TFS_TMP/mnt"
mkdir -p "$TFS_MNT"
DF_MOUNTS=()
df_cleanup() {
	local rc=$? i
	set +e
	if mountpoint -q "$TFS_MNT" 2>/dev/null; then
		fusermount3 -u "$TFS_MNT" 2>/dev/null || fusermount3 -uz "$TFS_MNT" 2>/dev/null
	fi
	if [ -n "$TFS_PID" ] && kill -0 "$TFS_PID" 2>/dev/null; then
		kill "$TFS_PID" 2>/dev/null
		sleep 1
		kill -9 "$TFS_PID" 2>/dev/null
	fi
	for ((i = ${#DF_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount "${DF_MOUNTS[i]}" 2>/dev/null || umount -l "${DF_MOUNTS[i]}"
	done
	tfs_teardown "$rc"
}
trap df_cleanup EXIT
df_tmpfs() {
	mkdir -p "$TFS_TMP/fs/$1"
	mount -t tmpfs -o "size=$2m" tmpfs "$TFS_TMP/fs/$1"
	DF_MOUNTS+=("$TFS_TMP/fs/$1")
}

step "two 64 MiB disks, ff, 20 MiB reserve: a file on disk 0, one spanning, one on disk 1"
df_tmpfs a 64
df_tmpfs b 64
TFS_META="$TFS_TMP/meta"
"$TFS_MKFS" --disk "$TFS_TMP/fs/a/d" --disk "$TFS_TMP/fs/b/d" --meta "$TFS_META" \
	--placement ff --reserve 20M >"$TFS_TMP/mkfs.log" 2>&1 || fail "mkfs.trackfs"
tfs_mount
mkdir -p "$TFS_MNT/dir/sub"
head -c $((36 * MIB)) /dev/urandom >"$TFS_MNT/dir/sub/f1"
head -c $((12 * MIB)) /dev/urandom >"$TFS_MNT/f2" # crosses disk 0's reserve
head -c $((1 * MIB)) /dev/urandom >"$TFS_MNT/$(printf 'nl\nname')"
sync

check_files() { # $1: mounted or unmounted
	"$DISK" files "$TFS_META" 0 >"$TFS_TMP/files0.$1" || fail "disk files 0 ($1)"
	"$DISK" files "$TFS_META" 1 >"$TFS_TMP/files1.$1" || fail "disk files 1 ($1)"
	cat "$TFS_TMP/files0.$1" "$TFS_TMP/files1.$1"
	sed -n '/^Only on disk 0/,/^On disk 0 and/p' "$TFS_TMP/files0.$1" >"$TFS_TMP/only0"
	sed -n '/^On disk 0 and/,$p' "$TFS_TMP/files0.$1" >"$TFS_TMP/span0"
	grep -q ' /dir/sub/f1$' "$TFS_TMP/only0" || fail "$1: f1 not listed as only on disk 0"
	grep -q ' /f2$' "$TFS_TMP/span0" || fail "$1: f2 not listed as spanning disk 0"
	grep -q '^Only on disk 0: 1 files' "$TFS_TMP/files0.$1" || fail "$1: disk 0 count"
	sed -n '/^Only on disk 1/,/^On disk 1 and/p' "$TFS_TMP/files1.$1" >"$TFS_TMP/only1"
	sed -n '/^On disk 1 and/,$p' "$TFS_TMP/files1.$1" >"$TFS_TMP/span1"
	grep -qF ' /nl\nname' "$TFS_TMP/only1" || fail "$1: the newline name not escaped on disk 1"
	grep -q ' /f2$' "$TFS_TMP/span1" || fail "$1: f2 not listed as spanning disk 1"
}
step "disk files on the mounted volume (through the daemon)"
check_files mounted
tfs_umount
step "disk files on the unmounted volume (opened read-only)"
check_files unmounted
step "a disk path resolves; a bad disk exits 1, bad usage 2"
"$DISK" files "$TFS_META" "$TFS_TMP/fs/a/d" | grep -q ' /dir/sub/f1$' || fail "by path"
rc=0
"$DISK" files "$TFS_META" 7 2>"$TFS_TMP/err" || rc=$?
check_eq "$rc" 1 "exit status for a disk that does not exist"
rc=0
"$DISK" files "$TFS_META" 2>/dev/null || rc=$?
check_eq "$rc" 2 "exit status for a missing argument"
tfs_fsck
echo "PASS"
