# Helpers for the tests of disks that change (drain, replace, a disk that
# comes back), sourced after lib.sh and tfs_setup: a volume over three
# disks, where a file's bytes are, and a checked load in the background.
DISK="$TRACKFS_BIN_DIR/tools/trackfs-disk"
DEBUG="$TRACKFS_BIN_DIR/tools/trackfs-debug"
STATUS="$TRACKFS_BIN_DIR/tools/trackfs-status"
LOAD="$(dirname "${BASH_SOURCE[0]}")/drain_load.py"

# disks_mkfs3: replace lib.sh's two-disk volume by one over disk0..disk2 of
# $TFS_TMP, with no reserve (small test disks would be all reserve).
disks_mkfs3() {
	rm -rf "$TFS_TMP/disk1" "$TFS_TMP/disk2"
	mkdir -p "$TFS_TMP/disk0" "$TFS_TMP/disk1" "$TFS_TMP/disk2"
	TFS_META="$TFS_TMP/disk0/meta"
	"$TFS_MKFS" --disk "$TFS_TMP/disk0" --disk "$TFS_TMP/disk1" --disk "$TFS_TMP/disk2" \
		--reserve 0 >"$TFS_TMP/mkfs3.log" 2>&1 || fail "mkfs.trackfs over three disks"
}

# disk_of PATH OFFSET: the disk holding that byte of PATH (unmounted volume).
disk_of() {
	"$DEBUG" locate "$TFS_META" "$1" "$2" | awk '$1 == "disk" { print $2 }'
}

# disk_state N: disk N's state column in `trackfs disk list`.
disk_state() {
	# The state follows the RESERVE column ("... 0 B  state").
	# `disk list` exits 1 while a disk needs attention: not an error here.
	{ "$DISK" list "$TFS_META" || true; } | grep -E "^$1 " | sed -E 's/^.*B  //' || true
}

# load_start TAG MANIFEST: two writers (new files, appends, overwrites, each
# read back) in $TFS_MNT/load and a reader of the files MANIFEST lists, in
# the background until load_stop.
load_start() {
	rm -f "$TFS_TMP/stop"
	mkdir -p "$TFS_MNT/load"
	LOAD_PIDS=()
	for w in 1 2; do
		python3 "$LOAD" writer "$TFS_MNT/load" "$1$w" "$TFS_TMP/stop" "$TFS_TMP/man.$1$w" \
			>"$TFS_TMP/writer.$1$w.log" 2>&1 &
		LOAD_PIDS+=($!)
	done
	python3 "$LOAD" reader "$TFS_MNT" "$2" "$TFS_TMP/stop" >"$TFS_TMP/reader.$1.log" 2>&1 &
	LOAD_PIDS+=($!)
}
load_stop() {
	touch "$TFS_TMP/stop"
	for p in "${LOAD_PIDS[@]}"; do
		wait "$p" || {
			cat "$TFS_TMP"/writer.*.log "$TFS_TMP"/reader.*.log >&2
			fail "a writer or reader saw wrong bytes (logs above)"
		}
	done
}
# load_verify: every file the writers made reads back as they wrote it.
load_verify() {
	for m in "$TFS_TMP"/man.*; do
		(cd "$TFS_MNT/load" && sha256sum -c --quiet "$m") || fail "files of $m read back wrong"
	done
}

# kill9: kill the daemon like a crash, and clear the dead mount.
kill9() {
	kill -9 "$TFS_PID"
	wait "$TFS_PID" 2>/dev/null || true
	TFS_PID=""
	fusermount3 -uz "$TFS_MNT" 2>/dev/null || true
}

# wait_state N REGEX SECONDS: until disk N's state matches; prints it.
wait_state() {
	local s=""
	for _ in $(seq $(($3 * 10))); do
		s=$(disk_state "$1")
		if [[ $s =~ $2 ]]; then
			echo "$s"
			return 0
		fi
		sleep 0.1
	done
	fail "disk $1 is not '$2' after $3 s: $s"
}
