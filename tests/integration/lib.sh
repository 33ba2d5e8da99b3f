# shellcheck shell=bash
# Harness for the integration tests: a temporary directory with a volume over
# two disk directories, the daemon mounted in the foreground in the
# background, and a teardown (always run, from an EXIT trap) that unmounts,
# stops the daemon and removes everything.
#
#   source "$(dirname "$0")/lib.sh"
#   tfs_setup            # temp dir, mkfs over disk1 and disk2; sets TFS_META, TFS_MNT
#   tfs_mount [-o OPTS]  # mount and wait until mounted
#   step "what is checked"; ...; check_eq "$got" "$want" "what"
#   tfs_umount           # clean unmount, daemon must exit 0
#   tfs_fsck             # fsck.trackfs must find the volume clean
#
# TRACKFS_BIN_DIR is the build directory (CTest sets it); TFS_KEEP=1 keeps the
# temporary directory for a post-mortem.

set -euo pipefail

TRACKFS_BIN_DIR=${TRACKFS_BIN_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
TFS_DAEMON="$TRACKFS_BIN_DIR/fs/fuse/trackfs"
TFS_MKFS="$TRACKFS_BIN_DIR/tools/mkfs.trackfs"
TFS_FSCK="$TRACKFS_BIN_DIR/tools/fsck.trackfs"
TFS_TMP=""
TFS_META=""
TFS_MNT=""
TFS_PID=""
TFS_LOG=""
TFS_MOUNTS=0
TFS_STEP=""

step() {
	TFS_STEP="$*"
	echo "== $*"
}

fail() {
	echo "FAIL: ${TFS_STEP:+[$TFS_STEP] }$*" >&2
	exit 1
}

# check_eq GOT WANT WHAT
check_eq() {
	if [ "$1" != "$2" ]; then
		fail "$3: got '$1', want '$2'"
	fi
}

# expect_fail WHAT CMD...: CMD must fail.
expect_fail() {
	local what=$1
	shift
	if "$@" 2>/dev/null; then
		fail "$what: '$*' succeeded but must fail"
	fi
}

tfs_require() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null || fail "required tool '$tool' is not installed"
	done
	[ -x "$TFS_DAEMON" ] || fail "daemon not built: $TFS_DAEMON"
	[ -x "$TFS_MKFS" ] || fail "mkfs not built: $TFS_MKFS"
	[ -x "$TFS_FSCK" ] || fail "fsck not built: $TFS_FSCK"
	[ -c /dev/fuse ] || fail "/dev/fuse is missing: cannot mount FUSE filesystems here"
	[ "$(id -u)" -eq 0 ] || fail "integration tests mount filesystems and must run as root"
}

# tfs_teardown [RC]: RC is the script's exit status (default: $? on entry).
tfs_teardown() {
	local rc=$? i
	set +e
	[ $# -gt 0 ] && rc=$1
	if [ -n "$TFS_MNT" ] && mountpoint -q "$TFS_MNT" 2>/dev/null; then
		fusermount3 -u "$TFS_MNT" 2>/dev/null || fusermount3 -uz "$TFS_MNT" 2>/dev/null
	fi
	if [ -n "$TFS_PID" ] && kill -0 "$TFS_PID" 2>/dev/null; then
		kill "$TFS_PID" 2>/dev/null
		for _ in $(seq 50); do
			kill -0 "$TFS_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$TFS_PID" 2>/dev/null
	fi
	# Filesystems a test mounted under $TFS_TMP (tfs_tmpfs), innermost first.
	for ((i = ${#TFS_EXTRA_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount "${TFS_EXTRA_MOUNTS[i]}" 2>/dev/null || umount -l "${TFS_EXTRA_MOUNTS[i]}"
	done
	if [ "$rc" -ne 0 ] && [ -n "$TFS_LOG" ] && [ -s "$TFS_LOG" ]; then
		echo "---- daemon log (last 60 lines of $TFS_LOG)" >&2
		tail -n 60 "$TFS_LOG" >&2
	fi
	if [ -n "$TFS_TMP" ] && [ -d "$TFS_TMP" ]; then
		if [ "${TFS_KEEP:-0}" = 1 ]; then
			echo "kept $TFS_TMP" >&2
		else
			rm -rf "$TFS_TMP"
		fi
	fi
	if [ "$rc" -eq 0 ]; then
		echo "PASS: $(basename "$0")"
	else
		echo "FAIL: $(basename "$0") (exit $rc)" >&2
	fi
	exit "$rc"
}

TFS_EXTRA_MOUNTS=()
# tfs_tmpfs DIR MIB: mount a tmpfs of MIB MiB on DIR (made if needed); the
# teardown unmounts it after the daemon is gone.
tfs_tmpfs() {
	mkdir -p "$1"
	mount -t tmpfs -o "size=$2m" tmpfs "$1" || fail "mount a tmpfs on $1"
	TFS_EXTRA_MOUNTS+=("$1")
}

tfs_setup() {
	tfs_require "$@"
	TFS_TMP=$(mktemp -d /tmp/trackfs-it.XXXXXX)
	chmod 755 "$TFS_TMP"
	trap tfs_teardown EXIT
	mkdir -p "$TFS_TMP/disk1" "$TFS_TMP/disk2" "$TFS_TMP/mnt"
	TFS_META="$TFS_TMP/disk1/meta"
	TFS_MNT="$TFS_TMP/mnt"
	step "create a volume over two disks (mkfs.trackfs)"
	"$TFS_MKFS" --disk "$TFS_TMP/disk1" --disk "$TFS_TMP/disk2" --label it \
		>"$TFS_TMP/mkfs.log" 2>&1 || {
		cat "$TFS_TMP/mkfs.log" >&2
		fail "mkfs.trackfs failed"
	}
	[ -d "$TFS_META" ] || fail "mkfs.trackfs did not create $TFS_META"
}

# tfs_mount [daemon options...]: start the daemon in the foreground (as a
# background job), wait until the mount point is mounted.
tfs_mount() {
	TFS_MOUNTS=$((TFS_MOUNTS + 1))
	TFS_LOG="$TFS_TMP/daemon.$TFS_MOUNTS.log"
	"$TFS_DAEMON" -f "$@" "$TFS_META" "$TFS_MNT" >"$TFS_LOG" 2>&1 &
	TFS_PID=$!
	for _ in $(seq 200); do
		if mountpoint -q "$TFS_MNT"; then
			return 0
		fi
		if ! kill -0 "$TFS_PID" 2>/dev/null; then
			cat "$TFS_LOG" >&2
			TFS_PID=""
			fail "the daemon exited before mounting $TFS_MNT (log above)"
		fi
		sleep 0.05
	done
	fail "$TFS_MNT not mounted after 10 s"
}

# tfs_umount: unmount with fusermount3 -u and check that the daemon exits 0.
tfs_umount() {
	local rc=0
	fusermount3 -u "$TFS_MNT" || fail "fusermount3 -u $TFS_MNT failed"
	tfs_wait_daemon || rc=$?
	[ "$rc" -eq 0 ] || fail "the daemon exited with $rc after unmount (log: $TFS_LOG)"
}

# tfs_wait_daemon: wait (up to 60 s) for the daemon to exit; return its status.
tfs_wait_daemon() {
	local pid=$TFS_PID rc=0
	for _ in $(seq 600); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && fail "the daemon (pid $pid) did not exit within 60 s"
	wait "$pid" || rc=$?
	TFS_PID=""
	return "$rc"
}

# tfs_wait_pattern REGEX: wait (up to 30 s) until no process's full command
# line matches REGEX (a daemon started by mount(8) whose pid we do not know).
tfs_wait_pattern() {
	for _ in $(seq 300); do
		pgrep -f -x "$1" >/dev/null || return 0
		sleep 0.1
	done
	fail "a process matching '$1' is still running 30 s after unmount"
}

# tfs_fsck: the volume (unmounted) must be clean.
tfs_fsck() {
	local out rc=0
	out=$("$TFS_FSCK" "$TFS_META" 2>&1) || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "$out" >&2
		fail "fsck.trackfs $TFS_META found problems (exit $rc, output above)"
	fi
}

# tfs_snapshot DIR: one line per entry (type, mode, owner, size, mtime, link
# target, content hash), sorted; to compare a tree across remounts.
tfs_snapshot() {
	(cd "$1" && find . -mindepth 1 -printf '%p %y %m %U:%G %s %T@ %l\n' | sort &&
		find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}
