#!/usr/bin/env python3
"""What the S3 sidecar must refuse, at the HTTP level with raw sockets, and
that each refused request leaves the volume unchanged:

- x-amz-copy-source spellings that reach outside the buckets (hidden names,
  '..', '.', %2e%2e, empty segments) and sources the caller may not read,
  for CopyObject and UploadPartCopy;
- malformed HTTP chunked framing, transfer codings other than 'chunked',
  Transfer-Encoding with Content-Length;
- an anonymous 100 MB PUT: refused as soon as its headers are in, its body
  not read (with and without Expect: 100-continue);
- DeleteObjects without Content-MD5 or a flexible checksum;
- SSE-C, SSE-S3/KMS, object lock, a bad x-amz-tagging, ?attributes on a bucket,
  versioning, unknown x-amz-* headers: an error, never 200.
Environment as from s3_env.py.
"""
import base64
import hashlib
import os
import re
import socket
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3_protocol as P  # noqa: E402

check = P.check
B = "/refuse"


def as_user(ak, sk):
    P.AK, P.SK = ak, sk


def req(method, path, query="", body=b"", headers=None, sign=True, s=None,
        payload=None):
    """One request; query in canonical form ("partNumber=2&uploadId=X")."""
    own = s is None
    s = s or P.connect()
    headers = dict(headers or {})
    if "transfer-encoding" not in headers:
        headers.setdefault("content-length", str(len(body)))
    if sign:
        headers = P.sign_headers(method, path, headers,
                                 payload or hashlib.sha256(body).hexdigest(), query)[0]
    else:
        headers.setdefault("host", "%s:%d" % (P.HOST, P.PORT))
    url = P.urllib.parse.quote(path, safe="/~") + ("?" + query if query else "")
    raw = "%s %s HTTP/1.1\r\n" % (method, url)
    raw += "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
    s.sendall(raw.encode() + body)
    r = P.read_response(s, head=(method == "HEAD"))
    if own:
        s.close()
    return r


def code_of(body):
    m = re.search(rb"<Code>([^<]*)</Code>", body)
    return m.group(1).decode() if m else None


def expect_err(r, status, code, what):
    st, h, b = r
    check(st == status and code_of(b) == code,
          "%s: expected %d %s, got %s %r" % (what, status, code, st, b[:400]))
    return b


def exists(path):
    return req("HEAD", path)[0] == 200


def content(path):
    st, h, b = req("GET", path)
    return b if st == 200 else None


def t_setup():
    as_user(os.environ["S3_AK"], os.environ["S3_SK"])
    for b in (B, "/mine"):
        st = req("PUT", b)[0]
        check(st in (200, 409), "create bucket %s (%s)" % (b, st))
    check(req("PUT", B + "/src", body=b"secret source")[0] == 200, "put src")
    check(req("PUT", B + "/keep", body=b"kept as it was")[0] == 200, "put keep")


def mpu_create(key):
    st, h, b = req("POST", B + "/" + key, "uploads=")
    check(st == 200, "CreateMultipartUpload %s: %s %r" % (key, st, b[:300]))
    return re.search(rb"<UploadId>([^<]*)</UploadId>", b).group(1).decode()


def t_copy_source():
    up = mpu_create("mpkey")
    part = b"another client's in-progress part"
    check(req("PUT", B + "/mpkey", "partNumber=1&uploadId=" + up, body=part)[0] == 200,
          "upload part 1")
    hidden = "/.trackfs-s3/uploads/%s/00001" % up
    bad = [hidden, hidden[1:], "/%2Etrackfs-s3/uploads/" + up + "/00001",
           "/%2etrackfs-s3%2Fuploads%2F" + up + "%2F00001",
           "/../refuse/src", "/./refuse/src", "/%2e%2e/refuse/src", "/%2E%2E/refuse/src",
           "..%2Frefuse%2Fsrc", "/refuse/../refuse/src", "/refuse/./src", "/refuse/%2e/src",
           "/refuse/a/%2e%2e/src", "/refuse//src", "//refuse/src", "/refuse/",
           "/refuse/.trackfs-s3-tmp.x", "/refuse/d/.trackfs-s3/x", "/refuse", "/"]
    for i, src in enumerate(bad):
        dst = "%s/copy-bad-%d" % (B, i)
        expect_err(req("PUT", dst, headers={"x-amz-copy-source": src}), 400, "InvalidArgument",
                   "CopyObject from %r" % src)
        check(not exists(dst), "CopyObject from %r wrote nothing" % src)
        expect_err(req("PUT", B + "/mpkey", "partNumber=2&uploadId=" + up,
                       headers={"x-amz-copy-source": src}), 400, "InvalidArgument",
                   "UploadPartCopy from %r" % src)
    st, h, b = req("GET", B + "/mpkey", "uploadId=" + up)
    check(st == 200 and b.count(b"<Part>") == 1, "UploadPartCopy added no part: %r" % b[:500])
    # Reading the source needs read access to its bucket, not just write access to the target.
    as_user(os.environ["S3_MINE_AK"], os.environ["S3_MINE_SK"])
    expect_err(req("PUT", "/mine/stolen", headers={"x-amz-copy-source": "/refuse/src"}), 403,
               "AccessDenied", "CopyObject from a bucket the key cannot read")
    st, h, b = req("POST", "/mine/mp", "uploads=")
    check(st == 200, "CreateMultipartUpload in mine: %s %r" % (st, b[:300]))
    mup = re.search(rb"<UploadId>([^<]*)</UploadId>", b).group(1).decode()
    expect_err(req("PUT", "/mine/mp", "partNumber=1&uploadId=" + mup,
                   headers={"x-amz-copy-source": "/refuse/src"}), 403, "AccessDenied",
               "UploadPartCopy from a bucket the key cannot read")
    st, h, b = req("GET", "/mine/mp", "uploadId=" + mup)
    check(st == 200 and b"<Part>" not in b, "the refused part copy added no part: %r" % b[:400])
    check(req("DELETE", "/mine/mp", "uploadId=" + mup)[0] == 204, "abort the upload in mine")
    as_user(os.environ["S3_AK"], os.environ["S3_SK"])
    check(not exists("/mine/stolen"), "the refused copy wrote nothing")
    expect_err(req("PUT", B + "/copy-nb", headers={"x-amz-copy-source": "/nosuchbkt/x"}), 404,
               "NoSuchBucket", "CopyObject from a missing bucket")
    # The ordinary spellings still work.
    for i, src in enumerate(["/refuse/src", "refuse/src", "/refuse/%73rc"]):
        st, h, b = req("PUT", "%s/copy-ok-%d" % (B, i), headers={"x-amz-copy-source": src})
        check(st == 200, "CopyObject from %r: %s %r" % (src, st, b[:300]))
        check(content("%s/copy-ok-%d" % (B, i)) == b"secret source", "copied bytes")
    check(req("DELETE", B + "/mpkey", "uploadId=" + up)[0] == 204, "abort upload")


def te_put(path, body, te="chunked", extra=None, s=None):
    h = {"transfer-encoding": te}
    h.update(extra or {})
    return req("PUT", path, body=body, headers=h, payload="UNSIGNED-PAYLOAD", s=s)


def t_http_chunked():
    good = b"3\r\nabc\r\n5\r\nabcde\r\n0\r\n\r\n"
    st, h, b = te_put(B + "/te-good", good)
    check(st == 200, "a well-framed chunked PUT: %s %r" % (st, b[:300]))
    check(content(B + "/te-good") == b"abcabcde", "chunked body decoded")
    st, h, b = te_put(B + "/te-ext", b"3;name=value\r\nabc\r\n0\r\nx-foo: bar\r\n\r\n")
    check(st == 200 and content(B + "/te-ext") == b"abc", "chunk extension and trailer")
    # A larger body, the framing split at every awkward place across reads.
    data = os.urandom(300_000)
    framed = b"".join(b"%x\r\n%s\r\n" % (len(data[o:o + 70001]), data[o:o + 70001])
                      for o in range(0, len(data), 70001)) + b"0\r\n\r\n"
    hdrs = P.sign_headers("PUT", B + "/te-big", {"transfer-encoding": "chunked"},
                          "UNSIGNED-PAYLOAD")[0]
    s = P.connect()
    s.sendall(("PUT %s/te-big HTTP/1.1\r\n" % B +
               "".join("%s: %s\r\n" % kv for kv in hdrs.items()) + "\r\n").encode())
    cuts = [0, 1, 2, 3, 5, 6, 70007, 70008, 70009, 70010, 140000, len(framed) - 4,
            len(framed) - 3, len(framed) - 1, len(framed)]
    for a, z in zip(cuts, cuts[1:]):
        s.sendall(framed[a:z])
        time.sleep(0.01)
    st, h, b = P.read_response(s)
    check(st == 200, "chunked PUT sent in pieces: %s %r" % (st, b[:300]))
    s.close()
    check(content(B + "/te-big") == data, "chunked body sent in pieces stored exactly")

    # Kept alive, and pipelined: the request after a chunked body is answered too.
    s = P.connect()
    st, h, b = te_put(B + "/te-pipe", good, s=s)
    check(st == 200, "chunked PUT on a kept-alive connection: %s" % st)
    st, h, b = req("GET", B + "/te-pipe", s=s)
    check(st == 200 and b == b"abcabcde", "next request on the same connection: %s %r" % (st, b))
    s.close()
    hp = P.sign_headers("PUT", B + "/te-pipe2", {"transfer-encoding": "chunked"},
                        "UNSIGNED-PAYLOAD")[0]
    hg = P.sign_headers("GET", B + "/te-good", {}, P.EMPTY)[0]
    raw = lambda m, p, h: ("%s %s HTTP/1.1\r\n" % (m, p) +  # noqa: E731
                           "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n").encode()
    s = P.connect()
    s.sendall(raw("PUT", B + "/te-pipe2", hp) + good + raw("GET", B + "/te-good", hg))
    st1 = P.read_response(s)[0]
    st2, h, b = P.read_response(s)
    s.close()
    check(st1 == 200 and st2 == 200 and b == b"abcabcde",
          "a GET pipelined behind a chunked PUT: %s %s %r" % (st1, st2, b[:200]))

    # aws-chunked (the S3 framing, signed) inside HTTP chunked framing, as SDKs send streams.
    data = os.urandom(100_000)
    mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    hdrs, key, amz, scope, seed = P.sign_headers(
        "PUT", B + "/te-aws", {"transfer-encoding": "chunked", "content-encoding": "aws-chunked",
                               "x-amz-decoded-content-length": str(len(data))}, mode)
    inner = P.chunked_body(data, [65536, len(data) - 65536], key, amz, scope, seed, True)
    outer = b"".join(b"%x\r\n%s\r\n" % (len(inner[o:o + 4093]), inner[o:o + 4093])
                     for o in range(0, len(inner), 4093)) + b"0\r\n\r\n"
    s = P.connect()
    s.sendall(raw("PUT", B + "/te-aws", hdrs) + outer)
    st, h, b = P.read_response(s)
    s.close()
    check(st == 200 and content(B + "/te-aws") == data,
          "aws-chunked inside HTTP chunked: %s %r" % (st, b[:300]))

    bad = {
        "no CRLF after the data": b"3\r\nabcXX5\r\nabcde\r\n0\r\n\r\n",
        "data longer than its size": b"3\r\nabcd\r\n0\r\n\r\n",
        "not hex": b"zz\r\nabc\r\n0\r\n\r\n",
        "empty size": b"\r\nabc\r\n0\r\n\r\n",
        "junk after the size": b"3garbage\r\nabc\r\n0\r\n\r\n",
        "space after the size": b"3 \r\nabc\r\n0\r\n\r\n",
        "oversized": b"ffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
        "bare LF": b"3\nabc\r\n0\r\n\r\n",
        "negative": b"-3\r\nabc\r\n0\r\n\r\n",
        "bare LF in a trailer": b"3\r\nabc\r\n0\r\nx-a: b\n\r\n",
        "no final CRLF": b"3\r\nabc\r\n0\r\n\rX",
    }
    for i, (what, body) in enumerate(bad.items()):
        path = "%s/te-bad-%d" % (B, i)
        st, h, b = te_put(path, body)
        check(st == 400, "chunked framing with %s: 400, got %s %r" % (what, st, b[:300]))
        check(not exists(path), "chunked framing with %s stored nothing" % what)
    for i, te in enumerate(["gzip, chunked", "chunked, gzip", "identity", "deflate", "chunked, chunked"]):
        path = "%s/te-coding-%d" % (B, i)
        expect_err(te_put(path, good, te=te), 501, "NotImplemented", "Transfer-Encoding: " + te)
        check(not exists(path), "Transfer-Encoding %r stored nothing" % te)
    path = B + "/te-cl"
    st, h, b = te_put(path, good, extra={"content-length": str(len(good))})
    check(st == 400, "Transfer-Encoding with Content-Length: 400, got %s %r" % (st, b[:300]))
    check(not exists(path), "Transfer-Encoding with Content-Length stored nothing")
    # Trailing garbage after a complete body is the next request: malformed, refused.
    s = P.connect()
    st, h, b = te_put(B + "/te-trail", good + b"GARBAGE\x01\r\n\r\n", s=s)
    check(st == 200, "the complete chunked body before the garbage: %s" % st)
    st, h, b = P.read_response(s)
    check(st == 400, "the garbage after it is answered 400 (%s)" % st)
    s.close()
    check(content(B + "/te-trail") == b"abcabcde", "only the framed body is stored")
    P.alive()


def big_put_headers(path, expect):
    raw = ("PUT %s HTTP/1.1\r\nhost: %s:%d\r\ncontent-length: %d\r\n" %
           (path, P.HOST, P.PORT, 100 << 20))
    if expect:
        raw += "expect: 100-continue\r\n"
    return (raw + "\r\n").encode()


def t_refused_before_body():
    for path, expect in ((B + "/anon-big", False), (B + "/anon-big-cont", True),
                         ("/" + os.environ["S3_ANON_BUCKET"] + "/anon-big", False)):
        s = P.connect()
        s.settimeout(5)
        t0 = time.time()
        s.sendall(big_put_headers(path, expect))
        st, h, b = P.read_response(s)
        check(st == 403 and code_of(b) == "AccessDenied",
              "anonymous 100 MB PUT %s (expect=%s): 403 with no body sent, got %s %r" %
              (path, expect, st, b[:200]))
        check(time.time() - t0 < 3, "the refusal came at once")
        check(h.get("connection") == "close", "and the connection is closed")
        # The body is not read: the server stops taking it long before 100 MB.
        sent, err = 0, None
        chunk = b"\0" * 65536
        try:
            while sent < (100 << 20):
                s.sendall(chunk)
                sent += len(chunk)
        except OSError as e:
            err = e
        s.close()
        check(err is not None and sent < (20 << 20),
              "the server closed instead of reading the body (%d bytes taken)" % sent)
        check(not exists(path), "the refused PUT wrote nothing")
    P.alive()


def md5_b64(b):
    return base64.b64encode(hashlib.md5(b).digest()).decode()


def t_delete_objects_integrity():
    for k in ("d1", "d2"):
        check(req("PUT", B + "/" + k, body=b"x")[0] == 200, "put " + k)
    xml = b"<Delete><Object><Key>d1</Key></Object><Object><Key>d2</Key></Object></Delete>"
    expect_err(req("POST", B, "delete=", body=xml), 400, "InvalidRequest",
               "DeleteObjects without Content-MD5")
    expect_err(req("POST", B, "delete=", body=xml, headers={"content-md5": md5_b64(b"other")}),
               400, "BadDigest", "DeleteObjects with a wrong Content-MD5")
    crc = base64.b64encode(zlib.crc32(b"other").to_bytes(4, "big")).decode()
    expect_err(req("POST", B, "delete=", body=xml, headers={"x-amz-checksum-crc32": crc}),
               400, "BadDigest", "DeleteObjects with a wrong CRC32")
    check(exists(B + "/d1") and exists(B + "/d2"), "the refused DeleteObjects deleted nothing")
    st, h, b = req("POST", B, "delete=", body=xml, headers={"content-md5": md5_b64(xml)})
    check(st == 200 and b.count(b"<Deleted>") == 2, "with Content-MD5: %s %r" % (st, b[:300]))
    check(not exists(B + "/d1"), "deleted")
    check(req("PUT", B + "/d1", body=b"x")[0] == 200, "put d1 again")
    xml1 = b"<Delete><Object><Key>d1</Key></Object></Delete>"
    crc = base64.b64encode(zlib.crc32(xml1).to_bytes(4, "big")).decode()
    st, h, b = req("POST", B, "delete=", body=xml1,
                   headers={"x-amz-checksum-crc32": crc, "x-amz-sdk-checksum-algorithm": "CRC32"})
    check(st == 200 and not exists(B + "/d1"), "with x-amz-checksum-crc32: %s %r" % (st, b[:300]))


SSEC = {"x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key": base64.b64encode(b"k" * 32).decode(),
        "x-amz-server-side-encryption-customer-key-md5": md5_b64(b"k" * 32)}


def t_refusals():
    cases = [
        ("SSE-C", SSEC, 501, "NotImplemented"),
        ("SSE-S3", {"x-amz-server-side-encryption": "AES256"}, 501, "NotImplemented"),
        ("SSE-KMS", {"x-amz-server-side-encryption": "aws:kms",
                     "x-amz-server-side-encryption-aws-kms-key-id": "k"}, 501, "NotImplemented"),
        ("object lock retention", {"x-amz-object-lock-mode": "COMPLIANCE",
                                   "x-amz-object-lock-retain-until-date":
                                   "2099-01-01T00:00:00Z"}, 400, "InvalidRequest"),
        ("legal hold", {"x-amz-object-lock-legal-hold": "ON"}, 400, "InvalidRequest"),
        ("a reserved tag key", {"x-amz-tagging": "aws:a=b"}, 400, "InvalidTag"),
        ("storage class", {"x-amz-storage-class": "GLACIER"}, 501, "NotImplemented"),
        ("website redirect", {"x-amz-website-redirect-location": "/x"}, 501, "NotImplemented"),
        ("grant", {"x-amz-grant-read": "uri=http://acs.amazonaws.com/groups/global/AllUsers"},
         501, "NotImplemented"),
        ("append", {"x-amz-write-offset-bytes": "0"}, 501, "NotImplemented"),
        ("unknown x-amz header", {"x-amz-frobnicate": "1"}, 501, "NotImplemented"),
        ("public-read-write ACL", {"x-amz-acl": "public-read-write"}, 501, "NotImplemented"),
    ]
    for i, (what, hdrs, status, code) in enumerate(cases):
        path = "%s/ref-%d" % (B, i)
        body = expect_err(req("PUT", path, body=b"data", headers=hdrs), status, code,
                          "PutObject with " + what)
        check(list(hdrs)[0].encode() in body, "the error names the header: %r" % body[:400])
        check(not exists(path), "PutObject with %s wrote nothing" % what)
        expect_err(req("PUT", B + "/keep", body=b"new", headers=hdrs), status, code,
                   "overwrite with " + what)
        check(content(B + "/keep") == b"kept as it was", "a refused overwrite (%s) left the "
              "object unchanged" % what)
        h = dict(hdrs, **{"x-amz-copy-source": "/refuse/src"})
        expect_err(req("PUT", path, headers=h), status, code, "CopyObject with " + what)
        check(not exists(path), "CopyObject with %s wrote nothing" % what)
        expect_err(req("POST", path, "uploads=", headers=hdrs), status, code,
                   "CreateMultipartUpload with " + what)
    st, h, b = req("GET", B, "uploads=")
    check(st == 200 and b"<Upload>" not in b, "no multipart upload was created: %r" % b[:400])
    # Reading with a customer key: the object is not encrypted with it.
    expect_err(req("GET", B + "/src", headers=SSEC), 501, "NotImplemented", "GET with SSE-C")
    expect_err(req("PUT", B + "/x", headers={"x-amz-copy-source": "/refuse/src",
                                           "x-amz-copy-source-server-side-encryption-customer-"
                                           "algorithm": "AES256"}),
               501, "NotImplemented", "CopyObject from an SSE-C source")
    check(not exists(B + "/x"), "nothing copied")
    # A bucket with object lock.
    expect_err(req("PUT", "/lockbkt", headers={"x-amz-bucket-object-lock-enabled": "true"}), 501,
               "NotImplemented", "CreateBucket with object lock")
    check(req("HEAD", "/lockbkt")[0] == 404, "no bucket was made")
    st = req("PUT", "/nolockbkt", headers={"x-amz-bucket-object-lock-enabled": "false"})[0]
    check(st == 200, "CreateBucket with object lock disabled (%s)" % st)
    # GET/HEAD ?partNumber are served now (s3_checksums.py): part 1 of a
    # single-part object is all of it, part 2 is not satisfiable.
    st, h, b = req("GET", B + "/src", "partNumber=1")
    check(st == 200, "GET ?partNumber=1 of a single-part object: 200 (%s %r)" % (st, b[:200]))
    expect_err(req("GET", B + "/src", "partNumber=2"), 416, "InvalidPartNumber",
               "GET ?partNumber=2 of a single-part object")
    # GetObjectAttributes is served for objects; ?attributes on a bucket is not an API.
    expect_err(req("GET", B, "attributes="), 501, "NotImplemented", "GET bucket?attributes")
    # Versioning cannot be turned on.
    for status in ("Enabled", "Suspended"):
        xml = ("<VersioningConfiguration><Status>%s</Status></VersioningConfiguration>" %
               status).encode()
        expect_err(req("PUT", B, "versioning=", body=xml), 501, "NotImplemented",
                   "PutBucketVersioning " + status)
    st, h, b = req("GET", B, "versioning=")
    check(st == 200 and b"<Status>" not in b, "versioning was never enabled: %r" % b)
    # What real clients send is accepted.
    ok = {"x-amz-sdk-checksum-algorithm": "CRC32",
          "x-amz-checksum-crc32": base64.b64encode(zlib.crc32(b"fine").to_bytes(4, "big")).decode(),
          "x-amz-expected-bucket-owner": "123456789012", "x-amz-request-payer": "requester",
          "x-amz-meta-colour": "blue", "x-amz-user-agent": "aws-sdk-js/3", "x-amz-acl": "private",
          "x-amz-storage-class": "STANDARD", "amz-sdk-invocation-id": "abc",
          "amz-sdk-request": "attempt=1; max=3"}
    st, h, b = req("PUT", B + "/fine", body=b"fine", headers=ok)
    check(st == 200 and content(B + "/fine") == b"fine", "the headers clients send: %s %r" %
          (st, b[:300]))
    st, h, b = req("GET", B + "/fine", headers={"x-amz-checksum-mode": "ENABLED"})
    check(st == 200, "GET with x-amz-checksum-mode (%s)" % st)


def presigned_url(method, path, extra):
    """A SigV4 presigned URL with the parameters of @extra hoisted into its query."""
    import datetime
    q = P.urllib.parse.quote
    amz = datetime.datetime.utcnow().strftime("%Y%m%dT%H%M%SZ")
    scope = "%s/%s/s3/aws4_request" % (amz[:8], P.REGION)
    params = dict(extra)
    params.update({"X-Amz-Algorithm": "AWS4-HMAC-SHA256", "X-Amz-Credential": P.AK + "/" + scope,
                   "X-Amz-Date": amz, "X-Amz-Expires": "300", "X-Amz-SignedHeaders": "host"})
    cq = "&".join("%s=%s" % (q(k, safe="-_.~"), q(v, safe="-_.~")) for k, v in sorted(params.items()))
    host = "%s:%d" % (P.HOST, P.PORT)
    creq = "\n".join([method, q(path, safe="/~"), cq, "host:%s\n" % host, "host",
                      "UNSIGNED-PAYLOAD"])
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
    sig = P.hmac.new(P.signing_key(amz[:8]), sts.encode(), hashlib.sha256).hexdigest()
    return q(path, safe="/~") + "?" + cq + "&X-Amz-Signature=" + sig


def presigned(method, path, extra, body=b""):
    s = P.connect()
    raw = "%s %s HTTP/1.1\r\nhost: %s:%d\r\ncontent-length: %d\r\n\r\n" % (
        method, presigned_url(method, path, extra), P.HOST, P.PORT, len(body))
    s.sendall(raw.encode() + body)
    r = P.read_response(s)
    s.close()
    return r


def t_presigned_hoisted():
    st, h, b = presigned("PUT", B + "/pre-ok", {"x-id": "PutObject"}, b"presigned")
    check(st == 200 and content(B + "/pre-ok") == b"presigned", "a plain presigned PUT: %s %r" %
          (st, b[:300]))
    for i, (k, v, status, code) in enumerate([
            ("x-amz-server-side-encryption", "AES256", 501, "NotImplemented"),
            ("x-amz-meta-colour", "blue", 501, "NotImplemented"),
            ("x-amz-checksum-crc32", "AAAAAA==", 501, "NotImplemented"),
            ("x-amz-tagging", "a=b", 501, "NotImplemented"),
            ("X-Amz-Object-Lock-Mode", "COMPLIANCE", 400, "InvalidRequest"),
            ("x-amz-copy-source", "/refuse/src", 501, "NotImplemented"),
            ("x-amz-frobnicate", "1", 501, "NotImplemented")]):
        path = "%s/pre-%d" % (B, i)
        expect_err(presigned("PUT", path, {k: v}, b"presigned"), status, code,
                   "a presigned PUT with %s hoisted into the query" % k)
        check(not exists(path), "the refused presigned PUT (%s) wrote nothing" % k)


def t_unknown_subresources():
    # A subresource or parameter the sidecar does not know would change
    # what the request means: refused, not ignored (a listing, an overwrite).
    req("PUT", B + "/sub", body=b"kept")
    expect_err(req("GET", B, "frobnicate="), 501, "NotImplemented", "GET ?frobnicate on a bucket")
    expect_err(req("PUT", B + "/sub", "frobnicate=1", body=b"x"), 501, "NotImplemented",
               "PUT ?frobnicate=1 on an object")
    check(content(B + "/sub") == b"kept", "the refused PUT left the object as it was")
    expect_err(req("GET", B + "/sub", "versionId=3HL4kqtJlcpXroDTDmJ"), 501, "NotImplemented",
               "GET of a version other than null")
    st, _, b = req("GET", B + "/sub", "versionId=null")
    check(st == 200 and b == b"kept", "versionId=null names the object (%s)" % st)
    st, _, _ = req("GET", B, "list-type=2&prefix=s&x-id=ListObjectsV2")
    check(st == 200, "known parameters and x-id still work (%s)" % st)


TESTS = [t_setup, t_copy_source, t_http_chunked, t_refused_before_body,
         t_delete_objects_integrity, t_refusals, t_presigned_hoisted, t_unknown_subresources]

if __name__ == "__main__":
    only = sys.argv[1:]
    for t in TESTS:
        if only and t.__name__ not in only and t.__name__ != "t_setup":
            continue
        t0 = time.time()
        try:
            t()
        except Exception as e:
            print("FAIL %s: %s" % (t.__name__, e))
            raise
        print("ok   %s (%.1fs)" % (t.__name__, time.time() - t0))
    print("s3_refusals: all passed")
