#!/usr/bin/env python3
"""Generate a test tree for copy tests: empty, small, large and sparse files,
hard links, symlinks (relative, absolute, dangling), FIFOs, xattrs, POSIX
ACLs, names with spaces, UTF-8 and 255-byte names, nested directories, and
varied modes and mtimes (nanoseconds). Usage: make_tree.py DIR [--seed S]"""
import argparse
import os
import random
import subprocess


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--files", type=int, default=300)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    top = args.dir
    os.makedirs(top, exist_ok=True)

    dirs = [top]
    for i in range(12):
        parent = rng.choice(dirs)
        d = os.path.join(parent, f"dir {i} ü" if i % 3 == 0 else f"d{i}")
        os.mkdir(d)
        dirs.append(d)

    files = []
    for i in range(args.files):
        d = rng.choice(dirs)
        name = f"file-{i}.bin" if i % 5 else f"naïve résumé {i} — 日本語.txt"
        p = os.path.join(d, name)
        kind = rng.random()
        if kind < 0.1:
            size = 0
        elif kind < 0.85:
            size = rng.randrange(1, 70000)
        else:
            size = rng.randrange(1 << 20, 3 << 20)
        with open(p, "wb") as f:
            f.write(rng.randbytes(size))
        os.chmod(p, rng.choice([0o644, 0o600, 0o755, 0o640, 0o444]))
        files.append(p)

    # sparse files: data islands between holes
    for i in range(4):
        p = os.path.join(top, f"sparse{i}.img")
        with open(p, "wb") as f:
            for k in range(5):
                f.seek(k * (3 << 20) + rng.randrange(0, 4096))
                f.write(rng.randbytes(rng.randrange(1, 100000)))
            f.truncate(20 << 20)
        files.append(p)

    # a 255-byte name and a long path
    long_name = "L" * 251 + ".txt"
    with open(os.path.join(top, long_name), "w") as f:
        f.write("long name\n")

    # hard links, inside and across directories
    for i in range(20):
        src = rng.choice(files)
        dst = os.path.join(rng.choice(dirs), f"hardlink-{i}")
        os.link(src, dst)

    # symlinks
    for i in range(10):
        target = os.path.relpath(rng.choice(files), top)
        os.symlink(target, os.path.join(top, f"rel-link-{i}"))
    os.symlink("/nonexistent/target", os.path.join(top, "dangling"))
    os.symlink("/etc/hostname", os.path.join(top, "absolute"))

    # FIFOs
    for i in range(3):
        os.mkfifo(os.path.join(rng.choice(dirs), f"fifo-{i}"))

    # xattrs and ACLs
    for i, p in enumerate(rng.sample(files, 30)):
        os.setxattr(p, "user.tag", f"value-{i}".encode())
        os.setxattr(p, "user.blob", rng.randbytes(rng.randrange(1, 2000)))
    for p in rng.sample(files, 8):
        subprocess.run(["setfacl", "-m", "u:65534:r,g:65534:rw", p], check=True)
    subprocess.run(["setfacl", "-d", "-m", "u:65534:rwx", dirs[1]], check=True)

    # mtimes with nanoseconds (directories last, after their contents exist)
    for p in files:
        if os.path.islink(p):
            continue
        t = rng.randrange(10**9, 17 * 10**8) * 10**9 + rng.randrange(0, 10**9)
        os.utime(p, ns=(t, t))
    for d in reversed(dirs[1:]):
        t = rng.randrange(10**9, 17 * 10**8) * 10**9 + rng.randrange(0, 10**9)
        os.utime(d, ns=(t, t))
    print(f"make_tree: {len(files)} files, {len(dirs)} directories in {top}")


if __name__ == "__main__":
    main()
