#!/usr/bin/env python3
"""Check data-before-index ordering in an strace log of the daemon.

DESIGN.md invariant 3: chunk data is durable before any index state that
references it can become durable. LMDB's commit writes data.mdb (pages, then
the meta page that publishes them; the kernel may write either back at any
moment), so every write to a track that completed before a write to data.mdb
started must have been covered by an fdatasync of that track that started
after the track write completed and finished before the data.mdb write.

A track write that completes while the index is already committing may belong
to the next group (its extents cannot enter a group being committed), so only
writes that completed more than SLACK seconds before the data.mdb write are
held to the rule. Without the ordering, a flush commits up to a second after
the write, far past the slack.

The log is `strace -f -ttt -y -e trace=pwrite64,pwritev,write,writev,fdatasync,fsync`.
Usage: write_order.py LOG  (exit 1 and a report on a violation, 2 when the
log shows no commit after a track write, so the check could not fail).
"""
import re
import sys

SLACK = 0.2
CALL = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(?:<\.\.\. (\w+) resumed>|(\w+)\((\d+)<([^>]*)>)")
WRITES = {"pwrite64", "pwritev", "pwritev2", "write", "writev"}
SYNCS = {"fdatasync", "fsync"}


def main(path):
    pending = {}  # pid -> (call, file, start time) of an unfinished call
    last_write = {}  # track -> completion time of its latest write
    covered = {}  # track -> completion time of writes a finished sync covers
    sync_start = {}  # pid -> (track, start) of a running sync
    commits_checked = 0
    violations = []
    for line in open(path, encoding="utf-8", errors="replace"):
        m = CALL.match(line)
        if not m:
            continue
        pid, t = m.group(1), float(m.group(2))
        if m.group(3):  # "<... call resumed> ... = rc"
            call, fname, start = pending.pop(pid, (m.group(3), None, t))
        else:
            call, fname, start = m.group(4), m.group(6), t
            if fname is None:
                continue
        if fname is None:
            continue
        unfinished = line.rstrip().endswith("<unfinished ...>")
        ok = not unfinished and re.search(r"= (\d+)\s*$", line) is not None
        is_track = fname.endswith(".trk")
        is_index = fname.endswith("/data.mdb")
        if unfinished:
            pending[pid] = (call, fname, start)
            if call in WRITES and is_index:
                check = True
            else:
                continue
        else:
            check = call in WRITES and is_index and not m.group(3)
        if check:
            # A commit's write starts: earlier track writes must be synced.
            for trk, done in last_write.items():
                if done < start - SLACK and covered.get(trk, 0.0) < done:
                    violations.append(
                        "%.6f write to %s while %s holds a write finished at %.6f "
                        "with no fdatasync since" % (start, fname, trk, done))
            commits_checked += 1 if last_write else 0
            continue
        if not ok:
            continue
        if call in WRITES and is_track:
            last_write[fname] = t
        elif call in SYNCS and is_track:
            # Covers every write of this track that finished before it started.
            covered[fname] = max(covered.get(fname, 0.0),
                                 max((d for d in [last_write.get(fname, 0.0)] if d <= start),
                                     default=0.0))
    if violations:
        print("data-before-index ordering violated %d times; first ones:" % len(violations))
        for v in violations[:5]:
            print("  " + v)
        return 1
    if commits_checked == 0:
        print("no index write after a track write in %s: nothing was checked" % path)
        return 2
    print("ordering holds over %d index writes" % commits_checked)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
