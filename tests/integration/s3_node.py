#!/usr/bin/env python3
"""The S3 sidecar driven by the JavaScript SDKs from the npm registry: the
current @aws-sdk/client-s3 with its default settings (streams go up as
aws-chunked bodies with a CRC32 trailer) and the minio SDK doing what Milvus
does (put, ranged get, stat, recursive list by prefix, remove, a multipart
object over 5 MiB). The packages are installed once into a cache directory
(TRACKFS_NPM_CACHE, default ~/.cache/trackfs-s3-node). Environment as from
s3_env.py.
"""
import json
import os
import subprocess
import sys

VERSIONS = {"@aws-sdk/client-s3": "3.1169.0", "minio": "8.0.7"}

TEST_JS = r"""
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { Readable } from "node:stream";
import {
  S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, HeadObjectCommand,
  ListObjectsV2Command, DeleteObjectCommand, CreateMultipartUploadCommand, UploadPartCommand,
  CompleteMultipartUploadCommand,
} from "@aws-sdk/client-s3";
import * as Minio from "minio";

const ep = new URL(process.env.S3_ENDPOINT);
const creds = { accessKeyId: process.env.S3_AK, secretAccessKey: process.env.S3_SK };
const md5 = (b) => crypto.createHash("md5").update(b).digest("hex");
const step = (s) => console.log("ok   " + s);

const s3 = new S3Client({ endpoint: ep.origin, region: "us-east-1", forcePathStyle: true,
                          credentials: creds });
await s3.send(new CreateBucketCommand({ Bucket: "node" }));
const data = crypto.randomBytes(300_000);

// A Buffer: the SDK sends the CRC32 in a header.
let r = await s3.send(new PutObjectCommand({ Bucket: "node", Key: "buf", Body: data }));
assert.equal(r.ETag, `"${md5(data)}"`);
step("aws-sdk PutObject (buffer, CRC32 header)");

// A stream: aws-chunked with a CRC32 trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER).
r = await s3.send(new PutObjectCommand({
  Bucket: "node", Key: "dir/stream", ContentLength: data.length,
  Body: Readable.from([data.subarray(0, 70_000), data.subarray(70_000)]) }));
assert.equal(r.ETag, `"${md5(data)}"`, "the framing is not stored as data");
let g = await s3.send(new GetObjectCommand({ Bucket: "node", Key: "dir/stream",
                                             ChecksumMode: "ENABLED" }));
assert.ok(Buffer.from(await g.Body.transformToByteArray()).equals(data));
assert.ok(g.ChecksumCRC32, "the CRC32 is returned with checksum mode");
step("aws-sdk PutObject (stream, aws-chunked + CRC32 trailer) and GetObject");

r = await s3.send(new PutObjectCommand({ Bucket: "node", Key: "empty", ContentLength: 0,
                                         Body: Readable.from([]) }));
let h = await s3.send(new HeadObjectCommand({ Bucket: "node", Key: "empty" }));
assert.equal(h.ContentLength, 0);
step("aws-sdk zero-byte streamed PutObject");

const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: "node", Key: "mpu" }));
const p1 = crypto.randomBytes(5 << 20), p2 = crypto.randomBytes(1000);
const e1 = (await s3.send(new UploadPartCommand({ Bucket: "node", Key: "mpu",
  UploadId: up.UploadId, PartNumber: 1, Body: p1 }))).ETag;
const e2 = (await s3.send(new UploadPartCommand({ Bucket: "node", Key: "mpu",
  UploadId: up.UploadId, PartNumber: 2, Body: p2 }))).ETag;
await s3.send(new CompleteMultipartUploadCommand({ Bucket: "node", Key: "mpu",
  UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: e1 },
                                                     { PartNumber: 2, ETag: e2 }] } }));
g = await s3.send(new GetObjectCommand({ Bucket: "node", Key: "mpu" }));
assert.ok(Buffer.from(await g.Body.transformToByteArray()).equals(Buffer.concat([p1, p2])));
step("aws-sdk multipart upload");

const l = await s3.send(new ListObjectsV2Command({ Bucket: "node" }));
assert.deepEqual(l.Contents.map((o) => o.Key), ["buf", "dir/stream", "empty", "mpu"]);
await s3.send(new DeleteObjectCommand({ Bucket: "node", Key: "buf" }));
step("aws-sdk ListObjectsV2 and DeleteObject");

// minio, as Milvus uses it.
const mc = new Minio.Client({ endPoint: ep.hostname, port: Number(ep.port), useSSL: false,
                              accessKey: creds.accessKeyId, secretKey: creds.secretAccessKey,
                              region: "us-east-1", pathStyle: true, partSize: 5 << 20 });
await mc.putObject("node", "milvus/insert_log/1/seg", data);
const st = await mc.statObject("node", "milvus/insert_log/1/seg");
assert.equal(st.size, data.length);
assert.equal(st.etag, md5(data));
const chunks = [];
for await (const c of await mc.getPartialObject("node", "milvus/insert_log/1/seg", 1000, 5000))
  chunks.push(c);
assert.ok(Buffer.concat(chunks).equals(data.subarray(1000, 6000)));
step("minio putObject, statObject, ranged getPartialObject");

const big = crypto.randomBytes(12 << 20);
await mc.putObject("node", "milvus/index/big", Readable.from([big]), big.length);
const st2 = await mc.statObject("node", "milvus/index/big");
assert.equal(st2.size, big.length);
assert.match(st2.etag, /-\d+$/, "a multipart object over 5 MiB: " + st2.etag);
const all = [];
for await (const c of await mc.getObject("node", "milvus/index/big")) all.push(c);
assert.ok(Buffer.concat(all).equals(big));
step("minio multipart putObject over 5 MiB");

const names = [];
for await (const o of mc.listObjectsV2("node", "milvus/", true)) names.push(o.name);
assert.deepEqual(names, ["milvus/index/big", "milvus/insert_log/1/seg"]);
await mc.removeObject("node", "milvus/index/big");
await mc.removeObjects("node", ["milvus/insert_log/1/seg"]);
const left = [];
for await (const o of mc.listObjectsV2("node", "milvus/", true)) left.push(o.name);
assert.deepEqual(left, []);
step("minio recursive listObjectsV2 by prefix, removeObject(s)");
console.log("s3_node: all passed");
"""


def main():
    cache = os.environ.get("TRACKFS_NPM_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "trackfs-s3-node")
    os.makedirs(cache, exist_ok=True)
    pkg = {"name": "trackfs-s3-node-test", "private": True, "type": "module",
           "dependencies": VERSIONS}
    pkg_path = os.path.join(cache, "package.json")
    if not os.path.exists(pkg_path) or json.load(open(pkg_path)) != pkg or \
            not os.path.isdir(os.path.join(cache, "node_modules", "minio")):
        with open(pkg_path, "w") as f:
            json.dump(pkg, f)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=cache, check=True, timeout=600)
    test = os.path.join(cache, "test.mjs")
    with open(test, "w") as f:
        f.write(TEST_JS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    sys.exit(subprocess.run(["node", test], cwd=cache, env=env, timeout=600).returncode)


if __name__ == "__main__":
    main()
