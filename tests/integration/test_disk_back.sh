#!/usr/bin/env bash
# A missing disk coming back while mounted (issue 9): the volume mounts with
# disk 1's directory lacking its identity file (its device not mounted yet),
# its files give EIO; once the identity file is back, within ~10 s and
# without a remount, they read back byte-exact. A file deleted while the disk
# was away leaves its free lists stale: the disk then takes no new data until
# the next mount, which rebuilds them; fsck is clean.
source "$(dirname "$0")/lib.sh"
tfs_setup sha256sum
DEBUG="$TRACKFS_BIN_DIR/tools/trackfs-debug"
T=$TFS_TMP
D1="$T/disk2" # disk 1 of the volume

disk_of() {
	"$DEBUG" locate "$TFS_META" "$1" "$2" | awk '$1 == "disk" { print $2 }'
}

step "16 files of 256 KiB over the two disks"
tfs_mount
for i in $(seq -w 1 16); do
	head -c $((256 << 10)) /dev/urandom >"$TFS_MNT/f$i"
done
(cd "$TFS_MNT" && sha256sum f*) >"$T/all.sha"
tfs_umount
on1=()
for i in $(seq -w 1 16); do
	[ "$(disk_of "/f$i" 0)" = 1 ] && on1+=("f$i")
done
echo "files on disk 1: ${#on1[@]}"
[ "${#on1[@]}" -ge 3 ] || fail "too few files on disk 1 (${#on1[@]})"

step "disk 1 without its identity file: mounted degraded, its files give EIO"
mv "$D1/trackfs-disk" "$T/identity.away"
tfs_mount
expect_fail "read of /${on1[0]} while disk 1 is missing" cat "$TFS_MNT/${on1[0]}"
grep -q "disk 1 .* is missing" "$TFS_LOG" || fail "the daemon did not say disk 1 is missing"

step "the identity file is back: within 10 s the files read byte-exact, no remount"
mv "$T/identity.away" "$D1/trackfs-disk"
ok=""
for _ in $(seq 100); do
	if cat "$TFS_MNT/${on1[0]}" >/dev/null 2>&1; then
		ok=1
		break
	fi
	sleep 0.1
done
[ -n "$ok" ] || { cat "$TFS_LOG" >&2; fail "disk 1's files still give EIO 10 s after it came back"; }
(cd "$TFS_MNT" && sha256sum -c --quiet "$T/all.sha") || fail "bytes differ after disk 1 came back"
grep -q "disk 1 .* is back: its files read again and new data may go to it" "$TFS_LOG" ||
	fail "the daemon did not log disk 1 coming back"
tfs_umount
tfs_fsck

step "a file deleted while disk 1 was away: back for reads only until the next mount"
mv "$D1/trackfs-disk" "$T/identity.away"
tfs_mount
rm "$TFS_MNT/${on1[0]}" || fail "rm of a file on the missing disk"
grep -v "  ${on1[0]}\$" "$T/all.sha" >"$T/rest.sha"
mv "$T/identity.away" "$D1/trackfs-disk"
ok=""
for _ in $(seq 100); do
	if cat "$TFS_MNT/${on1[1]}" >/dev/null 2>&1; then
		ok=1
		break
	fi
	sleep 0.1
done
[ -n "$ok" ] || fail "disk 1's files still give EIO 10 s after it came back (stale free lists)"
(cd "$TFS_MNT" && sha256sum -c --quiet "$T/rest.sha") || fail "bytes differ after disk 1 came back"
grep -q "disk 1 .* is back: its files read again; it takes no new data until the volume is mounted again" \
	"$TFS_LOG" || fail "the daemon did not say disk 1 takes no new data until a remount"
for i in $(seq 1 8); do
	head -c $((64 << 10)) /dev/urandom >"$TFS_MNT/new$i"
done
tfs_umount
for i in $(seq 1 8); do
	[ "$(disk_of "/new$i" 0)" = 0 ] || fail "/new$i went to disk 1, whose free lists are stale"
done
tfs_mount
(cd "$TFS_MNT" && sha256sum -c --quiet "$T/rest.sha") || fail "bytes differ after the remount"
tfs_umount
tfs_fsck
echo "PASS"
