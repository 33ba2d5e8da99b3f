#!/usr/bin/env bash
# cp -a and rsync -aHAXS of a generated tree (empty, small, large and sparse
# files, hard links, symlinks, FIFOs, xattrs, ACLs, names with spaces, UTF-8
# and 255 bytes) into the mount; compared with diff -r and rsync -c --dry-run;
# then unmount, fsck, remount and compare again.
source "$(dirname "$0")/lib.sh"
tfs_setup rsync setfacl getfacl python3 diff
tfs_mount -o allow_other

src="$TFS_TMP/src"
step "generate the source tree"
python3 "$(dirname "$0")/make_tree.py" "$src"

# rsync's itemized dry run prints one line per difference; -c compares content.
differences() {
	rsync -aHAXSc --dry-run --itemize-changes --delete "$1/" "$2/"
}

step "cp -a into the mount"
cp -a "$src" "$TFS_MNT/cp"
step "diff -r after cp -a"
diff -r --no-dereference -x "fifo-*" "$src" "$TFS_MNT/cp" || fail "diff -r found differences after cp -a"
step "rsync -c --dry-run finds nothing to do after cp -a"
out=$(differences "$src" "$TFS_MNT/cp")
[ -z "$out" ] || fail "differences after cp -a:
$out"

step "rsync -aHAXS into the mount"
rsync -aHAXS "$src/" "$TFS_MNT/rs/"
out=$(differences "$src" "$TFS_MNT/rs")
[ -z "$out" ] || fail "differences after rsync -aHAXS:
$out"
diff -r --no-dereference -x "fifo-*" "$src" "$TFS_MNT/rs" || fail "diff -r found differences after rsync"

step "hard links stay hard links"
check_eq "$(stat -c %h "$TFS_MNT/rs/hardlink-0")" "$(stat -c %h "$src/hardlink-0")" "link count"
check_eq "$(stat -c %i "$TFS_MNT/rs/hardlink-0")" \
	"$(stat -c %i "$(find "$TFS_MNT/rs" -samefile "$TFS_MNT/rs/hardlink-0" | grep -v hardlink-0 | head -1)")" \
	"hard link shares the inode"

step "sparse files stay sparse"
for f in "$TFS_MNT"/rs/sparse*.img; do
	blocks=$(stat -c %b "$f")
	[ "$blocks" -lt $((20 * 1024 * 2 / 2)) ] || fail "$f uses $blocks blocks: holes were filled"
done

step "ACLs and xattrs came along"
check_eq "$(getfacl -cp "$TFS_MNT/rs/d1" 2>/dev/null | sort)" "$(getfacl -cp "$src/d1" | sort)" "default ACL of d1"

before=$(tfs_snapshot "$TFS_MNT/rs")
step "unmount, fsck, remount"
tfs_umount
tfs_fsck
tfs_mount -o allow_other
step "the tree is identical after the remount"
after=$(tfs_snapshot "$TFS_MNT/rs")
[ "$before" = "$after" ] || fail "the tree changed across unmount/remount:
$(diff <(echo "$before") <(echo "$after") | head -20)"
out=$(differences "$src" "$TFS_MNT/rs")
[ -z "$out" ] || fail "differences after remount:
$out"
out=$(differences "$src" "$TFS_MNT/cp")
[ -z "$out" ] || fail "differences in the cp -a copy after remount:
$out"
tfs_umount
tfs_fsck
