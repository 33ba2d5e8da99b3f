#!/usr/bin/env bash
# Benchmark of the mounted filesystem: the same workloads through a trackfs
# mount, in a plain ext4 directory and on a mergerfs pool of two directories,
# in one run, printed as a table with the ratio trackfs/ext4.
#
#   tools/bench-mount.sh [--size 2G] [--dir /var/tmp/trackfs-bench] [--quick] [--no-mergerfs]
#
# Needs root (mounting, dropping caches). Installs fio, mergerfs and ffmpeg
# from Debian's archive if they are missing. Progress goes to stderr on a
# terminal; the table goes to stdout.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${TRACKFS_BIN_DIR:-$top/build}
size=2G
dir=/var/tmp/trackfs-bench
quick=0
use_mergerfs=1
while [ $# -gt 0 ]; do
	case $1 in
	--size) size=$2; shift 2 ;;
	--dir) dir=$2; shift 2 ;;
	--quick) quick=1; size=64M; shift ;;
	--no-mergerfs) use_mergerfs=0; shift ;;
	-h | --help) sed -n '2,11p' "$0"; exit 0 ;;
	*) echo "bench-mount: unknown option $1" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "bench-mount: run as root (mounts and drops caches)" >&2; exit 2; }

need=()
command -v fio >/dev/null || need+=(fio)
command -v ffmpeg >/dev/null || need+=(ffmpeg)
[ "$use_mergerfs" = 1 ] && ! command -v mergerfs >/dev/null && need+=(mergerfs)
if [ "${#need[@]}" -gt 0 ]; then
	echo "bench-mount: installing ${need[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

say() { [ -t 2 ] && printf '\r\033[K%s' "$*" >&2 || true; }
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"; }
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

cleanup() {
	set +e
	for m in "$dir/tfs/mnt" "$dir/mfs/mnt"; do
		mountpoint -q "$m" 2>/dev/null && { fusermount3 -u "$m" || umount -l "$m"; }
	done
	sleep 0.5
	rm -rf "$dir"
}
trap cleanup EXIT
cleanup
mkdir -p "$dir"/{ext4,tfs/disk1,tfs/disk2,tfs/mnt,mfs/b1,mfs/b2,mfs/mnt,src}

say "creating the trackfs volume"
"$build/tools/mkfs.trackfs" --disk "$dir/tfs/disk1" --disk "$dir/tfs/disk2" --label bench >/dev/null
"$build/fs/fuse/trackfs" "$dir/tfs/disk1/meta" "$dir/tfs/mnt"
targets=(trackfs ext4)
declare -A path=([trackfs]="$dir/tfs/mnt" [ext4]="$dir/ext4")
if [ "$use_mergerfs" = 1 ]; then
	mergerfs -o cache.files=partial,dropcacheonclose=true,category.create=mfs,allow_other \
		"$dir/mfs/b1:$dir/mfs/b2" "$dir/mfs/mnt"
	targets+=(mergerfs)
	path[mergerfs]="$dir/mfs/mnt"
fi
for _ in $(seq 50); do mountpoint -q "$dir/tfs/mnt" && break; sleep 0.1; done

nsmall=20000
ntree=10000
[ "$quick" = 1 ] && { nsmall=2000; ntree=1000; }

say "preparing source trees and a video"
python3 - "$dir/src/tree" "$ntree" <<'PY'
import os, sys, random
top, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(1)
os.makedirs(os.path.join(top, "flat"))
# every file in one directory: cp -a copies them, ls -l lists all of them
for i in range(n):
    d = os.path.join(top, "flat")
    with open(os.path.join(d, f"f{i}"), "wb") as f:
        f.write(rng.randbytes(rng.randrange(0, 16384)))
PY
vsecs=60
[ "$quick" = 1 ] && vsecs=8
ffmpeg -loglevel error -f lavfi -i "testsrc2=size=1280x720:rate=30" -t "$vsecs" \
	-c:v libx264 -preset ultrafast -b:v 26M -maxrate 26M -bufsize 8M -g 60 "$dir/src/video.mp4"

declare -A res
fio_run() { # target name fio-args...
	local t=$1 name=$2
	shift 2
	fio --output-format=json --name="$name" --directory="${path[$t]}" --filename=big \
		--size="$size" --ioengine=psync "$@" >"$dir/fio.json" 2>/dev/null
}
fio_get() { # field: bw (MiB/s) or iops, of read or write
	python3 -c "
import json, sys
j = json.load(open('$dir/fio.json'))['jobs']
rw, what = sys.argv[1], sys.argv[2]
tot = sum(x[rw]['bw_bytes'] for x in j) / 1048576 if what == 'bw' else sum(x[rw]['iops'] for x in j)
print(f'{tot:.1f}')" "$1" "$2"
}

for t in "${targets[@]}"; do
	p=${path[$t]}
	say "$t: sequential write"
	fio_run "$t" seqw --rw=write --bs=1M --end_fsync=1
	res[$t,seqw]=$(fio_get write bw)
	say "$t: sequential read, cold cache"
	drop_caches
	fio_run "$t" seqr --rw=read --bs=1M --invalidate=0
	res[$t,seqr_cold]=$(fio_get read bw)
	say "$t: sequential read, warm cache"
	fio_run "$t" seqr --rw=read --bs=1M --invalidate=0
	res[$t,seqr_warm]=$(fio_get read bw)
	say "$t: 4 KiB random reads, 1 job"
	drop_caches
	fio_run "$t" rr1 --rw=randread --bs=4k --runtime=10 --time_based --invalidate=0
	res[$t,rr1]=$(fio_get read iops)
	say "$t: 4 KiB random reads, 4 jobs"
	fio_run "$t" rr4 --rw=randread --bs=4k --runtime=10 --time_based --numjobs=4 --invalidate=0
	res[$t,rr4]=$(fio_get read iops)
	rm -f "$p/big"

	say "$t: $nsmall small files"
	read -r c s r d < <(python3 - "$p/small" "$nsmall" <<'PY'
import os, sys, time
top, n = sys.argv[1], int(sys.argv[2])
os.makedirs(top)
data = b"x" * 4096
out = []
t = time.perf_counter()
for i in range(n):
    fd = os.open(f"{top}/f{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, data)
    os.close(fd)
out.append(n / (time.perf_counter() - t)); t = time.perf_counter()
for i in range(n):
    os.stat(f"{top}/f{i}")
out.append(n / (time.perf_counter() - t)); t = time.perf_counter()
for i in range(n):
    fd = os.open(f"{top}/f{i}", os.O_RDONLY)
    os.read(fd, 8192)
    os.close(fd)
out.append(n / (time.perf_counter() - t)); t = time.perf_counter()
for i in range(n):
    os.unlink(f"{top}/f{i}")
out.append(n / (time.perf_counter() - t))
print(" ".join(f"{x:.0f}" for x in out))
PY
)
	res[$t,create]=$c res[$t,stat]=$s res[$t,read]=$r res[$t,delete]=$d

	# One request to the filesystem and back, with nothing to do in
	# between (getxattr of a name that does not exist): what each of the
	# five requests of a small-file create costs at least.
	say "$t: round trip"
	res[$t,rtt]=$(python3 - "$p/rtt" <<'PY'
import os, sys, time
p = sys.argv[1]
open(p, "w").close()
n = 20000
t = time.perf_counter()
for _ in range(n):
    try:
        os.getxattr(p, "user.trackfs-bench-missing")
    except OSError:
        pass
print(f"{(time.perf_counter() - t) / n * 1e6:.1f}")
os.unlink(p)
PY
)

	say "$t: cp -a of a $ntree-file tree"
	drop_caches
	t0=$(now); cp -a "$dir/src/tree" "$p/tree"; sync; t1=$(now)
	res[$t,cp]=$(elapsed "$t0" "$t1")
	say "$t: ls -l of $ntree entries"
	ls -l "$p/tree/flat" >/dev/null
	t0=$(now); ls -l "$p/tree/flat" >/dev/null; t1=$(now)
	res[$t,ls]=$(elapsed "$t0" "$t1")

	say "$t: ffmpeg seek-and-copy"
	cp "$dir/src/video.mp4" "$p/video.mp4"
	drop_caches
	t0=$(now)
	for s in 1 $((vsecs / 4)) $((vsecs / 2)) $((vsecs * 3 / 4)); do
		ffmpeg -loglevel error -ss "$s" -i "$p/video.mp4" -t 3 -c copy -f null -
	done
	t1=$(now)
	res[$t,ffmpeg]=$(elapsed "$t0" "$t1")
	rm -rf "$p/tree" "$p/video.mp4" "$p/small"
done
say ""

rows=(
	"seqw|sequential write $size + fsync (MiB/s)|hi"
	"seqr_cold|sequential read, cold cache (MiB/s)|hi"
	"seqr_warm|sequential read, warm cache (MiB/s)|hi"
	"rr1|4 KiB random read, 1 job (IOPS)|hi"
	"rr4|4 KiB random read, 4 jobs (IOPS)|hi"
	"create|small files: create 4 KiB (files/s)|hi"
	"stat|small files: stat (files/s)|hi"
	"read|small files: read (files/s)|hi"
	"delete|small files: delete (files/s)|hi"
	"rtt|request round trip: getxattr (us)|lo"
	"cp|cp -a of $ntree files (s)|lo"
	"ls|ls -l of $ntree entries, warm (s)|lo"
	"ffmpeg|ffmpeg 4 seeks + 3 s copy each, cold (s)|lo"
)
printf '%-44s %12s %12s' "workload" "trackfs" "ext4"
[ "$use_mergerfs" = 1 ] && printf ' %12s' "mergerfs"
printf ' %16s\n' "trackfs/ext4"
for row in "${rows[@]}"; do
	IFS='|' read -r key label dir_ <<<"$row"
	printf '%-44s %12s %12s' "$label" "${res[trackfs,$key]}" "${res[ext4,$key]}"
	[ "$use_mergerfs" = 1 ] && printf ' %12s' "${res[mergerfs,$key]}"
	ratio=$(python3 -c "
a, b, d = float('${res[trackfs,$key]}'), float('${res[ext4,$key]}'), '$dir_'
r = (a / b if d == 'hi' else b / a) if a > 0 and b > 0 else 0
print(f'{r * 100:.0f}%')")
	printf ' %16s\n' "$ratio"
done
echo "(ratio: trackfs as a percentage of ext4's speed; for times, ext4 time / trackfs time)"
