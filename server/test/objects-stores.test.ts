// File objects in each store (db, fs, s3 against a real S3-compatible server on loopback), through
// the API: streamed uploads that become objects only when the bytes hash right, streamed
// downloads with Range / 206 / 416 / If-Range / If-None-Match / HEAD, deduplication, hash
// mismatches, oversized and aborted uploads that leave nothing behind, bytes damaged at rest that
// are never served whole, and per-layer possession in every store.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectStoreName } from '../src/config.js';
import { CHUNK } from '../src/modules/objects/stores/db.js';
import { pathOf, personalLayer, raw, sha } from './dataplane-helpers.js';
import { makeProject, makeTestApp, signUp, snapshot, type TestApp, type UserSession, waitFor } from './helpers.js';
import { BUCKET, filesUnder, type S3Fixture, STORES, startS3, storeEnv } from './objects-helpers.js';

let s3: S3Fixture;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3?.stop();
});

const MAX = 12 * 1024 * 1024;

describe.each(STORES)('%s store', (store: ObjectStoreName) => {
  let t: TestApp;
  let owner: UserSession;
  let P: { projectId: number; input: number };
  let main: number;
  let port: number;
  const base = () => `/api/projects/${P.projectId}`;

  beforeAll(async () => {
    t = await makeTestApp({
      env: {
        ...storeEnv(store, s3),
        KEYPORT_MAX_OBJECT_BYTES: String(MAX),
        KEYPORT_S3_PART_BYTES: String(5 * 1024 * 1024),
        KEYPORT_S3_PREFIX: `${store}-${randomBytes(4).toString('hex')}/`,
      },
    });
    owner = await signUp(t.app, 'Owner');
    P = await makeProject(owner, `Objects ${store}`);
    main = (await owner.get(`${base()}/data_layers/last`)).json().id;
    await t.app.listen({ port: 0, host: '127.0.0.1' }); // for the transfers a real socket can cut
    port = (t.app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    t?.app.server.closeAllConnections();
    await t?.close();
  });

  /** What the store holds for objects (final keys), and its staging debris. */
  async function contents(): Promise<{ keys: string[]; staging: string[] }> {
    const dir = t.app.ctx.config.objectDir;
    if (store === 'fs') {
      const all = filesUnder(dir);
      return { keys: all.filter((f) => !f.startsWith('tmp')), staging: all.filter((f) => f.startsWith('tmp')) };
    }
    if (store === 's3') {
      const prefix = t.app.ctx.config.s3?.prefix ?? '';
      return { keys: (await s3.keys()).filter((k) => k.startsWith(prefix)), staging: [] };
    }
    const rows = await t.app.ctx.k.selectFrom('object_chunks').select('key').distinct().execute();
    const named = new Set(
      (await t.app.ctx.k.selectFrom('objects').select('store_key').execute()).map((r) => r.store_key),
    );
    const keys = rows.map((r) => r.key).sort();
    return { keys: keys.filter((k) => named.has(k)), staging: keys.filter((k) => !named.has(k)) };
  }

  const link = async (bytes: Buffer, layer = main) =>
    (await owner.put(`${base()}/objects/${sha(bytes)}?data_layer_id=${layer}`, undefined)).json() as string | null;

  const fileRef = (bytes: Buffer) => ({
    name: 'data.bin',
    content_hash: sha(bytes),
    type: 'application/octet-stream',
    is_executable: false,
    is_binary: true,
    size: bytes.length,
  });

  /** Uploads into the main layer, references it from a package, returns the signed download URL. */
  async function stored(bytes: Buffer): Promise<string> {
    const l = await link(bytes);
    if (l !== null) expect((await raw(t.app, 'PUT', l, bytes)).statusCode).toBe(200);
    const pkg = await owner.post(`${base()}/nodes/${P.input}/packages?data_layer_id=${main}`, {
      files: [fileRef(bytes)],
    });
    expect(pkg.statusCode).toBe(200);
    const [f] = (await owner.get(`${base()}/nodes/${P.input}/packages/${pkg.json().id}/files`)).json();
    return f.content as string;
  }

  const get = (url: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'GET', url: pathOf(url), headers });

  // spans several db chunks and several S3 parts (5 MiB), ends mid-chunk
  const big = randomBytes(11 * 1024 * 1024 + 17);
  let bigUrl: string;

  it('streams an upload into the store under a fresh key, and the download back out', async () => {
    const before = await contents();
    bigUrl = await stored(big);
    const row = await t.app.ctx.k
      .selectFrom('objects')
      .selectAll()
      .where('sha256', '=', sha(big))
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ store, size: big.length });
    expect(row.store_key).toMatch(new RegExp(`^${sha(big)}\\.[0-9a-f]{16}$`));
    expect(Buffer.from(row.data as Uint8Array).length).toBe(0); // not in the row
    const after = await contents();
    expect(after.keys.length).toBe(before.keys.length + 1);
    expect(after.keys.some((k) => k.endsWith(row.store_key))).toBe(true);
    expect(after.staging).toEqual([]);
    if (store === 'fs') {
      const file = path.join(
        t.app.ctx.config.objectDir,
        row.store_key.slice(0, 2),
        row.store_key.slice(2, 4),
        row.store_key,
      );
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    }

    const down = await get(bigUrl);
    expect(down.statusCode).toBe(200);
    expect(down.headers).toMatchObject({
      'content-type': 'application/octet-stream',
      'content-length': String(big.length),
      'accept-ranges': 'bytes',
      etag: `"${sha(big)}"`,
    });
    expect(down.rawPayload.equals(big)).toBe(true);
  });

  it('answers ranges with 206, past the end with 416, and honours If-Range, If-None-Match and HEAD', async () => {
    const size = big.length;
    const cases: [string, number, number][] = [
      ['bytes=0-0', 0, 0],
      [`bytes=${CHUNK - 10}-${CHUNK + 10}`, CHUNK - 10, CHUNK + 10], // across a db chunk boundary
      ['bytes=-100', size - 100, size - 1],
      [`bytes=${size - 5}-`, size - 5, size - 1],
      [`bytes=${size - 5}-${size + 1000}`, size - 5, size - 1], // end clipped to the object
      [`bytes=${5 * 1024 * 1024 - 1}-${10 * 1024 * 1024}`, 5 * 1024 * 1024 - 1, 10 * 1024 * 1024], // across S3 parts
    ];
    for (const [range, start, end] of cases) {
      const res = await get(bigUrl, { range });
      expect(res.statusCode, range).toBe(206);
      expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/${size}`);
      expect(res.headers['content-length']).toBe(String(end - start + 1));
      expect(res.rawPayload.equals(big.subarray(start, end + 1)), range).toBe(true);
    }
    for (const range of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`, 'bytes=-0']) {
      const res = await get(bigUrl, { range });
      expect(res.statusCode, range).toBe(416);
      expect(res.headers['content-range']).toBe(`bytes */${size}`);
    }
    // several ranges, another unit, a reversed range: the whole object
    for (const range of ['bytes=0-1,5-6', 'items=0-1', 'bytes=9-3']) {
      const res = await get(bigUrl, { range });
      expect(res.statusCode, range).toBe(200);
      expect(res.rawPayload.length).toBe(size);
    }
    const etag = `"${sha(big)}"`;
    expect((await get(bigUrl, { range: 'bytes=0-9', 'if-range': etag })).statusCode).toBe(206);
    const stale = await get(bigUrl, { range: 'bytes=0-9', 'if-range': `"${sha('other')}"` });
    expect(stale.statusCode).toBe(200);
    expect(stale.rawPayload.length).toBe(size);
    const cached = await get(bigUrl, { 'if-none-match': etag });
    expect(cached.statusCode).toBe(304);
    expect(cached.rawPayload.length).toBe(0);
    // HEAD on a real socket (the injector recomputes Content-Length from the empty body)
    const head = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http
        .request({ host: '127.0.0.1', port, method: 'HEAD', path: pathOf(bigUrl) }, resolve)
        .on('error', reject)
        .end(),
    );
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe(String(size));
    expect(head.headers['accept-ranges']).toBe('bytes');
    head.resume();
  });

  it('stores bytes once: a second layer uploading them proves possession but writes nothing', async () => {
    const personal = await personalLayer(t.app, P.projectId, owner.user.id);
    const before = await contents();
    const objectsBefore = (await snapshot(t.app)).objects;
    const l = await link(big, personal);
    expect(typeof l).toBe('string'); // that layer does not hold it yet
    expect((await raw(t.app, 'PUT', l as string, big)).statusCode).toBe(200);
    expect(await link(big, personal)).toBeNull();
    expect(await contents()).toEqual(before);
    expect((await snapshot(t.app)).objects).toBe(objectsBefore);
  });

  it('a hash mismatch stores nothing and leaves no staging behind', async () => {
    const bytes = randomBytes(6 * 1024 * 1024);
    const l = (await link(bytes)) as string;
    const before = await snapshot(t.app);
    const storeBefore = await contents();
    const wrong = Buffer.from(bytes);
    wrong.writeUInt8(wrong.readUInt8(wrong.length - 1) ^ 1, wrong.length - 1); // only the last byte differs
    const res = await raw(t.app, 'PUT', l, wrong);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('HASH_MISMATCH');
    expect(await snapshot(t.app)).toEqual(before);
    expect(await contents()).toEqual(storeBefore);
    expect(typeof (await link(bytes))).toBe('string'); // still not held
  });

  it('an upload past KEYPORT_MAX_OBJECT_BYTES is refused (413), announced or not, and stores nothing', async () => {
    const bytes = Buffer.alloc(MAX + 1, 3);
    const l = (await link(bytes)) as string;
    const before = await snapshot(t.app);
    const storeBefore = await contents();
    // Content-Length says so: refused before the body is read
    const announced = await raw(t.app, 'PUT', l, bytes);
    expect(announced.statusCode).toBe(413);
    // chunked, no length: refused once the limit is passed
    const streamed = await t.app.inject({
      method: 'PUT',
      url: pathOf(l),
      headers: { 'content-type': 'application/octet-stream' },
      payload: Readable.from(
        (function* () {
          for (let off = 0; off < bytes.length; off += 1024 * 1024) yield bytes.subarray(off, off + 1024 * 1024);
        })(),
      ),
    });
    expect(streamed.statusCode).toBe(413);
    expect(streamed.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await snapshot(t.app)).toEqual(before);
    expect(await contents()).toEqual(storeBefore);
  });

  it('an upload cut off mid-body leaves nothing visible and no staging; the next one works', async () => {
    const bytes = randomBytes(9 * 1024 * 1024);
    const l = (await link(bytes)) as string;
    const before = await snapshot(t.app);
    const storeBefore = await contents();
    await new Promise<void>((resolve) => {
      const req = http.request({
        host: '127.0.0.1',
        port,
        method: 'PUT',
        path: pathOf(l),
        headers: { 'content-type': 'application/octet-stream', 'content-length': bytes.length },
      });
      req.on('error', () => resolve());
      req.write(bytes.subarray(0, 6 * 1024 * 1024), () => setTimeout(() => req.destroy(), 200));
    });
    await waitFor(async () => ((await contents()).staging.length === 0 ? true : undefined), 'staging cleaned up');
    expect(await contents()).toEqual(storeBefore);
    expect(await snapshot(t.app)).toEqual(before);
    expect(typeof (await link(bytes))).toBe('string');
    expect((await raw(t.app, 'PUT', l, bytes)).statusCode).toBe(200);
    expect(await link(bytes)).toBeNull();
  });

  it('bytes damaged at rest are never served whole: the download is cut short', async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 5);
    const url = await stored(bytes);
    const row = await t.app.ctx.k
      .selectFrom('objects')
      .select('store_key')
      .where('sha256', '=', sha(bytes))
      .executeTakeFirstOrThrow();
    const damaged = Buffer.from(bytes);
    damaged.writeUInt8(damaged.readUInt8(100) ^ 0xff, 100);
    const key = row.store_key;
    if (store === 'fs') {
      fs.writeFileSync(path.join(t.app.ctx.config.objectDir, key.slice(0, 2), key.slice(2, 4), key), damaged);
    } else if (store === 's3') {
      const s3Key = `${t.app.ctx.config.s3?.prefix}${key.slice(0, 2)}/${key}`;
      await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: s3Key, Body: damaged }));
    } else {
      await t.app.ctx.k
        .updateTable('object_chunks')
        .set({ data: damaged.subarray(0, CHUNK) })
        .where('key', '=', key)
        .where('seq', '=', 0)
        .execute();
    }
    const logsBefore = t.logs.length;
    const received = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      const done = () => resolve(Buffer.concat(chunks));
      http
        .get({ host: '127.0.0.1', port, path: pathOf(url) }, (res) => {
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', done);
          res.on('aborted', done);
          res.on('end', done);
        })
        .on('error', done);
    });
    expect(received.length).toBeLessThan(bytes.length);
    expect(t.logs.slice(logsBefore).join('')).toContain('do not hash to the object name');
  });

  it('per-layer possession holds in this store: another layer can neither reference nor read it', async () => {
    const mine = randomBytes(1024);
    await stored(mine);
    const other = await personalLayer(t.app, P.projectId, (await signUp(t.app, 'Other')).user.id);
    // the owner (a manager) names the other layer: it does not hold the object
    expect(typeof (await link(mine, other))).toBe('string');
    const steal = await owner.post(`${base()}/nodes/${P.input}/packages?data_layer_id=${other}`, {
      files: [fileRef(mine)],
    });
    expect(steal.statusCode).toBe(400);
    expect(steal.json().error.code).toBe('INVALID_REFERENCE');
  });
});
