// Helpers for the metering tests: an app (same as makeTestApp) with a route that answers any status,
// real HTTP over keep-alive sockets, a load loop that knows what is in flight, and DB totals.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { buildApp, loggerOptions } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { type Db, openDb } from '../src/db/dialect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { masterKeyFrom } from '../src/lib/master-key.js';
import { createPgSchema, dropPgSchema, PG_URL } from './helpers.js';

export interface MeteringApp {
  app: FastifyInstance;
  db: Db;
  port: number;
  close(): Promise<void>;
}

export interface Env {
  dataDir: string;
  pgSchema: string | null;
  masterKey: Buffer;
  /** overrides DATABASE_URL (e.g. a proxy in front of PostgreSQL) */
  databaseUrl?: string;
}

export async function makeEnv(): Promise<Env> {
  return {
    dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-metering-')),
    pgSchema: PG_URL ? await createPgSchema() : null,
    masterKey: randomBytes(32),
  };
}

export async function dropEnv(env: Env): Promise<void> {
  if (env.pgSchema) await dropPgSchema(env.pgSchema);
  fs.rmSync(env.dataDir, { recursive: true, force: true });
}

/** The real app on a real port, plus GET /api/metering-test/status/:code answering that status. */
export async function startApp(env: Env, port = 0): Promise<MeteringApp> {
  const url = env.databaseUrl ?? PG_URL;
  const config = loadConfig({
    KEYPORT_DATA_DIR: env.dataDir,
    KEYPORT_LOG_LEVEL: 'warn',
    KEYPORT_DEMO: '0',
    KEYPORT_USAGE_FLUSH_MS: '50',
    ...(url ? { DATABASE_URL: url } : {}),
  });
  const db = openDb({
    databaseUrl: config.databaseUrl,
    dataDir: env.dataDir,
    ...(env.pgSchema ? { pgSchema: env.pgSchema } : {}),
  });
  await migrateToLatest(db);
  const app = await buildApp({
    config,
    db,
    master: masterKeyFrom(env.masterKey),
    logger: loggerOptions('warn', new Writable({ write: (_c, _e, cb) => cb() })),
    webDist: null,
  });
  app.get('/api/metering-test/status/:code', async (req, reply) => {
    const code = Number((req.params as { code: string }).code);
    if (code === 500) throw new Error('boom');
    return reply.code(code).send({ code });
  });
  await app.listen({ port, host: '127.0.0.1' });
  const address = app.server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  let closed = false;
  return {
    app,
    db,
    port: bound,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await db.close();
    },
  };
}

export const keepAlive = (max = 64) => new http.Agent({ keepAlive: true, maxSockets: max });

/** One GET; resolves the status code, or 0 on a network error (refused, reset). */
export function get(port: number, urlPath: string, token: string | null, agent: http.Agent): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method: 'GET',
        agent,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    req.on('error', () => resolve(0));
    req.end();
  });
}

export interface LoadKey {
  token: string;
  keyId: number;
}

/**
 * Keeps `concurrency` requests in flight round-robin over the keys until stop() or `total` answered
 * requests (network errors while a server is down are retried, they do not count). Counts 200s per
 * key; `inflight` is exact at any moment (for the SIGKILL bound).
 */
export function load(opts: {
  port: () => number;
  keys: LoadKey[];
  concurrency: number;
  total: number;
  path?: string;
  agent?: http.Agent;
}) {
  const agent = opts.agent ?? keepAlive(opts.concurrency);
  const ok = new Map<number, number>(opts.keys.map((k) => [k.keyId, 0]));
  const state = { answered: 0, inflight: 0, failures: 0, networkErrors: 0, stopped: false };
  const deadline = Date.now() + 60_000;
  let i = 0;
  const worker = async () => {
    while (!state.stopped && state.answered < opts.total && Date.now() < deadline) {
      const k = opts.keys[i++ % opts.keys.length] as LoadKey;
      state.inflight += 1;
      const status = await get(opts.port(), opts.path ?? '/api/auth/whoami', k.token, agent);
      state.inflight -= 1;
      if (status === 200) ok.set(k.keyId, (ok.get(k.keyId) ?? 0) + 1);
      if (status !== 0) state.answered += 1;
      else {
        state.networkErrors += 1;
        await new Promise((r) => setTimeout(r, 20));
      }
      if (status !== 200) state.failures += 1;
    }
  };
  const done = Promise.all(Array.from({ length: opts.concurrency }, worker)).then(() => agent.destroy());
  return {
    state,
    ok,
    done,
    stop() {
      state.stopped = true;
    },
    get successes() {
      let n = 0;
      for (const v of ok.values()) n += v;
      return n;
    },
  };
}

/** Requests counted in the database per key (hourly buckets) and the exact cost in micros. */
export async function dbTotals(db: Db): Promise<Map<number, { n: number; cost: bigint }>> {
  const cost = db.dialect === 'postgres' ? sql`count::numeric * price_micros` : sql`count * price_micros`;
  const r = await sql<{ key_id: number; n: unknown; c: unknown }>`
    SELECT key_id, CAST(SUM(count) AS TEXT) AS n, CAST(SUM(${cost}) AS TEXT) AS c FROM usage_buckets GROUP BY key_id`.execute(
    db.kysely,
  );
  return new Map(r.rows.map((x) => [Number(x.key_id), { n: Number(x.n), cost: BigInt(String(x.c)) }]));
}
