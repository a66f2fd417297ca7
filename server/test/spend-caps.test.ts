// Money controls: monthly spend caps (template, manager override, holder's lower cap, the whole
// lineage), exact under concurrency; 80 % / 100 % alerts once across instances; billing outcomes.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bearer,
  makeProject,
  makeTestApp,
  PG_URL,
  signUp,
  snapshot,
  type TestApp,
  type UserSession,
} from './helpers.js';
import { type IssuedKey, issueKey } from './keys-helpers.js';

let t: TestApp;
let owner: UserSession;
let holder: UserSession;
let S: Awaited<ReturnType<typeof makeProject>>;

const json = (r: { statusCode: number; body: string }, status = 200) => {
  if (r.statusCode !== status) throw new Error(`expected ${status}, got ${r.statusCode}: ${r.body}`);
  return r.body ? JSON.parse(r.body) : null;
};

async function cappedKey(cap: string | null, price = '0.30', app: TestApp = t): Promise<IssuedKey> {
  const key = await issueKey(app, owner, holder, {
    projectId: S.projectId,
    permissions: { project: ['project_view'] },
    price,
  });
  if (cap !== null)
    json(
      await owner.patch(`/api/projects/${S.projectId}/api-key-templates/${key.templateId}`, { monthly_spend_cap: cap }),
    );
  return key;
}

beforeAll(async () => {
  t = await makeTestApp();
  owner = await signUp(t.app, 'Owner');
  holder = await signUp(t.app, 'Holder');
  S = await makeProject(owner, 'Metered');
});
afterAll(() => t.close());

describe('spend caps', () => {
  it('40 concurrent requests under a cap: exactly floor(cap / price) served and billed', async () => {
    const key = await cappedKey('10.00', '0.30'); // floor(10 / 0.3) = 33
    const answers = await Promise.all(
      Array.from({ length: 40 }, () => bearer(t.app, key.token).get('/api/auth/whoami')),
    );
    const codes = answers.map((a) => a.statusCode);
    expect(codes.filter((c) => c === 200)).toHaveLength(33);
    expect(codes.filter((c) => c === 429)).toHaveLength(7);
    const refused = answers.find((a) => a.statusCode === 429);
    expect(refused?.json().error).toMatchObject({ code: 'SPEND_CAP_REACHED', monthly_spend_cap: '10.00' });
    expect(Number(refused?.headers['retry-after'])).toBeGreaterThan(0);
    await t.app.usage.flush();
    const list = json(await owner.get(`/api/projects/${S.projectId}/issued-keys?status=all`));
    const row = list.items.find((k: { id: number }) => k.id === key.keyId);
    expect(row).toMatchObject({ requests: 33, total_cost: '9.90', monthly_spend_cap: '10.00' });
    await t.app.outcomes.flush();
    expect(
      json(await owner.get(`/api/projects/${S.projectId}/issued-keys?status=all`)).items.find(
        (k: { id: number }) => k.id === key.keyId,
      ),
    ).toMatchObject({ refused: 7 });
  });

  it('a manager override replaces the template cap; the holder may only lower it; the lowest applies', async () => {
    const key = await cappedKey('1.00', '0.25');
    // the manager raises this key's cap above the template's
    expect(
      (await owner.patch(`/api/projects/${S.projectId}/issued-keys/${key.keyId}`, { monthly_spend_cap: '2.00' }))
        .statusCode,
    ).toBe(204);
    // the holder may not go above it
    const high = await holder.patch(`/api/me/api-keys/${key.keyId}`, { monthly_spend_cap: '3.00' });
    expect(high.statusCode).toBe(400);
    expect(high.json().error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'monthly_spend_cap' });
    expect((await holder.patch(`/api/me/api-keys/${key.keyId}`, { monthly_spend_cap: '0.50' })).statusCode).toBe(204);
    const served = [];
    for (let i = 0; i < 4; i++) served.push((await bearer(t.app, key.token).get('/api/auth/whoami')).statusCode);
    expect(served).toEqual([200, 200, 429, 429]);
    const mine = (json(await holder.get('/api/me/api-keys')) as { id: number }[]).find((k) => k.id === key.keyId);
    expect(mine).toMatchObject({ monthly_spend_cap: '0.50', self_spend_cap: '0.50' });
    // lifting the holder's cap: the manager's 2.00 applies again
    expect((await holder.patch(`/api/me/api-keys/${key.keyId}`, { monthly_spend_cap: null })).statusCode).toBe(204);
    expect((await bearer(t.app, key.token).get('/api/auth/whoami')).statusCode).toBe(200);
  });

  it('a roll does not reset the cap: the lineage counts as one', async () => {
    const key = await cappedKey('0.60', '0.30');
    expect((await bearer(t.app, key.token).get('/api/auth/whoami')).statusCode).toBe(200);
    const rolled = json(await holder.post(`/api/me/api-keys/${key.keyId}/roll`, { grace_seconds: 0 }));
    expect((await bearer(t.app, rolled.token).get('/api/auth/whoami')).statusCode).toBe(200);
    expect((await bearer(t.app, rolled.token).get('/api/auth/whoami')).json().error.code).toBe('SPEND_CAP_REACHED');
  });

  it('refuses bad caps with the field named and nothing changed', async () => {
    const key = await cappedKey(null);
    const before = await snapshot(t.app);
    for (const cap of ['-1', 'ten', '1.001', '1e3', '99999999999', ' ', '1.5.0'])
      for (const res of [
        await owner.patch(`/api/projects/${S.projectId}/issued-keys/${key.keyId}`, { monthly_spend_cap: cap }),
        await owner.patch(`/api/projects/${S.projectId}/api-key-templates/${key.templateId}`, {
          monthly_spend_cap: cap,
        }),
        await holder.patch(`/api/me/api-keys/${key.keyId}`, { monthly_spend_cap: cap }),
      ]) {
        expect(res.statusCode, `${cap}: ${res.body}`).toBe(400);
        expect(res.body).toContain('monthly_spend_cap');
      }
    expect(
      (await holder.patch(`/api/projects/${S.projectId}/issued-keys/${key.keyId}`, { monthly_spend_cap: '1' }))
        .statusCode,
    ).toBe(403);
    expect(await snapshot(t.app)).toEqual(before);
  });
});

describe('alerts', () => {
  it('80 % and 100 % of the cap: holder and managers told once, even with two instances', async () => {
    const masterKey = randomBytes(32);
    const a = await makeTestApp({ masterKey });
    const b = PG_URL ? await makeTestApp({ masterKey, ...(a.pgSchema ? { pgSchema: a.pgSchema } : {}) }) : null;
    try {
      const o = await signUp(a.app, 'Owner');
      const h = await signUp(a.app, 'Holder');
      const p = await makeProject(o, 'Alerts');
      const key = await issueKey(a, o, h, {
        projectId: p.projectId,
        permissions: { project: ['project_view'] },
        price: '1.00',
      });
      json(
        await o.patch(`/api/projects/${p.projectId}/api-key-templates/${key.templateId}`, {
          monthly_spend_cap: '5.00',
        }),
      );
      if (b) await b.app.keyAuth.authenticate(key.token); // b's directory knows the key
      // requests spread over both instances: each reports the thresholds it sees (each counts the
      // other's requests only at its next refresh, so both reach the cap here)
      for (let i = 0; i < 12; i++) {
        const app = b && i % 2 === 1 ? b.app : a.app;
        await bearer(app, key.token).get('/api/auth/whoami');
      }
      await a.app.alerts.drain();
      await b?.app.alerts.drain();
      const notices = await a.app.ctx.k
        .selectFrom('notifications')
        .select(['user_id', 'params'])
        .where('kind', '=', 'usage.threshold')
        .execute();
      const seen = notices.map((n) => `${n.user_id}:${JSON.parse(n.params ?? '{}').percent}`).sort();
      expect(seen).toEqual([`${h.user.id}:100`, `${h.user.id}:80`, `${o.user.id}:100`, `${o.user.id}:80`].sort());
    } finally {
      await b?.close();
      await a.close();
    }
  });
});
