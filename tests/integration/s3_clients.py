#!/usr/bin/env python3
"""The S3 sidecar driven by the command-line clients from Debian's packages:
the AWS CLI (aws s3 cp/sync/ls/rm, aws s3api), s3cmd (which checks MD5
ETags) and rclone (copy, check, sync). Environment as from s3_env.py.
"""
import filecmp
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

EP = os.environ["S3_ENDPOINT"]
AK, SK = os.environ["S3_AK"], os.environ["S3_SK"]
WORK = tempfile.mkdtemp(prefix="tfs-s3-clients-")


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def run(cmd, env=None, ok=True):
    # The caller's AWS_* settings (a CA bundle, a profile) are not for a local endpoint.
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_"))}
    p = subprocess.run(cmd, env=dict(base, **(env or {})), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=600)
    if ok and p.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s" % (" ".join(cmd), p.returncode, p.stdout[-3000:]))
    return p


def make_tree(root, n=40, big=False):
    os.makedirs(root, exist_ok=True)
    for i in range(n):
        d = os.path.join(root, "d%d" % (i % 4), "e%d" % (i % 3))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "f%03d.bin" % i), "wb") as f:
            f.write(os.urandom(1000 + i * 37))
    if big:
        with open(os.path.join(root, "big.bin"), "wb") as f:
            f.write(os.urandom(20 << 20))  # multipart for every client


def same_tree(a, b):
    c = filecmp.dircmp(a, b)

    def walk(c):
        if c.left_only or c.right_only or c.diff_files or c.funny_files:
            return False
        return all(walk(s) for s in c.subdirs.values())
    return walk(c)


AWS_ENV = {"AWS_ACCESS_KEY_ID": AK, "AWS_SECRET_ACCESS_KEY": SK, "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
           "AWS_PAGER": ""}


def aws(*args, ok=True):
    return run(["/usr/bin/aws", "--endpoint-url", EP] + list(args), AWS_ENV, ok)


def t_awscli():
    src = os.path.join(WORK, "aws-src")
    make_tree(src, big=True)
    aws("s3", "mb", "s3://awscli")
    aws("s3", "cp", os.path.join(src, "big.bin"), "s3://awscli/one/big.bin")
    aws("s3", "cp", "s3://awscli/one/big.bin", os.path.join(WORK, "big.back"))
    check(filecmp.cmp(os.path.join(src, "big.bin"), os.path.join(WORK, "big.back"), False),
          "aws s3 cp up and down (multipart) round-trips")
    aws("s3", "sync", src, "s3://awscli/tree")
    dst = os.path.join(WORK, "aws-dst")
    aws("s3", "sync", "s3://awscli/tree", dst)
    check(same_tree(src, dst), "aws s3 sync up and back gives the same tree")
    again = aws("s3", "sync", src, "s3://awscli/tree").stdout
    check("upload:" not in again, "a second sync uploads nothing:\n" + again)
    ls = aws("s3", "ls", "s3://awscli/tree/").stdout
    check("PRE d0/" in ls and "big.bin" in ls, "aws s3 ls shows prefixes and objects:\n" + ls)
    rec = aws("s3", "ls", "--recursive", "s3://awscli/tree/").stdout.strip().splitlines()
    check(len(rec) == 41, "aws s3 ls --recursive lists every key (%d)" % len(rec))
    head = aws("s3api", "head-object", "--bucket", "awscli", "--key", "tree/d0/e0/f000.bin").stdout
    with open(os.path.join(src, "d0", "e0", "f000.bin"), "rb") as f:
        check(hashlib.md5(f.read()).hexdigest() in head, "s3api head-object ETag")
    aws("s3", "rm", "--recursive", "s3://awscli/tree/d1")
    rec = aws("s3", "ls", "--recursive", "s3://awscli/tree/").stdout.strip().splitlines()
    check(len(rec) == 31, "aws s3 rm --recursive (%d left)" % len(rec))
    aws("s3", "rm", "--recursive", "s3://awscli")
    aws("s3", "rb", "s3://awscli")


def t_s3cmd():
    cfg = os.path.join(WORK, "s3cfg")
    host = EP.split("//", 1)[1]
    with open(cfg, "w") as f:
        f.write("[default]\naccess_key = %s\nsecret_key = %s\nhost_base = %s\nhost_bucket = %s\n"
                "use_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n"
                "check_ssl_certificate = False\n" % (AK, SK, host, host))
    s3cmd = ["s3cmd", "-c", cfg]
    src = os.path.join(WORK, "s3cmd-src")
    make_tree(src, big=True)
    run(s3cmd + ["mb", "s3://s3cmd"])
    run(s3cmd + ["put", os.path.join(src, "big.bin"), "s3://s3cmd/big.bin"])
    run(s3cmd + ["get", "s3://s3cmd/big.bin", os.path.join(WORK, "s3cmd.back")])
    check(filecmp.cmp(os.path.join(src, "big.bin"), os.path.join(WORK, "s3cmd.back"), False),
          "s3cmd put/get (multipart) round-trips")
    out = run(s3cmd + ["sync", src + "/", "s3://s3cmd/tree/"]).stdout
    check("WARNING: MD5" not in out, "s3cmd finds the MD5 ETags right:\n" + out)
    dst = os.path.join(WORK, "s3cmd-dst")
    os.makedirs(dst)
    run(s3cmd + ["sync", "s3://s3cmd/tree/", dst + "/"])
    check(same_tree(src, dst), "s3cmd sync up and back gives the same tree")
    info = run(s3cmd + ["info", "s3://s3cmd/tree/d2/e2/f002.bin"]).stdout
    with open(os.path.join(src, "d2", "e2", "f002.bin"), "rb") as f:
        check(hashlib.md5(f.read()).hexdigest() in info, "s3cmd info shows the MD5")
    ls = run(s3cmd + ["ls", "-r", "s3://s3cmd/tree/"]).stdout.strip().splitlines()
    check(len(ls) == 41, "s3cmd ls -r (%d)" % len(ls))
    run(s3cmd + ["del", "-r", "--force", "s3://s3cmd/"])
    run(s3cmd + ["rb", "s3://s3cmd"])


def t_rclone():
    env = {"RCLONE_CONFIG": "/dev/null", "RCLONE_CONFIG_T_TYPE": "s3",
           "RCLONE_CONFIG_T_PROVIDER": "Other", "RCLONE_CONFIG_T_ENDPOINT": EP,
           "RCLONE_CONFIG_T_ACCESS_KEY_ID": AK, "RCLONE_CONFIG_T_SECRET_ACCESS_KEY": SK,
           "RCLONE_CONFIG_T_REGION": "us-east-1", "RCLONE_CONFIG_T_FORCE_PATH_STYLE": "true"}
    rc = ["rclone", "--retries", "1", "--low-level-retries", "1", "--s3-upload-cutoff", "8M",
          "--s3-chunk-size", "5M"]
    src = os.path.join(WORK, "rclone-src")
    make_tree(src, big=True)
    run(rc + ["mkdir", "t:rclone"], env)
    run(rc + ["copy", src, "t:rclone/tree"], env)
    run(rc + ["check", src, "t:rclone/tree"], env)  # sizes and MD5s
    with open(os.path.join(src, "d3", "new.txt"), "w") as f:
        f.write("added later")
    os.unlink(os.path.join(src, "d0", "e0", "f000.bin"))
    run(rc + ["sync", src, "t:rclone/tree"], env)
    run(rc + ["check", src, "t:rclone/tree"], env)
    dst = os.path.join(WORK, "rclone-dst")
    run(rc + ["copy", "t:rclone/tree", dst], env)
    check(same_tree(src, dst), "rclone copy back gives the same tree")
    run(rc + ["purge", "t:rclone"], env)


TESTS = [t_awscli, t_s3cmd, t_rclone]

if __name__ == "__main__":
    only = sys.argv[1:]
    try:
        for t in TESTS:
            if only and t.__name__ not in only:
                continue
            t0 = time.time()
            try:
                t()
            except Exception as e:
                print("FAIL %s: %s" % (t.__name__, e))
                raise
            print("ok   %s (%.1fs)" % (t.__name__, time.time() - t0))
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    print("s3_clients: all passed")
