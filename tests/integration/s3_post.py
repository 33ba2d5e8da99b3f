#!/usr/bin/env python3
"""Browser form uploads (POST Object with a SigV4 policy) against trackfs-s3
(test_s3_post.sh): the forms boto3's generate_presigned_post makes, sent as
multipart/form-data over raw HTTP the way a browser does."""
import http.client
import os
import sys
import urllib.parse
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

EP, AK, SK = (os.environ[k] for k in ("S3_ENDPOINT", "S3_AK", "S3_SK"))
HOSTPORT = EP.split("//")[1]


def client(ak=AK, sk=SK):
    return boto3.client("s3", endpoint_url=EP, aws_access_key_id=ak, aws_secret_access_key=sk,
                        region_name="us-east-1",
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                      retries={"max_attempts": 1}))


s3 = client()


def check(cond, what):
    if not cond:
        sys.exit("FAIL: " + what)
    print("ok:", what)


def post(bucket, fields, data, filename="photo.jpg", chunk=None):
    """Send the form; the file part last, as browsers do. @chunk: send the
    body in pieces of that many bytes (split boundaries)."""
    b = "----trackfs" + uuid.uuid4().hex
    parts = []
    for k, v in fields.items():
        parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                      % (b, k, v)).encode())
    parts.append(("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                  "Content-Type: application/octet-stream\r\n\r\n" % (b, filename)).encode())
    body = b"".join(parts) + data + ("\r\n--%s--\r\n" % b).encode()
    conn = http.client.HTTPConnection(HOSTPORT, timeout=30)
    conn.putrequest("POST", "/" + bucket)
    conn.putheader("Content-Type", "multipart/form-data; boundary=" + b)
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    step = chunk or len(body)
    try:
        for i in range(0, len(body), step):
            conn.send(body[i:i + step])
    except OSError:
        pass  # answered early
    r = conn.getresponse()
    out = (r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read())
    conn.close()
    return out


def exists(bucket, key):
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError:
        return False


def get(bucket, key):
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


s3.create_bucket(Bucket="forms")
data = os.urandom(300000)

# The default: 204, the bytes as sent, with an odd chunking of the body.
p = s3.generate_presigned_post("forms", "up/one.bin", ExpiresIn=300)
st, h, body = post("forms", p["fields"], data, chunk=997)
check(st == 204, "a form upload answers 204 by default (%d %r)" % (st, body[:200]))
check(get("forms", "up/one.bin") == data, "the object holds the file's bytes")
check(h.get("etag", "").strip('"') == s3.head_object(Bucket="forms", Key="up/one.bin")["ETag"].strip('"'),
      "the ETag header is the object's")

# ${filename}, success_action_status 201 with PostResponse XML, metadata.
p = s3.generate_presigned_post(
    "forms", "up/${filename}",
    Fields={"success_action_status": "201", "Content-Type": "image/jpeg", "x-amz-meta-who": "me"},
    Conditions=[{"success_action_status": "201"}, {"Content-Type": "image/jpeg"},
                {"x-amz-meta-who": "me"}, ["starts-with", "$key", "up/"]],
    ExpiresIn=300)
st, h, body = post("forms", p["fields"], b"jpeg bytes", filename="cat.jpg")
check(st == 201 and b"<PostResponse>" in body and b"<Key>up/cat.jpg</Key>" in body,
      "201 with a PostResponse naming the key made from ${filename} (%d %r)" % (st, body[:300]))
hd = s3.head_object(Bucket="forms", Key="up/cat.jpg")
check(hd["ContentType"] == "image/jpeg" and hd["Metadata"].get("who") == "me",
      "Content-Type and x-amz-meta-* from the form are stored")

# The tagging field: a <Tagging> document, kept as the object's tags.
TAGXML = ("<Tagging><TagSet><Tag><Key>from</Key><Value>form</Value></Tag></TagSet>"
          "</Tagging>")
p = s3.generate_presigned_post("forms", "up/tagged.bin", Fields={"tagging": TAGXML},
                               Conditions=[{"tagging": TAGXML}], ExpiresIn=300)
st, h, body = post("forms", p["fields"], b"tagged")
check(st == 204, "a form with a tagging field is stored (%d %r)" % (st, body[:300]))
ts = s3.get_object_tagging(Bucket="forms", Key="up/tagged.bin")["TagSet"]
check(ts == [{"Key": "from", "Value": "form"}], "the form's tags are kept: %r" % ts)
# The acl field: public-read lets anyone GET the object.
p = s3.generate_presigned_post("forms", "up/public.bin", Fields={"acl": "public-read"},
                               Conditions=[{"acl": "public-read"}], ExpiresIn=300)
st, h, body = post("forms", p["fields"], b"for all")
check(st == 204, "a form with acl public-read is stored (%d %r)" % (st, body[:300]))
conn = http.client.HTTPConnection(HOSTPORT, timeout=30)
conn.request("GET", "/forms/up/public.bin")
r = conn.getresponse()
check(r.status == 200 and r.read() == b"for all", "the form's public-read object reads "
      "anonymously (%d)" % r.status)
conn.request("GET", "/forms/up/tagged.bin")
r = conn.getresponse()
check(r.status == 403, "a form upload without acl is private (%d)" % r.status)
r.read()
conn.close()
BAD = TAGXML.replace("from", "aws:from")
p = s3.generate_presigned_post("forms", "up/badtag.bin", Fields={"tagging": BAD},
                               Conditions=[{"tagging": BAD}], ExpiresIn=300)
st, h, body = post("forms", p["fields"], b"tagged")
check(st == 400 and b"InvalidTag" in body and not exists("forms", "up/badtag.bin"),
      "a form with an aws: tag key is refused, nothing written (%d %r)" % (st, body[:300]))

# success_action_redirect: 303 to the page with bucket, key and etag.
p = s3.generate_presigned_post(
    "forms", "up/redir.bin", Fields={"success_action_redirect": "http://app.example/done"},
    Conditions=[{"success_action_redirect": "http://app.example/done"}], ExpiresIn=300)
st, h, body = post("forms", p["fields"], b"r")
loc = urllib.parse.urlsplit(h.get("location", ""))
q = urllib.parse.parse_qs(loc.query)
check(st == 303 and loc.netloc == "app.example" and q.get("key") == ["up/redir.bin"]
      and q.get("bucket") == ["forms"] and "etag" in q,
      "303 to success_action_redirect with bucket, key and etag (%d %s)" % (st, h.get("location")))

# content-length-range: a larger file is refused and nothing stays.
p = s3.generate_presigned_post("forms", "up/big.bin", Conditions=[["content-length-range", 1, 1000]],
                               ExpiresIn=300)
st, h, body = post("forms", p["fields"], os.urandom(5000))
check(st == 400 and b"EntityTooLarge" in body, "a file above content-length-range is 400 EntityTooLarge (%d)" % st)
check(not exists("forms", "up/big.bin"), "and no object was made")
st, h, body = post("forms", p["fields"], b"x" * 500)
check(st == 204 and get("forms", "up/big.bin") == b"x" * 500, "a file within the range is stored")

# An expired policy, a tampered signature, a field the policy does not cover.
p = s3.generate_presigned_post("forms", "up/late.bin", ExpiresIn=-60)
st, h, body = post("forms", p["fields"], b"late")
check(st == 403 and b"Policy expired" in body, "an expired policy is 403 (%d %r)" % (st, body[:200]))
p = s3.generate_presigned_post("forms", "up/tamper.bin", ExpiresIn=300)
f = dict(p["fields"])
f["x-amz-signature"] = ("0" if f["x-amz-signature"][0] != "0" else "1") + f["x-amz-signature"][1:]
st, h, body = post("forms", f, b"t")
check(st == 403 and b"SignatureDoesNotMatch" in body, "a tampered signature is 403 (%d)" % st)
f = dict(p["fields"])
f["key"] = "elsewhere/tamper.bin"
st, h, body = post("forms", f, b"t")
check(st == 403 and b"Invalid according to Policy" in body, "a key the policy does not allow is 403 (%d)" % st)
f = dict(p["fields"])
f["x-amz-meta-extra"] = "sneaky"
st, h, body = post("forms", f, b"t")
check(st == 403 and b"Invalid according to Policy" in body,
      "a field no condition covers is 403 (%d %r)" % (st, body[:200]))
check(not exists("forms", "up/tamper.bin") and not exists("forms", "elsewhere/tamper.bin")
      and not exists("forms", "up/late.bin"), "none of the refused forms left an object")

# A read-only key signs a policy for nothing.
ro = client(os.environ["S3_RO_AK"], os.environ["S3_RO_SK"])
p = ro.generate_presigned_post("forms", "up/ro.bin", ExpiresIn=300)
st, h, body = post("forms", p["fields"], b"ro")
check(st == 403 and not exists("forms", "up/ro.bin"), "a read-only key's form is 403 (%d)" % st)

# No policy at all: an anonymous write, never allowed here.
st, h, body = post("forms", {"key": "up/anon.bin"}, b"anon")
check(st == 403 and not exists("forms", "up/anon.bin"), "a form without a policy is 403 (%d)" % st)

# A bigger file streams through (boundary bytes inside the data).
big = os.urandom(3 << 20) + b"\r\n------trackfs" + os.urandom(1000)
p = s3.generate_presigned_post("forms", "up/big3.bin", ExpiresIn=300)
st, h, body = post("forms", p["fields"], big, chunk=65521)
check(st == 204 and get("forms", "up/big3.bin") == big, "3 MiB with boundary-like bytes inside, byte-exact")
print("s3_post: all checks passed")
