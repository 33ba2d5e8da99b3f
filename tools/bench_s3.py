#!/usr/bin/env python3
"""Client half of tools/bench-s3.sh: the same workloads against trackfs-s3
(SigV4-signed, as tests/integration/s3_bench.py sends them) and against nginx
serving an ext4 directory with WebDAV PUT (unsigned plain HTTP), through the
same client code, interleaved so both see the same machine load; prints one
table (workload, trackfs-s3, nginx, ratio) on stdout and progress on stderr
when it is a terminal.

    bench_s3.py --tfs-port P --ak AK --sk SK --nginx-port P [--quick] [--rounds N]
"""
import argparse
import datetime
import hashlib
import hmac
import http.client
import os
import sys
import threading
import time

HOST = "127.0.0.1"
UNSIGNED = "UNSIGNED-PAYLOAD"
MIB = 1 << 20
TTY = sys.stderr.isatty()


def say(msg):
    if TTY:
        sys.stderr.write("\r\033[K" + msg)
        sys.stderr.flush()


class Target:
    """One server: where it listens and how requests to it are headed."""

    def __init__(self, name, port, ak=None, sk=None):
        self.name, self.port, self.ak, self.sk = name, port, ak, sk
        self.hostport = "%s:%d" % (HOST, port)

    def headers(self, method, path):
        if self.ak is None:
            return {"host": self.hostport}
        return self.signed(method, path, UNSIGNED)

    def signed(self, method, path, payload_hash):
        amz = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        h = {"host": self.hostport, "x-amz-date": amz, "x-amz-content-sha256": payload_hash}
        names = sorted(h)
        creq = "\n".join([method, path, "", "".join("%s:%s\n" % (n, h[n]) for n in names),
                          ";".join(names), payload_hash])
        scope = "%s/us-east-1/s3/aws4_request" % amz[:8]
        sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope,
                         hashlib.sha256(creq.encode()).hexdigest()])
        k = ("AWS4" + self.sk).encode()
        for part in (amz[:8], "us-east-1", "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
        h["authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s"
                              % (self.ak, scope, ";".join(names), sig))
        return h


def op(tgt, conn, buf, method, path, body=None, expect=None):
    """One request on a keep-alive connection; reads the body into buf
    (no per-chunk allocation, so the client costs the same on both sides)
    and returns the number of body bytes."""
    conn.request(method, path, body=body, headers=tgt.headers(method, path))
    r = conn.getresponse()
    n = 0
    mv = memoryview(buf)
    while True:
        got = r.readinto(mv)
        if not got:
            break
        n += got
    if r.status >= 300:
        raise RuntimeError("%s: %s %s: HTTP %d" % (tgt.name, method, path, r.status))
    if expect is not None and n != expect:
        raise RuntimeError("%s: %s %s: %d bytes, expected %d" % (tgt.name, method, path, n,
                                                                 expect))
    return n


def run(tgt, clients, count, fn):
    """Run fn(conn, buf, i) for i in 0..count-1 spread over clients threads,
    each with its own keep-alive connection; return the seconds taken."""
    nxt = [0]
    lock = threading.Lock()
    errors = []
    start = threading.Barrier(clients + 1)

    def worker():
        conn = http.client.HTTPConnection(HOST, tgt.port, timeout=300)
        buf = bytearray(MIB)
        start.wait()
        try:
            while True:
                with lock:
                    i = nxt[0]
                    if i >= count or errors:
                        break
                    nxt[0] += 1
                fn(conn, buf, i)
        except Exception as e:  # report in the main thread
            errors.append(e)
        finally:
            conn.close()

    ts = [threading.Thread(target=worker) for _ in range(clients)]
    for t in ts:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in ts:
        t.join()
    secs = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return secs


def verify(tgt, path, body):
    """GET one object back and compare it with what was PUT (untimed)."""
    conn = http.client.HTTPConnection(HOST, tgt.port, timeout=300)
    conn.request("GET", path, headers=tgt.headers("GET", path))
    r = conn.getresponse()
    data = r.read()
    conn.close()
    if r.status != 200 or data != body:
        raise RuntimeError("%s: GET %s returned other bytes than were PUT (HTTP %d, %d bytes)"
                           % (tgt.name, path, r.status, len(data)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tfs-port", type=int, required=True)
    ap.add_argument("--ak", required=True)
    ap.add_argument("--sk", required=True)
    ap.add_argument("--nginx-port", type=int, required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=0,
                    help="measure each figure N times and keep the best (default 2, quick 1)")
    a = ap.parse_args()
    rounds = a.rounds or (1 if a.quick else 2)
    tfs = Target("trackfs-s3", a.tfs_port, a.ak, a.sk)
    ngx = Target("nginx", a.nginx_port)
    targets = (tfs, ngx)

    conn = http.client.HTTPConnection(HOST, tfs.port, timeout=60)
    op(tfs, conn, bytearray(4096), "PUT", "/bench")
    conn.close()

    # (label, object size, objects in a timed run, distinct keys)
    if a.quick:
        large = (("1 MiB", MIB, 32, 32), ("64 MiB", 64 * MIB, 4, 4))
        nsmall = 300
    else:
        large = (("1 MiB", MIB, 256, 64), ("64 MiB", 64 * MIB, 32, 32))
        nsmall = 5000
    small = os.urandom(4096)
    rows = []  # (workload, unit, {target name: value})

    def measure(label, unit, clients, count, per, fn_for):
        """Best of rounds, targets alternating which goes first so neither
        always runs right after the other's writes."""
        best = {}
        for rnd in range(rounds):
            order = targets if rnd % 2 == 0 else targets[::-1]
            for tgt in order:
                say("%s: %s, %d client%s (round %d/%d)" % (tgt.name, label, clients,
                                                          "" if clients == 1 else "s",
                                                          rnd + 1, rounds))
                os.sync()  # the other side's dirty pages are not this side's cost
                secs = run(tgt, clients, count, fn_for(tgt))
                val = count * per / secs
                best[tgt.name] = max(best.get(tgt.name, 0.0), val)
        rows.append(("%s, %d client%s (%s)" % (label, clients, "" if clients == 1 else "s", unit),
                     unit, best))

    for name, size, count, keys in large:
        body = os.urandom(size)
        stem = name.replace(" ", "")
        for clients in (1, 16):
            measure("PUT " + name, "MiB/s", clients, count, size / MIB,
                    lambda tgt: lambda c, b, i: op(tgt, c, b, "PUT", "/bench/%s-%d" % (stem,
                                                                                   i % keys),
                                                   body))
            for tgt in targets:
                verify(tgt, "/bench/%s-0" % stem, body)
            measure("GET " + name, "MiB/s", clients, count, size / MIB,
                    lambda tgt: lambda c, b, i: op(tgt, c, b, "GET", "/bench/%s-%d" % (stem,
                                                                                   i % keys),
                                                   expect=size))
        del body
    for clients in (1, 16):
        base = "/bench/small%d/" % clients
        measure("PUT 4 KiB", "req/s", clients, nsmall, 1,
                lambda tgt: lambda c, b, i: op(tgt, c, b, "PUT", "%s%d" % (base, i), small))
        for tgt in targets:
            verify(tgt, base + "0", small)
        measure("GET 4 KiB", "req/s", clients, nsmall, 1,
                lambda tgt: lambda c, b, i: op(tgt, c, b, "GET", "%s%d" % (base, i),
                                               expect=4096))
        measure("HEAD 4 KiB", "req/s", clients, nsmall, 1,
                lambda tgt: lambda c, b, i: op(tgt, c, b, "HEAD", "%s%d" % (base, i)))
    say("")

    print("%-34s %12s %12s %8s" % ("workload", "trackfs-s3", "nginx", "ratio"))
    goal = []
    for label, unit, best in rows:
        t, n = best[tfs.name], best[ngx.name]
        ratio = t / n if n > 0 else 0.0
        print("%-34s %12.1f %12.1f %7.0f%%" % (label, t, n, ratio * 100))
        if label.startswith("GET 64 MiB"):
            goal.append((label, ratio))
    print("(ratio: trackfs-s3 as a percentage of nginx; best of %d round%s; %s)"
          % (rounds, "" if rounds == 1 else "s",
             "quick run: few objects, indicative only" if a.quick else "full run"))
    met = all(r >= 0.60 for _, r in goal)
    print("target: GET of 64 MiB objects at least 60%% of nginx: %s (%s)"
          % ("MET" if met else "NOT MET",
             ", ".join("%s %.0f%%" % (lbl.split(", ")[1].split(" (")[0], r * 100)
                       for lbl, r in goal)))


if __name__ == "__main__":
    try:
        main()
    except (RuntimeError, OSError, http.client.HTTPException) as e:
        say("")
        sys.exit("bench-s3: %s" % e)
