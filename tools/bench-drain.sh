#!/usr/bin/env bash
# Benchmark of `trackfs disk drain` (issue 9): drain throughput against
# `cp -a` of the same data between the same two directories, and a
# foreground sequential read's speed with and without a drain running, in
# one run. Figures are printed, not judged.
#
#   tools/bench-drain.sh [--size 256M] [--dir /var/tmp/trackfs-bench-drain]
#
# Needs root (mounting, dropping caches). The data (SIZE of files, plus a
# file of SIZE/2 to read) is written with placement ff so that it all lies
# on disk 0, which is then drained onto disk 1 through the mounted daemon.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${TRACKFS_BIN_DIR:-$top/build}
size=256M
dir=/var/tmp/trackfs-bench-drain
while [ $# -gt 0 ]; do
	case $1 in
	--size) size=$2; shift 2 ;;
	--dir) dir=$2; shift 2 ;;
	-h | --help) sed -n '2,11p' "$0"; exit 0 ;;
	*) echo "bench-drain: unknown option $1" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "bench-drain: run as root (mounts, drops caches)" >&2; exit 2; }
mib=$(numfmt --from=iec "$size")
mib=$((mib >> 20))
[ "$mib" -ge 16 ] || { echo "bench-drain: --size must be at least 16M" >&2; exit 2; }
DAEMON=$build/fs/fuse/trackfs
MKFS=$build/tools/mkfs.trackfs
DISK=$build/tools/trackfs-disk
[ -x "$DAEMON" ] && [ -x "$DISK" ] || { echo "bench-drain: build first ($build)" >&2; exit 2; }

[ -e "$dir" ] && { echo "bench-drain: $dir exists; give a new --dir" >&2; exit 2; }
mkdir -p "$dir"
pid=""
cleanup() {
	set +e
	mountpoint -q "$dir/mnt" && fusermount3 -u "$dir/mnt"
	[ -n "$pid" ] && wait "$pid"
	rm -rf "$dir"
}
trap cleanup EXIT

now() { date +%s.%N; }
rate() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.1f", b / 1048576 / t }'; }
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
mount_vol() {
	"$DAEMON" -f "$dir/meta" "$dir/mnt" >>"$dir/daemon.log" 2>&1 &
	pid=$!
	for _ in $(seq 200); do mountpoint -q "$dir/mnt" && return 0; sleep 0.05; done
	echo "bench-drain: the mount did not come up ($dir/daemon.log)" >&2
	exit 1
}
umount_vol() { fusermount3 -u "$dir/mnt"; wait "$pid"; pid=""; }
# fresh: a new volume over d0 and d1 with the data on d0.
fresh() {
	mountpoint -q "$dir/mnt" && umount_vol
	rm -rf "$dir/meta" "$dir/d0" "$dir/d1"
	mkdir -p "$dir/d0" "$dir/d1" "$dir/mnt"
	"$MKFS" --meta "$dir/meta" --disk "$dir/d0" --disk "$dir/d1" --placement ff \
		--reserve 0 >/dev/null
	mount_vol
	local left=$mib n=0
	while [ "$left" -gt 0 ]; do
		local c=$((left > 64 ? 64 : left))
		head -c $((c << 20)) /dev/urandom >"$dir/mnt/data$n"
		left=$((left - c)) n=$((n + 1))
	done
	head -c $(((mib / 2) << 20)) /dev/urandom >"$dir/mnt/readme"
	umount_vol
}
# seq_read: MiB/s of a cold sequential read of the read file.
seq_read() {
	local t0 t1
	t0=$(now)
	dd if="$dir/mnt/readme" of=/dev/null bs=1M status=none
	t1=$(now)
	rate $(((mib / 2) << 20)) "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
}
# drain: seconds for the daemon to drain disk 0, the bytes moved on stdout.
drain_time() {
	local t0 t1
	t0=$(now)
	"$DISK" drain "$dir/meta" 0 >"$dir/drain.out" 2>&1 || {
		cat "$dir/drain.out" >&2
		exit 1
	}
	sync
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
}

echo "bench-drain: $mib MiB of files plus a $((mib / 2)) MiB file to read, in $dir" >&2
fresh
bytes=$(du -sb "$dir/d0" | awk '{ print $1 }')

# cp -a of disk 0's directory into disk 1's, as cold as the drain starts.
drop
t0=$(now)
cp -a "$dir/d0" "$dir/d1/cp"
sync
t1=$(now)
cp_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
rm -rf "$dir/d1/cp"

# The drain alone.
drop
mount_vol
drain_s=$(drain_time)
umount_vol

# The read alone, then the read with a drain running (a fresh volume).
fresh
drop
mount_vol
read_alone=$(seq_read)
umount_vol
drop
mount_vol
"$DISK" drain "$dir/meta" 0 >"$dir/drain2.out" 2>&1 &
dpid=$!
sleep 0.3
read_drain=$(seq_read)
wait "$dpid" || { cat "$dir/drain2.out" >&2; exit 1; }
umount_vol

moved=$(( (mib + mib / 2) << 20 ))
printf '%-44s %10s\n' "what" "MiB/s"
printf '%-44s %10s\n' "cp -a of disk 0's directory ($(numfmt --to=iec "$bytes"))" \
	"$(rate "$bytes" "$cp_s")"
printf '%-44s %10s\n' "trackfs disk drain of disk 0 (file bytes)" "$(rate "$moved" "$drain_s")"
printf '%-44s %10s\n' "sequential read, no drain" "$read_alone"
printf '%-44s %10s\n' "sequential read while disk 0 drains" "$read_drain"
awk -v c="$(rate "$bytes" "$cp_s")" -v d="$(rate "$moved" "$drain_s")" \
	-v a="$read_alone" -v r="$read_drain" 'BEGIN {
	printf "drain / cp -a: %.0f%% (goal 80%%); read during drain / alone: %.0f%% (goal 70%%)\n",
		100 * d / c, 100 * r / a }'
