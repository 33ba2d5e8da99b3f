#!/usr/bin/env bash
# trackfs status --json and trackfs disk list --json, parsed with python3's
# json: the volume's identity, a 3 MiB file making the used bytes of the
# volume and of its disk grow by at least that much (mounted: from the
# daemon; unmounted: from the metadata), the disk counts and field names of
# README "JSON output", and a disk moved away showing as missing (exit 1).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
tfs_setup
STATUS="$TRACKFS_BIN_DIR/tools/trackfs-status"
DISK="$TRACKFS_BIN_DIR/tools/trackfs-disk"

# field JSONFILE EXPR: evaluate EXPR over the parsed object j.
field() {
	"$PY" -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

step "unmounted, empty: identity, state, fields"
"$STATUS" --json "$TFS_META" >"$TFS_TMP/s0.json" || fail "status --json exit $? on a clean volume"
check_eq "$(field "$TFS_TMP/s0.json" 'j["volume"]["label"]')" it "label"
check_eq "$(field "$TFS_TMP/s0.json" 'j["volume"]["state"]')" clean "state"
check_eq "$(field "$TFS_TMP/s0.json" 'j["volume"]["mounted"]')" False "mounted"
check_eq "$(field "$TFS_TMP/s0.json" 'j["volume"]["inodes"]')" 1 "inodes"
check_eq "$(field "$TFS_TMP/s0.json" 'j["volume"]["chunk_size"]')" 4096 "chunk size"
check_eq "$(field "$TFS_TMP/s0.json" 'len(j["disks"])')" 2 "disks"
check_eq "$(field "$TFS_TMP/s0.json" '[d["path"] for d in j["disks"]]')" \
	"['$TFS_TMP/disk1', '$TFS_TMP/disk2']" "disk paths"
check_eq "$(field "$TFS_TMP/s0.json" 'sorted(j["disks"][0])')" \
	"['at_reserve', 'bytes_free', 'bytes_on_disk', 'bytes_total', 'bytes_used', 'chunks_free', 'chunks_used', 'drain', 'errors', 'health', 'id', 'path', 'reserve_bytes', 'shares_fs_with', 'snapshot', 'stale_chunks', 'state', 'tracks', 'uuid']" \
	"disk fields"
check_eq "$(field "$TFS_TMP/s0.json" 'sorted(j["disks"][0]["errors"])')" \
	"['checksum', 'io', 'read', 'write']" "error fields"
check_eq "$(field "$TFS_TMP/s0.json" 'j["scrub"]["state"], j["scrub"]["last_run"], j["mirror"]')" \
	"('never', None, None)" "scrub and mirror"
uuid=$(field "$TFS_TMP/s0.json" 'j["volume"]["uuid"]')
grep -q "$uuid" "$TFS_META/volume.conf" || fail "uuid $uuid is not the one in volume.conf"
used0=$(field "$TFS_TMP/s0.json" 'j["volume"]["bytes_used"]')

step "mounted: a 3 MiB file grows the used bytes (from the daemon)"
tfs_mount
head -c $((3 << 20)) /dev/urandom >"$TFS_MNT/f"
sync "$TFS_MNT/f"
"$STATUS" "$TFS_MNT" --json >"$TFS_TMP/s1.json" || fail "status --json exit $? while mounted"
check_eq "$(field "$TFS_TMP/s1.json" 'j["volume"]["mounted"], j["volume"]["state"]')" \
	"(True, 'in_use')" "mounted"
check_eq "$(field "$TFS_TMP/s1.json" 'j["volume"]["uuid"]')" "$uuid" "uuid from the daemon"
check_eq "$(field "$TFS_TMP/s1.json" 'j["volume"]["inodes"]')" 2 "inodes"
grow=$(($(field "$TFS_TMP/s1.json" 'j["volume"]["bytes_used"]') - used0))
[ "$grow" -ge $((3 << 20)) ] || fail "used bytes grew by $grow, want >= 3 MiB"
dgrow=$(field "$TFS_TMP/s1.json" 'sum(d["bytes_used"] for d in j["disks"])')
[ "$dgrow" -ge $((3 << 20)) ] || fail "the disks' used bytes are $dgrow, want >= 3 MiB"
"$DISK" list "$TFS_META" --json >"$TFS_TMP/d1.json" || fail "disk list --json exit $?"
check_eq "$(field "$TFS_TMP/d1.json" 'j["mounted"], j["ok"], [d["health"] for d in j["disks"]]')" \
	"(True, True, ['ok', 'ok'])" "disk list while mounted"
check_eq "$(field "$TFS_TMP/d1.json" 'sum(d["bytes_used"] for d in j["disks"])')" "$dgrow" \
	"disk list agrees with status"
tfs_umount

step "unmounted: the same figures from the metadata"
"$STATUS" --json "$TFS_META" >"$TFS_TMP/s2.json" || fail "status --json exit $? after unmount"
check_eq "$(field "$TFS_TMP/s2.json" 'sum(d["bytes_used"] for d in j["disks"])')" "$dgrow" \
	"used bytes after unmount"
check_eq "$(field "$TFS_TMP/s2.json" 'len(j["snapshots"]) >= 1')" True "snapshots listed"

step "a disk moved away shows as missing (exit 1)"
mv "$TFS_TMP/disk2" "$TFS_TMP/disk2.away"
rc=0
"$DISK" list --json "$TFS_META" >"$TFS_TMP/d2.json" || rc=$?
check_eq "$rc" 1 "disk list exit with a disk missing"
check_eq "$(field "$TFS_TMP/d2.json" 'j["ok"], [(d["id"], d["health"], d["state"]) for d in j["disks"]]')" \
	"(False, [(0, 'ok', 'ok'), (1, 'missing', 'missing')])" "disk list with disk 1 missing"
rc=0
"$STATUS" --json "$TFS_META" >"$TFS_TMP/s3.json" || rc=$?
check_eq "$rc" 1 "status exit with a disk missing"
check_eq "$(field "$TFS_TMP/s3.json" 'j["ok"], j["disks"][1]["health"]')" "(False, 'missing')" \
	"status with disk 1 missing"
mv "$TFS_TMP/disk2.away" "$TFS_TMP/disk2"
tfs_fsck
