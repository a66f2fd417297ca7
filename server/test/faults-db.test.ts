// The database lost while serving (real faults, no mocks). PostgreSQL: the app reaches it through a
// TCP proxy that refuses and cuts connections, or cuts one connection in the middle of a
// transaction. SQLite: another connection holds the write lock past busy_timeout. Either way a
// request that needs the database answers 503 UNAVAILABLE with Retry-After (no SQL, no driver
// message), writes nothing, and succeeds when retried after recovery; a key request that needs no
// database keeps answering 200 and is counted once the database is back.
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeDbError, isDatabaseUnavailable } from '../src/db/errors.js';
import { bearer, makeTestApp, PG_URL, signUp, snapshot, type TestApp, type UserSession } from './helpers.js';
import { issuedKeyStats, issueKey } from './keys-helpers.js';
import { TcpProxy } from './tcp-proxy.js';

/** What a client must see: the code, a retry hint, and nothing about the database. */
function expectUnavailable(res: { statusCode: number; headers: Record<string, unknown>; body: string }) {
  expect(res.statusCode, res.body).toBe(503);
  expect(res.headers['retry-after']).toBe('1');
  expect(JSON.parse(res.body)).toEqual({
    error: { code: 'UNAVAILABLE', message: 'The database is unavailable; retry shortly' },
  });
}

/** The warn line for the outage, and no SQL in any log line. */
function expectLoggedWithoutSql(logs: string[]) {
  const lines = logs.map((l) => JSON.parse(l) as { level: number; msg: string; err?: { code?: string } });
  const warn = lines.filter((l) => l.msg === 'database unavailable');
  expect(warn.length).toBeGreaterThan(0);
  for (const l of warn) expect(l.level).toBe(40);
  expect(lines.filter((l) => l.msg === 'unhandled error')).toEqual([]);
  for (const l of logs) expect(l).not.toMatch(/insert into|select .* from|"projects"|"member_roles"/i);
}

async function projectNames(owner: UserSession): Promise<string[]> {
  const res = await owner.get('/api/projects?page_size=100');
  expect(res.statusCode, res.body).toBe(200);
  return (res.json() as { items: { name: string }[] }).items.map((p) => p.name);
}

/** Requests counted for a key, after the meter has written what it buffered during the outage. */
async function countedRequests(t: TestApp, owner: UserSession, projectId: number, keyId: number) {
  const deadline = Date.now() + 20_000;
  while (t.app.usage.bufferedRequests > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await t.app.usage.flush();
  expect(t.app.usage.bufferedRequests).toBe(0);
  return (await issuedKeyStats(owner, projectId)).byId.get(keyId)?.requests ?? 0;
}

async function setup(t: TestApp) {
  const owner = await signUp(t.app, 'Owner');
  const holder = await signUp(t.app, 'Holder');
  const projectId = ((await owner.post('/api/projects', { name: 'Faults' })).json() as { id: number }).id;
  const key = await issueKey(t, owner, holder, { projectId, permissions: { project: ['project_view'] } });
  const api = bearer(t.app, key.token);
  expect((await api.get('/api/auth/whoami')).statusCode).toBe(200); // verified once: cached from now on
  return { owner, projectId, keyId: key.keyId, api };
}

// Role and key caches must outlive the outage for a key request to need no database: the outage in
// these tests is short, but a loaded CI machine must not turn it into a cache expiry.
const CACHE_ENV = { KEYPORT_CACHE_TTL_SECONDS: '60', KEYPORT_USAGE_FLUSH_MS: '50' };

describe.skipIf(!PG_URL)('PostgreSQL lost during requests (through a TCP proxy)', () => {
  let t: TestApp;
  let proxy: TcpProxy;
  let ctx: Awaited<ReturnType<typeof setup>>;

  beforeAll(async () => {
    const u = new URL(PG_URL as string);
    proxy = await TcpProxy.create({ host: u.hostname, port: Number(u.port || 5432) });
    t = await makeTestApp({ env: { DATABASE_URL: proxy.url(PG_URL as string), ...CACHE_ENV } });
    ctx = await setup(t);
  });
  afterAll(async () => {
    await proxy?.open(); // the app's close drains the meter into the database
    await t?.close();
    await proxy?.close();
  });

  it('database down: a write answers 503 UNAVAILABLE and writes nothing; key requests go on and are counted', async () => {
    const { owner, api } = ctx;
    const logsBefore = t.logs.length;
    await proxy.close(); // refuses new connections, cuts the pool's open ones

    expectUnavailable(await owner.post('/api/projects', { name: 'Made during the outage' }));
    // a key request needs no database (cached verification, buffered metering): still served
    for (let i = 0; i < 5; i++) expect((await api.get('/api/auth/whoami')).statusCode).toBe(200);
    expectUnavailable(await owner.post('/api/projects', { name: 'Made during the outage' }));

    await proxy.open();
    expect(await projectNames(owner)).not.toContain('Made during the outage'); // no partial write
    const retried = await owner.post('/api/projects', { name: 'Made during the outage' });
    expect(retried.statusCode, retried.body).toBe(201);
    expect((await projectNames(owner)).filter((n) => n === 'Made during the outage')).toHaveLength(1);
    expect(await countedRequests(t, owner, ctx.projectId, ctx.keyId)).toBe(1 + 5);
    expectLoggedWithoutSql(t.logs.slice(logsBefore));
  });

  it('a key whose role must be read from the database answers 503 during the outage, not 401', async () => {
    const { owner } = ctx;
    const holder = await signUp(t.app, 'Second holder');
    // its own role, never used: verifying the key needs the role row
    const fresh = await issueKey(t, owner, holder, {
      projectId: ctx.projectId,
      permissions: { project: ['project_view'] },
    });
    await proxy.close();
    const res = await bearer(t.app, fresh.token).get('/api/auth/whoami');
    await proxy.open();
    expectUnavailable(res);
    expect((await bearer(t.app, fresh.token).get('/api/auth/whoami')).statusCode).toBe(200);
  });

  it('connection cut in the middle of a transaction: 503, nothing of the transaction remains, the retry succeeds', async () => {
    const { owner } = ctx;
    const logsBefore = t.logs.length;
    const before = await snapshot(t.app);
    // creating a project inserts the project and its owner role, then the membership: cut there
    proxy.cutWhen('insert into "member_roles"');
    expectUnavailable(await owner.post('/api/projects', { name: 'Cut mid-transaction' }));
    expect(proxy.triggered).toBe(1);
    expect(await snapshot(t.app)).toEqual(before); // the project and role rows were rolled back
    expect(await projectNames(owner)).not.toContain('Cut mid-transaction');
    const retried = await owner.post('/api/projects', { name: 'Cut mid-transaction' });
    expect(retried.statusCode, retried.body).toBe(201);
    expectLoggedWithoutSql(t.logs.slice(logsBefore));
  });
});

describe.skipIf(PG_URL)('SQLite locked by another writer past busy_timeout', () => {
  let t: TestApp;
  let ctx: Awaited<ReturnType<typeof setup>>;

  beforeAll(async () => {
    t = await makeTestApp({ env: CACHE_ENV });
    ctx = await setup(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a write answers 503 UNAVAILABLE and writes nothing; key requests go on and are counted', async () => {
    const { owner, api } = ctx;
    const logsBefore = t.logs.length;
    const before = await snapshot(t.app);
    const other = new SQLite(path.join(t.dataDir, 'keyport.db'));
    try {
      other.exec('BEGIN IMMEDIATE'); // holds the write lock, as a stuck maintenance job would
      // better-sqlite3 waits busy_timeout (5 s) synchronously, then SQLITE_BUSY
      expectUnavailable(await owner.post('/api/projects', { name: 'Made while locked' }));
      for (let i = 0; i < 5; i++) expect((await api.get('/api/auth/whoami')).statusCode).toBe(200);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(await snapshot(t.app)).toEqual(before);
    const retried = await owner.post('/api/projects', { name: 'Made while locked' });
    expect(retried.statusCode, retried.body).toBe(201);
    expect((await projectNames(owner)).filter((n) => n === 'Made while locked')).toHaveLength(1);
    expect(await countedRequests(t, owner, ctx.projectId, ctx.keyId)).toBe(1 + 5);
    expectLoggedWithoutSql(t.logs.slice(logsBefore));
    // The request's write waited the busy timeout (5 s, synchronously); the background flushes
    // gave up at once instead and retried, and left the connection's timeout as it was.
    const timeout = await sql<{ timeout: number }>`PRAGMA busy_timeout`.execute(t.app.ctx.k);
    expect(timeout.rows[0]?.timeout).toBe(5000);
  }, 60_000);
});

describe('isDatabaseUnavailable: transient faults only, bugs and bad data stay 500/4xx', () => {
  const err = (props: Record<string, unknown>, message = 'x') => Object.assign(new Error(message), props);
  it.each([
    ['ECONNREFUSED', err({ code: 'ECONNREFUSED' }, 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['ECONNRESET', err({ code: 'ECONNRESET' })],
    ['happy-eyeballs AggregateError', new AggregateError([err({ code: 'ECONNREFUSED' })], '')],
    ['pg connection lost', new Error('Connection terminated unexpectedly')],
    ['pg connect timeout', new Error('Connection terminated due to connection timeout')],
    ['pg-pool timeout', new Error('timeout exceeded when trying to connect')],
    ['pg broken client', new Error('Client has encountered a connection error and is not queryable')],
    ['08006 connection failure', err({ code: '08006' })],
    ['57P01 admin shutdown', err({ code: '57P01' })],
    ['57P03 starting up', err({ code: '57P03' })],
    ['53300 too many connections', err({ code: '53300' })],
    ['SQLITE_BUSY', err({ code: 'SQLITE_BUSY' })],
    ['SQLITE_BUSY_SNAPSHOT', err({ code: 'SQLITE_BUSY_SNAPSHOT' })],
    ['SQLITE_FULL', err({ code: 'SQLITE_FULL' })],
    ['SQLITE_IOERR_WRITE', err({ code: 'SQLITE_IOERR_WRITE' })],
    ['SQLITE_CANTOPEN', err({ code: 'SQLITE_CANTOPEN' })],
    ['wrapped as cause', new Error('query failed', { cause: err({ code: '57P01' }) })],
  ])('unavailable: %s', (_name, e) => expect(isDatabaseUnavailable(e)).toBe(true));

  it.each([
    ['23505 unique violation', err({ code: '23505' })],
    ['42601 syntax error', err({ code: '42601' })],
    ['28P01 wrong password', err({ code: '28P01' })],
    ['3D000 no such database', err({ code: '3D000' })],
    ['SQLITE_CONSTRAINT_UNIQUE', err({ code: 'SQLITE_CONSTRAINT_UNIQUE' })],
    ['SQLITE_ERROR', err({ code: 'SQLITE_ERROR' }, 'no such table: x')],
    ['TypeError', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['not an error', 'Connection terminated unexpectedly'],
  ])('not unavailable: %s', (_name, e) => expect(isDatabaseUnavailable(e)).toBe(false));

  it('describes a fault by code, without repeating the address the caller already prints', () => {
    expect(describeDbError(err({ code: 'ECONNREFUSED' }, 'connect ECONNREFUSED 10.0.0.5:5432'))).toBe('ECONNREFUSED');
    expect(describeDbError(err({ code: '57P03' }, 'the database system is starting up'))).toBe(
      '57P03 the database system is starting up',
    );
    expect(describeDbError(new AggregateError([err({ code: 'ECONNREFUSED' })], ''))).toBe('ECONNREFUSED');
  });
});
