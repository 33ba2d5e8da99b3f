#!/usr/bin/env python3
"""Rebuild the states a power loss could leave, from the log that
tests/harness/crashrec.c (an LD_PRELOAD recorder) wrote while a process ran,
and a copy of its directories taken before it started (the ALICE /
CrashMonkey / dm-log-writes approach).

    crash_replay.py dump LOG                       what the log holds
    crash_replay.py build LOG --root SRC:PRISTINE:OUT [--root ...] --point K --seed S
                                                   write one crash state

The model of the storage below the files (what a power loss keeps):
- The crash comes right after record K: operations numbered above K never
  happened.
- File data and size (write, ftruncate, O_TRUNC, fallocate): everything a
  file got before the start of its last successful fsync or fdatasync that
  ended at or before K is there (fdatasync keeps the size too, as it must for
  the data to be readable). A write on an O_SYNC/O_DSYNC descriptor is there
  once it returned. Every other write or size change up to K is kept or lost,
  each on its own (probability p_keep, chosen per state), and a kept write
  over several 4 KiB pages of the file may be torn: only some of its pages
  kept. O_DIRECT writes are no different: they may sit in the device cache.
  sync_file_range promises nothing and counts as nothing.
- Names (create, rename, unlink, mkdir, rmdir): durable once the directory
  holding the name (both, for a rename) was fsynced after it, stricter than
  ext4, which also commits a new file's name with the file's fsync; before
  that each is kept or lost on its own, applied in order to whatever names
  the kept ones left (a rename whose source is gone does nothing).
- sync() and syncfs() count as an fsync of every file and directory.
- Writes are applied in log order, so a kept later write wins over an earlier
  one it overlaps. The page cache's own behaviour (pages written back in
  whole, in any order) gives states within this set.
Not modelled: reordering of writes inside a file that the device itself
could do between a flush's start and its end (a write racing with an fsync
counts as covered: this can hide a bug, never invent one), metadata other
than names and sizes (modes, times, xattrs of the host files), hard links,
renames of directories.
"""
import argparse
import mmap
import os
import random
import shutil
import struct
import sys

REC = struct.Struct("<IHHQQqQqIIIi")
assert REC.size == 64
MAGIC = 0x52434654

OPEN, WRITE, TRUNC, FALLOC, SYNC_BEGIN, SYNC_END, RENAME, UNLINK, MKDIR, ERROR = range(1, 11)
OP_NAMES = {OPEN: "open", WRITE: "write", TRUNC: "trunc", FALLOC: "falloc",
            SYNC_BEGIN: "sync-begin", SYNC_END: "sync-end", RENAME: "rename",
            UNLINK: "unlink", MKDIR: "mkdir", ERROR: "ERROR"}
F_CREATED, F_SYNCWRITE, F_DIR, F_DATASYNC, F_RANGE, F_ALL, F_DIRECT = (
    0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40)
O_DIRECTORY = os.O_DIRECTORY
FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE = 0x1, 0x2, 0x10
PAGE = 4096


class LogError(Exception):
    pass


class Rec:
    __slots__ = ("seq", "t", "op", "flags", "off", "len", "arg", "rc", "tid", "path", "path2",
                 "doff", "ino", "begin", "durable_dirs")

    def describe(self):
        s = f"#{self.seq} {OP_NAMES.get(self.op, self.op)} {self.path}"
        if self.op == RENAME:
            s += f" -> {self.path2}"
        if self.op in (WRITE, FALLOC):
            s += f" off={self.off} len={self.len}"
        if self.op == TRUNC:
            s += f" size={self.off}"
        if self.rc:
            s += f" rc={self.rc}"
        return s


class Log:
    """The records of a log, by seq, with each file's identity (an inode
    number of our own, so that a rename keeps a file's writes together)."""

    def __init__(self, path, roots):
        """roots: list of (recorded_root, pristine_dir)."""
        self.roots = [(os.path.realpath(r), p) for r, p in roots]
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            self.mm = mmap.mmap(f.fileno(), size, prot=mmap.PROT_READ) if size else b""
        self.recs = []
        self.errors = []
        pos = 0
        mm = self.mm
        while pos < size:
            if size - pos < REC.size:
                raise LogError(f"{path}: truncated record at byte {pos}")
            (magic, op, flags, seq, t, off, ln, arg, plen, p2len, tid, rc) = REC.unpack_from(
                mm, pos)
            if magic != MAGIC:
                raise LogError(f"{path}: bad magic at byte {pos}")
            r = Rec()
            r.seq, r.t, r.op, r.flags, r.off, r.len, r.arg, r.rc, r.tid = (
                seq, t, op, flags, off, ln, arg, rc, tid)
            pos += REC.size
            r.path = bytes(mm[pos:pos + plen]).decode("utf-8", "surrogateescape")
            pos += plen
            r.path2 = bytes(mm[pos:pos + p2len]).decode("utf-8", "surrogateescape")
            pos += p2len
            r.doff = pos
            if op == WRITE:
                pos += ln
            if pos > size:
                raise LogError(f"{path}: record #{seq} runs past the end")
            r.ino = None
            r.begin = None
            self.recs.append(r)
            if op == ERROR:
                self.errors.append(f"{r.path}: {r.path2}")
        self.recs.sort(key=lambda x: x.seq)
        for i, r in enumerate(self.recs):
            if r.seq != i:
                raise LogError(f"{path}: record #{i} is missing (the recorded process died "
                               "in the middle of a call?)")
        self._identify()

    def data(self, r):
        return memoryview(self.mm)[r.doff:r.doff + r.len]

    def rel(self, path):
        """(root index, path relative to it) of a recorded path."""
        for i, (root, _) in enumerate(self.roots):
            if path == root or path.startswith(root + "/"):
                return i, path[len(root):]
        raise LogError(f"{path} is not under any recorded directory")

    def pristine_path(self, path):
        i, rel = self.rel(path)
        return self.roots[i][1] + rel

    def _identify(self):
        """Give every file a number; pair each flush's end with its begin."""
        self.inos = {}  # ino -> (origin path or None if created in the log)
        self.dirs = set()
        bind = {}
        nxt = [0]

        def new_ino(origin):
            nxt[0] += 1
            self.inos[nxt[0]] = origin
            return nxt[0]

        def lookup(path):
            if path in bind:
                return bind[path]
            p = self.pristine_path(path)
            if os.path.isdir(p):
                self.dirs.add(path)
                return None
            if not os.path.lexists(p):
                raise LogError(f"{path} is used but was neither in the pristine copy nor "
                               "created in the log")
            bind[path] = new_ino(path)
            return bind[path]

        self.pristine_dirs = set()
        for root, pristine in self.roots:
            for d, _, _ in os.walk(pristine):
                self.pristine_dirs.add(root + d[len(pristine):])
        self.dirs.update(self.pristine_dirs)
        begins = {}
        for r in self.recs:
            if r.op == SYNC_BEGIN:
                begins[(r.tid, r.path)] = r.seq
            elif r.op == SYNC_END:
                r.begin = begins.pop((r.tid, r.path))
            if r.rc < 0 or r.op == ERROR:
                continue
            if r.op == OPEN:
                if (r.flags & F_DIR) or (r.arg & O_DIRECTORY):
                    self.dirs.add(r.path)
                elif r.flags & F_CREATED:
                    if r.path in bind:
                        raise LogError(f"#{r.seq}: {r.path} created but it exists")
                    r.ino = bind[r.path] = new_ino(None)
                else:
                    r.ino = lookup(r.path)
            elif r.op in (WRITE, TRUNC, FALLOC):
                r.ino = lookup(r.path)
                if r.ino is None:
                    raise LogError(f"#{r.seq}: data written to directory {r.path}")
            elif r.op in (SYNC_BEGIN, SYNC_END):
                if not (r.flags & F_ALL) and r.path not in self.dirs:
                    r.ino = lookup(r.path)
            elif r.op == RENAME:
                if r.path in self.dirs:
                    raise LogError(f"#{r.seq}: renaming directory {r.path} is not modelled")
                r.ino = lookup(r.path)
                bind.pop(r.path)
                bind[r.path2] = r.ino
            elif r.op == UNLINK:
                if r.flags & F_DIR:
                    self.dirs.discard(r.path)
                else:
                    r.ino = lookup(r.path)
                    bind.pop(r.path)
            elif r.op == MKDIR:
                self.dirs.add(r.path)

    def create_points(self):
        """The records that created a file."""
        return [r.seq for r in self.recs
                if r.op == OPEN and r.rc == 0 and (r.flags & F_CREATED) and r.ino is not None]

    def sync_points(self):
        return [r.seq for r in self.recs if r.op in (SYNC_BEGIN, SYNC_END)]

    def before_flush_points(self):
        """The records just before a flush of a file A whose oldest unflushed
        write is older than the end of another file's last flush: a crash
        there may keep what the other file made durable after A's write and
        lose the write itself (data before the index that points at it)."""
        first_unflushed, ends, pts = {}, {}, []

        def last_end_other(ino):
            return max((e for i, e in ends.items() if i != ino), default=-1)

        for r in self.recs:
            if r.rc < 0 or r.ino is None:
                continue
            if r.op in (WRITE, TRUNC, FALLOC) and not (r.flags & F_SYNCWRITE):
                first_unflushed.setdefault(r.ino, r.seq)
            elif r.op == SYNC_BEGIN and not (r.flags & F_RANGE):
                first = first_unflushed.get(r.ino)
                if first is not None and first < last_end_other(r.ino) and r.seq > 0:
                    pts.append(r.seq - 1)
            elif r.op == SYNC_END and not (r.flags & F_RANGE) and r.rc == 0:
                first = first_unflushed.get(r.ino)
                if first is not None and first < r.begin:
                    del first_unflushed[r.ino]
                ends[r.ino] = r.seq
        return pts


def parent(path):
    return os.path.dirname(path)


def plan(log, k, rng, p_keep, p_tear, per_file=None):
    """Decide what survives a crash after record k. p_keep: the chance that
    an operation no flush covers survives; per_file: {ino or directory path:
    p_keep} overriding it. Returns (kept records, {seq: kept pages} for
    torn writes, counts)."""
    per_file = per_file or {}
    # Durable horizon of each file (by ino) and directory (by path): writes
    # numbered below the begin of the last successful flush that ended by k.
    horizon = {}
    all_horizon = -1
    for r in log.recs[:k + 1]:
        if r.op != SYNC_END or r.rc < 0 or (r.flags & F_RANGE):
            continue
        if r.flags & F_ALL:
            all_horizon = max(all_horizon, r.begin)
        else:
            key = r.ino if r.ino is not None else r.path
            horizon[key] = max(horizon.get(key, -1), r.begin)

    def durable(key, seq):
        return seq < max(horizon.get(key, -1), all_horizon)

    kept, torn = [], {}
    counts = {"durable": 0, "kept": 0, "lost": 0, "torn": 0}
    for r in log.recs[:k + 1]:
        if r.rc < 0 or r.op in (SYNC_BEGIN, SYNC_END, ERROR):
            continue
        if r.op == OPEN and not (r.flags & F_CREATED):
            continue
        if r.op in (WRITE, TRUNC, FALLOC):
            sure = (r.op == WRITE and r.flags & F_SYNCWRITE) or durable(r.ino, r.seq)
        elif r.op == OPEN and (r.flags & (F_DIR | F_CREATED)) == (F_DIR | F_CREATED):
            continue  # O_DIRECTORY|O_CREAT does not create directories
        elif r.op == RENAME:
            sure = durable(parent(r.path), r.seq) and durable(parent(r.path2), r.seq)
        else:  # a create, unlink, mkdir
            sure = durable(parent(r.path), r.seq)
        if sure:
            counts["durable"] += 1
            kept.append(r)
        elif rng.random() < per_file.get(
                r.ino if r.op in (WRITE, TRUNC, FALLOC) else parent(r.path), p_keep):
            counts["kept"] += 1
            kept.append(r)
            if r.op == WRITE:
                first, last = r.off // PAGE, (r.off + r.len - 1) // PAGE
                if last > first and rng.random() < p_tear:
                    pages = {p for p in range(first, last + 1) if rng.random() < 0.5}
                    torn[r.seq] = pages
                    counts["torn"] += 1
        else:
            counts["lost"] += 1
    return kept, torn, counts


def build(log, outs, k, seed, staging, names_not_data=False):
    """Write the crash state after record k (seed: the random choices) into
    outs (one directory per recorded root, which must not exist yet).
    names_not_data: instead of random choices, keep every name change and
    lose every write and size change that no flush covers (the state where
    the directories reached the disk and the data did not).
    Returns a summary dict."""
    rng = random.Random(seed)
    menu = [0.0, 0.25, 0.5, 0.75, 1.0]
    p_keep = rng.choice(menu)
    p_tear = rng.choice([0.0, 0.5])
    # Half the states give each file (and each directory's names) its own
    # chance, as separate devices and files drain their caches at their own
    # pace: the states where one file kept everything and another nothing.
    per_file = None
    if names_not_data:
        per_file = {key: 0.0 for key in log.inos}
        per_file.update({key: 1.0 for key in log.dirs})
        p_keep, p_tear = "names-not-data", 0.0
    elif rng.random() < 0.5:
        keys = sorted(log.inos) + sorted(log.dirs)
        per_file = {key: rng.choice(menu) for key in keys}
        p_keep = "per-file"
    kept, torn, counts = plan(log, k, rng, p_keep if per_file is None else 0.5, p_tear,
                              per_file)

    def out_path(path):
        i, rel = log.rel(path)
        return outs[i] + rel

    for (_, pristine), out in zip(log.roots, outs):
        shutil.copytree(pristine, out, symlinks=True)
    os.makedirs(staging)
    # Every file the log touches up to k lives in staging/<ino> while its
    # operations are applied, then gets the name the kept name changes gave it.
    touched = {r.ino for r in log.recs[:k + 1] if r.ino is not None and r.rc >= 0}
    names = {}  # path -> ino
    fds = {}
    for ino in sorted(touched):
        origin = log.inos[ino]
        sp = os.path.join(staging, str(ino))
        if origin is not None:
            os.rename(out_path(origin), sp)
            names[origin] = ino
        else:
            open(sp, "wb").close()
        fds[ino] = os.open(sp, os.O_RDWR)
    dirs = set(log.pristine_dirs)
    try:
        for r in kept:
            if r.op == WRITE:
                fd, data = fds[r.ino], log.data(r)
                pages = torn.get(r.seq)
                if pages is None:
                    os.pwrite(fd, data, r.off)
                    continue
                for p in sorted(pages):
                    a = max(r.off, p * PAGE)
                    b = min(r.off + r.len, (p + 1) * PAGE)
                    os.pwrite(fd, data[a - r.off:b - r.off], a)
            elif r.op == TRUNC:
                os.ftruncate(fds[r.ino], r.off)
            elif r.op == FALLOC:
                fd, mode = fds[r.ino], r.arg
                size = os.fstat(fd).st_size
                end = r.off + r.len
                if mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE):
                    raise LogError(f"#{r.seq}: fallocate mode {mode:#x} is not modelled")
                if mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE):
                    zend = min(end, size) if mode & FALLOC_FL_KEEP_SIZE else end
                    if zend > r.off:
                        os.pwrite(fd, bytes(zend - r.off), r.off)
                elif not (mode & FALLOC_FL_KEEP_SIZE) and end > size:
                    os.ftruncate(fd, end)
            elif r.op == OPEN:  # a create
                if parent(r.path) in dirs and r.path not in names:
                    names[r.path] = r.ino
            elif r.op == RENAME:
                if names.get(r.path) == r.ino and parent(r.path2) in dirs:
                    del names[r.path]
                    names[r.path2] = r.ino
            elif r.op == UNLINK:
                if r.flags & F_DIR:
                    if r.path in dirs and not any(parent(n) == r.path for n in names):
                        dirs.discard(r.path)
                        os.rmdir(out_path(r.path))
                elif names.get(r.path) == r.ino:
                    del names[r.path]
            elif r.op == MKDIR:
                if parent(r.path) in dirs and r.path not in dirs:
                    dirs.add(r.path)
                    os.mkdir(out_path(r.path))
    finally:
        for fd in fds.values():
            os.close(fd)
    for path, ino in names.items():
        if parent(path) in dirs:
            os.rename(os.path.join(staging, str(ino)), out_path(path))
    shutil.rmtree(staging)
    r = log.recs[k] if k >= 0 else None
    nxt = log.recs[k + 1] if k + 1 < len(log.recs) else None
    return {
        "point": k, "seed": seed, "p_keep": p_keep, "p_tear": p_tear,
        "t_ns": r.t if r else 0, "t_next_ns": nxt.t if nxt else None,
        "at": r.describe() if r else "(before the first record)", **counts,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("log")
    d.add_argument("--root", action="append", default=[], metavar="SRC:PRISTINE")
    b = sub.add_parser("build")
    b.add_argument("log")
    b.add_argument("--root", action="append", required=True, metavar="SRC:PRISTINE:OUT")
    b.add_argument("--point", type=int, required=True)
    b.add_argument("--seed", type=int, required=True)
    a = ap.parse_args()
    if a.cmd == "dump":
        roots = [tuple(x.split(":")[:2]) for x in a.root]
        if not roots:
            # Without roots, only what the records say.
            with open(a.log, "rb") as f:
                data = f.read()
            pos = 0
            while pos < len(data):
                (_, op, flags, seq, t, off, ln, arg, plen, p2len, tid, rc) = REC.unpack_from(
                    data, pos)
                pos += REC.size
                p = data[pos:pos + plen].decode(errors="replace")
                p2 = data[pos + plen:pos + plen + p2len].decode(errors="replace")
                pos += plen + p2len + (ln if op == WRITE else 0)
                print(f"{seq} {t} tid={tid} {OP_NAMES.get(op, op)} flags={flags:#x} off={off} "
                      f"len={ln} arg={arg:#x} rc={rc} {p} {p2}")
            return
        log = Log(a.log, roots)
        for r in log.recs:
            print(r.describe(), f"ino={r.ino}")
        return
    triples = [x.split(":") for x in a.root]
    log = Log(a.log, [(s, p) for s, p, _ in triples])
    if log.errors:
        sys.exit("the log records what the recorder missed:\n  " + "\n  ".join(log.errors))
    outs = [o for _, _, o in triples]
    summary = build(log, outs, a.point, a.seed, outs[0].rstrip("/") + ".replay-staging")
    print(summary)


if __name__ == "__main__":
    main()
