#!/usr/bin/env bash
# Benchmark of the S3 sidecar against nginx serving the same files from an
# ext4 directory (the GET limit on this machine), in one run: PUT and GET of
# 1 MiB and 64 MiB objects and 4 KiB PUT/GET/HEAD, at 1 and 16 clients,
# printed as one table with the ratio trackfs-s3/nginx (issue 4's target:
# GET of 64 MiB objects at least 60% of nginx).
#
#   tools/bench-s3.sh [--dir /var/tmp/trackfs-bench-s3] [--quick] [--rounds N] [--no-sync]
#
# Needs root (installs nginx from Debian's archive if missing; never starts
# the system's nginx service: a private nginx runs on 127.0.0.1 only).
# --no-sync passes --no-sync to trackfs-s3 (nginx does not fsync PUTs either).
# Binaries from $TRACKFS_BIN_DIR (default build/). Progress goes to stderr on
# a terminal; the table goes to stdout.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${TRACKFS_BIN_DIR:-$top/build}
dir=/var/tmp/trackfs-bench-s3
pyargs=()
s3args=()
while [ $# -gt 0 ]; do
	case $1 in
	--dir) dir=$2; shift 2 ;;
	--quick) pyargs+=(--quick); shift ;;
	--rounds) pyargs+=(--rounds "$2"); shift 2 ;;
	--no-sync) s3args+=(--no-sync); shift ;;
	-h | --help) sed -n '2,14p' "$0"; exit 0 ;;
	*) echo "bench-s3: unknown option $1" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "bench-s3: run as root (installs nginx, runs it as nobody)" >&2; exit 2; }
for b in "$build/fs/s3/trackfs-s3" "$build/tools/mkfs.trackfs"; do
	[ -x "$b" ] || { echo "bench-s3: $b is missing: build trackfs first, or set TRACKFS_BIN_DIR" >&2; exit 2; }
done
# The directory is removed at the end: refuse one that holds anything but ours.
if [ -e "$dir" ] && [ ! -e "$dir/.trackfs-bench-s3" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
	echo "bench-s3: $dir exists and is not empty: pass another --dir" >&2
	exit 2
fi

say() { if [ -t 2 ]; then printf '\r\033[K%s' "$*" >&2; fi; }

nginx_bin=$(command -v nginx || true)
[ -n "$nginx_bin" ] || [ ! -x /usr/sbin/nginx ] || nginx_bin=/usr/sbin/nginx
if [ -z "$nginx_bin" ]; then
	say "installing nginx"
	# Debian's postinst starts the service: a policy-rc.d that says no keeps
	# port 80 untouched (left alone if the system already has one).
	own_policy=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		own_policy=1
	fi
	rc=0
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null 2>&1 || rc=$?
	[ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
	[ "$rc" = 0 ] || { echo "bench-s3: apt-get install nginx failed ($rc)" >&2; exit 1; }
	nginx_bin=/usr/sbin/nginx
fi

nginx_pid=
s3_pid=
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	set +e
	say ""
	for p in $nginx_pid $s3_pid; do kill -TERM "$p" 2>/dev/null; done
	for p in $nginx_pid $s3_pid; do wait "$p" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$dir"
mkdir -p "$dir"/{tfs/disk1,tfs/disk2,nginx/www,nginx/body,nginx/tmp}
touch "$dir/.trackfs-bench-s3"
chmod 755 "$dir"
# nginx's workers run as nobody and write the PUT bodies.
chown -R nobody:nogroup "$dir/nginx/www" "$dir/nginx/body" "$dir/nginx/tmp"

free_port() {
	python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
}
wait_port() { # port pid name
	for _ in $(seq 100); do
		python3 -c "import socket, sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1)" \
			"$1" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || { echo "bench-s3: $3 exited at start" >&2; return 1; }
		sleep 0.1
	done
	echo "bench-s3: $3 did not start listening within 10 s" >&2
	return 1
}

say "starting nginx"
nport=$(free_port)
ng=$dir/nginx
cat >"$ng/nginx.conf" <<EOF
daemon off;
worker_processes auto;
pid $ng/nginx.pid;
error_log $ng/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_timeout 300;
	keepalive_requests 1000000;
	default_type application/octet-stream;
	client_max_body_size 0;
	client_body_temp_path $ng/body;
	proxy_temp_path $ng/tmp;
	fastcgi_temp_path $ng/tmp;
	uwsgi_temp_path $ng/tmp;
	scgi_temp_path $ng/tmp;
	server {
		listen 127.0.0.1:$nport;
		root $ng/www;
		location / {
			dav_methods PUT;
			create_full_put_path on;
			dav_access user:rw group:r all:r;
		}
	}
}
EOF
"$nginx_bin" -p "$ng" -c "$ng/nginx.conf" -e "$ng/error.log" >"$ng/stdout.log" 2>&1 &
nginx_pid=$!
wait_port "$nport" "$nginx_pid" nginx || { cat "$ng/error.log" "$ng/stdout.log" >&2; exit 1; }

say "creating the trackfs volume and starting trackfs-s3"
"$build/tools/mkfs.trackfs" --disk "$dir/tfs/disk1" --disk "$dir/tfs/disk2" --label bench-s3 >/dev/null
ak=bench$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
sk=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
(umask 077 && echo "$ak $sk rw *" >"$dir/tfs/auth")
"$build/fs/s3/trackfs-s3" --auth "$dir/tfs/auth" --listen 127.0.0.1:0 \
	--port-file "$dir/tfs/port" ${s3args[@]+"${s3args[@]}"} "$dir/tfs/disk1/meta" \
	>"$dir/tfs/server.log" 2>&1 &
s3_pid=$!
for _ in $(seq 100); do
	[ -s "$dir/tfs/port" ] && break
	kill -0 "$s3_pid" 2>/dev/null || break
	sleep 0.1
done
[ -s "$dir/tfs/port" ] || { echo "bench-s3: trackfs-s3 did not start" >&2; cat "$dir/tfs/server.log" >&2; exit 1; }
sport=$(cat "$dir/tfs/port")

rc=0
python3 "$top/tools/bench_s3.py" --tfs-port "$sport" --ak "$ak" --sk "$sk" \
	--nginx-port "$nport" ${pyargs[@]+"${pyargs[@]}"} || rc=$?
if [ "$rc" != 0 ]; then
	echo "---- last lines of the trackfs-s3 log ----" >&2
	tail -n 20 "$dir/tfs/server.log" >&2
	echo "---- last lines of the nginx error log ----" >&2
	tail -n 20 "$ng/error.log" >&2
fi
exit "$rc"
