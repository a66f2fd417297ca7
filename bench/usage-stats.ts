// `npx tsx usage-stats.ts` (from bench/): issued-keys statistics at scale.
// 10,000 issued keys with a year of hourly usage buckets in one project; the statistics routes are
// timed through the real app (app.inject with a signed-in owner: session, authorization, SQL,
// formatting), p50/p99 per query, on SQLite and on PostgreSQL.
//
// Environment:
//   BENCH_KEYS=10000            issued keys
//   BENCH_DENSITY=10            % of the year's hours in which each key has a bucket (100 = every
//                               hour: 87.6 M hourly rows for 10,000 keys; default 10 = 8.76 M rows)
//   BENCH_RUNS=60               timed runs per query (after 5 warm-up runs)
//   BENCH_DB=sqlite,postgres    databases (PostgreSQL at BENCH_PG_URL, default
//                               postgres://postgres@127.0.0.1:5432/test; a fresh database is
//                               created and dropped)
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import pg from 'pg';
import { buildApp } from '../server/src/app.js';
import { loadConfig } from '../server/src/config.js';
import { type Db, openDb } from '../server/src/db/dialect.js';
import { migrateToLatest } from '../server/src/db/migrate.js';
import { masterKeyFrom } from '../server/src/lib/master-key.js';

const num = (name: string, def: number) => (process.env[name] ? Number(process.env[name]) : def);
const KEYS = num('BENCH_KEYS', 10_000);
const DENSITY = num('BENCH_DENSITY', 10);
const RUNS = num('BENCH_RUNS', 60);
const DBS = (process.env.BENCH_DB ?? 'sqlite,postgres').split(',').map((s) => s.trim());
const PG_BASE_URL = process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';

const HOUR = 3_600_000;
const YEAR_START = Date.UTC(2025, 6, 1); // data: 2025-07-01 .. 2026-07-01 (8,760 hours)
const HOURS = 8760;
const NOW = Date.UTC(2026, 5, 20, 12); // "today" for defaults: inside the last month of data
const STEP = Math.max(1, Math.round(100 / DENSITY)); // key k has a bucket every STEP hours

// ---- the data: same formulas on both databases ------------------------------------------------
// hour index h (0..8759) of key k (1..KEYS) is used when h % STEP == k % STEP;
// count = 1 + (k * 31 + h) % 50; price = 1000 * (1 + k % 20) micros, and keys with k % 7 == 0
// change price half-way (h >= 4380: + 500 micros)

const price = (k: number, h: number) => 1000 * (1 + (k % 20)) + (k % 7 === 0 && h >= 4380 ? 500 : 0);
const count = (k: number, h: number) => 1 + ((k * 31 + h) % 50);

const say = (s = '') => console.log(s);
const ms = (x: number) => `${x.toFixed(1)} ms`;

interface Setup {
  app: FastifyInstance;
  db: Db;
  cookie: string;
  projectId: number;
  someKey: number;
  cleanup(): Promise<void>;
}

async function makeApp(kind: 'sqlite' | 'postgres'): Promise<Setup> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-usage-bench-'));
  let databaseUrl: string | null = null;
  let dbName = '';
  if (kind === 'postgres') {
    dbName = `keyport_usage_bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_BASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    await admin.end();
    const u = new URL(PG_BASE_URL);
    u.pathname = `/${dbName}`;
    databaseUrl = u.toString();
  }
  const config = loadConfig({
    KEYPORT_DATA_DIR: dataDir,
    KEYPORT_DEMO: '0',
    KEYPORT_LOG_LEVEL: 'warn',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  });
  const db = openDb({ databaseUrl, dataDir });
  await migrateToLatest(db);
  const app = await buildApp({
    config,
    db,
    master: masterKeyFrom(randomBytes(32)),
    clock: { now: () => NOW },
    logger: false,
    webDist: null,
  });
  await app.ready();
  const signup = await app.inject({
    method: 'POST',
    url: '/api/auth/signup',
    payload: { email: 'owner@bench.test', password: 'correct horse battery', name: 'Owner' },
  });
  const cookie = signup.cookies.find((c) => c.name === 'keyport_session')?.value ?? '';
  const csrf = (signup.json() as { csrf_token: string }).csrf_token;
  const project = await app.inject({
    method: 'POST',
    url: '/api/projects',
    headers: { cookie: `keyport_session=${cookie}`, 'x-csrf-token': csrf },
    payload: { name: 'Usage bench' },
  });
  const projectId = (project.json() as { id: number }).id;
  return {
    app,
    db,
    cookie,
    projectId,
    someKey: 1,
    async cleanup() {
      await app.close();
      await db.close();
      if (process.env.BENCH_KEEP === '1') {
        say(`kept: ${dbName || dataDir}`);
        return;
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
      if (dbName) {
        const admin = new pg.Client({ connectionString: PG_BASE_URL });
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS ${dbName}`);
        await admin.end();
      }
    },
  };
}

/** Users, templates and KEYS api_keys rows; returns the first key id. */
async function seedKeys(s: Setup): Promise<void> {
  const k = s.db.kysely;
  const roleId = (
    await k.selectFrom('roles').select('id').where('project_id', '=', s.projectId).executeTakeFirstOrThrow()
  ).id;
  const users: number[] = [];
  for (let i = 0; i < 500; i += 250) {
    const rows = Array.from({ length: 250 }, (_, j) => ({
      email: `holder${i + j}@bench.test`,
      name: `Holder ${String(i + j).padStart(3, '0')}`,
      password_hash: 'x',
      created_at: YEAR_START,
    }));
    users.push(...(await k.insertInto('users').values(rows).returning('id').execute()).map((r) => r.id));
  }
  const templates: number[] = [];
  for (let i = 0; i < 20; i++) {
    const r = await k
      .insertInto('api_key_templates')
      .values({
        project_id: s.projectId,
        name: `Template ${i}`,
        description: '',
        role_id: roleId,
        lifetime_days: null,
        created_at: YEAR_START,
        updated_at: YEAR_START,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    templates.push(r.id);
  }
  for (let i = 0; i < KEYS; i += 500) {
    const rows = Array.from({ length: Math.min(500, KEYS - i) }, (_, j) => {
      const n = i + j;
      const t = templates[n % templates.length] as number;
      const issued = YEAR_START - 86_400_000 + n * 1000;
      return {
        project_id: s.projectId,
        template_id: t,
        role_id: roleId,
        user_id: users[n % users.length] as number,
        request_id: 0,
        jti: `bench-${n}-${randomBytes(4).toString('hex')}`,
        kid: 'bench',
        issued_at: issued,
        expires_at: null,
        created_at: issued,
        revoked_at: n % 10 === 0 ? NOW - 86_400_000 : null,
        revoked_reason: null,
        issuer: 'bench',
        template_name: `Template ${n % templates.length}`,
        updated_at: issued,
      };
    });
    await k.insertInto('api_keys').values(rows).execute();
  }
  const first = await k
    .selectFrom('api_keys')
    .select((eb) => eb.fn.min('id').as('id'))
    .executeTakeFirstOrThrow();
  s.someKey = Number(first.id);
}

/** Hourly buckets for every key over the year, then the rollups derived from them with SQL. */
async function seedUsage(s: Setup, kind: 'sqlite' | 'postgres'): Promise<number> {
  const first = s.someKey;
  const p = s.projectId;
  if (kind === 'sqlite') {
    const file = s.db.file as string;
    const raw = new SQLite(file);
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = OFF');
    const ins = raw.prepare(
      'INSERT INTO usage_buckets (key_id, project_id, hour, price_micros, count) VALUES (?, ?, ?, ?, ?)',
    );
    let rows = 0;
    const batch = raw.transaction((k0: number, k1: number) => {
      for (let k = k0; k < k1; k++) {
        for (let h = k % STEP; h < HOURS; h += STEP) {
          ins.run(first + k - 1, p, YEAR_START + h * HOUR, price(k, h), count(k, h));
          rows++;
        }
      }
    });
    for (let k = 1; k <= KEYS; k += 250) batch(k, Math.min(KEYS + 1, k + 250));
    raw.exec(`
      INSERT INTO usage_key_days (key_id, project_id, day, requests, cost_micros)
        SELECT key_id, project_id, hour - hour % 86400000, SUM(count), SUM(count * price_micros) FROM usage_buckets GROUP BY 1, 2, 3;
      INSERT INTO usage_project_hours (project_id, hour, requests, cost_micros)
        SELECT project_id, hour, SUM(count), SUM(count * price_micros) FROM usage_buckets GROUP BY 1, 2;
      INSERT INTO usage_key_months (key_id, project_id, month, requests, cost_micros)
        SELECT key_id, project_id, CAST(strftime('%s', datetime(day / 1000, 'unixepoch', 'start of month')) AS INTEGER) * 1000,
               SUM(requests), SUM(cost_micros) FROM usage_key_days GROUP BY 1, 2, 3;
      ANALYZE;`);
    raw.close();
    return rows;
  }
  const k = s.db.kysely;
  const step = STEP;
  await sql`
    INSERT INTO usage_buckets (key_id, project_id, hour, price_micros, count)
    SELECT ${first} + kk - 1, ${p}, ${YEAR_START}::bigint + h::bigint * ${HOUR},
           1000 * (1 + kk % 20) + CASE WHEN kk % 7 = 0 AND h >= 4380 THEN 500 ELSE 0 END,
           1 + (kk * 31 + h) % 50
    FROM generate_series(1, ${KEYS}::int) AS kk, LATERAL generate_series(kk % ${step}, ${HOURS - 1}, ${step}) AS h`.execute(
    k,
  );
  await sql`INSERT INTO usage_key_days (key_id, project_id, day, requests, cost_micros)
    SELECT key_id, project_id, hour - hour % 86400000, SUM(count), SUM(count * price_micros) FROM usage_buckets GROUP BY 1, 2, 3`.execute(
    k,
  );
  await sql`INSERT INTO usage_project_hours (project_id, hour, requests, cost_micros)
    SELECT project_id, hour, SUM(count), SUM(count * price_micros) FROM usage_buckets GROUP BY 1, 2`.execute(k);
  await sql`INSERT INTO usage_key_months (key_id, project_id, month, requests, cost_micros)
    SELECT key_id, project_id,
           (extract(epoch from date_trunc('month', to_timestamp(day / 1000) AT TIME ZONE 'UTC')) * 1000)::bigint,
           SUM(requests), SUM(cost_micros) FROM usage_key_days GROUP BY 1, 2, 3`.execute(k);
  await sql`VACUUM ANALYZE`.execute(k);
  const n = await sql<{ n: number }>`SELECT COUNT(*)::int AS n FROM usage_buckets`.execute(k);
  return n.rows[0]?.n ?? 0;
}

/** Exactness spot check: the route's figure for one key and month equals the hourly buckets' sum. */
function expected(k: number, from: number, to: number): { requests: number; cost: bigint } {
  let requests = 0;
  let cost = 0n;
  for (let h = k % STEP; h < HOURS; h += STEP) {
    const at = YEAR_START + h * HOUR;
    if (at < from || at >= to) continue;
    requests += count(k, h);
    cost += BigInt(count(k, h)) * BigInt(price(k, h));
  }
  return { requests, cost };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
}

async function time(s: Setup, url: string): Promise<{ p50: number; p99: number; body: unknown }> {
  const headers = { cookie: `keyport_session=${s.cookie}` };
  let body: unknown = null;
  for (let i = 0; i < 5; i++) {
    const r = await s.app.inject({ method: 'GET', url, headers });
    if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body}`);
    body = r.json();
  }
  const xs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const r = await s.app.inject({ method: 'GET', url, headers });
    xs.push(performance.now() - t0);
    if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode}`);
  }
  return { p50: pct(xs, 50), p99: pct(xs, 99), body };
}

async function benchDb(kind: 'sqlite' | 'postgres') {
  say(`\n### ${kind === 'sqlite' ? 'SQLite' : 'PostgreSQL'}\n`);
  const t0 = performance.now();
  const s = await makeApp(kind);
  try {
    await seedKeys(s);
    const rows = await seedUsage(s, kind);
    say(
      `fixture: ${KEYS.toLocaleString('en')} issued keys, ${rows.toLocaleString('en')} hourly buckets (${DENSITY}% of 8,760 hours per key), built in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    );
    const base = `/api/projects/${s.projectId}`;
    const queries: [string, string, boolean][] = [
      ['one-month page (June), newest keys first, 25 rows', `${base}/issued-keys?from=2026-06-01&to=2026-07-01`, true],
      [
        'one-month page sorted by total cost (aggregates all keys)',
        `${base}/issued-keys?from=2026-06-01&to=2026-07-01&sort=-total_cost`,
        true,
      ],
      [
        'one-month page sorted by requests, page 200 of 400',
        `${base}/issued-keys?from=2026-06-01&to=2026-07-01&sort=-requests&page=200`,
        true,
      ],
      ['default period (current month, June), sorted by cost', `${base}/issued-keys?sort=-total_cost`, true],
      [
        'any 30 days (not month-aligned), sorted by cost',
        `${base}/issued-keys?from=2026-05-17T13:00:00Z&to=2026-06-16T13:00:00Z&sort=-total_cost`,
        false,
      ],
      [
        'one month in Europe/Berlin, sorted by cost',
        `${base}/issued-keys?from=2026-06-01&to=2026-07-01&tz=Europe/Berlin&sort=-total_cost`,
        false,
      ],
      [
        'whole year, sorted by cost, 100 rows',
        `${base}/issued-keys?from=2025-07-01&to=2026-07-01&sort=-total_cost&page_size=100`,
        false,
      ],
      ['chart: all keys per day, one month', `${base}/usage?from=2026-06-01&to=2026-07-01&granularity=day`, false],
      [
        'chart: one key per hour, one month',
        `${base}/issued-keys/${s.someKey}/usage?from=2026-06-01&to=2026-07-01&granularity=hour`,
        false,
      ],
    ];
    say('| query | p50 | p99 | < 100 ms |');
    say('|---|---|---|---|');
    const results: { name: string; p50: number; p99: number; target: boolean }[] = [];
    for (const [name, url, target] of queries) {
      const r = await time(s, url);
      results.push({ name, p50: r.p50, p99: r.p99, target });
      say(`| ${name} | ${ms(r.p50)} | ${ms(r.p99)} | ${r.p99 < 100 ? 'yes' : 'no'}${target ? ' (target)' : ''} |`);
      if (name.startsWith('one-month page sorted by total cost')) {
        // exactness spot check on the busiest key of the page
        const item = (r.body as { items: { id: number; requests: number; total_cost: string }[] }).items[0];
        if (item) {
          const k = item.id - s.someKey + 1;
          const e = expected(k, Date.UTC(2026, 5, 1), Date.UTC(2026, 6, 1));
          const cost = `${e.cost / 1_000_000n}.${(e.cost % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '').padEnd(2, '0')}`;
          if (item.requests !== e.requests || item.total_cost !== cost) {
            throw new Error(
              `exactness check failed for key ${item.id}: ${item.requests}/${item.total_cost} vs ${e.requests}/${cost}`,
            );
          }
          say(
            `|  ↳ exact: key ${item.id} June = ${item.requests} requests, ${item.total_cost} (recomputed from the formulas) | | | |`,
          );
        }
      }
    }
    const targets = results.filter((r) => r.target);
    const ok = targets.every((r) => r.p99 < 100);
    say(`\n${ok ? 'PASS' : 'FAIL'}: one-month pages p99 ${targets.map((r) => ms(r.p99)).join(', ')} (target < 100 ms)`);
    return ok;
  } finally {
    await s.cleanup();
  }
}

async function main() {
  say('## Issued-keys statistics at scale (bench/usage-stats.ts)');
  say(
    `\n- ${new Date().toISOString()}, Node ${process.version}, ${os.cpus().length} cores, load average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  say(`- ${RUNS} timed runs per query after 5 warm-up runs, through app.inject (session, authorization, SQL, JSON)`);
  let ok = true;
  for (const kind of DBS) {
    if (kind !== 'sqlite' && kind !== 'postgres') continue;
    if (kind === 'postgres') {
      const c = new pg.Client({ connectionString: PG_BASE_URL, connectionTimeoutMillis: 2000 });
      try {
        await c.connect();
        await c.end();
      } catch {
        say(`\n### PostgreSQL\n\nSKIPPED: not reachable at ${PG_BASE_URL.replace(/\/\/[^@]*@/, '//')}`);
        continue;
      }
    }
    ok = (await benchDb(kind)) && ok;
  }
  process.exit(ok ? 0 : 1);
}

void main();
