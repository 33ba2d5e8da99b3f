#!/usr/bin/env bash
# Crash: kill -9 the daemon during heavy writes, several times. Each time the
# mount point must be released, the volume must remount (recovering), every
# file fsynced before the kill must be byte-identical, and fsck must find the
# volume clean after a clean unmount.
source "$(dirname "$0")/lib.sh"
tfs_setup python3 dd
rounds=${TFS_CRASH_ROUNDS:-5}
log="$TFS_TMP/fsynced.log"
: >"$log"

for round in $(seq 1 "$rounds"); do
	tfs_mount
	if [ "$round" -gt 1 ]; then
		step "round $round: every file fsynced before the last kill reads back"
		python3 "$(dirname "$0")/crash_writer.py" --verify "$TFS_MNT/data" "$log" ||
			fail "data fsynced before kill -9 was lost or changed"
	fi
	step "round $round: heavy writes, then kill -9 the daemon"
	python3 "$(dirname "$0")/crash_writer.py" "$TFS_MNT/data" "$log" "$round" &
	writer=$!
	(while dd if=/dev/urandom of="$TFS_MNT/bulk" bs=1M count=64 status=none 2>/dev/null; do :; done) &
	bulk=$!
	sleep "$(python3 -c "import random; print(random.Random($round).uniform(1.0, 3.5))")"
	kill -9 "$TFS_PID"
	wait "$TFS_PID" 2>/dev/null || true
	TFS_PID=""
	step "round $round: the mount point is released"
	for _ in $(seq 100); do
		mountpoint -q "$TFS_MNT" || break
		sleep 0.1
	done
	if mountpoint -q "$TFS_MNT"; then
		fail "the mount point is still mounted 10 s after kill -9 (auto_unmount)"
	fi
	wait "$writer" 2>/dev/null || true
	kill "$bulk" 2>/dev/null || true
	wait "$bulk" 2>/dev/null || true
	echo "fsynced so far: $(wc -l <"$log") files"
done

tfs_mount
step "final check of every fsynced file"
python3 "$(dirname "$0")/crash_writer.py" --verify "$TFS_MNT/data" "$log" ||
	fail "data fsynced before kill -9 was lost or changed"
tfs_umount
tfs_fsck
