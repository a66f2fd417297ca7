// Issued-keys statistics over HTTP: periods, time zones, sorting, paging, exact money,
// deleted templates, permissions, and rollups that always agree with the hourly buckets.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyActor } from '../src/auth/key-auth.js';
import { HOUR_MS } from '../src/lib/clock.js';
import { formatMoney } from '../src/lib/money.js';
import { MutableClock, makeProject, makeTestApp, signUp, type TestApp, type UserSession } from './helpers.js';
import { makeProjectVisible } from './keys-helpers.js';

const clock = new MutableClock(Date.UTC(2026, 10, 20, 10, 0, 0));
let t: TestApp;
let owner: UserSession;
let alice: UserSession;
let bob: UserSession;
let projectId: number;
let roleId: number;
const keys: Record<'a' | 'b' | 'c', number> = { a: 0, b: 0, c: 0 };

async function insertTemplate(pid: number, name: string): Promise<number> {
  const now = clock.now();
  const r = await t.app.ctx.k
    .insertInto('api_key_templates')
    .values({
      project_id: pid,
      name,
      description: '',
      role_id: roleId,
      lifetime_days: null,
      created_at: now,
      updated_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return r.id;
}

async function insertKey(
  pid: number,
  templateId: number,
  templateName: string,
  userId: number,
  issuedAt: number,
): Promise<number> {
  const r = await t.app.ctx.k
    .insertInto('api_keys')
    .values({
      project_id: pid,
      template_id: templateId,
      role_id: roleId,
      user_id: userId,
      request_id: 0,
      jti: randomBytes(12).toString('hex'),
      kid: 'test',
      issued_at: issuedAt,
      expires_at: null,
      created_at: issuedAt,
      revoked_at: null,
      revoked_reason: null,
      issuer: 'test',
      template_name: templateName,
      updated_at: issuedAt,
    } as never)
    .returning('id')
    .executeTakeFirstOrThrow();
  return (r as { id: number }).id;
}

const actor = (keyId: number, price: number, pid = projectId): KeyActor => ({
  kind: 'key',
  keyId,
  userId: 1,
  projectId: pid,
  templateId: 1,
  roleId: 1,
  priceMicros: price,
});

function hit(keyId: number, price: number, at: number, n = 1, pid = projectId) {
  for (let i = 0; i < n; i++) t.app.usage.record(actor(keyId, price, pid), at);
}

beforeAll(async () => {
  t = await makeTestApp({ clock });
  owner = await signUp(t.app, 'Owner');
  alice = await signUp(t.app, 'Alice');
  bob = await signUp(t.app, 'Bob');
  ({ projectId } = await makeProject(owner, 'Shop'));
  roleId = (await owner.get(`/api/projects/${projectId}/roles`)).json()[0].id;
  const ta = await insertTemplate(projectId, 'Alpha');
  const tb = await insertTemplate(projectId, 'beta');
  const tc = await insertTemplate(projectId, 'Gamma');
  keys.a = await insertKey(projectId, ta, 'Alpha', alice.user.id, Date.UTC(2026, 9, 1));
  keys.b = await insertKey(projectId, tb, 'beta', bob.user.id, Date.UTC(2026, 9, 2));
  keys.c = await insertKey(projectId, tc, 'Gamma (at issue)', alice.user.id, Date.UTC(2026, 9, 3));
  await t.app.ctx.k.deleteFrom('api_key_templates').where('id', '=', tc).execute();
  await t.app.ctx.k
    .updateTable('api_keys')
    .set({ revoked_at: Date.UTC(2026, 10, 5), revoked_reason: 'template deleted' })
    .where('id', '=', keys.c)
    .execute();

  // A: 5 requests in the last millisecond of November, 2 in the first of December, at 0.05
  hit(keys.a, 50_000, Date.UTC(2026, 10, 30, 23, 59, 59, 999), 5);
  hit(keys.a, 50_000, Date.UTC(2026, 11, 1, 0, 0, 0, 0), 2);
  // B: price changed mid-month: 3 at 1234.567891, 1 at 0.000001
  hit(keys.b, 1_234_567_891, Date.UTC(2026, 10, 15, 8, 30), 3);
  hit(keys.b, 1, Date.UTC(2026, 10, 15, 9, 10), 1);
  // C: 10 requests in the last hour of October at 0.01
  hit(keys.c, 10_000, Date.UTC(2026, 9, 31, 23, 0, 0), 10);
  await t.app.usage.flush();
});
afterAll(() => t.close());

type Item = {
  id: number;
  template_name: string;
  requests: number;
  total_cost: string;
  user: { name: string };
  revoked_at: string | null;
};
const list = async (qs: string) => {
  const res = await owner.get(`/api/projects/${projectId}/issued-keys${qs}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as {
    total: number;
    from: string;
    to: string;
    totals: { requests: number; total_cost: string };
    currency: string;
    items: Item[];
  };
};
const byId = (items: Item[]) => Object.fromEntries(items.map((i) => [i.id, i]));

describe('GET /api/projects/:p/issued-keys', () => {
  it('defaults to the current UTC month; 23:59:59.999 lands in the right month; money is exact', async () => {
    const r = await list('');
    expect(r.from).toBe('2026-11-01T00:00:00.000Z');
    expect(r.to).toBe('2026-12-01T00:00:00.000Z');
    expect(r.total).toBe(3);
    expect(r.currency).toBe('USD');
    const m = byId(r.items);
    expect(m[keys.a]).toMatchObject({
      requests: 5,
      total_cost: '0.25',
      template_name: 'Alpha',
      user: { name: 'Alice' },
    });
    expect(m[keys.b]).toMatchObject({ requests: 4, total_cost: '3703.703674', template_name: 'beta' });
    expect(m[keys.c]).toMatchObject({ requests: 0, total_cost: '0.00', template_name: 'Gamma (at issue)' });
    expect(m[keys.c]?.revoked_at).toBe('2026-11-05T00:00:00.000Z');
    expect(r.totals).toEqual({ requests: 9, total_cost: '3703.953674', currency: 'USD' });
    // newest received first by default
    expect(r.items.map((i) => i.id)).toEqual([keys.c, keys.b, keys.a]);
  });

  it('answers other periods: December, October, and a period given as datetimes', async () => {
    expect(byId((await list('?from=2026-12-01&to=2027-01-01')).items)[keys.a]?.requests).toBe(2);
    const oct = byId((await list('?from=2026-10-01&to=2026-11-01')).items);
    expect(oct[keys.c]).toMatchObject({ requests: 10, total_cost: '0.10' });
    const edge = byId((await list('?from=2026-11-30T23:00:00Z&to=2026-12-01T01:00:00%2B00:00')).items);
    expect(edge[keys.a]).toMatchObject({ requests: 7, total_cost: '0.35' });
  });

  it('takes a time zone: month boundaries move, DST included', async () => {
    // Tokyo (UTC+9): Nov 30 23:59Z is already December there; Oct 31 23:00Z is November
    const tokyo = byId((await list('?tz=Asia/Tokyo')).items);
    expect(tokyo[keys.a]?.requests).toBe(0);
    expect(tokyo[keys.c]?.requests).toBe(10);
    // New York: November = [Nov 1 04:00Z (EDT), Dec 1 05:00Z (EST)): both A hits in, C out
    const ny = await list('?tz=America/New_York&from=2026-11-01&to=2026-12-01');
    expect(ny.from).toBe('2026-11-01T04:00:00.000Z');
    expect(ny.to).toBe('2026-12-01T05:00:00.000Z');
    expect(byId(ny.items)[keys.a]?.requests).toBe(7);
    expect(byId(ny.items)[keys.c]?.requests).toBe(0);
  });

  it('sorts by requests, cost, template name and user, both directions, and pages', async () => {
    const ids = async (qs: string) => (await list(qs)).items.map((i) => i.id);
    expect(await ids('?sort=-total_cost')).toEqual([keys.b, keys.a, keys.c]);
    expect(await ids('?sort=requests')).toEqual([keys.c, keys.b, keys.a]);
    expect(await ids('?sort=requests&order=desc')).toEqual([keys.a, keys.b, keys.c]);
    expect(await ids('?sort=template_name')).toEqual([keys.a, keys.b, keys.c]); // case-insensitive
    expect(await ids('?sort=-user')).toEqual([keys.b, keys.c, keys.a]); // Bob, then Alice's keys newest id first
    expect(await ids('?sort=received_at')).toEqual([keys.a, keys.b, keys.c]);
    const p2 = await list('?sort=-total_cost&page=2&page_size=1');
    expect(p2.total).toBe(3);
    expect(p2.items.map((i) => i.id)).toEqual([keys.a]);
    expect((await list('?page_size=1000')).items).toHaveLength(3); // capped, not refused
    expect(await ids('?status=revoked')).toEqual([keys.c]);
    expect(await ids('?status=active&sort=received_at')).toEqual([keys.a, keys.b]);
  });

  it('refuses bad input with 400 and a clear code', async () => {
    for (const qs of [
      '?from=2026-12-01&to=2026-11-01',
      '?from=2026-02-30',
      '?from=yesterday',
      '?tz=Mars/Olympus',
      '?tz=../../etc',
      '?sort=password',
      '?page=0',
      '?status=maybe',
    ]) {
      const res = await owner.get(`/api/projects/${projectId}/issued-keys${qs}`);
      expect(res.statusCode, qs).toBe(400);
      expect(res.json().error.code, qs).toBe('VALIDATION_FAILED');
    }
  });

  it('needs project_manage: 403 for a viewer, 404 for a stranger, 401 without a session', async () => {
    await makeProjectVisible(owner, projectId);
    expect((await alice.get(`/api/projects/${projectId}/issued-keys`)).statusCode).toBe(403);
    expect((await alice.get(`/api/projects/${projectId}/usage`)).statusCode).toBe(403);
    expect((await alice.get(`/api/projects/${projectId}/issued-keys/${keys.a}/usage`)).statusCode).toBe(403);
    const other = await makeProject(bob, 'Other');
    expect((await owner.get(`/api/projects/${other.projectId}/issued-keys`)).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: `/api/projects/${projectId}/issued-keys` })).statusCode).toBe(401);
    // a key of another project is not found through this project
    expect((await bob.get(`/api/projects/${other.projectId}/issued-keys/${keys.a}/usage`)).statusCode).toBe(404);
  });
});

describe('usage series', () => {
  type Series = { items: { t: string; requests: number; cost: string }[]; total: { requests: number; cost: string } };
  const series = async (url: string) => {
    const res = await owner.get(url);
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as Series;
  };

  it('per key by hour and by day, zero-filled, in UTC or a time zone', async () => {
    const h = await series(
      `/api/projects/${projectId}/issued-keys/${keys.a}/usage?from=2026-11-30T22:00:00Z&to=2026-12-01T02:00:00Z&granularity=hour`,
    );
    expect(h.items).toEqual([
      { t: '2026-11-30T22:00:00.000Z', requests: 0, cost: '0.00' },
      { t: '2026-11-30T23:00:00.000Z', requests: 5, cost: '0.25' },
      { t: '2026-12-01T00:00:00.000Z', requests: 2, cost: '0.10' },
      { t: '2026-12-01T01:00:00.000Z', requests: 0, cost: '0.00' },
    ]);
    const d = await series(
      `/api/projects/${projectId}/issued-keys/${keys.a}/usage?from=2026-11-29&to=2026-12-02&granularity=day`,
    );
    expect(d.items.map((p) => [p.t.slice(0, 10), p.requests])).toEqual([
      ['2026-11-29', 0],
      ['2026-11-30', 5],
      ['2026-12-01', 2],
    ]);
    const tokyo = await series(
      `/api/projects/${projectId}/issued-keys/${keys.a}/usage?from=2026-11-30&to=2026-12-02&granularity=day&tz=Asia/Tokyo`,
    );
    expect(tokyo.items).toEqual([
      { t: '2026-11-29T15:00:00.000Z', requests: 0, cost: '0.00' },
      { t: '2026-11-30T15:00:00.000Z', requests: 7, cost: '0.35' },
    ]);
  });

  it('for all keys of the project (the chart), totals equal the list', async () => {
    const s = await series(`/api/projects/${projectId}/usage?granularity=day`);
    expect(s.items).toHaveLength(30);
    expect(s.total).toEqual({ requests: 9, cost: '3703.953674' });
    expect(s.items.find((p) => p.t.startsWith('2026-11-15'))).toMatchObject({ requests: 4, cost: '3703.703674' });
    const tooMany = await owner.get(`/api/projects/${projectId}/usage?from=2020-01-01&to=2026-01-01&granularity=hour`);
    expect(tooMany.statusCode).toBe(400);
  });
});

describe('rollups', () => {
  it('any hour-aligned period equals the sum of its hourly buckets (random periods, and months ± hours, over 4 months)', async () => {
    const { projectId: pid } = await makeProject(owner, 'Random');
    const tpl = await insertTemplate(pid, 'R');
    const ks = [
      await insertKey(pid, tpl, 'R', alice.user.id, Date.UTC(2026, 0, 1)),
      await insertKey(pid, tpl, 'R', bob.user.id, Date.UTC(2026, 0, 2)),
    ];
    const start = Date.UTC(2026, 5, 1);
    const hours = 24 * 122;
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const truth: { key: number; at: number; price: number }[] = [];
    for (let i = 0; i < 3000; i++) {
      const key = ks[rnd(2)] as number;
      const at = start + rnd(hours) * HOUR_MS + rnd(HOUR_MS);
      const price = [1, 50_000, 999_999, 1_234_567][rnd(4)] as number;
      truth.push({ key, at, price });
      t.app.usage.record(actor(key, price, pid), at);
    }
    await t.app.usage.flush();
    const monthStart = (m: number) => Date.UTC(2026, 5 + m, 1);
    for (let i = 0; i < 40; i++) {
      let a = start - 5 * 24 * HOUR_MS + rnd(hours + 10 * 24) * HOUR_MS;
      let b = a + (1 + rnd(hours)) * HOUR_MS;
      if (i >= 25) {
        // calendar months in a time zone: UTC month starts ± up to 40 hours (added or subtracted edges)
        const m = rnd(3);
        a = monthStart(m) + (rnd(81) - 40) * HOUR_MS;
        b = monthStart(m + 1 + rnd(2)) + (rnd(81) - 40) * HOUR_MS;
      }
      const r = await owner.get(
        `/api/projects/${pid}/issued-keys?from=${new Date(a).toISOString()}&to=${new Date(b).toISOString()}&sort=-requests`,
      );
      const items = byId(r.json().items);
      for (const key of ks) {
        const hits = truth.filter((x) => x.key === key && x.at >= a && x.at < b);
        const cost = hits.reduce((s, x) => s + BigInt(x.price), 0n);
        expect(items[key], `${new Date(a).toISOString()}..${new Date(b).toISOString()}`).toMatchObject({
          requests: hits.length,
          total_cost: formatMoney(cost),
        });
      }
    }
  });
});
