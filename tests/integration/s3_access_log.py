#!/usr/bin/env python3
"""The S3 access log (test_s3_access_log.sh): one timestamped line per request
with the client address, access key, request id (the one echoed in
x-amz-request-id and in error bodies), operation, bucket/key, status, bytes
in and out and duration. Prints the request ids' high 32 bits (the part that
differs from one start of the server to the next) on the last line."""
import http.client
import os
import re
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

EP, AK, SK, LOG = (os.environ[k] for k in ("S3_ENDPOINT", "S3_AK", "S3_SK", "S3_LOG"))
s3 = boto3.client("s3", endpoint_url=EP, aws_access_key_id=AK, aws_secret_access_key=SK,
                  region_name="us-east-1",
                  config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                retries={"max_attempts": 1}))


def check(cond, what):
    if not cond:
        sys.exit("FAIL: " + what)
    print("ok:", what)


LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}) trackfs-s3: info: s3: access "
                  r"(\S+) (\S+) ([0-9A-F]{16}) (\S+) (\S+) (\d{3}) (\d+) (\d+) (\d+)ms \"(\S+) (\S+)\"$")


def lines():
    time.sleep(0.3)
    out = []
    for ln in open(LOG, encoding="utf-8", errors="replace"):
        m = LINE.match(ln.rstrip("\n"))
        if m:
            out.append(m.groups())
    return out


s3.create_bucket(Bucket="logb")
body = b"x" * 5000
r = s3.put_object(Bucket="logb", Key="dir/obj", Body=body)
put_id = r["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]
r = s3.get_object(Bucket="logb", Key="dir/obj")
r["Body"].read()
get_id = r["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]
try:
    s3.get_object(Bucket="logb", Key="missing")
    check(False, "GET of a missing key fails")
except ClientError as e:
    err_id = e.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]
    check(e.response["Error"].get("RequestId", err_id) == err_id,
          "the error body's RequestId is the x-amz-request-id header (%s)" % err_id)
# Anonymous: no access key.
u = http.client.HTTPConnection(EP.split("//")[1], timeout=10)
u.request("GET", "/logb/dir/obj")
anon = u.getresponse()
anon.read()
anon_id = anon.getheader("x-amz-request-id")
u.close()

got = {g[3]: g for g in lines()}
for rid in (put_id, get_id, err_id, anon_id):
    check(rid in got, "the log has a line for request %s" % rid)
stamp, peer, key, rid, op, obj, status, bin_, bout, ms, method, path = got[put_id]
check(re.match(r"^127\.0\.0\.1:\d+$", peer), "the client address is logged (%s)" % peer)
check(key == AK, "the access key is logged (%s)" % key)
check(op == "PutObject" and obj == "logb/dir/obj" and status == "200",
      "operation, bucket/key and status of the PUT (%s %s %s)" % (op, obj, status))
check(int(bin_) == len(body), "bytes in of the PUT (%s)" % bin_)
check(method == "PUT" and path == "/logb/dir/obj", "the request line (%s %s)" % (method, path))
g = got[get_id]
check(g[4] == "GetObject" and g[6] == "200" and len(body) < int(g[8]) < len(body) + 2048,
      "GetObject 200 with the body and its headers out (%s bytes)" % g[8])
g = got[err_id]
check(g[6] == "404" and g[5] == "logb/missing", "the 404 names the key (%s %s)" % (g[6], g[5]))
g = got[anon_id]
check(g[2] == "-" and g[6] == "403", "an anonymous request logs '-' as its key (%s %s)" % (g[2], g[6]))
ids = [put_id, get_id, err_id, anon_id]
check(len(set(ids)) == len(ids), "request ids are unique")
check(len({i[:8] for i in ids}) == 1, "one start of the server shares the high bits")
print("high", put_id[:8])
