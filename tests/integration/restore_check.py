#!/usr/bin/env python3
"""Checks for test_meta_restore.sh: write a tree, record it, change it, and
after the index was restored check that no file ever returns wrong bytes.

  restore_check.py tree ROOT N                 files f000..f(N-1) of varied sizes, dirs, links
  restore_check.py save ROOT COPY              copy every regular file's bytes (the "before")
  restore_check.py change ROOT CHANGES         overwrite, append, delete, rename, create; list them
  restore_check.py verify ROOT COPY CHANGES LOG CHUNK
      every file not changed is byte-exact at its path; a changed file is either
      byte-exact (its chunks were intact) or named in LOG and in /lost+found with
      each chunk either its old bytes or zeros; created files are gone; nothing else.
"""
import hashlib
import os
import random
import shutil
import sys


def files_under(root):
    out = {}
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if not (d == root and x == "lost+found")]
        for f in files:
            p = os.path.join(d, f)
            if os.path.islink(p):
                continue
            out[os.path.relpath(p, root)] = p
    return out


def tree(root, n):
    rnd = random.Random(7)
    for i in range(n):
        sub = os.path.join(root, "d%d" % (i % 4))
        os.makedirs(sub, exist_ok=True)
        size = rnd.choice([10, 5000, 70000, 300000, 1200000])
        with open(os.path.join(sub, "f%03d" % i), "wb") as fh:
            fh.write(rnd.randbytes(size))
    os.symlink("d0/f000", os.path.join(root, "link"))
    os.link(os.path.join(root, "d1", "f001"), os.path.join(root, "hard001"))


def save(root, copy):
    for rel, p in files_under(root).items():
        dst = os.path.join(copy, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(p, dst)


def change(root, changes):
    rnd = random.Random(11)
    rels = sorted(files_under(root))
    big = [r for r in rels if os.path.getsize(os.path.join(root, r)) >= 70000]
    log = []
    for r in big[0:6]:  # deleted: their chunks are free for the new files
        os.unlink(os.path.join(root, r))
        log.append(("deleted", r))
    for r in big[6:9]:  # overwritten in place
        with open(os.path.join(root, r), "r+b") as fh:
            fh.seek(4096)
            fh.write(rnd.randbytes(20000))
            os.fsync(fh.fileno())
        log.append(("overwritten", r))
    for r in big[9:11]:  # appended
        with open(os.path.join(root, r), "ab") as fh:
            fh.write(rnd.randbytes(50000))
        log.append(("appended", r))
    for r in big[11:13]:  # renamed
        os.rename(os.path.join(root, r), os.path.join(root, r + ".renamed"))
        log.append(("renamed", r))
    with open(changes, "w") as fh:
        for kind, r in log:
            fh.write("%s %s\n" % (kind, r))


def create(root, n, changes):
    rnd = random.Random(13)
    with open(changes, "a") as fh:
        for i in range(n):
            rel = "new%03d" % i
            with open(os.path.join(root, rel), "wb") as f:
                f.write(rnd.randbytes(400000))
                os.fsync(f.fileno())
            fh.write("created %s\n" % rel)


def verify(root, copy, changes, logf, chunk):
    changed = {}
    for line in open(changes):
        kind, rel = line.split()
        changed[rel] = kind
    log = open(logf).read()
    lost = {}
    for line in log.splitlines():
        line = line.strip()
        if " -> /lost+found/" in line:
            src, rest = line.split(" -> ", 1)
            lost[src.lstrip("/")] = rest.split(":", 1)[0]
    want = files_under(copy)
    have = files_under(root)
    bad = []
    intact = moved = 0
    for rel, orig in sorted(want.items()):
        old = open(orig, "rb").read()
        if rel in have:
            got = open(have[rel], "rb").read()
            if got == old:
                intact += 1
                if rel in lost:
                    bad.append("%s: byte-exact but also reported as moved" % rel)
                continue
            bad.append("%s: %s, and reads %d bytes that differ from the snapshot's"
                       % (rel, changed.get(rel, "unchanged"), len(got)))
            continue
        if rel not in lost:
            bad.append("%s (%s) is gone and not reported" % (rel, changed.get(rel, "unchanged")))
            continue
        if rel not in changed:
            bad.append("%s was not changed but was moved to lost+found" % rel)
        moved += 1
        got = open(os.path.join(root, lost[rel].lstrip("/")), "rb").read()
        if len(got) != len(old):
            bad.append("%s: lost+found copy has %d bytes, the snapshot's %d" % (rel, len(got), len(old)))
            continue
        for off in range(0, len(old), chunk):
            g, o = got[off:off + chunk], old[off:off + chunk]
            if g != o and g != b"\0" * len(g):
                bad.append("%s: chunk at %d reads bytes that are neither its own nor zeros" % (rel, off))
                break
    for rel in have:
        if rel not in want:
            kind = changed.get(rel, "")
            bad.append("%s exists but is not in the snapshot (%s)" % (rel, kind or "unknown"))
    for rel, kind in changed.items():
        if kind == "created" and rel in have:
            bad.append("%s was created after the snapshot but exists" % rel)
    print("restore_check: %d files byte-exact, %d moved to lost+found (never wrong bytes), %d changed since the snapshot"
          % (intact, moved, len(changed)))
    if bad:
        print("\n".join(bad))
        sys.exit(1)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "tree":
        tree(sys.argv[2], int(sys.argv[3]))
    elif cmd == "save":
        save(sys.argv[2], sys.argv[3])
    elif cmd == "change":
        change(sys.argv[2], sys.argv[3])
    elif cmd == "create":
        create(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif cmd == "verify":
        verify(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]))
    else:
        sys.exit("unknown command " + cmd)
