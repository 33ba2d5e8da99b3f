#!/usr/bin/env bash
# The whole test suite: a -Werror build with every unit and integration test
# (integration tests mount for real and kill the daemon for real), then an
# AddressSanitizer/UndefinedBehaviorSanitizer build running the unit tests.
# Usage: tests/run.sh [--quick]   (--quick: skip the sanitizer pass)
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc)
quick=0
[ "${1:-}" = "--quick" ] && quick=1

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

	echo "== AddressSanitizer + UndefinedBehaviorSanitizer build, unit tests"
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTRACKFS_WERROR=ON \
		-DTRACKFS_SANITIZE=ON >/dev/null
	cmake --build build-asan -j"$jobs"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		ctest --test-dir build-asan --output-on-failure -j2 -L unit
fi
