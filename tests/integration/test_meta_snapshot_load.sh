#!/usr/bin/env bash
# Index snapshots taken while the volume is busy: mounted with
# -o snapshot_interval=1, 4 writers (small files, each written and fsynced;
# some removed) and a reader run for ~15 s while the daemon keeps
# snapshotting. The writers' create and write+fsync latencies are printed
# (only a robust bound is asserted: CI machines are noisy). Then every
# snapshot, those on the disks and those copied off while the load ran, is
# restored (fsck.trackfs --restore-meta) into a copy of the volume whose
# metadata directory is gone: fsck.trackfs must find the restored volume
# clean, and mounted read-only it must serve every file of the writers with
# its bytes (or a prefix of them: one being written at the snapshot). The one
# taken at unmount must restore everything: the tree the volume gives back
# when remounted, byte for byte.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/disks.sh"
LOADPY="$(dirname "$0")/meta_snapshot_load.py"
SECONDS_LOAD=${TFS_META_LOAD_SECONDS:-15}
MAX_LATENCY=2.0 # seconds: far above anything sane, below a stall
MAX_CHECKED=6   # snapshots copied off under load that are restored (evenly spread)

tfs_setup python3 sha256sum
disks_mkfs3
DISKS=("$TFS_TMP/disk0" "$TFS_TMP/disk1" "$TFS_TMP/disk2")

# restore_check SNAPSHOT NAME: restore SNAPSHOT into a fresh copy of the
# (unmounted) volume with its metadata directory removed; fsck.trackfs must
# then find it clean. Sets RESTORE_RC to the restore's exit status (0, or 1:
# files moved to /lost+found).
restore_check() {
	local snap=$1 name=$2 scr="$TFS_TMP/scratch" rc=0 d
	rm -rf "$scr"
	mkdir -p "$scr"
	for d in "${DISKS[@]}"; do
		cp -a "$d" "$scr/" || fail "copying $d for $name"
	done
	rm -rf "$scr/disk0/meta" # the metadata directory is lost
	# A snapshot on the disks is read from the copy: the originals stay as they are.
	case $snap in
	"$TFS_TMP"/disk[0-2]/*) snap="$scr/${snap#"$TFS_TMP"/}" ;;
	esac
	"$TFS_FSCK" --restore-meta --disk "$scr/disk0" --disk "$scr/disk1" --disk "$scr/disk2" \
		--from "$snap" "$scr/meta" >"$TFS_TMP/restore.$name.log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
		cat "$TFS_TMP/restore.$name.log" >&2
		fail "restoring $name ($snap) failed with exit $rc (output above)"
	fi
	[ -f "$scr/meta/volume.conf" ] || fail "the restore of $name wrote no $scr/meta/volume.conf"
	# The restored volume file must name the copies, not the original disks.
	local paths
	paths=$(sed -n 's/^disk = [0-9]* [^ ]* //p' "$scr/meta/volume.conf")
	check_eq "$(printf '%s\n' "$paths" | grep -c "^$scr/disk[0-2]\$")" 3 \
		"disks named in the volume file restored from $name: ${paths//$'\n'/ }"
	local out frc=0
	out=$("$TFS_FSCK" "$scr/meta" 2>&1) || frc=$?
	if [ "$frc" -ne 0 ]; then
		echo "$out" >&2
		cat "$TFS_TMP/restore.$name.log" >&2
		fail "fsck.trackfs of the volume restored from $name exits $frc (output above)"
	fi
	RESTORE_RC=$rc
	echo "$name: restored (exit $rc), fsck clean"
}

tfs_mount -o snapshot_interval=1
mkdir -p "$TFS_MNT/load" "$TFS_TMP/lat" "$TFS_TMP/saved"
rm -f "$TFS_TMP/stop"

step "4 writers and a reader for ${SECONDS_LOAD} s while the daemon snapshots every second"
log_before=$(wc -l <"$TFS_LOG")
pids=()
dirs=""
for w in 1 2 3 4; do
	python3 "$LOADPY" writer "$TFS_MNT/load/w$w" "$w" "$TFS_TMP/stop" "$TFS_TMP/lat/w$w.json" \
		>"$TFS_TMP/writer.$w.log" 2>&1 &
	pids+=($!)
	dirs="$dirs${dirs:+:}$TFS_MNT/load/w$w"
done
python3 "$LOADPY" reader "$dirs" "$TFS_TMP/stop" "$TFS_TMP/lat/reader.json" \
	>"$TFS_TMP/reader.log" 2>&1 &
pids+=($!)
# Keep a copy of every snapshot published while the load runs (the daemon
# keeps only the newest three per disk). They are renamed into place whole.
end=$((SECONDS + SECONDS_LOAD))
while [ "$SECONDS" -lt "$end" ]; do
	for f in "$TFS_TMP"/disk0/meta-snapshots/index-*.snap; do
		[ -e "$f" ] || continue
		b=$(basename "$f")
		[ -e "$TFS_TMP/saved/$b" ] && continue
		cp "$f" "$TFS_TMP/saved/.tmp" 2>/dev/null && mv "$TFS_TMP/saved/.tmp" "$TFS_TMP/saved/$b"
	done
	for p in "${pids[@]}"; do
		kill -0 "$p" 2>/dev/null || break 2 # one died early: its status is checked below
	done
	sleep 0.2
done
touch "$TFS_TMP/stop"
for p in "${pids[@]}"; do
	wait "$p" || {
		cat "$TFS_TMP"/writer.*.log "$TFS_TMP/reader.log" >&2
		fail "a writer or the reader failed (logs above)"
	}
done
cat "$TFS_TMP"/writer.*.log "$TFS_TMP/reader.log"
log_after=$(wc -l <"$TFS_LOG")

step "several snapshots were taken during the run"
during=$(sed -n "$((log_before + 1)),${log_after}p" "$TFS_LOG" | grep -c 'index snapshot at commit' || true)
saved=$(find "$TFS_TMP/saved" -name 'index-*.snap' | wc -l)
echo "snapshots logged during the load: $during; copied off: $saved"
sed -n "$((log_before + 1)),${log_after}p" "$TFS_LOG" | grep 'index snapshot at commit' |
	sed -E 's/.*\(([0-9]+) bytes, ([0-9.]+) s\).*/\1 \2/' |
	awk '{ n++; t += $2; if ($2 > m) m = $2; b = $1 } END {
		if (n) printf "snapshot: %d taken, %.3f s on average, %.3f s at most, last %d bytes\n", n, t / n, m, b }'
[ "$during" -ge 3 ] || fail "only $during snapshots were logged during ${SECONDS_LOAD} s at an interval of 1 s"
[ "$saved" -ge 3 ] || fail "only $saved snapshot files appeared in disk0/meta-snapshots during the load"
if grep -Ei 'snapshot.*(failed|cannot)|no snapshot' "$TFS_LOG"; then
	fail "the daemon reports a failed snapshot (above)"
fi

step "the writers' latencies while snapshots are taken (printed; only max < ${MAX_LATENCY} s is asserted)"
stats=$(python3 "$LOADPY" stats "$TFS_TMP"/lat/*.json)
printf '%s\n' "$stats" | sed '$d'
worst=$(printf '%s\n' "$stats" | tail -n 1)
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" \
	"$worst" "$MAX_LATENCY" || fail "a create or write+fsync took ${worst} s (bound ${MAX_LATENCY} s)"

step "every file holds its bytes; unmount (a snapshot at close), and the tree as remounted"
python3 "$LOADPY" check "$TFS_MNT"/load/w* || fail "a file reads back wrong"
tfs_umount
tfs_fsck
grep -q 'index snapshot at commit' <(sed -n "$((log_after + 1)),\$p" "$TFS_LOG") ||
	fail "no snapshot was taken at unmount"
# The tree to compare with is the one the volume gives back once remounted
# (read-only: no new snapshot at its close): while mounted, the kernel shows
# times of its own for files just written.
tfs_mount -o ro
tfs_snapshot "$TFS_MNT" >"$TFS_TMP/tree.orig"
tfs_umount

step "every snapshot restores into a copy of the volume that fsck finds clean"
# The snapshots on the disks (the same file on each disk is restored once,
# from the first disk's copy) and, evenly spread, those copied off under load.
declare -A seen=()
snaps=()
newest=""
for d in "${DISKS[@]}"; do
	n=0
	for f in "$d"/meta-snapshots/index-*.snap; do
		[ -e "$f" ] || continue
		n=$((n + 1))
		sum=$(sha256sum "$f" | cut -d' ' -f1)
		if [ -z "${seen[$sum]:-}" ]; then
			seen[$sum]=$f
			snaps+=("$f")
		fi
		if [ -z "$newest" ] || [[ $(basename "$f") > $(basename "$newest") ]]; then
			newest=$f
		fi
	done
	echo "$d/meta-snapshots: $n snapshots"
	[ "$n" -ge 1 ] || fail "no snapshot on $d"
done
mapfile -t under_load < <(find "$TFS_TMP/saved" -name 'index-*.snap' | sort)
total=${#under_load[@]}
for ((k = 0; k < MAX_CHECKED && k < total; k++)); do
	f=${under_load[$((k * total / (MAX_CHECKED < total ? MAX_CHECKED : total)))]}
	sum=$(sha256sum "$f" | cut -d' ' -f1)
	if [ -z "${seen[$sum]:-}" ]; then
		seen[$sum]=$f
		snaps+=("$f")
	fi
done
echo "restoring ${#snaps[@]} distinct snapshots (newest: $newest)"
snap_name() {
	case $1 in
	"$TFS_TMP"/saved/*) echo "saved-$(basename "$1" .snap)" ;;
	*) echo "$(basename "$(dirname "$(dirname "$1")")")-$(basename "$1" .snap)" ;;
	esac
}
META_ORIG=$TFS_META
for f in "${snaps[@]}"; do
	[ "$f" = "$newest" ] && continue # last: its restored copy is compared below
	restore_check "$f" "$(snap_name "$f")"
	# What the restored volume serves is right: every file in the writers'
	# directories holds its bytes, or a prefix of them (one being written
	# when the snapshot was taken); what changed since is in /lost+found.
	TFS_META="$TFS_TMP/scratch/meta"
	tfs_mount -o ro
	python3 "$LOADPY" check-partial "$TFS_MNT"/load/w* ||
		fail "a file of the volume restored from $(snap_name "$f") reads back wrong"
	tfs_umount
	TFS_META=$META_ORIG
done

step "the snapshot taken at unmount restores everything: the same tree, every byte"
restore_check "$newest" "newest-$(snap_name "$newest")"
check_eq "$RESTORE_RC" 0 "exit status of the restore of the snapshot taken at unmount"
TFS_META="$TFS_TMP/scratch/meta"
tfs_mount
tfs_snapshot "$TFS_MNT" >"$TFS_TMP/tree.restored"
diff "$TFS_TMP/tree.orig" "$TFS_TMP/tree.restored" >&2 ||
	fail "the volume restored from the snapshot taken at unmount differs from the one unmounted"
python3 "$LOADPY" check "$TFS_MNT"/load/w* || fail "a file of the restored volume reads back wrong"
tfs_umount
tfs_fsck
