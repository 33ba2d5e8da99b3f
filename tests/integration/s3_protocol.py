#!/usr/bin/env python3
"""The S3 sidecar at the HTTP level, with raw sockets: aws-chunked uploads in
their three forms (signed chunks, signed chunks with a signed trailer,
unsigned chunks with a checksum trailer), Expect: 100-continue, pipelining,
virtual-hosted-style addressing, and bad input: malformed requests, oversize
headers, truncated bodies, a wrong Content-Length, a payload hash for another
body, a client sending one byte a second, 200 concurrent connections. After
each bad request the server must keep serving and must not have stored
anything half-written. Environment as from s3_env.py.
"""
import base64
import datetime
import hashlib
import hmac
import os
import socket
import sys
import threading
import time
import urllib.parse
import zlib

HOST = "127.0.0.1"
PORT = int(os.environ["S3_PORT"])
AK, SK = os.environ["S3_AK"], os.environ["S3_SK"]
REGION = "us-east-1"
EMPTY = hashlib.sha256(b"").hexdigest()
PENDING = {}  # bytes read past a response, by socket


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def hmac256(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signing_key(date8):
    k = hmac256(("AWS4" + SK).encode(), date8)
    for part in (REGION, "s3", "aws4_request"):
        k = hmac256(k, part)
    return k


def sign_headers(method, path, headers, payload_hash, query=""):
    """Add x-amz-date, x-amz-content-sha256 and Authorization to headers."""
    now = datetime.datetime.utcnow()
    amz = now.strftime("%Y%m%dT%H%M%SZ")
    headers = dict(headers)
    headers["host"] = "%s:%d" % (HOST, PORT) if "host" not in headers else headers["host"]
    headers["x-amz-date"] = amz
    headers["x-amz-content-sha256"] = payload_hash
    names = sorted(k.lower() for k in headers)
    canon_h = "".join("%s:%s\n" % (n, str(headers[n]).strip()) for n in names)
    q = "&".join(sorted(query.split("&"))) if query else ""
    creq = "\n".join([method, urllib.parse.quote(path, safe="/~"), q, canon_h, ";".join(names),
                      payload_hash])
    scope = "%s/%s/s3/aws4_request" % (amz[:8], REGION)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
    key = signing_key(amz[:8])
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
                                "Signature=%s" % (AK, scope, ";".join(names), sig))
    return headers, key, amz, scope, sig


def connect():
    s = socket.create_connection((HOST, PORT), timeout=20)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    PENDING.pop(id(s), None)  # ids of closed sockets are reused
    return s


def read_response(s, head=False):
    """Read one response; returns (status, headers dict, body)."""
    buf = PENDING.pop(id(s), b"")
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            return None, {}, buf
        buf += d
    hdr, rest = buf.split(b"\r\n\r\n", 1)
    lines = hdr.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    h = {}
    for ln in lines[1:]:
        k, v = ln.split(":", 1)
        h[k.strip().lower()] = v.strip()
    n = 0 if head or status in (100, 204, 304) else int(h.get("content-length", "0"))
    while len(rest) < n:
        d = s.recv(65536)
        if not d:
            break
        rest += d
    PENDING[id(s)] = rest[n:]
    return status, h, rest[:n]


def request(method, path, body=b"", headers=None, sign=True, s=None):
    own = s is None
    s = s or connect()
    headers = dict(headers or {})
    if sign:
        headers = sign_headers(method, path, headers, hashlib.sha256(body).hexdigest())[0]
    else:
        headers.setdefault("host", "%s:%d" % (HOST, PORT))
    headers.setdefault("content-length", str(len(body)))
    raw = "%s %s HTTP/1.1\r\n" % (method, urllib.parse.quote(path, safe="/~"))
    raw += "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
    s.sendall(raw.encode() + body)
    r = read_response(s, head=(method == "HEAD"))
    if own:
        s.close()
    return r


def get(path):
    return request("GET", path)


def chunked_body(data, sizes, key, amz, scope, seed, signed, trailer=None):
    out, prev, off = b"", seed, 0
    for n in sizes + [0]:
        chunk = data[off:off + n]
        off += n
        if signed:
            sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz, scope, prev, EMPTY,
                             hashlib.sha256(chunk).hexdigest()])
            prev = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
            out += b"%x;chunk-signature=%s\r\n" % (n, prev.encode())
        else:
            out += b"%x\r\n" % n
        out += chunk
        if n or not trailer:
            out += b"\r\n"
    if trailer:
        name, value = trailer
        t = "%s:%s" % (name, value)
        out += t.encode() + b"\r\n"
        if signed:
            sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz, scope, prev,
                             hashlib.sha256((t + "\n").encode()).hexdigest()])
            tsig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
            out += b"x-amz-trailer-signature:" + tsig.encode() + b"\r\n"
        out += b"\r\n"
    return out


def crc32_b64(b):
    return base64.b64encode(zlib.crc32(b).to_bytes(4, "big")).decode()


def put_chunked(path, data, mode, sizes, tamper=None, trailer_value=None):
    hdrs = {"content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data))}
    trailer = None
    if mode != "STREAMING-AWS4-HMAC-SHA256-PAYLOAD":
        hdrs["x-amz-trailer"] = "x-amz-checksum-crc32"
        trailer = ("x-amz-checksum-crc32", trailer_value or crc32_b64(data))
    # Content-Length is signed, so compute the body first with a dummy length.
    probe = chunked_body(data, sizes, b"k" * 32, "20000101T000000Z", "x", "0" * 64,
                         mode.startswith("STREAMING-AWS4"), trailer)
    hdrs["content-length"] = str(len(probe))
    headers, key, amz, scope, seed = sign_headers("PUT", path, hdrs, mode)
    body = chunked_body(data, sizes, key, amz, scope, seed, mode.startswith("STREAMING-AWS4"),
                        trailer)
    if tamper:
        body = tamper(body)
    s = connect()
    raw = "PUT %s HTTP/1.1\r\n" % path + "".join("%s: %s\r\n" % kv for kv in headers.items())
    s.sendall(raw.encode() + b"\r\n" + body)
    r = read_response(s)
    s.close()
    return r


def t_setup():
    st = request("PUT", "/proto")[0]
    check(st in (200, 409), "create bucket proto (%s)" % st)


def t_aws_chunked():
    data = os.urandom(200_000)
    for mode in ["STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                 "STREAMING-UNSIGNED-PAYLOAD-TRAILER"]:
        for sizes in ([65536, 65536, 65536, 3392], [200_000]):
            st, h, b = put_chunked("/proto/chunked/" + mode, data, mode, sizes)
            check(st == 200, "%s %r: status %s %r" % (mode, sizes[:1], st, b[:300]))
            st, h, got = get("/proto/chunked/" + mode)
            check(got == data, "%s: the decoded body is stored, never the framing" % mode)
            check(h["etag"] == '"%s"' % hashlib.md5(data).hexdigest(), "%s: ETag" % mode)
        st, h, b = put_chunked("/proto/chunked/empty-" + mode, b"", mode, [])
        check(st == 200, "%s with a zero-byte body: %s %r" % (mode, st, b[:200]))
        check(get("/proto/chunked/empty-" + mode)[2] == b"", "zero-byte chunked object")
    # A changed chunk signature, a changed byte, a wrong trailer checksum: refused, not stored.
    mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    st, h, b = put_chunked("/proto/chunked/bad1", data, mode, [65536, 134464],
                           tamper=lambda x: x.replace(b"chunk-signature=", b"chunk-signature=0", 1)
                           .replace(b"\r\n", b"0\r\n", 0))
    check(st == 403 and b"SignatureDoesNotMatch" in b, "a bad chunk signature is refused (%s)" % st)
    st, h, b = put_chunked("/proto/chunked/bad2", data, mode, [65536, 134464],
                           tamper=lambda x: x[:1000] + bytes([x[1000] ^ 1]) + x[1001:])
    check(st == 403, "a changed data byte breaks the chunk signature (%s)" % st)
    st, h, b = put_chunked("/proto/chunked/bad3", data, "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                           [100_000, 100_000], trailer_value="AAAAAA==")
    check(st == 400 and b"BadDigest" in b, "a wrong trailing CRC32 is refused (%s %r)" % (st, b))
    for k in ("bad1", "bad2", "bad3"):
        check(get("/proto/chunked/" + k)[0] == 404, "refused upload %s stored nothing" % k)


def t_continue_and_pipelining():
    body = b"x" * 5000
    headers = sign_headers("PUT", "/proto/cont", {"expect": "100-continue",
                                                  "content-length": "5000"},
                           hashlib.sha256(body).hexdigest())[0]
    s = connect()
    s.sendall(("PUT /proto/cont HTTP/1.1\r\n" + "".join("%s: %s\r\n" % kv
                                                       for kv in headers.items()) +
               "\r\n").encode())
    st, h, _ = read_response(s)
    check(st == 100, "Expect: 100-continue gets 100 Continue (%s)" % st)
    s.sendall(body)
    st, h, _ = read_response(s)
    check(st == 200, "then the PUT succeeds")
    # Refused at the headers: the final status comes without a 100.
    headers["authorization"] = headers["authorization"][:-4] + "0000"
    s = connect()
    s.sendall(("PUT /proto/cont2 HTTP/1.1\r\n" + "".join("%s: %s\r\n" % kv
                                                        for kv in headers.items()) +
               "\r\n").encode())
    st, h, b = read_response(s)
    check(st == 403, "a refused 100-continue request gets its final status at once (%s)" % st)
    s.close()
    # Two requests in one packet: two responses, in order.
    s = connect()
    r1 = sign_headers("GET", "/proto/cont", {}, EMPTY)[0]
    r2 = sign_headers("HEAD", "/proto/cont", {}, EMPTY)[0]
    raw = b""
    for m, hd in (("GET", r1), ("HEAD", r2)):
        raw += ("%s /proto/cont HTTP/1.1\r\n" % m + "".join("%s: %s\r\n" % kv
                                                          for kv in hd.items()) +
                "\r\n").encode()
    s.sendall(raw)
    st1, h1, b1 = read_response(s)
    check(st1 == 200 and b1 == body, "pipelined GET")
    st2, h2, b2 = read_response(s, head=True)
    check(st2 == 200 and h2.get("content-length") == "5000", "pipelined HEAD")
    s.close()


def t_virtual_host():
    st, h, b = request("GET", "/cont", headers={"host": "proto.localhost:%d" % PORT})
    check(st == 200 and len(b) == 5000, "virtual-hosted-style GET (%s %r)" % (st, b[:200]))


def alive():
    st, h, b = request("GET", "/health", sign=False)
    check(st == 200 and b == b"ok", "the server keeps serving")


def t_bad_input():
    s = connect()
    s.sendall(b"GARBAGE / HTTP/1.1\r\n\r\n")
    st, h, b = read_response(s)
    check(st == 400, "a malformed request is 400 (%s)" % st)
    s.close()
    alive()
    s = connect()
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n")
    st, h, b = read_response(s)
    check(st == 400 and b"RequestHeaderSectionTooLarge" in b, "oversize headers (%s)" % st)
    s.close()
    alive()
    # Truncated body: the client goes away half way.
    body = os.urandom(100_000)
    headers = sign_headers("PUT", "/proto/trunc", {"content-length": str(len(body))},
                           hashlib.sha256(body).hexdigest())[0]
    s = connect()
    s.sendall(("PUT /proto/trunc HTTP/1.1\r\n" + "".join("%s: %s\r\n" % kv
                                                        for kv in headers.items()) +
               "\r\n").encode() + body[:50_000])
    time.sleep(0.2)
    s.close()
    time.sleep(0.3)
    check(get("/proto/trunc")[0] == 404, "a truncated upload stored nothing")
    # Content-Length shorter than the body sent: the payload hash no longer matches.
    headers = sign_headers("PUT", "/proto/wrongcl", {"content-length": "10"},
                           hashlib.sha256(body[:20]).hexdigest())[0]
    s = connect()
    s.sendall(("PUT /proto/wrongcl HTTP/1.1\r\n" + "".join("%s: %s\r\n" % kv
                                                          for kv in headers.items()) +
               "\r\n").encode() + body[:20])
    st, h, b = read_response(s)
    check(st == 400 and b"XAmzContentSHA256Mismatch" in b, "a wrong Content-Length (%s)" % st)
    s.close()
    check(get("/proto/wrongcl")[0] == 404, "and nothing stored")
    # A signature over another body.
    headers = sign_headers("PUT", "/proto/other", {"content-length": "5"},
                           hashlib.sha256(b"hello").hexdigest())[0]
    s = connect()
    s.sendall(("PUT /proto/other HTTP/1.1\r\n" + "".join("%s: %s\r\n" % kv
                                                        for kv in headers.items()) +
               "\r\n").encode() + b"jello")
    st, h, b = read_response(s)
    check(st == 400 and b"XAmzContentSHA256Mismatch" in b, "a body other than signed (%s)" % st)
    s.close()
    check(get("/proto/other")[0] == 404, "and nothing stored")
    alive()


def t_slow_client_and_many_connections():
    timeout = int(os.environ.get("S3_HEADER_TIMEOUT", "3"))
    slow = connect()
    closed = threading.Event()

    def dribble():
        try:
            for ch in b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
                slow.sendall(bytes([ch]))
                time.sleep(1)
        except OSError:
            closed.set()

    th = threading.Thread(target=dribble, daemon=True)
    th.start()
    t0 = time.time()
    for _ in range(20):
        alive()
    check(time.time() - t0 < 5, "a slow client does not stall the others")
    # 200 concurrent connections, each with a request in flight.
    socks = [connect() for _ in range(200)]
    for s in socks:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    ok = sum(1 for s in socks if read_response(s)[0] == 200)
    for s in socks:
        s.close()
    check(ok == 200, "200 concurrent connections served (%d)" % ok)
    slow.settimeout(timeout + 10)
    try:
        data = slow.recv(100)
        gone = data == b"" or data.startswith(b"HTTP/1.1 4")
    except OSError:
        gone = True
    check(gone or closed.wait(timeout + 10), "the slow client is cut off after the timeout")
    check(time.time() - t0 < timeout + 15, "within the header timeout")
    alive()


def t_volume_in_use():
    import subprocess
    b = os.environ.get("TRACKFS_BIN_DIR") or os.path.join(os.path.dirname(__file__), "..", "..",
                                                          "build")
    p = subprocess.run([os.path.join(b, "fs", "s3", "trackfs-s3"), "--no-auth", "--listen",
                        "127.0.0.1:0", os.environ["S3_META"]], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=30)
    check(p.returncode == 1, "a second trackfs-s3 on the same volume fails (%d)" % p.returncode)
    check("in use by pid" in p.stdout and "trackfs -o s3=" in p.stdout,
          "and says who holds it and what to use instead:\n" + p.stdout)
    alive()


TESTS = [t_setup, t_volume_in_use, t_aws_chunked, t_continue_and_pipelining, t_virtual_host, t_bad_input,
         t_slow_client_and_many_connections]

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
    print("s3_protocol: all passed")
