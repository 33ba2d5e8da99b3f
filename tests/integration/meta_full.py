#!/usr/bin/env python3
"""Fill a volume's metadata filesystem and check every answer on the way.

  meta_full.py fill DIR JOURNAL     create files until the index is full
  meta_full.py delete DIR JOURNAL N  delete N acknowledged files
  meta_full.py more DIR JOURNAL N    create N more files (must all succeed)
  meta_full.py verify DIR JOURNAL    what the journal says is there, is

The journal (outside the volume) records every acknowledged create (the
content is derived from the name) and every acknowledged unlink. Creating
small files with xattrs fills the index fast (small files are stored inline).
The only error a full metadata filesystem may give is ENOSPC; any other
error, a short read or wrong bytes is a failure (exit 1).
"""
import errno
import hashlib
import os
import sys


def content(name):
    seed = hashlib.sha256(name.encode()).digest()
    return (seed * (1 + len(name) * 37 % 97))[: 200 + seed[0] * 8]


def load(journal):
    live, gone = {}, set()
    if os.path.exists(journal):
        for line in open(journal):
            op, name = line.split()
            if op == "c":
                live[name] = True
                gone.discard(name)
            else:
                live.pop(name, None)
                gone.add(name)
    return live, gone


def create(d, name, jf):
    path = os.path.join(d, name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError as e:
        return e.errno
    try:
        data = content(name)
        if os.write(fd, data) != len(data):
            return errno.EIO
        os.setxattr(path, "user.tag", name.encode() * 4)
    except OSError as e:
        os.close(fd)
        return e.errno
    try:
        os.close(fd)
    except OSError as e:
        return e.errno
    jf.write("c %s\n" % name)
    jf.flush()
    return 0


def fill(d, journal):
    os.makedirs(d, exist_ok=True)
    live, _ = load(journal)
    n, nospc, first = len(live), 0, None
    with open(journal, "a") as jf:
        i = 0
        while nospc < 200 and i < 200000:
            name = "f%06d-%s" % (i, "x" * 80)
            i += 1
            if name in live:
                continue
            rc = create(d, name, jf)
            if rc == 0:
                n += 1
            elif rc == errno.ENOSPC:
                nospc += 1
                first = first or n
                # the file may exist (created, then its write refused)
                try:
                    os.unlink(os.path.join(d, name))
                except OSError as e:
                    if e.errno not in (errno.ENOENT,):
                        print("unlink after ENOSPC: %s" % os.strerror(e.errno))
                        return 1
            else:
                print("create %s: %s (only ENOSPC is acceptable)" % (name, os.strerror(rc)))
                return 1
    if nospc == 0:
        print("the index never filled its filesystem (%d files)" % n)
        return 1
    print("created %d files; ENOSPC first after %d; %d refused" % (n, first, nospc))
    return 0


def delete(d, journal, count):
    live, _ = load(journal)
    done = 0
    with open(journal, "a") as jf:
        for name in sorted(live)[:count]:
            try:
                os.unlink(os.path.join(d, name))
            except OSError as e:
                print("unlink %s on a full metadata filesystem: %s" % (name, os.strerror(e.errno)))
                return 1
            jf.write("u %s\n" % name)
            jf.flush()
            done += 1
    print("deleted %d files" % done)
    return 0


def more(d, journal, count):
    with open(journal, "a") as jf:
        for i in range(count):
            name = "m%06d-%d" % (i, os.getpid())
            rc = create(d, name, jf)
            if rc:
                print("create %s after space was freed: %s" % (name, os.strerror(rc)))
                return 1
    print("created %d more files" % count)
    return 0


def verify(d, journal):
    live, gone = load(journal)
    bad = 0
    for name in live:
        try:
            with open(os.path.join(d, name), "rb") as f:
                got = f.read()
        except OSError as e:
            print("%s: %s (acknowledged, must be there)" % (name, os.strerror(e.errno)))
            bad += 1
            continue
        if got != content(name):
            print("%s: %d bytes, not what was written (%d bytes)" % (name, len(got), len(content(name))))
            bad += 1
    for name in gone:
        if os.path.lexists(os.path.join(d, name)):
            print("%s: deleted, but back" % name)
            bad += 1
    on_disk = set(os.listdir(d))
    extra = on_disk - set(live)
    if extra:
        print("%d files nobody acknowledged, e.g. %s" % (len(extra), sorted(extra)[0]))
        bad += 1
    print("verified %d files, %d deleted; %d problems" % (len(live), len(gone), bad))
    return 1 if bad else 0


def main():
    cmd, d, journal = sys.argv[1], sys.argv[2], sys.argv[3]
    if cmd == "fill":
        return fill(d, journal)
    if cmd == "delete":
        return delete(d, journal, int(sys.argv[4]))
    if cmd == "more":
        return more(d, journal, int(sys.argv[4]))
    return verify(d, journal)


if __name__ == "__main__":
    sys.exit(main())
