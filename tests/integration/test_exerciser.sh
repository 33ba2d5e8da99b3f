#!/usr/bin/env bash
# Random-operation exerciser against the mount: write, read, truncate, mmap
# read and write, punch hole, fsync, reopen — the same operations on a file in
# a plain directory, compared after each operation. 100,000 operations with a
# fixed seed in CI (TFS_EXERCISER_OPS / TFS_EXERCISER_SEED override); the seed
# is printed on failure. Then remount and compare the final files.
source "$(dirname "$0")/lib.sh"
tfs_setup python3 cmp
tfs_mount

ops=${TFS_EXERCISER_OPS:-100000}
mkdir -p "$TFS_TMP/ref"
for seed in ${TFS_EXERCISER_SEED:-1 2}; do
	step "exerciser: $ops operations, seed $seed"
	python3 "$(dirname "$0")/exerciser.py" --ops "$ops" --seed "$seed" \
		"$TFS_MNT/ex$seed" "$TFS_TMP/ref/ex$seed"
	ops=$((ops / 4)) # the second seed is a shorter run
done
step "unmount, fsck, remount: files still match the reference"
tfs_umount
tfs_fsck
tfs_mount
for f in "$TFS_TMP"/ref/ex*; do
	cmp "$f" "$TFS_MNT/$(basename "$f")" || fail "$(basename "$f") differs after remount"
done
tfs_umount
tfs_fsck
