#!/usr/bin/env python3
"""The crash states of the power-loss test (test_power_loss.sh): for each
one, rebuild it from the recorder's log (crash_replay.py), let the daemon
recover it by mounting it, and check what the workload's journal
(power_loss_workload.py) says must, may and must not be there:

- no read anywhere returns an error (EIO), no directory listing fails;
- every file reads back as cells its own writes put there (or zeros where
  the file had a hole or was never made durable): never bytes it was never
  given, never another file's;
- a file whose last fsync was acknowledged before the crash, under a name
  made durable by an acknowledged fsync of its directory, and not touched
  after that fsync, is byte-exact at its fsynced state; a file changed after
  its fsync holds, cell by cell, the fsynced cell or one of the later writes
  (never zeros inside the fsynced range unless a later truncate cut it);
- a name not yet made durable may have any of the bindings it had since the
  last fsync of its directory (or none);
- the daemon mounts and unmounts the state with exit status 0, and
  fsck.trackfs finds it clean afterwards.

The states: --states of them at random crash points (a third anywhere, a
third near a flush, a third just before a flush of a file whose unflushed
writes are older than another file's last flush) with random choices of what
survives; and, for every file the daemon created, the state right after its
creation where its name reached the disk and nothing written to it did.

Acknowledged means returned before the crash: the crash after log record K
happens somewhere between record K's time and record K+1's, so an operation
counts as done if it returned before record K's time, and as possibly done
if it started before record K+1's.

    power_loss_check.py --log LOG --journal J --root SRC:PRISTINE [...] --meta REL
        --work DIR --bin BUILD [--states N] [--seed S] [--keep]
        [--point K --state-seed X]   (one state, to reproduce a failure)
"""
import argparse
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import crash_replay  # noqa: E402
from power_loss_workload import CELL, CELL_FMT, MAGIC, cell_check, content  # noqa: E402

ZERO_CELL = bytes(CELL)


class Constraint:
    """What one file (by the workload's file id) may hold after the crash."""

    def __init__(self, fid, crash_ns):
        self.fid = fid
        self.crash_ns = crash_ns
        self.synced = None  # cell versions at the last acknowledged fsync
        self.synced_t1 = None
        self.later = []  # data ops after it (or all, if never fsynced) that may have happened
        self.max_cells = 0

    def describe(self):
        if self.synced is None:
            return f"file {self.fid}: never fsynced before the crash"
        ago = (self.crash_ns - self.synced_t1) / 1e9
        s = (f"file {self.fid}: fsynced with {len(self.synced) * CELL} bytes, "
             f"acknowledged {ago:.3f} s before the crash")
        if self.later:
            s += f", then {len(self.later)} changes that may or may not have happened"
        return s

    def check(self, data):
        """None if data is a possible content, else what is wrong."""
        if self.synced is not None and not self.later:
            want = content(self.fid, self.synced)
            if data == want:
                return None
            return "not byte-exact at its fsynced state: " + first_diff(data, want)
        if len(data) % CELL:
            return f"size {len(data)} is not a multiple of {CELL}"
        if len(data) > self.max_cells * CELL:
            return f"size {len(data)} is larger than any size it had ({self.max_cells * CELL})"
        synced = self.synced or []
        if self.synced is not None:
            # Fast path: blocks equal to the fsynced state are fine.
            want = content(self.fid, synced)
        else:
            want = b""
        cut = min([op["size"] for op in self.later if op["op"] == "truncate"], default=None)
        vers = {}
        for op in self.later:
            if op["op"] == "write":
                vers.setdefault(op["ver"], []).append((op["off"], op["off"] + op["n"]))
        blk = 4096
        for b in range(0, len(data), blk):
            piece = data[b:b + blk]
            if piece == want[b:b + blk]:
                continue
            for i, (magic, fid, ver, idx, chk) in enumerate(CELL_FMT.iter_unpack(piece)):
                c = b // CELL + i
                raw = piece[i * CELL:(i + 1) * CELL]
                if raw == ZERO_CELL:
                    if (self.synced is None or c >= len(synced) or synced[c] == 0
                            or (cut is not None and cut <= c)):
                        continue
                    return (f"zeros at offset {c * CELL}, inside its fsynced size "
                            f"{len(synced) * CELL}, with no truncate below it since")
                if magic != MAGIC or chk != cell_check(fid, ver, idx):
                    return f"bytes at offset {c * CELL} were never written by anyone: {raw!r}"
                if fid != self.fid:
                    return (f"bytes at offset {c * CELL} belong to file {fid} "
                            f"(write {ver}, its offset {idx * CELL})")
                if idx != c:
                    return (f"bytes at offset {c * CELL} are its own bytes from offset "
                            f"{idx * CELL} (write {ver})")
                if c < len(synced) and synced[c] == ver:
                    continue
                if any(a <= c < e for a, e in vers.get(ver, ())):
                    continue
                return (f"bytes at offset {c * CELL} are from write {ver}, which is neither "
                        f"in its fsynced state nor one that may have happened since")
        return None


def first_diff(got, want):
    if len(got) != len(want):
        head = f"size {len(got)}, fsynced size {len(want)}"
    else:
        head = f"size {len(got)}"
    for i in range(0, min(len(got), len(want)), CELL):
        if got[i:i + CELL] != want[i:i + CELL]:
            g = got[i:i + CELL]
            what = "zeros" if g == bytes(len(g)) else "other bytes"
            if len(g) == CELL and g[:8] == MAGIC:
                _, fid, ver, idx, _ = CELL_FMT.unpack(g)
                what = f"file {fid} write {ver} offset {idx * CELL}"
            return f"{head}; first difference at offset {i}: {what}"
    return head


class Journal:
    def __init__(self, path):
        with open(path) as f:
            self.ops = [json.loads(line) for line in f if line.strip()]

    def expectations(self, ta, tb):
        """(candidates: path -> set of fid / 'dir' / None, constraints:
        fid -> Constraint) for a crash between times ta and tb (ns)."""
        done = [op["t1"] < ta for op in self.ops]
        started = [tb is None or op["t0"] < tb for op in self.ops]
        # Contents, by file id.
        model, cons = {}, {}
        for i, op in enumerate(self.ops):
            if not started[i]:
                break
            kind = op["op"]
            if kind == "create":
                model[op["fid"]] = []
                cons[op["fid"]] = Constraint(op["fid"], ta)
            elif kind in ("write", "truncate"):
                fid = op["fid"]
                m, c = model[fid], cons[fid]
                if kind == "write":
                    end = op["off"] + op["n"]
                    if len(m) < end:
                        m.extend([0] * (end - len(m)))
                    m[op["off"]:end] = [op["ver"]] * op["n"]
                else:
                    if op["size"] < len(m):
                        del m[op["size"]:]
                    else:
                        m.extend([0] * (op["size"] - len(m)))
                c.later.append(op)
                c.max_cells = max(c.max_cells, len(m))
            elif kind == "fsync" and done[i]:
                fid = op["fid"]
                c = cons[fid]
                c.synced = list(model[fid])
                c.synced_t1 = op["t1"]
                c.later = []
                c.max_cells = len(c.synced)
                data = content(fid, c.synced)
                if len(data) != op["size"]:
                    raise AssertionError(f"journal op {i}: model size {len(data)} != {op['size']}")
        # Names: each path's binding history; durable up to its directory's
        # last acknowledged fsync.
        last_dsync = {}
        for i, op in enumerate(self.ops):
            if op["op"] == "fsyncdir" and done[i]:
                last_dsync[op["path"]] = i
        hist = {"": [(-1, "dir")]}  # path -> [(op index, binding)]
        cur = {"": "dir"}

        def setb(path, i, b):
            cur[path] = b
            hist.setdefault(path, [(-1, None)]).append((i, b))

        for i, op in enumerate(self.ops):
            if not started[i]:
                break
            kind = op["op"]
            if kind == "mkdir":
                setb(op["path"], i, "dir")
            elif kind == "create":
                setb(op["path"], i, op["fid"])
            elif kind == "rename":
                b = cur.get(op["src"])
                setb(op["src"], i, None)
                setb(op["dst"], i, b)
            elif kind == "unlink":
                setb(op["path"], i, None)
        cands = {}
        for path, h in hist.items():
            if path == "":
                cands[path] = {"dir"}
                continue
            durable_at = last_dsync.get(os.path.dirname(path), -2)
            s = set()
            base = None
            for i, b in h:
                if i < durable_at:
                    base = b
                else:
                    s.add(b)
            s.add(base)
            cands[path] = s
        return cands, cons


def walk(mnt):
    """(files: path -> bytes or exception, dirs: set, errors: list)."""
    files, dirs, errors = {}, {""}, []
    stack = [""]
    while stack:
        d = stack.pop()
        try:
            entries = sorted(os.listdir(os.path.join(mnt, d)))
        except OSError as e:
            errors.append(f"listing {d or '/'}: {e}")
            continue
        for name in entries:
            rel = f"{d}/{name}" if d else name
            full = os.path.join(mnt, rel)
            try:
                if os.path.isdir(full) and not os.path.islink(full):
                    dirs.add(rel)
                    stack.append(rel)
                    continue
                with open(full, "rb") as f:
                    files[rel] = f.read()
            except OSError as e:
                files[rel] = e
    return files, dirs, errors


def verify(mnt, cands, cons, stats):
    problems = []
    files, dirs, errors = walk(mnt)
    stats["files"] = len(files)
    stats["exact"] = sum(1 for path in files if len(cands.get(path, ())) == 1
                         and all(isinstance(f, int) and cons[f].synced is not None
                                 and not cons[f].later for f in cands[path]))
    problems += errors
    for d in sorted(dirs):
        if "dir" not in cands.get(d, set()):
            problems.append(f"{d}/: a directory the workload never made there")
    for path, data in sorted(files.items()):
        c = cands.get(path, set())
        fids = [x for x in c if isinstance(x, int)]
        if isinstance(data, OSError):
            what = "; ".join(cons[f].describe() for f in fids if f in cons) or "unknown file"
            problems.append(f"{path}: reading it failed: {data} ({what})")
            continue
        if not fids:
            problems.append(f"{path}: a file the workload never had under this name "
                            f"({len(data)} bytes)")
            continue
        why = []
        for f in fids:
            w = cons[f].check(data)
            if w is None:
                break
            why.append(f"as {cons[f].describe()}: {w}")
        else:
            problems.append(f"{path}: {' / '.join(why)}")
    for path, c in sorted(cands.items()):
        if None in c or path in files or path in dirs:
            continue
        b = next(iter(c))
        what = "directory" if b == "dir" else cons[b].describe()
        problems.append(f"{path}: missing, but its name was durable ({what})")
    return problems


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def retarget_volfile(meta, roots, outs):
    """The state's disks are in new directories: say so in volume.conf (the
    file documents that disk paths may be edited when disks move)."""
    path = os.path.join(meta, "volume.conf")
    with open(path) as f:
        lines = f.read().split("\n")
    for i, line in enumerate(lines):
        if line.startswith("disk = "):
            head, _, p = line.rpartition(" ")
            for (src, _), out in zip(roots, outs):
                if p == src or p.startswith(src + "/"):
                    lines[i] = f"{head} {out}{p[len(src):]}"
                    break
            else:
                raise RuntimeError(f"{path}: disk {p} is not a recorded directory")
    with open(path, "w") as f:
        f.write("\n".join(lines))


class Daemon:
    def __init__(self, binary, meta, mnt, logpath):
        self.mnt = mnt
        self.logpath = logpath
        self.logf = open(logpath, "w")
        self.proc = subprocess.Popen([binary, "-f", meta, mnt], stdout=self.logf,
                                     stderr=subprocess.STDOUT)

    def wait_mounted(self):
        for _ in range(200):
            if os.path.ismount(self.mnt):
                return None
            if self.proc.poll() is not None:
                return f"the daemon exited with {self.proc.returncode} before mounting"
            time.sleep(0.05)
        return "not mounted after 10 s"

    def stop(self):
        """Unmount and wait; returns a problem or None."""
        problem = None
        if os.path.ismount(self.mnt):
            r = run(["fusermount3", "-u", self.mnt])
            if r.returncode:
                problem = f"fusermount3 -u failed: {r.stdout.strip()}"
                run(["fusermount3", "-uz", self.mnt])
        try:
            rc = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            problem = problem or "the daemon did not exit within 60 s of the unmount"
        self.logf.close()
        if rc != 0 and not problem:
            problem = f"the daemon exited with {rc} after the unmount"
        return problem

    def tail(self, n=15):
        with open(self.logpath) as f:
            return "".join(f.readlines()[-n:])


def choose_points(log, n, rng):
    """Crash points, a third each: anywhere; within a few records of a flush
    (where what is durable changes); and just before a flush of a file with
    unflushed writes (where the most is at risk while other files may
    already depend on it: data before the index that points at it)."""
    total = len(log.recs)
    syncs = log.sync_points()
    order = log.before_flush_points()
    pts = []
    for i in range(n):
        if i % 3 == 1 and syncs:
            pts.append(min(total - 1, max(0, rng.choice(syncs) + rng.randint(-2, 3))))
        elif i % 3 == 2 and order:
            pts.append(rng.choice(order))
        else:
            pts.append(rng.randrange(total))
    return pts


def check_state(a, log, journal, idx, k, sseed, sabotage=False, names_not_data=False):
    """Build, recover, check one state. Returns (summary, problems).
    sabotage: damage the state's tracks first (the checker's self-test);
    names_not_data: see crash_replay.build."""
    sdir = os.path.join(a.work, f"state-{idx}")
    outs = [os.path.join(sdir, os.path.basename(src.rstrip("/"))) for src, _ in log.roots]
    if os.path.exists(sdir):
        shutil.rmtree(sdir)
    os.makedirs(sdir)
    summary = crash_replay.build(log, outs, k, sseed, os.path.join(sdir, ".staging"),
                                 names_not_data)
    problems = []
    summary["files"] = summary["exact"] = 0
    if sabotage:
        for out in outs:
            tracks = os.path.join(out, "tracks")
            for name in os.listdir(tracks):
                with open(os.path.join(tracks, name), "r+b") as f:
                    f.seek(4096)
                    f.write(b"\xa5" * (1 << 20))
    meta = os.path.join(outs[0], a.meta)
    retarget_volfile(meta, log.roots, outs)
    fsck = os.path.join(a.bin, "tools", "fsck.trackfs")
    r = run([fsck, meta])
    with open(os.path.join(sdir, "fsck-before.log"), "w") as f:
        f.write(r.stdout)
    if r.returncode < 0 or r.returncode >= 8:
        problems.append(f"fsck.trackfs before mounting: exit {r.returncode}: "
                        f"{r.stdout.strip()[-500:]}")
        return summary, problems
    cands, cons = journal.expectations(summary["t_ns"], summary["t_next_ns"])
    mnt = os.path.join(a.work, "mnt")
    os.makedirs(mnt, exist_ok=True)
    d = Daemon(os.path.join(a.bin, "fs", "fuse", "trackfs"), meta, mnt,
               os.path.join(sdir, "daemon.log"))
    p = d.wait_mounted()
    if p:
        d.stop()
        problems.append(f"mounting the crash state: {p}:\n{d.tail()}")
        return summary, problems
    try:
        problems += verify(mnt, cands, cons, summary)
    finally:
        p = d.stop()
    if p:
        problems.append(f"{p}:\n{d.tail()}")
    r = run([fsck, meta])
    with open(os.path.join(sdir, "fsck-after.log"), "w") as f:
        f.write(r.stdout)
    if r.returncode != 0:
        problems.append(f"fsck.trackfs after the recovery mount: exit {r.returncode}:\n"
                        f"{r.stdout.strip()[-1500:]}")
    return summary, problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--journal", required=True)
    ap.add_argument("--root", action="append", required=True, metavar="SRC:PRISTINE")
    ap.add_argument("--meta", required=True, help="metadata directory, relative to the first root")
    ap.add_argument("--work", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--states", type=int, default=50)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the failing states' directories")
    ap.add_argument("--point", type=int, help="check only this crash point (with --state-seed)")
    ap.add_argument("--state-seed", type=int)
    ap.add_argument("--names-not-data", action="store_true",
                    help="with --point: keep every unflushed name change, lose every unflushed write")
    ap.add_argument("--self-test", action="store_true",
                    help="first check that a state with damaged tracks is caught")
    a = ap.parse_args()

    log = crash_replay.Log(a.log, [tuple(x.split(":")) for x in a.root])
    if log.errors:
        sys.exit("FAIL: the recorder missed operations:\n  " + "\n  ".join(log.errors))
    journal = Journal(a.journal)
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1 << 31)
    rng = random.Random(seed)
    if a.point is not None:
        plan = [(a.point, a.state_seed if a.state_seed is not None else 0, a.names_not_data)]
    else:
        plan = [(k, rng.randrange(1 << 31), False) for k in choose_points(log, a.states, rng)]
        # And, for every file the daemon created (tracks, the lock file),
        # the state right after its creation in which its name reached the
        # disk and nothing written to it did: rare among random points, and
        # a file created in place is exposed exactly there.
        plan += [(k, 0, True) for k in log.create_points()]
    nsync = len(log.sync_points()) // 2
    print(f"power loss: {len(log.recs)} recorded operations ({nsync} flushes), "
          f"{len(journal.ops)} workload operations; {len(plan)} crash states "
          f"({len(plan) - a.states if a.point is None else 0} of them right after a file "
          f"was created), seed {seed}")
    failed = []
    t_start = time.monotonic()
    if a.self_test:
        # The last state with 1 MiB of every track overwritten: the checker
        # must notice, or its passes mean nothing.
        summary, problems = check_state(a, log, journal, "self-test", len(log.recs) - 1, 0,
                                        sabotage=True)
        if not problems:
            sys.exit("FAIL: self-test: a state with damaged tracks passed the checks")
        print(f"self-test: a state with damaged tracks is caught ({problems[0][:100]}...)")
        shutil.rmtree(os.path.join(a.work, "state-self-test"))
    for idx, (k, sseed, nnd) in enumerate(plan):
        summary, problems = check_state(a, log, journal, idx, k, sseed, names_not_data=nnd)
        sdir = os.path.join(a.work, f"state-{idx}")
        head = (f"state {idx}: crash after {summary['at']} (point {k}, state seed {sseed}, "
                f"p_keep {summary['p_keep']}, p_tear {summary['p_tear']}; "
                f"{summary['durable']} durable, {summary['kept']} kept, {summary['lost']} lost, "
                f"{summary['torn']} torn; {summary['files']} files read, "
                f"{summary['exact']} required byte-exact)")
        if problems:
            failed.append(idx)
            print(f"FAIL {head}")
            for p in problems:
                print("    " + p.replace("\n", "\n    "))
            print(f"    reproduce on this log: power_loss_check.py ... --point {k} "
                  f"--state-seed {sseed}" + (" --names-not-data" if nnd else ""))
            if a.keep:
                print(f"    kept {sdir}")
                continue
        else:
            print(f"ok   {head}")
        shutil.rmtree(sdir)
    took = time.monotonic() - t_start
    print(f"power loss: {len(plan) - len(failed)} of {len(plan)} crash states passed, "
          f"{len(failed)} failed ({took:.0f} s); seed {seed}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
