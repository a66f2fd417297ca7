// The object collector and the store migration, in each store. Collector: objects no package
// references and nobody touched for the grace period go (row, layer possession, bytes), the rest
// stay; staging debris and orphan bytes of crashed uploads are swept; one instance at a time.
// Migration: inline blobs of older installs move into another store, resumably, and stay readable
// throughout.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectStoreName } from '../src/config.js';
import { ObjectCollector } from '../src/modules/objects/gc.js';
import { migrateObjects } from '../src/modules/objects/migrate.js';
import { pathOf, raw, sha } from './dataplane-helpers.js';
import { MutableClock, makeProject, makeTestApp, PG_URL, signUp, type TestApp, type UserSession } from './helpers.js';
import { BUCKET, filesUnder, type S3Fixture, STORES, startS3, storeEnv } from './objects-helpers.js';

const HOUR = 3_600_000;
/** fills one db chunk and a bit of the next */
const CHUNKISH = 1024 * 1024 + 77;
const serverDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

let s3: S3Fixture;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3?.stop();
});

interface World {
  t: TestApp;
  clock: MutableClock;
  owner: UserSession;
  P: { projectId: number; input: number };
  main: number;
}

async function world(store: ObjectStoreName, env: Record<string, string> = {}): Promise<World> {
  const clock = new MutableClock(Date.now());
  const t = await makeTestApp({
    clock,
    env: {
      ...storeEnv(store, s3),
      KEYPORT_S3_PREFIX: `${randomBytes(4).toString('hex')}/`,
      KEYPORT_OBJECT_GC_GRACE_HOURS: '1',
      ...env,
    },
  });
  const owner = await signUp(t.app, 'Owner');
  const P = await makeProject(owner, 'GC');
  const main = (await owner.get(`/api/projects/${P.projectId}/data_layers/last`)).json().id;
  return { t, clock, owner, P, main };
}

const fileRef = (bytes: Buffer) => ({
  name: 'f.bin',
  content_hash: sha(bytes),
  type: 'application/octet-stream',
  is_executable: false,
  is_binary: true,
  size: bytes.length,
});

/** PUT objects: the link, or null when the layer holds it. */
const holdAnswer = async (w: World, bytes: Buffer) =>
  (
    await w.owner.put(`/api/projects/${w.P.projectId}/objects/${sha(bytes)}?data_layer_id=${w.main}`, undefined)
  ).json() as string | null;

async function upload(w: World, bytes: Buffer): Promise<void> {
  const link = await holdAnswer(w, bytes);
  if (link) expect((await raw(w.t.app, 'PUT', link, bytes)).statusCode).toBe(200);
}

async function reference(w: World, bytes: Buffer): Promise<string> {
  const base = `/api/projects/${w.P.projectId}/nodes/${w.P.input}/packages`;
  const pkg = await w.owner.post(`${base}?data_layer_id=${w.main}`, { files: [fileRef(bytes)] });
  expect(pkg.statusCode).toBe(200);
  const [f] = (await w.owner.get(`${base}/${pkg.json().id}/files`)).json();
  return f.content as string;
}

/** An object as installs before object stores kept it: inline in its row. */
async function insertInline(w: World, bytes: Buffer): Promise<void> {
  const h = sha(bytes);
  const now = w.clock.now();
  await w.t.app.ctx.k
    .insertInto('objects')
    .values({
      sha256: h,
      size: bytes.length,
      data: bytes,
      store: 'db',
      store_key: `inline:${h}`,
      created_at: now,
      touched_at: now,
    })
    .execute();
}

async function rowOf(w: World, bytes: Buffer) {
  return w.t.app.ctx.k.selectFrom('objects').selectAll().where('sha256', '=', sha(bytes)).executeTakeFirst();
}

/** Keys the store holds (fs: file names; s3: keys under this app's prefix; db: chunked keys). */
async function storeKeys(w: World, store: ObjectStoreName): Promise<string[]> {
  const { config, k } = w.t.app.ctx;
  if (store === 'fs') return filesUnder(config.objectDir).map((f) => path.basename(f));
  if (store === 's3') {
    const prefix = config.s3?.prefix ?? '';
    return (await s3.keys()).filter((key) => key.startsWith(prefix)).map((key) => path.basename(key));
  }
  return (await k.selectFrom('object_chunks').select('key').distinct().execute()).map((r) => r.key);
}

describe.each(STORES)('object collector, %s store', (store: ObjectStoreName) => {
  let w: World;
  beforeAll(async () => {
    w = await world(store);
  });
  afterAll(async () => {
    await w?.t.close();
  });

  it('removes unreferenced objects untouched for the grace period, keeps referenced and touched ones', async () => {
    const referenced = randomBytes(2 * 1024 * 1024 + 3);
    const unreferenced = randomBytes(1500);
    const promised = randomBytes(1600);
    for (const b of [referenced, unreferenced, promised]) await upload(w, b);
    await reference(w, referenced);
    const gc = new ObjectCollector(w.t.app.ctx);

    w.clock.advance(HOUR / 2);
    expect(await gc.tick(true)).toMatchObject({ objects: 0 });
    expect(await holdAnswer(w, promised)).toBeNull(); // "already there": a package will follow, touched
    const unrefKey = (await rowOf(w, unreferenced))?.store_key as string;
    expect(await storeKeys(w, store)).toContain(unrefKey);

    w.clock.advance(HOUR / 2 + 60_000); // 61 min after the uploads, 31 after the promise
    const first = await gc.tick(true);
    expect(first).toMatchObject({ objects: 1, bytes: unreferenced.length });
    expect(await rowOf(w, unreferenced)).toBeUndefined();
    expect(await storeKeys(w, store)).not.toContain(unrefKey);
    expect(typeof (await holdAnswer(w, unreferenced))).toBe('string'); // the layer no longer holds it
    expect(await rowOf(w, promised)).toBeDefined();
    expect(await rowOf(w, referenced)).toBeDefined();

    w.clock.advance(HOUR);
    expect(await gc.tick(true)).toMatchObject({ objects: 1 }); // the promise was not kept
    expect(await rowOf(w, promised)).toBeUndefined();
    const fresh = await reference(w, referenced); // a new link: the first one has expired
    const down = await w.t.app.inject({ method: 'GET', url: pathOf(fresh) });
    expect(down.statusCode).toBe(200);
    expect(sha(down.rawPayload)).toBe(sha(referenced));
  });

  it("a deleted project's objects go once the grace period has passed", async () => {
    const other = await makeProject(w.owner, 'Doomed');
    const bytes = randomBytes(700);
    const o = {
      ...w,
      P: other,
      main: (await w.owner.get(`/api/projects/${other.projectId}/data_layers/last`)).json().id,
    };
    await upload(o, bytes);
    await reference(o, bytes);
    expect((await w.owner.del(`/api/projects/${other.projectId}`)).statusCode).toBeLessThan(300);
    const gc = new ObjectCollector(w.t.app.ctx);
    expect(await gc.tick(true)).toMatchObject({ objects: 0 }); // touched just now by the package
    w.clock.advance(HOUR + 1000);
    expect(await gc.tick(true)).toMatchObject({ objects: 1 });
    expect(await rowOf(w, bytes)).toBeUndefined();
  });

  it('sweeps staging debris and orphan bytes of crashed uploads, never bytes a row names', async () => {
    w.clock.t = Date.now(); // file and bucket times are real ones
    const kept = randomBytes(900);
    await upload(w, kept);
    await reference(w, kept);
    const keptKey = (await rowOf(w, kept))?.store_key as string;
    const orphan = `${sha(randomBytes(8))}.${randomBytes(8).toString('hex')}`;
    const { config, k } = w.t.app.ctx;
    if (store === 'fs') {
      fs.writeFileSync(path.join(config.objectDir, 'tmp', 'crashed.part'), 'half an upload');
      fs.mkdirSync(path.join(config.objectDir, orphan.slice(0, 2), orphan.slice(2, 4)), { recursive: true });
      fs.writeFileSync(path.join(config.objectDir, orphan.slice(0, 2), orphan.slice(2, 4), orphan), 'no row');
    } else if (store === 's3') {
      const Key = `${config.s3?.prefix}${orphan.slice(0, 2)}/${orphan}`;
      await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'no row' }));
    } else {
      await k
        .insertInto('object_chunks')
        .values({ key: orphan, seq: 0, data: Buffer.from('half'), created_at: w.clock.now() })
        .execute();
    }
    expect(await storeKeys(w, store)).toContain(orphan);
    const gc = new ObjectCollector(w.t.app.ctx);
    // fresh debris may be an upload still running: left alone
    expect(await gc.tick(true)).toMatchObject({ staging: 0, orphans: 0 });
    w.clock.advance(2 * HOUR);
    const report = await gc.tick(true);
    expect((report?.staging ?? 0) + (report?.orphans ?? 0)).toBe(store === 's3' ? 1 : store === 'fs' ? 2 : 1);
    expect(await storeKeys(w, store)).not.toContain(orphan);
    expect(await storeKeys(w, store)).toContain(keptKey);
    if (store === 'fs') expect(filesUnder(path.join(config.objectDir, 'tmp'))).toEqual([]);
  });

  it('runs on one instance at a time, and once per interval', async () => {
    const a = new ObjectCollector(w.t.app.ctx);
    const b = new ObjectCollector(w.t.app.ctx);
    const runs = await Promise.all([a.tick(true), b.tick(true)]);
    expect(runs.filter((r) => r !== null).length).toBe(1);
    // not forced: due only an interval (KEYPORT_OBJECT_GC_INTERVAL_SECONDS, 1 h) after the last pass
    expect(await a.tick()).toBeNull();
    w.clock.advance(HOUR + 1000);
    expect(await b.tick()).not.toBeNull();
  });
});

describe.each(['fs', 's3', 'db'] as const)('objects migrate --to %s', (to) => {
  let w: World;
  const blobs = [randomBytes(3000), randomBytes(CHUNKISH), Buffer.alloc(0)];
  const urls: string[] = [];
  beforeAll(async () => {
    // an install from before object stores: every object inline in its row
    w = await world('db');
    for (const b of blobs) {
      await insertInline(w, b);
      await w.t.app.ctx.k
        .insertInto('layer_objects')
        .values({ data_layer_id: w.main, sha256: sha(b), created_at: w.clock.now() })
        .execute();
      urls.push(await reference(w, b));
    }
  });
  afterAll(async () => {
    await w?.t.close();
  });

  const readAll = async () => {
    for (const [i, url] of urls.entries()) {
      const res = await w.t.app.inject({ method: 'GET', url: pathOf(url) });
      expect(res.statusCode).toBe(200);
      expect(res.rawPayload.equals(blobs[i] as Buffer)).toBe(true);
      if ((blobs[i] as Buffer).length > 10) {
        const part = await w.t.app.inject({ method: 'GET', url: pathOf(url), headers: { range: 'bytes=5-9' } });
        expect(part.rawPayload.equals((blobs[i] as Buffer).subarray(5, 10))).toBe(true);
      }
    }
  };

  it('inline objects are served as before, ranges included', readAll);

  it('moves them object by object; stopped and run again, it finishes; reads work throughout', async () => {
    const ctx = w.t.app.ctx;
    const first = await migrateObjects(ctx, to, { limit: 1 });
    expect(first).toMatchObject({ moved: 1, remaining: 2 });
    await readAll();
    const rest = await migrateObjects(ctx, to);
    expect(rest).toMatchObject({ moved: 2, remaining: 0, missing: 0 });
    const rows = await w.t.app.ctx.k.selectFrom('objects').selectAll().execute();
    for (const r of rows) {
      expect(r.store).toBe(to);
      expect(r.store_key).toMatch(/^[0-9a-f]{64}\.[0-9a-f]{16}$/);
      expect(Buffer.from(r.data as Uint8Array).length).toBe(0); // the inline copy is gone
    }
    await readAll();
    expect(await migrateObjects(ctx, to)).toMatchObject({ moved: 0, remaining: 0 });
  });
});

describe('keyport-server objects migrate (the command)', () => {
  const bin = path.join(serverDir, 'bin', 'keyport-server.mjs');
  const run = (args: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, [bin, ...args], {
      cwd: serverDir,
      env: { ...process.env, KEYPORT_LOG_LEVEL: 'silent', ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });

  it('refuses bad usage with exit code 2', () => {
    const r = run(['objects', 'migrate', '--to', 'tape'], {});
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--to must be fs, s3 or db');
  });

  it('moves the inline objects of a database into the fs store', async () => {
    const w = await world('db');
    try {
      const b = randomBytes(5000);
      await insertInline(w, b);
      const env: Record<string, string> = { KEYPORT_DATA_DIR: w.t.dataDir };
      if (PG_URL) {
        const u = new URL(PG_URL);
        u.searchParams.set('options', `-c search_path=${w.t.pgSchema}`);
        env.DATABASE_URL = u.toString();
      }
      const r = run(['objects', 'migrate', '--to', 'fs'], env);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('moved 1 objects (5000 bytes) to fs; 0 left');
      const row = await rowOf(w, b);
      expect(row?.store).toBe('fs');
      expect(filesUnder(w.t.app.ctx.config.objectDir).map((f) => path.basename(f))).toContain(row?.store_key);
    } finally {
      await w.t.close();
    }
  });
});
