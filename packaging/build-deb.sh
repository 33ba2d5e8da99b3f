#!/usr/bin/env bash
# Builds the Debian package of trackfs with the standard tools
# (dpkg-buildpackage -b -us -uc, debhelper 13, dh's cmake build system) and
# puts the .deb (with its .buildinfo and .changes) into OUTDIR.
#   packaging/build-deb.sh OUTDIR
# The checkout is left as it is: the files git knows (committed or not, minus
# deleted ones) are copied into a temporary directory, packaging/debian
# becomes its debian/, and the build runs there. Needs the build
# dependencies of packaging/debian/control (packaging/install-deps.sh
# installs them) and dpkg-dev, debhelper and fakeroot.
set -euo pipefail
if [ $# -ne 1 ] || [ "${1:0:1}" = - ]; then
	echo "usage: packaging/build-deb.sh OUTDIR" >&2
	exit 2
fi
cd "$(dirname "$0")/.."
top=$(pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)

# The changelog's version must be the project's (CMakeLists.txt).
version=$(sed -n 's/^project(trackfs VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
deb_version=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
if [ -z "$version" ] || [ "$deb_version" != "$version" ]; then
	echo "build-deb: packaging/debian/changelog is at $deb_version, CMakeLists.txt at" \
		"'$version': add a changelog entry (dch -v $version)" >&2
	exit 1
fi

tmp=$(mktemp -d /tmp/trackfs-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
src="$tmp/trackfs-$version"
mkdir "$src"
# Files git tracks or would track, as they are in the work tree.
git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
	tar -C "$top" --null -T - -cf - | tar -C "$src" -xf -
rm -rf "$src/debian"
cp -a "$src/packaging/debian" "$src/debian"

echo "build-deb: building trackfs $version in $src"
(cd "$src" && dpkg-buildpackage -b -us -uc)
shopt -s nullglob
files=("$tmp"/trackfs_"$version"_*.deb "$tmp"/trackfs-dbgsym_"$version"_*.deb
	"$tmp"/trackfs_"$version"_*.buildinfo "$tmp"/trackfs_"$version"_*.changes)
debs=("$tmp"/trackfs_"$version"_*.deb)
if [ "${#debs[@]}" -eq 0 ]; then
	echo "build-deb: dpkg-buildpackage made no .deb" >&2
	exit 1
fi
cp "${files[@]}" "$out/"
echo "build-deb: wrote $(cd "$out" && ls trackfs_"$version"_*.deb) to $out"
