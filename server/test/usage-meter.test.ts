// UsageMeter, journal and batch flush without HTTP: exact counts, idempotent replays, crash
// recovery from the journal, database outage with a bounded buffer, drain at close.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyActor } from '../src/auth/key-auth.js';
import type { Ctx } from '../src/context.js';
import { BulkStatement, chunkSizes } from '../src/db/bulk-statement.js';
import { HOUR_MS } from '../src/lib/clock.js';
import { applyBatch } from '../src/modules/usage/flush.js';
import { readSegment } from '../src/modules/usage/journal.js';
import { isBilled, UsageMeter } from '../src/modules/usage/meter.js';
import { MutableClock, makeTestApp, type TestApp } from './helpers.js';

let t: TestApp;
let ctx: Ctx;
const clock = new MutableClock(Date.UTC(2026, 10, 30, 23, 59, 59, 999));
const silent = { info() {}, warn() {}, error() {} };
let nextKey = 1000;

beforeAll(async () => {
  t = await makeTestApp();
  ctx = t.app.ctx;
});
afterAll(() => t.close());

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-meter-'));
const actor = (keyId: number, priceMicros: number, projectId = 1): KeyActor => ({
  kind: 'key',
  keyId,
  userId: 1,
  projectId,
  templateId: 1,
  roleId: 1,
  priceMicros,
});
const meterCtx = () => ({ k: ctx.k, clock, log: silent });
const tick = () => new Promise((r) => setImmediate(r));
/** journal segments (not the meters' .alive files) */
const segments = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.jnl'));

async function totals(keyId: number) {
  const rows = (
    await sql<{
      n: unknown;
      c: unknown;
    }>`SELECT CAST(SUM(count) AS TEXT) AS n, CAST(SUM(count * price_micros) AS TEXT) AS c
      FROM usage_buckets WHERE key_id = ${keyId}`.execute(ctx.k)
  ).rows[0];
  const day = (
    await sql<{ n: unknown; c: unknown }>`SELECT CAST(SUM(requests) AS TEXT) AS n, CAST(SUM(cost_micros) AS TEXT) AS c
      FROM usage_key_days WHERE key_id = ${keyId}`.execute(ctx.k)
  ).rows[0];
  const month = (
    await sql<{ n: unknown; c: unknown }>`SELECT CAST(SUM(requests) AS TEXT) AS n, CAST(SUM(cost_micros) AS TEXT) AS c
      FROM usage_key_months WHERE key_id = ${keyId}`.execute(ctx.k)
  ).rows[0];
  const n = Number(rows?.n ?? 0);
  const c = BigInt(String(rows?.c ?? 0));
  // rollups always agree with the hourly buckets
  expect(Number(day?.n ?? 0)).toBe(n);
  expect(BigInt(String(day?.c ?? 0))).toBe(c);
  expect(Number(month?.n ?? 0)).toBe(n);
  expect(BigInt(String(month?.c ?? 0))).toBe(c);
  return { n, c };
}

describe('billing rule', () => {
  it('bills answers 2xx and 3xx only', () => {
    expect([200, 201, 204, 302, 304, 399].every(isBilled)).toBe(true);
    expect([100, 199, 400, 401, 403, 404, 409, 413, 429, 500, 502, 503].some(isBilled)).toBe(false);
  });
});

describe('UsageMeter', () => {
  it('counts exactly per key, hour and price, and flushes rollups in one batch', async () => {
    const m = new UsageMeter(meterCtx(), { flushMs: 60_000, dataDir: tmp() });
    m.start();
    const k1 = nextKey++;
    const k2 = nextKey++;
    const base = Date.UTC(2026, 10, 30, 23, 59, 59, 999);
    for (let i = 0; i < 1500; i++) m.record(actor(k1, 1), base); // last ms of November
    for (let i = 0; i < 700; i++) m.record(actor(k1, 1_234_567_891), base + 1); // first ms of December, another price
    for (let i = 0; i < 300; i++) m.record(actor(k2, 10_000), base - 5 * HOUR_MS);
    expect(m.bufferedRequests).toBe(2500);
    expect(m.bufferedBuckets).toBe(3);
    await m.flush();
    expect(m.bufferedRequests).toBe(0);
    expect(await totals(k1)).toEqual({ n: 2200, c: 1500n + 700n * 1_234_567_891n });
    expect(await totals(k2)).toEqual({ n: 300, c: 3_000_000n });
    const months = await ctx.k
      .selectFrom('usage_key_months' as never)
      .selectAll()
      .where('key_id' as never, '=', k1 as never)
      .execute();
    expect(months.map((r: Record<string, unknown>) => [Number(r.month), Number(r.requests)]).sort()).toEqual(
      [
        [Date.UTC(2026, 10, 1), 1500],
        [Date.UTC(2026, 11, 1), 700],
      ].sort(),
    );
    await m.close();
  });

  it('applies a batch id once: a retried or replayed batch never double counts', async () => {
    const k = nextKey++;
    const deltas = [{ keyId: k, projectId: 1, hour: 500_000, price: 7, count: 11 }];
    expect(await applyBatch(ctx.k, `test:${k}`, deltas, clock.now())).toBe('applied');
    expect(await applyBatch(ctx.k, `test:${k}`, deltas, clock.now())).toBe('duplicate');
    expect(await totals(k)).toEqual({ n: 11, c: 77n });
  });

  it('writes a batch of many keys in full and partial statements, adding to what is there', async () => {
    // 2,500 keys: two full 1,000-row statements and one of 500, each text built once and reused
    const keys = Array.from({ length: 2500 }, () => nextKey++);
    const deltas = keys.map((keyId, i) => ({ keyId, projectId: 1, hour: 500_010, price: 3, count: 1 + (i % 7) }));
    expect(await applyBatch(ctx.k, `many:1:${keys[0]}`, deltas, clock.now())).toBe('applied');
    expect(await applyBatch(ctx.k, `many:2:${keys[0]}`, deltas, clock.now())).toBe('applied');
    for (const i of [0, 999, 1000, 1999, 2000, 2499]) {
      const n = 2 * (1 + (i % 7));
      expect(await totals(keys[i] as number)).toEqual({ n, c: BigInt(n * 3) });
    }
  });

  it('refuses a bulk statement whose builder binds columns in another order than declared', async () => {
    const swapped = new BulkStatement<{ project_id: number; hour: number; requests: number; cost_micros: number }>(
      ['project_id', 'hour', 'requests', 'cost_micros'],
      (k, rows) =>
        k
          .insertInto('usage_project_hours')
          .values(rows.map((r) => ({ hour: r.hour, project_id: r.project_id, requests: r.requests, cost_micros: 0 }))),
    );
    await expect(swapped.run(ctx.k, [{ project_id: 1, hour: 1, requests: 5, cost_micros: 9 }])).rejects.toThrow(
      /not in the declared order/,
    );
    const written = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM usage_project_hours WHERE hour = 1`.execute(
      ctx.k,
    );
    expect(Number(written.rows[0]?.n)).toBe(0);
  });

  it('cuts batches into full chunks and powers of two, so a few statement texts serve every size', async () => {
    expect(chunkSizes(0, 1000)).toEqual([]);
    expect(chunkSizes(2737, 1000)).toEqual([1000, 1000, 512, 128, 64, 32, 1]);
    expect(chunkSizes(3000, 1000)).toEqual([1000, 1000, 1000]);
    for (let n = 1; n <= 300; n++) {
      const sizes = chunkSizes(n, 100);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(n);
      expect(sizes.every((s, i) => s === 100 || (Number.isInteger(Math.log2(s)) && s < (sizes[i - 1] ?? 128)))).toBe(
        true,
      );
    }
    const hours = new BulkStatement<{ project_id: number; hour: number; requests: number; cost_micros: number }>(
      ['project_id', 'hour', 'requests', 'cost_micros'],
      (k, rows) => k.insertInto('usage_project_hours').values(rows),
      16,
    );
    // batches of every size from 1 to 40 rows: texts for 16, 8, 4, 2 and 1 rows, and no more
    let hour = 10_000;
    for (let n = 1; n <= 40; n++)
      await hours.run(
        ctx.k,
        Array.from({ length: n }, () => ({ project_id: 7, hour: hour++, requests: n, cost_micros: hour })),
      );
    expect(hours.builds).toBe(5);
    const written = await sql<{ n: number; r: number; bad: number }>`
      SELECT COUNT(*) AS n, SUM(requests) AS r, SUM(CASE WHEN cost_micros = hour + 1 THEN 0 ELSE 1 END) AS bad
      FROM usage_project_hours WHERE project_id = 7 AND hour >= 10000`.execute(ctx.k);
    // 1 + 2 + … + 40 rows, each with its batch's size as requests; every row's own values in place
    const row = written.rows[0] as { n: unknown; r: unknown; bad: unknown };
    expect([row.n, row.r, row.bad].map(Number)).toEqual([820, 22140, 0]);
  });

  it('writes every count to the journal before releasing the response', async () => {
    const dir = tmp();
    const m = new UsageMeter(meterCtx(), { flushMs: 60_000, dataDir: dir });
    m.start();
    const k = nextKey++;
    let released = 0;
    for (let i = 0; i < 10; i++) {
      m.record(actor(k, 5), clock.now());
      m.whenDurable(() => released++);
    }
    expect(released).toBe(0);
    await tick();
    expect(released).toBe(10);
    const files = segments(path.join(dir, 'usage-journal'));
    expect(files).toHaveLength(1);
    const seg = await readSegment(path.join(dir, 'usage-journal', files[0] as string));
    expect(seg?.deltas).toEqual([
      { keyId: k, projectId: 1, hour: Math.floor(clock.now() / HOUR_MS), price: 5, count: 10 },
    ]);
    await m.close();
    expect(fs.readdirSync(path.join(dir, 'usage-journal'))).toEqual([]); // applied and removed, alive file too
    expect(await totals(k)).toEqual({ n: 10, c: 50n });
  });

  it('replays the journal of a crashed meter on the next start, exactly once', async () => {
    const dir = tmp();
    const k = nextKey++;
    const a = new UsageMeter(meterCtx(), { flushMs: 60_000, dataDir: dir });
    a.start();
    for (let i = 0; i < 123; i++) a.record(actor(k, 3), clock.now());
    await tick();
    crash(a);
    // a torn line at the end (the process died inside a write) is ignored, not half-counted
    const jdir = path.join(dir, 'usage-journal');
    const seg = path.join(jdir, segments(jdir)[0] as string);
    fs.appendFileSync(seg, `${k},1,49`);

    const b = new UsageMeter(meterCtx(), { flushMs: 60_000, dataDir: dir });
    b.start();
    await b.flush();
    expect(b.stats.skippedLines).toBe(1);
    expect(await totals(k)).toEqual({ n: 123, c: 369n });
    expect(segments(jdir)).toEqual([]);
    await b.close();
    expect(fs.readdirSync(jdir)).toEqual([]);
  });

  it('a crash after commit but before the segment was removed does not count twice', async () => {
    const dir = tmp();
    const k = nextKey++;
    const a = new UsageMeter(meterCtx(), { flushMs: 60_000, dataDir: dir });
    a.start();
    for (let i = 0; i < 40; i++) a.record(actor(k, 2), clock.now());
    await tick();
    const jdir = path.join(dir, 'usage-journal');
    const name = segments(jdir)[0] as string;
    const saved = fs.readFileSync(path.join(jdir, name));
    await a.flush(); // committed; segment removed
    crash(a);
    fs.writeFileSync(path.join(jdir, name), saved); // as if the unlink never happened
    const b = new UsageMeter(meterCtx(), { flushMs: 60_000, dataDir: dir });
    b.start();
    await b.flush();
    expect(b.stats.duplicates).toBe(1);
    expect(await totals(k)).toEqual({ n: 40, c: 80n });
    await b.close();
  });

  it('keeps counting through a database outage with bounded memory, then writes everything', async () => {
    const dir = tmp();
    const m = new UsageMeter(meterCtx(), {
      flushMs: 20,
      dataDir: dir,
      maxBuckets: 50,
      flushAtBuckets: 25,
      backoffMinMs: 5,
      backoffMaxMs: 20,
    });
    m.start();
    m.fault = () => {
      throw new Error('database unavailable');
    };
    const k = nextKey++;
    let expected = 0;
    let expectedCost = 0n;
    let maxHeld = 0;
    // 400 distinct buckets (hours) while the database is down
    for (let h = 0; h < 400; h++) {
      for (let i = 0; i < 3; i++) {
        m.record(actor(k, 1000 + h), Date.UTC(2026, 0, 1) + h * HOUR_MS);
        expected += 1;
        expectedCost += BigInt(1000 + h);
      }
      if (h % 50 === 0) await new Promise((r) => setTimeout(r, 5));
      maxHeld = Math.max(maxHeld, m.bufferedBuckets);
    }
    await tick();
    await expect(m.flush()).rejects.toThrow('database unavailable');
    expect(m.stats.flushFailures).toBeGreaterThan(1);
    expect(m.bufferedRequests).toBe(expected);
    expect(maxHeld).toBeLessThanOrEqual(100); // active (≤ cap) + the batch being retried (≤ cap)
    expect(m.spilledBatches).toBeGreaterThan(0);
    m.fault = null;
    await m.flush();
    expect(m.bufferedRequests).toBe(0);
    expect(await totals(k)).toEqual({ n: expected, c: expectedCost });
    await m.close();
  });

  it('leaves counts in the journal when the database is still down at close; the next start writes them', async () => {
    const dir = tmp();
    const k = nextKey++;
    const a = new UsageMeter(meterCtx(), { flushMs: 60_000, dataDir: dir, drainTimeoutMs: 50 });
    a.start();
    a.fault = () => {
      throw new Error('database unavailable');
    };
    for (let i = 0; i < 77; i++) a.record(actor(k, 9), clock.now());
    await a.close();
    expect(await totals(k)).toEqual({ n: 0, c: 0n });
    const b = new UsageMeter(meterCtx(), { flushMs: 60_000, dataDir: dir });
    b.start();
    await b.flush();
    expect(await totals(k)).toEqual({ n: 77, c: 693n });
    await b.close();
  });
});

describe('journal ownership', () => {
  it('adopts segments of a meter on another host sharing the directory only once its heartbeat is stale', async () => {
    const dir = tmp();
    const k = nextKey++;
    const jdir = path.join(dir, 'usage-journal');
    fs.mkdirSync(jdir, { recursive: true });
    const boot = 'abcdef012345';
    fs.writeFileSync(path.join(jdir, `${boot}.alive`), JSON.stringify({ host: 'another-host', pid: 1 }));
    fs.writeFileSync(path.join(jdir, `${boot}-0.jnl`), `${k},1,500000,4,6\n`);
    const m = new UsageMeter(meterCtx(), { flushMs: 60_000, dataDir: dir });
    m.start();
    await m.flush();
    expect(await totals(k)).toEqual({ n: 0, c: 0n }); // its owner looks alive: not touched
    const old = (Date.now() - 60_000) / 1000;
    fs.utimesSync(path.join(jdir, `${boot}.alive`), old, old);
    expect(m.adoptOrphans()).toBe(1);
    await m.flush();
    expect(await totals(k)).toEqual({ n: 6, c: 24n });
    await m.close();
    expect(fs.readdirSync(jdir)).toEqual([]);
  });
});

/** Simulates SIGKILL of a meter's process: no drain, journal left as it is. */
function crash(m: UsageMeter) {
  const inner = m as unknown as { closed: boolean; timer: NodeJS.Timeout | null; journal: { close(): void } };
  inner.closed = true;
  if (inner.timer) clearTimeout(inner.timer);
  inner.journal.close();
}
