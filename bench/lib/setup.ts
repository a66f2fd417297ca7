// Benchmark fixtures. The database is prepared in this process with the server's own code (the
// real lifecycle API through app.inject for the main key; direct SQL for bulk rows), then closed;
// the server under test is a separate process started on the same data directory / database.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { sql } from 'kysely';
import pg from 'pg';
import { buildApp } from '../../server/src/app.js';
import { loadConfig } from '../../server/src/config.js';
import type { Ctx } from '../../server/src/context.js';
import { type Db, openDb } from '../../server/src/db/dialect.js';
import { migrateToLatest } from '../../server/src/db/migrate.js';
import { masterKeyFrom } from '../../server/src/lib/master-key.js';
import { signKey, withTokenDigest } from '../../server/src/modules/keys/tokens.js';

export type DbKind = 'sqlite' | 'postgres';
/** the bench template's monthly quota and spend cap: set, and never reached by a run */
const QUOTA = 1_000_000_000;
const SPEND_CAP = '100000000';
export const PG_BASE_URL = process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';

export interface Fixture {
  kind: DbKind;
  dataDir: string;
  /** environment for `server/src/main.ts` */
  env: Record<string, string>;
  /** a key issued through the lifecycle API: project_view + package_create/view on both nodes */
  token: string;
  keyId: number;
  projectId: number;
  inputNode: number;
  outputNode: number;
  /** the key holder's personal layer (created on approval) */
  layerId: number;
  /** seeded packages: input ids [firstMaster, lastMaster]; each has one result in the output node */
  masters: [number, number];
  /** the key holder's session (a member holding the key's role): the same routes without a key */
  session: { cookie: string; csrf: string };
  /** files with one token per line, one file per cold run (distinct keys, never used before) */
  coldTokenFiles: string[];
  /**
   * Files like coldTokenFiles, of keys without a token digest (as an instance of an earlier release
   * issues them): checked by signature. Call while the server runs — a server's start gives every
   * key without a digest its digest — and give its key directory a poll to load them.
   */
  addSignatureKeys(runs: number): Promise<string[]>;
  databaseUrl: string | null;
  cleanup(): Promise<void>;
}

export async function pgReachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_BASE_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

async function pgAdmin(query: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_BASE_URL });
  await c.connect();
  try {
    await c.query(query);
  } finally {
    await c.end();
  }
}

export interface OpenedApp {
  app: FastifyInstance;
  ctx: Ctx;
  db: Db;
  close(): Promise<void>;
}

/** The app in this process (no listening socket), on the fixture's database. */
export async function openApp(env: Record<string, string>, dataDir: string): Promise<OpenedApp> {
  const config = loadConfig(env);
  const db = openDb({ databaseUrl: config.databaseUrl, dataDir, poolSize: 4 });
  await migrateToLatest(db);
  const app = await buildApp({
    config,
    db,
    master: masterKeyFrom(Buffer.from(env.KEYPORT_MASTER_KEY as string, 'base64')),
    logger: false,
    webDist: null,
  });
  await app.ready();
  return {
    app,
    ctx: app.ctx,
    db,
    async close() {
      await app.close();
      await db.close();
    },
  };
}

/** A fresh data directory and database (SQLite file, or a new PostgreSQL database) with its env. */
export async function freshEnv(
  kind: DbKind,
): Promise<{ env: Record<string, string>; dataDir: string; databaseUrl: string | null; drop(): Promise<void> }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-bench-'));
  const env: Record<string, string> = {
    KEYPORT_DATA_DIR: dataDir,
    KEYPORT_MASTER_KEY: randomBytes(32).toString('base64'),
    KEYPORT_DEMO: '0',
    // per-request logging would dominate both routes equally; the bench measures the key's cost
    KEYPORT_LOG_LEVEL: 'warn',
    KEYPORT_HOST: '127.0.0.1',
    PORT: '0',
  };
  let databaseUrl: string | null = null;
  let dbName: string | null = null;
  if (kind === 'postgres') {
    dbName = `keyport_bench_${randomBytes(5).toString('hex')}`;
    await pgAdmin(`CREATE DATABASE ${dbName}`);
    const u = new URL(PG_BASE_URL);
    u.pathname = `/${dbName}`;
    databaseUrl = u.toString();
    env.DATABASE_URL = databaseUrl;
  }
  return {
    env,
    dataDir,
    databaseUrl,
    async drop() {
      if (dbName) await pgAdmin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let ip = 0;
async function call(app: FastifyInstance, opts: InjectOptions, step: string): Promise<Record<string, unknown>> {
  const res = await app.inject(opts);
  if (res.statusCode >= 300) throw new Error(`${step} failed: ${res.statusCode} ${res.body}`);
  return res.json() as Record<string, unknown>;
}

async function signUp(app: FastifyInstance, name: string) {
  ip += 1;
  const res = await app.inject({
    method: 'POST',
    url: '/api/auth/signup',
    payload: { email: `${name}-${randomBytes(4).toString('hex')}@bench.test`, password: 'correct horse battery', name },
    remoteAddress: `10.9.0.${ip}`,
  });
  if (res.statusCode !== 201) throw new Error(`signup failed: ${res.statusCode} ${res.body}`);
  const cookie = res.cookies.find((c) => c.name === 'keyport_session')?.value as string;
  const body = res.json() as { user: { id: number }; csrf_token: string };
  const as = (method: InjectOptions['method'], url: string, payload?: object) =>
    call(
      app,
      {
        method,
        url,
        headers: { cookie: `keyport_session=${cookie}`, 'x-csrf-token': body.csrf_token },
        ...(payload ? { payload } : {}),
      },
      `${method} ${url}`,
    );
  return { userId: body.user.id, as, session: { cookie: `keyport_session=${cookie}`, csrf: body.csrf_token } };
}

/**
 * Owner, holder, project with input/output nodes, a role + template, and one key through the real
 * request → approve → token flow; then `coldRuns × coldKeys` more keys inserted directly (same
 * columns the approval writes) and their tokens signed with the app's signing key.
 */
export async function prepare(
  kind: DbKind,
  opts: { coldRuns: number; coldKeys: number; packages: number },
): Promise<Fixture> {
  const fresh = await freshEnv(kind);
  const { env, dataDir } = fresh;
  const opened = await openApp(env, dataDir);
  const { app, ctx } = opened;
  try {
    const owner = await signUp(app, 'owner');
    const holder = await signUp(app, 'holder');
    const project = (await owner.as('POST', '/api/projects', { name: 'Bench' })) as { id: number };
    const p = project.id;
    const inputNode = (
      (await owner.as('POST', `/api/projects/${p}/nodes`, { name: 'input', kind: 'input' })) as { id: number }
    ).id;
    const outputNode = (
      (await owner.as('POST', `/api/projects/${p}/nodes`, { name: 'output', kind: 'output' })) as { id: number }
    ).id;
    const perms = ['package_create', 'package_view'];
    const role = (await owner.as('POST', `/api/projects/${p}/roles`, {
      name: 'bench-client',
      price_per_request: '0.001',
      permissions: { project: ['project_view'], nodes: { [inputNode]: perms, [outputNode]: perms } },
    })) as { id: number };
    await owner.as('POST', `/api/projects/${p}/roles`, {
      name: 'viewer',
      is_public: true,
      permissions: { project: ['project_view'] },
    });
    // quota and spend cap set (far above what a run uses): every key request is admitted against both
    const template = (await owner.as('POST', `/api/projects/${p}/api-key-templates`, {
      name: 'bench key',
      role_id: role.id,
      description: 'benchmark',
      monthly_quota: QUOTA,
      monthly_spend_cap: SPEND_CAP,
    })) as { id: number; monthly_spend_cap_micros?: number };
    const request = (await holder.as('POST', `/api/projects/${p}/api-key-templates/${template.id}/requests`)) as {
      id: number;
    };
    const key = (await owner.as('POST', `/api/projects/${p}/api-key-requests/${request.id}/approve`)) as { id: number };
    const { token } = (await holder.as('GET', `/api/me/api-keys/${key.id}/token`)) as { token: string };
    // the holder as a member with the key's role (the row an accepted invitation writes), so their
    // session may call the same routes
    await ctx.k
      .insertInto('member_roles')
      .values({ project_id: p, user_id: holder.userId, role_id: role.id, created_at: ctx.clock.now() })
      .execute();
    const capMicros = await ctx.k
      .selectFrom('api_key_templates')
      .select('monthly_spend_cap_micros')
      .where('id', '=', template.id)
      .executeTakeFirstOrThrow();
    const layer = await ctx.k
      .selectFrom('data_layers')
      .select('id')
      .where('project_id', '=', p)
      .where('kind', '=', 'personal')
      .where('user_id', '=', holder.userId)
      .executeTakeFirstOrThrow();

    const template0 = {
      project_id: p,
      template_id: template.id,
      role_id: role.id,
      user_id: holder.userId,
      request_id: request.id,
      monthly_quota: QUOTA,
      template_spend_cap_micros: Number(capMicros.monthly_spend_cap_micros),
    };
    const tokenFiles = async (into: Ctx, runs: number, name: string, digests: boolean) => {
      const files: string[] = [];
      for (let run = 0; run < runs; run++) {
        const tokens = await insertKeys(into, template0, opts.coldKeys, digests);
        const file = path.join(dataDir, `${name}-${run}.txt`);
        fs.writeFileSync(file, `${tokens.join('\n')}\n`);
        files.push(file);
      }
      return files;
    };
    const coldTokenFiles = await tokenFiles(ctx, opts.coldRuns, 'cold', true);
    const addSignatureKeys = async (runs: number) => {
      const again = await openApp(env, dataDir);
      try {
        return await tokenFiles(again.ctx, runs, 'cold-signature', false);
      } finally {
        await again.close();
      }
    };
    const masters = await insertPackages(
      ctx,
      { projectId: p, layerId: layer.id, inputNode, outputNode, userId: holder.userId, keyId: key.id },
      opts.packages,
    );
    return {
      kind,
      dataDir,
      env,
      token,
      keyId: key.id,
      projectId: p,
      inputNode,
      outputNode,
      layerId: layer.id,
      masters,
      session: holder.session,
      coldTokenFiles,
      addSignatureKeys,
      databaseUrl: fresh.databaseUrl,
      cleanup: fresh.drop,
    };
  } catch (err) {
    await opened.close().catch(() => {});
    await fresh.drop().catch(() => {});
    throw err;
  } finally {
    await opened.close().catch(() => {});
  }
}

/**
 * `n` live keys of one template and their signed tokens: rows as the approval writes them (with
 * the token's digest), or, with `digests` false, as keys issued before digests were kept.
 */
export async function insertKeys(
  ctx: Ctx,
  t: {
    project_id: number;
    template_id: number;
    role_id: number;
    user_id: number;
    request_id: number;
    monthly_quota: number | null;
    template_spend_cap_micros: number | null;
  },
  n: number,
  digests: boolean,
): Promise<string[]> {
  const now = ctx.clock.now();
  const claims = Array.from({ length: n }, () => ({
    ...t,
    jti: randomBytes(16).toString('base64url'),
    kid: ctx.signing.activeKid,
    issuer: ctx.config.publicUrl,
    template_name: 'bench key',
    issued_at: now,
    expires_at: null,
    claims_expires_at: null,
    created_at: now,
    revoked_at: null,
    revoked_reason: null,
    updated_at: now,
  }));
  const tokens: string[] = [];
  const rows: ((typeof claims)[number] & { token_sha256?: string })[] = [];
  for (const c of claims) {
    const signed = digests ? await withTokenDigest(ctx, c) : { token: await signKey(ctx, c), row: c };
    tokens.push(signed.token);
    rows.push(signed.row);
  }
  const chunk = 500;
  await ctx.k.transaction().execute(async (trx) => {
    for (let i = 0; i < rows.length; i += chunk)
      await trx
        .insertInto('api_keys')
        .values(rows.slice(i, i + chunk))
        .execute();
  });
  return tokens;
}

/**
 * `n` packages in one layer, inserted with one SQL statement per half: n/2 inputs (their own master)
 * in the input node and n/2 results (master = an input, parent_ids = [input]) in the output node.
 * Returns the range of input ids (the master ids to search for).
 */
export async function insertPackages(
  ctx: Ctx,
  o: { projectId: number; layerId: number; inputNode: number; outputNode: number; userId: number; keyId: number },
  n: number,
): Promise<[number, number]> {
  const half = Math.floor(n / 2);
  if (half < 1) return [0, -1];
  const maxRow = await ctx.k
    .selectFrom('packages')
    .select((eb) => eb.fn.max('id').as('m'))
    .executeTakeFirst();
  const base = Number(maxRow?.m ?? 0) + 1;
  const now = ctx.clock.now();
  const pgDb = ctx.db.dialect === 'postgres';
  // typed parameters: PostgreSQL cannot infer them inside INSERT … SELECT
  const int = (v: number) => sql`CAST(${v} AS INTEGER)`;
  const big = (v: number) => sql`CAST(${v} AS BIGINT)`;
  const series = pgDb
    ? sql`generate_series(0, ${int(half - 1)}) AS s(i)`
    : sql`(WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < ${half - 1}) SELECT i FROM s) AS s`;
  const cols = sql`(id, project_id, node_id, data_layer_id, label, master_id, parent_ids, fields, created_by_user_id, created_by_key_id, created_at)`;
  const fields = sql`'{"x":' || CAST(s.i AS TEXT) || ',"name":"bench input"}'`;
  await ctx.k.transaction().execute(async (trx) => {
    await sql`INSERT INTO packages ${cols}
      SELECT ${int(base)} + s.i, ${int(o.projectId)}, ${int(o.inputNode)}, ${int(o.layerId)}, 'input', ${int(base)} + s.i, '[]', ${fields},
             ${int(o.userId)}, ${int(o.keyId)}, ${big(now)}
      FROM ${series}`.execute(trx);
    await sql`INSERT INTO packages ${cols}
      SELECT ${int(base + half)} + s.i, ${int(o.projectId)}, ${int(o.outputNode)}, ${int(o.layerId)}, 'result', ${int(base)} + s.i,
             '[' || CAST(${int(base)} + s.i AS TEXT) || ']', '{"sum":1}', ${int(o.userId)}, ${int(o.keyId)}, ${big(now)}
      FROM ${series}`.execute(trx);
    if (pgDb)
      await sql`SELECT setval(pg_get_serial_sequence('packages', 'id'), (SELECT max(id) FROM packages))`.execute(trx);
  });
  // a steady-state table: statistics fresh, visibility map set (index-only scans), and no
  // autovacuum pass over a million fresh rows competing with the measured runs
  if (pgDb) await sql`VACUUM ANALYZE packages`.execute(ctx.k);
  else await sql`ANALYZE`.execute(ctx.k);
  return [base, base + half - 1];
}
