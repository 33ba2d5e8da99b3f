#!/usr/bin/env python3
"""Benchmark of the S3 sidecar on bulk work: listing a bucket of many objects
in one directory page by page (ListObjectsV2, 1,000 keys a page), and
completing a large multipart upload. Prints figures, asserts nothing.

    tools/bench-s3-bulk.py [--objects N] [--upload-mib M] [--dir DIR]

Makes a volume under DIR (default /var/tmp/trackfs-bench-s3-bulk, removed at
the end), serves it with trackfs-s3 --no-auth --no-sync on 127.0.0.1, puts N
empty objects (default 200,000) into one bucket, then times: the first page
of a listing, the pages after it, a whole paginated listing (and the
server's CPU time for it), and CompleteMultipartUpload of M MiB (default
1,024) in 16 MiB parts, with the chunks the volume uses before and after.
Binaries from $TRACKFS_BIN_DIR (default build/). Progress goes to stderr on a
terminal; the table goes to stdout.
"""
import argparse
import http.client
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("TRACKFS_BIN_DIR") or os.path.join(TOP, "build")
NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def say(msg):
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K" + msg)
        sys.stderr.flush()


class Client:
    def __init__(self, port):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def req(self, method, path, body=b""):
        self.c.request(method, path, body=body, headers={"Content-Length": str(len(body))})
        r = self.c.getresponse()
        data = r.read()
        if r.status >= 300:
            raise RuntimeError("%s %s: %d %s" % (method, path, r.status, data[:200]))
        return r, data


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def chunks_used(meta):
    out = subprocess.run([os.path.join(BIN, "tools", "trackfs-status"), meta], check=True,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        f = line.split()
        if f[:1] == ["total"]:
            return int(f[2])
    raise RuntimeError("trackfs status printed no total: " + out)


def put_many(port, n, threads=8):
    done = [0]
    lock = threading.Lock()

    def worker(k):
        c = Client(port)
        for i in range(k, n, threads):
            c.req("PUT", "/bulk/obj-%07d.json" % i)
            with lock:
                done[0] += 1
                if done[0] % 5000 == 0:
                    say("putting objects: %d of %d" % (done[0], n))

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def list_page(c, after):
    path = "/bulk?list-type=2&max-keys=1000" + ("&start-after=" + after if after else "")
    t = time.perf_counter()
    _, data = c.req("GET", path)
    dt = time.perf_counter() - t
    keys = [k.text for k in ET.fromstring(data).iter(NS + "Key")]
    return dt, keys


def main():
    ap = argparse.ArgumentParser(description="S3 sidecar: bulk listing and multipart completion")
    ap.add_argument("--objects", type=int, default=200000)
    ap.add_argument("--upload-mib", type=int, default=1024)
    ap.add_argument("--dir", default="/var/tmp/trackfs-bench-s3-bulk")
    a = ap.parse_args()
    if os.path.exists(a.dir) and os.listdir(a.dir) and \
            not os.path.exists(os.path.join(a.dir, ".trackfs-bench-s3-bulk")):
        sys.exit("bench-s3-bulk: %s exists and is not ours: pass another --dir" % a.dir)
    shutil.rmtree(a.dir, ignore_errors=True)
    for d in ("disk1", "disk2"):
        os.makedirs(os.path.join(a.dir, d))
    open(os.path.join(a.dir, ".trackfs-bench-s3-bulk"), "w").close()
    subprocess.run([os.path.join(BIN, "tools", "mkfs.trackfs"), "-d", a.dir + "/disk1",
                    "-d", a.dir + "/disk2", "--label", "bench"], check=True,
                   stdout=subprocess.DEVNULL)
    meta = a.dir + "/disk1/meta"
    portfile = a.dir + "/port"
    srv = subprocess.Popen([os.path.join(BIN, "fs", "s3", "trackfs-s3"), "--listen",
                            "127.0.0.1:0", "--no-auth", "--no-sync", "--port-file", portfile,
                            meta], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if os.path.exists(portfile) and open(portfile).read().strip():
                break
            time.sleep(0.05)
        port = int(open(portfile).read())
        c = Client(port)
        c.req("PUT", "/bulk")
        put_many(port, a.objects)

        say("listing")
        first, keys = list_page(c, None)
        rest, pages, n = [], 1, len(keys)
        cpu0, t0 = cpu_seconds(srv.pid), time.perf_counter()
        after = keys[-1] if keys else None
        while after:
            dt, keys = list_page(c, after)
            rest.append(dt)
            pages += 1
            n += len(keys)
            after = keys[-1] if len(keys) == 1000 else None
            say("listing: page %d" % pages)
        whole = time.perf_counter() - t0 + first
        cpu = cpu_seconds(srv.pid) - cpu0

        say("multipart upload")
        part = os.urandom(16 << 20)
        nparts = max(1, a.upload_mib // 16)
        _, data = c.req("POST", "/bulk/big.bin?uploads")
        up = re.search(rb"<UploadId>([^<]+)</UploadId>", data).group(1).decode()
        etags = []
        for i in range(nparts):
            r, _ = c.req("PUT", "/bulk/big.bin?partNumber=%d&uploadId=%s" % (i + 1, up), part)
            etags.append(r.getheader("ETag"))
            say("multipart upload: part %d of %d" % (i + 1, nparts))
        body = "<CompleteMultipartUpload>" + "".join(
            "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>" % (i + 1, e)
            for i, e in enumerate(etags)) + "</CompleteMultipartUpload>"
        used0 = chunks_used(meta)
        t = time.perf_counter()
        c.req("POST", "/bulk/big.bin?uploadId=" + up, body.encode())
        complete = time.perf_counter() - t
        grown = chunks_used(meta) - used0
    finally:
        say("")
        srv.terminate()
        srv.wait()
        shutil.rmtree(a.dir, ignore_errors=True)

    rest_ms = 1000 * sum(rest) / len(rest) if rest else 0.0
    print("%-58s %12s" % ("workload", "trackfs-s3"))
    print("%-58s %12.1f" % ("ListObjectsV2 of %d keys in one directory: first page (ms)"
                             % a.objects, 1000 * first))
    print("%-58s %12.1f" % ("  each later page of 1,000 (ms, mean of %d)" % len(rest), rest_ms))
    print("%-58s %12.2f" % ("  the whole listing, %d pages (s)" % pages, whole))
    print("%-58s %12.2f" % ("  the server's CPU time for it (s)", cpu))
    print("%-58s %12.3f" % ("CompleteMultipartUpload of %d MiB in %d parts (s)"
                             % (nparts * 16, nparts), complete))
    print("%-58s %12d" % ("  chunks the completion added to the volume", grown))
    if n != a.objects:
        print("(the listing returned %d keys of %d)" % (n, a.objects))


if __name__ == "__main__":
    main()
