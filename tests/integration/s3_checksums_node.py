#!/usr/bin/env python3
"""CRC64NVME sent by the current @aws-sdk/client-s3 from npm (which boto3
1.26 cannot send): PutObject with ChecksumAlgorithm CRC64NVME from a Buffer
(a header) and from a stream (an aws-chunked trailer), GetObject with
ChecksumMode ENABLED (the SDK checks the answer itself, and the value is
compared with one computed here), and a FULL_OBJECT multipart upload. The
SDK is installed as s3_node.py installs it, the same version, into a cache
of its own (TRACKFS_NPM_CACHE or ~/.cache/trackfs-s3-node, "-checksums"
appended). Environment as from s3_env.py.
"""
import base64
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3_checksums import b64  # noqa: E402  the reference CRC64NVME
from s3_node import VERSIONS  # noqa: E402

TEST_JS = r"""
import assert from "node:assert/strict";
import fs from "node:fs";
import { Readable } from "node:stream";
import {
  S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand,
  CreateMultipartUploadCommand, UploadPartCommand, CompleteMultipartUploadCommand,
  GetObjectAttributesCommand,
} from "@aws-sdk/client-s3";

const ep = new URL(process.env.S3_ENDPOINT);
const s3 = new S3Client({ endpoint: ep.origin, region: "us-east-1", forcePathStyle: true,
  credentials: { accessKeyId: process.env.S3_AK, secretAccessKey: process.env.S3_SK } });
const step = (s) => console.log("ok   " + s);
const data = fs.readFileSync(process.env.CK_DATA);
const want = process.env.CK_WANT, p1len = Number(process.env.CK_P1), wantWhole = want;
await s3.send(new CreateBucketCommand({ Bucket: "nodeck" }));

let r = await s3.send(new PutObjectCommand({ Bucket: "nodeck", Key: "buf", Body: data,
                                             ChecksumAlgorithm: "CRC64NVME" }));
assert.equal(r.ChecksumCRC64NVME, want);
step("PutObject with CRC64NVME (Buffer)");
r = await s3.send(new PutObjectCommand({ Bucket: "nodeck", Key: "stream", ContentLength: data.length,
  ChecksumAlgorithm: "CRC64NVME",
  Body: Readable.from([data.subarray(0, 70_000), data.subarray(70_000)]) }));
assert.equal(r.ChecksumCRC64NVME, want);
for (const key of ["buf", "stream"]) {
  const g = await s3.send(new GetObjectCommand({ Bucket: "nodeck", Key: key,
                                                 ChecksumMode: "ENABLED" }));
  assert.ok(Buffer.from(await g.Body.transformToByteArray()).equals(data));
  assert.equal(g.ChecksumCRC64NVME, want, key);
  assert.equal(g.ChecksumType, "FULL_OBJECT");
}
step("PutObject with CRC64NVME (stream: aws-chunked trailer), GetObject ChecksumMode");

const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: "nodeck", Key: "mpu",
  ChecksumAlgorithm: "CRC64NVME", ChecksumType: "FULL_OBJECT" }));
const parts = [data.subarray(0, p1len), data.subarray(p1len)];
const done = [];
for (let i = 0; i < parts.length; i++) {
  const pr = await s3.send(new UploadPartCommand({ Bucket: "nodeck", Key: "mpu",
    UploadId: up.UploadId, PartNumber: i + 1, Body: parts[i], ChecksumAlgorithm: "CRC64NVME" }));
  done.push({ PartNumber: i + 1, ETag: pr.ETag, ChecksumCRC64NVME: pr.ChecksumCRC64NVME });
}
const c = await s3.send(new CompleteMultipartUploadCommand({ Bucket: "nodeck", Key: "mpu",
  UploadId: up.UploadId, ChecksumCRC64NVME: wantWhole, ChecksumType: "FULL_OBJECT",
  MultipartUpload: { Parts: done } }));
assert.equal(c.ChecksumCRC64NVME, wantWhole);
const a = await s3.send(new GetObjectAttributesCommand({ Bucket: "nodeck", Key: "mpu",
  ObjectAttributes: ["Checksum", "ObjectParts", "ObjectSize"] }));
assert.equal(a.Checksum.ChecksumCRC64NVME, wantWhole);
assert.equal(a.Checksum.ChecksumType, "FULL_OBJECT");
assert.equal(a.ObjectParts.TotalPartsCount, 2);
assert.equal(a.ObjectSize, data.length);
const g = await s3.send(new GetObjectCommand({ Bucket: "nodeck", Key: "mpu", PartNumber: 2 }));
assert.ok(Buffer.from(await g.Body.transformToByteArray()).equals(parts[1]));
assert.equal(g.PartsCount, 2);
step("FULL_OBJECT CRC64NVME multipart upload, GetObjectAttributes, GetObject PartNumber");
console.log("s3_checksums_node: all passed");
"""


def main():
    # A cache of its own beside s3_node.py's, so that the two tests can run
    # at once without two npm installs into one directory.
    cache = (os.environ.get("TRACKFS_NPM_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "trackfs-s3-node")) + "-checksums"
    os.makedirs(cache, exist_ok=True)
    sdk = "@aws-sdk/client-s3"
    pkg = {"name": "trackfs-s3-checksums-test", "private": True, "type": "module",
           "dependencies": {sdk: VERSIONS[sdk]}}
    pkg_path = os.path.join(cache, "package.json")
    if not os.path.exists(pkg_path) or json.load(open(pkg_path)) != pkg or \
            not os.path.isdir(os.path.join(cache, "node_modules", "@aws-sdk", "client-s3")):
        with open(pkg_path, "w") as f:
            json.dump(pkg, f)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=cache, check=True, timeout=600)
    data = os.urandom((5 << 20) + 4321)
    path = os.path.join(os.environ["S3_TMP"], "ck-data")
    with open(path, "wb") as f:
        f.write(data)
    test = os.path.join(cache, "test_checksums.mjs")
    with open(test, "w") as f:
        f.write(TEST_JS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(CK_DATA=path, CK_WANT=b64("crc64nvme", data), CK_P1=str(5 << 20))
    assert base64.b64decode(env["CK_WANT"])
    sys.exit(subprocess.run(["node", test], cwd=cache, env=env, timeout=600).returncode)


if __name__ == "__main__":
    main()
