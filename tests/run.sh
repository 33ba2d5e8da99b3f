#!/usr/bin/env bash
# The whole test suite: a -Werror build with every unit and integration test
# (integration tests mount for real and kill the daemon for real), then an
# libFuzzer run, Release builds with GCC and Clang and one with Debian's
# flags (all with warnings as errors), and an AddressSanitizer/
# UndefinedBehaviorSanitizer build running the unit tests, and the Debian
# package built, installed and used (tests/package/test_package.sh).
# Usage: tests/run.sh [--quick]   (--quick: only the first build and its tests)
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc)
quick=0
[ "${1:-}" = "--quick" ] && quick=1

echo "== layers and documented paths (tests/check_layers.sh)"
tests/check_layers.sh

echo "== build (warnings are errors)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRACKFS_WERROR=ON >/dev/null
cmake --build build -j"$jobs"

echo "== unit and integration tests"
ctest --test-dir build --output-on-failure -j2 -LE bench

if [ "$quick" -eq 0 ]; then
	echo "== libFuzzer: S3 request parsing and SigV4 canonicalisation, ${TRACKFS_FUZZ_SECONDS:-30} s"
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DTRACKFS_WERROR=ON \
		-DTRACKFS_FUZZ=ON -DTRACKFS_TESTS=OFF >/dev/null
	cmake --build build-fuzz -j"$jobs" --target fuzz_s3
	mkdir -p build-fuzz/corpus
	build-fuzz/fs/s3/fuzz_s3 -max_total_time="${TRACKFS_FUZZ_SECONDS:-30}" -print_final_stats=1 \
		build-fuzz/corpus 2>&1 | tail -n 3

	# Users and packagers build without -Werror (the default); warnings
	# there are found here: Release with GCC and Clang, and Debian's flags.
	echo "== Release builds with GCC and Clang, and with Debian's build flags (warnings are errors)"
	for cc in gcc clang; do
		CC=$cc cmake -S . -B "build-release-$cc" -DCMAKE_BUILD_TYPE=Release \
			-DTRACKFS_WERROR=ON -DTRACKFS_TESTS=OFF >/dev/null
		cmake --build "build-release-$cc" -j"$jobs" >/dev/null
	done
	CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)" \
		LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" \
		cmake -S . -B build-debflags -DCMAKE_BUILD_TYPE=None -DTRACKFS_WERROR=ON \
		-DTRACKFS_TESTS=OFF >/dev/null
	cmake --build build-debflags -j"$jobs" >/dev/null

	echo "== AddressSanitizer + UndefinedBehaviorSanitizer build, unit tests"
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTRACKFS_WERROR=ON \
		-DTRACKFS_SANITIZE=ON >/dev/null
	cmake --build build-asan -j"$jobs"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		ctest --test-dir build-asan --output-on-failure -j2 -L unit

	echo "== Debian package: built, lintian, installed, used (mkfs -t, mount -t, fsck -t, man, systemd)"
	tests/package/test_package.sh
fi
