#!/usr/bin/env bash
# The layers, checked from the sources (docs/ARCHITECTURE.md): lowest first
#   core/base  ->  core  ->  index  ->  fs/vol  ->  fs/fuse, fs/s3, tools
# Fails, naming the file and line, on
#   - a private header (*_int.h) included from outside its own folder tree;
#   - an include of a higher layer (core including index/ or fs/, index
#     including fs/, fs/vol including fs/fuse or fs/s3);
#   - a front end (fs/fuse, fs/s3) including core/ or index/ headers other
#     than core/base, or calling idx_*/trk_* functions: front ends reach
#     the volume only through fs/vol/vol.h;
#   - one front end including the other's private headers.
# Every backticked repository path in README.md and docs/*.md must exist.
# Tools (tools/) may use core and index headers (fsck checks both), but not
# their private ones. Tests are not checked.
#   tests/check_layers.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bad=0
complain() {
	echo "check_layers: $*" >&2
	bad=1
}

layer_of() {
	case "$1" in
	core/base/*) echo 0 ;;
	core/*) echo 1 ;;
	index/*) echo 2 ;;
	fs/vol/*) echo 3 ;;
	fs/fuse/* | fs/s3/* | tools/*) echo 4 ;;
	*) echo 9 ;;
	esac
}

while IFS= read -r f; do
	case "$f" in tests/*) continue ;; esac
	dir=$(dirname "$f")
	me=$(layer_of "$f")
	while IFS=: read -r line inc; do
		h=${inc#*\"}
		h=${h%\"*}
		hdir=$(dirname "$h")
		case "$h" in
		*_int.h)
			case "$dir/" in
			"$hdir"/*) ;;
			*) complain "$f:$line includes $h, private to $hdir/" ;;
			esac
			;;
		esac
		them=$(layer_of "$h")
		if [ "$me" -lt 4 ] && [ "$them" -le 4 ] && [ "$them" -gt "$me" ]; then
			complain "$f:$line includes $h from a higher layer"
		fi
		case "$f" in
		fs/fuse/* | fs/s3/*)
			case "$h" in
			core/base/*) ;;
			core/* | index/*) complain "$f:$line: a front end includes $h (use fs/vol/vol.h)" ;;
			esac
			;;
		esac
		case "$f:$h" in
		fs/fuse/*:fs/s3/*_int.h | fs/s3/*:fs/fuse/*) complain "$f:$line includes $h of the other front end" ;;
		esac
	done < <(grep -n '^#include "' "$f" | sed 's/^\([0-9]*\):/\1:/')
done < <(git ls-files '*.c' '*.h')

# Front ends call no index or track functions (declared or not).
while IFS= read -r hit; do
	complain "$hit: a front end calls the index or the track layer directly"
done < <(git ls-files 'fs/fuse/*.c' 'fs/s3/*.c' | xargs grep -nE '\b(idx|trk)_[a-z0-9_]+\(' || true)

# Documentation names files that exist.
for doc in README.md docs/*.md; do
	[ -f "$doc" ] || continue
	while IFS= read -r p; do
		[ -e "$p" ] || complain "$doc names \`$p\`, which does not exist"
	done < <(grep -oE '`(core|index|fs|tools|tests|packaging|docs)/[A-Za-z0-9_./@-]+`' "$doc" |
		tr -d '`' | grep -v '[*<]' | sort -u)
done

if [ "$bad" -ne 0 ]; then
	echo "check_layers: layering or documentation broken (above)" >&2
	exit 1
fi
echo "check_layers: layers and documented paths are consistent"
