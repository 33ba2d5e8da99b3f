#!/usr/bin/env python3
"""Directory markers over S3 (test_s3_dirs.sh): a zero-byte PUT of "a/" makes
directory a with its metadata, HEAD/GET answer it as an empty object, the
listings show it as the key "a/" while it is empty or a marker and as a
common prefix under a delimiter, DELETE removes it when empty (and keeps a
non-empty one, dropping only its marker), copies to and from markers, and
DeleteBucket works once nothing is left. With TFS_MNT (the volume mounted by
the daemon serving S3) the same directories are checked in the mount, both
ways; then rclone --s3-directory-markers and the AWS CLI round-trip
directories. Environment: S3_ENDPOINT, S3_AK, S3_SK, optionally TFS_MNT.
"""
import hashlib
import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

import boto3
import botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

EP = os.environ["S3_ENDPOINT"]
AK, SK = os.environ["S3_AK"], os.environ["S3_SK"]
REGION = os.environ.get("S3_REGION", "us-east-1")
MNT = os.environ.get("TFS_MNT")
EMPTY_ETAG = '"%s"' % hashlib.md5(b"").hexdigest()
WORK = tempfile.mkdtemp(prefix="tfs-s3-dirs-")

s3 = boto3.client("s3", endpoint_url=EP, region_name=REGION, aws_access_key_id=AK,
                  aws_secret_access_key=SK,
                  config=botocore.config.Config(retries={"max_attempts": 1}))


def step(what):
    print("--", what, flush=True)


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def code_of(fn, **kw):
    try:
        fn(**kw)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    return None, 200


def keys(bucket, **kw):
    r = s3.list_objects_v2(Bucket=bucket, **kw)
    return [o["Key"] for o in r.get("Contents", [])]


def prefixes(bucket, **kw):
    r = s3.list_objects_v2(Bucket=bucket, **kw)
    return [p["Prefix"] for p in r.get("CommonPrefixes", [])]


def raw(method, path, body=b"", headers=None, chunked=False):
    """A signed request sent as is (UNSIGNED-PAYLOAD), for what boto3 will not send."""
    url = EP + path
    req = AWSRequest(method=method, url=url, data=b"" if chunked else body,
                     headers=dict(headers or {}, **{"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}))
    SigV4Auth(Credentials(AK, SK), "s3", REGION).add_auth(req)
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    hdrs = dict(req.headers.items())
    if chunked:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        conn.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    else:
        conn.request(method, path, body=body, headers=hdrs)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data


def mpath(bucket, key):
    return os.path.join(MNT, bucket, key.rstrip("/"))


def t_markers():
    b = "dirs"
    s3.create_bucket(Bucket=b)

    step("PUT of a marker: 200 with the empty ETag, the directory made with its metadata")
    r = s3.put_object(Bucket=b, Key="a/", Body=b"", ContentType="application/x-directory",
                      Metadata={"mode": "16877", "owner": "me"})
    check(r["ETag"] == EMPTY_ETAG, "PUT a/ ETag %s" % r["ETag"])
    if MNT:
        check(os.path.isdir(mpath(b, "a/")), "a/ is a directory in the mount")
        check(os.getxattr(mpath(b, "a/"), "user.s3.content-type") == b"application/x-directory",
              "the marker's Content-Type is an xattr of the directory")
        check(os.getxattr(mpath(b, "a/"), "user.s3.meta.owner") == b"me",
              "the marker's x-amz-meta-owner is an xattr of the directory")

    step("HEAD and GET of a marker: an empty object with its metadata")
    h = s3.head_object(Bucket=b, Key="a/")
    check(h["ContentLength"] == 0 and h["ETag"] == EMPTY_ETAG, "HEAD a/: %r" % h)
    check(h["ContentType"] == "application/x-directory", "HEAD a/ Content-Type")
    check(h["Metadata"] == {"mode": "16877", "owner": "me"}, "HEAD a/ metadata %r" % h["Metadata"])
    check(abs(h["LastModified"].timestamp() - time.time()) < 120, "HEAD a/ Last-Modified")
    g = s3.get_object(Bucket=b, Key="a/")
    check(g["Body"].read() == b"" and g["ETag"] == EMPTY_ETAG, "GET a/ is empty")
    check(g["Metadata"]["owner"] == "me", "GET a/ metadata")
    acl = s3.get_object_acl(Bucket=b, Key="a/")["Grants"]
    check([g["Permission"] for g in acl] == ["FULL_CONTROL"], "GetObjectAcl of a marker %r" % acl)
    check(code_of(s3.head_object, Bucket=b, Key="nope/")[1] == 404, "HEAD of a missing marker")
    check(code_of(s3.get_object, Bucket=b, Key="nope/")[0] == "NoSuchKey",
          "GET of a missing marker is NoSuchKey")
    s3.put_object(Bucket=b, Key="file", Body=b"data")
    check(code_of(s3.head_object, Bucket=b, Key="file/")[1] == 404, "HEAD file/ of an object")

    step("a marker PUT again replaces its metadata")
    s3.put_object(Bucket=b, Key="a/", Body=b"", Metadata={"mode": "16832"})
    h = s3.head_object(Bucket=b, Key="a/")
    check(h["Metadata"] == {"mode": "16832"}, "re-PUT metadata %r" % h["Metadata"])
    check(h["ContentType"] == "binary/octet-stream", "re-PUT dropped the old Content-Type")

    step("a marker with data is refused and makes nothing")
    check(code_of(s3.put_object, Bucket=b, Key="x/", Body=b"abc") == ("InvalidArgument", 400),
          "PUT x/ with a body")
    st, body = raw("PUT", "/dirs/y/", body=b"abc", chunked=True)
    check(st == 400 and b"InvalidArgument" in body, "chunked PUT y/ with data: %d %r" % (st, body))
    check(code_of(s3.head_object, Bucket=b, Key="x/")[1] == 404, "x/ exists after the refusal")
    check(code_of(s3.head_object, Bucket=b, Key="y/")[1] == 404, "y/ exists after the refusal")
    if MNT:
        check(not os.path.exists(mpath(b, "x/")) and not os.path.exists(mpath(b, "y/")),
              "a refused marker left a directory in the mount")
    check(code_of(s3.put_object, Bucket=b, Key="x//", Body=b"")[0] == "InvalidArgument",
          "a marker key with an empty segment")
    check(code_of(s3.create_multipart_upload, Bucket=b, Key="x/")[0] == "InvalidArgument",
          "a multipart upload to a marker")
    st, _ = raw("PUT", "/dirs/z/", body=b"", chunked=True)
    check(st == 200, "chunked PUT z/ with an empty body: %d" % st)
    s3.delete_object(Bucket=b, Key="z/")

    step("listings: an empty or marked directory is the key a/, a prefix under a delimiter")
    check(keys(b) == ["a/", "file"], "list without delimiter: %r" % keys(b))
    c = s3.list_objects_v2(Bucket=b)["Contents"][0]
    check(c["Size"] == 0 and c["ETag"] == EMPTY_ETAG, "the marker's entry: %r" % c)
    check(keys(b, Delimiter="/") == ["file"] and prefixes(b, Delimiter="/") == ["a/"],
          "list with delimiter")
    check(keys(b, Prefix="a/") == ["a/"], "list prefix a/")
    s3.put_object(Bucket=b, Key="a/f", Body=b"x")
    check(keys(b) == ["a/", "a/f", "file"], "a marked directory with a child: %r" % keys(b))
    check(keys(b, Prefix="a/", Delimiter="/") == ["a/", "a/f"], "prefix a/ delimiter /")
    r1 = s3.list_objects(Bucket=b)
    check([o["Key"] for o in r1["Contents"]] == ["a/", "a/f", "file"], "ListObjects v1")
    # Pages of one key step over the marker and into its directory.
    got, token = [], None
    while True:
        kw = {"ContinuationToken": token} if token else {}
        r = s3.list_objects_v2(Bucket=b, MaxKeys=1, **kw)
        got += [o["Key"] for o in r.get("Contents", [])]
        if not r["IsTruncated"]:
            break
        token = r["NextContinuationToken"]
    check(got == ["a/", "a/f", "file"], "paged listing %r" % got)
    check(keys(b, StartAfter="a/") == ["a/f", "file"], "start-after a/")

    step("directories S3 made on the way are prefixes only; HEAD finds them")
    s3.put_object(Bucket=b, Key="p/q/r/", Body=b"")
    check(keys(b, Prefix="p/") == ["p/q/r/"], "nested marker: %r" % keys(b, Prefix="p/"))
    check(prefixes(b, Prefix="p/", Delimiter="/") == ["p/q/"], "nested marker with delimiter")
    check(s3.head_object(Bucket=b, Key="p/q/")["ContentLength"] == 0, "HEAD p/q/")
    s3.delete_object(Bucket=b, Key="p/q/r/")
    check(keys(b, Prefix="p/") == [], "the made directories went with the marker")
    if MNT:
        check(not os.path.exists(mpath(b, "p/")), "p is still in the mount")

    step("DELETE of a non-empty marker: 204, the directory stays as a prefix")
    r = s3.delete_object(Bucket=b, Key="a/")
    check(r["ResponseMetadata"]["HTTPStatusCode"] == 204, "DELETE a/")
    check(keys(b) == ["a/f", "file"], "after deleting the marker a/: %r" % keys(b))
    check("owner" not in s3.head_object(Bucket=b, Key="a/")["Metadata"],
          "the marker's metadata went with it")
    s3.delete_object(Bucket=b, Key="a/f")
    check(code_of(s3.head_object, Bucket=b, Key="a/")[1] == 404,
          "a/ is gone with its last object")
    if MNT:
        check(not os.path.exists(mpath(b, "a/")), "a is still in the mount")

    step("CopyObject: marker to itself with REPLACE (s3fs's chmod), marker to marker")
    s3.put_object(Bucket=b, Key="m/", Body=b"", Metadata={"mode": "16877"})
    check(code_of(s3.copy_object, Bucket=b, Key="m/",
                  CopySource={"Bucket": b, "Key": "m/"})[0] == "InvalidRequest",
          "copy onto itself without REPLACE")
    r = s3.copy_object(Bucket=b, Key="m/", CopySource={"Bucket": b, "Key": "m/"},
                       MetadataDirective="REPLACE", Metadata={"mode": "16832"})
    check(r["CopyObjectResult"]["ETag"] == EMPTY_ETAG, "copy ETag")
    check(s3.head_object(Bucket=b, Key="m/")["Metadata"] == {"mode": "16832"}, "REPLACE in place")
    s3.copy_object(Bucket=b, Key="n/o/", CopySource={"Bucket": b, "Key": "m/"})
    check(s3.head_object(Bucket=b, Key="n/o/")["Metadata"] == {"mode": "16832"},
          "a copied marker keeps the metadata")
    s3.copy_object(Bucket=b, Key="mfile", CopySource={"Bucket": b, "Key": "m/"})
    check(s3.get_object(Bucket=b, Key="mfile")["Body"].read() == b"", "marker copied to a key")
    check(code_of(s3.copy_object, Bucket=b, Key="q/",
                  CopySource={"Bucket": b, "Key": "file"})[0] == "InvalidArgument",
          "an object with data copied onto a marker")
    if MNT:
        check(os.path.isdir(mpath(b, "n/o/")), "the copied marker is a directory")

    step("DeleteObjects with markers; DeleteBucket once nothing is left")
    check(code_of(s3.delete_bucket, Bucket=b)[0] == "BucketNotEmpty", "DeleteBucket too early")
    left = keys(b)
    check(left == ["file", "m/", "mfile", "n/o/"], "what is left: %r" % left)
    r = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": k} for k in left]})
    check(len(r.get("Deleted", [])) == 4 and not r.get("Errors"), "DeleteObjects %r" % r)
    check(keys(b) == [], "empty after DeleteObjects: %r" % keys(b))
    s3.delete_bucket(Bucket=b)


def t_mount():
    b = "mdirs"
    step("the mount: mkdir is a marker over S3, a marker PUT a directory in the mount")
    os.mkdir(os.path.join(MNT, b))
    os.makedirs(os.path.join(MNT, b, "m1", "m2"))
    check(keys(b) == ["m1/m2/"], "mkdir -p m1/m2: %r" % keys(b))
    check(s3.head_object(Bucket=b, Key="m1/")["ETag"] == EMPTY_ETAG, "HEAD m1/")
    check(prefixes(b, Delimiter="/") == ["m1/"], "m1/ as a prefix")
    with open(os.path.join(MNT, b, "m1", "f"), "wb") as f:
        f.write(b"hello")
    check(keys(b) == ["m1/f", "m1/m2/"], "a file in m1: %r" % keys(b))
    os.rmdir(os.path.join(MNT, b, "m1", "m2"))
    check(code_of(s3.head_object, Bucket=b, Key="m1/m2/")[1] == 404, "rmdir m1/m2")
    s3.put_object(Bucket=b, Key="s1/s2/", Body=b"", Metadata={"k": "v"})
    check(os.path.isdir(os.path.join(MNT, b, "s1", "s2")), "marker s1/s2/ in the mount")
    check(sorted(os.listdir(os.path.join(MNT, b))) == ["m1", "s1"], "ls of the bucket")
    with open(os.path.join(MNT, b, "s1", "s2", "g"), "wb") as f:
        f.write(b"in a marker")
    check(s3.get_object(Bucket=b, Key="s1/s2/g")["Body"].read() == b"in a marker",
          "a file written into a marker's directory")
    s3.delete_object(Bucket=b, Key="s1/s2/g")
    s3.delete_object(Bucket=b, Key="s1/s2/")
    check(not os.path.exists(os.path.join(MNT, b, "s1", "s2")), "DELETE s1/s2/ in the mount")
    # s1 was made by S3 on the way: it went with s1/s2.
    check(not os.path.exists(os.path.join(MNT, b, "s1")), "s1 pruned")
    os.unlink(os.path.join(MNT, b, "m1", "f"))
    os.rmdir(os.path.join(MNT, b, "m1"))
    s3.delete_bucket(Bucket=b)


def run(cmd, env=None, ok=True):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_"))}
    p = subprocess.run(cmd, env=dict(base, **(env or {})), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=300)
    if ok and p.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s" % (" ".join(cmd), p.returncode, p.stdout[-3000:]))
    return p


def rclone_has_markers(env):
    out = run(["rclone", "help", "backend", "s3"], env, ok=False).stdout
    return "--s3-directory-markers" in out


def t_rclone():
    env = {"RCLONE_CONFIG": "/dev/null", "RCLONE_CONFIG_T_TYPE": "s3",
           "RCLONE_CONFIG_T_PROVIDER": "Other", "RCLONE_CONFIG_T_ENDPOINT": EP,
           "RCLONE_CONFIG_T_ACCESS_KEY_ID": AK, "RCLONE_CONFIG_T_SECRET_ACCESS_KEY": SK,
           "RCLONE_CONFIG_T_REGION": REGION, "RCLONE_CONFIG_T_FORCE_PATH_STYLE": "true"}
    rc = ["rclone", "--retries", "1", "--low-level-retries", "1"]
    b = "rcdirs"
    run(rc + ["mkdir", "t:" + b], env)
    src, dst = os.path.join(WORK, "rc-src"), os.path.join(WORK, "rc-dst")
    os.makedirs(os.path.join(src, "empty", "deeper"))
    os.makedirs(os.path.join(src, "full"))
    with open(os.path.join(src, "full", "f.bin"), "wb") as f:
        f.write(os.urandom(5000))
    if rclone_has_markers(env):
        step("rclone --s3-directory-markers: mkdir, copy with empty directories, rmdir")
        rcm = rc + ["--s3-directory-markers"]
        run(rcm + ["mkdir", "t:%s/r1/r2" % b], env)
        check(s3.head_object(Bucket=b, Key="r1/r2/")["ContentLength"] == 0, "rclone mkdir r1/r2")
        if MNT:
            check(os.path.isdir(os.path.join(MNT, b, "r1", "r2")), "rclone's r1/r2 in the mount")
        out = run(rcm + ["lsf", "t:%s/r1" % b], env).stdout.split()
        check(out == ["r2/"], "rclone lsf r1: %r" % out)
        run(rcm + ["rmdir", "t:%s/r1/r2" % b], env)
        check(code_of(s3.head_object, Bucket=b, Key="r1/r2/")[1] == 404, "rclone rmdir r1/r2")
        run(rcm + ["rmdirs", "t:%s" % b, "--leave-root"], env)
        run(rcm + ["copy", "--create-empty-src-dirs", src, "t:%s/tree" % b], env)
        check(s3.head_object(Bucket=b, Key="tree/empty/deeper/")["ContentLength"] == 0,
              "the empty directory went up as a marker")
    else:
        # Debian 12's rclone (1.60) has no --s3-directory-markers (1.65 added
        # it): it cannot write markers, but reads them as directories.
        step("rclone (no --s3-directory-markers in %s): markers read back as directories" %
             run(["rclone", "version"], env).stdout.split("\n")[0])
        s3.put_object(Bucket=b, Key="tree/empty/deeper/", Body=b"")
        s3.put_object(Bucket=b, Key="tree/full/f.bin",
                      Body=open(os.path.join(src, "full", "f.bin"), "rb").read())
    out = run(rc + ["lsf", "t:%s/tree/empty" % b], env).stdout.split()
    check(out == ["deeper/"], "rclone lsf tree/empty: %r" % out)
    run(rc + ["copy", "--create-empty-src-dirs", "t:%s/tree" % b, dst], env)
    check(os.path.isdir(os.path.join(dst, "empty", "deeper")), "the empty directory came back")
    with open(os.path.join(src, "full", "f.bin"), "rb") as f1, \
            open(os.path.join(dst, "full", "f.bin"), "rb") as f2:
        check(f1.read() == f2.read(), "rclone round trip byte-exact")
    run(rc + ["purge", "t:%s/tree" % b], env)
    left = keys(b)
    for k in left:  # rclone 1.60's purge leaves markers (it does not know them)
        check(k.endswith("/"), "rclone purge left the object %s" % k)
        s3.delete_object(Bucket=b, Key=k)
    check(keys(b) == [], "left after rclone purge: %r" % keys(b))
    s3.delete_bucket(Bucket=b)


def t_awscli():
    step("the AWS CLI: s3api put-object --key d/, s3 ls, s3 rm")
    env = {"AWS_ACCESS_KEY_ID": AK, "AWS_SECRET_ACCESS_KEY": SK, "AWS_DEFAULT_REGION": REGION,
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
           "AWS_PAGER": ""}
    aws = ["/usr/bin/aws", "--endpoint-url", EP]
    b = "awsdirs"
    run(aws + ["s3", "mb", "s3://" + b], env)
    run(aws + ["s3api", "put-object", "--bucket", b, "--key", "d/"], env)
    run(aws + ["s3api", "put-object", "--bucket", b, "--key", "d/e/"], env)
    if MNT:
        check(os.path.isdir(os.path.join(MNT, b, "d", "e")), "aws put-object d/e/ in the mount")
    ls = run(aws + ["s3", "ls", "s3://%s/" % b], env).stdout
    check("PRE d/" in ls, "aws s3 ls shows the prefix d/:\n" + ls)
    rec = run(aws + ["s3", "ls", "--recursive", "s3://%s/" % b], env).stdout.split("\n")
    names = sorted(line.split()[-1] for line in rec if line.strip())
    check(names == ["d/", "d/e/"], "aws s3 ls --recursive: %r" % names)
    head = run(aws + ["s3api", "head-object", "--bucket", b, "--key", "d/e/"], env).stdout
    check('"ContentLength": 0' in head, "aws s3api head-object d/e/:\n" + head)
    run(aws + ["s3", "rm", "--recursive", "s3://%s/" % b], env)
    check(keys(b) == [], "aws s3 rm --recursive left %r" % keys(b))
    if MNT:
        check(os.listdir(os.path.join(MNT, b)) == [], "the mount still has %r" %
              os.listdir(os.path.join(MNT, b)))
    run(aws + ["s3", "rb", "s3://" + b], env)


def main():
    try:
        t_markers()
        if MNT:
            t_mount()
        t_rclone()
        t_awscli()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    print("s3_dirs.py: all checks passed")


if __name__ == "__main__":
    sys.exit(main())
