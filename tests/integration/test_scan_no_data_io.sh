#!/usr/bin/env bash
# Directory scans (readdir, stat, getxattr, negative lookups) are answered from
# the index alone: while a media-server-like scan runs, the daemon makes no
# read or write on any track file, so idle data disks can stay asleep.
source "$(dirname "$0")/lib.sh"
tfs_setup strace getfattr
tfs_mount

step "a library of files with xattrs"
for d in $(seq 1 10); do
	mkdir -p "$TFS_MNT/lib/artist$d"
	for f in $(seq 1 30); do
		head -c $((f * 3000)) /dev/urandom >"$TFS_MNT/lib/artist$d/track$f.flac"
		setfattr -n user.tag -v "t$f" "$TFS_MNT/lib/artist$d/track$f.flac"
	done
done
sync
step "remount with cold kernel caches"
tfs_umount
tfs_mount

step "scan under strace: no I/O on track files"
trace="$TFS_TMP/strace.log"
strace -f -qq -e trace=pread64,pwrite64,preadv,pwritev,read,write -o "$trace" -p "$TFS_PID" &
tracer=$!
sleep 1
ls -lR "$TFS_MNT/lib" >/dev/null
find "$TFS_MNT/lib" -type f -exec stat -c '%s %Y' {} + >/dev/null
getfattr -R -d "$TFS_MNT/lib" >/dev/null 2>&1
for n in $(seq 1 50); do stat "$TFS_MNT/lib/artist1/missing$n.nfo" 2>/dev/null && fail "missing file found"; done
sleep 0.5
kill -INT "$tracer"
wait "$tracer" 2>/dev/null || true
track_fds=$(ls -l /proc/"$TFS_PID"/fd | awk '/\.trk$/ {print $9}' | paste -sd'|')
[ -n "$track_fds" ] || fail "found no open track files in the daemon (fd listing changed?)"
calls=$(grep -cE "^[0-9]+ +(pread64|pwrite64|preadv|pwritev|read|write)\(($track_fds)," "$trace" || true)
echo "system calls on track files during the scan: $calls"
[ "$calls" -eq 0 ] || fail "the scan touched the data disks: $(grep -E "\(($track_fds)," "$trace" | head -3)"

step "reading a file does touch its track (the check above can see I/O)"
: >"$trace"
strace -f -qq -e trace=pread64,pwrite64,preadv,pwritev -o "$trace" -p "$TFS_PID" &
tracer=$!
sleep 1
cat "$TFS_MNT/lib/artist3/track7.flac" >/dev/null
sleep 0.5
kill -INT "$tracer"
wait "$tracer" 2>/dev/null || true
grep -qE "pread64\(($track_fds)," "$trace" || fail "reading a file made no pread on a track file"
tfs_umount
tfs_fsck
