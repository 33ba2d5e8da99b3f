#!/usr/bin/env python3
"""Load for test_disk_drain.sh while a disk drains.

writer DIR ID STOP MANIFEST: until the file STOP exists, create files of
  seeded random bytes, append to a log and overwrite ranges of a file of its
  own, reading each back and comparing; then fsync everything and write
  "sha256  name" lines (sha256sum -c format, names relative to DIR).
reader DIR MANIFEST STOP: until STOP exists, read the files MANIFEST lists
  and compare their sha256.
Either exits 1 at the first wrong byte, naming the file and offset.
"""
import hashlib
import os
import random
import sys


def check(path, want, what):
    with open(path, "rb") as f:
        got = f.read()
    if got != want:
        off = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]),
                   min(len(got), len(want)))
        sys.exit(f"{what}: {path} differs at byte {off} (size {len(got)}, want {len(want)})")


def writer(d, wid, stop, manifest):
    rng = random.Random(wid)
    files = {}
    ow_name = f"w{wid}_ow"
    ow = bytearray(rng.randbytes(1 << 20))
    with open(os.path.join(d, ow_name), "wb") as f:
        f.write(ow)
    files[ow_name] = ow
    log_name = f"w{wid}_log"
    log = bytearray()
    n = 0
    while not os.path.exists(stop) or n < 2:
        n += 1
        name = f"w{wid}_{n:04d}"
        data = rng.randbytes(rng.randrange(4096, 1 << 20))
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        check(os.path.join(d, name), data, "new file")
        files[name] = data
        # An append, as a log would.
        line = rng.randbytes(rng.randrange(1, 20000))
        with open(os.path.join(d, log_name), "ab") as f:
            f.write(line)
        log += line
        check(os.path.join(d, log_name), bytes(log), "appended file")
        files[log_name] = log
        # An overwrite in the middle of a file that may be being moved.
        off = rng.randrange(0, len(ow) - 70000)
        patch = rng.randbytes(rng.randrange(1, 70000))
        fd = os.open(os.path.join(d, ow_name), os.O_WRONLY)
        os.pwrite(fd, patch, off)
        os.close(fd)
        ow[off:off + len(patch)] = patch
        check(os.path.join(d, ow_name), bytes(ow), "overwritten file")
    with open(manifest, "w") as m:
        for name, data in sorted(files.items()):
            fd = os.open(os.path.join(d, name), os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
            m.write(f"{hashlib.sha256(bytes(data)).hexdigest()}  {name}\n")
    print(f"writer {wid}: {n} rounds, {len(files)} files")


def reader(d, manifest, stop):
    want = []
    with open(manifest) as m:
        for line in m:
            h, name = line.split(None, 1)
            want.append((h, name.strip()))
    rounds = 0
    while not os.path.exists(stop) or rounds == 0:
        rounds += 1
        for h, name in want:
            with open(os.path.join(d, name), "rb") as f:
                got = hashlib.sha256(f.read()).hexdigest()
            if got != h:
                sys.exit(f"reader: {name} reads back wrong (sha256 {got}, want {h})")
    print(f"reader: {rounds} rounds over {len(want)} files")


if __name__ == "__main__":
    if sys.argv[1] == "writer":
        writer(*sys.argv[2:6])
    elif sys.argv[1] == "reader":
        reader(*sys.argv[2:5])
    else:
        sys.exit(__doc__)
