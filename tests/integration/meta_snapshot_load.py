#!/usr/bin/env python3
"""Load for test_meta_snapshot_load.sh while the daemon keeps snapshotting.

writer DIR ID STOP OUT: until the file STOP exists, create small files (1 B
  to 16 KiB) in DIR, each written and fsynced, timing each create (open with
  O_CREAT|O_EXCL) and each write+fsync; one in five an older file of its own
  is removed. Writes the latencies (seconds) to OUT as JSON.
reader DIRS STOP OUT: until STOP exists, read random files of the writers'
  directories (a colon-separated list) and check their bytes (a file being
  written may be short, a prefix of them; one removed meanwhile is skipped).
  Writes the read latencies to OUT.
check DIR...: every file in the writers' directories holds its bytes.
check-partial DIR...: the same, but a file may be short: a prefix of them
  (a snapshot taken while it was being written).
stats OUT...: merge the latencies of OUT files and print p50/p99/max per
  operation; the last line is the worst max, in seconds.

A file's bytes follow from its name (its size is in it), so that any copy
can be checked without a manifest. Exits 1 at the first wrong byte.
"""
import hashlib
import json
import os
import random
import sys
import time


def content(name):
    size = int(name.rsplit("-", 1)[1])
    block = hashlib.sha256(name.encode()).digest()
    return (block * (size // len(block) + 1))[:size]


def check_file(path, partial=False):
    """With partial, a file being written may be short: a prefix of its bytes."""
    name = os.path.basename(path)
    with open(path, "rb") as f:
        got = f.read()
    want = content(name)
    if partial and len(got) < len(want):
        want = want[:len(got)]
    if got != want:
        off = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]),
                   min(len(got), len(want)))
        sys.exit(f"{path} differs at byte {off} (size {len(got)}, want {len(want)})")


def writer(d, wid, stop, out):
    rng = random.Random(wid)
    lat = {"create": [], "write+fsync": []}
    live = []
    n = 0
    os.makedirs(d, exist_ok=True)
    while not os.path.exists(stop) or n < 2:
        n += 1
        name = f"w{wid}-{n:06d}-{rng.randrange(1, 16385)}"
        path = os.path.join(d, name)
        data = content(name)
        t0 = time.perf_counter()
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        t1 = time.perf_counter()
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
        t2 = time.perf_counter()
        os.close(fd)
        lat["create"].append(t1 - t0)
        lat["write+fsync"].append(t2 - t1)
        live.append(name)
        if n % 5 == 0 and len(live) > 10:
            os.unlink(os.path.join(d, live.pop(rng.randrange(len(live) - 5))))
    with open(out, "w") as f:
        json.dump(lat, f)
    print(f"writer {wid}: {n} files created, {len(live)} kept")


def reader(dirs, stop, out):
    rng = random.Random(99)
    lat = {"read": []}
    dirs = dirs.split(":")
    reads = 0
    while not os.path.exists(stop):
        d = rng.choice(dirs)
        try:
            names = os.listdir(d)
        except FileNotFoundError:
            names = []
        if not names:
            time.sleep(0.01)
            continue
        path = os.path.join(d, rng.choice(names))
        t0 = time.perf_counter()
        try:
            check_file(path, partial=True)
        except FileNotFoundError:
            continue
        lat["read"].append(time.perf_counter() - t0)
        reads += 1
    with open(out, "w") as f:
        json.dump(lat, f)
    print(f"reader: {reads} files read and checked")


def check(dirs, partial=False):
    n = short = 0
    for d in dirs:
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            check_file(path, partial)
            n += 1
            short += os.path.getsize(path) < len(content(name))
    print(f"{n} files hold their bytes" + (f" ({short} a prefix of them)" if partial else ""))


def stats(outs):
    merged = {}
    for out in outs:
        with open(out) as f:
            for op, v in json.load(f).items():
                merged.setdefault(op, []).extend(v)
    worst = 0.0
    print(f"{'op':<12} {'count':>7} {'p50':>9} {'p99':>9} {'max':>9}")
    for op, v in merged.items():
        if not v:
            continue
        v.sort()
        p50, p99, mx = v[(len(v) - 1) // 2], v[int((len(v) - 1) * 0.99)], v[-1]
        print(f"{op:<12} {len(v):>7} {p50 * 1e3:>7.2f}ms {p99 * 1e3:>7.2f}ms {mx * 1e3:>7.1f}ms")
        if op != "read":
            worst = max(worst, mx)
    print(f"{worst:.6f}")


def main():
    cmd = sys.argv[1]
    if cmd == "writer":
        writer(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    elif cmd == "reader":
        reader(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "check":
        check(sys.argv[2:])
    elif cmd == "check-partial":
        check(sys.argv[2:], partial=True)
    elif cmd == "stats":
        stats(sys.argv[2:])
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
