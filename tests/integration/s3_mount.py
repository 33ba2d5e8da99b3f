#!/usr/bin/env python3
"""Both front ends on one volume: the FUSE mount at TFS_MNT and the S3 sidecar
that the same daemon serves at S3_ENDPOINT (trackfs -o s3=...). Objects put
over S3 must read back byte for byte through the mount at once, although the
kernel caches entries and attributes for a day and keeps pages across opens
(the daemon invalidates them); files written through the mount (and closed)
must come back over S3 with ETag == MD5; the sidecar's own files (multipart
uploads in progress, temporary files of PUTs in flight) never show in the
mount. Leaves one multipart upload in progress (key mpu/left.bin in bucket
bkt1), which the shell script checks on the unmounted volume.

Environment: S3_ENDPOINT, S3_AK, S3_SK, S3_REGION, TFS_MNT, TFS_META and
TFS_STATUS (trackfs-status, for the chunks in use).
Exits non-zero on the first failed check, naming it.
"""
import errno
import hashlib
import http.client
import os
import subprocess
import sys
import time
import urllib.parse

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

EP = os.environ["S3_ENDPOINT"]
MNT = os.environ["TFS_MNT"]
HIDDEN = ".trackfs-s3"
TMP_PREFIX = ".trackfs-s3-tmp."

s3 = boto3.client(
    "s3", endpoint_url=EP, aws_access_key_id=os.environ["S3_AK"],
    aws_secret_access_key=os.environ["S3_SK"], region_name=os.environ["S3_REGION"],
    config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                  retries={"max_attempts": 1}))


def step(what):
    print("== " + what, flush=True)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def md5(b):
    return hashlib.md5(b).hexdigest()


def data(n, seed):
    """n deterministic bytes, different for each seed."""
    out = bytearray()
    block = hashlib.sha256(b"%d" % seed).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:n])


def mread(rel):
    with open(os.path.join(MNT, rel), "rb") as f:
        return f.read()


def mwrite(rel, b):
    path = os.path.join(MNT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(b)
    # Closed: the kernel's writeback cache has handed every page to the
    # daemon, so the sidecar sees the file now.


def errno_of(fn, *a):
    try:
        fn(*a)
    except OSError as e:
        return e.errno
    return 0


def s3get(bucket, key):
    r = s3.get_object(Bucket=bucket, Key=key)
    return r["Body"].read(), r["ETag"].strip('"')


def keys(bucket, prefix=""):
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out += [o["Key"] for o in page.get("Contents", [])]
    return out


def no_hidden_names():
    """Neither the root nor any directory of the mount lists a sidecar name."""
    for dirpath, dirnames, filenames in os.walk(MNT):
        for n in dirnames + filenames:
            check(not (dirpath == MNT and n == HIDDEN) and not n.startswith(TMP_PREFIX),
                  "the mount lists the sidecar's own name %s/%s" % (dirpath, n))


def t_s3_to_mount():
    step("a bucket created over S3 is a directory of the mount at once (root listing cached)")
    # The kernel caches the listing of a directory with entries (an empty one
    # it reads again anyway), so give the root one first.
    os.mkdir(os.path.join(MNT, "made-in-mount"))
    before = os.listdir(MNT)
    check(os.listdir(MNT) == before, "the root's listing is stable")
    check("bkt1" not in before, "bkt1 does not exist yet")
    check(errno_of(os.stat, os.path.join(MNT, "bkt1")) == errno.ENOENT,
          "bkt1 is missing (a negative entry is cached)")
    s3.create_bucket(Bucket="bkt1")
    check("bkt1" in os.listdir(MNT), "bkt1 listed in the mount right after CreateBucket")
    check(os.path.isdir(os.path.join(MNT, "bkt1")), "bkt1 is a directory in the mount")

    step("an object put over S3 reads back byte for byte through the mount")
    s3.put_object(Bucket="bkt1", Key="first.txt", Body=b"first\n")
    check(os.listdir(os.path.join(MNT, "bkt1")) == ["first.txt"], "bkt1 lists first.txt")
    check(errno_of(os.stat, os.path.join(MNT, "bkt1/hello.bin")) == errno.ENOENT,
          "hello.bin is missing before the PUT (negative entry cached)")
    v1 = data(3 * 1024 * 1024 + 17, 1)
    s3.put_object(Bucket="bkt1", Key="hello.bin", Body=v1)
    check(os.stat(os.path.join(MNT, "bkt1/hello.bin")).st_size == len(v1),
          "hello.bin has the object's size in the mount")
    check(mread("bkt1/hello.bin") == v1, "hello.bin reads back byte for byte")
    check(sorted(os.listdir(os.path.join(MNT, "bkt1"))) == ["first.txt", "hello.bin"],
          "hello.bin listed in the cached listing of bkt1")

    step("an overwrite over S3 of a file the kernel caches is seen at once")
    for seed, n in ((2, len(v1)), (3, 1000), (4, 5 * 1024 * 1024 + 1)):
        # Same size, smaller and larger: neither the cached size nor
        # cached pages may survive.
        check(len(mread("bkt1/hello.bin")) > 0, "read (and cache) hello.bin")
        vn = data(n, seed)
        s3.put_object(Bucket="bkt1", Key="hello.bin", Body=vn)
        check(os.stat(os.path.join(MNT, "bkt1/hello.bin")).st_size == n,
              "size after the S3 overwrite (%d bytes)" % n)
        check(mread("bkt1/hello.bin") == vn, "content after the S3 overwrite (%d bytes)" % n)

    step("a file kept open in the mount while S3 replaces the object")
    with open(os.path.join(MNT, "bkt1/hello.bin"), "rb") as f:
        old = f.read()
        vn = data(4096, 5)
        s3.put_object(Bucket="bkt1", Key="hello.bin", Body=vn)
        f.seek(0)
        check(f.read() == old, "an open file keeps the bytes it had (POSIX rename semantics)")
    check(mread("bkt1/hello.bin") == vn, "a new open sees the new object")

    step("a DELETE over S3 makes the file vanish from the mount at once")
    s3.put_object(Bucket="bkt1", Key="gone.txt", Body=b"soon gone\n")
    check(mread("bkt1/gone.txt") == b"soon gone\n", "gone.txt readable first")
    check("gone.txt" in os.listdir(os.path.join(MNT, "bkt1")), "gone.txt listed first")
    s3.delete_object(Bucket="bkt1", Key="gone.txt")
    check(errno_of(os.stat, os.path.join(MNT, "bkt1/gone.txt")) == errno.ENOENT,
          "gone.txt is gone from the mount right after DeleteObject")
    check("gone.txt" not in os.listdir(os.path.join(MNT, "bkt1")),
          "gone.txt no longer listed after DeleteObject")

    step("a key under a new prefix appears as a directory at once")
    check(sorted(os.listdir(os.path.join(MNT, "bkt1"))) == ["first.txt", "hello.bin"],
          "bkt1 holds first.txt and hello.bin")
    deep = data(70000, 6)
    s3.put_object(Bucket="bkt1", Key="new/prefix/deep.bin", Body=deep)
    check("new" in os.listdir(os.path.join(MNT, "bkt1")), "new/ listed in bkt1")
    check(os.path.isdir(os.path.join(MNT, "bkt1/new/prefix")), "new/prefix is a directory")
    check(mread("bkt1/new/prefix/deep.bin") == deep, "deep.bin reads back byte for byte")

    step("deleting the only key under a prefix removes its directories from the mount")
    s3.delete_object(Bucket="bkt1", Key="new/prefix/deep.bin")
    check(errno_of(os.stat, os.path.join(MNT, "bkt1/new")) == errno.ENOENT,
          "bkt1/new pruned by the DELETE is gone from the mount")
    check("new" not in os.listdir(os.path.join(MNT, "bkt1")), "new/ no longer listed")

    step("CopyObject over S3 is seen in the mount")
    s3.copy_object(Bucket="bkt1", Key="copy.bin", CopySource={"Bucket": "bkt1", "Key": "hello.bin"})
    check(mread("bkt1/copy.bin") == vn, "copy.bin reads the copied bytes")


def t_mount_to_s3():
    step("a file written through the mount comes back over S3 with ETag == MD5")
    os.mkdir(os.path.join(MNT, "bkt2"))
    check("bkt2" in [b["Name"] for b in s3.list_buckets()["Buckets"]],
          "a directory made in the mount is a bucket")
    small = b"written through the mount\n"
    big = data(9 * 1024 * 1024 + 5, 7)
    mwrite("bkt2/small.txt", small)
    mwrite("bkt2/dir/sub/big.bin", big)
    for key, want in (("small.txt", small), ("dir/sub/big.bin", big)):
        got, etag = s3get("bkt2", key)
        check(got == want, "%s comes back byte for byte over S3" % key)
        check(etag == md5(want), "%s: ETag %s == MD5 %s" % (key, etag, md5(want)))
        h = s3.head_object(Bucket="bkt2", Key=key)
        check(h["ContentLength"] == len(want), "%s: HEAD gives the size" % key)

    step("a file changed through the mount gets the new bytes and ETag over S3")
    v2 = data(1234567, 8)
    mwrite("bkt2/small.txt", v2)
    got, etag = s3get("bkt2", "small.txt")
    check(got == v2 and etag == md5(v2), "small.txt after a rewrite in the mount")
    with open(os.path.join(MNT, "bkt2/small.txt"), "ab") as f:
        f.write(b"tail")
    got, etag = s3get("bkt2", "small.txt")
    check(got == v2 + b"tail" and etag == md5(v2 + b"tail"), "small.txt after an append")
    # fsync, not close, also makes the bytes visible to S3.
    fd = os.open(os.path.join(MNT, "bkt2/synced.bin"), os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        os.write(fd, b"fsynced bytes")
        os.fsync(fd)
        got, etag = s3get("bkt2", "synced.bin")
        check(got == b"fsynced bytes" and etag == md5(got), "a file fsync'ed but still open")
    finally:
        os.close(fd)

    step("listing over S3 shows what was made through the mount")
    for i in range(20):
        mwrite("bkt2/many/f%02d.txt" % i, b"%d\n" % i)
    got = keys("bkt2")
    want = sorted(["small.txt", "synced.bin", "dir/sub/big.bin"] +
                  ["many/f%02d.txt" % i for i in range(20)])
    check(got == want, "ListObjectsV2 of bkt2: %s" % got)
    r = s3.list_objects_v2(Bucket="bkt2", Delimiter="/")
    check([p["Prefix"] for p in r.get("CommonPrefixes", [])] == ["dir/", "many/"],
          "delimiter listing gives the mount's directories as prefixes")
    os.unlink(os.path.join(MNT, "bkt2/many/f00.txt"))
    check("many/f00.txt" not in keys("bkt2", "many/"), "a file removed in the mount is no object")
    os.rename(os.path.join(MNT, "bkt2/many/f01.txt"), os.path.join(MNT, "bkt2/renamed.txt"))
    got, _ = s3get("bkt2", "renamed.txt")
    check(got == b"1\n", "a file renamed in the mount is the object under its new key")


def t_hidden():
    step("a multipart upload in progress is invisible in the mount")
    part = data(5 * 1024 * 1024, 9)
    last = data(1024 * 1024 + 3, 10)
    up = s3.create_multipart_upload(Bucket="bkt1", Key="mpu/big.bin")["UploadId"]
    e1 = s3.upload_part(Bucket="bkt1", Key="mpu/big.bin", UploadId=up, PartNumber=1,
                        Body=part)["ETag"]
    e2 = s3.upload_part(Bucket="bkt1", Key="mpu/big.bin", UploadId=up, PartNumber=2,
                        Body=last)["ETag"]
    ls = subprocess.run(["ls", "-a", MNT], check=True, capture_output=True, text=True).stdout
    check(HIDDEN not in ls.split(), "ls -a of the root does not show %s: %r" % (HIDDEN, ls))
    check(errno_of(os.stat, os.path.join(MNT, HIDDEN)) == errno.ENOENT,
          "%s looks missing in the mount" % HIDDEN)
    check(errno_of(os.listdir, os.path.join(MNT, HIDDEN, "uploads")) == errno.ENOENT,
          "%s/uploads cannot be reached either" % HIDDEN)
    check(errno_of(os.stat, os.path.join(MNT, "bkt1/mpu/big.bin")) == errno.ENOENT,
          "the key of an upload in progress is no file yet")
    no_hidden_names()
    check(HIDDEN not in [b["Name"] for b in s3.list_buckets()["Buckets"]],
          "ListBuckets does not show %s either" % HIDDEN)

    step("the sidecar's names cannot be made through the mount")
    check(errno_of(os.mkdir, os.path.join(MNT, HIDDEN)) == errno.EPERM,
          "mkdir %s in the root fails with EPERM" % HIDDEN)
    check(errno_of(lambda p: open(p, "w").close(), os.path.join(MNT, HIDDEN)) == errno.EPERM,
          "creating a file %s in the root fails with EPERM" % HIDDEN)
    check(errno_of(os.rename, os.path.join(MNT, "bkt2/renamed.txt"),
                   os.path.join(MNT, HIDDEN)) == errno.EPERM,
          "renaming onto %s fails with EPERM" % HIDDEN)
    check(errno_of(os.symlink, "x", os.path.join(MNT, HIDDEN)) == errno.EPERM,
          "a symlink named %s fails with EPERM" % HIDDEN)
    tmpname = os.path.join(MNT, "bkt2", TMP_PREFIX + "mine")
    check(errno_of(lambda p: open(p, "w").close(), tmpname) == errno.EPERM,
          "a file named %s* fails with EPERM" % TMP_PREFIX)
    check(errno_of(os.link, os.path.join(MNT, "bkt2/renamed.txt"), tmpname) == errno.EPERM,
          "a hard link named %s* fails with EPERM" % TMP_PREFIX)
    os.mkdir(os.path.join(MNT, "bkt2", HIDDEN))
    check(HIDDEN in os.listdir(os.path.join(MNT, "bkt2")),
          "below the root, %s is an ordinary name" % HIDDEN)
    os.rmdir(os.path.join(MNT, "bkt2", HIDDEN))

    step("CompleteMultipartUpload makes the file appear, byte for byte")
    check(sorted(os.listdir(os.path.join(MNT, "bkt1"))) == ["copy.bin", "first.txt", "hello.bin"],
          "bkt1 before the completion")
    r = s3.complete_multipart_upload(
        Bucket="bkt1", Key="mpu/big.bin", UploadId=up,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                   {"PartNumber": 2, "ETag": e2}]})
    check(r["ETag"].strip('"').endswith("-2"), "multipart ETag is md5-of-md5s-2")
    check(mread("bkt1/mpu/big.bin") == part + last, "the completed upload reads back in the mount")
    want = ["copy.bin", "first.txt", "hello.bin", "mpu"]
    check(sorted(os.listdir(os.path.join(MNT, "bkt1"))) == want, "bkt1 after the completion")

    step("a PUT in flight leaves no temporary file in the mount")
    url = s3.generate_presigned_url("put_object", Params={"Bucket": "bkt1", "Key": "slow.bin"},
                                    ExpiresIn=300)
    u = urllib.parse.urlsplit(url)
    body = data(2 * 1024 * 1024, 11)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.putrequest("PUT", u.path + "?" + u.query, skip_accept_encoding=True)
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    conn.send(body[:len(body) // 2])
    time.sleep(0.5)  # the sidecar is writing its temporary file in bkt1 now
    check(errno_of(os.stat, os.path.join(MNT, "bkt1/slow.bin")) == errno.ENOENT,
          "a PUT in flight is not yet a file")
    no_hidden_names()
    conn.send(body[len(body) // 2:])
    resp = conn.getresponse()
    resp.read()
    conn.close()
    check(resp.status == 200, "the slow presigned PUT succeeds (%d)" % resp.status)
    check(mread("bkt1/slow.bin") == body, "slow.bin reads back once the PUT is done")
    no_hidden_names()

    step("an upload left in progress stays hidden (checked again after unmount)")
    up = s3.create_multipart_upload(Bucket="bkt1", Key="mpu/left.bin")["UploadId"]
    s3.upload_part(Bucket="bkt1", Key="mpu/left.bin", UploadId=up, PartNumber=1, Body=b"x" * 100)
    no_hidden_names()


def mount_keys(bucket):
    """The bucket's keys as the mount shows them, in S3's order."""
    top = os.path.join(MNT, bucket)
    out = []
    for dirpath, _, filenames in os.walk(top):
        rel = os.path.relpath(dirpath, top)
        out += [n if rel == "." else rel + "/" + n for n in filenames]
    return sorted(out)


def t_large_listing():
    # Directories of 256 entries or more are listed from a sorted snapshot
    # kept while the directory is unchanged: every change made through the
    # mount or S3 must show in the next listing, and in the next page of one
    # in progress.
    step("a listing of a large directory follows every change made in between")
    top = os.path.join(MNT, "bkt3")
    os.mkdir(top)
    os.mkdir(os.path.join(top, "sub"))
    for i in range(600):
        mwrite("bkt3/f%04d" % i, b"%d\n" % i)
    for i in range(300):
        mwrite("bkt3/sub/s%04d" % i, b"s%d\n" % i)
    check(keys("bkt3") == mount_keys("bkt3"), "bkt3 lists what the mount shows (900 keys)")
    changes = [
        ("create f0300a", lambda: mwrite("bkt3/f0300a", b"new\n")),
        ("unlink f0100", lambda: os.unlink(os.path.join(top, "f0100"))),
        ("rename f0200 to zz", lambda: os.rename(os.path.join(top, "f0200"),
                                                 os.path.join(top, "zz"))),
        ("rename sub/s0007 to f0007b", lambda: os.rename(os.path.join(top, "sub/s0007"),
                                                         os.path.join(top, "f0007b"))),
        ("mkdir f0150d with a file", lambda: (os.mkdir(os.path.join(top, "f0150d")),
                                              mwrite("bkt3/f0150d/x", b"x\n"))),
        ("PutObject f0400p", lambda: s3.put_object(Bucket="bkt3", Key="f0400p", Body=b"p")),
        ("DeleteObject f0401", lambda: s3.delete_object(Bucket="bkt3", Key="f0401")),
        ("PutObject sub/deeper/k", lambda: s3.put_object(Bucket="bkt3", Key="sub/deeper/k",
                                                         Body=b"k")),
    ]
    for what, change in changes:
        keys("bkt3")  # the snapshot of the state before
        change()
        check(keys("bkt3") == mount_keys("bkt3"), "after %s: the listing follows" % what)

    step("a file renamed over another is listed with the new file's ETag")
    keys("bkt3")
    os.rename(os.path.join(top, "f0201"), os.path.join(top, "f0202"))
    got = {o["Key"]: o["ETag"].strip('"')
           for p in s3.get_paginator("list_objects_v2").paginate(Bucket="bkt3")
           for o in p.get("Contents", [])}
    check("f0201" not in got and got.get("f0202") == md5(b"201\n"),
          "f0202 now has f0201's bytes: %r" % got.get("f0202"))

    step("a directory's mtime set back by a client does not bring back an old listing")
    st = os.stat(top)
    keys("bkt3")
    mwrite("bkt3/f0500b", b"b\n")
    os.utime(top, ns=(st.st_atime_ns, st.st_mtime_ns))
    check(keys("bkt3") == mount_keys("bkt3"), "f0500b listed after the mtime is set back")
    os.unlink(os.path.join(top, "f0500b"))
    os.utime(top, ns=(st.st_atime_ns, st.st_mtime_ns))
    check(keys("bkt3") == mount_keys("bkt3"), "f0500b gone after the mtime is set back again")

    step("each page of a listing in progress reflects the changes made before it")
    token, last, pages = None, "", 0
    while True:
        kw = {"Bucket": "bkt3", "MaxKeys": 100}
        if token:
            kw["ContinuationToken"] = token
        r = s3.list_objects_v2(**kw)
        got = [o["Key"] for o in r.get("Contents", [])]
        want = [k for k in mount_keys("bkt3") if k > last][:100]
        check(got == want, "page %d after %r: %s... want %s..." % (pages, last, got[:3], want[:3]))
        pages += 1
        if not r.get("IsTruncated"):
            break
        token, last = r["NextContinuationToken"], got[-1]
        # Changes ahead of the marker and behind it, in both directories.
        nxt = [k for k in mount_keys("bkt3") if k > last]
        if nxt:
            os.unlink(os.path.join(top, nxt[0]))
        mwrite("bkt3/%s~ahead" % last, b"a\n")
        mwrite("bkt3/sub/%04d-behind" % pages, b"b\n")
    check(pages >= 9, "the listing took %d pages of 100" % pages)


def chunks_used():
    """Chunks in use on all disks, from the daemon (trackfs status)."""
    out = subprocess.run([os.environ["TFS_STATUS"], os.environ["TFS_META"]], check=True,
                         capture_output=True, text=True).stdout
    total = [ln.split() for ln in out.splitlines() if ln.split()[:1] == ["total"]]
    check(len(total) == 1, "trackfs status prints a total line: %r" % out)
    return int(total[0][2])


def upload(bucket, key, sizes, seed):
    """A multipart upload of parts of @sizes bytes: (upload id, parts, bytes)."""
    up = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts, whole = [], b""
    for i, n in enumerate(sizes):
        body = data(n, seed + i)
        e = s3.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=i + 1,
                           Body=body)["ETag"]
        parts.append({"PartNumber": i + 1, "ETag": e})
        whole += body
    return up, parts, whole


def t_mpu_moves():
    step("CompleteMultipartUpload moves the parts' chunks: no second copy of the data")
    mib = 1024 * 1024
    up, parts, whole = upload("bkt1", "moved/obj.bin", [5 * mib, 8 * mib, mib + 3], 20)
    before = chunks_used()
    s3.complete_multipart_upload(Bucket="bkt1", Key="moved/obj.bin", UploadId=up,
                                 MultipartUpload={"Parts": parts})
    grown = chunks_used() - before
    # A copy would take len(whole) / 4 KiB = 3,585 chunks more.
    check(grown <= 0, "completing 14 MiB took %d more chunks: copied, not moved" % grown)
    check(mread("bkt1/moved/obj.bin") == whole, "the moved object reads back byte for byte")
    got, etag = s3get("bkt1", "moved/obj.bin")
    check(got == whole and etag.endswith("-3"), "and over S3 (ETag %s)" % etag)

    step("a completion that fails after moving gives the parts back: it can be retried")
    up, parts, whole = upload("bkt1", "clash", [5 * mib, 5 * mib + 1], 30)
    os.makedirs(os.path.join(MNT, "bkt1/clash/inside"))
    mwrite("bkt1/clash/inside/f", b"f")
    try:
        s3.complete_multipart_upload(Bucket="bkt1", Key="clash", UploadId=up,
                                     MultipartUpload={"Parts": parts})
        check(False, "completing onto a key that is a directory must fail")
    except ClientError as e:
        check(e.response["Error"]["Code"] != "InternalError",
              "a clear error for a key that is a prefix: %s" % e.response["Error"])
    os.unlink(os.path.join(MNT, "bkt1/clash/inside/f"))
    os.rmdir(os.path.join(MNT, "bkt1/clash/inside"))
    os.rmdir(os.path.join(MNT, "bkt1/clash"))
    s3.complete_multipart_upload(Bucket="bkt1", Key="clash", UploadId=up,
                                 MultipartUpload={"Parts": parts})
    check(mread("bkt1/clash") == whole, "the retried completion has every byte")


def main():
    try:
        t_s3_to_mount()
        t_mount_to_s3()
        t_hidden()
        t_large_listing()
        t_mpu_moves()
    except (AssertionError, ClientError, OSError) as e:
        print("FAIL: %s: %s" % (type(e).__name__, e), flush=True)
        sys.exit(1)
    print("s3_mount.py: all checks passed")


if __name__ == "__main__":
    main()
