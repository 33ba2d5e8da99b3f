#!/usr/bin/env bash
# Conventions every binary keeps: --help (to stdout, exit 0) and --version
# ("NAME VERSION", exit 0); a bad option exits 2 (fsck.trackfs: 16, as
# fsck(8)); an error is printed once, by the program's own name. Logging: the
# daemons' lines carry a timestamp; a daemon in the background with no syslog
# on /dev/log appends them to META/trackfs.log (and says so), with one it
# logs there. `trackfs status` takes a mount point as well as the volume.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
tfs_setup
B=$TRACKFS_BIN_DIR

bins=(fs/fuse/trackfs fs/s3/trackfs-s3 tools/mkfs.trackfs tools/fsck.trackfs tools/trackfs-status
	tools/trackfs-disk tools/trackfs-meta tools/trackfs-debug tools/trackfs-scrub tools/trackfs-bench-engine
	tools/trackfs-bench-meta tools/trackfs-control)
stamp_re='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}[+-][0-9]{4} '

step "--help, --version and a bad option, on every binary"
for b in "${bins[@]}"; do
	name=$(basename "$b")
	rc=0
	"$B/$b" --help >"$TFS_TMP/out" 2>"$TFS_TMP/err" || rc=$?
	check_eq "$rc" 0 "exit status of $name --help"
	[ -s "$TFS_TMP/out" ] || fail "$name --help printed nothing on stdout"
	[ ! -s "$TFS_TMP/err" ] || fail "$name --help wrote to stderr: $(cat "$TFS_TMP/err")"
	rc=0
	"$B/$b" --version >"$TFS_TMP/out" 2>&1 || rc=$?
	check_eq "$rc" 0 "exit status of $name --version"
	# trackfs-disk and trackfs-meta are `trackfs disk` and `trackfs meta`.
	want=$name
	case $name in trackfs-disk | trackfs-meta) want="trackfs ${name#trackfs-}" ;; esac
	grep -Eq "^$want [0-9]+\.[0-9]+\.[0-9]+" "$TFS_TMP/out" ||
		fail "$name --version printed: $(cat "$TFS_TMP/out")"
	rc=0
	"$B/$b" --no-such-option >/dev/null 2>"$TFS_TMP/err" || rc=$?
	want=2
	[ "$name" = fsck.trackfs ] && want=16
	check_eq "$rc" "$want" "exit status of $name --no-such-option"
	[ -s "$TFS_TMP/err" ] || fail "$name --no-such-option said nothing"
done

step "a subcommand's --help is the tool's help, on stdout, exit 0"
for cmd in "trackfs-disk drain --help" "trackfs-disk list --help" "fsck.trackfs --restore-meta --help" \
	"trackfs-meta restore --help" "trackfs-meta snapshot --help"; do
	set -- $cmd
	rc=0
	"$B/tools/$1" "${@:2}" >"$TFS_TMP/out" 2>"$TFS_TMP/err" || rc=$?
	check_eq "$rc" 0 "exit status of $cmd"
	grep -q '^Usage: ' "$TFS_TMP/out" || fail "$cmd printed no usage on stdout"
	[ ! -s "$TFS_TMP/err" ] || fail "$cmd wrote to stderr: $(cat "$TFS_TMP/err")"
done
# Their help gives the exit codes each really uses: 2 for bad usage, 16
# (fsck(8)'s) for fsck.trackfs and its --restore-meta.
"$B/tools/trackfs-meta" --help | grep -q "16" && fail "trackfs meta --help names 16 (it exits 2)"
"$B/tools/trackfs-meta" restore --help | grep -q "2 usage error" ||
	fail "trackfs meta restore --help does not say 2 for bad usage"
rc=0
"$B/tools/trackfs-meta" restore --no-such-option >/dev/null 2>&1 || rc=$?
check_eq "$rc" 2 "exit status of trackfs meta restore --no-such-option"
"$B/tools/fsck.trackfs" --restore-meta --help | grep -q "16 usage error" ||
	fail "fsck.trackfs --restore-meta --help does not say 16 for bad usage"

step "an unknown mount option is a usage error, found before the volume is opened"
rc=0
"$TFS_DAEMON" -o no_such_mount_option "$TFS_META" "$TFS_MNT" >/dev/null 2>"$TFS_TMP/err" || rc=$?
check_eq "$rc" 2 "exit status of trackfs -o no_such_mount_option"
grep -q "no_such_mount_option" "$TFS_TMP/err" || fail "the error does not name the option: $(cat "$TFS_TMP/err")"
grep -q "opened\|snapshot" "$TFS_TMP/err" && fail "the volume was opened first: $(cat "$TFS_TMP/err")"
mountpoint -q "$TFS_MNT" && fail "mounted anyway"

step "an error is printed once, prefixed by the program's name"
novol="$TFS_TMP/not-a-volume"
mkdir -p "$novol"
for cmd in "trackfs-status $novol" "trackfs-debug ls $novol /" "trackfs-disk list $novol" \
	"trackfs-meta snapshot $novol" "trackfs-control version $novol" "fsck.trackfs $novol"; do
	set -- $cmd
	name=$1
	shift
	rc=0
	"$B/tools/$name" "$@" >/dev/null 2>"$TFS_TMP/err" || rc=$?
	[ "$rc" -ne 0 ] || fail "$cmd succeeded on a directory that is no volume"
	n=$(grep -c "$novol" "$TFS_TMP/err" || true)
	[ "$n" -ge 1 ] || fail "$cmd: the error does not name $novol: $(cat "$TFS_TMP/err")"
	sort "$TFS_TMP/err" | uniq -d | grep -q . &&
		fail "$cmd printed a line twice: $(cat "$TFS_TMP/err")"
	if grep -v "^$name: " "$TFS_TMP/err" | grep -q .; then
		fail "$cmd: a line does not start with '$name: ': $(cat "$TFS_TMP/err")"
	fi
	[ "$(wc -l <"$TFS_TMP/err")" -le 2 ] ||
		fail "$cmd: more than two lines for one error: $(cat "$TFS_TMP/err")"
done

step "a foreground daemon stamps its lines with the time; status takes the mount point"
tfs_mount
"$B/tools/trackfs-status" "$TFS_META" >"$TFS_TMP/st.meta" || fail "status of $TFS_META failed"
"$B/tools/trackfs-status" "$TFS_MNT" >"$TFS_TMP/st.mnt" || fail "status of the mount point failed"
grep -q "$TFS_META" "$TFS_TMP/st.mnt" || fail "status of the mount point: $(cat "$TFS_TMP/st.mnt")"
diff <(grep -v "ago" "$TFS_TMP/st.meta") <(grep -v "ago" "$TFS_TMP/st.mnt") ||
	fail "status of the mount point differs from status of the metadata directory"
# The daemon's socket answers root and the volume's owner only.
chmod o+rx "$TFS_TMP" "$TFS_TMP/disk1"
rc=0
setpriv --reuid=65534 --regid=65534 --clear-groups -- "$B/tools/trackfs-status" "$TFS_META" \
	>"$TFS_TMP/st.nobody" 2>&1 || rc=$?
check_eq "$rc" 1 "exit status of trackfs status run by nobody"
grep -q "answers only root and the owner of $TFS_META" "$TFS_TMP/st.nobody" ||
	fail "nobody was not refused clearly: $(cat "$TFS_TMP/st.nobody")"
grep -q "Disk" "$TFS_TMP/st.nobody" && fail "nobody was shown the disks: $(cat "$TFS_TMP/st.nobody")"
tfs_umount
rc=0
"$B/tools/trackfs-status" "$TFS_MNT" >/dev/null 2>"$TFS_TMP/err" || rc=$?
[ "$rc" -ne 0 ] || fail "status of an empty directory (no longer mounted) succeeded"
grep -Eq "${stamp_re}trackfs: info: volume .* mounted on " "$TFS_LOG" ||
	fail "no timestamped 'mounted' line in the daemon's log: $(cat "$TFS_LOG")"

# The background daemon, without and with a syslog on /dev/log. A machine
# with a real one keeps it; only a /dev/log this test made is removed.
made_devlog=0
listener=""
cleanup_devlog() {
	[ -z "$listener" ] || kill "$listener" 2>/dev/null || true
	[ "$made_devlog" -eq 0 ] || rm -f /dev/log
}
trap 'cleanup_devlog; tfs_teardown' EXIT

if [ ! -e /dev/log ]; then
	step "in the background with no syslog: lines go to META/trackfs.log"
	rc=0
	"$TFS_DAEMON" "$TFS_META" "$TFS_MNT" 2>"$TFS_TMP/bg.err" || rc=$?
	check_eq "$rc" 0 "exit status of the background mount"
	mountpoint -q "$TFS_MNT" || fail "not mounted"
	grep -q "no syslog listens on /dev/log: logging to $TFS_META/trackfs.log" "$TFS_TMP/bg.err" ||
		fail "the terminal was not told where the log goes: $(cat "$TFS_TMP/bg.err")"
	echo data >"$TFS_MNT/f"
	fusermount3 -u "$TFS_MNT"
	for _ in $(seq 100); do
		grep -q "unmounted" "$TFS_META/trackfs.log" 2>/dev/null && break
		sleep 0.1
	done
	grep -Eq "${stamp_re}trackfs: info: .*unmounted" "$TFS_META/trackfs.log" ||
		fail "no timestamped unmount line in $TFS_META/trackfs.log: $(cat "$TFS_META/trackfs.log")"
	tfs_fsck

	step "in the background with a syslog on /dev/log: lines go there"
	python3 - "$TFS_TMP/syslog" <<'EOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
os.chmod("/dev/log", 0o666)
with open(sys.argv[1], "ab", buffering=0) as out:
    while True:
        out.write(s.recv(65536) + b"\n")
EOF
	listener=$!
	made_devlog=1
	for _ in $(seq 100); do [ -S /dev/log ] && break; sleep 0.05; done
	rm -f "$TFS_META/trackfs.log"
	"$TFS_DAEMON" "$TFS_META" "$TFS_MNT" 2>"$TFS_TMP/bg2.err" || fail "background mount failed"
	fusermount3 -u "$TFS_MNT"
	for _ in $(seq 100); do
		grep -q "unmounted" "$TFS_TMP/syslog" 2>/dev/null && break
		sleep 0.1
	done
	grep -Eq "trackfs\[[0-9]+\]: .*mounted on $TFS_MNT" "$TFS_TMP/syslog" ||
		fail "syslog did not get the mount line: $(cat "$TFS_TMP/syslog" 2>/dev/null)"
	[ ! -e "$TFS_META/trackfs.log" ] || fail "a log file was written although syslog listens"
	grep -q "no syslog" "$TFS_TMP/bg2.err" && fail "said there was no syslog: $(cat "$TFS_TMP/bg2.err")"
	cleanup_devlog
	made_devlog=0
	listener=""
else
	echo "note: /dev/log exists on this machine: the no-syslog fallback is not exercised here"
fi
tfs_fsck
