// Memory stays flat whatever the object size: a 1 GiB object goes up and comes back down through a
// Keyport server process (each store; S3 = s3rver on loopback), while the server's resident memory
// is sampled every 50 ms. Growth over the server after a 32 MiB warm-up transfer must stay under
// 100 MB: the warm-up brings V8's young generation and the buffers awaiting collection to their
// steady size (a fixed cost, larger on newer Node), so what remains is what depends on the size. OBJECTS_BIG_MIB sets
// the size (default 1024), OBJECTS_BIG_STORES the stores (default db,fs,s3).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectStoreName } from '../src/config.js';
import { createPgSchema, dropPgSchema, freePort, PG_URL } from './helpers.js';
import { type S3Fixture, STORES, startS3, storeEnv } from './objects-helpers.js';
import { getHashed, MiB, ownerOf, Payload, putPayload, RssSampler, rssOf, startKeyport } from './objects-transfer.js';

const SIZE = Number(process.env.OBJECTS_BIG_MIB ?? 1024) * MiB;
const ONLY = (process.env.OBJECTS_BIG_STORES ?? STORES.join(',')).split(',') as ObjectStoreName[];
const LIMIT = 100 * 1000 * 1000;

let s3: S3Fixture;
let payload: Payload;
beforeAll(async () => {
  s3 = await startS3();
  payload = new Payload(SIZE);
});
afterAll(async () => {
  await s3?.stop();
});

describe.each(ONLY)('%s store', (store) => {
  it(`a ${SIZE / MiB} MiB upload and download keep the server's memory flat`, { timeout: 180_000 }, async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-big-'));
    const port = await freePort();
    const pgSchema = PG_URL ? await createPgSchema() : null;
    const env: Record<string, string> = {
      PORT: String(port),
      KEYPORT_PUBLIC_URL: `http://127.0.0.1:${port}`,
      KEYPORT_DATA_DIR: dataDir,
      KEYPORT_S3_PREFIX: `big-${port}/`,
      ...storeEnv(store, s3),
    };
    if (PG_URL && pgSchema) {
      const u = new URL(PG_URL);
      u.searchParams.set('options', `-c search_path=${pgSchema}`);
      env.DATABASE_URL = u.toString();
    }
    const server = await startKeyport(env);
    try {
      const owner = await ownerOf(server.url);
      const cold = rssOf(server.proc.pid as number);
      // warm up every code path (store client, hashing, streams) with a smaller object first
      const small = new Payload(32 * MiB);
      const smallUp = await putPayload((await owner.uploadLink(small.sha256)) as string, small);
      expect(smallUp.status, smallUp.body).toBe(200);
      expect((await getHashed(await owner.downloadLink(small.sha256, small.total))).sha256).toBe(small.sha256);

      const pid = server.proc.pid as number;
      const idle = rssOf(pid);
      let sampler = new RssSampler(pid);
      const link = await owner.uploadLink(payload.sha256);
      const up = await putPayload(link as string, payload);
      const upPeak = sampler.stop();
      expect(up.status, up.body).toBe(200);
      expect(JSON.parse(up.body)).toEqual({ content_hash: payload.sha256, size: SIZE });
      sampler = new RssSampler(pid);
      const down = await getHashed(await owner.downloadLink(payload.sha256, SIZE));
      const downPeak = sampler.stop();
      const peak = Math.max(upPeak, downPeak);
      expect(down.status).toBe(200);
      expect(down.bytes).toBe(SIZE);
      expect(down.sha256).toBe(payload.sha256);
      const growth = peak - idle;
      const mbps = (ms: number) => ((SIZE / MiB / ms) * 1000).toFixed(0);
      console.log(
        `[objects-big] ${store}: ${SIZE / MiB} MiB up ${mbps(up.ms)} MiB/s, down ${mbps(down.ms)} MiB/s; ` +
          `server RSS cold ${(cold / 1e6).toFixed(0)} MB, after warm-up ${(idle / 1e6).toFixed(0)} MB, peak while uploading ${(upPeak / 1e6).toFixed(0)} MB, ` +
          `while downloading ${(downPeak / 1e6).toFixed(0)} MB: growth ${(growth / 1e6).toFixed(1)} MB`,
      );
      expect(growth).toBeLessThan(LIMIT);
    } finally {
      await server.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
      if (pgSchema) await dropPgSchema(pgSchema);
    }
  });
});
