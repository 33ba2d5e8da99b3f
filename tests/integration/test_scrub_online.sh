#!/usr/bin/env bash
# Online scrub (trackfs scrub) of a mounted volume: a flipped chunk is found
# and named by path while a reader keeps reading another file byte-exact;
# status shows the outcome; the rate limit is kept (within 20%); a scrub
# interrupted by an unmount goes on at the next mount; -o scrub_every starts
# one by itself. fsck.trackfs --scrub agrees at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
tfs_setup
B=$TRACKFS_BIN_DIR
SCRUB="$B/tools/trackfs-scrub"
DEBUG="$B/tools/trackfs-debug"

step "write files, flip one byte of one chunk of /dir/b while unmounted"
tfs_mount
mkdir "$TFS_MNT/dir"
head -c $((24 << 20)) /dev/urandom >"$TFS_TMP/a"
head -c $((1 << 20)) /dev/urandom >"$TFS_TMP/b"
cp "$TFS_TMP/a" "$TFS_MNT/a"
cp "$TFS_TMP/b" "$TFS_MNT/dir/b"
tfs_umount
l=$("$DEBUG" locate "$TFS_META" /dir/b 131072) || fail "locate /dir/b"
file=$(awk '$1 == "file" { print $2 }' <<<"$l")
off=$(awk '$1 == "offset" { print $2 }' <<<"$l")
[ -n "$file" ] && [ -n "$off" ] || fail "locate printed: $l"
byte=$(od -An -tu1 -j $((off + 7)) -N1 "$file" | tr -d ' ')
printf "\\$(printf '%03o' $((255 - byte)))" | dd of="$file" bs=1 seek=$((off + 7)) conv=notrunc status=none

step "trackfs scrub finds it by path while a reader reads /a"
tfs_mount
want=$(md5sum <"$TFS_TMP/a")
(
	while [ ! -e "$TFS_TMP/stop-reader" ]; do
		got=$(md5sum <"$TFS_MNT/a") || { echo "read error" >"$TFS_TMP/reader-bad"; exit 1; }
		[ "$got" = "$want" ] || { echo "wrong bytes" >"$TFS_TMP/reader-bad"; exit 1; }
		echo x >>"$TFS_TMP/reader-rounds"
	done
) &
reader=$!
rc=0
"$SCRUB" --rate 0 "$TFS_MNT" >"$TFS_TMP/scrub.out" 2>&1 || rc=$?
touch "$TFS_TMP/stop-reader"
wait "$reader" || true
cat "$TFS_TMP/scrub.out"
check_eq "$rc" 1 "exit status of a scrub that finds a bad chunk"
grep -q "^  /dir/b	inode [0-9]* offset 131072 .*checksum mismatch" "$TFS_TMP/scrub.out" ||
	fail "the bad chunk is not named by path and offset"
grep -q "Scrub done: .* 1 bad chunk" "$TFS_TMP/scrub.out" || fail "no summary"
[ ! -e "$TFS_TMP/reader-bad" ] || fail "the reader saw: $(cat "$TFS_TMP/reader-bad")"
[ -s "$TFS_TMP/reader-rounds" ] || fail "the reader did not finish one round during the scrub"
grep -q "scrub: /dir/b (inode [0-9]*) at offset 131072: checksum mismatch" "$TFS_LOG" ||
	fail "the daemon's log does not name /dir/b"
rc=0
"$B/tools/trackfs-status" "$TFS_META" >"$TFS_TMP/status" || rc=$?
check_eq "$rc" 1 "status after a scrub with a bad chunk"
grep -q "^Scrub       done, .* 1 bad chunk" "$TFS_TMP/status" || fail "status: $(cat "$TFS_TMP/status")"
cmp "$TFS_TMP/a" "$TFS_MNT/a" || fail "/a changed"

step "the rate limit: 8 MiB/s"
rm -f "$TFS_MNT/dir/b"
t0=$(date +%s.%N)
"$SCRUB" --restart --rate 8M/s "$TFS_META" >"$TFS_TMP/scrub2.out" 2>&1 || fail "clean scrub: $(cat "$TFS_TMP/scrub2.out")"
t1=$(date +%s.%N)
cat "$TFS_TMP/scrub2.out"
grep -q "Scrub done: .* 0 bad chunks" "$TFS_TMP/scrub2.out" || fail "the clean scrub's summary"
python3 - "$t0" "$t1" $((24 << 20)) <<'EOF' || fail "rate outside 20% of 8 MiB/s"
import sys
t0, t1, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
rate = n / (t1 - t0) / (1 << 20)
print("scrub rate %.2f MiB/s (limit 8)" % rate)
sys.exit(0 if 6.4 <= rate <= 9.6 else 1)
EOF

step "an unmount interrupts it; the next mount goes on from where it was"
"$SCRUB" --restart --rate 4M/s --no-wait "$TFS_META" >/dev/null || fail "scrub --no-wait"
sleep 2
"$SCRUB" --status "$TFS_META" | grep -q "Scrub running" || fail "not running"
tfs_umount
grep -q "scrub of .*: interrupted at" "$TFS_LOG" || fail "the unmount did not say the scrub was interrupted"
grep -q "^state running" "$TFS_META/scrub.state" || fail "scrub.state: $(cat "$TFS_META/scrub.state")"
done_before=$(awk '$1 == "done" { print $2 }' "$TFS_META/scrub.state")
[ "$done_before" -gt 0 ] || fail "nothing was read before the unmount"
tfs_mount
grep -q "going on with the interrupted scrub" "$TFS_LOG" || fail "the mount did not resume the scrub"
"$SCRUB" --rate 0 "$TFS_META" >"$TFS_TMP/scrub3.out" 2>&1 || fail "resumed scrub: $(cat "$TFS_TMP/scrub3.out")"
grep -Eq "Scrub done: 24 MiB of about 2[45] MiB read, 0 bad chunks" "$TFS_TMP/scrub3.out" ||
	fail "the resumed scrub did not read the whole volume once: $(cat "$TFS_TMP/scrub3.out")"
tfs_umount

step "-o scrub_every starts a scrub by itself"
rm -f "$TFS_META/scrub.state"
tfs_mount -o scrub_every=1
for _ in $(seq 100); do
	"$B/tools/trackfs-status" "$TFS_META" | grep -q "^Scrub       done" && break
	sleep 0.1
done
"$B/tools/trackfs-status" "$TFS_META" | grep -q "^Scrub       done" || fail "no scheduled scrub ran"
grep -q "the scheduled scrub (every 1 s) begins" "$TFS_LOG" || fail "the log does not say so"
tfs_umount

step "not mounted: a clear refusal"
rc=0
"$SCRUB" "$TFS_META" >/dev/null 2>"$TFS_TMP/err" || rc=$?
check_eq "$rc" 1 "scrub of an unmounted volume"
grep -q "not mounted (scrub it unmounted with fsck.trackfs --scrub" "$TFS_TMP/err" || fail "$(cat "$TFS_TMP/err")"
"$TFS_FSCK" --scrub "$TFS_META" >/dev/null || fail "fsck --scrub after the scrubs"
