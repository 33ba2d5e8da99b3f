#!/usr/bin/env python3
"""The workload of the power-loss test (test_power_loss.sh): one thread doing
creates, overwrites, appends, truncates, renames over existing files,
renames, unlinks, fsyncs of files and of directories in a mounted volume,
and writing to a journal OUTSIDE the volume every operation it made, with
the CLOCK_MONOTONIC times it started and returned (the clock the recorder
stamps the daemon's operations with), so that power_loss_check.py can tell,
for a crash at a given time, what was acknowledged and what may or may not
have happened.

    power_loss_workload.py MOUNT JOURNAL SEED [ROUNDS]

Every byte written is part of a 32-byte self-identifying cell (see cell()):
file id, write version and cell index, so any read of any file can be
checked: no byte a file was never given can pass. Writes and sizes are
multiples of 32 bytes, at any offset (so not aligned to the 4 KiB chunks).

Each round has a synced stretch (every change followed by fsync of the file,
the directory fsynced after name changes) and a quiet stretch of 7.5 s with
no fsync at all, one change every 0.25 s: the daemon's flusher then
group-commits the index every second and syncs the disks every 5 s on its
own, which is where the ordering of data before index matters.
"""
import array
import hashlib
import json
import os
import random
import struct
import sys
import time

CELL = 32
CELL_FMT = struct.Struct("<8sIIQQ")
MAGIC = b"tfscell:"
MASK = (1 << 64) - 1


def cell_check(fid, ver, idx):
    return (((fid << 32) | ver) * 0x9E3779B97F4A7C15 + idx * 0xC2B2AE3D27D4EB4F) & MASK


def cell(fid, ver, idx):
    """The 32 bytes of cell idx (file offset idx * 32) written by write
    version ver of file fid."""
    return CELL_FMT.pack(MAGIC, fid, ver, idx, cell_check(fid, ver, idx))


def cells(fid, ver, first, count):
    return b"".join([cell(fid, ver, i) for i in range(first, first + count)])


def content(fid, vers):
    """The bytes of file fid whose cell i holds version vers[i] (0: zeros)."""
    zero = bytes(CELL)
    return b"".join([cell(fid, v, i) if v else zero for i, v in enumerate(vers)])


def now():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


class Workload:
    def __init__(self, mnt, journal, seed):
        self.mnt = mnt
        self.rng = random.Random(seed)
        self.jf = open(journal, "w")
        self.next_fid = 1
        self.next_ver = 1
        self.names = {}  # path (relative to mnt) -> fid
        self.model = {}  # fid -> array of cell versions
        self.dirs = ["w/a", "w/b"]
        self.ntmp = 0

    def log(self, t0, **rec):
        rec["t0"] = t0
        rec["t1"] = now()
        self.jf.write(json.dumps(rec, separators=(",", ":")) + "\n")
        self.jf.flush()

    def p(self, rel):
        return os.path.join(self.mnt, rel)

    # ---- operations; each journals what it did once it returned ----

    def mkdir(self, rel):
        t0 = now()
        os.mkdir(self.p(rel))
        self.log(t0, op="mkdir", path=rel)

    def fsyncdir(self, rel):
        t0 = now()
        fd = os.open(self.p(rel) if rel else self.mnt, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self.log(t0, op="fsyncdir", path=rel)

    def _write(self, fd, rel, fid, off_cells, ncells):
        ver = self.next_ver
        self.next_ver += 1
        data = cells(fid, ver, off_cells, ncells)
        t0 = now()
        n = os.pwrite(fd, data, off_cells * CELL)
        if n != len(data):
            raise OSError(f"short write to {rel}: {n} of {len(data)} bytes")
        self.log(t0, op="write", path=rel, fid=fid, ver=ver, off=off_cells, n=ncells)
        m = self.model[fid]
        end = off_cells + ncells
        if len(m) < end:
            m.extend([0] * (end - len(m)))
        m[off_cells:end] = array.array("I", [ver]) * ncells

    def _fsync_fd(self, fd, rel, fid):
        t0 = now()
        os.fsync(fd)
        data = content(fid, self.model[fid])
        self.log(t0, op="fsync", path=rel, fid=fid, size=len(data),
                 sha256=hashlib.sha256(data).hexdigest())

    def size_cells(self):
        r = self.rng.random()
        if r < 0.4:
            return self.rng.randrange(1, 257)  # up to 8 KiB: a few chunks, or inline
        if r < 0.85:
            return self.rng.randrange(257, 8193)  # up to 256 KiB
        # 512 KiB to 1 MiB, 4 KiB-aligned: the daemon's O_DIRECT path
        return self.rng.randrange(128, 257) * 128

    def create(self, rel, sync):
        fid = self.next_fid
        self.next_fid += 1
        self.model[fid] = array.array("I")
        t0 = now()
        fd = os.open(self.p(rel), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        self.log(t0, op="create", path=rel, fid=fid)
        self.names[rel] = fid
        try:
            total = self.size_cells()
            pieces = self.rng.choice([1, 1, 2, 3])
            done = 0
            for i in range(pieces):
                n = total - done if i == pieces - 1 else self.rng.randrange(0, total - done + 1)
                if n:
                    self._write(fd, rel, fid, done, n)
                done += n
            if sync:
                self._fsync_fd(fd, rel, fid)
        finally:
            os.close(fd)
        return fid

    def overwrite(self, rel, sync, append=False):
        fid = self.names[rel]
        size = len(self.model[fid])
        fd = os.open(self.p(rel), os.O_WRONLY)
        try:
            if append:
                off = size
            else:
                off = self.rng.randrange(0, size + 1)
            n = self.rng.choice([self.rng.randrange(1, 129), self.rng.randrange(1, 4097)])
            self._write(fd, rel, fid, off, n)
            if sync:
                self._fsync_fd(fd, rel, fid)
        finally:
            os.close(fd)

    def truncate(self, rel, sync):
        fid = self.names[rel]
        m = self.model[fid]
        size = len(m)
        if self.rng.random() < 0.75 or size == 0:
            new = self.rng.randrange(0, size + 1)
        else:
            new = size + self.rng.randrange(1, 257)
        t0 = now()
        os.truncate(self.p(rel), new * CELL)
        self.log(t0, op="truncate", path=rel, fid=fid, size=new)
        if new < size:
            del m[new:]
        else:
            m.extend([0] * (new - size))
        if sync:
            self.fsync(rel)

    def fsync(self, rel):
        fd = os.open(self.p(rel), os.O_RDONLY)
        try:
            self._fsync_fd(fd, rel, self.names[rel])
        finally:
            os.close(fd)

    def rename(self, src, dst):
        t0 = now()
        os.rename(self.p(src), self.p(dst))
        self.log(t0, op="rename", src=src, dst=dst)
        self.names[dst] = self.names.pop(src)

    def unlink(self, rel):
        t0 = now()
        os.unlink(self.p(rel))
        self.log(t0, op="unlink", path=rel)
        del self.names[rel]

    def replace(self, rel, sync):
        """Write a new file under a temporary name and rename it over rel
        (or to rel, if it does not exist), as a compactor does."""
        d = os.path.dirname(rel)
        self.ntmp += 1
        tmp = f"{d}/.tmp-{self.ntmp}"
        self.create(tmp, sync)
        self.rename(tmp, rel)
        if sync:
            self.fsyncdir(d)

    # ---- the mix ----

    def random_op(self, sync):
        d = self.rng.choice(self.dirs)
        here = [n for n in self.names if os.path.dirname(n) == d and "/.tmp-" not in n]
        free = [f"{d}/f{i}" for i in range(8) if f"{d}/f{i}" not in self.names]
        r = self.rng.random()
        if not here or (r < 0.2 and free):
            rel = self.rng.choice(free)
            self.create(rel, sync)
            if sync:
                self.fsyncdir(d)
            return
        rel = self.rng.choice(here)
        if r < 0.40:
            self.overwrite(rel, sync)
        elif r < 0.55:
            self.overwrite(rel, sync, append=True)
        elif r < 0.65:
            self.truncate(rel, sync)
        elif r < 0.78:
            self.replace(self.rng.choice(here + free[:1]), sync)
        elif r < 0.86 and free:
            self.rename(rel, self.rng.choice(free))
            if sync:
                self.fsyncdir(d)
        elif r < 0.93 and len(here) > 2:
            self.unlink(rel)
            if sync:
                self.fsyncdir(d)
        elif sync:
            self.fsync(rel)
        else:
            self.overwrite(rel, False)

    def run(self, rounds):
        self.mkdir("w")
        for d in self.dirs:
            self.mkdir(d)
        self.fsyncdir("")
        self.fsyncdir("w")
        for d in self.dirs:
            for i in range(3):
                self.create(f"{d}/f{i}", True)
            self.fsyncdir(d)
        for _ in range(rounds):
            for _ in range(10):
                self.random_op(True)
            # No fsync for 7.5 s: a change every 0.25 s, so that each of the
            # flusher's group commits (every second) finds the index changed
            # and makes the previous one durable, while the disks are synced
            # only by the 5 s sync; 7.5 s holds at least two commits after
            # that sync, whatever its phase.
            for _ in range(30):
                self.random_op(False)
                time.sleep(0.25)
        # End on a synced state, so the last crash points check it too.
        for d in self.dirs:
            for rel in [n for n in self.names if os.path.dirname(n) == d]:
                self.fsync(rel)
            self.fsyncdir(d)


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    mnt, journal, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rounds = int(sys.argv[4]) if len(sys.argv) == 5 else 3
    w = Workload(mnt, journal, seed)
    w.run(rounds)
    print(f"workload: {w.next_fid - 1} files, {w.next_ver - 1} writes, "
          f"{len(w.names)} files at the end")


if __name__ == "__main__":
    main()
