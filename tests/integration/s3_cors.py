#!/usr/bin/env python3
"""CORS on the S3 sidecar: boto3's put/get/delete_bucket_cors, the OPTIONS
preflight over raw HTTP (allowed, denied, missing headers, no config), the
Access-Control-* headers on ordinary responses (and error responses) when
the Origin matches a rule, and validation of the configuration.

    s3_cors.py              every check
    s3_cors.py set BUCKET   put a known configuration on BUCKET (for a restart)
    s3_cors.py check BUCKET the configuration is still there and applies

Environment: as s3_boto3.py (S3_ENDPOINT, S3_AK/S3_SK). Exits non-zero on
the first failure, naming it.
"""
import http.client
import os
import sys
import urllib.parse

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

EP = os.environ["S3_ENDPOINT"]
AK, SK = os.environ["S3_AK"], os.environ["S3_SK"]
HOSTPORT = urllib.parse.urlparse(EP).netloc


def client(ak=AK, sk=SK):
    return boto3.client(
        "s3", endpoint_url=EP, aws_access_key_id=ak, aws_secret_access_key=sk,
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      retries={"max_attempts": 1}))


s3 = client()


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def code_of(fn, *a, **kw):
    try:
        fn(*a, **kw)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    return None, 200


def plain(method, path, headers=None):
    """An unsigned request (as a browser's preflight is)."""
    conn = http.client.HTTPConnection(HOSTPORT, timeout=30)
    conn.request(method, path, headers=headers or {})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


RULES = [
    {"ID": "web", "AllowedOrigins": ["https://app.example.com", "https://*.example.org"],
     "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["x-amz-*", "content-type"],
     "ExposeHeaders": ["ETag", "x-amz-request-id"], "MaxAgeSeconds": 600},
    {"AllowedOrigins": ["*"], "AllowedMethods": ["HEAD"]},
]


def t_put_get_delete():
    b = "cors-crud"
    s3.create_bucket(Bucket=b)
    check(code_of(s3.get_bucket_cors, Bucket=b) == ("NoSuchCORSConfiguration", 404),
          "GetBucketCors before any is set must be NoSuchCORSConfiguration")
    s3.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": RULES})
    got = s3.get_bucket_cors(Bucket=b)["CORSRules"]
    check(len(got) == 2, "two rules back, got %r" % got)
    r0 = got[0]
    check(r0.get("ID") == "web", "rule ID kept: %r" % r0)
    check(r0["AllowedOrigins"] == RULES[0]["AllowedOrigins"], "origins kept: %r" % r0)
    check(r0["AllowedMethods"] == ["GET", "PUT"], "methods kept: %r" % r0)
    check(r0["AllowedHeaders"] == ["x-amz-*", "content-type"], "headers kept: %r" % r0)
    check(r0["ExposeHeaders"] == ["ETag", "x-amz-request-id"], "expose kept: %r" % r0)
    check(r0["MaxAgeSeconds"] == 600, "max age kept: %r" % r0)
    check(got[1]["AllowedOrigins"] == ["*"] and got[1]["AllowedMethods"] == ["HEAD"],
          "second rule kept: %r" % got[1])
    # Replacing replaces.
    s3.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": [RULES[1]]})
    check(len(s3.get_bucket_cors(Bucket=b)["CORSRules"]) == 1, "a PUT replaces the rules")
    r = s3.delete_bucket_cors(Bucket=b)
    check(r["ResponseMetadata"]["HTTPStatusCode"] == 204, "DeleteBucketCors is 204")
    check(code_of(s3.get_bucket_cors, Bucket=b) == ("NoSuchCORSConfiguration", 404),
          "GetBucketCors after delete is NoSuchCORSConfiguration")
    check(code_of(s3.get_bucket_cors, Bucket="cors-nobucket") == ("NoSuchBucket", 404),
          "GetBucketCors of a missing bucket is NoSuchBucket")
    # Read-only keys may not set CORS.
    ro = client(os.environ["S3_RO_AK"], os.environ["S3_RO_SK"])
    check(code_of(ro.put_bucket_cors, Bucket=b,
                  CORSConfiguration={"CORSRules": RULES})[0] == "AccessDenied",
          "a read-only key may not PutBucketCors")
    # Deleting the bucket removes its rules: a new bucket of that name has none.
    s3.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": RULES})
    s3.delete_bucket(Bucket=b)
    s3.create_bucket(Bucket=b)
    check(code_of(s3.get_bucket_cors, Bucket=b) == ("NoSuchCORSConfiguration", 404),
          "a re-made bucket must not inherit the deleted one's CORS rules")
    s3.delete_bucket(Bucket=b)


def t_validation():
    b = "cors-valid"
    s3.create_bucket(Bucket=b)
    bad = [
        ({"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}, "InvalidRequest"),
        ({"AllowedOrigins": ["https://*.*.example.com"], "AllowedMethods": ["GET"]},
         "InvalidRequest"),
        ({"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "ExposeHeaders": ["x-*"]},
         "InvalidRequest"),
    ]
    for rule, code in bad:
        got = code_of(s3.put_bucket_cors, Bucket=b, CORSConfiguration={"CORSRules": [rule]})
        check(got[0] == code and got[1] == 400, "rule %r must be %s, got %r" % (rule, code, got))
    many = [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}] * 101
    got = code_of(s3.put_bucket_cors, Bucket=b, CORSConfiguration={"CORSRules": many})
    check(got[1] == 400, "101 rules must be refused, got %r" % (got,))
    s3.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": many[:100]})
    check(len(s3.get_bucket_cors(Bucket=b)["CORSRules"]) == 100, "100 rules are fine")
    check(code_of(s3.get_bucket_cors, Bucket=b)[0] is None, "still readable")
    # Without Content-MD5 (raw, signed): S3 requires an integrity check.
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    import hashlib
    body = (b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
            b"<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>")
    req = AWSRequest(method="PUT", url=EP + "/" + b + "?cors", data=body)
    req.headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
    SigV4Auth(Credentials(AK, SK), "s3", "us-east-1").add_auth(req)
    conn = http.client.HTTPConnection(HOSTPORT, timeout=30)
    conn.request("PUT", "/" + b + "?cors", body=body, headers=dict(req.headers.items()))
    r = conn.getresponse()
    data = r.read()
    check(r.status == 400 and b"InvalidRequest" in data and b"Content-MD5" in data,
          "PutBucketCors without Content-MD5 must be 400 InvalidRequest: %d %r" % (r.status, data))
    s3.delete_bucket_cors(Bucket=b)
    s3.delete_bucket(Bucket=b)


def t_preflight():
    b = "cors-pre"
    s3.create_bucket(Bucket=b)
    # No configuration: 403.
    st, h, body = plain("OPTIONS", "/%s/k" % b, {"Origin": "https://app.example.com",
                                                 "Access-Control-Request-Method": "GET"})
    check(st == 403 and b"CORSResponse" in body,
          "preflight without CORS config must be 403 CORSResponse: %d %r" % (st, body))
    s3.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": RULES})
    st, h, body = plain("OPTIONS", "/%s/some/key.txt" % b,
                        {"Origin": "https://app.example.com",
                         "Access-Control-Request-Method": "PUT",
                         "Access-Control-Request-Headers": "content-type, x-amz-meta-color"})
    check(st == 200, "allowed preflight must be 200: %d %r" % (st, body))
    check(h.get("access-control-allow-origin") == "https://app.example.com",
          "Allow-Origin echoes the origin: %r" % h)
    check(h.get("access-control-allow-methods") == "GET, PUT", "Allow-Methods: %r" % h)
    check(h.get("access-control-allow-headers") == "content-type, x-amz-meta-color",
          "Allow-Headers: %r" % h)
    check(h.get("access-control-max-age") == "600", "Max-Age: %r" % h)
    check(h.get("access-control-expose-headers") == "ETag, x-amz-request-id",
          "Expose-Headers: %r" % h)
    check("Origin" in h.get("vary", "") and "Access-Control-Request-Method" in h.get("vary", ""),
          "Vary: %r" % h)
    # Wildcard origin, on the bucket itself.
    st, h, _ = plain("OPTIONS", "/%s" % b, {"Origin": "https://a.b.example.org",
                                            "Access-Control-Request-Method": "GET"})
    check(st == 200 and h.get("access-control-allow-origin") == "https://a.b.example.org",
          "wildcard origin allowed: %d %r" % (st, h))
    # The second rule: any origin, HEAD only, answered with '*'.
    st, h, _ = plain("OPTIONS", "/%s/k" % b, {"Origin": "http://elsewhere.test",
                                              "Access-Control-Request-Method": "HEAD"})
    check(st == 200 and h.get("access-control-allow-origin") == "*",
          "'*' rule answers '*': %d %r" % (st, h))
    denied = [
        {"Origin": "https://evil.example.net", "Access-Control-Request-Method": "GET"},
        {"Origin": "https://app.example.com", "Access-Control-Request-Method": "DELETE"},
        {"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET",
         "Access-Control-Request-Headers": "authorization"},
        {"Origin": "https://example.org", "Access-Control-Request-Method": "GET"},
    ]
    for hd in denied:
        st, h, body = plain("OPTIONS", "/%s/k" % b, hd)
        check(st == 403 and b"CORSResponse: This CORS request is not allowed" in body,
              "preflight %r must be 403: %d %r" % (hd, st, body))
        check("access-control-allow-origin" not in h, "no Allow-Origin on a denial: %r" % h)
    st, _, body = plain("OPTIONS", "/%s/k" % b, {"Access-Control-Request-Method": "GET"})
    check(st == 400, "preflight without Origin must be 400: %d %r" % (st, body))
    st, _, body = plain("OPTIONS", "/%s/k" % b, {"Origin": "https://app.example.com"})
    check(st == 400, "preflight without Access-Control-Request-Method must be 400: %d" % st)
    st, _, _ = plain("OPTIONS", "/cors-missing/k", {"Origin": "https://app.example.com",
                                                   "Access-Control-Request-Method": "GET"})
    check(st == 404, "preflight of a missing bucket must be 404: %d" % st)
    s3.delete_bucket_cors(Bucket=b)
    s3.delete_bucket(Bucket=b)


def t_response_headers():
    b = "cors-resp"
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="hello.txt", Body=b"hello")
    s3.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": RULES})
    url = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "hello.txt"})
    path = url[len(EP):]
    st, h, body = plain("GET", path, {"Origin": "https://app.example.com"})
    check(st == 200 and body == b"hello", "presigned GET works: %d" % st)
    check(h.get("access-control-allow-origin") == "https://app.example.com",
          "GET with a matching Origin carries Allow-Origin: %r" % h)
    check(h.get("access-control-expose-headers") == "ETag, x-amz-request-id",
          "and Expose-Headers: %r" % h)
    check(h.get("access-control-allow-methods") == "GET, PUT", "and Allow-Methods: %r" % h)
    st, h, _ = plain("GET", path, {"Origin": "https://evil.example.net"})
    check(st == 200 and "access-control-allow-origin" not in h,
          "no CORS headers for an origin no rule allows: %r" % h)
    st, h, _ = plain("GET", path)
    check("access-control-allow-origin" not in h, "no CORS headers without Origin: %r" % h)
    # An error response carries them too (a missing key, presigned).
    url = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "nope"})
    st, h, body = plain("GET", url[len(EP):], {"Origin": "https://app.example.com"})
    check(st == 404 and h.get("access-control-allow-origin") == "https://app.example.com",
          "a 404 carries Allow-Origin for an allowed Origin: %d %r" % (st, h))
    # HEAD from any origin: the second rule.
    url = s3.generate_presigned_url("head_object", Params={"Bucket": b, "Key": "hello.txt"})
    st, h, _ = plain("HEAD", url[len(EP):], {"Origin": "http://elsewhere.test"})
    check(st == 200 and h.get("access-control-allow-origin") == "*",
          "HEAD from any origin gets '*': %r" % h)
    # A presigned PUT from the allowed origin.
    url = s3.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "up.txt"})
    conn = http.client.HTTPConnection(HOSTPORT, timeout=30)
    conn.request("PUT", url[len(EP):], body=b"from the browser",
                 headers={"Origin": "https://x.example.org"})
    r = conn.getresponse()
    r.read()
    check(r.status == 200 and r.getheader("Access-Control-Allow-Origin") == "https://x.example.org",
          "presigned PUT from an allowed origin carries Allow-Origin: %d" % r.status)
    check(s3.get_object(Bucket=b, Key="up.txt")["Body"].read() == b"from the browser",
          "the PUT's bytes read back")
    for k in ("hello.txt", "up.txt"):
        s3.delete_object(Bucket=b, Key=k)
    s3.delete_bucket_cors(Bucket=b)
    s3.delete_bucket(Bucket=b)


def set_rules(b):
    try:
        s3.create_bucket(Bucket=b)
    except ClientError:
        pass
    s3.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": RULES})


def check_rules(b):
    got = s3.get_bucket_cors(Bucket=b)["CORSRules"]
    check(len(got) == 2 and got[0]["AllowedOrigins"] == RULES[0]["AllowedOrigins"],
          "CORS rules survive a restart: %r" % got)
    st, h, _ = plain("OPTIONS", "/%s/k" % b, {"Origin": "https://app.example.com",
                                              "Access-Control-Request-Method": "GET"})
    check(st == 200 and h.get("access-control-allow-origin") == "https://app.example.com",
          "preflight after a restart: %d %r" % (st, h))
    s3.delete_bucket_cors(Bucket=b)
    s3.delete_bucket(Bucket=b)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "set":
        set_rules(sys.argv[2])
        print("cors rules set on", sys.argv[2])
        return
    if len(sys.argv) == 3 and sys.argv[1] == "check":
        check_rules(sys.argv[2])
        print("cors rules kept on", sys.argv[2])
        return
    tests = [t_put_get_delete, t_validation, t_preflight, t_response_headers]
    for t in tests:
        if len(sys.argv) > 1 and t.__name__ not in sys.argv[1:]:
            continue
        try:
            t()
        except AssertionError as e:
            print("FAIL %s: %s" % (t.__name__, e))
            sys.exit(1)
        print("ok", t.__name__)


if __name__ == "__main__":
    main()
