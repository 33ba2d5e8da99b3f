#!/usr/bin/env bash
# Prometheus metrics: the daemon's -o metrics=HOST:PORT listener (GET
# /metrics) counts the bytes and requests of a write through the mount, a
# flipped chunk read back shows as a checksum failure of its disk, a bad
# HOST:PORT is refused naming it; the S3 sidecar's GET /.trackfs/metrics
# counts a PutObject as 2xx and answers an unsigned scrape from loopback, a
# signed one, and refuses a bad signature.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c "import boto3" || fail "python3-boto3 is not installed (packaging/install-deps.sh)"
tfs_setup curl
DEBUG="$TRACKFS_BIN_DIR/tools/trackfs-debug"

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# metric NAME [LABELS]: the value of one sample of the last scrape ($TFS_TMP/scrape).
metric() {
	local n=$1
	[ $# -lt 2 ] || n="$1{$2}"
	awk -v n="$n" '$1 == n { print $2; found = 1 } END { if (!found) print "absent" }' \
		"$TFS_TMP/scrape"
}
scrape() {
	curl -fsS "$1" >"$TFS_TMP/scrape" || fail "scrape $1"
}

step "trackfs --help documents -o metrics"
"$TFS_DAEMON" --help | grep -q -- "-o metrics=HOST:PORT" || fail "trackfs --help does not name -o metrics"

step "a bad -o metrics is refused, naming it"
rc=0
"$TFS_DAEMON" -f -o metrics=no-port-here "$TFS_META" "$TFS_MNT" >"$TFS_TMP/bad.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "the daemon accepted -o metrics=no-port-here"
grep -q "metrics=no-port-here" "$TFS_TMP/bad.log" || fail "the error does not name it: $(cat "$TFS_TMP/bad.log")"
mountpoint -q "$TFS_MNT" && fail "mounted anyway"
rc=0
"$TFS_DAEMON" -f -o metrics=127.0.0.1:99999 "$TFS_META" "$TFS_MNT" >"$TFS_TMP/bad.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "the daemon accepted port 99999"
BUSY=$(free_port)
"$PY" -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(30)' "$BUSY" &
holder=$!
sleep 0.3
rc=0
"$TFS_DAEMON" -f -o "metrics=127.0.0.1:$BUSY" "$TFS_META" "$TFS_MNT" >"$TFS_TMP/bad.log" 2>&1 || rc=$?
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
[ "$rc" -ne 0 ] || fail "the daemon mounted with its metrics port in use"
grep -q "metrics on 127.0.0.1:$BUSY" "$TFS_TMP/bad.log" || fail "the error does not name the port: $(cat "$TFS_TMP/bad.log")"
mountpoint -q "$TFS_MNT" && fail "mounted anyway with the port in use"

MPORT=$(free_port)
SPORT=$(free_port)
AUTH="$TFS_TMP/s3-auth"
printf 'AKMET SKMETSECRET rw *\n' >"$AUTH"
chmod 600 "$AUTH"
M="http://127.0.0.1:$MPORT/metrics"

step "mount with -o metrics and the S3 sidecar; the format has HELP and TYPE lines"
tfs_mount -o "metrics=127.0.0.1:$MPORT,s3=127.0.0.1:$SPORT,s3_auth=$AUTH"
for _ in $(seq 100); do
	curl -fsS -o /dev/null "$M" 2>/dev/null && break
	sleep 0.05
done
curl -fsS -D "$TFS_TMP/headers" "$M" >"$TFS_TMP/scrape" || fail "scrape $M"
grep -qi '^content-type: text/plain; version=0.0.4' "$TFS_TMP/headers" || fail "content type: $(cat "$TFS_TMP/headers")"
grep -q '^# TYPE trackfs_fuse_requests_total counter' "$TFS_TMP/scrape" || fail "no TYPE line"
grep -q '^# HELP trackfs_disk_bytes_used ' "$TFS_TMP/scrape" || fail "no HELP line"
check_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/other")" 404 "another path"
check_eq "$(curl -sI -o /dev/null -w '%{http_code} %{size_download}' "$M")" "200 0" "HEAD /metrics"
# Every sample line: NAME{LABELS} VALUE, and each name has a TYPE.
"$PY" - "$TFS_TMP/scrape" <<'EOF' || fail "the scrape does not parse (above)"
import re, sys
typed, bad = set(), []
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("# TYPE "):
        typed.add(line.split()[2])
    elif line.startswith("#") or not line:
        continue
    else:
        m = re.fullmatch(r'([a-z_]+)(\{[^}]*\})? (-?[0-9.e+]+|\+Inf)', line)
        if not m:
            bad.append(line)
        elif re.sub(r'_(bucket|sum|count)$', '', m.group(1)) not in typed and m.group(1) not in typed:
            bad.append("untyped: " + line)
if bad:
    print("\n".join(bad[:10]))
    sys.exit(1)
EOF
w0=$(metric trackfs_fuse_written_bytes_total)
wr0=$(metric trackfs_fuse_requests_total 'op="write"')
cr0=$(metric trackfs_fuse_requests_total 'op="create"')
vw0=$(metric trackfs_written_bytes_total)
used0=$(metric trackfs_volume_bytes_used)

step "writing 1 MiB grows the byte and request counters by that much"
head -c $((1 << 20)) /dev/urandom >"$TFS_TMP/f"
cp "$TFS_TMP/f" "$TFS_MNT/f"
sync "$TFS_MNT/f"
scrape "$M"
w1=$(metric trackfs_fuse_written_bytes_total)
[ $((w1 - w0)) -ge $((1 << 20)) ] || fail "FUSE bytes written grew by $((w1 - w0)), want >= 1048576"
[ $(($(metric trackfs_written_bytes_total) - vw0)) -ge $((1 << 20)) ] || fail "volume bytes written"
[ "$(metric trackfs_fuse_requests_total 'op="write"')" -gt "$wr0" ] || fail "write requests did not grow"
check_eq "$(($(metric trackfs_fuse_requests_total 'op="create"') - cr0))" 1 "create requests"
[ $(($(metric trackfs_volume_bytes_used) - used0)) -ge $((1 << 20)) ] || fail "used bytes did not grow by 1 MiB"
check_eq "$(metric trackfs_volume_inodes)" 2 "inodes (the root and /f)"
for d in 0 1; do
	check_eq "$(metric trackfs_disk_checksum_failures_total "disk=\"$d\",path=\"$TFS_TMP/disk$((d + 1))\"")" 0 \
		"checksum failures of disk $d before the flip"
done

step "S3: a PutObject shows as PutObject 2xx in /.trackfs/metrics"
S3_ENDPOINT="http://127.0.0.1:$SPORT" "$PY" - <<'EOF' || fail "S3 part (above)"
import os, re, sys, time, urllib.request, urllib.error
import boto3, botocore.auth, botocore.awsrequest, botocore.credentials
from botocore.config import Config
ep = os.environ["S3_ENDPOINT"]
s3 = boto3.client("s3", endpoint_url=ep, aws_access_key_id="AKMET",
                  aws_secret_access_key="SKMETSECRET", region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}))
s3.create_bucket(Bucket="metricsb")
s3.put_object(Bucket="metricsb", Key="k", Body=b"x" * 5000)

def sample(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None

# A request counts once its response is written out, which the client may
# see a moment before: scrape again for up to 2 s.
for _ in range(40):
    body = urllib.request.urlopen(ep + "/.trackfs/metrics").read().decode()
    got = sample(body, 'trackfs_s3_requests_total{op="PutObject",code="2xx"}')
    if got == 1 and sample(body, 'trackfs_s3_requests_total{op="Metrics",code="2xx"}'):
        break
    time.sleep(0.05)
assert got == 1, "PutObject 2xx: %r\n%s" % (got, body)
assert sample(body, 'trackfs_s3_received_bytes_total') >= 5000, "bytes in"
assert sample(body, 'trackfs_s3_request_duration_seconds_count') >= 2, "duration count"
assert sample(body, 'trackfs_s3_open_connections') >= 1, "connections"
assert sample(body, 'trackfs_volume_inodes') is not None, "no volume figures"
# Signed with a key of the auth file: allowed.
creds = botocore.credentials.Credentials("AKMET", "SKMETSECRET")
req = botocore.awsrequest.AWSRequest(method="GET", url=ep + "/.trackfs/metrics")
botocore.auth.S3SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
r = urllib.request.Request(ep + "/.trackfs/metrics", headers=dict(req.headers.items()))
body = urllib.request.urlopen(r).read().decode()
assert sample(body, 'trackfs_s3_requests_total{op="Metrics",code="2xx"}') >= 1, body
# Signed with a wrong secret: refused.
bad = botocore.credentials.Credentials("AKMET", "wrong")
req = botocore.awsrequest.AWSRequest(method="GET", url=ep + "/.trackfs/metrics")
botocore.auth.S3SigV4Auth(bad, "s3", "us-east-1").add_auth(req)
r = urllib.request.Request(ep + "/.trackfs/metrics", headers=dict(req.headers.items()))
try:
    urllib.request.urlopen(r)
    sys.exit("a bad signature was answered")
except urllib.error.HTTPError as e:
    assert e.code == 403, e.code
print("s3 metrics ok")
EOF
tfs_umount

step "a flipped chunk read back counts as a checksum failure of its disk"
l=$("$DEBUG" locate "$TFS_META" /f 4096) || fail "locate /f"
file=$(awk '$1 == "file" { print $2 }' <<<"$l")
off=$(awk '$1 == "offset" { print $2 }' <<<"$l")
disk=$(awk '$1 == "disk" { print $2 }' <<<"$l")
dpath=$(awk '$1 == "disk" { print $3 }' <<<"$l")
[ -n "$file" ] && [ -n "$off" ] || fail "locate printed: $l"
byte=$(od -An -tu1 -j $((off + 7)) -N1 "$file" | tr -d ' ')
printf "\\$(printf '%03o' $((255 - byte)))" | dd of="$file" bs=1 seek=$((off + 7)) conv=notrunc status=none
tfs_mount -o "metrics=127.0.0.1:$MPORT"
for _ in $(seq 100); do
	curl -fsS -o /dev/null "$M" 2>/dev/null && break
	sleep 0.05
done
if dd if="$TFS_MNT/f" of=/dev/null bs=4096 skip=1 count=1 iflag=direct status=none 2>/dev/null; then
	fail "reading the flipped chunk succeeded"
fi
scrape "$M"
total=$(metric trackfs_disk_checksum_failures_total "disk=\"$disk\",path=\"$dpath\"")
[ "$total" != absent ] && [ "$total" -ge 1 ] ||
	fail "checksum failures of disk $disk: $total, want >= 1 ($(grep checksum_failures "$TFS_TMP/scrape"))"
[ "$(metric trackfs_op_errors_total 'op="read"')" -ge 1 ] || fail "read errors did not count"
tfs_umount

step "trackfs-s3 on its own: a PutObject counts, a read-only key may scrape"
"$PY" "$here/s3_env.py" -- "$PY" - <<'EOF' || fail "trackfs-s3 metrics (above)"
import os, time, urllib.request
import boto3, botocore.auth, botocore.awsrequest, botocore.credentials
from botocore.config import Config
ep = os.environ["S3_ENDPOINT"]
s3 = boto3.client("s3", endpoint_url=ep, aws_access_key_id=os.environ["S3_AK"],
                  aws_secret_access_key=os.environ["S3_SK"], region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}))
s3.create_bucket(Bucket="alone")
s3.put_object(Bucket="alone", Key="k", Body=b"y" * 100)
creds = botocore.credentials.Credentials(os.environ["S3_RO_AK"], os.environ["S3_RO_SK"])
req = botocore.awsrequest.AWSRequest(method="GET", url=ep + "/.trackfs/metrics")
botocore.auth.S3SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
r = urllib.request.Request(ep + "/.trackfs/metrics", headers=dict(req.headers.items()))
for _ in range(40):  # counted once written out: see above
    body = urllib.request.urlopen(r).read().decode()
    lines = dict(l.rsplit(" ", 1) for l in body.splitlines() if l and not l.startswith("#"))
    if lines.get('trackfs_s3_requests_total{op="PutObject",code="2xx"}') == "1":
        break
    time.sleep(0.05)
assert lines.get('trackfs_s3_requests_total{op="PutObject",code="2xx"}') == "1", body
assert int(lines["trackfs_written_bytes_total"]) >= 100, body
print("trackfs-s3 metrics ok")
EOF
