#!/usr/bin/env bash
# `trackfs disk drain` under load (issue 9): a volume over three disks, files
# with checksums; writers (new files, appends, overwrites, each read back) and
# readers run while disk 1 drains through the daemon at a limited rate; the
# daemon is killed (-9) mid-drain, and the next mount goes on with the drain
# by itself until the disk is drained. Every byte is verified, no chunk is
# left on the drained disk, files made during the drain never went to it,
# `disk list` and `status` show the states, a piped CLI is silent and its
# Ctrl-C leaves the daemon's drain going, drained disks are removed,
# and fsck is clean.
source "$(dirname "$0")/lib.sh"
tfs_setup python3 sha256sum
source "$(dirname "$0")/disks.sh"
T=$TFS_TMP
disks_mkfs3

# disk1_state: "draining NN% (X of Y)" or "drained" for disk 1, from `disk list`.
disk1_state() {
	"$DISK" list "$TFS_META" | grep -E '^1 ' | grep -oE 'draining [0-9]+% \([^)]*\)|drained' || true
}
step "base files: 48 files of 1 MiB spread over the three disks"
tfs_mount
for i in $(seq -w 1 48); do
	head -c $((1 << 20)) /dev/urandom >"$TFS_MNT/base$i"
done
sync
(cd "$TFS_MNT" && sha256sum base*) >"$T/base.sha"
tfs_umount
on1=0
for i in $(seq -w 1 48); do
	[ "$(disk_of "/base$i" 0)" = 1 ] && on1=$((on1 + 1))
done
echo "base files on disk 1: $on1"
[ "$on1" -ge 4 ] || fail "too few base files on disk 1 ($on1) for a drain to test"

step "drain disk 1 through the daemon at 2 MiB/s, under load; kill -9 mid-drain"
tfs_mount
load_start a "$T/base.sha"
"$DISK" drain "$TFS_META" 1 --rate 2M/s >"$T/drain1.out" 2>"$T/drain1.err" &
DRAIN_CLI=$!
seen=""
for _ in $(seq 100); do
	s=$(disk1_state)
	case "$s" in draining*) seen=$s ;; esac
	pct=$(echo "$s" | sed -n 's/^draining \([0-9]*\)%.*/\1/p')
	[ -n "$pct" ] && [ "$pct" -ge 15 ] && break
	sleep 0.1
done
echo "disk 1: $s"
[ -n "$seen" ] || fail "disk list never showed disk 1 draining (last: $s)"
case "$s" in draining*) ;; *) fail "disk 1 is no longer draining before the kill: $s" ;; esac
"$STATUS" "$TFS_META" | grep -E '^1 .*draining [0-9]+% \(' ||
	fail "trackfs status does not show disk 1 draining"
# Ctrl-C of the CLI leaves the daemon's drain going.
kill -INT "$DRAIN_CLI"
rc=0
wait "$DRAIN_CLI" || rc=$?
check_eq "$rc" 1 "exit status of the drain CLI after Ctrl-C"
grep -q "the daemon goes on draining disk 1" "$T/drain1.err" ||
	fail "the drain CLI did not say the drain goes on: $(cat "$T/drain1.err")"
sleep 1
s2=$(disk1_state)
pct2=$(echo "$s2" | sed -n 's/^draining \([0-9]*\)%.*/\1/p')
echo "disk 1 a second after the CLI's Ctrl-C: $s2"
[ -n "$pct2" ] && [ "$pct2" -gt "$pct" ] || fail "the drain did not go on after the CLI's Ctrl-C"
load_stop
# Files made while disk 1 drains must not be on it (checked once unmounted).
ls "$TFS_MNT/load" >"$T/made-during"
case "$(disk1_state)" in draining*) ;; *) fail "the drain finished before the kill; lower the rate" ;; esac
kill9
if [ -s "$T/drain1.out" ]; then
	fail "the piped drain CLI printed on stdout: $(cat "$T/drain1.out")"
fi
if grep -q '\[#*\.*\]' "$T/drain1.err"; then
	fail "the drain CLI drew a progress bar into a pipe"
fi
while read -r f; do
	if [ "$(disk_of "/load/$f" 0)" = 1 ]; then
		fail "/load/$f, made during the drain, is on disk 1"
	fi
done <"$T/made-during"
echo "$(wc -l <"$T/made-during") files made during the drain, none on disk 1"

step "remount: the daemon goes on with the drain by itself, under load"
tfs_mount
load_start b "$T/base.sha"
for _ in $(seq 600); do
	s=$(disk1_state)
	case "$s" in drained*) break ;; esac
	sleep 0.1
done
echo "disk 1: $s"
case "$s" in drained*) ;; *) fail "the resumed drain did not finish in 60 s: $s" ;; esac
grep -q "going on with the interrupted drain" "$TFS_LOG" ||
	fail "the daemon's log does not say it resumed the drain"
sleep 0.5
load_stop
"$STATUS" "$TFS_META" | grep -E '^1 .*drained' || fail "trackfs status does not show disk 1 drained"
step "every byte: base files, and everything the writers made, after a remount"
tfs_umount
tfs_mount
(cd "$TFS_MNT" && sha256sum -c --quiet "$T/base.sha") || fail "base files read back wrong"
load_verify

step "a drained disk drains at once; --stop with nothing to stop"
"$DISK" drain "$TFS_META" 1 >"$T/drain2.out" || fail "drain of a drained disk"
grep -q "is drained" "$T/drain2.out" || fail "drain of a drained disk: $(cat "$T/drain2.out")"
expect_fail "drain --stop when no drain runs" "$DISK" drain --stop "$TFS_META" 1
expect_fail "drain of a disk that does not exist" "$DISK" drain "$TFS_META" 7
rc=0
"$DISK" drain "$TFS_META" >/dev/null 2>&1 || rc=$?
check_eq "$rc" 2 "exit status of drain without a disk"
tfs_umount

step "disk 1 holds no chunk; fsck clean"
"$STATUS" "$TFS_META" | awk '$1 == "1" { print; if ($4 != 0) exit 1 }' ||
	fail "disk 1 still has chunks in use"
for f in $(cd "$T" && awk '{ print $2 }' base.sha); do
	if [ "$(disk_of "/$f" 0)" = 1 ]; then
		fail "/$f is still on disk 1"
	fi
done
tfs_fsck

step "disk remove: refused for an undrained disk, a mounted volume"
expect_fail "remove of disk 2 (not drained)" "$DISK" remove "$TFS_META" 2
tfs_mount
expect_fail "remove on a mounted volume" "$DISK" remove "$TFS_META" 2
tfs_umount

step "drain disk 2 of the unmounted volume from the CLI, remove it, remount"
"$DISK" drain "$TFS_META" "$T/disk2" >"$T/drain3.out" 2>"$T/drain3.err" ||
	fail "drain of disk 2 (unmounted): $(cat "$T/drain3.err")"
grep -q "Disk 2 is drained" "$T/drain3.out" || fail "drain of disk 2: $(cat "$T/drain3.out")"
"$DISK" remove "$TFS_META" 2 || fail "remove of the drained disk 2"
if grep -q "^disk = 2 " "$TFS_META/volume.conf"; then fail "disk 2 is still in volume.conf"; fi
tfs_fsck
tfs_mount
check_eq "$("$DISK" list "$TFS_META" | grep -cE '^[0-9]+ ')" 2 "disks listed after the remove"
(cd "$TFS_MNT" && sha256sum -c --quiet "$T/base.sha") || fail "base files read back wrong"
load_verify
tfs_umount
tfs_fsck
