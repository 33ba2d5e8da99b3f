#!/usr/bin/env python3
"""Flexible checksums, part-number reads and GetObjectAttributes (issue 11
item 7), with boto3 (Debian's python3-boto3: CRC32, SHA1, SHA256) and raw
HTTP where boto3 cannot send it (CRC32C and CRC64NVME need awscrt there;
x-amz-checksum-type; aws-chunked trailers): PutObject with each algorithm
read back with checksum mode, wrong checksums refused with no object left,
multipart uploads with COMPOSITE and FULL_OBJECT checksums (the expected
values computed here, independently of the server: zlib's CRC32, crcmod or
a table for CRC32C and CRC64NVME), ListParts' checksums, a wrong part
checksum in the completion, GET/HEAD ?partNumber= byte-exact, single-part
objects, GetObjectAttributes. t_mount_rewrite runs only with TFS_MNT (the
FUSE mount of the same volume, test_s3_checksums.sh's second phase).

Environment: S3_ENDPOINT, S3_AK/S3_SK (from s3_env.py or the mount). Runs
the tests named on the command line, or all but t_mount_rewrite.
"""
import base64
import hashlib
import http.client
import os
import re
import sys
import urllib.parse
import zlib

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

EP = os.environ["S3_ENDPOINT"]
AK, SK = os.environ["S3_AK"], os.environ["S3_SK"]
HOSTPORT = urllib.parse.urlparse(EP).netloc
REGION = "us-east-1"
B = "cks"
MIB = 1 << 20

s3 = boto3.client("s3", endpoint_url=EP, aws_access_key_id=AK, aws_secret_access_key=SK,
                  region_name=REGION,
                  config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                retries={"max_attempts": 1}))


def check(cond, what):
    if not cond:
        raise AssertionError(what)


# ---- reference checksums, independent of the server -------------------------------------

def _table(poly, width):
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        t.append(c)
    mask = (1 << width) - 1

    def crc(data):
        c = mask
        for b in data:
            c = t[(c ^ b) & 0xff] ^ (c >> 8)
        return c ^ mask
    return crc


try:  # crcmod's C extension is fast; the table is the fallback
    import crcmod
    _crc32c = crcmod.mkCrcFun(0x11EDC6F41, initCrc=0, rev=True, xorOut=0xFFFFFFFF)
    _crc64 = crcmod.mkCrcFun(0x1AD93D23594C93659, initCrc=0, rev=True,
                             xorOut=0xFFFFFFFFFFFFFFFF)
except ImportError:
    _crc32c = _table(0x82F63B78, 32)
    _crc64 = _table(0x9A6C9329AC4BC9B5, 64)


def raw_digest(algo, data):
    algo = algo.lower()
    if algo == "crc32":
        return (zlib.crc32(data) & 0xffffffff).to_bytes(4, "big")
    if algo == "crc32c":
        return _crc32c(data).to_bytes(4, "big")
    if algo == "crc64nvme":
        return _crc64(data).to_bytes(8, "big")
    return hashlib.new(algo, data).digest()


def b64(algo, data):
    return base64.b64encode(raw_digest(algo, data)).decode()


def composite(algo, parts):
    return b64(algo, b"".join(raw_digest(algo, p) for p in parts)) + "-%d" % len(parts)


ALGOS = ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"]


# ---- raw requests -----------------------------------------------------------------------

def raw(method, path, body=b"", headers=None, content_sha=None):
    """A request signed by botocore and sent as is; the query in canonical form."""
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
    req = AWSRequest(method=method, url=EP + path, data=body, headers=dict(headers or {}))
    req.headers["x-amz-content-sha256"] = content_sha or hashlib.sha256(body).hexdigest()
    SigV4Auth(Credentials(AK, SK), "s3", REGION).add_auth(req)
    conn = http.client.HTTPConnection(HOSTPORT, timeout=60)
    conn.request(method, path, body=body, headers=dict(req.headers.items()))
    r = conn.getresponse()
    data = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    conn.close()
    return r.status, hdrs, data


def code_of(body):
    m = re.search(rb"<Code>([^<]*)</Code>", body)
    return m.group(1).decode() if m else None


def expect_err(r, status, code, what):
    st, h, b = r
    check(st == status and code_of(b) == code,
          "%s: expected %d %s, got %s %r" % (what, status, code, st, b[:400]))


def xml_val(body, tag):
    m = re.search(rb"<" + tag.encode() + rb">([^<]*)</" + tag.encode() + rb">", body)
    return m.group(1).decode() if m else None


def exists(key):
    return raw("HEAD", "/%s/%s" % (B, key))[0] == 200


def ensure_bucket():
    try:
        s3.create_bucket(Bucket=B)
    except ClientError as e:
        if e.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
            raise


# ---- tests --------------------------------------------------------------------------------

def t_reference_vectors():
    check(raw_digest("crc32c", b"123456789").hex() == "e3069283", "python CRC32C")
    check(raw_digest("crc64nvme", b"123456789").hex() == "ae8b14860a799888", "python CRC64NVME")
    check(_table(0x82F63B78, 32)(b"123456789") == 0xE3069283, "table CRC32C")
    check(_table(0x9A6C9329AC4BC9B5, 64)(b"123456789") == 0xAE8B14860A799888, "table CRC64")


def t_put_each_algorithm():
    ensure_bucket()
    data = os.urandom(100_003)
    for algo in ALGOS:
        key = "put-" + algo.lower()
        val = b64(algo, data)
        st, h, b = raw("PUT", "/%s/%s" % (B, key), data,
                       {"x-amz-checksum-" + algo.lower(): val})
        check(st == 200, "PUT with %s: %s %r" % (algo, st, b[:300]))
        check(h.get("x-amz-checksum-" + algo.lower()) == val, "PUT %s echoes it: %r" % (algo, h))
        for method in ("GET", "HEAD"):
            st, h, b = raw(method, "/%s/%s" % (B, key), headers={"x-amz-checksum-mode": "ENABLED"})
            check(st == 200 and h.get("x-amz-checksum-" + algo.lower()) == val,
                  "%s with checksum mode returns the %s: %r" % (method, algo, h))
            check(h.get("x-amz-checksum-type") == "FULL_OBJECT", "type FULL_OBJECT: %r" % h)
            if method == "GET":
                check(b == data, "the data")
        st, h, b = raw("GET", "/%s/%s" % (B, key))
        check(not any(k.startswith("x-amz-checksum-") for k in h),
              "no checksum without checksum mode: %r" % h)
        st, h, b = raw("GET", "/%s/%s" % (B, key), headers={"x-amz-checksum-mode": "ENABLED",
                                                           "range": "bytes=0-9"})
        check(st == 206 and b == data[:10] and "x-amz-checksum-" + algo.lower() not in h,
              "a range has no object checksum: %s %r" % (st, h))
    # The SDK's own: boto3 computes and sends CRC32, SHA1 and SHA256 itself.
    for algo in ("CRC32", "SHA1", "SHA256"):
        key = "boto-" + algo.lower()
        r = s3.put_object(Bucket=B, Key=key, Body=data, ChecksumAlgorithm=algo)
        check(r["Checksum" + algo] == b64(algo, data), "boto3 put %s: %r" % (algo, r))
        g = s3.get_object(Bucket=B, Key=key, ChecksumMode="ENABLED")
        check(g["Body"].read() == data, "boto3 get data")
        check(g.get("Checksum" + algo) == b64(algo, data), "boto3 get %s: %r" % (algo, g))
        hd = s3.head_object(Bucket=B, Key=key, ChecksumMode="ENABLED")
        check(hd.get("Checksum" + algo) == b64(algo, data), "boto3 head %s" % algo)


def t_wrong_checksum():
    ensure_bucket()
    data = b"the body" * 1000
    for algo in ALGOS:
        key = "bad-" + algo.lower()
        wrong = b64(algo, data + b"x")
        expect_err(raw("PUT", "/%s/%s" % (B, key), data, {"x-amz-checksum-" + algo.lower(): wrong}),
                   400, "BadDigest", "PUT with a wrong " + algo)
        check(not exists(key), "no object after a wrong " + algo)
    expect_err(raw("PUT", "/%s/two" % B, data, {"x-amz-checksum-crc32": b64("crc32", data),
                                               "x-amz-checksum-sha1": b64("sha1", data)}),
               400, "InvalidRequest", "two checksum headers")
    expect_err(raw("PUT", "/%s/algo" % B, data, {"x-amz-checksum-crc32": b64("crc32", data),
                                                "x-amz-sdk-checksum-algorithm": "SHA256"}),
               400, "InvalidRequest", "x-amz-sdk-checksum-algorithm other than the header's")
    expect_err(raw("PUT", "/%s/md5" % B, data, {"x-amz-checksum-md5": "AAAA"}),
               400, "InvalidRequest", "an unknown checksum algorithm")
    check(not exists("two") and not exists("algo") and not exists("md5"), "no objects")


def trailer_body(data, trailer_name, trailer_val, cut=40_000):
    body = b""
    for piece in (data[:cut], data[cut:]):
        body += b"%x\r\n" % len(piece) + piece + b"\r\n"
    body += b"0\r\n" + ("%s:%s\r\n" % (trailer_name, trailer_val)).encode() + b"\r\n"
    return body


def t_crc64nvme_trailer():
    """aws-chunked with an unsigned CRC64NVME trailer, as the SDKs send streams."""
    ensure_bucket()
    data = os.urandom(100_000)
    for key, val, ok in (("trail-ok", b64("crc64nvme", data), True),
                         ("trail-bad", b64("crc64nvme", data[1:]), False)):
        body = trailer_body(data, "x-amz-checksum-crc64nvme", val)
        r = raw("PUT", "/%s/%s" % (B, key), body,
                {"content-encoding": "aws-chunked", "x-amz-trailer": "x-amz-checksum-crc64nvme",
                 "x-amz-decoded-content-length": str(len(data)),
                 "x-amz-sdk-checksum-algorithm": "CRC64NVME"},
                content_sha="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        if ok:
            check(r[0] == 200, "trailer PUT: %s %r" % (r[0], r[2][:300]))
            st, h, b = raw("GET", "/%s/%s" % (B, key), headers={"x-amz-checksum-mode": "ENABLED"})
            check(b == data and h.get("x-amz-checksum-crc64nvme") == val,
                  "the CRC64NVME from the trailer is kept: %r" % h)
        else:
            expect_err(r, 400, "BadDigest", "a wrong CRC64NVME trailer")
            check(not exists(key), "no object after a wrong trailer")


def mpu_raw(key, algo, ctype, parts, listed=True, whole_hdr=None):
    """Create (raw headers), upload parts with their checksums, complete.
    @return (upload id, complete response, part checksums)."""
    hdrs = {"x-amz-checksum-algorithm": algo}
    if ctype:
        hdrs["x-amz-checksum-type"] = ctype
    st, h, b = raw("POST", "/%s/%s?uploads" % (B, key), b"", hdrs)
    check(st == 200, "create %s %s: %s %r" % (algo, ctype, st, b[:300]))
    check(h.get("x-amz-checksum-algorithm") == algo, "create answers the algorithm: %r" % h)
    want_type = ctype or ("FULL_OBJECT" if algo == "CRC64NVME" else "COMPOSITE")
    check(h.get("x-amz-checksum-type") == want_type, "create answers the type: %r" % h)
    up = xml_val(b, "UploadId")
    xml, cks = "", []
    for i, p in enumerate(parts, 1):
        ck = b64(algo, p)
        st, h, b = raw("PUT", "/%s/%s?partNumber=%d&uploadId=%s" % (B, key, i, up), p,
                       {"x-amz-checksum-" + algo.lower(): ck})
        check(st == 200 and h.get("x-amz-checksum-" + algo.lower()) == ck,
              "part %d: %s %r" % (i, st, h))
        cks.append(ck)
        xml += "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag>%s</Part>" % (
            i, h["etag"], "<Checksum%s>%s</Checksum%s>" % (algo, ck, algo) if listed else "")
    st, h, b = raw("GET", "/%s/%s?uploadId=%s" % (B, key, up))
    check(st == 200 and re.findall(rb"<Checksum" + algo.encode() + rb">([^<]*)<", b) ==
          [c.encode() for c in cks], "ListParts lists the part checksums: %r" % b[:800])
    check(xml_val(b, "ChecksumAlgorithm") == algo and xml_val(b, "ChecksumType") == want_type,
          "ListParts names the algorithm and type: %r" % b[:800])
    st, h, b = raw("GET", "/%s?uploads&prefix=%s" % (B, key))
    check(st == 200 and xml_val(b, "ChecksumAlgorithm") == algo and
          xml_val(b, "ChecksumType") == want_type,
          "ListMultipartUploads names the algorithm and type: %r" % b[:800])
    extra = {"x-amz-checksum-" + algo.lower(): whole_hdr} if whole_hdr else {}
    r = raw("POST", "/%s/%s?uploadId=%s" % (B, key, up),
            ("<CompleteMultipartUpload>%s</CompleteMultipartUpload>" % xml).encode(), extra)
    return up, r, cks


def check_part_reads(key, parts):
    whole = b"".join(parts)
    off = 0
    for i, p in enumerate(parts, 1):
        st, h, b = raw("GET", "/%s/%s?partNumber=%d" % (B, key, i))
        check(st == 206 and b == p, "GET partNumber=%d: %s, %d bytes" % (i, st, len(b)))
        check(h.get("content-range") == "bytes %d-%d/%d" % (off, off + len(p) - 1, len(whole)),
              "Content-Range of part %d: %r" % (i, h.get("content-range")))
        check(h.get("x-amz-mp-parts-count") == str(len(parts)), "parts count: %r" % h)
        st, h, b = raw("HEAD", "/%s/%s?partNumber=%d" % (B, key, i))
        check(st == 206 and h.get("content-length") == str(len(p)) and b == b"",
              "HEAD partNumber=%d: %s %r" % (i, st, h))
        off += len(p)
    expect_err(raw("GET", "/%s/%s?partNumber=%d" % (B, key, len(parts) + 1)), 416,
               "InvalidPartNumber", "a part past the last")
    r = s3.get_object(Bucket=B, Key=key, PartNumber=2)
    check(r["Body"].read() == parts[1] and r["PartsCount"] == len(parts), "boto3 PartNumber=2")


def t_mpu_composite():
    ensure_bucket()
    parts = [os.urandom(5 * MIB), os.urandom(1000)]
    # boto3 does CRC32, SHA1 and SHA256 itself.
    for algo in ("CRC32", "SHA256"):
        key = "comp-" + algo.lower()
        up = s3.create_multipart_upload(Bucket=B, Key=key, ChecksumAlgorithm=algo)["UploadId"]
        done = []
        for i, p in enumerate(parts, 1):
            r = s3.upload_part(Bucket=B, Key=key, UploadId=up, PartNumber=i, Body=p,
                               ChecksumAlgorithm=algo)
            check(r["Checksum" + algo] == b64(algo, p), "boto3 part %d checksum" % i)
            done.append({"PartNumber": i, "ETag": r["ETag"], "Checksum" + algo: r["Checksum" + algo]})
        lp = s3.list_parts(Bucket=B, Key=key, UploadId=up)
        check([p.get("Checksum" + algo) for p in lp["Parts"]] == [b64(algo, p) for p in parts],
              "boto3 ListParts checksums: %r" % lp["Parts"])
        r = s3.complete_multipart_upload(Bucket=B, Key=key, UploadId=up,
                                         MultipartUpload={"Parts": done})
        want = composite(algo, parts)
        check(r.get("Checksum" + algo) == want, "composite %s: %r, want %s" % (algo, r, want))
        hd = s3.head_object(Bucket=B, Key=key, ChecksumMode="ENABLED")
        check(hd.get("Checksum" + algo) == want, "HEAD composite %s: %r" % (algo, hd))
        check(hd["ResponseMetadata"]["HTTPHeaders"].get("x-amz-checksum-type") == "COMPOSITE",
              "type COMPOSITE")
        check_part_reads(key, parts)
    for algo in ("CRC32C", "SHA1"):
        key = "comp-" + algo.lower()
        up, (st, h, b), cks = mpu_raw(key, algo, None, parts)
        want = composite(algo, parts)
        check(st == 200 and xml_val(b, "Checksum" + algo) == want and
              xml_val(b, "ChecksumType") == "COMPOSITE", "complete %s: %s %r" % (algo, st, b))
        st, h, b = raw("GET", "/%s/%s" % (B, key), headers={"x-amz-checksum-mode": "ENABLED"})
        check(b == b"".join(parts) and h.get("x-amz-checksum-" + algo.lower()) == want and
              h.get("x-amz-checksum-type") == "COMPOSITE", "GET composite %s: %r" % (algo, h))
        # A part read with checksum mode answers that part's checksum.
        st, h, b = raw("GET", "/%s/%s?partNumber=2" % (B, key),
                       headers={"x-amz-checksum-mode": "ENABLED"})
        check(h.get("x-amz-checksum-" + algo.lower()) == cks[1], "part 2's checksum: %r" % h)
        st, h, b = raw("GET", "/%s/%s" % (B, key), headers={"x-amz-checksum-mode": "ENABLED",
                                                           "range": "bytes=5-9"})
        check(st == 206 and "x-amz-checksum-" + algo.lower() not in h,
              "no checksum for a range of a composite object: %r" % h)
    check_part_reads("comp-sha1", parts)
    # A copy keeps the multipart ETag, and so its part ranges; its checksum
    # is its own, over the whole copy.
    r = s3.copy_object(Bucket=B, Key="comp-copy", CopySource={"Bucket": B, "Key": "comp-crc32"})
    check(r["CopyObjectResult"]["ETag"].endswith('-2"'), "copy keeps the ETag: %r" % r)
    check_part_reads("comp-copy", parts)
    st, h, b = raw("HEAD", "/%s/comp-copy" % B, headers={"x-amz-checksum-mode": "ENABLED"})
    check(h.get("x-amz-checksum-crc32") == b64("crc32", b"".join(parts)) and
          h.get("x-amz-checksum-type") == "FULL_OBJECT", "the copy's own CRC32: %r" % h)


def t_mpu_full_object():
    ensure_bucket()
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB + 3), os.urandom(77)]
    whole = b"".join(parts)
    for algo, ctype in (("CRC32", "FULL_OBJECT"), ("CRC32C", "FULL_OBJECT"), ("CRC64NVME", None)):
        key = "full-" + algo.lower()
        want = b64(algo, whole)
        # A wrong whole-object checksum on the completion: refused, upload kept.
        up, r, cks = mpu_raw(key, algo, ctype, parts, whole_hdr=b64(algo, whole[1:]))
        expect_err(r, 400, "BadDigest", "Complete with a wrong x-amz-checksum-" + algo.lower())
        check(not exists(key), "no object after the wrong completion")
        xml = "".join("<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag></Part>" %
                      (i, hashlib.md5(p).hexdigest()) for i, p in enumerate(parts, 1))
        st, h, b = raw("POST", "/%s/%s?uploadId=%s" % (B, key, up),
                       ("<CompleteMultipartUpload>%s</CompleteMultipartUpload>" % xml).encode(),
                       {"x-amz-checksum-" + algo.lower(): want})
        check(st == 200 and xml_val(b, "Checksum" + algo) == want and
              xml_val(b, "ChecksumType") == "FULL_OBJECT",
              "FULL_OBJECT %s: %s %r, want %s" % (algo, st, b, want))
        for method in ("GET", "HEAD"):
            st, h, b = raw(method, "/%s/%s" % (B, key), headers={"x-amz-checksum-mode": "ENABLED"})
            check(h.get("x-amz-checksum-" + algo.lower()) == want and
                  h.get("x-amz-checksum-type") == "FULL_OBJECT", "%s full %s: %r" % (method, algo, h))
            check(method == "HEAD" or b == whole, "the data")
        check_part_reads(key, parts)


def t_mpu_mismatch():
    ensure_bucket()
    parts = [os.urandom(5 * MIB), os.urandom(10)]
    key = "mis"
    up = s3.create_multipart_upload(Bucket=B, Key=key, ChecksumAlgorithm="CRC32")["UploadId"]
    # A part without a checksum, or with another algorithm: refused.
    expect_err(raw("PUT", "/%s/%s?partNumber=1&uploadId=%s" % (B, key, up), parts[0]), 400,
               "InvalidRequest", "a part without the upload's checksum")
    expect_err(raw("PUT", "/%s/%s?partNumber=1&uploadId=%s" % (B, key, up), parts[0],
                   {"x-amz-checksum-sha1": b64("sha1", parts[0])}), 400, "InvalidRequest",
               "a part with another algorithm")
    expect_err(raw("PUT", "/%s/%s?partNumber=1&uploadId=%s" % (B, key, up), parts[0],
                   {"x-amz-checksum-crc32": b64("crc32", parts[1])}), 400, "BadDigest",
               "a part whose checksum is wrong")
    check(s3.list_parts(Bucket=B, Key=key, UploadId=up).get("Parts", []) == [],
          "no part was kept")
    done = []
    for i, p in enumerate(parts, 1):
        r = s3.upload_part(Bucket=B, Key=key, UploadId=up, PartNumber=i, Body=p,
                           ChecksumAlgorithm="CRC32")
        done.append({"PartNumber": i, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]})
    bad = [dict(done[0]), dict(done[1], ChecksumCRC32=b64("crc32", b"other"))]
    try:
        s3.complete_multipart_upload(Bucket=B, Key=key, UploadId=up, MultipartUpload={"Parts": bad})
        raise AssertionError("a wrong part checksum in Complete was accepted")
    except ClientError as e:
        check(e.response["Error"]["Code"] == "InvalidPart", "InvalidPart: %r" % e.response)
    check(not exists(key), "no object after InvalidPart")
    r = s3.complete_multipart_upload(Bucket=B, Key=key, UploadId=up,
                                     MultipartUpload={"Parts": done})
    check(r["ChecksumCRC32"] == composite("crc32", parts), "completes once right")
    # Creation: type and algorithm must agree.
    for algo, ctype in (("CRC64NVME", "COMPOSITE"), ("SHA256", "FULL_OBJECT"), ("MD5", None)):
        hdrs = {"x-amz-checksum-algorithm": algo}
        if ctype:
            hdrs["x-amz-checksum-type"] = ctype
        expect_err(raw("POST", "/%s/x?uploads" % B, b"", hdrs), 400, "InvalidRequest",
                   "create with %s %s" % (algo, ctype))
    # An upload without an algorithm: a checksum in the completion is refused.
    up = s3.create_multipart_upload(Bucket=B, Key="none")["UploadId"]
    r = s3.upload_part(Bucket=B, Key="none", UploadId=up, PartNumber=1, Body=b"x")
    st, h, b = raw("POST", "/%s/none?uploadId=%s" % (B, up),
                   ("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag>"
                    "</Part></CompleteMultipartUpload>" % r["ETag"]).encode(),
                   {"x-amz-checksum-crc32": b64("crc32", b"x")})
    expect_err((st, h, b), 400, "InvalidRequest", "an object checksum for an upload without one")
    s3.abort_multipart_upload(Bucket=B, Key="none", UploadId=up)
    # Without an algorithm, a part checksum the completion lists is still checked.
    up = s3.create_multipart_upload(Bucket=B, Key="none2")["UploadId"]
    st, h, b = raw("PUT", "/%s/none2?partNumber=1&uploadId=%s" % (B, up), b"y",
                   {"x-amz-checksum-crc32": b64("crc32", b"y")})
    check(st == 200, "a part with a checksum in an upload without an algorithm")

    def done(ck):
        return ("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag>"
                "<ChecksumCRC32>%s</ChecksumCRC32></Part></CompleteMultipartUpload>" %
                (h["etag"], ck)).encode()
    expect_err(raw("POST", "/%s/none2?uploadId=%s" % (B, up), done(b64("crc32", b"z"))), 400,
               "InvalidPart", "a wrong listed part checksum in an upload without an algorithm")
    st, _, b = raw("POST", "/%s/none2?uploadId=%s" % (B, up), done(b64("crc32", b"y")))
    check(st == 200 and b"<ChecksumCRC32>" not in b, "completes, no object checksum: %r" % b)


def t_part_copy_checksum():
    """UploadPartCopy in an upload with an algorithm: the part's checksum is
    computed from the copied bytes."""
    ensure_bucket()
    src = os.urandom(70_000)
    s3.put_object(Bucket=B, Key="copysrc", Body=src)
    st, h, b = raw("POST", "/%s/copied?uploads" % B, b"", {"x-amz-checksum-algorithm": "CRC32C"})
    up = xml_val(b, "UploadId")
    st, h, b = raw("PUT", "/%s/copied?partNumber=1&uploadId=%s" % (B, up), b"",
                   {"x-amz-copy-source": "/%s/copysrc" % B,
                    "x-amz-copy-source-range": "bytes=100-60099"})
    part = src[100:60100]
    check(st == 200 and xml_val(b, "ChecksumCRC32C") == b64("crc32c", part),
          "CopyPartResult has the part's CRC32C: %r" % b)
    etag = xml_val(b, "ETag").replace("&quot;", "")
    st, h, b = raw("POST", "/%s/copied?uploadId=%s" % (B, up),
                   ("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag>"
                    "</Part></CompleteMultipartUpload>" % etag).encode())
    check(st == 200 and xml_val(b, "ChecksumCRC32C") == composite("crc32c", [part]),
          "composite of the copied part: %r" % b)


def t_copy_checksum():
    """CopyObject keeps the source's algorithm (recomputed over the copy) or
    computes the one x-amz-checksum-algorithm asks for."""
    ensure_bucket()
    data = os.urandom(33_333)
    st, h, b = raw("PUT", "/%s/csrc" % B, data, {"x-amz-checksum-crc32c": b64("crc32c", data)})
    check(st == 200, "source")
    st, h, b = raw("PUT", "/%s/cdst1" % B, b"", {"x-amz-copy-source": "/%s/csrc" % B})
    check(st == 200 and xml_val(b, "ChecksumCRC32C") == b64("crc32c", data),
          "copy keeps the CRC32C: %r" % b)
    r = s3.copy_object(Bucket=B, Key="cdst2", CopySource={"Bucket": B, "Key": "csrc"},
                       ChecksumAlgorithm="SHA1")
    check(r["CopyObjectResult"].get("ChecksumSHA1") == b64("sha1", data), "copy as SHA1: %r" % r)
    for key, algo in (("cdst1", "CRC32C"), ("cdst2", "SHA1")):
        st, h, b = raw("HEAD", "/%s/%s" % (B, key), headers={"x-amz-checksum-mode": "ENABLED"})
        check(h.get("x-amz-checksum-" + algo.lower()) == b64(algo, data), "HEAD %s: %r" % (key, h))
    expect_err(raw("PUT", "/%s/cdst3" % B, b"", {"x-amz-copy-source": "/%s/csrc" % B,
                                                "x-amz-checksum-algorithm": "MD5"}),
               400, "InvalidRequest", "copy with an unknown algorithm")
    check(not exists("cdst3"), "no copy")


def t_delete_objects_new_algorithms():
    """DeleteObjects takes a CRC64NVME or SHA1 as its integrity check, and
    a wrong one deletes nothing."""
    ensure_bucket()
    s3.put_object(Bucket=B, Key="del1", Body=b"1")
    body = b"<Delete><Object><Key>del1</Key></Object></Delete>"
    for algo in ("CRC64NVME", "SHA1"):
        expect_err(raw("POST", "/%s?delete" % B, body,
                       {"x-amz-checksum-" + algo.lower(): b64(algo, body + b" ")}),
                   400, "BadDigest", "DeleteObjects with a wrong " + algo)
        check(exists("del1"), "nothing deleted")
    st, h, b = raw("POST", "/%s?delete" % B, body,
                   {"x-amz-checksum-crc64nvme": b64("crc64nvme", body)})
    check(st == 200 and b"<Deleted>" in b and not exists("del1"), "deleted: %s %r" % (st, b))


def t_single_part_numbers():
    ensure_bucket()
    data = os.urandom(12345)
    s3.put_object(Bucket=B, Key="single", Body=data)
    st, h, b = raw("GET", "/%s/single?partNumber=1" % B)
    check(st == 200 and b == data and "content-range" not in h, "part 1 is all: %s %r" % (st, h))
    st, h, b = raw("HEAD", "/%s/single?partNumber=1" % B)
    check(st == 200 and h.get("content-length") == str(len(data)), "HEAD part 1: %r" % h)
    expect_err(raw("GET", "/%s/single?partNumber=2" % B), 416, "InvalidPartNumber", "part 2")
    st = raw("HEAD", "/%s/single?partNumber=2" % B)[0]
    check(st == 416, "HEAD part 2: %s" % st)
    for bad in ("0", "10001", "x"):
        expect_err(raw("GET", "/%s/single?partNumber=%s" % (B, bad)), 400, "InvalidArgument",
                   "partNumber=" + bad)
    expect_err(raw("GET", "/%s/single?partNumber=1" % B, headers={"range": "bytes=0-1"}), 400,
               "InvalidRequest", "partNumber with a Range")
    # An empty object made of one empty part.
    up = s3.create_multipart_upload(Bucket=B, Key="empty-mpu")["UploadId"]
    r = s3.upload_part(Bucket=B, Key="empty-mpu", UploadId=up, PartNumber=1, Body=b"")
    s3.complete_multipart_upload(Bucket=B, Key="empty-mpu", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": r["ETag"]}]})
    st, h, b = raw("GET", "/%s/empty-mpu?partNumber=1" % B)
    check(st == 200 and b == b"" and h.get("content-length") == "0" and "content-range" not in h,
          "the empty part of an empty object: %s %r" % (st, h))
    expect_err(raw("GET", "/%s/empty-mpu?partNumber=2" % B), 416, "InvalidPartNumber",
               "part 2 of a one-part upload")


def t_object_attributes():
    ensure_bucket()
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB), os.urandom(9)]
    key = "attrs"
    up, (st, h, b), cks = mpu_raw(key, "CRC32", None, parts)
    check(st == 200, "complete: %r" % b)
    etag = xml_val(b, "ETag").replace("&quot;", "")
    all_attrs = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]
    r = s3.get_object_attributes(Bucket=B, Key=key, ObjectAttributes=all_attrs)
    check(r["ETag"] == etag.strip('"'), "ETag without quotes: %r vs %r" % (r["ETag"], etag))
    check(r["Checksum"]["ChecksumCRC32"] == composite("crc32", parts), "Checksum: %r" % r)
    check(r["StorageClass"] == "STANDARD" and r["ObjectSize"] == sum(map(len, parts)), "size")
    op = r["ObjectParts"]
    check(op["TotalPartsCount"] == 3 and not op["IsTruncated"], "ObjectParts: %r" % op)
    check([(p["PartNumber"], p["Size"], p["ChecksumCRC32"]) for p in op["Parts"]] ==
          [(i, len(p), cks[i - 1]) for i, p in enumerate(parts, 1)], "Parts: %r" % op["Parts"])
    r = s3.get_object_attributes(Bucket=B, Key=key, ObjectAttributes=["ObjectParts"], MaxParts=2)
    op = r["ObjectParts"]
    check(op["IsTruncated"] and op["NextPartNumberMarker"] == 2 and len(op["Parts"]) == 2,
          "paged: %r" % op)
    check("ETag" not in r and "ObjectSize" not in r, "only what was asked: %r" % r)
    r = s3.get_object_attributes(Bucket=B, Key=key, ObjectAttributes=["ObjectParts"],
                                 PartNumberMarker=2)
    check([p["PartNumber"] for p in r["ObjectParts"]["Parts"]] == [3], "after the marker")
    # Parts without checksums: only their count, as AWS.
    up = s3.create_multipart_upload(Bucket=B, Key="attrs0")["UploadId"]
    done = []
    for i, p in enumerate(parts[1:], 1):
        r = s3.upload_part(Bucket=B, Key="attrs0", UploadId=up, PartNumber=i, Body=p)
        done.append({"PartNumber": i, "ETag": r["ETag"]})
    s3.complete_multipart_upload(Bucket=B, Key="attrs0", UploadId=up,
                                 MultipartUpload={"Parts": done})
    r = s3.get_object_attributes(Bucket=B, Key="attrs0", ObjectAttributes=all_attrs)
    check(r["ObjectParts"] == {"TotalPartsCount": 2} and "Checksum" not in r,
          "parts without checksums: %r" % r)
    # A single-part object: no ObjectParts.
    s3.put_object(Bucket=B, Key="attrs1", Body=b"hello", ChecksumAlgorithm="SHA256")
    r = s3.get_object_attributes(Bucket=B, Key="attrs1", ObjectAttributes=all_attrs)
    check("ObjectParts" not in r and r["ObjectSize"] == 5 and
          r["ETag"] == hashlib.md5(b"hello").hexdigest() and
          r["Checksum"]["ChecksumSHA256"] == b64("sha256", b"hello"), "single: %r" % r)
    expect_err(raw("GET", "/%s/attrs1?attributes" % B, headers={"x-amz-object-attributes": "Bogus"}),
               400, "InvalidArgument", "an unknown attribute")
    expect_err(raw("GET", "/%s/attrs1?attributes" % B), 400, "InvalidArgument", "no attributes")
    expect_err(raw("GET", "/%s/nokey?attributes" % B, headers={"x-amz-object-attributes": "ETag"}),
               404, "NoSuchKey", "a missing key")
    expect_err(raw("GET", "/%s/attrs1?attributes" % B, headers={"x-amz-object-attributes": "ETag",
                                                                "if-match": "*"}),
               501, "NotImplemented", "a condition on GetObjectAttributes")


def t_mount_rewrite():
    """A multipart object with a checksum, rewritten through the mount, is
    then a plain single-part object without a stored checksum."""
    mnt = os.environ["TFS_MNT"]
    ensure_bucket()
    parts = [os.urandom(5 * MIB), os.urandom(100)]
    up, (st, h, b), cks = mpu_raw("mnt", "CRC32", None, parts)
    check(st == 200, "complete: %r" % b)
    check_part_reads("mnt", parts)
    path = os.path.join(mnt, B, "mnt")
    with open(path, "r+b") as f:
        f.seek(10)
        f.write(b"changed through the mount")
    with open(path, "rb") as f:
        now = f.read()
    check(len(now) == sum(map(len, parts)), "same size")
    st, h, b = raw("GET", "/%s/mnt?partNumber=1" % B, headers={"x-amz-checksum-mode": "ENABLED"})
    check(st == 200 and b == now, "part 1 is now the whole object: %s %d" % (st, len(b)))
    check(not any(k.startswith("x-amz-checksum-") for k in h) and "x-amz-mp-parts-count" not in h,
          "no stale checksum or parts count: %r" % h)
    expect_err(raw("GET", "/%s/mnt?partNumber=2" % B), 416, "InvalidPartNumber",
               "part 2 after the rewrite")
    st, h, b = raw("HEAD", "/%s/mnt" % B, headers={"x-amz-checksum-mode": "ENABLED"})
    check(h.get("etag") == '"%s"' % hashlib.md5(now).hexdigest(), "a fresh ETag: %r" % h)
    check(not any(k.startswith("x-amz-checksum-") for k in h), "no checksum: %r" % h)
    r = s3.get_object_attributes(Bucket=B, Key="mnt",
                                 ObjectAttributes=["ETag", "Checksum", "ObjectParts"])
    check("ObjectParts" not in r and "Checksum" not in r, "plain attributes: %r" % r)


TESTS = [t_reference_vectors, t_put_each_algorithm, t_wrong_checksum, t_crc64nvme_trailer,
         t_mpu_composite, t_mpu_full_object, t_mpu_mismatch, t_part_copy_checksum, t_copy_checksum,
         t_delete_objects_new_algorithms,
         t_single_part_numbers,
         t_object_attributes, t_mount_rewrite]


def main():
    only = sys.argv[1:]
    failed = 0
    for t in TESTS:
        if (only and t.__name__ not in only) or (not only and t is t_mount_rewrite):
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
