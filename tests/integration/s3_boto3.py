#!/usr/bin/env python3
"""Drives a running trackfs S3 sidecar with boto3 (Debian's python3-boto3).

Environment: S3_ENDPOINT (http://127.0.0.1:PORT), S3_AK/S3_SK (a read-write
key for every bucket), S3_RO_AK/S3_RO_SK (read-only), S3_VOLROOT (optional:
the host directory behind a test double, for checks on disk).
Every check asserts real behaviour; the script exits non-zero on the first
failure, naming it.
"""
import hashlib
import io
import os
import random
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import ClientError

EP = os.environ["S3_ENDPOINT"]
AK, SK = os.environ["S3_AK"], os.environ["S3_SK"]
RO_AK, RO_SK = os.environ.get("S3_RO_AK"), os.environ.get("S3_RO_SK")


def client(ak=AK, sk=SK, **cfg):
    return boto3.client(
        "s3", endpoint_url=EP, aws_access_key_id=ak, aws_secret_access_key=sk,
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      retries={"max_attempts": 1}, **cfg))


s3 = client()


def code_of(fn, *a, **kw):
    try:
        fn(*a, **kw)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    return None, 200


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def md5(b):
    return hashlib.md5(b).hexdigest()


def t_health():
    with urllib.request.urlopen(EP + "/health") as r:
        check(r.status == 200 and r.read() == b"ok", "GET /health answers 200 ok")


def t_buckets():
    check(code_of(s3.head_bucket, Bucket="dify")[1] == 404, "head_bucket of a missing bucket is 404")
    s3.create_bucket(Bucket="dify")
    s3.head_bucket(Bucket="dify")
    check(code_of(s3.create_bucket, Bucket="dify") == (None, 200),
          "re-creating a bucket one owns answers 200, as us-east-1 does")
    check(code_of(s3.create_bucket, Bucket="Bad_Name")[0] == "InvalidBucketName",
          "a bad bucket name is refused")
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    check("dify" in names, "list_buckets shows the new bucket")
    s3.create_bucket(Bucket="tmpb")
    s3.put_object(Bucket="tmpb", Key="x", Body=b"1")
    check(code_of(s3.delete_bucket, Bucket="tmpb")[0] == "BucketNotEmpty", "BucketNotEmpty")
    s3.delete_object(Bucket="tmpb", Key="x")
    s3.delete_bucket(Bucket="tmpb")
    check(code_of(s3.head_bucket, Bucket="tmpb")[1] == 404, "a deleted bucket is gone")
    loc = s3.get_bucket_location(Bucket="dify")
    check(loc.get("LocationConstraint") in (None, ""), "us-east-1 location is empty")
    check("Status" not in s3.get_bucket_versioning(Bucket="dify"), "bucket is unversioned")
    acl = s3.get_bucket_acl(Bucket="dify")
    check(acl["Grants"][0]["Permission"] == "FULL_CONTROL", "bucket ACL is owner full control")


def t_objects():
    data = os.urandom(300_000)
    r = s3.put_object(Bucket="dify", Key="upload_files/t1/a.bin", Body=data,
                      ContentType="application/x-test", Metadata={"origin": "boto3"})
    check(r["ETag"] == '"%s"' % md5(data), "PUT ETag is the MD5")
    h = s3.head_object(Bucket="dify", Key="upload_files/t1/a.bin")
    check(h["ContentLength"] == len(data), "HEAD length")
    check(h["ETag"] == '"%s"' % md5(data), "HEAD ETag")
    check(h["ContentType"] == "application/x-test", "Content-Type kept")
    check(h["Metadata"] == {"origin": "boto3"}, "x-amz-meta-* kept: %r" % h["Metadata"])
    # Dify reads with iter_chunks in small pieces.
    body = s3.get_object(Bucket="dify", Key="upload_files/t1/a.bin")["Body"]
    got = b"".join(body.iter_chunks(chunk_size=4096))
    check(got == data, "GET streamed in small chunks returns the same bytes")
    buf = io.BytesIO()
    s3.download_fileobj("dify", "upload_files/t1/a.bin", buf)
    check(buf.getvalue() == data, "download_fileobj")
    # Overwrite, then zero bytes.
    s3.put_object(Bucket="dify", Key="upload_files/t1/a.bin", Body=b"short")
    check(s3.get_object(Bucket="dify", Key="upload_files/t1/a.bin")["Body"].read() == b"short",
          "overwrite replaces the content")
    s3.put_object(Bucket="dify", Key="empty", Body=b"")
    o = s3.get_object(Bucket="dify", Key="empty")
    check(o["ContentLength"] == 0 and o["Body"].read() == b"", "zero-byte object")
    s3.delete_object(Bucket="dify", Key="upload_files/t1/a.bin")
    check(code_of(s3.get_object, Bucket="dify", Key="upload_files/t1/a.bin")[0] == "NoSuchKey",
          "deleted object is NoSuchKey")
    s3.delete_object(Bucket="dify", Key="never-was")  # idempotent
    check(code_of(s3.head_object, Bucket="dify", Key="upload_files")[1] == 404,
          "a prefix is not an object")
    check(code_of(s3.get_object, Bucket="nobucket", Key="k")[0] == "NoSuchBucket", "NoSuchBucket")
    # A "folder" key makes the directories; it cannot hold data.
    s3.put_object(Bucket="dify", Key="folder/sub/", Body=b"")
    r = s3.list_objects_v2(Bucket="dify", Prefix="folder/", Delimiter="/")
    check([p["Prefix"] for p in r.get("CommonPrefixes", [])] == ["folder/sub/"],
          "a folder key shows as a prefix")
    check(code_of(s3.put_object, Bucket="dify", Key="folder/x/", Body=b"data")[1] == 400,
          "a folder key with data is refused")
    s3.delete_object(Bucket="dify", Key="folder/sub/")
    check("CommonPrefixes" not in s3.list_objects_v2(Bucket="dify", Prefix="folder/",
                                                      Delimiter="/"), "deleting the folder key")


def t_bad_keys():
    for k in ["a/../b", "a//b", "./x", "a/."]:
        c, st = code_of(s3.put_object, Bucket="dify", Key=k, Body=b"x")
        check(st == 400, "key %r refused with 400 (got %s %s)" % (k, c, st))
    s3.put_object(Bucket="dify", Key="conf/file", Body=b"x")
    c, st = code_of(s3.put_object, Bucket="dify", Key="conf/file/sub", Body=b"x")
    check(st == 409, "an object where a prefix is needed is refused (%s %s)" % (c, st))
    c, st = code_of(s3.put_object, Bucket="dify", Key="conf", Body=b"x")
    check(st == 409, "an object where a prefix exists is refused (%s %s)" % (c, st))
    c, st = code_of(s3.put_object, Bucket="dify", Key="k" * 1025, Body=b"x")
    check(c == "KeyTooLongError", "a 1025-byte key is KeyTooLongError (%s)" % c)
    s3.delete_object(Bucket="dify", Key="conf/file")


def t_ranges_and_conditions():
    data = bytes(range(256)) * 40
    et = s3.put_object(Bucket="dify", Key="r.bin", Body=data)["ETag"]
    for rng, want in [("bytes=0-9", data[0:10]), ("bytes=10-", data[10:]),
                      ("bytes=-5", data[-5:]), ("bytes=100-199", data[100:200]),
                      ("bytes=10000-20000", data[10000:])]:
        o = s3.get_object(Bucket="dify", Key="r.bin", Range=rng)
        check(o["Body"].read() == want, "range %s" % rng)
        check(o["ResponseMetadata"]["HTTPStatusCode"] == 206, "range %s is 206" % rng)
    check(code_of(s3.get_object, Bucket="dify", Key="r.bin", Range="bytes=20000-")[0] ==
          "InvalidRange", "unsatisfiable range is InvalidRange")
    check(code_of(s3.get_object, Bucket="dify", Key="r.bin", IfNoneMatch=et)[1] == 304,
          "If-None-Match with the ETag is 304")
    check(code_of(s3.get_object, Bucket="dify", Key="r.bin", IfMatch='"nope"')[1] == 412,
          "If-Match with another ETag is 412")
    s3.get_object(Bucket="dify", Key="r.bin", IfMatch=et)
    o = s3.get_object(Bucket="dify", Key="r.bin", ResponseContentType="text/x-over",
                      ResponseContentDisposition="attachment")
    check(o["ContentType"] == "text/x-over" and o["ContentDisposition"] == "attachment",
          "response-* overrides")


def expected_listing(keys, prefix, delim):
    contents, cps = [], []
    for k in sorted(keys, key=lambda s: s.encode()):
        if not k.startswith(prefix):
            continue
        if delim:
            i = k.find(delim, len(prefix))
            if i >= 0:
                cp = k[:i + len(delim)]
                if not cps or cps[-1] != cp:
                    cps.append(cp)
                continue
        contents.append(k)
    return contents, cps


def list_all(prefix, delim, page, v1=False):
    p = s3.get_paginator("list_objects" if v1 else "list_objects_v2")
    kw = {"Bucket": "tree", "Prefix": prefix, "PaginationConfig": {"PageSize": page}}
    if delim:
        kw["Delimiter"] = delim
    contents, cps = [], []
    for pg in p.paginate(**kw):
        contents += [o["Key"] for o in pg.get("Contents", [])]
        cps += [c["Prefix"] for c in pg.get("CommonPrefixes", [])]
    return contents, cps


def t_listing():
    s3.create_bucket(Bucket="tree")
    rnd = random.Random(7)
    keys = set()
    names = ["a", "a-b", "a.b", "ab", "b", "b0", "z", "A", "a b", "é", "x+y"]
    while len(keys) < 1000:
        depth = rnd.randint(1, 4)
        parts = [rnd.choice(names) for _ in range(depth)]
        parts[-1] += ".%d" % rnd.randint(0, 60)
        k = "/".join(parts)
        # A key cannot be both an object and a prefix on a filesystem.
        if any(k.startswith(o + "/") or o.startswith(k + "/") for o in keys):
            continue
        keys.add(k)
    for k in keys:
        s3.put_object(Bucket="tree", Key=k, Body=k.encode())
    for prefix, delim, page in [("", None, 1000), ("", "/", 1000), ("a/", "/", 7),
                                ("a", "/", 13), ("a/b", None, 50), ("", ".", 100),
                                ("zz", "/", 10), ("a/a/", "/", 3)]:
        want = expected_listing(keys, prefix, delim)
        got = list_all(prefix, delim, page)
        check(got == want, "ListObjectsV2 prefix=%r delimiter=%r page=%d: got %d/%d, want %d/%d"
              % (prefix, delim, page, len(got[0]), len(got[1]), len(want[0]), len(want[1])))
    got = list_all("a/", "/", 11, v1=True)
    check(got == expected_listing(keys, "a/", "/"), "ListObjects v1 with markers")
    r = s3.list_objects_v2(Bucket="tree", StartAfter=sorted(keys)[500], MaxKeys=1000)
    check([o["Key"] for o in r["Contents"]] == sorted(keys, key=lambda s: s.encode())[501:],
          "StartAfter")
    r = s3.list_objects_v2(Bucket="tree", Prefix="é", EncodingType="url")
    # botocore decodes only when it asked for the encoding itself.
    got = [urllib.parse.unquote(o["Key"]) for o in r.get("Contents", [])]
    check(got and all(k.startswith("é") for k in got) and r["Contents"][0]["Key"].startswith("%C3"),
          "encoding-type=url")
    v = s3.list_object_versions(Bucket="tree", Prefix="a/", MaxKeys=5)
    check(len(v["Versions"]) == 5 and all(x["VersionId"] == "null" and x["IsLatest"]
                                          for x in v["Versions"]), "ListObjectVersions")
    o = s3.list_objects_v2(Bucket="tree", MaxKeys=1)["Contents"][0]
    check(o["ETag"] == '"%s"' % md5(o["Key"].encode()) and o["Size"] == len(o["Key"].encode()),
          "listing shows ETag and size")


def t_presigned():
    s3.put_object(Bucket="dify", Key="pre/get.txt", Body=b"presigned body")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "dify", "Key": "pre/get.txt"},
                                    ExpiresIn=300)
    with urllib.request.urlopen(url) as r:
        check(r.read() == b"presigned body", "presigned GET through plain HTTP")
    url = s3.generate_presigned_url("put_object", Params={"Bucket": "dify", "Key": "pre/put.txt"},
                                    ExpiresIn=300)
    req = urllib.request.Request(url, data=b"put via url", method="PUT")
    with urllib.request.urlopen(req) as r:
        check(r.status == 200, "presigned PUT")
    check(s3.get_object(Bucket="dify", Key="pre/put.txt")["Body"].read() == b"put via url",
          "presigned PUT stored the body")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "dify", "Key": "pre/get.txt"},
                                    ExpiresIn=1)
    time.sleep(2.1)
    try:
        urllib.request.urlopen(url)
        check(False, "an expired URL is refused")
    except urllib.error.HTTPError as e:
        body = e.read()
        check(e.code == 403 and b"AccessDenied" in body and b"expired" in body,
              "an expired URL is 403 AccessDenied (%d %r)" % (e.code, body[:200]))
    bad = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    try:
        urllib.request.urlopen(bad)
        check(False, "a tampered URL is refused")
    except urllib.error.HTTPError as e:
        check(e.code in (400, 403), "a tampered URL is refused")


def t_denials():
    bad = client(sk="wrong-secret")
    check(code_of(bad.get_object, Bucket="dify", Key="pre/get.txt")[0] == "SignatureDoesNotMatch",
          "a wrong secret is SignatureDoesNotMatch")
    check(code_of(bad.put_object, Bucket="dify", Key="denied", Body=b"x" * 100000)[0] ==
          "SignatureDoesNotMatch", "a PUT with a wrong secret is refused")
    check(code_of(s3.head_object, Bucket="dify", Key="denied")[1] == 404, "and stored nothing")
    unknown = client(ak="NOSUCHKEY")
    check(code_of(unknown.list_buckets)[0] == "InvalidAccessKeyId", "InvalidAccessKeyId")
    if RO_AK:
        ro = client(RO_AK, RO_SK)
        ro.get_object(Bucket="dify", Key="pre/get.txt")
        check(code_of(ro.put_object, Bucket="dify", Key="ro", Body=b"x")[0] == "AccessDenied",
              "a read-only key cannot write")
    anon = boto3.client("s3", endpoint_url=EP, region_name="us-east-1",
                        config=Config(signature_version=botocore.UNSIGNED,
                                      s3={"addressing_style": "path"}))
    check(code_of(anon.get_object, Bucket="dify", Key="pre/get.txt")[0] == "AccessDenied",
          "anonymous reads are refused unless configured")
    pub = os.environ.get("S3_ANON_BUCKET")
    if pub:
        s3.create_bucket(Bucket=pub)
        s3.put_object(Bucket=pub, Key="open.txt", Body=b"for all")
        check(anon.get_object(Bucket=pub, Key="open.txt")["Body"].read() == b"for all",
              "anonymous read of a bucket configured for it")
        check(code_of(anon.put_object, Bucket=pub, Key="x", Body=b"x")[0] == "AccessDenied",
              "anonymous writes are refused")


def t_checksums():
    data = os.urandom(100_000)
    for algo in ["CRC32", "CRC32C", "SHA256"]:
        s3.put_object(Bucket="dify", Key="ck/" + algo, Body=data, ChecksumAlgorithm=algo)
        o = s3.get_object(Bucket="dify", Key="ck/" + algo, ChecksumMode="ENABLED")
        check(o["Body"].read() == data, "PUT with %s checksum" % algo)
        check(("Checksum" + algo) in o, "%s checksum returned with x-amz-checksum-mode" % algo)
    c, st = code_of(s3.put_object, Bucket="dify", Key="ck/bad", Body=data,
                    ChecksumCRC32="AAAAAA==")
    check(st == 400, "a wrong CRC32 is refused (%s)" % c)
    check(code_of(s3.head_object, Bucket="dify", Key="ck/bad")[1] == 404, "and stored nothing")
    c, st = code_of(s3.put_object, Bucket="dify", Key="ck/md5", Body=b"abc",
                    ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg==")
    check(c in ("BadDigest", "InvalidDigest"), "a wrong Content-MD5 is refused (%s)" % c)


def t_multipart():
    from boto3.s3.transfer import TransferConfig
    data = os.urandom(64 << 20)
    cfg = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20,
                         max_concurrency=4)
    s3.upload_fileobj(io.BytesIO(data), "dify", "big/64m.bin", Config=cfg)
    h = s3.head_object(Bucket="dify", Key="big/64m.bin")
    check(h["ContentLength"] == len(data), "multipart object size")
    parts = [hashlib.md5(data[i:i + (8 << 20)]).digest() for i in range(0, len(data), 8 << 20)]
    want = '"%s-%d"' % (hashlib.md5(b"".join(parts)).hexdigest(), len(parts))
    check(h["ETag"] == want, "multipart ETag is md5-of-part-md5s-N (%s vs %s)" % (h["ETag"], want))
    buf = io.BytesIO()
    s3.download_fileobj("dify", "big/64m.bin", buf, Config=cfg)
    check(buf.getvalue() == data, "64 MiB multipart object reads back byte for byte")

    # The low-level calls, with the checks S3 makes at completion.
    key = "mpu/low"
    up = s3.create_multipart_upload(Bucket="dify", Key=key, ContentType="text/x-mpu",
                                    Metadata={"m": "1"})["UploadId"]
    p1, p2, p3 = os.urandom(5 << 20), os.urandom(5 << 20), b"tail"
    e1 = s3.upload_part(Bucket="dify", Key=key, UploadId=up, PartNumber=1, Body=p1)["ETag"]
    e2 = s3.upload_part(Bucket="dify", Key=key, UploadId=up, PartNumber=2, Body=p2)["ETag"]
    e3 = s3.upload_part(Bucket="dify", Key=key, UploadId=up, PartNumber=3, Body=p3)["ETag"]
    lp = s3.list_parts(Bucket="dify", Key=key, UploadId=up)
    check([p["PartNumber"] for p in lp["Parts"]] == [1, 2, 3], "ListParts")
    check([p["ETag"] for p in lp["Parts"]] == [e1, e2, e3], "ListParts ETags")
    ups = s3.list_multipart_uploads(Bucket="dify")["Uploads"]
    check([u["UploadId"] for u in ups if u["Key"] == key] == [up], "ListMultipartUploads")
    check("mpu" not in str(s3.list_objects_v2(Bucket="dify", Prefix="mpu").get("Contents")),
          "an upload in progress is not an object")
    mk = lambda *ps: {"Parts": [{"PartNumber": n, "ETag": e} for n, e in ps]}
    check(code_of(s3.complete_multipart_upload, Bucket="dify", Key=key, UploadId=up,
                  MultipartUpload=mk((2, e2), (1, e1)))[0] == "InvalidPartOrder", "InvalidPartOrder")
    check(code_of(s3.complete_multipart_upload, Bucket="dify", Key=key, UploadId=up,
                  MultipartUpload=mk((1, e2), (2, e2)))[0] == "InvalidPart", "InvalidPart (ETag)")
    check(code_of(s3.complete_multipart_upload, Bucket="dify", Key=key, UploadId=up,
                  MultipartUpload=mk((1, e1), (3, e3), (4, e3)))[0] == "InvalidPart",
          "InvalidPart (missing part)")
    check(code_of(s3.complete_multipart_upload, Bucket="dify", Key=key, UploadId=up,
                  MultipartUpload=mk((3, e3), (4, e3)))[0] in ("InvalidPart", "EntityTooSmall"),
          "a small part before the last")
    s3.complete_multipart_upload(Bucket="dify", Key=key, UploadId=up,
                                 MultipartUpload=mk((1, e1), (2, e2), (3, e3)))
    o = s3.get_object(Bucket="dify", Key=key)
    check(o["Body"].read() == p1 + p2 + p3, "completed object content")
    check(o["ContentType"] == "text/x-mpu" and o["Metadata"] == {"m": "1"},
          "metadata given at create is kept")
    check(code_of(s3.list_parts, Bucket="dify", Key=key, UploadId=up)[0] == "NoSuchUpload",
          "a completed upload is gone")
    # Too small a non-last part.
    up = s3.create_multipart_upload(Bucket="dify", Key="mpu/small")["UploadId"]
    e1 = s3.upload_part(Bucket="dify", Key="mpu/small", UploadId=up, PartNumber=1,
                        Body=b"x" * 1000)["ETag"]
    e2 = s3.upload_part(Bucket="dify", Key="mpu/small", UploadId=up, PartNumber=2,
                        Body=b"y")["ETag"]
    check(code_of(s3.complete_multipart_upload, Bucket="dify", Key="mpu/small", UploadId=up,
                  MultipartUpload=mk((1, e1), (2, e2)))[0] == "EntityTooSmall", "EntityTooSmall")
    # UploadPartCopy, then abort.
    r = s3.upload_part_copy(Bucket="dify", Key="mpu/small", UploadId=up, PartNumber=3,
                            CopySource={"Bucket": "dify", "Key": "mpu/low"},
                            CopySourceRange="bytes=0-99")
    check(r["CopyPartResult"]["ETag"] == '"%s"' % md5(p1[:100]), "UploadPartCopy with a range")
    s3.abort_multipart_upload(Bucket="dify", Key="mpu/small", UploadId=up)
    check(code_of(s3.list_parts, Bucket="dify", Key="mpu/small", UploadId=up)[0] ==
          "NoSuchUpload", "an aborted upload is gone")
    check(code_of(s3.head_object, Bucket="dify", Key="mpu/small")[1] == 404,
          "an aborted upload left no object")


def t_copy_and_delete_many():
    s3.put_object(Bucket="dify", Key="cp/src", Body=b"copy me", ContentType="text/x-src",
                  Metadata={"a": "1"})
    s3.copy_object(Bucket="dify", Key="cp/dst/1", CopySource={"Bucket": "dify", "Key": "cp/src"})
    o = s3.get_object(Bucket="dify", Key="cp/dst/1")
    check(o["Body"].read() == b"copy me" and o["Metadata"] == {"a": "1"} and
          o["ContentType"] == "text/x-src", "CopyObject copies data and metadata")
    s3.copy_object(Bucket="dify", Key="cp/dst/2", CopySource="dify/cp/src",
                   MetadataDirective="REPLACE", Metadata={"b": "2"}, ContentType="text/x-new")
    h = s3.head_object(Bucket="dify", Key="cp/dst/2")
    check(h["Metadata"] == {"b": "2"} and h["ContentType"] == "text/x-new", "REPLACE directive")
    check(code_of(s3.copy_object, Bucket="dify", Key="cp/src",
                  CopySource="dify/cp/src")[0] == "InvalidRequest", "copy onto itself unchanged")
    s3.copy_object(Bucket="dify", Key="cp/src", CopySource="dify/cp/src",
                   MetadataDirective="REPLACE", Metadata={"c": "3"})
    h = s3.head_object(Bucket="dify", Key="cp/src")
    check(h["Metadata"] == {"c": "3"} and h["ETag"] == '"%s"' % md5(b"copy me"),
          "REPLACE onto itself changes only the metadata")
    check(code_of(s3.copy_object, Bucket="dify", Key="cp/x", CopySource="dify/cp/none")[0] ==
          "NoSuchKey", "copy from a missing key")
    r = s3.delete_objects(Bucket="dify", Delete={"Objects": [
        {"Key": "cp/src"}, {"Key": "cp/dst/1"}, {"Key": "cp/dst/2"}, {"Key": "cp/never"}]})
    check(sorted(d["Key"] for d in r["Deleted"]) ==
          ["cp/dst/1", "cp/dst/2", "cp/never", "cp/src"], "DeleteObjects reports each key")
    check("Contents" not in s3.list_objects_v2(Bucket="dify", Prefix="cp"),
          "nothing left under cp/")
    check("CommonPrefixes" not in s3.list_objects_v2(Bucket="dify", Prefix="cp", Delimiter="/"),
          "directories S3 made are removed once empty")
    r = s3.delete_objects(Bucket="dify", Delete={"Objects": [{"Key": "a/../b"}], "Quiet": True})
    check(len(r.get("Errors", [])) == 1 and "Deleted" not in r, "quiet mode reports only errors")


TESTS = [t_health, t_buckets, t_objects, t_bad_keys, t_ranges_and_conditions, t_listing,
         t_presigned, t_denials, t_checksums, t_multipart, t_copy_and_delete_many]

if __name__ == "__main__":
    only = sys.argv[1:]
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
    print("s3_boto3: all passed")
