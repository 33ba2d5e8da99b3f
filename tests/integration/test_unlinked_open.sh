#!/usr/bin/env bash
# Unlinked-but-open files: readable and writable until the last close, their
# space freed when the kernel forgets them; if the daemon is killed while one
# is open, the next mount reclaims it (the orphan list) and fsck is clean.
source "$(dirname "$0")/lib.sh"

tfs_setup python3 mountpoint fusermount3 stat
tfs_mount
M=$TFS_MNT

# used_chunks: blocks in use as statfs reports them (total - free; both
# include what the host disk could still hold, which other processes change).
used_chunks() {
	local total free
	read -r total free <<<"$(stat -f -c '%b %f' "$M")"
	echo $((total - free))
}

# wait_used_at_most N: poll until at most N blocks are in use.
wait_used_at_most() {
	for _ in $(seq 100); do
		[ "$(used_chunks)" -le "$1" ] && return 0
		sleep 0.1
	done
	fail "blocks in use stayed at $(used_chunks), expected at most $1"
}

step "space of an unlinked file comes back after the last close"
used0=$(used_chunks)
python3 - "$M/gone" <<'PY' || fail "unlink while open"
import os, sys
p = sys.argv[1]
data = os.urandom(1 << 20) * 4
fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd, data)
os.fsync(fd)
os.unlink(p)
assert not os.path.exists(p), "name still visible after unlink"
os.lseek(fd, 0, os.SEEK_SET)
got = b""
while len(got) < len(data):
    chunk = os.read(fd, 1 << 20)
    assert chunk, "short read from an unlinked file"
    got += chunk
assert got == data, "unlinked file content differs"
os.pwrite(fd, b"late write", 100)
assert os.pread(fd, 10, 100) == b"late write"
os.close(fd)
PY
wait_used_at_most "$used0"

step "an unlinked file held open survives a kill -9 of the daemon and is reclaimed at the next mount"
used0=$(used_chunks)
python3 - "$M/held" "$TFS_TMP/ready" <<'PY' &
import os, sys, time
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd, os.urandom(1 << 20) * 2)
os.fsync(fd)
os.unlink(sys.argv[1])
os.fsync(fd)
open(sys.argv[2], "w").close()
time.sleep(600)
PY
holder=$!
for _ in $(seq 100); do
	[ -e "$TFS_TMP/ready" ] && break
	sleep 0.1
done
[ -e "$TFS_TMP/ready" ] || fail "the holder process did not get ready"
used1=$(used_chunks)
[ "$used1" -ge $((used0 + 512)) ] || fail "the open unlinked file's 2 MiB are not counted in use ($used0 -> $used1)"
kill -9 "$TFS_PID"
wait "$TFS_PID" 2>/dev/null || true
TFS_PID=""
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
# auto_unmount: fusermount3 releases the mount point once the daemon is gone.
for _ in $(seq 100); do
	mountpoint -q "$M" || break
	sleep 0.1
done
mountpoint -q "$M" && fail "$M still mounted 10 s after the daemon was killed"
tfs_mount
grep -qi "recover\|not shut down cleanly" "$TFS_LOG" || fail "the remount did not report a recovery: $(cat "$TFS_LOG")"
[ ! -e "$M/held" ] || fail "the unlinked file reappeared"
wait_used_at_most "$used0"
tfs_umount
tfs_fsck
