#!/usr/bin/env bash
# Data before index (DESIGN.md invariant 3) for automatic flushes, not only
# fsync: strace the daemon while files are written and never fsynced, and
# check (write_order.py) that every write to data.mdb comes after an
# fdatasync of every track written before it. Without that ordering a power
# loss can leave a durable index pointing at chunks whose bytes never reached
# the disk (issue 8, point 1).
source "$(dirname "$0")/lib.sh"
tfs_setup strace python3 dd
here=$(dirname "$0")

tfs_mount
trace="$TFS_TMP/strace.log"
step "strace the daemon while it writes without fsync for 4 s"
strace -f -qq -ttt -y -s 0 -e trace=pwrite64,pwritev,pwritev2,write,writev,fdatasync,fsync \
	-o "$trace" -p "$TFS_PID" &
tracer=$!
sleep 1 # strace attaches to every thread
mkdir "$TFS_MNT/d"
for i in $(seq 40); do
	dd if=/dev/urandom of="$TFS_MNT/d/f$i" bs=64k count=4 status=none
	sleep 0.1
done
sleep 2.5 # at least two automatic flushes after the last write
kill -INT "$tracer"
wait "$tracer" 2>/dev/null || true

step "every index write follows the fdatasync of the tracks written before it"
python3 "$here/write_order.py" "$trace" || {
	rc=$?
	[ "$rc" -eq 2 ] && fail "the trace holds no index write after a track write (see $trace)"
	fail "index committed before the chunk data it references was durable"
}

step "the files read back after a remount, fsck clean"
sums=$(cd "$TFS_MNT/d" && sha256sum f* | sort)
tfs_umount
tfs_fsck
tfs_mount
check_eq "$(cd "$TFS_MNT/d" && sha256sum f* | sort)" "$sums" "contents after remount"
tfs_umount
