#!/usr/bin/env python3
"""Writer for the daemon crash test: creates files with deterministic content
(some through a temp name and rename, like a data-lake compactor), fsyncs
them (and the directory after a rename), and only then records them in a log
outside the mount. Runs until the filesystem goes away.
    crash_writer.py MOUNT_DIR LOG ROUND
    crash_writer.py --verify MOUNT_DIR LOG"""
import os
import random
import sys


def content(seed, size):
    return random.Random(seed).randbytes(size)


def write(mnt, log, rnd):
    rng = random.Random(rnd)
    os.makedirs(mnt, exist_ok=True)
    with open(log, "a") as lf:
        for i in range(1_000_000):
            seed = rnd * 1_000_003 + i
            size = rng.choice([0, rng.randrange(1, 5000), rng.randrange(1, 3 << 20)])
            name = f"r{rnd}-{i}"
            final = os.path.join(mnt, name)
            data = content(seed, size)
            try:
                if i % 2:
                    tmp = os.path.join(mnt, f".tmp-{name}")
                    with open(tmp, "wb") as f:
                        f.write(data)
                        f.flush()
                        os.fsync(f.fileno())
                    os.rename(tmp, final)
                    dfd = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY)
                    os.fsync(dfd)
                    os.close(dfd)
                else:
                    with open(final, "wb") as f:
                        for k in range(0, size, 100_000):
                            f.write(data[k:k + 100_000])
                        f.flush()
                        os.fsync(f.fileno())
            except OSError:
                return  # the daemon is gone
            lf.write(f"{name} {seed} {size}\n")
            lf.flush()


def verify(mnt, log):
    n = 0
    with open(log) as lf:
        for line in lf:
            name, seed, size = line.split()
            path = os.path.join(mnt, name)
            try:
                with open(path, "rb") as f:
                    got = f.read()
            except OSError as e:
                sys.exit(f"fsynced file {name} cannot be read after the crash: {e}")
            if got != content(int(seed), int(size)):
                sys.exit(f"fsynced file {name} differs after the crash "
                         f"({len(got)} bytes, want {size})")
            n += 1
    print(f"crash_writer: {n} fsynced files read back byte for byte")


if __name__ == "__main__":
    if sys.argv[1] == "--verify":
        verify(sys.argv[2], sys.argv[3])
    else:
        write(sys.argv[1], sys.argv[2], int(sys.argv[3]))
