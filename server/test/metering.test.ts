// Metering through real HTTP: exact counts and money under concurrency, the billing rule,
// a graceful restart under load, a database outage under load, and the Prometheus metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMoney, parseMoney } from '../src/lib/money.js';
import { PG_URL, signUp, type TestApp, UserSession } from './helpers.js';
import { issuedKeyStats, issueKey } from './keys-helpers.js';
import {
  dbTotals,
  dropEnv,
  type Env,
  get,
  keepAlive,
  load,
  type MeteringApp,
  makeEnv,
  startApp,
} from './metering-helpers.js';
import { TcpProxy } from './tcp-proxy.js';

const PRICES = ['0.05', '1.234567', '0.000001', '0'];

interface Key {
  token: string;
  keyId: number;
  price: string;
}

async function setup(m: MeteringApp) {
  const t = { app: m.app } as unknown as TestApp;
  const owner = await signUp(m.app, 'Owner');
  const holder = await signUp(m.app, 'Holder');
  const projectId = ((await owner.post('/api/projects', { name: 'Metered' })).json() as { id: number }).id;
  const keys: Key[] = [];
  for (const price of PRICES) {
    const k = await issueKey(t, owner, holder, {
      projectId,
      permissions: { project: ['project_view'], nodes: {} },
      price,
    });
    keys.push({ token: k.token, keyId: k.keyId, price });
  }
  return { owner, holder, projectId, keys };
}

function expectExact(
  byId: Map<number, { requests: number; total_cost: string }>,
  keys: Key[],
  expected: Map<number, number>,
) {
  for (const k of keys) {
    const n = expected.get(k.keyId) ?? 0;
    expect(byId.get(k.keyId), `key ${k.keyId}`).toMatchObject({
      requests: n,
      total_cost: formatMoney(BigInt(n) * BigInt(parseMoney(k.price))),
    });
  }
}

describe('metering over real HTTP', () => {
  let env: Env;
  let m: MeteringApp;
  let ctx: Awaited<ReturnType<typeof setup>>;

  beforeAll(async () => {
    env = await makeEnv();
    m = await startApp(env);
    ctx = await setup(m);
  });
  afterAll(async () => {
    await m.close();
    await dropEnv(env);
  });

  it('N = 2,400 concurrent key requests over 4 keys and 4 prices: exactly N requests and N × price', async () => {
    const agent = keepAlive(100);
    const N = 2400;
    const jobs = Array.from({ length: N }, (_, i) => ctx.keys[i % ctx.keys.length] as Key);
    // refused by authentication: never counted
    const forged = `${(ctx.keys[0] as Key).token.slice(0, -4)}AAAA`;
    const statuses = await Promise.all([
      ...jobs.map((k) => get(m.port, '/api/auth/whoami', k.token, agent)),
      ...Array.from({ length: 50 }, () => get(m.port, '/api/auth/whoami', forged, agent)),
      ...Array.from({ length: 50 }, () => get(m.port, '/api/auth/whoami', 'not-a-jwt', agent)),
    ]);
    agent.destroy();
    expect(statuses.slice(0, N).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(N).every((s) => s === 401)).toBe(true);
    await m.app.usage.flush();
    const { byId, totals } = await issuedKeyStats(ctx.owner, ctx.projectId);
    const expected = new Map(ctx.keys.map((k) => [k.keyId, N / ctx.keys.length]));
    expectExact(byId, ctx.keys, expected);
    const cost = ctx.keys.reduce((s, k) => s + BigInt(N / ctx.keys.length) * BigInt(parseMoney(k.price)), 0n);
    expect(totals).toMatchObject({ requests: N, total_cost: formatMoney(cost) });
    expect(formatMoney(cost)).toBe('770.7408'); // 600 × (0.05 + 1.234567 + 0.000001 + 0)
  });

  it('billing rule: 2xx/3xx are billed; 4xx, 5xx and refused keys are not, and are counted by outcome', async () => {
    const k = ctx.keys[0] as Key;
    const before = (await issuedKeyStats(ctx.owner, ctx.projectId)).byId.get(k.keyId)?.requests ?? 0;
    const agent = keepAlive(8);
    const billed = [200, 201, 204, 302];
    const unbilled = [400, 403, 404, 409, 500, 502, 503, 429];
    for (const code of [...billed, ...unbilled]) {
      expect(await get(m.port, `/api/metering-test/status/${code}`, k.token, agent)).toBe(code);
    }
    // a real 403 (no project_manage) and a real 404 (unknown route) are not billed either
    expect(await get(m.port, `/api/projects/${ctx.projectId}/issued-keys`, k.token, agent)).toBe(403);
    expect(await get(m.port, '/api/no-such-route', k.token, agent)).toBe(404);
    // refused by authentication: not counted anywhere
    expect(await get(m.port, '/api/metering-test/status/200', 'garbage', agent)).toBe(401);
    agent.destroy();
    await m.app.usage.flush();
    await m.app.outcomes.flush();
    const after = (await issuedKeyStats(ctx.owner, ctx.projectId)).byId.get(k.keyId)?.requests ?? 0;
    expect(after - before).toBe(billed.length);
    const outcomes = await m.app.ctx.k
      .selectFrom('usage_key_outcomes')
      .select(['outcome', (eb) => eb.fn.sum<number>('requests').as('n')])
      .where('key_id', '=', k.keyId)
      .groupBy('outcome')
      .execute();
    const by = Object.fromEntries(outcomes.map((o) => [o.outcome, Number(o.n)]));
    // 400, 409 -> 4xx; 403 twice; 404 twice; 5xx three; the status route's 429 is a rate refusal
    expect(by).toMatchObject({ '4xx': 2, '403': 2, '404': 2, '5xx': 3, '429_rate': 1 });
    expect(by.billed).toBeGreaterThanOrEqual(billed.length);
  });

  it('exposes request outcomes and flush health at /metrics', async () => {
    const res = await m.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    const text = res.body;
    const metric = (re: RegExp) => Number(re.exec(text)?.[1] ?? Number.NaN);
    expect(metric(/keyport_key_requests_total\{outcome="billed"\} (\d+)/)).toBeGreaterThanOrEqual(2404);
    expect(metric(/keyport_key_requests_total\{outcome="rejected"\} (\d+)/)).toBeGreaterThanOrEqual(101);
    expect(metric(/keyport_key_requests_total\{outcome="unbilled"\} (\d+)/)).toBe(10);
    expect(metric(/keyport_usage_buffered_buckets (\d+)/)).toBe(0);
    expect(text).toMatch(/keyport_usage_flush_lag_seconds \d/);
    expect(text).toMatch(/keyport_usage_flush_duration_seconds_count [1-9]/);
    expect(text).toMatch(/keyport_usage_flush_failures_total 0/);
  });
});

describe('graceful restart under load', () => {
  it('totals equal the successful responses across a restart on the same data dir and database', async () => {
    const env = await makeEnv();
    let m = await startApp(env);
    const ctx = await setup(m);
    const port = m.port;
    const run = load({ port: () => port, keys: ctx.keys, concurrency: 32, total: 1600 });
    while (run.successes < 600) await new Promise((r) => setTimeout(r, 10));
    await m.close(); // stops accepting, finishes in-flight requests, drains the meter
    const successesAtClose = run.successes;
    m = await startApp(env, port); // same port, same data dir, same database
    await run.done;
    expect(run.successes).toBeGreaterThan(successesAtClose); // load continued on the new instance
    await m.app.usage.flush();
    const totals = await dbTotals(m.db);
    for (const k of ctx.keys) expect(totals.get(k.keyId)?.n ?? 0, `key ${k.keyId}`).toBe(run.ok.get(k.keyId));
    const owner = new UserSession(m.app, ctx.owner.user, ctx.owner.cookie, ctx.owner.csrf);
    expectExact((await issuedKeyStats(owner, ctx.projectId)).byId, ctx.keys, run.ok);
    await m.close();
    await dropEnv(env);
  });
});

describe('database outage under load', () => {
  it('buffers while the database is unreachable and writes exact totals after recovery', async () => {
    const env = await makeEnv();
    let proxy: TcpProxy | null = null;
    if (PG_URL) {
      const u = new URL(PG_URL);
      proxy = await TcpProxy.create({ host: u.hostname, port: Number(u.port || 5432) });
      env.databaseUrl = proxy.url(PG_URL);
    }
    const m = await startApp(env);
    const ctx = await setup(m);
    const run = load({ port: () => m.port, keys: ctx.keys, concurrency: 16, total: 1500 });
    while (run.successes < 300) await new Promise((r) => setTimeout(r, 10));
    // outage: PostgreSQL connections cut and refused (proxy down); SQLite: every write fails
    if (proxy) await proxy.close();
    else
      m.app.usage.fault = () => {
        throw new Error('SQLITE_BUSY: database is locked');
      };
    const failuresBefore = m.app.usage.stats.flushFailures;
    while (run.successes < 900 || m.app.usage.stats.flushFailures < failuresBefore + 2)
      await new Promise((r) => setTimeout(r, 20));
    expect(m.app.usage.bufferedRequests).toBeGreaterThan(0);
    if (proxy) await proxy.open();
    else m.app.usage.fault = null;
    await run.done;
    // recovered by itself (retry with backoff), then everything is written
    const deadline = Date.now() + 15_000;
    while (m.app.usage.bufferedRequests > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await m.app.usage.flush();
    expect(m.app.usage.bufferedRequests).toBe(0);
    const totals = await dbTotals(m.db);
    for (const k of ctx.keys) expect(totals.get(k.keyId)?.n ?? 0, `key ${k.keyId}`).toBe(run.ok.get(k.keyId));
    expectExact((await issuedKeyStats(ctx.owner, ctx.projectId)).byId, ctx.keys, run.ok);
    await m.close();
    await proxy?.close();
    await dropEnv(env);
  });
});
