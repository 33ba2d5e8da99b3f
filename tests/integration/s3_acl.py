#!/usr/bin/env python3
"""Canned ACLs over S3: private and public-read on buckets and objects,
checked with unsigned (anonymous) raw-HTTP requests; GetBucketAcl and
GetObjectAcl; PutBucketAcl/PutObjectAcl with x-amz-acl or an
AccessControlPolicy; x-amz-acl on PutObject, CopyObject and multipart;
everything else refused with NotImplemented and nothing changed; the mark
seen through the mount as user.s3.acl.

    s3_acl.py          every check (leaves bucket "pub" public-read, with the
                       public object pub/open.txt, for the restart check)
    s3_acl.py after    after a restart: still public, still private

Environment: S3_ENDPOINT, S3_AK/S3_SK (rw), S3_RO_AK/S3_RO_SK (ro), TFS_MNT.
"""
import http.client
import os
import sys
import urllib.parse

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

EP, AK, SK, MNT = (os.environ[k] for k in ("S3_ENDPOINT", "S3_AK", "S3_SK", "TFS_MNT"))
HOSTPORT = urllib.parse.urlparse(EP).netloc
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


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
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    return None, 200


def anon(method, path, body=None):
    conn = http.client.HTTPConnection(HOSTPORT, timeout=30)
    conn.request(method, path, body=body)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data


def public_grant(acl):
    return any(g["Grantee"].get("URI") == ALL_USERS and g["Permission"] == "READ"
               for g in acl["Grants"])


def owner_full(acl):
    return any(g["Grantee"].get("Type") == "CanonicalUser" and g["Permission"] == "FULL_CONTROL"
               for g in acl["Grants"])


def xattr(path):
    try:
        return os.getxattr(os.path.join(MNT, path), "user.s3.acl").decode()
    except OSError:
        return None


def t_bucket():
    s3.create_bucket(Bucket="pub", ACL="public-read")
    s3.create_bucket(Bucket="priv")
    a = s3.get_bucket_acl(Bucket="pub")
    check(public_grant(a) and owner_full(a), "a public-read bucket's ACL: %r" % a["Grants"])
    a = s3.get_bucket_acl(Bucket="priv")
    check(not public_grant(a) and owner_full(a) and len(a["Grants"]) == 1,
          "a private bucket's ACL is the owner's FULL_CONTROL only: %r" % a["Grants"])
    check(xattr("pub") == "public-read" and xattr("priv") is None,
          "the mount shows user.s3.acl on the public bucket only")
    s3.put_object(Bucket="pub", Key="closed.txt", Body=b"not for you")
    st, body = anon("GET", "/pub")
    check(st == 200 and b"<Key>closed.txt</Key>" in body,
          "anyone may list a public-read bucket (%d %r)" % (st, body[:200]))
    check(anon("HEAD", "/pub")[0] == 200, "anyone may HEAD a public-read bucket")
    check(anon("GET", "/priv")[0] == 403, "a private bucket is not listed anonymously")
    st, body = anon("GET", "/pub/closed.txt")
    check(st == 403 and b"AccessDenied" in body,
          "a private object in a public bucket is not readable anonymously (%d)" % st)
    check(anon("PUT", "/pub/anon.txt", b"x")[0] == 403 and
          err(s3.head_object, Bucket="pub", Key="anon.txt")[1] == 404,
          "public-read does not let anyone write")
    check(anon("GET", "/pub?acl")[0] == 403, "nor read the ACL")
    s3.put_bucket_acl(Bucket="priv", ACL="public-read")
    check(anon("GET", "/priv")[0] == 200, "PutBucketAcl public-read opens the listing")
    s3.put_bucket_acl(Bucket="priv", ACL="private")
    check(anon("GET", "/priv")[0] == 403, "PutBucketAcl private closes it again")
    print("ok bucket ACLs: public-read lists anonymously, private does not")


def t_object():
    s3.put_object(Bucket="priv", Key="open.txt", Body=b"for everyone", ACL="public-read")
    st, body = anon("GET", "/priv/open.txt")
    check(st == 200 and body == b"for everyone",
          "a public-read object reads anonymously in a private bucket (%d %r)" % (st, body))
    check(anon("HEAD", "/priv/open.txt")[0] == 200, "and answers HEAD")
    check(public_grant(s3.get_object_acl(Bucket="priv", Key="open.txt")),
          "GetObjectAcl shows AllUsers READ")
    check(xattr("priv/open.txt") == "public-read", "the mount shows user.s3.acl on the file")
    s3.put_object_acl(Bucket="priv", Key="open.txt", ACL="private")
    check(anon("GET", "/priv/open.txt")[0] == 403, "PutObjectAcl private closes it")
    check(xattr("priv/open.txt") is None, "and removes the xattr")
    owner = s3.get_object_acl(Bucket="priv", Key="open.txt")["Owner"]
    policy = {"Owner": owner, "Grants": [
        {"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]}, "Permission": "FULL_CONTROL"},
        {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"}]}
    s3.put_object_acl(Bucket="priv", Key="open.txt", AccessControlPolicy=policy)
    check(anon("GET", "/priv/open.txt")[0] == 200,
          "an AccessControlPolicy with AllUsers READ is public-read")
    # An overwrite without x-amz-acl is private again, as on S3.
    s3.put_object(Bucket="priv", Key="open.txt", Body=b"v2")
    check(anon("GET", "/priv/open.txt")[0] == 403, "an overwrite without x-amz-acl is private")
    s3.put_object(Bucket="priv", Key="bofc", Body=b"b", ACL="bucket-owner-full-control")
    check(anon("GET", "/priv/bofc")[0] == 403, "bucket-owner-full-control is private here")
    # A directory marker takes an ACL too.
    s3.put_object(Bucket="priv", Key="folder/", Body=b"", ACL="public-read")
    check(anon("HEAD", "/priv/folder/")[0] == 200, "a public-read directory marker")
    print("ok object ACLs: canned, AccessControlPolicy, overwrite, markers")


def t_copy_and_multipart():
    s3.put_object(Bucket="priv", Key="src", Body=b"source", ACL="public-read")
    s3.copy_object(Bucket="priv", Key="c-private", CopySource={"Bucket": "priv", "Key": "src"})
    check(anon("GET", "/priv/c-private")[0] == 403,
          "a copy without x-amz-acl is private (ACLs are not copied, as on S3)")
    s3.copy_object(Bucket="priv", Key="c-public", CopySource={"Bucket": "priv", "Key": "src"},
                   ACL="public-read")
    check(anon("GET", "/priv/c-public") == (200, b"source"), "a copy with public-read")
    u = s3.create_multipart_upload(Bucket="priv", Key="mpu", ACL="public-read")["UploadId"]
    p = s3.upload_part(Bucket="priv", Key="mpu", UploadId=u, PartNumber=1, Body=b"m" * 100)
    s3.complete_multipart_upload(Bucket="priv", Key="mpu", UploadId=u, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": p["ETag"]}]})
    check(anon("GET", "/priv/mpu") == (200, b"m" * 100), "a public-read multipart upload")
    print("ok x-amz-acl on CopyObject and CreateMultipartUpload")


def t_refused():
    s3.put_object(Bucket="priv", Key="keep", Body=b"k")
    for acl in ["public-read-write", "authenticated-read", "aws-exec-read",
                "log-delivery-write"]:
        got = err(s3.put_object, Bucket="priv", Key="new-" + acl, Body=b"x", ACL=acl)
        check(got == ("NotImplemented", 501), "PutObject with ACL %s: %r" % (acl, got))
        check(err(s3.head_object, Bucket="priv", Key="new-" + acl)[1] == 404,
              "the refused PutObject (%s) wrote nothing" % acl)
        got = err(s3.put_object_acl, Bucket="priv", Key="keep", ACL=acl)
        check(got == ("NotImplemented", 501), "PutObjectAcl %s: %r" % (acl, got))
        got = err(s3.create_bucket, Bucket="nb-" + acl.replace("-", ""), ACL=acl)
        check(got == ("NotImplemented", 501), "CreateBucket with ACL %s: %r" % (acl, got))
        check(err(s3.head_bucket, Bucket="nb-" + acl.replace("-", ""))[1] == 404,
              "the refused CreateBucket made nothing")
    owner = s3.get_object_acl(Bucket="priv", Key="keep")["Owner"]
    other = {"Owner": owner, "Grants": [
        {"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]}, "Permission": "FULL_CONTROL"},
        {"Grantee": {"Type": "CanonicalUser", "ID": "someone-else"}, "Permission": "READ"}]}
    check(err(s3.put_object_acl, Bucket="priv", Key="keep", AccessControlPolicy=other) ==
          ("NotImplemented", 501), "a grant to another user is refused")
    write = {"Owner": owner, "Grants": [
        {"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]}, "Permission": "FULL_CONTROL"},
        {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "WRITE"}]}
    check(err(s3.put_object_acl, Bucket="priv", Key="keep", AccessControlPolicy=write) ==
          ("NotImplemented", 501), "AllUsers WRITE is refused")
    check(anon("GET", "/priv/keep")[0] == 403, "and the object stayed private")
    check(err(ro.put_object_acl, Bucket="priv", Key="keep", ACL="public-read") ==
          ("AccessDenied", 403), "a read-only key cannot change an ACL")
    check(err(s3.put_object_acl, Bucket="priv", Key="nosuch", ACL="public-read") ==
          ("NoSuchKey", 404), "PutObjectAcl of a missing key")
    print("ok other ACLs and grants refused with NotImplemented, nothing changed")


def t_after_restart():
    check(anon("GET", "/pub")[0] == 200, "the public bucket is still listed after a restart")
    check(anon("GET", "/priv/c-public") == (200, b"source"),
          "the public object still reads after a restart")
    check(anon("GET", "/priv/c-private")[0] == 403, "the private one is still private")
    print("ok ACLs survive a restart")


if sys.argv[1:] == ["after"]:
    t_after_restart()
else:
    t_bucket()
    t_object()
    t_copy_and_multipart()
    t_refused()
