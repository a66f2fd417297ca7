// Object-store test fixtures: the three stores side by side, and a real S3-compatible server on
// loopback. The S3 server is s3rver (npm): a Node implementation of the S3 REST API over a
// directory — signature v4, multipart upload, ranged GET, ListObjectsV2 — that needs no Docker
// engine or binary download (MinIO is in neither Debian nor npm; Ceph's radosgw needs a cluster).
// It lacks AbortMultipartUpload and ListMultipartUploads; the store tolerates that (parts left
// behind are invisible), and the tests say so where it matters.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import type { ObjectStoreName } from '../src/config.js';

export const STORES: ObjectStoreName[] = ['db', 'fs', 's3'];
export const BUCKET = 'keyport-test';

export interface S3Fixture {
  endpoint: string;
  dir: string;
  env: Record<string, string>;
  /** keys in the bucket (what a reader of the bucket would see) */
  keys(): Promise<string[]>;
  client: S3Client;
  stop(): Promise<void>;
}

export async function startS3(): Promise<S3Fixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory: dir,
    silent: true,
    configureBuckets: [{ name: BUCKET, configs: [] }],
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const env = {
    KEYPORT_S3_ENDPOINT: endpoint,
    KEYPORT_S3_BUCKET: BUCKET,
    KEYPORT_S3_REGION: 'us-east-1',
    KEYPORT_S3_ACCESS_KEY_ID: 'S3RVER', // s3rver's built-in account
    KEYPORT_S3_SECRET_ACCESS_KEY: 'S3RVER',
    KEYPORT_S3_FORCE_PATH_STYLE: '1',
  };
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  return {
    endpoint,
    dir,
    env,
    client,
    async keys() {
      const r = await client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
      return (r.Contents ?? []).map((o) => o.Key ?? '').sort();
    },
    async stop() {
      client.destroy();
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Environment of an app whose new objects go to `store`. */
export function storeEnv(store: ObjectStoreName, s3: S3Fixture | null): Record<string, string> {
  return { KEYPORT_OBJECT_STORE: store, ...(s3 ? s3.env : {}) };
}

/** Files under a directory, relative, recursively (fs store contents). */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}
