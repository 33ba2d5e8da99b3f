#!/usr/bin/env python3
"""One writer of the concurrency test: appends N JSON lines to a shared log
under flock (each line one write), and writes a private file, then renames a
temp file into a date-partitioned directory. Usage:
    jsonl_writer.py SHARED_LOG PRIVATE_DIR WRITER_ID LINES"""
import fcntl
import hashlib
import json
import os
import sys


def main():
    log, private, wid, lines = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    os.makedirs(private, exist_ok=True)
    with open(log, "a") as f:
        for n in range(lines):
            body = {"writer": wid, "seq": n, "pad": "x" * (n * 37 % 900)}
            body["sum"] = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
            line = json.dumps(body, sort_keys=True) + "\n"
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                f.write(line)
                f.flush()
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
            if n % 50 == 0:
                # compaction pattern: write a temp file, fsync, rename into place
                part = os.path.join(private, f"date=2026-11-{n % 28 + 1:02d}")
                os.makedirs(part, exist_ok=True)
                tmp = os.path.join(part, f".tmp-{wid}-{n}")
                data = (line * 100).encode()
                with open(tmp, "wb") as t:
                    t.write(data)
                    t.flush()
                    os.fsync(t.fileno())
                os.rename(tmp, os.path.join(part, f"part-{wid}-{n}.json"))


if __name__ == "__main__":
    main()
