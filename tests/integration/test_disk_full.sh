#!/usr/bin/env bash
# Full data disks (issue 8, points 3 and 6): over ext4 loop disks made with
# -m 0 and with the default root reserve, tmpfs disks of different sizes and
# two disk directories on one host filesystem, writers that check every
# return code fill the volume. Required: a large file spills over to another
# disk instead of failing; ENOSPC only when no disk can hold the write (the
# pool is then full, by the host filesystems' own count); statfs and
# `trackfs status` count each host filesystem once; every file whose write,
# fsync and close succeeded reads back byte for byte after a remount; a
# failed overwrite leaves old or new bytes, never zeros; the daemon serves
# reads while full; deletes make space reusable; fsck --scrub is clean; and
# after kill -9 on full disks the volume mounts read-write and fsck --repair
# works. The metadata directory lives elsewhere (a full metadata filesystem
# is another test).
source "$(dirname "$0")/lib.sh"
tfs_require python3 mkfs.ext4 losetup sha256sum stat
W="$(dirname "$0")/disk_full_writer.py"
STATUS="$TRACKFS_BIN_DIR/fs/fuse/trackfs"
MIB=$((1 << 20))
# TFS_DF_CASES="1 3" runs only those cases (all four by default).
DF_CASES=" ${TFS_DF_CASES:-1 2 3 4} "

TFS_TMP=$(mktemp -d /tmp/trackfs-it.XXXXXX)
chmod 755 "$TFS_TMP"
TFS_MNT="$TFS_TMP/mnt"
mkdir -p "$TFS_MNT"
DF_MOUNTS=()
DF_LOOPS=()

df_cleanup() {
	local rc=$? i
	set +e
	if mountpoint -q "$TFS_MNT" 2>/dev/null; then
		fusermount3 -u "$TFS_MNT" 2>/dev/null || fusermount3 -uz "$TFS_MNT" 2>/dev/null
	fi
	if [ -n "$TFS_PID" ] && kill -0 "$TFS_PID" 2>/dev/null; then
		kill "$TFS_PID" 2>/dev/null
		for _ in $(seq 50); do
			kill -0 "$TFS_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$TFS_PID" 2>/dev/null
	fi
	for ((i = ${#DF_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount "${DF_MOUNTS[i]}" 2>/dev/null || umount -l "${DF_MOUNTS[i]}"
	done
	for i in "${DF_LOOPS[@]}"; do
		losetup -d "$i"
	done
	tfs_teardown "$rc"
}
trap df_cleanup EXIT
# A command that fails outside fail() says which, before set -e ends the test.
set -E
trap '[[ $BASH_COMMAND == exit* ]] ||
	echo "FAIL: [$TFS_STEP] line $LINENO: \"$BASH_COMMAND\" failed" >&2' ERR

# df_tmpfs NAME MIB: a tmpfs of MIB MiB at $TFS_TMP/fs/NAME (in DF_PATH).
df_tmpfs() {
	DF_PATH="$TFS_TMP/fs/$1"
	mkdir -p "$DF_PATH"
	mount -t tmpfs -o "size=$2m" tmpfs "$DF_PATH"
	DF_MOUNTS+=("$DF_PATH")
}

# df_ext4 NAME MIB [mkfs.ext4 options]: an ext4 on a loop device of its own.
df_ext4() {
	local name=$1 mib=$2 dev
	shift 2
	DF_PATH="$TFS_TMP/fs/$name"
	mkdir -p "$DF_PATH"
	truncate -s "${mib}M" "$TFS_TMP/$name.img"
	dev=$(losetup -f --show "$TFS_TMP/$name.img")
	DF_LOOPS+=("$dev")
	mkfs.ext4 -q -F "$@" "$dev" >/dev/null
	mount "$dev" "$DF_PATH"
	DF_MOUNTS+=("$DF_PATH")
}

# df_volume NAME DISKDIR...: a fresh volume over those disks, its metadata
# directory on the root filesystem; TFS_META names it.
df_volume() {
	local name=$1 args=() d
	shift
	for d in "$@"; do
		args+=(--disk "$d")
	done
	TFS_META="$TFS_TMP/$name-meta"
	"$TFS_MKFS" "${args[@]}" --meta "$TFS_META" --label "$name" >"$TFS_TMP/$name-mkfs.log" 2>&1 ||
		{
			cat "$TFS_TMP/$name-mkfs.log" >&2
			fail "mkfs.trackfs failed"
		}
	DF_DISKS=("$@")
	DF_LOG="$TFS_TMP/$name.files" # the writers' logs: $DF_LOG.*
}

# The bytes the host filesystems of the disks can still take, each counted once.
host_avail() {
	local d seen=" " dev total=0
	for d in "${DF_DISKS[@]}"; do
		dev=$(stat -c %d "$d")
		case "$seen" in *" $dev "*) continue ;; esac
		seen="$seen$dev "
		total=$((total + $(stat -f -c '%a * %S' "$d")))
	done
	echo "$total"
}

mnt_free() {
	echo $(($(stat -f -c '%f * %S' "$TFS_MNT")))
}

daemon_alive() {
	kill -0 "$TFS_PID" 2>/dev/null || fail "the daemon died (log: $TFS_LOG)"
	mountpoint -q "$TFS_MNT" || fail "$TFS_MNT is no longer mounted"
}

# verify: every file the writers logged reads back; DF_CRASHED=1 after a
# kill -9, when files whose removal was not yet committed may be back.
verify() {
	local log flag=()
	[ "${DF_CRASHED:-0}" = 1 ] && flag=(--crashed)
	for log in "$DF_LOG".*; do
		python3 "$W" verify "$TFS_MNT/f" "$log" "${flag[@]}" ||
			fail "files reported written do not read back ($log)"
	done
}

# fill SEED [WRITERS]: fill to ENOSPC with WRITERS (default 1) writers at
# once, each with a log of its own; DF_WRITTEN gets the bytes they wrote.
fill() {
	local seed=$1 n=${2:-1} i out pids=()
	for i in $(seq "$n"); do
		python3 "$W" fill "$TFS_MNT/f" "$DF_LOG.$seed-$i" "s$seed-$i" "$((seed * 100 + i))" \
			>"$TFS_TMP/fill.$i" &
		pids+=($!)
	done
	DF_WRITTEN=0
	for i in $(seq "$n"); do
		wait "${pids[i - 1]}" || fail "a writer saw an error other than ENOSPC"
		out=$(cat "$TFS_TMP/fill.$i")
		echo "writer $i: $out"
		DF_WRITTEN=$((DF_WRITTEN + $(awk '{print $2}' <<<"$out")))
	done
}

# check_full SEED AVAIL: after fill SEED the pool must really be full: what
# the host filesystems had free (AVAIL, at the start) was written, less SLACK
# bytes (track headers, the host filesystem's own metadata, the last small
# file).
check_full() {
	local seed=$1 avail=$2 total slack
	total=$(cat "$DF_LOG.$seed"-* | awk '{n += $3} END {print n + 0}')
	slack=$((avail / 50 + ${#DF_DISKS[@]} * MIB))
	[ "$total" -ge $((avail - slack)) ] ||
		fail "ENOSPC with room left: $total bytes written of $avail the disks had free"
	[ "$(mnt_free)" -le "$slack" ] ||
		fail "statfs still shows $(mnt_free) bytes free after ENOSPC"
}

# The figures statfs and `trackfs status` give before anything is written:
# each host filesystem's free space, once, less one track header per disk.
check_statfs_fresh() {
	local avail free status_free
	avail=$(host_avail)
	free=$(mnt_free)
	[ "$free" -le "$avail" ] || fail "statfs shows $free bytes free, the disks have only $avail"
	[ "$free" -ge $((avail - ${#DF_DISKS[@]} * MIB)) ] ||
		fail "statfs shows $free bytes free, the disks have $avail"
	status_free=$("$STATUS" status "$TFS_META" | awk '$1 == "total" {print $4}')
	status_free=$((status_free * 4096))
	[ "$status_free" -le "$avail" ] ||
		fail "trackfs status shows $status_free bytes free, the disks have only $avail"
	[ "$status_free" -ge $((avail - ${#DF_DISKS[@]} * MIB)) ] ||
		fail "trackfs status shows $status_free bytes free, the disks have $avail"
}

# The common part of every case, on a mounted fresh volume.
full_cycle() {
	local seed=$1 avail freed
	DF_CRASHED=0
	avail=$(host_avail)
	step "$DF_CASE: fill the volume until ENOSPC (3 writers at once, every return code checked)"
	fill "$seed" 3
	check_full "$seed" "$avail"
	daemon_alive
	step "$DF_CASE: full: the daemon still serves reads; an overwrite fails cleanly"
	verify
	local logs=("$DF_LOG.$seed"-*)
	local first=${logs[0]}
	python3 "$W" overwrite "$TFS_MNT/f" "$first" "$(awk 'NR == 1 {print $1}' "$first")" \
		"$seed" || fail "an overwrite on a full volume left wrong bytes"
	touch "$TFS_MNT/empty-on-full" || fail "creating an empty file on full data disks failed"
	daemon_alive
	step "$DF_CASE: deletes make the space reusable"
	freed=$(python3 "$W" drop "$TFS_MNT/f" "$first" 3) || fail "deleting files failed"
	# The first syncfs reports the ENOSPC of the writes that failed (nobody
	# has seen the filesystem's error yet: errseq); the next must succeed.
	sync -f "$TFS_MNT" 2>/dev/null || sync -f "$TFS_MNT" ||
		fail "syncfs keeps failing after deletes made room"
	fill $((seed + 1))
	[ "$DF_WRITTEN" -ge $((freed - freed / 20 - MIB)) ] ||
		fail "only $DF_WRITTEN of the $freed bytes freed by deletes could be written again"
	step "$DF_CASE: remount: every file reads back, fsck --scrub is clean"
	tfs_umount
	"$TFS_FSCK" --scrub "$TFS_META" >"$TFS_TMP/fsck.out" 2>&1 ||
		{
			cat "$TFS_TMP/fsck.out" >&2
			fail "fsck.trackfs --scrub found problems after a clean unmount"
		}
	tfs_mount
	verify
	step "$DF_CASE: kill -9 on full disks; the volume mounts read-write again"
	fill $((seed + 2))
	kill -9 "$TFS_PID"
	wait "$TFS_PID" 2>/dev/null || true
	TFS_PID=""
	DF_CRASHED=1
	for _ in $(seq 100); do
		mountpoint -q "$TFS_MNT" || break
		sleep 0.1
	done
	tfs_mount
	grep -q "rebuil" "$TFS_LOG" || fail "the mount after kill -9 did not recover"
	touch "$TFS_MNT/after-crash" || fail "the volume did not mount read-write after the crash"
	verify
	step "$DF_CASE: kill -9 again; fsck --repair rebuilds on the full disks"
	kill -9 "$TFS_PID"
	wait "$TFS_PID" 2>/dev/null || true
	TFS_PID=""
	for _ in $(seq 100); do
		mountpoint -q "$TFS_MNT" || break
		sleep 0.1
	done
	local rc=0
	"$TFS_FSCK" --repair "$TFS_META" >"$TFS_TMP/fsck.out" 2>&1 || rc=$?
	if [ "$rc" -gt 1 ]; then
		cat "$TFS_TMP/fsck.out" >&2
		fail "fsck.trackfs --repair failed (exit $rc) after a crash on full disks"
	fi
	"$TFS_FSCK" --scrub "$TFS_META" >"$TFS_TMP/fsck.out" 2>&1 ||
		{
			cat "$TFS_TMP/fsck.out" >&2
			fail "fsck.trackfs --scrub found problems after fsck --repair"
		}
	tfs_mount
	verify
	tfs_umount
}

want_case() {
	case "$DF_CASES" in *" $1 "*) return 0 ;; esac
	return 1
}

if want_case 1; then
DF_CASE="ext4 -m 0 (96 MiB) + tmpfs (32 MiB)"
step "$DF_CASE: create"
df_ext4 e0 96 -m 0
mkdir "$DF_PATH/disk"
a="$DF_PATH/disk"
df_tmpfs t32 32
mkdir "$DF_PATH/disk"
df_volume c1 "$a" "$DF_PATH/disk"
tfs_mount
check_statfs_fresh
step "$DF_CASE: cp of 100 MiB fills the ext4 disk and goes on on the tmpfs disk"
head -c $((100 * MIB)) /dev/urandom >"$TFS_TMP/src100"
mkdir "$TFS_MNT/f"
cp "$TFS_TMP/src100" "$TFS_MNT/big" || fail "cp of 100 MiB failed with 128 MiB of disks"
cmp "$TFS_TMP/src100" "$TFS_MNT/big" || fail "the 100 MiB copy reads back wrong"
big_sum=$(sha256sum <"$TFS_TMP/src100")
rm -f "$TFS_TMP/src100"
full_cycle 1
tfs_mount
check_eq "$(sha256sum <"$TFS_MNT/big")" "$big_sum" "the 100 MiB copy after remounts"
tfs_umount
fi

if want_case 2; then
DF_CASE="ext4 with the default reserve (64 MiB) + tmpfs (16 MiB)"
step "$DF_CASE: create"
df_ext4 e5 64 -b 4096
mkdir "$DF_PATH/disk"
a="$DF_PATH/disk"
df_tmpfs t16 16
mkdir "$DF_PATH/disk"
df_volume c2 "$a" "$DF_PATH/disk"
tfs_mount
check_statfs_fresh
# More than the ext4 disk can take short of its reserve, less than both.
n=$(($(stat -f -c '%a * %S' "$a") / MIB + 8))
step "$DF_CASE: cp of $n MiB fills the ext4 disk up to its reserve and goes on on the tmpfs disk"
head -c $((n * MIB)) /dev/urandom >"$TFS_TMP/src"
cp "$TFS_TMP/src" "$TFS_MNT/big" ||
	fail "cp of $n MiB failed with $(($(host_avail) / MIB)) MiB free on the disks"
cmp "$TFS_TMP/src" "$TFS_MNT/big" || fail "the $n MiB copy reads back wrong"
rm -f "$TFS_TMP/src" "$TFS_MNT/big"
mkdir "$TFS_MNT/f"
full_cycle 10
fi

if want_case 3; then
DF_CASE="tmpfs disks of 64, 256 and 128 MiB"
step "$DF_CASE: create"
df_tmpfs t64 64
mkdir "$DF_PATH/disk"
a="$DF_PATH/disk"
df_tmpfs t256 256
mkdir "$DF_PATH/disk"
b="$DF_PATH/disk"
df_tmpfs t128 128
mkdir "$DF_PATH/disk"
df_volume c3 "$a" "$b" "$DF_PATH/disk"
tfs_mount
check_statfs_fresh
mkdir "$TFS_MNT/f"
step "$DF_CASE: an 80 MiB dd conv=fsync on the disk with the most room (64 MiB) goes on elsewhere"
# 200 MiB go to the 256 MiB disk, 70 MiB to the 128 MiB one: the 64 MiB disk
# then has the most room, and the 80 MiB must spill over from it.
python3 "$W" fill "$TFS_MNT/f" "$DF_LOG.0" s0 7 --max 200 --sizes 200 >/dev/null ||
	fail "writing 200 MiB failed"
python3 "$W" fill "$TFS_MNT/f" "$DF_LOG.0" s0b 8 --max 70 --sizes 70 >/dev/null ||
	fail "writing 70 MiB failed"
head -c $((80 * MIB)) /dev/urandom >"$TFS_TMP/src80"
dd if="$TFS_TMP/src80" of="$TFS_MNT/dd80" bs=1M conv=fsync status=none ||
	fail "dd conv=fsync of 80 MiB failed with 448 MiB of disks"
cmp "$TFS_TMP/src80" "$TFS_MNT/dd80" || fail "the 80 MiB dd reads back wrong"
rm -f "$TFS_TMP/src80" "$TFS_MNT/dd80"
full_cycle 20
fi

if want_case 4; then
DF_CASE="two disk directories on one ext4 (128 MiB, -m 0)"
step "$DF_CASE: create"
df_ext4 shared 128 -m 0 -b 4096
mkdir "$DF_PATH/d1" "$DF_PATH/d2"
df_volume c4 "$DF_PATH/d1" "$DF_PATH/d2"
tfs_mount
step "$DF_CASE: statfs and trackfs status count the shared filesystem once"
check_statfs_fresh
mkdir "$TFS_MNT/f"
full_cycle 30
fi
