#!/usr/bin/env python3
"""The smaller S3 gaps of issue 11, each driven by boto3 (Debian's
python3-boto3) or raw HTTP where boto3 cannot send the request: multipart
uploads die with their bucket, bucket names follow AWS's rules, ListBuckets
pages, the bucket configurations we do not keep answer their own 404s,
expired presigned URLs are 403, re-creating an owned bucket is 200 in
us-east-1, ListObjects encodes only when asked and V2 shows Owner only with
FetchOwner, completing a completed upload again is idempotent,
Content-Encoding and UTF-8 metadata read back exactly as sent.

Environment: as s3_boto3.py (S3_ENDPOINT, S3_AK/S3_SK). Exits non-zero on
the first failure, naming it.
"""
import hashlib
import http.client
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

EP = os.environ["S3_ENDPOINT"]
AK, SK = os.environ["S3_AK"], os.environ["S3_SK"]
HOSTPORT = urllib.parse.urlparse(EP).netloc
REGION = os.environ.get("S3_REGION", "us-east-1")  # as given to trackfs-s3 --region


def client(**cfg):
    return boto3.client(
        "s3", endpoint_url=EP, aws_access_key_id=AK, aws_secret_access_key=SK,
        region_name=REGION,
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


def raw(method, path, body=None, headers=None, unsigned=None):
    """A request signed by botocore and sent as is through http.client; the
    query is sent in SigV4's canonical encoding. @p unsigned headers are added
    after signing (botocore cannot sign raw non-ASCII bytes)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    if "?" in path:
        p, q = path.split("?", 1)
        q = "&".join(urllib.parse.quote(urllib.parse.unquote(k), safe="-_.~") +
                     ("=" + urllib.parse.quote(urllib.parse.unquote(v), safe="-_.~")
                      if sep else "")
                     for k, sep, v in (x.partition("=") for x in q.split("&")))
        path = p + "?" + q
    url = EP + path
    req = AWSRequest(method=method, url=url, data=body or b"", headers=dict(headers or {}))
    req.headers["x-amz-content-sha256"] = hashlib.sha256(body or b"").hexdigest()
    SigV4Auth(Credentials(AK, SK), "s3", REGION).add_auth(req)
    hdrs = dict(req.headers.items())
    hdrs.update(unsigned or {})
    conn = http.client.HTTPConnection(HOSTPORT, timeout=30)
    conn.request(method, path, body=body, headers=hdrs)
    r = conn.getresponse()
    data = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    conn.close()
    return r.status, hdrs, data


def t_bucket_delete_drops_uploads():
    s3.create_bucket(Bucket="mpugone")
    s3.create_bucket(Bucket="mpukept")
    kept = s3.create_multipart_upload(Bucket="mpukept", Key="big")["UploadId"]
    up = s3.create_multipart_upload(Bucket="mpugone", Key="big")["UploadId"]
    s3.upload_part(Bucket="mpugone", Key="big", UploadId=up, PartNumber=1, Body=b"p" * 100)
    ups = s3.list_multipart_uploads(Bucket="mpugone").get("Uploads", [])
    check([u["UploadId"] for u in ups] == [up], "the upload is listed before the delete")
    s3.delete_bucket(Bucket="mpugone")
    s3.create_bucket(Bucket="mpugone")
    ups = s3.list_multipart_uploads(Bucket="mpugone").get("Uploads", [])
    check(ups == [], "uploads of a deleted bucket do not reappear when it is re-created (%r)" %
          ups)
    check(code_of(s3.list_parts, Bucket="mpugone", Key="big", UploadId=up)[0] == "NoSuchUpload",
          "the deleted bucket's upload is gone (ListParts says NoSuchUpload)")
    s3.delete_bucket(Bucket="mpugone")
    ups = s3.list_multipart_uploads(Bucket="mpukept").get("Uploads", [])
    check([u["UploadId"] for u in ups] == [kept], "another bucket's upload is kept (%r)" % ups)
    s3.abort_multipart_upload(Bucket="mpukept", Key="big", UploadId=kept)
    s3.delete_bucket(Bucket="mpukept")


def t_bucket_names():
    for bad in ["foo-.bar", "foo.-bar", "ab", "a" * 64, "Foo", "foo_bar", "foo..bar", "-foo",
                "foo-", ".foo", "foo.", "192.168.5.4", "xn--foo", "sthree-foo",
                "foo-s3alias", "foo--ol-s3", "sthree-configurator"]:
        st, _, body = raw("PUT", "/" + urllib.parse.quote(bad))
        check(st == 400 and b"<Code>InvalidBucketName</Code>" in body,
              "bucket name %r is refused with InvalidBucketName (%d %r)" % (bad, st, body[:200]))
        check(code_of(s3.head_bucket, Bucket=bad.replace(" ", "x"))[1] in (400, 404),
              "refused bucket %r was not created" % bad)
    for good in ["abc", "a" * 63, "foo.bar-baz", "1foo", "foo1", "my.bucket.1"]:
        s3.create_bucket(Bucket=good)
        s3.delete_bucket(Bucket=good)


def t_list_buckets_paging():
    names = ["page-%02d" % i for i in range(5)]
    for n in names:
        s3.create_bucket(Bucket=n)
    st, _, body = raw("GET", "/?max-buckets=2&prefix=page-")
    check(st == 200, "ListBuckets with max-buckets answers 200 (%d %r)" % (st, body[:200]))
    check(body.count(b"<Bucket>") == 2, "max-buckets=2 lists 2 buckets (%r)" % body)
    check(b"<ContinuationToken>" in body, "a cut listing carries a ContinuationToken")
    tok = body.split(b"<ContinuationToken>")[1].split(b"</ContinuationToken>")[0].decode()
    seen = [n for n in names if ("<Name>%s</Name>" % n).encode() in body]
    check(seen == names[:2], "the first page is the first two names (%r)" % seen)
    st, _, body = raw("GET", "/?max-buckets=10&prefix=page-&continuation-token=" +
                      urllib.parse.quote(tok, safe=""))
    seen = [n for n in names if ("<Name>%s</Name>" % n).encode() in body]
    check(st == 200 and seen == names[2:], "the second page is the rest (%r)" % seen)
    check(b"<ContinuationToken>" not in body, "the last page has no ContinuationToken")
    check(b"<Prefix>page-</Prefix>" in body, "the listing names its prefix")
    st, _, body = raw("GET", "/?prefix=page-0")
    check(body.count(b"<Bucket>") == 5, "prefix selects the buckets (%r)" % body)
    for bad in ["0", "10001", "x"]:
        st, _, body = raw("GET", "/?max-buckets=" + bad)
        check(st == 400 and b"InvalidArgument" in body, "max-buckets=%s is refused (%d)" %
              (bad, st))
    for n in names:
        s3.delete_bucket(Bucket=n)


def t_bucket_config_404():
    s3.create_bucket(Bucket="cfg")
    for fn, code in [(s3.get_bucket_policy, "NoSuchBucketPolicy"),
                     (s3.get_bucket_cors, "NoSuchCORSConfiguration"),
                     (s3.get_bucket_tagging, "NoSuchTagSet"),
                     (s3.get_bucket_lifecycle_configuration, "NoSuchLifecycleConfiguration"),
                     (s3.get_bucket_encryption,
                      "ServerSideEncryptionConfigurationNotFoundError")]:
        got = code_of(fn, Bucket="cfg")
        check(got == (code, 404), "%s answers %s 404 (got %r)" % (fn.__name__, code, got))
        got = code_of(fn, Bucket="nosuchbucket-cfg")
        check(got == ("NoSuchBucket", 404), "%s of a missing bucket is NoSuchBucket (%r)" %
              (fn.__name__, got))
    check(code_of(s3.put_bucket_policy, Bucket="cfg", Policy="{}")[1] == 501,
          "PutBucketPolicy stays NotImplemented")
    s3.delete_bucket(Bucket="cfg")


def t_presigned_expired():
    s3.create_bucket(Bucket="presx")
    s3.put_object(Bucket="presx", Key="k", Body=b"old")
    put = s3.generate_presigned_url("put_object", Params={"Bucket": "presx", "Key": "k"},
                                    ExpiresIn=1)
    get = s3.generate_presigned_url("get_object", Params={"Bucket": "presx", "Key": "k"},
                                    ExpiresIn=1)
    time.sleep(2.1)
    for url, data, method in [(put, b"new body", "PUT"), (get, None, "GET")]:
        try:
            urllib.request.urlopen(urllib.request.Request(url, data=data, method=method))
            check(False, "an expired presigned %s is refused" % method)
        except urllib.error.HTTPError as e:
            body = e.read()
            check(e.code == 403 and b"<Code>AccessDenied</Code>" in body and
                  b"Request has expired" in body,
                  "an expired presigned %s is 403 AccessDenied, Request has expired (%d %r)" %
                  (method, e.code, body[:300]))
    check(s3.get_object(Bucket="presx", Key="k")["Body"].read() == b"old",
          "the expired PUT wrote nothing")
    s3.delete_object(Bucket="presx", Key="k")
    s3.delete_bucket(Bucket="presx")


def t_recreate_owned():
    s3.create_bucket(Bucket="mine")
    s3.put_object(Bucket="mine", Key="k", Body=b"kept")
    st, _, body = raw("PUT", "/mine")
    if REGION == "us-east-1":
        check(st == 200, "re-creating an owned bucket in us-east-1 answers 200 (%d %r)" %
              (st, body[:200]))
        s3.create_bucket(Bucket="mine")
    else:
        check(st == 409 and b"<Code>BucketAlreadyOwnedByYou</Code>" in body,
              "re-creating an owned bucket in %s is BucketAlreadyOwnedByYou (%d %r)" %
              (REGION, st, body[:200]))
    check(s3.get_object(Bucket="mine", Key="k")["Body"].read() == b"kept",
          "re-creating leaves the bucket's objects")
    s3.delete_object(Bucket="mine", Key="k")
    s3.delete_bucket(Bucket="mine")


def t_list_encoding_owner():
    s3.create_bucket(Bucket="enc")
    s3.put_object(Bucket="enc", Key="dé/a b+c.txt", Body=b"1")
    s3.put_object(Bucket="enc", Key="dé/x/y", Body=b"2")
    # boto3 always asks for encoding-type=url and decodes: use raw HTTP.
    st, _, body = raw("GET", "/enc?prefix=" + urllib.parse.quote("dé/") + "&delimiter=/")
    check(st == 200, "ListObjects v1 answers 200")
    check("<Prefix>dé/</Prefix>".encode() in body,
          "v1 without encoding-type returns the prefix as sent (%r)" % body)
    check("<Key>dé/a b+c.txt</Key>".encode() in body, "v1 keys are not encoded (%r)" % body)
    check("<CommonPrefixes><Prefix>dé/x/</Prefix>".encode() in body,
          "v1 common prefixes are not encoded (%r)" % body)
    check(b"<EncodingType>" not in body, "no EncodingType without encoding-type")
    st, _, body = raw("GET", "/enc?prefix=" + urllib.parse.quote("dé/") +
                      "&delimiter=/&encoding-type=url&marker=" + urllib.parse.quote("dé/a"))
    # AWS leaves V1's Prefix as sent (boto3, which always asks for url, does not
    # decode it); keys, markers and the delimiter are encoded.
    check("<Prefix>dé/</Prefix>".encode() in body,
          "v1 with encoding-type=url returns the prefix as sent (%r)" % body)
    check(b"<Key>d%C3%A9/a+b%2Bc.txt</Key>" in body or b"<Key>d%C3%A9/a%20b%2Bc.txt</Key>" in body,
          "v1 with encoding-type=url encodes keys (%r)" % body)
    check(b"<Marker>d%C3%A9/a</Marker>" in body, "v1 encodes the marker (%r)" % body)
    check(b"<Delimiter>/</Delimiter>" in body or b"<Delimiter>%2F</Delimiter>" in body,
          "v1 returns the delimiter")
    check(b"<EncodingType>url</EncodingType>" in body, "v1 names the encoding")
    r = s3.list_objects(Bucket="enc", Prefix="dé/")
    check(r["Prefix"] == "dé/" and [o["Key"] for o in r["Contents"]] == ["dé/a b+c.txt", "dé/x/y"],
          "boto3's list_objects round-trips a UTF-8 prefix and keys")
    check("Owner" in r["Contents"][0], "v1 returns Owner")
    r = s3.list_objects_v2(Bucket="enc")
    check(all("Owner" not in o for o in r["Contents"]), "v2 has no Owner without FetchOwner")
    r = s3.list_objects_v2(Bucket="enc", FetchOwner=False)
    check(all("Owner" not in o for o in r["Contents"]), "v2 has no Owner with FetchOwner=False")
    r = s3.list_objects_v2(Bucket="enc", FetchOwner=True)
    check(all("Owner" in o and o["Owner"].get("ID") for o in r["Contents"]),
          "v2 has Owner with FetchOwner")
    for k in ["dé/a b+c.txt", "dé/x/y"]:
        s3.delete_object(Bucket="enc", Key=k)
    s3.delete_bucket(Bucket="enc")


def t_complete_twice():
    s3.create_bucket(Bucket="mpu2")
    up = s3.create_multipart_upload(Bucket="mpu2", Key="obj")["UploadId"]
    p1 = s3.upload_part(Bucket="mpu2", Key="obj", UploadId=up, PartNumber=1,
                        Body=b"a" * (5 << 20))["ETag"]
    p2 = s3.upload_part(Bucket="mpu2", Key="obj", UploadId=up, PartNumber=2, Body=b"tail")["ETag"]
    parts = {"Parts": [{"PartNumber": 1, "ETag": p1}, {"PartNumber": 2, "ETag": p2}]}
    r1 = s3.complete_multipart_upload(Bucket="mpu2", Key="obj", UploadId=up,
                                      MultipartUpload=parts)
    r2 = s3.complete_multipart_upload(Bucket="mpu2", Key="obj", UploadId=up,
                                      MultipartUpload=parts)
    check(r1["ETag"] == r2["ETag"] and r1["ETag"].endswith('-2"'),
          "completing a completed upload again answers the same ETag (%r %r)" %
          (r1["ETag"], r2["ETag"]))
    check(s3.head_object(Bucket="mpu2", Key="obj")["ContentLength"] == (5 << 20) + 4,
          "the object is unchanged by the second completion")
    check(code_of(s3.complete_multipart_upload, Bucket="mpu2", Key="other", UploadId=up,
                  MultipartUpload=parts)[0] == "NoSuchUpload",
          "the completed upload id does not complete another key")
    check(code_of(s3.list_parts, Bucket="mpu2", Key="obj", UploadId=up)[0] == "NoSuchUpload",
          "a completed upload is not listable any more")
    s3.put_object(Bucket="mpu2", Key="obj", Body=b"replaced")
    check(code_of(s3.complete_multipart_upload, Bucket="mpu2", Key="obj", UploadId=up,
                  MultipartUpload=parts)[0] == "NoSuchUpload",
          "once the object changed, completing the old upload again is NoSuchUpload")
    s3.delete_object(Bucket="mpu2", Key="obj")
    s3.delete_bucket(Bucket="mpu2")


def t_content_encoding():
    s3.create_bucket(Bucket="cenc")
    for sent in ["gzip", "deflate,gzip", "deflate, gzip", "GZip", "br"]:
        s3.put_object(Bucket="cenc", Key="k", Body=b"x", ContentEncoding=sent)
        got = s3.head_object(Bucket="cenc", Key="k").get("ContentEncoding")
        check(got == sent, "Content-Encoding %r reads back as sent (got %r)" % (sent, got))
        got = s3.get_object(Bucket="cenc", Key="k").get("ContentEncoding")
        check(got == sent, "GET returns Content-Encoding %r as sent (got %r)" % (sent, got))
    for sent, want in [("aws-chunked", None), ("aws-chunked,gzip", "gzip"),
                       ("gzip, aws-chunked", "gzip")]:
        st, _, body = raw("PUT", "/cenc/k", body=b"x", headers={"Content-Encoding": sent})
        check(st == 200, "PUT with Content-Encoding %r (%d %r)" % (sent, st, body[:200]))
        got = s3.head_object(Bucket="cenc", Key="k").get("ContentEncoding")
        check(got == want, "aws-chunked is stripped from %r (got %r)" % (sent, got))
    s3.delete_object(Bucket="cenc", Key="k")
    s3.delete_bucket(Bucket="cenc")


def t_utf8_metadata():
    s3.create_bucket(Bucket="meta")
    # Raw UTF-8 bytes in the header value (what many clients send).
    val = "Grüße, 東京 ☃"
    st, _, body = raw("PUT", "/meta/raw", body=b"1",
                      unsigned={"x-amz-meta-title": val.encode("utf-8").decode("latin-1")})
    check(st == 200, "PUT with raw UTF-8 metadata (%d %r)" % (st, body[:200]))
    st, hdrs, _ = raw("HEAD", "/meta/raw")
    got = hdrs.get("x-amz-meta-title", "").encode("latin-1").decode("utf-8", "replace")
    check(got == val, "raw UTF-8 metadata reads back byte-exact (%r)" % got)
    # RFC 2047, as the AWS SDKs and boto3 users send non-ASCII values.
    enc = "=?UTF-8?B?R3LDvMOfZSwg5p2x5LqsIOKYgw==?="
    s3.put_object(Bucket="meta", Key="mime", Body=b"1", Metadata={"title": enc})
    got = s3.head_object(Bucket="meta", Key="mime")["Metadata"].get("title")
    check(got == enc, "RFC 2047 metadata reads back as sent (%r)" % got)
    # A copy keeps it too.
    s3.copy_object(Bucket="meta", Key="copy", CopySource={"Bucket": "meta", "Key": "raw"})
    st, hdrs, _ = raw("HEAD", "/meta/copy")
    got = hdrs.get("x-amz-meta-title", "").encode("latin-1").decode("utf-8", "replace")
    check(got == val, "copied UTF-8 metadata reads back byte-exact (%r)" % got)
    # Metadata replaced by a copy, and given to a multipart upload.
    st, _, body = raw("PUT", "/meta/repl", headers={"x-amz-copy-source": "/meta/mime",
                                                    "x-amz-metadata-directive": "REPLACE"},
                      unsigned={"x-amz-meta-title": val.encode("utf-8").decode("latin-1")})
    check(st == 200, "copy with REPLACE and raw UTF-8 metadata (%d %r)" % (st, body[:200]))
    st, hdrs, _ = raw("HEAD", "/meta/repl")
    got = hdrs.get("x-amz-meta-title", "").encode("latin-1").decode("utf-8", "replace")
    check(got == val, "UTF-8 metadata given with a copy reads back byte-exact (%r)" % got)
    st, _, body = raw("POST", "/meta/mpu?uploads",
                      unsigned={"x-amz-meta-title": val.encode("utf-8").decode("latin-1")})
    check(st == 200, "CreateMultipartUpload with raw UTF-8 metadata (%d %r)" % (st, body[:200]))
    up = body.split(b"<UploadId>")[1].split(b"</UploadId>")[0].decode()
    etag = s3.upload_part(Bucket="meta", Key="mpu", UploadId=up, PartNumber=1, Body=b"x")["ETag"]
    s3.complete_multipart_upload(Bucket="meta", Key="mpu", UploadId=up,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    st, hdrs, _ = raw("HEAD", "/meta/mpu")
    got = hdrs.get("x-amz-meta-title", "").encode("latin-1").decode("utf-8", "replace")
    check(got == val, "UTF-8 metadata of a multipart upload reads back byte-exact (%r)" % got)
    for k in ["raw", "mime", "copy", "repl", "mpu"]:
        s3.delete_object(Bucket="meta", Key=k)
    s3.delete_bucket(Bucket="meta")


TESTS = [t_bucket_delete_drops_uploads, t_bucket_names, t_list_buckets_paging,
         t_bucket_config_404, t_presigned_expired, t_recreate_owned, t_list_encoding_owner,
         t_complete_twice, t_content_encoding, t_utf8_metadata]


def main():
    only = sys.argv[1:]
    failed = 0
    for t in TESTS:
        if only and t.__name__ not in only:
            continue
        try:
            t()
            print("ok   %s" % t.__name__)
        except Exception as e:  # report every test, then fail
            failed += 1
            print("FAIL %s: %s: %s" % (t.__name__, type(e).__name__, e))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
