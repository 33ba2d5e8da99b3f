#!/usr/bin/env python3
"""Throughput of the S3 sidecar: PUT and GET of 1 MiB and 64 MiB objects, and
4 KiB PUT/GET/HEAD per second, at 1 and 16 concurrent clients. Prints figures,
asserts nothing. Plain HTTP/1.1 keep-alive connections with signed requests
(SigV4 over headers, as SDKs send them). Environment as from s3_env.py;
S3_BENCH_SCALE (default 1) multiplies the amounts.
"""
import hashlib
import hmac
import http.client
import os
import threading
import time
import datetime

HOST, PORT = "127.0.0.1", int(os.environ["S3_PORT"])
AK, SK = os.environ["S3_AK"], os.environ["S3_SK"]
SCALE = float(os.environ.get("S3_BENCH_SCALE", "1"))
UNSIGNED = "UNSIGNED-PAYLOAD"


def signed(method, path, payload_hash):
    amz = datetime.datetime.utcnow().strftime("%Y%m%dT%H%M%SZ")
    h = {"host": "%s:%d" % (HOST, PORT), "x-amz-date": amz, "x-amz-content-sha256": payload_hash}
    names = sorted(h)
    creq = "\n".join([method, path, "", "".join("%s:%s\n" % (n, h[n]) for n in names),
                      ";".join(names), payload_hash])
    scope = "%s/us-east-1/s3/aws4_request" % amz[:8]
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + SK).encode()
    for part in (amz[:8], "us-east-1", "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    h["authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s"
                          % (AK, scope, ";".join(names), sig))
    return h


def op(conn, method, path, body=None):
    conn.request(method, path, body=body, headers=signed(method, path, UNSIGNED))
    r = conn.getresponse()
    n = 0
    while True:
        d = r.read(1 << 20)
        if not d:
            break
        n += len(d)
    if r.status >= 300:
        raise RuntimeError("%s %s: %d" % (method, path, r.status))
    return n


def run(clients, fn, count):
    """Run fn(conn, i) count times spread over clients; return seconds."""
    done = [0]
    lock = threading.Lock()

    def worker():
        conn = http.client.HTTPConnection(HOST, PORT, timeout=120)
        while True:
            with lock:
                i = done[0]
                if i >= count:
                    break
                done[0] += 1
            fn(conn, i)
        conn.close()

    t0 = time.time()
    ts = [threading.Thread(target=worker) for _ in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return time.time() - t0


def main():
    c = http.client.HTTPConnection(HOST, PORT)
    op(c, "PUT", "/bench")
    print("%-28s %8s %12s" % ("operation", "clients", "result"))
    for size, count in ((1 << 20, int(200 * SCALE)), (64 << 20, max(4, int(8 * SCALE)))):
        body = os.urandom(size)
        label = "%d MiB" % (size >> 20)
        for clients in (1, 16):
            t = run(clients, lambda cn, i: op(cn, "PUT", "/bench/%s-%d" % (label[:-4], i % 32),
                                              body), count)
            print("%-28s %8d %9.0f MB/s" % ("PUT " + label, clients, count * size / t / 1e6))
            t = run(clients, lambda cn, i: op(cn, "GET", "/bench/%s-%d" % (label[:-4],
                                                                          i % min(32, count))),
                    count)
            print("%-28s %8d %9.0f MB/s" % ("GET " + label, clients, count * size / t / 1e6))
    small = os.urandom(4096)
    n = int(2000 * SCALE)
    for clients in (1, 16):
        t = run(clients, lambda cn, i: op(cn, "PUT", "/bench/small/%d" % i, small), n)
        print("%-28s %8d %10.0f /s" % ("PUT 4 KiB", clients, n / t))
        t = run(clients, lambda cn, i: op(cn, "GET", "/bench/small/%d" % i), n)
        print("%-28s %8d %10.0f /s" % ("GET 4 KiB", clients, n / t))
        t = run(clients, lambda cn, i: op(cn, "HEAD", "/bench/small/%d" % i), n)
        print("%-28s %8d %10.0f /s" % ("HEAD 4 KiB", clients, n / t))


if __name__ == "__main__":
    main()
