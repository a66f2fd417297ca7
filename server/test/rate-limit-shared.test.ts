// Throttles across instances (API4/API6): on PostgreSQL the login and key-request limits
// are kept in the database, so two instances together allow what one allows. Keys are hashed.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgSchema, dropPgSchema, makeTestApp, PG_URL, signUp, type TestApp, UserSession } from './helpers.js';
import { makeProjectVisible } from './keys-helpers.js';
import { Tally } from './security-helpers.js';

describe.skipIf(!PG_URL)('rate limits shared by every instance on one PostgreSQL', () => {
  const tally = new Tally('shared rate limits');
  let pgSchema: string;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    pgSchema = await createPgSchema();
    const masterKey = randomBytes(32); // instances of one deployment share the master key
    a = await makeTestApp({ pgSchema, masterKey });
    b = await makeTestApp({ pgSchema, masterKey });
  });
  afterAll(async () => {
    tally.report();
    await a?.close();
    await b?.close();
    await dropPgSchema(pgSchema);
  });

  it('login: 10 attempts per IP per minute in all, whichever instance answers; the IP is not stored', async () => {
    const user = await signUp(a.app, 'Target');
    const ip = '10.77.0.1';
    // each wrong password on another (unknown) email: the per-account slow-down stays out of the way
    let n = 0;
    const login = (t: TestApp, password: string, remoteAddress = ip) =>
      t.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        remoteAddress,
        payload: { email: password === 'guess' ? `guess-${++n}@example.test` : user.user.email, password },
      });
    for (let i = 0; i < 10; i++) {
      const res = await login(i % 2 ? b : a, 'guess');
      tally.rejects(`wrong password #${i + 1} on instance ${i % 2 ? 'B' : 'A'}`, res, 401, 'INVALID_CREDENTIALS');
    }
    for (const [name, t] of [
      ['A', a],
      ['B', b],
    ] as const) {
      const limited = await login(t, 'correct horse battery');
      tally.rejects(`11th login in a minute, on instance ${name}`, limited, 429, 'RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect((await login(b, 'correct horse battery', '10.77.0.2')).statusCode).toBe(200); // another IP
    const keys = await sql<{ key: string }>`SELECT key FROM rate_limit_hits`.execute(a.app.ctx.k);
    expect(keys.rows.length).toBeGreaterThan(0);
    for (const r of keys.rows) expect(r.key).not.toMatch(/10\.77|login/);
  });

  it('key requests: 20 per user per minute in all, across instances and sessions', async () => {
    const owner = await signUp(a.app, 'Owner');
    const projectId = ((await owner.post('/api/projects', { name: 'Throttled' })).json() as { id: number }).id;
    await makeProjectVisible(owner, projectId);
    const role = (
      await owner.post(`/api/projects/${projectId}/roles`, {
        name: 'viewer-key',
        permissions: { project: ['project_view'], nodes: {} },
      })
    ).json() as { id: number };
    const templateIds: number[] = [];
    for (let i = 0; i < 11; i++) {
      const tpl = await owner.post(`/api/projects/${projectId}/api-key-templates`, { name: `T${i}`, role_id: role.id });
      templateIds.push((tpl.json() as { id: number }).id);
    }
    const onA = await signUp(a.app, 'Requester');
    // the same person signed in on instance B (a session is a database row, valid everywhere)
    const onB = new UserSession(b.app, onA.user, onA.cookie, onA.csrf);
    // request and cancel, alternating instances: 20 requests pass in all
    let passed = 0;
    for (let i = 0; i < 10; i++) {
      for (const s of [onA, onB]) {
        const r = await s.post(`/api/projects/${projectId}/api-key-templates/${templateIds[i]}/requests`);
        expect(r.statusCode, r.body).toBe(201);
        passed += 1;
        const id = (r.json() as { id: number }).id;
        expect((await s.del(`/api/projects/${projectId}/api-key-requests/${id}`)).statusCode).toBe(200);
      }
    }
    expect(passed).toBe(20);
    for (const [name, s] of [
      ['A', onA],
      ['B', onB],
    ] as const) {
      const r = await s.post(`/api/projects/${projectId}/api-key-templates/${templateIds[10]}/requests`);
      tally.rejects(`21st key request in a minute, on instance ${name}`, r, 429, 'RATE_LIMITED');
    }
  });
});
