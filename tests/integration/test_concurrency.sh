#!/usr/bin/env bash
# Several processes write their own files while others append JSON lines to one
# shared file under flock and rename temp files into date-partitioned
# directories: every line present, none torn, no zero-byte file.
source "$(dirname "$0")/lib.sh"
tfs_setup python3 dd
tfs_mount

writers=6
lines=2000
step "$writers appenders ($lines JSON lines each) and 3 bulk writers at once"
pids=()
for w in $(seq 1 $writers); do
	python3 "$(dirname "$0")/jsonl_writer.py" "$TFS_MNT/shared.jsonl" "$TFS_MNT/lake" "$w" "$lines" &
	pids+=($!)
done
for b in 1 2 3; do
	dd if=/dev/urandom of="$TFS_TMP/bulk$b" bs=1M count=24 status=none
	(cp "$TFS_TMP/bulk$b" "$TFS_MNT/bulk$b" && cmp "$TFS_TMP/bulk$b" "$TFS_MNT/bulk$b") &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || fail "a writer (pid $p) failed"
done

check_lines() {
	python3 - "$1" "$writers" "$lines" <<'PY'
import hashlib, json, sys
path, writers, lines = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seen = {}
with open(path, "rb") as f:
    for n, raw in enumerate(f, 1):
        try:
            rec = json.loads(raw)
        except ValueError:
            sys.exit(f"line {n} is torn or garbled: {raw[:80]!r}")
        want = rec.pop("sum")
        if hashlib.sha256(json.dumps(rec, sort_keys=True).encode()).hexdigest() != want:
            sys.exit(f"line {n} has a wrong checksum")
        key = (rec["writer"], rec["seq"])
        if key in seen:
            sys.exit(f"line {n} duplicates line {seen[key]}")
        seen[key] = n
missing = writers * lines - len(seen)
if missing:
    sys.exit(f"{missing} lines are missing")
print(f"all {len(seen)} lines present, none torn")
PY
}
step "every JSON line is present and whole"
check_lines "$TFS_MNT/shared.jsonl" || fail "shared.jsonl is damaged"
step "no zero-byte or leftover temp file in the partitions"
[ -z "$(find "$TFS_MNT/lake" -type f -size 0)" ] || fail "zero-byte files in the lake"
[ -z "$(find "$TFS_MNT/lake" -name '.tmp-*')" ] || fail "temp files left behind"
check_eq "$(find "$TFS_MNT/lake" -type f | wc -l)" "$((writers * lines / 50))" "partition files"

step "unmount, fsck, remount: still whole"
tfs_umount
tfs_fsck
tfs_mount
check_lines "$TFS_MNT/shared.jsonl" || fail "shared.jsonl is damaged after remount"
for b in 1 2 3; do
	cmp "$TFS_TMP/bulk$b" "$TFS_MNT/bulk$b" || fail "bulk$b differs after remount"
done
tfs_umount
tfs_fsck
