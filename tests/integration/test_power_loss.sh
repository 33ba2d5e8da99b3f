#!/usr/bin/env bash
# Power loss: record every write and flush the daemon makes to its disks and
# index (tests/harness/crashrec.c, preloaded), while a workload creates,
# overwrites, appends, truncates, renames over, unlinks and fsyncs files and
# directories, with quiet stretches where only the daemon's own flusher
# commits; then rebuild crash states from the log (crash_replay.py: all that
# a flush made durable, a random part of the rest), let the daemon recover
# each one by mounting it, and check it against what the workload was told
# (power_loss_check.py): fsynced files byte-exact, no bytes a file was never
# given, no EIO, fsck clean.
#
#   TFS_POWER_LOSS_STATES=N   random crash states to check (default 50; one more
#                             for each file the daemon creates, right after it)
#   TFS_POWER_LOSS_SEED=S     the workload's and the crash states' choices
#                             (the daemon's timing still differs per run)
#   TFS_POWER_LOSS_ROUNDS=R   rounds of the workload (default 4, ~6 s each)
#   TFS_KEEP=1                keep everything, failing states included
source "$(dirname "$0")/lib.sh"
tfs_setup python3 fusermount3
here=$(cd "$(dirname "$0")" && pwd)
rec="$TRACKFS_BIN_DIR/tests/harness/libtfs_crashrec.so"
[ -f "$rec" ] || fail "the recorder is not built: $rec"
seed=${TFS_POWER_LOSS_SEED:-$(((RANDOM << 15) | RANDOM))}
states=${TFS_POWER_LOSS_STATES:-50}
rounds=${TFS_POWER_LOSS_ROUNDS:-4}
echo "power loss: seed $seed (TFS_POWER_LOSS_SEED=$seed chooses the same workload and crash states)"

# The checker mounts the crash states on a mount point of its own.
power_loss_teardown() {
	local rc=$?
	if mountpoint -q "$TFS_TMP/states/mnt" 2>/dev/null; then
		fusermount3 -uz "$TFS_TMP/states/mnt" 2>/dev/null || true
	fi
	tfs_teardown "$rc"
}
trap power_loss_teardown EXIT

step "copy the volume as mkfs left it (the state before the first recorded write)"
mkdir "$TFS_TMP/pristine"
cp -a "$TFS_TMP/disk1" "$TFS_TMP/disk2" "$TFS_TMP/pristine/"

step "mount with the recorder preloaded into the daemon"
cat >"$TFS_TMP/recorded-trackfs" <<EOF
#!/bin/sh
exec env LD_PRELOAD="$rec" TFS_CRASHREC_LOG="$TFS_TMP/ops.log" \\
	TFS_CRASHREC_DIRS="$TFS_TMP/disk1:$TFS_TMP/disk2" "$TFS_DAEMON" "\$@"
EOF
chmod +x "$TFS_TMP/recorded-trackfs"
daemon=$TFS_DAEMON
TFS_DAEMON="$TFS_TMP/recorded-trackfs"
tfs_mount
TFS_DAEMON=$daemon

step "run the workload ($rounds rounds), journalling what was acknowledged"
python3 "$here/power_loss_workload.py" "$TFS_MNT" "$TFS_TMP/journal" "$seed" "$rounds" ||
	fail "the workload failed on the live mount"
tfs_umount
echo "recorded $(du -h "$TFS_TMP/ops.log" | cut -f1) of operations"

step "rebuild $states random crash states and one after each file creation, recover and check each"
keep=()
[ "${TFS_KEEP:-0}" = 1 ] && keep=(--keep)
python3 "$here/power_loss_check.py" --log "$TFS_TMP/ops.log" --journal "$TFS_TMP/journal" \
	--root "$TFS_TMP/disk1:$TFS_TMP/pristine/disk1" \
	--root "$TFS_TMP/disk2:$TFS_TMP/pristine/disk2" --meta meta \
	--work "$TFS_TMP/states" --bin "$TRACKFS_BIN_DIR" --states "$states" --seed "$seed" \
	--self-test "${keep[@]}" || fail "crash states lost or corrupted data (seed $seed, details above)"
