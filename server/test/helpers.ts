// Test harness: a fresh database per app (SQLite file in a temp dir, or a fresh PostgreSQL
// schema when TEST_DATABASE_URL is set), migrated, and the real app on top via app.inject.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import pg from 'pg';
import { buildApp, loggerOptions } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDb } from '../src/db/dialect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import type { Clock } from '../src/lib/clock.js';
import { masterKeyFrom } from '../src/lib/master-key.js';

export const PG_URL = process.env.TEST_DATABASE_URL || null;
export const dialectName = PG_URL ? 'postgres' : 'sqlite';

export interface TestApp {
  app: FastifyInstance;
  dataDir: string;
  /** every log line the app wrote (for "no secret in logs" checks) */
  logs: string[];
  pgSchema: string | null;
  close(): Promise<void>;
}

export class MutableClock implements Clock {
  constructor(public t = Date.UTC(2026, 10, 15, 12, 0, 0)) {}
  now() {
    return this.t;
  }
  advance(ms: number) {
    this.t += ms;
  }
}

export async function createPgSchema(): Promise<string> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: PG_URL ?? undefined });
  await client.connect();
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.end();
  return schema;
}

export async function dropPgSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL ?? undefined });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
}

export async function makeTestApp(
  opts: {
    clock?: Clock;
    env?: Record<string, string>;
    dataDir?: string;
    pgSchema?: string;
    masterKey?: Buffer;
    /** a directory holding a built UI (default: none) */
    webDist?: string | null;
    logLevel?: string;
    /** how often the outbox sender looks for due mail (default 1 s) */
    mailIntervalMs?: number;
  } = {},
): Promise<TestApp> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-test-'));
  const pgSchema = PG_URL ? (opts.pgSchema ?? (await createPgSchema())) : null;
  const config = loadConfig({
    KEYPORT_DATA_DIR: dataDir,
    KEYPORT_LOG_LEVEL: 'info',
    KEYPORT_DEMO: '0',
    ...(PG_URL ? { DATABASE_URL: PG_URL } : {}),
    ...opts.env,
  });
  const db = openDb({ databaseUrl: config.databaseUrl, dataDir, ...(pgSchema ? { pgSchema } : {}) });
  await migrateToLatest(db);
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const app = await buildApp({
    config,
    db,
    master: masterKeyFrom(opts.masterKey ?? randomBytes(32)),
    ...(opts.clock ? { clock: opts.clock } : {}),
    logger: loggerOptions(opts.logLevel ?? 'info', stream),
    webDist: opts.webDist ?? null,
    ...(opts.mailIntervalMs ? { mailIntervalMs: opts.mailIntervalMs } : {}),
  });
  await app.ready();
  let closed = false;
  return {
    app,
    dataDir,
    logs,
    pgSchema,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await db.close();
      if (pgSchema && !opts.pgSchema) await dropPgSchema(pgSchema);
      if (!opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A port nothing listens on right now (the OS picked it; it stays free unless someone races us). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `fn` every 50 ms until it returns a value (not undefined); fails after `ms`. */
export async function waitFor<T>(
  fn: () => Promise<T | undefined> | T | undefined,
  what: string,
  ms = 15_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

type Body = object | undefined;

/** A signed-in person: sends the session cookie and CSRF token like the web UI does. */
export class UserSession {
  constructor(
    readonly app: FastifyInstance,
    readonly user: { id: number; email: string; name: string },
    readonly cookie: string,
    readonly csrf: string,
  ) {}

  req(method: InjectOptions['method'], url: string, body?: Body): Promise<LightMyRequestResponse> {
    return this.app.inject({
      method,
      url,
      headers: { cookie: `keyport_session=${this.cookie}`, 'x-csrf-token': this.csrf },
      ...(body !== undefined ? { payload: body as object } : {}),
    });
  }
  get = (url: string) => this.req('GET', url);
  post = (url: string, body?: Body) => this.req('POST', url, body ?? {});
  patch = (url: string, body: Body) => this.req('PATCH', url, body);
  put = (url: string, body: Body) => this.req('PUT', url, body);
  del = (url: string) => this.req('DELETE', url);
}

let seq = 0;
export async function signUp(app: FastifyInstance, name = 'User'): Promise<UserSession> {
  seq += 1;
  const email = `${name.toLowerCase().replace(/\W+/g, '')}${seq}-${randomBytes(3).toString('hex')}@example.test`;
  const res = await app.inject({
    method: 'POST',
    url: '/api/auth/signup',
    payload: { email, password: 'correct horse battery', name },
    remoteAddress: `10.0.${seq % 250}.${(seq * 7) % 250}`,
  });
  if (res.statusCode !== 201) throw new Error(`signup failed: ${res.statusCode} ${res.body}`);
  const cookie = res.cookies.find((c) => c.name === 'keyport_session');
  if (!cookie) throw new Error('no session cookie');
  const body = res.json() as { user: { id: number; email: string; name: string }; csrf_token: string };
  return new UserSession(app, body.user, cookie.value, body.csrf_token);
}

export function bearer(app: FastifyInstance, token: string) {
  const req = (method: InjectOptions['method'], url: string, body?: Body) =>
    app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(body !== undefined ? { payload: body as object } : {}),
    });
  return {
    req,
    get: (url: string) => req('GET', url),
    post: (url: string, body?: Body) => req('POST', url, body ?? {}),
    del: (url: string) => req('DELETE', url),
  };
}

/**
 * Makes `member` a member of the project with the given roles the way people do it: the manager
 * invites their address, the member accepts in their own session. Every suite adds members here.
 */
export async function addMember(manager: UserSession, projectId: number, member: UserSession, roleIds: number[]) {
  const inv = await manager.post(`/api/projects/${projectId}/members`, { email: member.user.email, role_ids: roleIds });
  if (inv.statusCode !== 201) throw new Error(`invite: ${inv.statusCode} ${inv.body}`);
  const id = (inv.json() as { id: number }).id;
  const acc = await member.post(`/api/me/invitations/${id}/accept`);
  if (acc.statusCode !== 200) throw new Error(`accept: ${acc.statusCode} ${acc.body}`);
  return acc.json() as { project_id: number; role_ids: number[] };
}

/** Creates a project with input/compute/output nodes; returns ids. */
export async function makeProject(owner: UserSession, name = 'P') {
  const p = (await owner.post('/api/projects', { name })).json() as { id: number };
  const node = async (n: string, kind: string) =>
    ((await owner.post(`/api/projects/${p.id}/nodes`, { name: n, kind })).json() as { id: number }).id;
  const input = await node('input', 'input');
  const compute = await node('compute', 'compute');
  const output = await node('output', 'output');
  return { projectId: p.id, input, compute, output };
}

const SNAPSHOT_TABLES = [
  'users',
  'projects',
  'nodes',
  'links',
  'roles',
  'member_roles',
  'api_key_templates',
  'template_fields',
  'key_requests',
  'api_keys',
  'data_layers',
  'packages',
  'package_files',
  'objects',
  'secrets',
  'project_keys',
  'audit_log',
  'invitations',
  'key_reminders',
  'webhook_endpoints',
  'webhook_deliveries',
  'digest_claims',
] as const;

/**
 * Row counts of every table, in one round trip: "nothing changed" checks compare two snapshots.
 * `without` leaves one table out (a test that drops it cannot count it).
 */
export async function snapshot(app: FastifyInstance, opts: { without?: string } = {}): Promise<Record<string, number>> {
  const tables = SNAPSHOT_TABLES.filter((t) => t !== opts.without);
  const cols = sql.join(tables.map((t) => sql`(SELECT COUNT(*) FROM ${sql.table(t)}) AS ${sql.ref(t)}`));
  const r = await sql<Record<string, number | string>>`SELECT ${cols}`.execute(app.ctx.k);
  const row = r.rows[0] ?? {};
  return Object.fromEntries(tables.map((t) => [t, Number(row[t])]));
}
