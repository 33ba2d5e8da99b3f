#!/usr/bin/env bash
# Mount-time recovery shows its progress on a terminal: after kill -9 the
# next mount rebuilds the free lists, and a mount started on a terminal
# (script(1) gives it a pty) draws "rebuilding free lists" with a count; the
# same recovery with stderr in a file writes no bar, only log lines.
source "$(dirname "$0")/lib.sh"
tfs_require script
tfs_setup

crash() {
	kill -9 "$TFS_PID"
	wait "$TFS_PID" 2>/dev/null || true
	TFS_PID=""
	fusermount3 -u -z "$TFS_MNT" 2>/dev/null || true
	for _ in $(seq 100); do
		mountpoint -q "$TFS_MNT" || return 0
		sleep 0.1
	done
	fail "the mount point is still mounted after kill -9"
}

step "write 300 files, kill -9 the daemon"
tfs_mount
for i in $(seq 300); do printf 'file %d\n' "$i" >"$TFS_MNT/f$i"; done
sync "$TFS_MNT/f300"
crash

step "remount on a terminal: the recovery draws its progress"
TFS_PID=""
script -qfec "$TFS_DAEMON $TFS_META $TFS_MNT" "$TFS_TMP/tty.log" >/dev/null ||
	fail "the background mount on a pty failed: $(cat "$TFS_TMP/tty.log")"
mountpoint -q "$TFS_MNT" || fail "not mounted after the background mount"
grep -aq "rebuilding free lists \[#*\] 100% ([0-9]*/[0-9]*)" "$TFS_TMP/tty.log" ||
	fail "no recovery progress on the terminal: $(cat -v "$TFS_TMP/tty.log")"
check_eq "file 300" "$(cat "$TFS_MNT/f300")" "a file written before the crash"
pid=$(pgrep -f -x "$TFS_DAEMON $TFS_META $TFS_MNT") || fail "no daemon process found"
kill -9 "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
fusermount3 -u -z "$TFS_MNT" 2>/dev/null || true

step "remount with stderr in a file: no bar"
tfs_mount
grep -q "rebuilding free lists \[" "$TFS_LOG" && fail "a progress bar went to a file: $(cat "$TFS_LOG")"
grep -q "free lists rebuilt" "$TFS_LOG" || fail "the recovery did not run or log: $(cat "$TFS_LOG")"
tfs_umount
tfs_fsck
