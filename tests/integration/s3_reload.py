"""Reloading the S3 auth file of a running server (test_control.sh).

usage: s3_reload.py ENDPOINT AUTH_FILE LOG_FILE cmd|signal RELOAD-COMMAND...

The server starts with key A (AKA/SKA rw *). Rewritten to hold key B only and
reloaded (RELOAD-COMMAND: `trackfs s3 reload VOLUME` for "cmd", `kill -HUP PID`
for "signal"), A gets 403 InvalidAccessKeyId and B works; a connection opened
before the reload still answers after it. Rewritten with a bad line 2 and
reloaded, B keeps working and the failure names AUTH_FILE:2 (the command's
stderr and exit status for "cmd", the log for "signal").
"""

import http.client
import subprocess
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, auth, log, mode = sys.argv[1:5]
reload_cmd = sys.argv[5:]
host, port = endpoint.split("//")[1].split(":")
BUCKET = "reload-" + mode


def fail(msg):
    print("FAIL: s3_reload.py (%s): %s" % (mode, msg), file=sys.stderr)
    sys.exit(1)


def client(ak, sk):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ak,
        aws_secret_access_key=sk,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )


def works(ak, sk, key):
    c = client(ak, sk)
    c.put_object(Bucket=BUCKET, Key=key, Body=b"by " + ak.encode())
    got = c.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    if got != b"by " + ak.encode():
        fail("%s read back %r" % (ak, got))


def refused(ak, sk):
    try:
        client(ak, sk).list_objects_v2(Bucket=BUCKET)
    except ClientError as e:
        code = e.response["Error"]["Code"]
        status = e.response["ResponseMetadata"]["HTTPStatusCode"]
        if code != "InvalidAccessKeyId" or status != 403:
            fail("%s: got %s %s, want 403 InvalidAccessKeyId" % (ak, status, code))
        return
    fail("%s still works after the reload" % ak)


def log_count(what):
    with open(log, errors="replace") as f:
        return f.read().count(what)


def reload(expect_ok, expect_text):
    """Run the reload; for a signal, wait for the log to tell its outcome."""
    marks = ("reloaded:", "reloading the auth file %s failed" % auth)
    before = [log_count(m) for m in marks]
    p = subprocess.run(reload_cmd, capture_output=True, text=True)
    out = p.stdout + p.stderr
    if mode == "cmd":
        if (p.returncode == 0) != expect_ok:
            fail("%s exited %d: %s" % (" ".join(reload_cmd), p.returncode, out))
        if expect_text not in out:
            fail("%s said %r, lacks %r" % (" ".join(reload_cmd), out, expect_text))
        return
    if p.returncode != 0:
        fail("%s exited %d: %s" % (" ".join(reload_cmd), p.returncode, out))
    for _ in range(100):
        now = [log_count(m) for m in marks]
        if now != before:
            break
        time.sleep(0.05)
    else:
        fail("the log says nothing about the reload within 5 s")
    if (now[0] > before[0]) != expect_ok:
        fail("the reload %s, want it to %s" % ("worked" if expect_ok else "failed",
                                               "work" if expect_ok else "fail"))
    if log_count(expect_text) == 0:
        fail("the log lacks %r" % expect_text)


def write_auth(text):
    with open(auth, "w") as f:
        f.write(text)


# Key A, as the server started.
client("AKA", "SKA").create_bucket(Bucket=BUCKET)
works("AKA", "SKA", "a1")
refused("AKB", "SKB")

# A keep-alive connection that must outlive the reloads.
conn = http.client.HTTPConnection(host, int(port), timeout=10)
conn.request("GET", "/")
r = conn.getresponse()
r.read()
if r.status != 403:
    fail("an anonymous ListBuckets got %d, want 403" % r.status)

write_auth("# key B only now\nAKB SKB rw *\n")
reload(True, "reloaded: 1 grants")
refused("AKA", "SKA")
works("AKB", "SKB", "b1")

conn.request("GET", "/")
r = conn.getresponse()
r.read()
if r.status != 403:
    fail("the connection opened before the reload got %d, want 403" % r.status)

write_auth("AKA SKA rw *\nthis line is wrong\n")
reload(False, "%s:2:" % auth)
works("AKB", "SKB", "b2")
refused("AKA", "SKA")

conn.request("GET", "/")
r = conn.getresponse()
r.read()
conn.close()
print("s3_reload.py (%s): ok" % mode)
