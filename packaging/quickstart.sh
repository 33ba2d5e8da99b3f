#!/usr/bin/env bash
# Quick start: install what is needed, build, create a demo volume over two
# disk directories, mount it with the S3 sidecar on 127.0.0.1:9000 (demo
# credentials in demo/s3-auth), copy some files in and show the volume's status.
#   packaging/quickstart.sh [--dir DIR] [--s3 HOST:PORT]   set up and mount
#   packaging/quickstart.sh [--dir DIR] --stop               unmount it
# (--help says more.)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
demo="$top/demo"
build="$top/build"
s3_listen=${TRACKFS_S3_LISTEN:-127.0.0.1:9000}
stop=0

usage() {
	cat <<EOT
Usage: packaging/quickstart.sh [--dir DIR] [--s3 HOST:PORT] [--stop]
Installs the build and test dependencies (apt), builds trackfs into
$build, installs it under /usr/local, creates a demo volume over two
disk directories in DIR and mounts it at DIR/mnt, with the S3 sidecar on
HOST:PORT (demo credentials in DIR/s3-auth).
  --dir DIR        where the demo volume lives (default: $top/demo)
  --s3 HOST:PORT   the S3 sidecar's address (default: 127.0.0.1:9000, or
                   \$TRACKFS_S3_LISTEN)
  --stop           unmount the demo volume in DIR and wait for its daemon
  --help           this text
The Debian package is the other way to install: packaging/build-deb.sh OUTDIR.
EOT
}

while [ $# -gt 0 ]; do
	case "$1" in
	--help | -h)
		usage
		exit 0
		;;
	--stop) stop=1 ;;
	--dir | --s3)
		[ $# -ge 2 ] || {
			echo "quickstart: $1 needs a value (see --help)" >&2
			exit 2
		}
		if [ "$1" = --dir ]; then
			mkdir -p "$2"
			demo=$(cd "$2" && pwd)
		else
			s3_listen=$2
		fi
		shift
		;;
	*)
		echo "quickstart: unknown argument '$1' (see --help)" >&2
		exit 2
		;;
	esac
	shift
done

# Unmount the demo volume and wait for its daemon to exit (it flushes, stops
# the S3 sidecar and releases the volume), so that it can be mounted again.
stop_demo() {
	if mountpoint -q "$demo/mnt" 2>/dev/null; then
		fusermount3 -u "$demo/mnt"
		echo "quickstart: unmounted $demo/mnt"
	fi
	for _ in $(seq 300); do
		pgrep -f "trackfs .*$demo/disk1/meta $demo/mnt\$" >/dev/null || return 0
		sleep 0.1
	done
	echo "quickstart: the daemon serving $demo/mnt is still running after 30 s" >&2
	return 1
}

if [ "$stop" -eq 1 ]; then
	stop_demo
	exit 0
fi

packaging/install-deps.sh

echo "quickstart: building into $build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
# Install the binaries (/usr/local): mkfs.trackfs, fsck.trackfs, trackfs and
# trackfs-s3 on the PATH, and `mount -t fuse.trackfs` / fstab entries work.
cmake --install "$build" >/dev/null
echo "quickstart: installed trackfs, mkfs.trackfs, fsck.trackfs and trackfs-s3 under /usr/local"

stop_demo
if [ ! -f "$demo/disk1/meta/volume.conf" ]; then
	rm -rf "$demo"
	mkdir -p "$demo/disk1" "$demo/disk2" "$demo/mnt"
	"$build/tools/mkfs.trackfs" --disk "$demo/disk1" --disk "$demo/disk2" --label demo
fi

# S3 credentials for the demo: one user with read-write access to every
# bucket, a random secret, readable by root only. Kept across runs.
if [ ! -s "$demo/s3-auth" ]; then
	secret=$(head -c 30 /dev/urandom | base64 | tr -d '/+=\n')
	(
		umask 077
		printf '# ACCESS_KEY SECRET_KEY rw|ro BUCKET|*\ndemo %s rw *\n' "$secret" \
			>"$demo/s3-auth"
	)
fi
chmod 600 "$demo/s3-auth"
read -r s3_ak s3_sk _ < <(grep -v '^#' "$demo/s3-auth" | head -n 1)

mkdir -p "$demo/mnt"
"$build/fs/fuse/trackfs" -o "s3=$s3_listen,s3_auth=$demo/s3-auth" "$demo/disk1/meta" "$demo/mnt"
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
echo "S3 on http://$s3_listen serves the same files (bucket = top-level directory,"
echo "key = path below it; credentials in $demo/s3-auth). For example:"
echo "  AWS_ACCESS_KEY_ID=$s3_ak AWS_SECRET_ACCESS_KEY=$s3_sk \\"
echo "    aws --endpoint-url http://$s3_listen s3 ls"
echo "  (and s3 ls s3://docs/, s3 cp FILE s3://docs/, s3 sync DIR s3://BUCKET/...)"
echo
stop_cmd="packaging/quickstart.sh --stop"
[ "$demo" = "$top/demo" ] || stop_cmd="packaging/quickstart.sh --dir $demo --stop"
echo "Unmount with: $stop_cmd   (or fusermount3 -u $demo/mnt)"
