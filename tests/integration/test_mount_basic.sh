#!/usr/bin/env bash
# Mount a fresh volume and exercise the POSIX surface through the kernel:
# files, names, links, attributes and times, xattrs, special files, appends,
# truncation, holes, fallocate, statfs, shared mmap, unlink while open,
# locks; then a refused second mount, the three ways to stop the daemon
# (fusermount3 -u, SIGTERM, umount of a mount made by mount(8)), the
# background mode, and that everything is still there after a remount with
# fsck.trackfs clean.
source "$(dirname "$0")/lib.sh"

tfs_setup python3 setfattr getfattr fallocate mountpoint fusermount3 flock df stat
tfs_mount
M=$TFS_MNT

step "the mount shows as fuse.trackfs with the volume as its source"
grep -q "^trackfs:$TFS_META $M fuse.trackfs " /proc/mounts ||
	fail "no 'trackfs:$TFS_META $M fuse.trackfs' line in /proc/mounts: $(grep " $M " /proc/mounts)"

step "create, write and read back a small file"
echo "hello trackfs" >"$M/hello.txt"
check_eq "$(cat "$M/hello.txt")" "hello trackfs" "content of hello.txt"
check_eq "$(stat -c %s "$M/hello.txt")" 14 "size of hello.txt"

step "copy a 5 MiB random file in and compare"
head -c $((5 << 20)) /dev/urandom >"$TFS_TMP/random.bin"
cp "$TFS_TMP/random.bin" "$M/random.bin"
cmp "$TFS_TMP/random.bin" "$M/random.bin" || fail "random.bin differs after cp"
sync "$M/random.bin"
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
cmp "$TFS_TMP/random.bin" "$M/random.bin" || fail "random.bin differs after dropping caches"

step "the mount's readahead window is 4 MiB (several 1 MiB reads in flight)"
ra=/sys/class/bdi/$(mountpoint -d "$M")/read_ahead_kb
[ -r "$ra" ] || fail "$ra is missing"
check_eq "$(cat "$ra")" 4096 "read_ahead_kb of the mount"

step "O_CREAT|O_EXCL on an existing name fails with EEXIST"
python3 - "$M/hello.txt" <<'PY' || fail "O_EXCL"
import errno, os, sys
try:
    os.open(sys.argv[1], os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
except OSError as e:
    sys.exit(0 if e.errno == errno.EEXIST else 1)
sys.exit(1)
PY

step "mkdir, nested files, directory link counts, rmdir of a non-empty directory fails"
mkdir "$M/dir"
check_eq "$(stat -c %h "$M/dir")" 2 "link count of an empty directory"
mkdir "$M/dir/sub"
check_eq "$(stat -c %h "$M/dir")" 3 "link count of a directory with one subdirectory"
echo x >"$M/dir/sub/file"
expect_fail "rmdir of a non-empty directory" rmdir "$M/dir/sub"
rm "$M/dir/sub/file"
rmdir "$M/dir/sub"
check_eq "$(stat -c %h "$M/dir")" 2 "link count after rmdir"
[ ! -e "$M/dir/sub" ] || fail "dir/sub still exists after rmdir"

step "rename a file, over an existing file, a directory, and RENAME_NOREPLACE/EXCHANGE"
echo one >"$M/a"
echo two >"$M/b"
mv "$M/a" "$M/c"
[ ! -e "$M/a" ] || fail "a still exists after mv a c"
check_eq "$(cat "$M/c")" one "content of c after mv a c"
mv -f "$M/c" "$M/b"
check_eq "$(cat "$M/b")" one "content of b after mv over it"
[ ! -e "$M/c" ] || fail "c still exists after mv c b"
mkdir -p "$M/d1/inner" "$M/d2"
echo deep >"$M/d1/inner/f"
mv "$M/d1" "$M/d2/moved"
check_eq "$(cat "$M/d2/moved/inner/f")" deep "file inside a renamed directory"
mkdir "$M/full" && echo z >"$M/full/z"
mkdir "$M/empty"
expect_fail "rename of a directory over a non-empty one" mv -T "$M/empty" "$M/full"
mv -T "$M/full" "$M/empty" || fail "rename of a directory over an empty one"
check_eq "$(cat "$M/empty/z")" z "content after directory rename over an empty directory"
echo left >"$M/left"
echo right >"$M/right"
python3 - "$M" <<'PY' || fail "renameat2"
import ctypes, errno, os, sys
m = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, NOREPLACE, EXCHANGE = -100, 1, 2
def r2(a, b, flags):
    if libc.renameat2(AT_FDCWD, os.path.join(m, a).encode(), AT_FDCWD,
                      os.path.join(m, b).encode(), flags) != 0:
        return ctypes.get_errno()
    return 0
assert r2("left", "right", NOREPLACE) == errno.EEXIST, "NOREPLACE over an existing name"
assert r2("left", "right", EXCHANGE) == 0, "EXCHANGE"
assert open(os.path.join(m, "left")).read() == "right\n", "left after EXCHANGE"
assert open(os.path.join(m, "right")).read() == "left\n", "right after EXCHANGE"
assert r2("left", "fresh", NOREPLACE) == 0, "NOREPLACE to a new name"
assert r2("right", "fresh", 4) == errno.EINVAL, "RENAME_WHITEOUT is refused"
PY

step "directory listings: 2,000 entries over many readdir replies, changes seen between listings"
mkdir "$M/big"
python3 - "$M/big" <<'PY' || fail "big directory"
import os, sys
d = sys.argv[1]
for i in range(2000):
    open(os.path.join(d, "entry-with-a-longish-name-%05d" % i), "w").close()
names = os.listdir(d)
assert len(names) == 2000 and len(set(names)) == 2000, "listed %d (%d distinct)" % (len(names), len(set(names)))
for i in range(0, 2000, 10):
    os.unlink(os.path.join(d, "entry-with-a-longish-name-%05d" % i))
os.rename(os.path.join(d, "entry-with-a-longish-name-00001"), os.path.join(d, "renamed"))
names = set(os.listdir(d))
assert len(names) == 1800, "after removing 200: %d" % len(names)
assert "renamed" in names and "entry-with-a-longish-name-00001" not in names
# readdirplus: every entry's attributes come with the listing.
with os.scandir(d) as it:
    n = sum(1 for e in it if e.is_file(follow_symlinks=False) and e.stat().st_size == 0)
assert n == 1800, n
PY
check_eq "$(ls -l "$M/big" | tail -n +2 | wc -l)" 1800 "ls -l entry count"
check_eq "$(find "$M/big" -mindepth 1 | wc -l)" 1800 "find entry count"
rm -r "$M/big"

step "hard links share the inode and count links"
echo linked >"$M/orig"
ln "$M/orig" "$M/hard"
check_eq "$(stat -c %h "$M/orig")" 2 "link count after ln"
check_eq "$(stat -c %i "$M/orig")" "$(stat -c %i "$M/hard")" "inode of both names"
echo more >>"$M/hard"
check_eq "$(cat "$M/orig")" "$(printf 'linked\nmore')" "content seen through the other name"
rm "$M/orig"
check_eq "$(stat -c %h "$M/hard")" 1 "link count after removing one name"
expect_fail "hard link to a directory" ln "$M/dir" "$M/dirlink"

step "symlinks: readlink, follow, dangling"
ln -s hard "$M/sym"
ln -s /nonexistent/target "$M/dangling"
check_eq "$(readlink "$M/sym")" hard "readlink sym"
check_eq "$(readlink "$M/dangling")" /nonexistent/target "readlink dangling"
check_eq "$(cat "$M/sym")" "$(cat "$M/hard")" "content through the symlink"
check_eq "$(stat -c %F "$M/sym")" "symbolic link" "type of sym"
long=$(printf 'x%.0s' $(seq 1000))
ln -s "$long" "$M/longsym"
check_eq "$(readlink "$M/longsym")" "$long" "a 1000-byte symlink target"

step "chmod and chown"
chmod 640 "$M/hard"
check_eq "$(stat -c %a "$M/hard")" 640 "mode after chmod 640"
chmod 6750 "$M/hard"
check_eq "$(stat -c %a "$M/hard")" 6750 "mode after chmod 6750"
chown 1234:5678 "$M/hard"
check_eq "$(stat -c %u:%g "$M/hard")" 1234:5678 "owner after chown"
check_eq "$(stat -c %a "$M/hard")" 750 "chown clears set-user-ID and set-group-ID"
chmod 640 "$M/hard"
echo w >>"$M/hard"
chown -h 42:43 "$M/sym"
check_eq "$(stat -c %u:%g "$M/sym")" 42:43 "owner of a symlink after chown -h"

step "times: touch -d, nanoseconds, UTIME_OMIT (touch -a / -m), UTIME_NOW"
touch -d '2001-02-03 04:05:06.123456789 UTC' "$M/hello.txt"
check_eq "$(TZ=UTC stat -c %y "$M/hello.txt")" "2001-02-03 04:05:06.123456789 +0000" "mtime after touch -d"
check_eq "$(TZ=UTC stat -c %x "$M/hello.txt")" "2001-02-03 04:05:06.123456789 +0000" "atime after touch -d"
touch -a -d '2010-01-01 00:00:00 UTC' "$M/hello.txt"
check_eq "$(TZ=UTC stat -c %y "$M/hello.txt")" "2001-02-03 04:05:06.123456789 +0000" "mtime kept by touch -a (UTIME_OMIT)"
check_eq "$(TZ=UTC stat -c %x "$M/hello.txt")" "2010-01-01 00:00:00.000000000 +0000" "atime after touch -a"
touch -m -d '2011-01-01 00:00:00 UTC' "$M/hello.txt"
check_eq "$(TZ=UTC stat -c %x "$M/hello.txt")" "2010-01-01 00:00:00.000000000 +0000" "atime kept by touch -m (UTIME_OMIT)"
python3 - "$M/hello.txt" <<'PY' || fail "os.utime with nanoseconds"
import os, sys
os.utime(sys.argv[1], ns=(1_000_000_001, 2_000_000_002))
st = os.stat(sys.argv[1])
assert (st.st_atime_ns, st.st_mtime_ns) == (1_000_000_001, 2_000_000_002), (st.st_atime_ns, st.st_mtime_ns)
PY
before=$(date +%s)
touch "$M/hello.txt"
mt=$(stat -c %Y "$M/hello.txt")
[ "$mt" -ge "$before" ] && [ "$mt" -le $((before + 5)) ] || fail "mtime after touch (UTIME_NOW) is $mt, now is $before"
ct_before=$(stat -c %Z "$M/hello.txt")
sleep 1.1
chmod 600 "$M/hello.txt"
[ "$(stat -c %Z "$M/hello.txt")" -gt "$ct_before" ] || fail "chmod did not advance ctime"
# chown(-1, -1) changes nothing but ctime, for every kind of file, as on ext4
# (for a directory or fifo the kernel sends a setattr with nothing set).
mkdir "$M/ch.d"
mkfifo "$M/ch.p"
python3 - "$M/hello.txt" "$M/ch.d" "$M/ch.p" <<'PY' || fail "chown(-1, -1) and ctime"
import os, sys, time
before = {p: os.stat(p).st_ctime_ns for p in sys.argv[1:]}
time.sleep(0.01)
for p in sys.argv[1:]:
    os.chown(p, -1, -1)
    after = os.stat(p).st_ctime_ns
    assert after > before[p], "%s: ctime %d -> %d" % (p, before[p], after)
PY
rmdir "$M/ch.d"
rm "$M/ch.p"

step "xattrs: user., trusted., security.; list, replace, remove; other namespaces refused"
setfattr -n user.color -v blue "$M/hello.txt"
setfattr -n trusted.t -v 1 "$M/hello.txt"
setfattr -n security.s -v 2 "$M/hello.txt"
check_eq "$(getfattr --only-values -n user.color "$M/hello.txt")" blue "user.color"
setfattr -n user.color -v green "$M/hello.txt"
check_eq "$(getfattr --only-values -n user.color "$M/hello.txt")" green "user.color after replace"
names=$(getfattr --absolute-names -m - -d "$M/hello.txt" 2>/dev/null | grep -o '^[a-z]*\.[a-z]*' | sort | tr '\n' ' ')
check_eq "$names" "security.s trusted.t user.color " "listed xattr names"
setfattr -x user.color "$M/hello.txt"
expect_fail "getfattr of a removed xattr" getfattr -n user.color "$M/hello.txt"
python3 - "$M/hello.txt" <<'PY' || fail "xattr flags and namespaces"
import errno, os, sys
p = sys.argv[1]
os.setxattr(p, "user.a", b"1", os.XATTR_CREATE)
try:
    os.setxattr(p, "user.a", b"2", os.XATTR_CREATE); sys.exit("XATTR_CREATE over an existing xattr succeeded")
except OSError as e:
    assert e.errno == errno.EEXIST, e
try:
    os.setxattr(p, "user.b", b"2", os.XATTR_REPLACE); sys.exit("XATTR_REPLACE of a missing xattr succeeded")
except OSError as e:
    assert e.errno == errno.ENODATA, e
os.setxattr(p, "user.big", b"v" * 4000)
assert os.getxattr(p, "user.big") == b"v" * 4000
try:
    os.setxattr(p, "system.foo", b"1"); sys.exit("system.foo was stored")
except OSError as e:
    assert e.errno in (errno.EOPNOTSUPP, errno.EPERM), e
PY

step "FIFO, socket, character and block device nodes"
mkfifo "$M/fifo"
check_eq "$(stat -c %F "$M/fifo")" fifo "type of fifo"
mknod "$M/chr" c 1 3
mknod "$M/blk" b 7 0
check_eq "$(stat -c '%F %t:%T' "$M/chr")" "character special file 1:3" "char device"
check_eq "$(stat -c '%F %t:%T' "$M/blk")" "block special file 7:0" "block device"
python3 - "$M/sock" <<'PY' || fail "socket node"
import os, stat, sys
os.mknod(sys.argv[1], 0o600 | stat.S_IFSOCK)
assert stat.S_ISSOCK(os.lstat(sys.argv[1]).st_mode)
PY
(echo "through the fifo" >"$M/fifo" &)
check_eq "$(timeout 10 cat "$M/fifo")" "through the fifo" "data through the FIFO"

step "O_APPEND appends at the end"
printf 'a' >"$M/append"
printf 'b' >>"$M/append"
python3 - "$M/append" <<'PY' || fail "O_APPEND with pwrite-style seeks"
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
os.lseek(fd, 0, os.SEEK_SET)
os.write(fd, b"c")
os.close(fd)
PY
check_eq "$(cat "$M/append")" abc "content after appends"

step "O_APPEND from four processes at once: every line whole, none lost"
python3 - "$M/shared.log" <<'PY' || fail "concurrent O_APPEND"
import os, sys
p = sys.argv[1]
pids = []
for w in range(4):
    pid = os.fork()
    if pid == 0:
        fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        for i in range(500):
            os.write(fd, ("writer %d line %04d %s\n" % (w, i, "x" * 80)).encode())
        os.close(fd)
        os._exit(0)
    pids.append(pid)
for pid in pids:
    assert os.WEXITSTATUS(os.waitpid(pid, 0)[1]) == 0
lines = open(p).read().splitlines()
assert len(lines) == 2000, "%d lines" % len(lines)
assert len(set(lines)) == 2000, "duplicate lines"
for line in lines:
    w, i = line.split()[1], line.split()[3]
    assert line == "writer %s line %s %s" % (w, i, "x" * 80), "torn line: %r" % line
PY

step "truncate up (zeros) and down"
printf 'abcdef' >"$M/trunc"
truncate -s 3 "$M/trunc"
check_eq "$(cat "$M/trunc")" abc "content after truncate down"
truncate -s 1M "$M/trunc"
check_eq "$(stat -c %s "$M/trunc")" 1048576 "size after truncate up"
check_eq "$(tail -c +4 "$M/trunc" | tr -d '\0' | wc -c)" 0 "bytes past the old end are zero"
python3 - "$M/trunc" <<'PY' || fail "O_TRUNC"
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
os.write(fd, b"new")
os.close(fd)
assert open(sys.argv[1], "rb").read() == b"new"
PY

step "sparse file: holes read as zeros, SEEK_DATA and SEEK_HOLE"
python3 - "$M/sparse" <<'PY' || fail "SEEK_DATA/SEEK_HOLE"
import os, sys
p = sys.argv[1]
MiB = 1 << 20
fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
os.pwrite(fd, b"D" * 65536, 4 * MiB)
os.ftruncate(fd, 16 * MiB)
os.close(fd)  # the kernel writes its cached pages back on close
fd = os.open(p, os.O_RDONLY)
assert os.fstat(fd).st_size == 16 * MiB
assert os.pread(fd, 4096, 0) == bytes(4096), "hole reads as zeros"
assert os.pread(fd, 4, 4 * MiB) == b"DDDD"
d = os.lseek(fd, 0, os.SEEK_DATA)
assert d == 4 * MiB, "SEEK_DATA from 0 gave %d" % d
h = os.lseek(fd, 4 * MiB, os.SEEK_HOLE)
assert h == 4 * MiB + 65536, "SEEK_HOLE from the data gave %d" % h
h = os.lseek(fd, 0, os.SEEK_HOLE)
assert h == 0, "SEEK_HOLE from 0 gave %d" % h
try:
    os.lseek(fd, 5 * MiB, os.SEEK_DATA); sys.exit("SEEK_DATA past the last data succeeded")
except OSError as e:
    assert e.errno == 6, e  # ENXIO
os.close(fd)
st = os.stat(p)
assert st.st_blocks * 512 < 1 * MiB, "a 16 MiB file with 64 KiB of data uses %d blocks" % st.st_blocks
PY

step "fallocate: allocate, keep size, punch a hole"
fallocate -l 1M "$M/falloc"
check_eq "$(stat -c %s "$M/falloc")" 1048576 "size after fallocate -l 1M"
[ "$(stat -c %b "$M/falloc")" -ge 2048 ] || fail "fallocate -l 1M allocated only $(stat -c %b "$M/falloc") blocks"
fallocate -n -o 1M -l 1M "$M/falloc"
check_eq "$(stat -c %s "$M/falloc")" 1048576 "size after fallocate --keep-size"
head -c 262144 /dev/urandom >"$M/punch"
sync "$M/punch"
blocks_before=$(stat -c %b "$M/punch")
fallocate -p -o 65536 -l 131072 "$M/punch"
check_eq "$(stat -c %s "$M/punch")" 262144 "size after punching a hole"
check_eq "$(dd if="$M/punch" bs=65536 skip=1 count=2 status=none | tr -d '\0' | wc -c)" 0 "punched range reads as zeros"
[ "$(stat -c %b "$M/punch")" -lt "$blocks_before" ] || fail "punching a hole freed no blocks ($blocks_before before)"

step "statfs: df and stat -f report the pool"
read -r bsize blocks bfree files <<<"$(stat -f -c '%S %b %f %c' "$M")"
[ "$bsize" -gt 0 ] && [ "$blocks" -gt 0 ] && [ "$bfree" -le "$blocks" ] && [ "$files" -gt 0 ] ||
	fail "stat -f gave bsize=$bsize blocks=$blocks bfree=$bfree files=$files"
df -P "$M" | tail -1 | grep -q "$M\$" || fail "df does not list $M"

step "shared writable mmap: write through the mapping, read it back with read()"
python3 - "$M/mmap" <<'PY' || fail "shared mmap"
import mmap, os, sys
p = sys.argv[1]
fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
os.ftruncate(fd, 3 * 4096 + 100)
m = mmap.mmap(fd, 3 * 4096 + 100, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[0:5] = b"hello"
m[8190:8200] = b"0123456789"
m[-4:] = b"tail"
m.flush()
m.close()
os.close(fd)
data = open(p, "rb").read()
assert len(data) == 3 * 4096 + 100
assert data[0:5] == b"hello" and data[8190:8200] == b"0123456789" and data[-4:] == b"tail"
# Written through write(), seen through a new mapping.
with open(p, "r+b") as f:
    f.seek(100); f.write(b"viawrite"); f.flush()
    mm = mmap.mmap(f.fileno(), 0, mmap.MAP_SHARED, mmap.PROT_READ)
    assert mm[100:108] == b"viawrite"
    mm.close()
PY
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
check_eq "$(head -c 5 "$M/mmap")" hello "mmap-written bytes after dropping caches"

step "unlink while open: the file stays readable and writable until closed"
python3 - "$M/doomed" <<'PY' || fail "unlink while open"
import os, sys
p = sys.argv[1]
fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd, b"still here" * 1000)
os.unlink(p)
assert not os.path.exists(p)
assert os.fstat(fd).st_nlink == 0
os.pwrite(fd, b"X", 0)
os.fsync(fd)
assert os.pread(fd, 10, 0) == b"Xtill here"
assert len(os.pread(fd, 20000, 0)) == 10000
os.close(fd)
PY
[ ! -e "$M/doomed" ] || fail "doomed exists after unlink"

step "flock and fcntl locks are exclusive between processes"
touch "$M/lockfile"
rm -f "$TFS_TMP/held" "$TFS_TMP/release"
# The holder says when it has the lock and keeps it until told (no sleeps:
# on a loaded machine a fixed delay let the check run before the lock).
flock -x "$M/lockfile" -c "touch '$TFS_TMP/held'; while [ ! -e '$TFS_TMP/release' ]; do sleep 0.05; done" &
holder=$!
for _ in $(seq 600); do
	[ -e "$TFS_TMP/held" ] && break
	sleep 0.05
done
[ -e "$TFS_TMP/held" ] || fail "the lock holder did not get the lock within 30 s"
expect_fail "flock -n while another process holds the lock" flock -n -x "$M/lockfile" -c true
touch "$TFS_TMP/release"
wait "$holder"
flock -n -x "$M/lockfile" -c true || fail "flock -n after the holder exited"
python3 - "$M/lockfile" <<'PY' || fail "fcntl locks"
import fcntl, os, sys, time
p = sys.argv[1]
f = open(p, "r+")
fcntl.lockf(f, fcntl.LOCK_EX)
pid = os.fork()
if pid == 0:
    g = open(p, "r+")
    try:
        fcntl.lockf(g, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os._exit(1)
    except OSError:
        os._exit(0)
_, st = os.waitpid(pid, 0)
assert os.WEXITSTATUS(st) == 0, "a second process got the fcntl lock"
PY

step "a second mount of the same volume fails and names the holder's pid"
mkdir -p "$TFS_TMP/mnt2"
rc=0
out=$(timeout 30 "$TFS_DAEMON" -f "$TFS_META" "$TFS_TMP/mnt2" 2>&1) || rc=$?
[ "$rc" -ne 0 ] || fail "the second mount succeeded"
[ "$rc" -ne 124 ] || fail "the second mount hung"
echo "$out" | grep -q "$TFS_PID" || fail "the message does not name pid $TFS_PID: $out"
echo "   refused with: $(echo "$out" | head -3)"
mountpoint -q "$TFS_TMP/mnt2" && fail "mnt2 got mounted"

step "record the tree, unmount cleanly (fusermount3 -u), fsck, remount, compare"
tfs_snapshot "$M" >"$TFS_TMP/before.txt"
tfs_umount
tfs_fsck
tfs_mount
tfs_snapshot "$M" >"$TFS_TMP/after.txt"
diff "$TFS_TMP/before.txt" "$TFS_TMP/after.txt" || fail "the tree changed across unmount and remount"
cmp "$TFS_TMP/random.bin" "$M/random.bin" || fail "random.bin differs after remount"

step "SIGTERM unmounts cleanly: exit 0, mount point released, fsck clean"
kill -TERM "$TFS_PID"
rc=0
tfs_wait_daemon || rc=$?
check_eq "$rc" 0 "daemon exit status after SIGTERM"
mountpoint -q "$M" && fail "$M still mounted after SIGTERM"
tfs_fsck

step "background mode: returns once mounted; errors reach the terminal with exit 1"
"$TFS_DAEMON" "$TFS_META" "$M" || fail "trackfs (background) exited with $?"
mountpoint -q "$M" || fail "$M is not mounted when the background start returns"
check_eq "$(cat "$M/hard")" "$(printf 'linked\nmore\nw')" "content seen through the background daemon"
rc=0
out=$("$TFS_DAEMON" "$TFS_META" "$TFS_TMP/mnt2" 2>&1) || rc=$?
check_eq "$rc" 1 "exit status of a background mount of a mounted volume"
[ -n "$out" ] || fail "the failing background mount printed nothing"
bgpid=$(pgrep -f -x "$TFS_DAEMON $TFS_META $M") || fail "cannot find the background daemon"
fusermount3 -u "$M"
for _ in $(seq 300); do
	kill -0 "$bgpid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$bgpid" 2>/dev/null && fail "the background daemon (pid $bgpid) did not exit after unmount"
tfs_fsck

step "mount.fuse3 (what mount -t fuse.trackfs runs) with generic mount options"
# mount(8) runs its helpers with a fixed PATH, where this build's trackfs is
# not; mount.fuse3 is called here as mount(8) would call it.
PATH="$TRACKFS_BIN_DIR/fs/fuse:$PATH" mount.fuse3 "$TFS_META" "$M" -t trackfs \
	-o rw,dev,suid,exec,nodiratime,defaults,_netdev,nofail,noauto,nouser,allow_other ||
	fail "mount.fuse3 -t trackfs failed"
mountpoint -q "$M" || fail "$M not mounted after mount.fuse3"
grep -q " $M fuse.trackfs .*allow_other" /proc/mounts || fail "allow_other missing: $(grep " $M " /proc/mounts)"
check_eq "$(cat "$M/b")" one "content through the mount.fuse3 mount"
umount "$M" || fail "umount $M"
tfs_wait_pattern "trackfs $TFS_META $M.*"
tfs_fsck

step "mount(8) from an fstab line (legacy PROGRAM#VOLUME form, so no PATH is needed)"
echo "$TFS_DAEMON#$TFS_META $M fuse defaults,allow_other,nofail 0 0" >"$TFS_TMP/fstab"
mount --fstab "$TFS_TMP/fstab" "$M" || fail "mount from an fstab line failed"
mountpoint -q "$M" || fail "$M not mounted from fstab"
check_eq "$(cat "$M/b")" one "content through the fstab mount"
umount "$M" || fail "umount $M"
tfs_wait_pattern "$TFS_DAEMON $TFS_META $M.*"
tfs_fsck
