#!/usr/bin/env python3
"""Object and bucket tagging over S3, seen through the mount as the xattr
user.s3.tagging: x-amz-tagging on PutObject, CopyObject (COPY and REPLACE)
and CreateMultipartUpload; Put/Get/DeleteObjectTagging and
Put/Get/DeleteBucketTagging; the tag count on GET/HEAD; S3's limits refused
with the error AWS gives and nothing written; a tag set changed through the
mount read back over S3.

Environment: S3_ENDPOINT, S3_AK/S3_SK (rw), S3_RO_AK/S3_RO_SK (ro), TFS_MNT.
Exits non-zero on the first failure, naming it.
"""
import os
import urllib.parse

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

EP, AK, SK, MNT = (os.environ[k] for k in ("S3_ENDPOINT", "S3_AK", "S3_SK", "TFS_MNT"))
X = "user.s3.tagging"
B = "tags"


def client(ak=AK, sk=SK):
    return boto3.client(
        "s3", endpoint_url=EP, aws_access_key_id=ak, aws_secret_access_key=sk,
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      retries={"max_attempts": 1}))


s3 = client()
ro = client(os.environ["S3_RO_AK"], os.environ["S3_RO_SK"])


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def err(fn, *a, **kw):
    try:
        fn(*a, **kw)
    except ClientError as e:
        return (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"],
                e.response["Error"].get("Message", ""))
    return (None, 200, "")


def tags(key):
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=B, Key=key)["TagSet"]}


def xattr(path):
    try:
        return os.getxattr(os.path.join(MNT, path), X).decode()
    except OSError:
        return None


def tagset(d):
    return {"TagSet": [{"Key": k, "Value": v} for k, v in d.items()]}


def exists(key):
    return err(s3.head_object, Bucket=B, Key=key)[0] is None


def t_put_with_tags():
    s3.put_object(Bucket=B, Key="a/obj", Body=b"tagged", Tagging="colour=blue&size=two%20words")
    check(tags("a/obj") == {"colour": "blue", "size": "two words"},
          "GetObjectTagging after PutObject with x-amz-tagging: %r" % tags("a/obj"))
    check(s3.get_object(Bucket=B, Key="a/obj")["TagCount"] == 2, "GET answers x-amz-tagging-count 2")
    h = s3.head_object(Bucket=B, Key="a/obj")["ResponseMetadata"]["HTTPHeaders"]
    check(h.get("x-amz-tagging-count") == "2", "HEAD answers x-amz-tagging-count 2: %r" % h)
    x = xattr(B + "/a/obj")
    check(x is not None and dict(urllib.parse.parse_qsl(x)) == {"colour": "blue",
                                                              "size": "two words"},
          "the mount shows the tags in %s: %r" % (X, x))
    # A PUT replaces the object, tags and all.
    s3.put_object(Bucket=B, Key="a/obj", Body=b"again")
    check(tags("a/obj") == {} and xattr(B + "/a/obj") is None,
          "an overwrite without x-amz-tagging leaves no tags")
    check("TagCount" not in s3.get_object(Bucket=B, Key="a/obj"), "no tag count without tags")
    print("ok PutObject with x-amz-tagging, the tag count, the xattr in the mount")


def t_object_tagging_calls():
    s3.put_object(Bucket=B, Key="calls", Body=b"x")
    check(tags("calls") == {}, "an object without tags has an empty TagSet")
    uni = {"ключ": "значение", "k:/+-=._@": "v a l"}
    s3.put_object_tagging(Bucket=B, Key="calls", Tagging=tagset(uni))
    check(tags("calls") == uni, "PutObjectTagging round-trips UTF-8 and punctuation: %r" %
          tags("calls"))
    s3.put_object_tagging(Bucket=B, Key="calls", Tagging=tagset({"only": ""}))
    check(tags("calls") == {"only": ""}, "PutObjectTagging replaces the whole set")
    r = s3.delete_object_tagging(Bucket=B, Key="calls")
    check(r["ResponseMetadata"]["HTTPStatusCode"] == 204, "DeleteObjectTagging answers 204")
    check(tags("calls") == {} and xattr(B + "/calls") is None, "DeleteObjectTagging removes them")
    check(s3.get_object(Bucket=B, Key="calls")["Body"].read() == b"x", "the data is untouched")
    check(err(s3.get_object_tagging, Bucket=B, Key="nosuch")[:2] == ("NoSuchKey", 404),
          "GetObjectTagging of a missing key is NoSuchKey")
    check(err(s3.put_object_tagging, Bucket=B, Key="nosuch", Tagging=tagset({"a": "b"}))[:2] ==
          ("NoSuchKey", 404), "PutObjectTagging of a missing key is NoSuchKey")
    check(err(ro.put_object_tagging, Bucket=B, Key="calls", Tagging=tagset({"a": "b"}))[:2] ==
          ("AccessDenied", 403), "a read-only key cannot tag")
    check(ro.get_object_tagging(Bucket=B, Key="calls")["TagSet"] == [],
          "a read-only key reads tags")
    # A directory marker takes tags like an object.
    s3.put_object(Bucket=B, Key="dir/", Body=b"", Tagging="kind=folder")
    check({t["Key"]: t["Value"] for t in
           s3.get_object_tagging(Bucket=B, Key="dir/")["TagSet"]} == {"kind": "folder"},
          "a directory marker keeps its tags")
    check(xattr(B + "/dir") == "kind=folder", "the directory carries them in the mount")
    print("ok Put/Get/DeleteObjectTagging, markers, permissions")


def t_limits():
    eleven = "&".join("k%d=v" % i for i in range(11))
    cases = [
        ("eleven tags", eleven, ("BadRequest", 400)),
        ("an aws: key", "aws:cloudformation=x", ("InvalidTag", 400)),
        ("a repeated key", "a=1&a=2", ("InvalidTag", 400)),
        ("a 129-character key", "k" * 129 + "=v", ("InvalidTag", 400)),
        ("a 257-character value", "k=" + "v" * 257, ("InvalidTag", 400)),
        ("an empty key", "=v", ("InvalidTag", 400)),
    ]
    for i, (what, q, want) in enumerate(cases):
        got = err(s3.put_object, Bucket=B, Key="lim-%d" % i, Body=b"x", Tagging=q)
        check(got[:2] == want, "PutObject with %s answers %r (got %r)" % (what, want, got))
        check(not exists("lim-%d" % i), "the refused PutObject (%s) wrote nothing" % what)
    check(err(s3.put_object, Bucket=B, Key="ok-128", Body=b"x",
              Tagging="k" * 128 + "=" + "v" * 256)[0] is None, "128/256 characters are allowed")
    s3.put_object(Bucket=B, Key="keep", Body=b"k", Tagging="a=1")
    got = err(s3.put_object_tagging, Bucket=B, Key="keep",
              Tagging=tagset({"k%d" % i: "v" for i in range(11)}))
    check(got[:2] == ("BadRequest", 400) and "10" in got[2],
          "PutObjectTagging of 11 tags is refused, saying the limit: %r" % (got,))
    check(tags("keep") == {"a": "1"}, "a refused PutObjectTagging keeps the old tags")
    print("ok S3's tag limits refused, nothing written")


def t_copy():
    s3.put_object(Bucket=B, Key="src", Body=b"source", Tagging="from=src&n=1",
                  Metadata={"m": "1"})
    s3.copy_object(Bucket=B, Key="c-copy", CopySource={"Bucket": B, "Key": "src"})
    check(tags("c-copy") == {"from": "src", "n": "1"}, "CopyObject copies the tags by default")
    s3.copy_object(Bucket=B, Key="c-repl", CopySource={"Bucket": B, "Key": "src"},
                   TaggingDirective="REPLACE", Tagging="new=yes")
    check(tags("c-repl") == {"new": "yes"}, "TaggingDirective REPLACE takes x-amz-tagging")
    s3.copy_object(Bucket=B, Key="c-none", CopySource={"Bucket": B, "Key": "src"},
                   TaggingDirective="REPLACE")
    check(tags("c-none") == {}, "REPLACE without x-amz-tagging leaves no tags")
    s3.copy_object(Bucket=B, Key="c-meta", CopySource={"Bucket": B, "Key": "src"},
                   MetadataDirective="REPLACE", Metadata={"m": "2"})
    check(tags("c-meta") == {"from": "src", "n": "1"},
          "metadata REPLACE still copies the tags (tagging COPY)")
    # Onto itself: new metadata, tags kept or replaced as the directive says.
    s3.copy_object(Bucket=B, Key="src", CopySource={"Bucket": B, "Key": "src"},
                   MetadataDirective="REPLACE", Metadata={"m": "3"})
    check(tags("src") == {"from": "src", "n": "1"}, "a copy onto itself keeps its tags")
    s3.copy_object(Bucket=B, Key="src", CopySource={"Bucket": B, "Key": "src"},
                   MetadataDirective="REPLACE", Metadata={"m": "4"},
                   TaggingDirective="REPLACE", Tagging="self=1")
    check(tags("src") == {"self": "1"}, "a copy onto itself with REPLACE replaces them")
    got = err(s3.copy_object, Bucket=B, Key="c-bad", CopySource={"Bucket": B, "Key": "src"},
              TaggingDirective="MERGE")
    check(got[:2] == ("InvalidArgument", 400), "an unknown tagging directive: %r" % (got,))
    print("ok CopyObject with the tagging directive COPY and REPLACE")


def t_multipart():
    u = s3.create_multipart_upload(Bucket=B, Key="mpu", Tagging="part=of&whole=1")["UploadId"]
    p = s3.upload_part(Bucket=B, Key="mpu", UploadId=u, PartNumber=1, Body=b"m" * 1024)
    s3.complete_multipart_upload(Bucket=B, Key="mpu", UploadId=u,
                                 MultipartUpload={"Parts": [{"PartNumber": 1,
                                                             "ETag": p["ETag"]}]})
    check(tags("mpu") == {"part": "of", "whole": "1"}, "a multipart upload keeps its tags")
    check(err(s3.create_multipart_upload, Bucket=B, Key="mpu2", Tagging="aws:x=1")[:2] ==
          ("InvalidTag", 400), "CreateMultipartUpload checks x-amz-tagging")
    print("ok CreateMultipartUpload with x-amz-tagging")


def t_bucket():
    check(err(s3.get_bucket_tagging, Bucket=B)[:2] == ("NoSuchTagSet", 404),
          "a bucket without tags answers NoSuchTagSet")
    fifty = {"t%02d" % i: "v%d" % i for i in range(50)}
    r = s3.put_bucket_tagging(Bucket=B, Tagging=tagset(fifty))
    check(r["ResponseMetadata"]["HTTPStatusCode"] == 204, "PutBucketTagging answers 204")
    got = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=B)["TagSet"]}
    check(got == fifty, "GetBucketTagging returns the 50 tags")
    check(xattr(B) is not None and "t49=v49" in xattr(B), "the bucket directory carries them")
    got = err(s3.put_bucket_tagging, Bucket=B,
              Tagging=tagset({"t%02d" % i: "v" for i in range(51)}))
    check(got[:2] == ("InvalidTag", 400), "51 bucket tags are refused: %r" % (got,))
    check(len(s3.get_bucket_tagging(Bucket=B)["TagSet"]) == 50, "and the old set is kept")
    s3.delete_bucket_tagging(Bucket=B)
    check(err(s3.get_bucket_tagging, Bucket=B)[:2] == ("NoSuchTagSet", 404),
          "DeleteBucketTagging removes them")
    check(err(s3.put_bucket_tagging, Bucket="nosuch-tags", Tagging=tagset({"a": "b"}))[:2] ==
          ("NoSuchBucket", 404), "PutBucketTagging of a missing bucket is NoSuchBucket")
    print("ok Put/Get/DeleteBucketTagging, 50 tags at most")


def t_through_mount():
    s3.put_object(Bucket=B, Key="viamount", Body=b"v")
    os.setxattr(os.path.join(MNT, B, "viamount"), X, b"set=by%20mount")
    check(tags("viamount") == {"set": "by mount"}, "a tag set written through the mount reads "
          "back over S3: %r" % tags("viamount"))
    os.setxattr(os.path.join(MNT, B, "viamount"), X, b"bad=%zz")
    got = err(s3.get_object_tagging, Bucket=B, Key="viamount")
    check(got[1] == 500 and X in got[2], "a broken tag set is named, not misread: %r" % (got,))
    check(s3.get_object(Bucket=B, Key="viamount")["Body"].read() == b"v",
          "and the object still reads")
    # A file renamed through the mount keeps its tags.
    s3.put_object_tagging(Bucket=B, Key="viamount", Tagging=tagset({"moved": "yes"}))
    os.rename(os.path.join(MNT, B, "viamount"), os.path.join(MNT, B, "renamed"))
    check(tags("renamed") == {"moved": "yes"}, "a rename through the mount keeps the tags")
    print("ok tag sets written and renamed through the mount")


s3.create_bucket(Bucket=B)
t_put_with_tags()
t_object_tagging_calls()
t_limits()
t_copy()
t_multipart()
t_bucket()
t_through_mount()
