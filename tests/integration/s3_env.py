#!/usr/bin/env python3
"""Harness for the S3 sidecar's integration tests: a temporary volume (made
by mkfs.trackfs over two disk directories), an auth file, and trackfs-s3 on
127.0.0.1 with a free port; runs a command with S3_* in its environment, then
stops the server (which must exit 0), checks the volume with fsck.trackfs
(must be clean) and removes everything (TFS_KEEP=1 keeps it).

    s3_env.py [--server-arg ARG ...] -- CMD ARGS...

CMD sees S3_ENDPOINT, S3_AK/S3_SK (read-write on every bucket), S3_RO_AK/
S3_RO_SK (read-only), S3_MINE_AK/S3_MINE_SK (read-write on the bucket
"mine" only), S3_ANON_BUCKET (readable anonymously), S3_TMP, S3_META.
If S3_PIDFILE is set, the server's pid is written there (for a shell trap).
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("TRACKFS_BIN_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        sys.exit("usage: s3_env.py [--server-arg ARG ...] -- CMD ARGS...")
    i = argv.index("--")
    opts, cmd = argv[:i], argv[i + 1:]
    extra = [opts[k + 1] for k in range(len(opts)) if opts[k] == "--server-arg"]
    tmp = tempfile.mkdtemp(prefix="tfs-s3-")
    server = None
    rc = 1
    try:
        disks = [os.path.join(tmp, "disk1"), os.path.join(tmp, "disk2")]
        for d in disks:
            os.mkdir(d)
        subprocess.run([os.path.join(BIN, "tools", "mkfs.trackfs"), "-d", disks[0], "-d",
                        disks[1]], check=True, stdout=subprocess.DEVNULL)
        meta = os.path.join(disks[0], "meta")
        auth = os.path.join(tmp, "auth")
        with open(auth, "w") as f:
            f.write("# test users\nAKRW SKRW rw *\nAKRO SKRO ro *\nanonymous ro public\n"
                    "AKMINE SKMINE rw mine\n")
        os.chmod(auth, 0o600)
        port_file = os.path.join(tmp, "port")
        log = open(os.path.join(tmp, "server.log"), "w")
        server = subprocess.Popen(
            [os.path.join(BIN, "fs", "s3", "trackfs-s3"), "--auth", auth, "--listen",
             "127.0.0.1:0", "--port-file", port_file] + extra + [meta],
            stdout=log, stderr=subprocess.STDOUT)
        if os.environ.get("S3_PIDFILE"):
            with open(os.environ["S3_PIDFILE"], "w") as f:
                f.write("%d\n" % server.pid)
        for _ in range(100):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            if server.poll() is not None:
                raise RuntimeError("trackfs-s3 exited with %d at start" % server.returncode)
            time.sleep(0.1)
        else:
            raise RuntimeError("trackfs-s3 did not start listening within 10 s")
        port = open(port_file).read().strip()
        env = dict(os.environ, S3_ENDPOINT="http://127.0.0.1:" + port, S3_PORT=port,
                   S3_AK="AKRW", S3_SK="SKRW", S3_RO_AK="AKRO", S3_RO_SK="SKRO",
                   S3_MINE_AK="AKMINE", S3_MINE_SK="SKMINE",
                   S3_ANON_BUCKET="public", S3_TMP=tmp, S3_META=meta,
                   S3_LOG=os.path.join(tmp, "server.log"))
        rc = subprocess.run(cmd, env=env).returncode
        if server.poll() is not None:
            print("FAIL: trackfs-s3 died during the test (status %d)" % server.returncode)
            rc = rc or 1
        else:
            server.send_signal(signal.SIGTERM)
            try:
                st = server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                st = server.wait()
            if st != 0:
                print("FAIL: trackfs-s3 exited with status %d on SIGTERM" % st)
                rc = rc or 1
        server = None
        fsck = subprocess.run([os.path.join(BIN, "tools", "fsck.trackfs"), "--scrub", meta])
        if fsck.returncode != 0:
            print("FAIL: fsck.trackfs found the volume unclean after the test (%d)" %
                  fsck.returncode)
            rc = rc or 1
    finally:
        if server is not None and server.poll() is None:
            server.kill()
            server.wait()
        if rc != 0:
            try:
                print("---- last lines of the server log ----")
                print("".join(open(os.path.join(tmp, "server.log")).readlines()[-30:]))
            except OSError:
                pass
        if os.environ.get("TFS_KEEP"):
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(rc)


if __name__ == "__main__":
    main()
