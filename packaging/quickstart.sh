#!/usr/bin/env bash
# Quick start: install what is needed, build, create a demo volume over two
# disk directories, mount it, copy some files in and show the volume's status.
#   packaging/quickstart.sh          set up and mount ./demo/mnt
#   packaging/quickstart.sh --stop   unmount the demo volume
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
demo="$top/demo"
build="$top/build"

if [ "${1:-}" = "--stop" ]; then
	if mountpoint -q "$demo/mnt" 2>/dev/null; then
		fusermount3 -u "$demo/mnt"
		echo "quickstart: unmounted $demo/mnt"
	fi
	exit 0
fi

packaging/install-deps.sh

echo "quickstart: building into $build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null

if mountpoint -q "$demo/mnt" 2>/dev/null; then
	fusermount3 -u "$demo/mnt"
fi
if [ ! -f "$demo/disk1/meta/volume.conf" ]; then
	rm -rf "$demo"
	mkdir -p "$demo/disk1" "$demo/disk2" "$demo/mnt"
	"$build/tools/mkfs.trackfs" --disk "$demo/disk1" --disk "$demo/disk2" --label demo
fi

mkdir -p "$demo/mnt"
"$build/fs/fuse/trackfs" "$demo/disk1/meta" "$demo/mnt"
for _ in $(seq 50); do
	mountpoint -q "$demo/mnt" && break
	sleep 0.1
done
mountpoint -q "$demo/mnt" || { echo "quickstart: the demo volume did not mount" >&2; exit 1; }

mkdir -p "$demo/mnt/docs"
cp -a README.md LICENSE "$demo/mnt/docs/"
dd if=/dev/urandom of="$demo/mnt/random.bin" bs=1M count=8 status=none
sync "$demo/mnt/random.bin"
echo
echo "quickstart: the demo volume is mounted at $demo/mnt"
ls -la "$demo/mnt" "$demo/mnt/docs"
echo
"$build/fs/fuse/trackfs" status "$demo/disk1/meta"
echo
echo "Unmount with: packaging/quickstart.sh --stop   (or fusermount3 -u $demo/mnt)"
