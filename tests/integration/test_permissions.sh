#!/usr/bin/env bash
# Permission checks made by the kernel (default_permissions) on a mount with
# allow_other, seen by an unprivileged user (nobody, uid 65534): denials,
# ownership of new files, umask, set-group-ID directories, sticky
# directories, set-user-ID cleared on write, and POSIX ACLs (enforced,
# inherited from default ACLs, kept in step with chmod).
source "$(dirname "$0")/lib.sh"

tfs_setup setpriv setfacl getfacl python3
tfs_mount -o allow_other
M=$TFS_MNT
NOBODY=65534

# as_nobody CMD...: run CMD as uid/gid 65534 with no supplementary groups.
as_nobody() {
	setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups -- "$@"
}
# nobody_can WHAT CMD...: CMD run as nobody must succeed.
nobody_can() {
	local what=$1
	shift
	as_nobody "$@" >/dev/null || fail "nobody cannot $what ('$*')"
}
# nobody_cannot WHAT CMD...: CMD run as nobody must fail.
nobody_cannot() {
	local what=$1
	shift
	if as_nobody "$@" 2>/dev/null; then
		fail "nobody can $what ('$*') but must not"
	fi
}

chmod 755 "$M"

step "a private directory and a root-owned file are protected"
mkdir -m 700 "$M/private"
echo secret >"$M/private/file"
echo public >"$M/rootfile"
chmod 644 "$M/rootfile"
nobody_cannot "list a 0700 directory of root" ls "$M/private"
nobody_cannot "read a file inside a 0700 directory" cat "$M/private/file"
nobody_can "read a 0644 file" cat "$M/rootfile"
nobody_cannot "write a 0644 file of root" sh -c "echo x >>'$M/rootfile'"
nobody_cannot "chmod a file of root" chmod 777 "$M/rootfile"
nobody_cannot "chown a file to itself" chown $NOBODY "$M/rootfile"
nobody_cannot "create a file in a 0755 directory of root" touch "$M/newfile"
nobody_cannot "remove a file from a 0755 directory of root" rm -f "$M/rootfile"
nobody_cannot "set a trusted. xattr" setfattr -n trusted.x -v 1 "$M/rootfile"
check_eq "$(cat "$M/rootfile")" public "rootfile unchanged"

step "new files belong to the caller; the caller's umask applies"
mkdir -m 1777 "$M/pub"
nobody_can "create a file in a 1777 directory" sh -c "umask 027; echo mine >'$M/pub/mine'; mkdir '$M/pub/mydir'"
check_eq "$(stat -c %u:%g "$M/pub/mine")" $NOBODY:$NOBODY "owner of a file created by nobody"
check_eq "$(stat -c %a "$M/pub/mine")" 640 "mode of a file created with umask 027"
check_eq "$(stat -c %a "$M/pub/mydir")" 750 "mode of a directory created with umask 027"
nobody_can "chmod its own file" chmod 600 "$M/pub/mine"
check_eq "$(stat -c %a "$M/pub/mine")" 600 "mode after chmod by the owner"
nobody_can "set a user. xattr on its own file" setfattr -n user.note -v hi "$M/pub/mine"
nobody_can "utimensat on its own file" touch -d '2020-01-01 00:00 UTC' "$M/pub/mine"
nobody_cannot "set the times of root's file" touch -d '2020-01-01 00:00 UTC' "$M/rootfile"

step "sticky directory: others' files cannot be removed or renamed"
echo theirs >"$M/pub/theirs"
chown 1000:1000 "$M/pub/theirs"
chmod 666 "$M/pub/theirs"
nobody_cannot "remove another user's file from a sticky directory" rm -f "$M/pub/theirs"
nobody_cannot "rename another user's file in a sticky directory" mv "$M/pub/theirs" "$M/pub/stolen"
nobody_can "write another user's 0666 file" sh -c "echo more >>'$M/pub/theirs'"
nobody_can "remove its own file from a sticky directory" rm "$M/pub/mine"
mkdir -m 777 "$M/open"
echo x >"$M/open/rootowned"
nobody_can "remove root's file from a non-sticky 0777 directory" rm -f "$M/open/rootowned"

step "a write by an unprivileged user clears set-user-ID and set-group-ID"
echo x >"$M/open/suid"
chmod 6777 "$M/open/suid"
nobody_can "write a 6777 file" sh -c "echo y >>'$M/open/suid'"
check_eq "$(stat -c %a "$M/open/suid")" 777 "mode after a write by nobody"

step "set-group-ID directory: new nodes take its group, directories the bit"
mkdir "$M/sgid"
chown 0:1234 "$M/sgid"
chmod 2777 "$M/sgid"
nobody_can "create in a set-group-ID directory" sh -c "touch '$M/sgid/f'; mkdir '$M/sgid/d'"
check_eq "$(stat -c %u:%g "$M/sgid/f")" $NOBODY:1234 "owner:group of a file in a set-group-ID directory"
check_eq "$(stat -c %g "$M/sgid/d")" 1234 "group of a directory in a set-group-ID directory"
[ $(($(stat -c 0%a "$M/sgid/d") & 02000)) -ne 0 ] || fail "a new directory did not inherit set-group-ID"

step "ACLs: a named-user entry grants access that the mode does not"
echo acl >"$M/aclfile"
chmod 600 "$M/aclfile"
nobody_cannot "read a 0600 file of root" cat "$M/aclfile"
setfacl -m u:$NOBODY:r "$M/aclfile"
getfacl -np "$M/aclfile" | grep -q "^user:$NOBODY:r--" || fail "getfacl does not show user:$NOBODY:r--"
check_eq "$(stat -c %a "$M/aclfile")" 640 "mode after setfacl (group bits show the mask)"
ls -l "$M/aclfile" | grep -q '^-rw-r-----+' || fail "ls -l shows no ACL marker: $(ls -l "$M/aclfile")"
nobody_can "read through an ACL entry" cat "$M/aclfile"
nobody_cannot "write with a read-only ACL entry" sh -c "echo x >>'$M/aclfile'"
setfacl -m u:$NOBODY:rw "$M/aclfile"
nobody_can "write through an ACL entry" sh -c "echo x >>'$M/aclfile'"

step "ACLs: chmod rewrites the mask, so the named entry loses its effect"
chmod 600 "$M/aclfile"
getfacl -np "$M/aclfile" | grep -q "^mask::---" || fail "mask not rewritten by chmod: $(getfacl -np "$M/aclfile")"
nobody_cannot "read after chmod 600 masked the ACL" cat "$M/aclfile"
chmod 660 "$M/aclfile"
nobody_can "read after chmod 660 restored the mask" cat "$M/aclfile"

step "ACLs: an entry can deny what 'other' allows; removing the ACL restores the mode"
echo open >"$M/denied"
chmod 644 "$M/denied"
setfacl -m u:$NOBODY:- "$M/denied"
nobody_cannot "read with a --- ACL entry" cat "$M/denied"
setfacl -b "$M/denied"
nobody_can "read after setfacl -b" cat "$M/denied"
ls -l "$M/denied" | grep -q '^-rw-r--r-- ' || fail "ACL marker left after setfacl -b: $(ls -l "$M/denied")"
check_eq "$(getfattr --absolute-names -m - -d "$M/denied" 2>/dev/null | grep -c posix_acl)" 0 "ACL xattrs after setfacl -b"

step "default ACLs are inherited by new files and directories (and replace the umask)"
mkdir -m 700 "$M/acldir"
setfacl -m u:$NOBODY:rwx "$M/acldir"
setfacl -d -m u:$NOBODY:rwx "$M/acldir"
(umask 077 && touch "$M/acldir/inherited" && mkdir "$M/acldir/subdir")
getfacl -np "$M/acldir/inherited" | grep -q "^user:$NOBODY:rwx" ||
	fail "new file did not inherit the default ACL: $(getfacl -np "$M/acldir/inherited")"
nobody_can "write a file through an inherited ACL" sh -c "echo via-acl >'$M/acldir/inherited'"
getfacl -np "$M/acldir/subdir" | grep -q "^default:user:$NOBODY:rwx" ||
	fail "new directory did not inherit the default ACL as its default ACL"
nobody_can "create in a directory through an inherited ACL" touch "$M/acldir/subdir/bynobody"

step "remount: modes, owners and ACLs are kept; fsck is clean"
getfacl -npR "$M" >"$TFS_TMP/acl.before" 2>/dev/null
tfs_umount
tfs_fsck
tfs_mount -o allow_other
getfacl -npR "$M" >"$TFS_TMP/acl.after" 2>/dev/null
diff "$TFS_TMP/acl.before" "$TFS_TMP/acl.after" || fail "ACLs changed across a remount"
nobody_can "read through an ACL after remount" cat "$M/aclfile"
tfs_umount
tfs_fsck
