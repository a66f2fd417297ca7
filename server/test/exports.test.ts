// CSV exports over HTTP: issued keys and usage per key per day parse back as RFC 4180 with
// a header, equal the JSON statistics to the micro-unit (UTC and a time zone), make formula-like
// cells inert, list every key without paging, refuse bad periods, and need project_manage.
import { randomBytes } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOUR_MS } from '../src/lib/clock.js';
import { parseMoney } from '../src/lib/money.js';
import { bearer, MutableClock, makeProject, makeTestApp, signUp, type TestApp, type UserSession } from './helpers.js';
import { type IssuedKey, issueKey } from './keys-helpers.js';

const clock = new MutableClock(Date.UTC(2026, 10, 14, 10, 0, 0));
let t: TestApp;
let owner: UserSession;
let mallory: UserSession; // a user named like a formula
let bob: UserSession;
let stranger: UserSession;
let projectId: number;
let privateProject: number;
let ka: IssuedKey;
let kb: IssuedKey;

const base = () => `/api/projects/${projectId}`;
const micros = (money: string) => BigInt(parseMoney(money, 'cost'));

/** GET a CSV as the owner: checks the transport, parses it back with the same library. */
async function csv(url: string, who: UserSession = owner) {
  const res = await who.get(url);
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers['content-type']).toBe('text/csv; charset=utf-8; header=present');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers['content-disposition']).toMatch(/^attachment; filename="[A-Za-z0-9._-]+\.csv"$/);
  expect(res.body.endsWith('\r\n')).toBe(true);
  expect(res.rawPayload.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf])); // UTF-8 BOM for Excel
  expect(res.rawPayload.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf])); // UTF-8 BOM, for Excel
  const [header, ...rows] = parse(res.body, { record_delimiter: '\r\n', bom: true }) as string[][];
  return { header, rows, raw: res.body, filename: res.headers['content-disposition'] as string };
}

async function hits(key: IssuedKey, at: number, n: number) {
  clock.t = at;
  const k = bearer(t.app, key.token);
  for (let i = 0; i < n; i++) expect((await k.get('/api/auth/whoami')).statusCode).toBe(200);
}

beforeAll(async () => {
  t = await makeTestApp({ clock });
  owner = await signUp(t.app, 'Owner');
  mallory = await signUp(t.app, '=HYPERLINK("x")');
  bob = await signUp(t.app, '-2+3');
  stranger = await signUp(t.app, 'Stranger');
  ({ projectId } = await makeProject(owner, 'Exports'));
  ({ projectId: privateProject } = await makeProject(owner, 'Private'));
  const permissions = { project: ['project_view'] };
  ka = await issueKey(t, owner, mallory, { projectId, permissions, price: '1234.567891' });
  kb = await issueKey(t, owner, bob, { projectId, permissions, price: '0.000001' });
  const renamed = await owner.patch(`${base()}/api-key-templates/${ka.templateId}`, { name: '@SUM(1)' });
  expect(renamed.statusCode, renamed.body).toBe(200);
  // days chosen so that UTC and Tokyo (UTC+9) split them differently
  await hits(ka, Date.UTC(2026, 10, 14, 10, 0), 3);
  await hits(ka, Date.UTC(2026, 10, 14, 23, 30), 2); // Nov 15 in Tokyo
  await hits(kb, Date.UTC(2026, 10, 15, 12, 0), 5);
  await hits(ka, Date.UTC(2026, 10, 16, 1, 0), 1);
  await hits(kb, Date.UTC(2026, 11, 1, 0, 0), 4); // December: outside November
  clock.t = Date.UTC(2026, 10, 20, 12, 0);
  await t.app.usage.flush();
});
afterAll(() => t.close());

describe('GET /api/projects/:p/issued-keys.csv', () => {
  it('has the issued-keys columns, the same figures as the JSON list, and inert formula-like cells', async () => {
    const q = '?from=2026-11-01&to=2026-12-01';
    const { header, rows, raw, filename } = await csv(`${base()}/issued-keys.csv${q}`);
    expect(header).toEqual(
      'id,template,user_name,user_email,received_at,status,requests,cost,currency,revoked_at,expires_at,rolled_from,rolled_to'.split(
        ',',
      ),
    );
    expect(filename).toBe(`attachment; filename="project-${projectId}-issued-keys-2026-11-01_2026-12-01.csv"`);
    const json = (await owner.get(`${base()}/issued-keys${q}&sort=received_at`)).json();
    expect(rows).toEqual(
      json.items.map((k: Record<string, unknown> & { user: { name: string; email: string } }) => [
        String(k.id),
        k.template_name === '@SUM(1)' ? "'@SUM(1)" : k.template_name,
        k.user.name.replace(/^([=+\-@])/, "'$1"),
        k.user.email,
        k.received_at,
        k.status,
        String(k.requests),
        k.total_cost,
        'USD',
        k.revoked_at ?? '',
        k.expires_at ?? '',
        k.rolled_from === null ? '' : String(k.rolled_from),
        k.rolled_to === null ? '' : String(k.rolled_to),
      ]),
    );
    const byId = new Map(rows.map((r) => [Number(r[0]), r]));
    expect(byId.get(ka.keyId)?.slice(1, 3)).toEqual(["'@SUM(1)", `'=HYPERLINK("x")`]);
    expect(byId.get(kb.keyId)?.[2]).toBe("'-2+3");
    // 6 × 1234.567891 and 5 × 0.000001, exact
    expect(byId.get(ka.keyId)?.slice(6, 8)).toEqual(['6', '7407.407346']);
    expect(byId.get(kb.keyId)?.slice(6, 8)).toEqual(['5', '0.000005']);
    const total = rows.reduce((s, r) => s + micros(r[7] as string), 0n);
    expect(total).toBe(micros(json.totals.total_cost));
    // quoted as RFC 4180 says: the quote inside the formula-like name is doubled
    expect(raw).toContain(`"'=HYPERLINK(""x"")"`);
  });

  it('lists every key of the project, not one page', async () => {
    const { projectId: big } = await makeProject(owner, 'Many keys');
    const role = (
      await owner.post(`/api/projects/${big}/roles`, { name: 'r', permissions: { project: ['project_view'] } })
    ).json();
    const tpl = (await owner.post(`/api/projects/${big}/api-key-templates`, { name: 'T', role_id: role.id })).json();
    expect(tpl.id).toBeGreaterThan(0);
    const at = clock.now();
    const common = {
      project_id: big,
      template_id: tpl.id,
      role_id: role.id,
      user_id: bob.user.id,
      request_id: 0,
      kid: 'test',
      expires_at: null,
      revoked_at: null,
      revoked_reason: null,
      issuer: 'test',
      template_name: 'T',
      issued_at: at,
      created_at: at,
      updated_at: at,
    };
    const values = Array.from({ length: 130 }, () => ({ ...common, jti: randomBytes(12).toString('hex') }));
    await t.app.ctx.k
      .insertInto('api_keys')
      .values(values as never)
      .execute();
    const { rows } = await csv(`/api/projects/${big}/issued-keys.csv`);
    expect(rows).toHaveLength(130);
    expect(new Set(rows.map((r) => r[0])).size).toBe(130);
    const empty = await csv(`/api/projects/${big}/usage.csv`);
    expect(empty.header).toEqual(['key_id', 'template', 'user_email', 'date', 'requests', 'cost']);
    expect(empty.rows).toEqual([]);
  });
});

describe('GET /api/projects/:p/usage.csv', () => {
  type Series = { items: { t: string; requests: number; cost: string }[]; total: { requests: number; cost: string } };

  it('one row per key per UTC day with requests; sums equal the JSON statistics to the micro-unit', async () => {
    const q = '?from=2026-11-01&to=2026-12-01';
    const { header, rows } = await csv(`${base()}/usage.csv${q}`);
    const list = (await owner.get(`${base()}/issued-keys${q}`)).json();
    const bobTemplate = list.items.find((k: { id: number }) => k.id === kb.keyId).template_name;
    expect(header).toEqual(['key_id', 'template', 'user_email', 'date', 'requests', 'cost']);
    expect(rows).toEqual([
      [String(ka.keyId), "'@SUM(1)", mallory.user.email, '2026-11-14', '5', '6172.839455'],
      [String(ka.keyId), "'@SUM(1)", mallory.user.email, '2026-11-16', '1', '1234.567891'],
      [String(kb.keyId), bobTemplate, bob.user.email, '2026-11-15', '5', '0.000005'],
    ]);
    const project = (await owner.get(`${base()}/usage${q}&granularity=day`)).json() as Series;
    const sum = (rs: string[][]) => ({
      requests: rs.reduce((s, r) => s + Number(r[4]), 0),
      cost: rs.reduce((s, r) => s + micros(r[5] as string), 0n),
    });
    expect(sum(rows)).toEqual({ requests: list.totals.requests, cost: micros(list.totals.total_cost) });
    expect(sum(rows)).toEqual({ requests: project.total.requests, cost: micros(project.total.cost) });
    for (const k of list.items as { id: number; requests: number; total_cost: string }[]) {
      expect(sum(rows.filter((r) => Number(r[0]) === k.id))).toEqual({
        requests: k.requests,
        cost: micros(k.total_cost),
      });
    }
  });

  it('days in a time zone equal the per-key JSON series of that zone', async () => {
    const q = '?from=2026-11-01&to=2026-12-01&tz=Asia/Tokyo';
    const { rows, filename } = await csv(`${base()}/usage.csv${q}`);
    expect(filename).toBe(`attachment; filename="project-${projectId}-usage-2026-11-01_2026-12-01.csv"`);
    expect(rows.filter((r) => Number(r[0]) === ka.keyId).map((r) => [r[3], r[4]])).toEqual([
      ['2026-11-14', '3'],
      ['2026-11-15', '2'],
      ['2026-11-16', '1'],
    ]);
    for (const key of [ka, kb]) {
      const s = (await owner.get(`${base()}/issued-keys/${key.keyId}/usage${q}&granularity=day`)).json() as Series;
      const fromJson = s.items
        .filter((p) => p.requests > 0)
        .map((p) => [new Date(Date.parse(p.t) + 9 * HOUR_MS).toISOString().slice(0, 10), String(p.requests), p.cost]);
      expect(rows.filter((r) => Number(r[0]) === key.keyId).map((r) => r.slice(3))).toEqual(fromJson);
    }
  });

  it('follows the period: December only, and datetimes', async () => {
    const dec = await csv(`${base()}/usage.csv?from=2026-12-01&to=2027-01-01`);
    expect(dec.rows.map((r) => [Number(r[0]), r[3], r[4]])).toEqual([[kb.keyId, '2026-12-01', '4']]);
    const edge = await csv(`${base()}/usage.csv?from=2026-11-14T23:00:00Z&to=2026-11-15T13:00:00Z`);
    expect(edge.rows.map((r) => [Number(r[0]), r[3], r[4]])).toEqual([
      [ka.keyId, '2026-11-14', '2'],
      [kb.keyId, '2026-11-15', '5'],
    ]);
  });
});

describe('refusals', () => {
  it('from after to, more than 400 days, bad dates and zones: 400 VALIDATION_FAILED naming the field', async () => {
    for (const path of ['issued-keys.csv', 'usage.csv']) {
      const cases: [string, string][] = [
        ['?from=2026-12-01&to=2026-11-01', 'from'],
        ['?from=2025-01-01&to=2026-02-06', 'to'], // 401 days
        ['?from=2025-01-01T12:00:00Z&to=2026-02-05T12:00:01Z', 'to'],
        ['?from=2026-02-30', 'from'],
        ['?to=yesterday', 'to'],
        ['?tz=Mars/Olympus', 'Mars/Olympus'],
      ];
      for (const [qs, field] of cases) {
        const res = await owner.get(`${base()}/${path}${qs}`);
        expect(res.statusCode, `${path}${qs}`).toBe(400);
        expect(res.json().error.code).toBe('VALIDATION_FAILED');
        expect(res.json().error.message, `${path}${qs}`).toContain(field);
      }
      expect((await owner.get(`${base()}/${path}?from=2025-01-01&to=2026-02-06`)).json().error.field).toBe('to');
      // exactly 400 days, also across a DST change in a time zone
      expect((await owner.get(`${base()}/${path}?from=2025-01-01&to=2026-02-05`)).statusCode).toBe(200);
      expect((await owner.get(`${base()}/${path}?from=2025-01-01&to=2026-02-05&tz=Europe/Berlin`)).statusCode).toBe(
        200,
      );
    }
  });

  it('needs project_manage: 403 for a viewer and a key, 404 for a stranger, 401 without a session', async () => {
    for (const path of ['issued-keys.csv', 'usage.csv']) {
      // issueKey made the project visible to everyone (a public viewer role)
      expect((await mallory.get(`${base()}/${path}`)).json().error.code).toBe('FORBIDDEN');
      expect((await stranger.get(`${base()}/${path}`)).statusCode).toBe(403);
      expect((await bearer(t.app, ka.token).get(`${base()}/${path}`)).statusCode).toBe(403);
      const hidden = await stranger.get(`/api/projects/${privateProject}/${path}`);
      expect(hidden.statusCode).toBe(404);
      expect(hidden.json().error.code).toBe('NOT_FOUND');
      expect((await t.app.inject({ method: 'GET', url: `${base()}/${path}` })).statusCode).toBe(401);
    }
  });
});
