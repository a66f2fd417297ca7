// One issued key's requests by outcome and by operation for a period, over HTTP: what the
// issued-keys screen opens when a key is clicked, and My keys shows its holder.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyActor } from '../src/auth/key-auth.js';
import { MutableClock, makeProject, makeTestApp, signUp, type TestApp, type UserSession } from './helpers.js';
import { makeProjectVisible } from './keys-helpers.js';

const clock = new MutableClock(Date.UTC(2026, 10, 20, 10, 0, 0));
let t: TestApp;
let owner: UserSession;
let holder: UserSession;
let projectId: number;
let keyId: number;
let otherKeyId: number;

async function insertKey(pid: number, roleId: number, userId: number): Promise<number> {
  const now = clock.now();
  const tpl = await t.app.ctx.k
    .insertInto('api_key_templates')
    .values({
      project_id: pid,
      name: `t${now}${Math.random()}`,
      description: '',
      role_id: roleId,
      lifetime_days: null,
      created_at: now,
      updated_at: now,
    } as never)
    .returning('id')
    .executeTakeFirstOrThrow();
  const r = await t.app.ctx.k
    .insertInto('api_keys')
    .values({
      project_id: pid,
      template_id: (tpl as { id: number }).id,
      role_id: roleId,
      user_id: userId,
      request_id: 0,
      jti: randomBytes(12).toString('hex'),
      kid: 'test',
      issued_at: now,
      expires_at: null,
      created_at: now,
      revoked_at: null,
    } as never)
    .returning('id')
    .executeTakeFirstOrThrow();
  return (r as { id: number }).id;
}

const actor = (id: number, price: number): KeyActor => ({
  kind: 'key',
  keyId: id,
  userId: holder.user.id,
  projectId,
  templateId: 1,
  roleId: 1,
  priceMicros: price,
});

beforeAll(async () => {
  t = await makeTestApp({ clock });
  owner = await signUp(t.app, 'Owner');
  holder = await signUp(t.app, 'Holder');
  ({ projectId } = await makeProject(owner, 'Shop'));
  const roleId = (await owner.get(`/api/projects/${projectId}/roles`)).json()[0].id;
  keyId = await insertKey(projectId, roleId, holder.user.id);
  otherKeyId = await insertKey(projectId, roleId, holder.user.id);
  const at = (d: number, h: number) => Date.UTC(2026, 10, d, h);
  // Nov 10: 3 billed GET packages at 0.25, 2 refused 403; Nov 12: 1 billed POST at 0.25, 1 quota 429
  for (const [d, h, outcome, op, n] of [
    [10, 9, 'billed', 'GET /api/projects/:p/packages', 3],
    [10, 9, '403', 'GET /api/projects/:p/secrets', 2],
    [12, 15, 'billed', 'POST /api/projects/:p/packages', 1],
    [12, 15, '429_quota', 'POST /api/projects/:p/packages', 1],
    [25, 8, 'billed', 'GET /api/projects/:p/packages', 7],
  ] as const) {
    for (let i = 0; i < n; i++) {
      t.app.outcomes.record(keyId, projectId, at(d, h), outcome, op);
      if (outcome === 'billed') t.app.usage.record(actor(keyId, 250_000), at(d, h));
    }
  }
  t.app.outcomes.record(otherKeyId, projectId, at(10, 9), 'billed', 'GET /api/auth/whoami');
  await t.app.usage.flush();
  await t.app.outcomes.flush();
  await makeProjectVisible(owner, projectId);
});
afterAll(() => t.close());

const url = (k: number, q = '') => `/api/projects/${projectId}/issued-keys/${k}/breakdown${q}`;

describe('GET /projects/:p/issued-keys/:k/breakdown', () => {
  it('counts by outcome and by operation in the period; only billed requests cost', async () => {
    const res = await owner.get(url(keyId, '?from=2026-11-01&to=2026-11-20'));
    expect(res.statusCode, res.body).toBe(200);
    const b = res.json();
    expect(b).toMatchObject({ key_id: keyId, from: '2026-11-01T00:00:00.000Z', to: '2026-11-20T00:00:00.000Z' });
    expect(b.outcomes).toEqual([
      { outcome: 'billed', requests: 4, cost: '1.00' },
      { outcome: '403', requests: 2, cost: '0.00' },
      { outcome: '429_quota', requests: 1, cost: '0.00' },
    ]);
    expect(b.operations).toEqual([
      { operation: 'GET /api/projects/:p/packages', requests: 3 },
      { operation: 'GET /api/projects/:p/secrets', requests: 2 },
      { operation: 'POST /api/projects/:p/packages', requests: 2 },
    ]);
    expect(b.total).toEqual({ requests: 7, cost: '1.00' });
  });

  it('defaults to the current month; an empty period is empty', async () => {
    expect((await owner.get(url(keyId))).json().total).toEqual({ requests: 14, cost: '2.75' });
    const empty = (await owner.get(url(keyId, '?from=2026-10-01&to=2026-10-05'))).json();
    expect(empty).toMatchObject({ outcomes: [], operations: [], total: { requests: 0, cost: '0.00' } });
  });

  it('answers 404 for a key of another project, 403 without project_manage, 400 for a bad period', async () => {
    const other = await makeProject(owner, 'Other');
    expect((await owner.get(`/api/projects/${other.projectId}/issued-keys/${keyId}/breakdown`)).statusCode).toBe(404);
    expect((await owner.get(url(999_999))).statusCode).toBe(404);
    const denied = await holder.get(url(keyId));
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.code).toBeTruthy();
    expect((await owner.get(url(keyId, '?from=nonsense'))).statusCode).toBe(400);
  });
});

describe('GET /me/api-keys/:k/breakdown', () => {
  it("shows the holder what the key's managers see; 404 for anyone else", async () => {
    const q = '?from=2026-11-01&to=2026-11-20';
    const mine = await holder.get(`/api/me/api-keys/${keyId}/breakdown${q}`);
    expect(mine.statusCode, mine.body).toBe(200);
    expect(mine.json()).toEqual((await owner.get(url(keyId, q))).json());
    const stranger = await signUp(t.app, 'Stranger');
    const denied = await stranger.get(`/api/me/api-keys/${keyId}/breakdown${q}`);
    expect(denied.statusCode).toBe(404);
    expect(denied.json().error.code).toBe('NOT_FOUND');
    // the owner is not the holder: the owner's route is the managers' one
    expect((await owner.get(`/api/me/api-keys/${keyId}/breakdown${q}`)).statusCode).toBe(404);
    expect((await holder.get(`/api/me/api-keys/${keyId}/breakdown?from=nonsense`)).statusCode).toBe(400);
  });
});

describe('last used', () => {
  const lastUsed = async () => {
    const list = (await holder.get('/api/me/api-keys')).json() as { id: number; last_used_at: string | null }[];
    return Object.fromEntries(list.map((k) => [k.id, k.last_used_at]));
  };

  it('is the latest request of each key, and a flush of earlier requests never moves it back', async () => {
    expect(await lastUsed()).toMatchObject({
      [keyId]: '2026-11-25T08:00:00.000Z',
      [otherKeyId]: '2026-11-10T09:00:00.000Z',
    });
    // one flush: an earlier request of one key (written by an instance that lagged), a later one of the other
    t.app.outcomes.record(keyId, projectId, Date.UTC(2026, 10, 11), 'billed', 'GET /api/auth/whoami');
    t.app.outcomes.record(otherKeyId, projectId, Date.UTC(2026, 10, 26, 7), 'billed', 'GET /api/auth/whoami');
    await t.app.outcomes.flush();
    expect(await lastUsed()).toMatchObject({
      [keyId]: '2026-11-25T08:00:00.000Z',
      [otherKeyId]: '2026-11-26T07:00:00.000Z',
    });
  });
});
