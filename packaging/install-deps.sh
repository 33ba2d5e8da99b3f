#!/usr/bin/env bash
# Installs everything trackfs needs to build and to run its test suite, from
# Debian 12's package archive only. Safe to run again.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	exec sudo -- "$0" "$@"
fi

packages=(
	# build
	build-essential cmake pkg-config clang-format
	# the libFuzzer run of the S3 parsers
	clang libclang-rt-14-dev
	# libraries (DESIGN.md "Dependencies")
	liblmdb-dev libxxhash-dev libfuse3-dev libuv1-dev libssl-dev libexpat1-dev
	libhttp-parser-dev zlib1g-dev
	# sd_notify: readiness under systemd (Type=notify)
	libsystemd-dev
	# ISA-L: SIMD CRC32/CRC32C for the S3 checksums
	libisal-dev
	# the S3 sidecar's form-upload policies (JSON)
	libjson-c-dev
	# tests
	libcriterion-dev fuse3 lmdb-utils attr acl rsync python3 util-linux procps
	e2fsprogs psmisc strace
	# S3 sidecar tests: real clients
	python3-boto3 awscli s3cmd rclone curl s3fs
	# reference CRC32C/CRC64NVME for the checksum tests (C, fast)
	python3-crcmod
	# the Debian package (packaging/build-deb.sh) and its checks: lintian,
	# man pages rendered as lintian does, the systemd unit verified
	dpkg-dev debhelper fakeroot lintian man-db groff-base systemd
)

export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The JavaScript S3 SDK tests need Node.js and npm; a machine may already have
# them from elsewhere (Debian's npm would conflict with such a node).
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
	echo "install-deps: installing nodejs npm"
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
echo "install-deps: all build and test dependencies are installed"
