// Monthly quota on a template (API4): at most N billed requests per key per UTC month,
// then 429 QUOTA_EXCEEDED with Retry-After, not billed; concurrency cannot slip past it; template
// edits apply to live keys at once; the count survives a restart and starts over next month.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFRESH_MS } from '../src/modules/usage/quota.js';
import {
  bearer,
  createPgSchema,
  dropPgSchema,
  MutableClock,
  makeTestApp,
  PG_URL,
  signUp,
  snapshot,
  type TestApp,
  UserSession,
} from './helpers.js';
import { issuedKeyStats, issueKey } from './keys-helpers.js';
import { Tally } from './security-helpers.js';

type Offer = { template_id: number; state: string; monthly_quota: number | null; used_this_month: number | null };

describe('monthly quota per template', () => {
  const tally = new Tally('quota');
  const clock = new MutableClock(Date.UTC(2026, 10, 30, 23, 0, 0)); // one hour before December
  const masterKey = randomBytes(32);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-quota-'));
  let pgSchema: string | undefined;
  let t: TestApp;
  let owner: UserSession;
  let holder: UserSession;
  let projectId: number;

  const start = async () => {
    t = await makeTestApp({ clock, dataDir, masterKey, ...(pgSchema ? { pgSchema } : {}) });
    // sessions are rows in the database: the same people, signed in on the new app instance
    if (owner) {
      owner = new UserSession(t.app, owner.user, owner.cookie, owner.csrf);
      holder = new UserSession(t.app, holder.user, holder.cookie, holder.csrf);
    }
  };

  beforeAll(async () => {
    if (PG_URL) pgSchema = await createPgSchema();
    await start();
    owner = await signUp(t.app, 'Owner');
    holder = await signUp(t.app, 'Holder');
    projectId = ((await owner.post('/api/projects', { name: 'Quota' })).json() as { id: number }).id;
  });
  afterAll(async () => {
    tally.report();
    await t.close();
    if (pgSchema) await dropPgSchema(pgSchema);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function requests(projectIdOf: number) {
    await t.app.usage.flush();
    const { byId } = await issuedKeyStats(owner, projectIdOf);
    return new Map([...byId].map(([id, i]) => [id, i.requests]));
  }

  it('refuses a bad quota with 400 and changes nothing', async () => {
    const role = (
      await owner.post(`/api/projects/${projectId}/roles`, {
        name: 'q-role',
        permissions: { project: ['project_view'], nodes: {} },
      })
    ).json() as { id: number };
    const before = await snapshot(t.app);
    for (const monthly_quota of [0, -1, 1.5, '10', true, 1e13]) {
      const res = await owner.post(`/api/projects/${projectId}/api-key-templates`, {
        name: 'bad quota',
        role_id: role.id,
        monthly_quota,
      });
      tally.rejects(`monthly_quota ${JSON.stringify(monthly_quota)}`, res, 400, 'VALIDATION_FAILED');
    }
    expect(await snapshot(t.app)).toEqual(before);
  });

  it('answers 429 QUOTA_EXCEEDED after N billed requests, with Retry-After to the next month, not billed', async () => {
    const k = await issueKey(t, owner, holder, {
      projectId,
      permissions: { project: ['project_view'] },
      monthlyQuota: 3,
    });
    const tpl = await owner.get(`/api/projects/${projectId}/api-key-templates/${k.templateId}`);
    expect(tpl.json().monthly_quota).toBe(3);
    const offers = await holder.get(`/api/projects/${projectId}/api-key-offers`);
    const offer = (offers.json() as { template_id: number; monthly_quota: number | null }[]).find(
      (o) => o.template_id === k.templateId,
    );
    expect(offer?.monthly_quota).toBe(3);
    const key = bearer(t.app, k.token);
    for (let i = 0; i < 3; i++) {
      const res = await key.get('/api/auth/whoami');
      expect(res.statusCode).toBe(200);
      expect([res.headers['x-quota-limit'], res.headers['x-quota-remaining']]).toEqual(['3', String(2 - i)]);
    }
    const over = await key.get('/api/auth/whoami');
    expect(over.headers['x-quota-remaining']).toBe('0');
    tally.rejects('request over the monthly quota', over, 429, 'QUOTA_EXCEEDED');
    expect(over.json().error).toMatchObject({ monthly_quota: 3 });
    expect(Number(over.headers['retry-after'])).toBe(3600); // 23:00 on 30 November → 1 December
    // refused before the route: a write is refused too and creates nothing
    const before = await snapshot(t.app);
    const write = await key.post(`/api/projects/${projectId}/data_layers`, { name: 'x' });
    tally.rejects('write over the monthly quota', write, 429, 'QUOTA_EXCEEDED');
    expect(await snapshot(t.app)).toEqual(before);
    expect((await requests(projectId)).get(k.keyId)).toBe(3);
    const tile = ((await holder.get(`/api/projects/${projectId}/api-key-offers`)).json() as Offer[]).find(
      (o) => o.template_id === k.templateId,
    );
    expect([tile?.state, tile?.monthly_quota, tile?.used_this_month]).toEqual(['received', 3, 3]);
  });

  it('lets exactly N of many concurrent requests through', async () => {
    const k = await issueKey(t, owner, holder, {
      projectId,
      permissions: { project: ['project_view'] },
      monthlyQuota: 10,
    });
    const key = bearer(t.app, k.token);
    const codes = await Promise.all(Array.from({ length: 40 }, () => key.get('/api/auth/whoami')));
    const ok = codes.filter((r) => r.statusCode === 200).length;
    const refused = codes.filter((r) => r.statusCode === 429);
    expect([ok, refused.length]).toEqual([10, 30]);
    for (const r of refused) tally.rejects('concurrent request over the quota', r, 429, 'QUOTA_EXCEEDED');
    expect((await requests(projectId)).get(k.keyId)).toBe(10);
  });

  it('applies template edits to live keys at once, and null means unlimited', async () => {
    const k = await issueKey(t, owner, holder, {
      projectId,
      permissions: { project: ['project_view'] },
      monthlyQuota: 1,
    });
    const key = bearer(t.app, k.token);
    expect((await key.get('/api/auth/whoami')).statusCode).toBe(200);
    expect((await key.get('/api/auth/whoami')).statusCode).toBe(429);
    const patch = (monthly_quota: number | null) =>
      owner.patch(`/api/projects/${projectId}/api-key-templates/${k.templateId}`, { monthly_quota });
    expect((await patch(2)).statusCode).toBe(200);
    expect((await key.get('/api/auth/whoami')).statusCode).toBe(200);
    expect((await key.get('/api/auth/whoami')).statusCode).toBe(429);
    expect((await patch(null)).json().monthly_quota).toBeNull();
    for (let i = 0; i < 5; i++) expect((await key.get('/api/auth/whoami')).statusCode).toBe(200);
    expect((await requests(projectId)).get(k.keyId)).toBe(7);
  });

  it('keeps the month count across a restart and starts over in the next month', async () => {
    const k = await issueKey(t, owner, holder, {
      projectId,
      permissions: { project: ['project_view'] },
      monthlyQuota: 2,
    });
    let key = bearer(t.app, k.token);
    expect((await key.get('/api/auth/whoami')).statusCode).toBe(200);
    expect((await key.get('/api/auth/whoami')).statusCode).toBe(200);
    await t.close(); // graceful: counts drained to the database
    await start();
    key = bearer(t.app, k.token);
    expect((await key.get('/api/auth/whoami')).statusCode).toBe(429);
    clock.advance(3_600_000); // 1 December 00:00 UTC
    expect((await key.get('/api/auth/whoami')).statusCode).toBe(200);
    expect((await key.get('/api/auth/whoami')).statusCode).toBe(200);
    expect((await key.get('/api/auth/whoami')).statusCode).toBe(429);
    expect((await requests(projectId)).get(k.keyId)).toBe(4);
  });

  /** A key with a quota of 4, used through this app (A) and a second instance (B) on the same database. */
  async function twoInstances(
    run: (a: ReturnType<typeof bearer>, b: ReturnType<typeof bearer>, other: TestApp) => Promise<void>,
  ) {
    const k = await issueKey(t, owner, holder, {
      projectId,
      permissions: { project: ['project_view'] },
      monthlyQuota: 4,
    });
    const other = await makeTestApp({ clock, dataDir, masterKey, ...(pgSchema ? { pgSchema } : {}) });
    try {
      await run(bearer(t.app, k.token), bearer(other.app, k.token), other);
      expect((await requests(projectId)).get(k.keyId)).toBe(4);
    } finally {
      await other.close();
    }
  }

  it('a second instance sees the first instance requests at its next refresh', () =>
    twoInstances(async (a, b, other) => {
      expect((await b.get('/api/auth/whoami')).statusCode).toBe(200); // B: 1 of 4, month count loaded
      for (let i = 0; i < 3; i++) expect((await a.get('/api/auth/whoami')).statusCode).toBe(200);
      await t.app.usage.flush(); // A's three requests reach the database
      clock.advance(REFRESH_MS);
      await other.app.usage.flush(); // B's flush round refreshes its month counts
      expect((await b.get('/api/auth/whoami')).statusCode).toBe(429);
      await other.app.usage.flush();
    }));

  it('a lineage idle through a refresh is read afresh at its next request', () =>
    twoInstances(async (a, b, other) => {
      expect((await b.get('/api/auth/whoami')).statusCode).toBe(200); // B: 1 of 4
      clock.advance(REFRESH_MS);
      await other.app.usage.flush(); // B's refresh: the lineage was used since the last one
      for (let i = 0; i < 3; i++) expect((await a.get('/api/auth/whoami')).statusCode).toBe(200);
      await t.app.usage.flush();
      clock.advance(REFRESH_MS);
      const held = other.app.quota.size;
      await other.app.usage.flush(); // idle at B since its last refresh: dropped, not re-read
      expect(other.app.quota.size).toBeLessThan(held);
      expect((await b.get('/api/auth/whoami')).statusCode).toBe(429); // loaded again: 4 of 4 used
    }));
});
