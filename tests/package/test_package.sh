#!/usr/bin/env bash
# The Debian package, as a user gets it: built from packaging/debian with
# dpkg-buildpackage (packaging/build-deb.sh), lintian clean, installed with
# apt, then the installed files used the system's way: every binary's
# --version, `mkfs -t trackfs`, `mount -t fuse.trackfs`, a file written and
# read back, umount, `fsck -t trackfs`, every man page rendered as lintian
# renders it, `man trackfs` found, the systemd unit verified. The package is
# removed again at the end. Needs root (it installs a package).
#   tests/package/test_package.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$(pwd)

step() { echo "== $*"; }
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || fail "run as root: the test installs the package"

tmp=$(mktemp -d /tmp/trackfs-pkg.XXXXXX)
cleanup() {
	mountpoint -q "$tmp/mnt" 2>/dev/null && umount -l "$tmp/mnt"
	dpkg -r trackfs >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
# The installed files, not a build under /usr/local from the quick start.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

step "build the package (packaging/build-deb.sh)"
"$top/packaging/build-deb.sh" "$tmp/out" >"$tmp/build.log" 2>&1 || {
	tail -n 40 "$tmp/build.log" >&2
	fail "packaging/build-deb.sh failed (end of its log above)"
}
deb=$(ls "$tmp"/out/trackfs_*_*.deb)

step "lintian: no errors or warnings"
lintian --fail-on error,warning \
	"$tmp"/out/trackfs_*.changes >"$tmp/lintian.log" 2>&1 || {
	cat "$tmp/lintian.log" >&2
	fail "lintian found problems in the package (above)"
}
cat "$tmp/lintian.log"

step "install it with apt"
apt-get install -y -qq "$deb" >"$tmp/apt.log" 2>&1 || {
	cat "$tmp/apt.log" >&2
	fail "apt-get install $deb failed"
}

step "every installed binary answers --version"
bins=$(dpkg -L trackfs | grep -E '^/usr/s?bin/')
[ -n "$bins" ] || fail "the package installs no binaries"
for b in $bins; do
	v=$("$b" --version) || fail "$b --version failed"
	case "$v" in
	*trackfs*[0-9].[0-9]*) ;;
	*) fail "$b --version printed '$v', not a trackfs version" ;;
	esac
done
for b in /usr/sbin/mkfs.trackfs /usr/sbin/fsck.trackfs /usr/bin/trackfs /usr/bin/trackfs-s3; do
	[ -x "$b" ] || fail "$b is not installed"
done

step "mkfs -t trackfs over two disks"
mkdir -p "$tmp/d1" "$tmp/d2" "$tmp/mnt"
mkfs -t trackfs --disk "$tmp/d1" --disk "$tmp/d2" --label pkg >"$tmp/mkfs.log" 2>&1 || {
	cat "$tmp/mkfs.log" >&2
	fail "mkfs -t trackfs failed"
}
[ -f "$tmp/d1/meta/volume.conf" ] || fail "mkfs -t trackfs made no volume in $tmp/d1/meta"

step "mount -t fuse.trackfs, write, read back, umount"
mount -t fuse.trackfs "$tmp/d1/meta" "$tmp/mnt" >"$tmp/mount.log" 2>&1 || {
	cat "$tmp/mount.log" >&2
	fail "mount -t fuse.trackfs failed"
}
mountpoint -q "$tmp/mnt" || fail "mount -t fuse.trackfs returned but $tmp/mnt is not a mount"
grep " $tmp/mnt fuse.trackfs " /proc/mounts >/dev/null || fail "$tmp/mnt is not listed as fuse.trackfs"
head -c 3000000 /dev/urandom >"$tmp/data"
cp "$tmp/data" "$tmp/mnt/data"
cmp "$tmp/data" "$tmp/mnt/data" || fail "the file read back through the mount differs"
umount "$tmp/mnt" || fail "umount $tmp/mnt failed"
# umount returns once the kernel let go; the daemon then closes the volume.
for _ in $(seq 200); do
	pgrep -f "trackfs $tmp/d1/meta" >/dev/null || break
	sleep 0.05
done
pgrep -f "trackfs $tmp/d1/meta" >/dev/null && fail "the daemon is still running 10 s after umount"

step "fsck -t trackfs: the volume is clean"
fsck -t trackfs "$tmp/d1/meta" >"$tmp/fsck.log" 2>&1 || {
	cat "$tmp/fsck.log" >&2
	fail "fsck -t trackfs found problems or failed"
}
grep -q clean "$tmp/fsck.log" || fail "fsck -t trackfs did not say clean: $(cat "$tmp/fsck.log")"

step "man pages: one per binary, each renders without a warning, man finds them"
for b in $bins; do
	n=$(basename "$b")
	page=$(dpkg -L trackfs | grep -E "^/usr/share/man/man[18]/$n\.[18]\.gz$" || true)
	[ -n "$page" ] || fail "no man page for $b in the package"
done
for page in $(dpkg -L trackfs | grep -E '^/usr/share/man/man[0-9]/.*\.gz$'); do
	err=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
	[ -z "$err" ] || fail "$page renders with warnings: $err"
done
man -w trackfs >/dev/null || fail "man trackfs finds no page"
man -w 5 trackfs-s3-auth >/dev/null || fail "man 5 trackfs-s3-auth finds no page"

step "systemd-analyze verify trackfs@.service"
unit=$(dpkg -L trackfs | grep -E '/systemd/system/trackfs@\.service$')
[ -n "$unit" ] || fail "the package installs no trackfs@.service"
mkdir -p "$tmp/units"
cp "$unit" "$tmp/units/trackfs@pkg.service"
systemd-analyze verify "$tmp/units/trackfs@pkg.service" >"$tmp/verify.log" 2>&1 || {
	cat "$tmp/verify.log" >&2
	fail "systemd-analyze verify trackfs@.service failed"
}
if [ -s "$tmp/verify.log" ]; then
	cat "$tmp/verify.log" >&2
	fail "systemd-analyze verify trackfs@.service printed warnings (above)"
fi

step "bash completion is installed for each command"
for n in trackfs mkfs.trackfs fsck.trackfs trackfs-s3; do
	[ -e "/usr/share/bash-completion/completions/$n" ] || fail "no bash completion for $n"
done

echo "PASS: the Debian package builds, installs and works"
