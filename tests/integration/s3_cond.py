#!/usr/bin/env python3
"""Conditional writes over S3 against a mounted volume (test_s3_cond.sh).

Environment: S3_ENDPOINT, S3_AK, S3_SK, TFS_MNT. Exits non-zero on the first
failed check, naming it.
"""
import hashlib
import os
import sys
import threading
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

EP, AK, SK, MNT = (os.environ[k] for k in ("S3_ENDPOINT", "S3_AK", "S3_SK", "TFS_MNT"))


def client():
    return boto3.client("s3", endpoint_url=EP, aws_access_key_id=AK, aws_secret_access_key=SK,
                        region_name="us-east-1",
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                      retries={"max_attempts": 1}))


s3 = client()


def headers(**h):
    """A PUT/copy/complete with extra raw headers (boto3 1.26 has no IfNoneMatch)."""
    def add(request, **kw):
        for k, v in h.items():
            request.headers[k] = v
    return add


def put(key, body, **h):
    c = client()
    c.meta.events.register("before-sign.s3.*", headers(**h))
    return c.put_object(Bucket="condb", Key=key, Body=body)


def code(fn, *a, **kw):
    try:
        fn(*a, **kw)
    except ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"]
    return 200


def check(cond, what):
    if not cond:
        sys.exit("FAIL: " + what)
    print("ok:", what)


def body(key):
    return s3.get_object(Bucket="condb", Key=key)["Body"].read()


s3.create_bucket(Bucket="condb")

# If-None-Match: * creates only.
check(code(put, "a", b"one", **{"If-None-Match": "*"}) == 200, "If-None-Match: * creates a new key")
check(code(put, "a", b"two", **{"If-None-Match": "*"}) == 412, "If-None-Match: * on an existing key is 412")
check(body("a") == b"one", "the refused PUT left the object as it was")
check(code(put, "a", b"x", **{"If-None-Match": '"abc"'}) == 501, "If-None-Match with an ETag on a write is 501")

# If-Match: the current ETag replaces, any other is 412; no object is 404.
etag = s3.head_object(Bucket="condb", Key="a")["ETag"]
check(code(put, "a", b"three", **{"If-Match": '"0123"'}) == 412, "If-Match with a wrong ETag is 412")
check(code(put, "a", b"three", **{"If-Match": etag}) == 200, "If-Match with the current ETag replaces")
check(body("a") == b"three", "the conditional replace stored its bytes")
check(code(put, "nope", b"x", **{"If-Match": etag}) == 404, "If-Match on a missing key is 404")

# A write through the mount changes the ETag: an If-Match with the old one fails.
etag = s3.head_object(Bucket="condb", Key="a")["ETag"]
with open(os.path.join(MNT, "condb", "a"), "r+b") as f:
    f.write(b"T")
check(code(put, "a", b"four", **{"If-Match": etag}) == 412, "If-Match after a write through the mount is 412")
check(body("a") == b"Three", "the mount's write stands")

# CopyObject and CompleteMultipartUpload take the same conditions.
s3.put_object(Bucket="condb", Key="src", Body=b"source")
c = client()
c.meta.events.register("before-sign.s3.CopyObject", headers(**{"If-None-Match": "*"}))
check(code(c.copy_object, Bucket="condb", Key="a", CopySource="condb/src") == 412,
      "CopyObject onto an existing key with If-None-Match: * is 412")
check(code(c.copy_object, Bucket="condb", Key="copied", CopySource="condb/src") == 200,
      "CopyObject to a new key with If-None-Match: * works")
up = s3.create_multipart_upload(Bucket="condb", Key="a")["UploadId"]
part = s3.upload_part(Bucket="condb", Key="a", UploadId=up, PartNumber=1, Body=b"p" * 100)
c = client()
c.meta.events.register("before-sign.s3.CompleteMultipartUpload", headers(**{"If-None-Match": "*"}))
check(code(c.complete_multipart_upload, Bucket="condb", Key="a", UploadId=up,
           MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]}) == 412,
      "CompleteMultipartUpload onto an existing key with If-None-Match: * is 412")
check(body("a") == b"Three", "the refused completion left the object as it was")

# DeleteObject with If-Match.
etag = s3.head_object(Bucket="condb", Key="copied")["ETag"]
c = client()
c.meta.events.register("before-sign.s3.DeleteObject", headers(**{"If-Match": '"0123"'}))
check(code(c.delete_object, Bucket="condb", Key="copied") == 412, "DeleteObject with a wrong If-Match is 412")
check(body("copied") == b"source", "the refused delete kept the object")
c = client()
c.meta.events.register("before-sign.s3.DeleteObject", headers(**{"If-Match": etag}))
check(code(c.delete_object, Bucket="condb", Key="copied") in (200, 204), "DeleteObject with the right If-Match deletes")
check(code(s3.head_object, Bucket="condb", Key="copied") == 404, "and the key is gone")

# A condition that held when the request began and is broken by a write that
# finishes while the body is still arriving: 409 ConditionalRequestConflict
# (retry), as AWS answers; a condition that already fails is 412 before any
# body byte is read.
def slow_put(key, first, rest, during, **h):
    """PUT through a presigned URL over raw HTTP: headers and @first, then
    @during(), then @rest. Returns (status, response body)."""
    import http.client
    import urllib.parse
    url = urllib.parse.urlsplit(s3.generate_presigned_url(
        "put_object", Params={"Bucket": "condb", "Key": key}, ExpiresIn=300))
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.putrequest("PUT", url.path + "?" + url.query, skip_accept_encoding=True)
    conn.putheader("Content-Length", str(len(first) + len(rest)))
    for k, v in h.items():
        conn.putheader(k, v)
    conn.endheaders()
    conn.send(first)
    time.sleep(0.2)  # the server is reading the body now
    during()
    try:
        conn.send(rest)
    except OSError:
        pass  # answered early
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


st, data = slow_put("slow1", b"x" * 65536, b"y" * 65536,
                    lambda: s3.put_object(Bucket="condb", Key="slow1", Body=b"other"),
                    **{"If-None-Match": "*"})
check(st == 409 and b"ConditionalRequestConflict" in data,
      "If-None-Match: * broken by a PUT during the body is 409 ConditionalRequestConflict (%d %r)"
      % (st, data[:120]))
check(body("slow1") == b"other", "the key holds the other writer's bytes")


def write_through_mount():
    with open(os.path.join(MNT, "condb", "slow2"), "wb") as f:
        f.write(b"from the mount")


s3.put_object(Bucket="condb", Key="slow2", Body=b"first")
etag = s3.head_object(Bucket="condb", Key="slow2")["ETag"]
st, data = slow_put("slow2", b"x" * 65536, b"y" * 65536, write_through_mount, **{"If-Match": etag})
check(st == 409 and b"ConditionalRequestConflict" in data,
      "If-Match broken by a write through the mount during the body is 409 (%d %r)" % (st, data[:120]))
check(body("slow2") == b"from the mount", "the key holds the mount's bytes")
st, data = slow_put("slow2", b"x" * 65536, b"y" * 65536, lambda: None, **{"If-Match": etag})
check(st == 412, "the same If-Match sent again (the ETag is stale now) is 412 (%d)" % st)


def early_answer(key, **h):
    """Headers with Expect: 100-continue and no body: the refusal comes first."""
    import http.client
    import urllib.parse
    url = urllib.parse.urlsplit(s3.generate_presigned_url(
        "put_object", Params={"Bucket": "condb", "Key": key}, ExpiresIn=300))
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.putrequest("PUT", url.path + "?" + url.query, skip_accept_encoding=True)
    conn.putheader("Content-Length", str(100 << 20))
    conn.putheader("Expect", "100-continue")
    for k, v in h.items():
        conn.putheader(k, v)
    conn.endheaders()
    resp = conn.getresponse()
    st = resp.status
    conn.close()
    return st


check(early_answer("slow1", **{"If-None-Match": "*"}) == 412,
      "If-None-Match: * on an existing key is refused with 412 before the body")
check(body("slow1") == b"other", "and the key is unchanged")

# The race: 8 S3 clients create one key with If-None-Match: * while a process
# writes the same path through the mount. Exactly one S3 PUT wins unless the
# mount's file came first; the final bytes are one writer's whole bytes.
for rnd in range(5):
    key = "race%d" % rnd
    bodies = [hashlib.sha256(b"%d-%d" % (rnd, i)).digest() * 4096 for i in range(8)]
    mount_bytes = b"M" * 131072
    results = [None] * 8
    go = threading.Event()

    def s3_writer(i):
        go.wait()
        results[i] = code(put, key, bodies[i], **{"If-None-Match": "*"})

    def mount_writer():
        go.wait()
        time.sleep(0.002 * rnd)
        tmp = os.path.join(MNT, "condb", ".%s.tmp" % key)
        with open(tmp, "wb") as f:
            f.write(mount_bytes)
            os.fsync(f.fileno())
        try:  # create-only, like the S3 writers: link fails if the name exists
            os.link(tmp, os.path.join(MNT, "condb", key))
            won = True
        except FileExistsError:
            won = False
        os.unlink(tmp)
        mount_won.append(won)

    mount_won = []
    threads = [threading.Thread(target=s3_writer, args=(i,)) for i in range(8)]
    threads.append(threading.Thread(target=mount_writer))
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join()
    wins = [i for i in range(8) if results[i] == 200]
    others = [r for r in results if r != 200]
    check(all(r in (409, 412) for r in others), "race %d: every losing S3 PUT is 412 or 409 (%s)" % (rnd, results))
    final = body(key)
    if mount_won[0]:
        check(not wins, "race %d: the mount created it first, no S3 PUT won" % rnd)
        check(final == mount_bytes, "race %d: the key holds the mount's bytes" % rnd)
    else:
        check(len(wins) == 1, "race %d: exactly one S3 PUT won (%s)" % (rnd, results))
        check(final == bodies[wins[0]], "race %d: the key holds the winner's whole bytes" % rnd)
print("s3_cond: all checks passed")
