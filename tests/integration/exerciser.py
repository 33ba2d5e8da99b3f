#!/usr/bin/env python3
"""Random-operation exerciser (in the spirit of fsx): applies the same random
operations to a file in the trackfs mount and to a file in a plain directory
and compares the two after every operation.

Operations: write, read, truncate (up and down), mmap read, mmap write,
punch hole, fsync, close and reopen. Usage:
    exerciser.py MOUNT_FILE REFERENCE_FILE [--ops N] [--seed S] [--maxlen BYTES]
On a mismatch it prints the seed, the operation number and the log of the
last operations, and exits 1.
"""
import argparse
import mmap
import os
import random
import sys

FALLOC_FL_KEEP_SIZE = 1
FALLOC_FL_PUNCH_HOLE = 2


def fallocate(fd, mode, off, length):
    import ctypes
    import ctypes.util
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
    if libc.fallocate(fd, mode, off, length) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


class Pair:
    def __init__(self, a, b):
        self.paths = (a, b)
        self.fds = None
        self.open()

    def open(self):
        self.fds = [os.open(p, os.O_RDWR | os.O_CREAT, 0o644) for p in self.paths]

    def close(self):
        for fd in self.fds:
            os.close(fd)
        self.fds = None

    def size(self):
        sizes = [os.fstat(fd).st_size for fd in self.fds]
        return sizes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mount_file")
    ap.add_argument("ref_file")
    ap.add_argument("--ops", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--maxlen", type=int, default=4 << 20)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    pair = Pair(args.mount_file, args.ref_file)
    history = []
    maxlen = args.maxlen

    def fail(msg):
        print(f"exerciser: MISMATCH at op {i} (seed {args.seed}): {msg}", file=sys.stderr)
        print("exerciser: last operations:", file=sys.stderr)
        for h in history[-20:]:
            print("   ", h, file=sys.stderr)
        print(f"exerciser: rerun with --seed {args.seed} --ops {i + 1}", file=sys.stderr)
        sys.exit(1)

    def compare_range(off, length):
        a = os.pread(pair.fds[0], length, off)
        b = os.pread(pair.fds[1], length, off)
        if a != b:
            for k in range(min(len(a), len(b))):
                if a[k] != b[k]:
                    fail(f"byte {off + k}: mount {a[k]} reference {b[k]}")
            fail(f"read length at {off}: mount {len(a)} reference {len(b)}")

    for i in range(args.ops):
        sa, sb = pair.size()
        if sa != sb:
            fail(f"size: mount {sa} reference {sb}")
        size = sa
        r = rng.random()
        if r < 0.30:
            off = rng.randrange(0, maxlen)
            length = rng.randrange(1, 65536 if rng.random() < 0.9 else 1 << 20)
            length = min(length, maxlen - off) or 1
            data = rng.randbytes(length)
            history.append(f"write off={off} len={length}")
            for fd in pair.fds:
                os.pwrite(fd, data, off)
        elif r < 0.55:
            off = rng.randrange(0, max(size, 1) + 4096)
            length = rng.randrange(1, 131072)
            history.append(f"read off={off} len={length}")
            compare_range(off, length)
        elif r < 0.62:
            new = rng.randrange(0, maxlen) if rng.random() < 0.7 else rng.randrange(0, 8192)
            history.append(f"truncate {new}")
            for fd in pair.fds:
                os.ftruncate(fd, new)
        elif r < 0.70 and size > 0:
            off = rng.randrange(0, size)
            length = rng.randrange(1, min(size - off, 262144) + 1)
            history.append(f"mmap read off={off} len={length}")
            views = []
            for fd in pair.fds:
                with mmap.mmap(fd, size, prot=mmap.PROT_READ) as m:
                    views.append(m[off:off + length])
            if views[0] != views[1]:
                fail(f"mmap read at {off}+{length} differs")
        elif r < 0.78 and size > 0:
            off = rng.randrange(0, size)
            length = rng.randrange(1, min(size - off, 65536) + 1)
            data = rng.randbytes(length)
            history.append(f"mmap write off={off} len={length}")
            for fd in pair.fds:
                with mmap.mmap(fd, size) as m:
                    m[off:off + length] = data
                    if rng.random() < 0.5:
                        m.flush()
        elif r < 0.86 and size > 0:
            off = rng.randrange(0, size)
            length = rng.randrange(1, 262144)
            history.append(f"punch off={off} len={length}")
            for fd in pair.fds:
                fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, length)
        elif r < 0.93:
            history.append("fsync")
            os.fsync(pair.fds[0])
        else:
            history.append("close and reopen")
            pair.close()
            pair.open()
        if i % 997 == 0:
            compare_range(0, size + 1)
    sa, sb = pair.size()
    if sa != sb:
        fail(f"final size: mount {sa} reference {sb}")
    compare_range(0, sa + 1)
    pair.close()
    print(f"exerciser: {args.ops} operations, seed {args.seed}: mount and reference agree")


if __name__ == "__main__":
    main()
