#!/usr/bin/env python3
"""Writer for the disk-full test: writes files of deterministic content until
the volume says ENOSPC, checking the return code of every write, fsync and
close, and logs (outside the mount) only the files all of them accepted.

    disk_full_writer.py fill DIR LOG PREFIX SEED [--max MIB] [--sizes MIB,...]
        Write files DIR/PREFIX-N until the volume is full (a file of the
        smallest size fails) or --max MiB were written. A file that fails is
        removed again. Any error other than ENOSPC fails the run. Prints
        "written BYTES files N enospc K".
    disk_full_writer.py verify DIR LOG [--crashed]
        Every logged file is there, byte for byte; no other PREFIX files are
        (a failed one was removed; after a crash, --crashed, such a file may
        be back, as its removal was never fsynced). Wrong MiB blocks are
        counted and named, zero-filled ones separately.
    disk_full_writer.py overwrite DIR LOG NAME SEED
        Overwrite the middle of a logged file on a full volume. Whatever
        write/fsync/close answer, every 4 KiB block must afterwards hold either
        the old or the new bytes; if all succeeded the log gets the new content.
    disk_full_writer.py drop DIR LOG COUNT
        Unlink the COUNT largest logged files and forget them. Prints the bytes
        freed.
"""
import errno
import hashlib
import os
import random
import sys

MIB = 1 << 20
PIECE = 1 << 20


def content(seed, size):
    return random.Random(seed).randbytes(size)


def read_log(log):
    files = {}
    if os.path.exists(log):
        with open(log) as f:
            for line in f:
                name, seed, size, digest = line.split()
                files[name] = (int(seed), int(size), digest)
    return files


def write_log(log, files):
    with open(log + ".tmp", "w") as f:
        for name, (seed, size, digest) in files.items():
            f.write(f"{name} {seed} {size} {digest}\n")
    os.replace(log + ".tmp", log)


def read_stored(path):
    """The file's bytes as the volume holds them: pages whose writeback failed
    stay in the kernel's cache with the bytes the volume refused, so drop the
    (clean) cached pages first."""
    with open(path, "rb") as f:
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        return f.read()


def write_file(path, data, off=0, create=True):
    """Write data at off; fsync; close. Return None or the errno that failed
    (and where), checking every call's result."""
    flags = os.O_WRONLY | (os.O_CREAT | os.O_TRUNC if create else 0)
    fd = os.open(path, flags, 0o644)
    err = None
    try:
        done = 0
        while done < len(data):
            n = os.pwrite(fd, data[done:done + PIECE], off + done)
            if n <= 0:
                raise OSError(errno.EIO, f"write returned {n}")
            done += n
        os.fsync(fd)
    except OSError as e:
        err = (e.errno, "write/fsync")
    try:
        os.close(fd)
    except OSError as e:
        if err is None:
            err = (e.errno, "close")
    return err


def fill(d, log, prefix, seed, max_mib, sizes):
    os.makedirs(d, exist_ok=True)
    files = read_log(log)
    rng = random.Random(seed)
    written = nfiles = enospc = 0
    size_mib = None
    i = 0
    while max_mib is None or written < max_mib * MIB:
        name = f"{prefix}-{i}"
        i += 1
        if size_mib is None:
            size = int(rng.choice(sizes) * MIB) + rng.randrange(0, 4096)
        else:
            size = size_mib
        fseed = seed * 1_000_003 + i
        data = content(fseed, size)
        path = os.path.join(d, name)
        err = write_file(path, data)
        if err is None:
            files[name] = (fseed, size, hashlib.sha256(data).hexdigest())
            write_log(log, files)
            written += size
            nfiles += 1
            continue
        code, where = err
        if code != errno.ENOSPC:
            print(f"FAIL: {path} ({size} bytes): {where} failed with "
                  f"{errno.errorcode.get(code, code)}, want ENOSPC", file=sys.stderr)
            sys.exit(1)
        enospc += 1
        os.unlink(path)
        # Full: try ever smaller files until a small one fails too.
        if size <= 64 << 10:
            break
        size_mib = size // 2
    print(f"written {written} files {nfiles} enospc {enospc}")


def verify(d, log, crashed):
    files = read_log(log)
    bad = 0
    for name, (seed, size, digest) in sorted(files.items()):
        path = os.path.join(d, name)
        try:
            got = read_stored(path)
        except OSError as e:
            print(f"FAIL: {path}: {e}", file=sys.stderr)
            bad += 1
            continue
        if len(got) == size and hashlib.sha256(got).hexdigest() == digest:
            continue
        bad += 1
        if seed < 0:
            print(f"FAIL: {path}: {len(got)} bytes, want {size}, content differs",
                  file=sys.stderr)
            continue
        want = content(seed, size)
        wrong = zero = 0
        for k in range(0, max(len(got), size), MIB):
            if got[k:k + MIB] != want[k:k + MIB]:
                wrong += 1
                blk = got[k:k + MIB]
                if blk and blk.count(0) == len(blk):
                    zero += 1
        print(f"FAIL: {path}: {len(got)} bytes, want {size}; {wrong} MiB blocks "
              f"wrong, {zero} of them all zeros", file=sys.stderr)
    prefixes = {n.rsplit("-", 1)[0] for n in files} if not crashed else set()
    for name in os.listdir(d):
        if name.rsplit("-", 1)[0] in prefixes and name not in files:
            print(f"FAIL: {d}/{name} failed to write but is still there", file=sys.stderr)
            bad += 1
    if bad:
        sys.exit(1)
    print(f"verified {len(files)} files, {sum(s for _, s, _ in files.values())} bytes")


def overwrite(d, log, name, seed):
    files = read_log(log)
    fseed, size, _ = files[name]
    old = content(fseed, size)
    off = (size // 4) & ~4095
    new = random.Random(seed).randbytes(size // 2)
    err = write_file(os.path.join(d, name), new, off, create=False)
    got = read_stored(os.path.join(d, name))
    want = old[:off] + new + old[off + len(new):]
    if err is None:
        if got != want:
            print(f"FAIL: overwrite of {name} succeeded but reads back wrong", file=sys.stderr)
            sys.exit(1)
        # The content is no longer generated from one seed: keep the hash only.
        files[name] = (-1, size, hashlib.sha256(want).hexdigest())
        write_log(log, files)
        print("overwrite ok")
        return
    code, where = err
    if code != errno.ENOSPC:
        print(f"FAIL: overwrite of {name}: {where} failed with "
              f"{errno.errorcode.get(code, code)}, want ENOSPC", file=sys.stderr)
        sys.exit(1)
    if len(got) != size:
        print(f"FAIL: failed overwrite changed the size of {name}: {len(got)}, want {size}",
              file=sys.stderr)
        sys.exit(1)
    mixed = 0
    for k in range(0, size, 4096):
        blk = got[k:k + 4096]
        if blk == old[k:k + 4096]:
            continue
        if blk == want[k:k + 4096]:
            mixed += 1
            continue
        print(f"FAIL: failed overwrite left block at {k} of {name} neither old nor new",
              file=sys.stderr)
        sys.exit(1)
    # Partly written: keep what is there now as the expected content.
    files[name] = (-1, size, hashlib.sha256(got).hexdigest())
    write_log(log, files)
    print(f"overwrite ENOSPC at {where}; {mixed} blocks took the new bytes")


def drop(d, log, count):
    files = read_log(log)
    freed = 0
    for name in sorted(files, key=lambda n: -files[n][1])[:count]:
        os.unlink(os.path.join(d, name))
        freed += files.pop(name)[1]
    write_log(log, files)
    print(freed)


def main():
    cmd = sys.argv[1]
    if cmd == "fill":
        d, log, prefix, seed = sys.argv[2:6]
        max_mib, sizes = None, [0.01, 0.3, 1, 2, 4, 8]
        rest = sys.argv[6:]
        while rest:
            if rest[0] == "--max":
                max_mib = float(rest[1])
            elif rest[0] == "--sizes":
                sizes = [float(s) for s in rest[1].split(",")]
            rest = rest[2:]
        fill(d, log, prefix, int(seed), max_mib, sizes)
    elif cmd == "verify":
        verify(sys.argv[2], sys.argv[3], "--crashed" in sys.argv[4:])
    elif cmd == "overwrite":
        overwrite(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif cmd == "drop":
        drop(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
