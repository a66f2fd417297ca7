// Audit log filters and CSV export over HTTP: action (exact or prefix), actor, object and a
// time range each narrow the list exactly, keep paging, and the CSV holds the same entries.
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grant } from './dataplane-helpers.js';
import { bearer, MutableClock, makeProject, makeTestApp, signUp, type TestApp, type UserSession } from './helpers.js';
import { type IssuedKey, issueKey } from './keys-helpers.js';

const clock = new MutableClock(Date.UTC(2026, 10, 10, 9, 0, 0));
let t: TestApp;
let owner: UserSession;
let comanager: UserSession;
let holder: UserSession;
let stranger: UserSession;
let projectId: number;
let privateProject: number;
let key: IssuedKey;
let live: IssuedKey;
let templateId: number;

type Entry = {
  id: number;
  action: string;
  object_type: string;
  object_id: number | null;
  details: Record<string, unknown>;
  actor: { user: { id: number; name: string; email: string } | null; key_id: number | null };
  created_at: string;
};
let all: Entry[];

const base = () => `/api/projects/${projectId}`;
const at = (day: number, hour = 12) => Date.UTC(2026, 10, day, hour, 0, 0);
const ok = <T>(res: { statusCode: number; body: string; json(): T }) => {
  expect(res.statusCode, res.body).toBeLessThan(300);
  return res.json();
};

beforeAll(async () => {
  t = await makeTestApp({ clock });
  owner = await signUp(t.app, 'Owner');
  comanager = await signUp(t.app, '@Comanager');
  holder = await signUp(t.app, 'Holder');
  stranger = await signUp(t.app, 'Stranger');
  ({ projectId } = await makeProject(owner, 'Audited'));
  ({ projectId: privateProject } = await makeProject(owner, 'Private'));
  await grant(owner, projectId, comanager, { project: ['project_view', 'project_manage'] }, 'manager');

  clock.t = at(12);
  const role = ok<{ id: number }>(
    await comanager.post(`${base()}/roles`, { name: 'reader', permissions: { project: ['project_view'] } }),
  );
  templateId = ok<{ id: number }>(
    await comanager.post(`${base()}/api-key-templates`, { name: 'Reader key', role_id: role.id }),
  ).id;
  ok(await comanager.post(`${base()}/secrets`, { name: 'API_TOKEN', value: 's3cret' }));

  clock.t = at(14);
  key = await issueKey(t, owner, holder, { projectId, permissions: { project: ['project_view'] } });
  ok(await owner.del(`${base()}/issued-keys/${key.keyId}`));
  live = await issueKey(t, owner, holder, { projectId, permissions: { project: ['project_view'] } });

  clock.t = at(16);
  ok(await comanager.patch(`${base()}/api-key-templates/${templateId}`, { description: '=cmd|"/c calc"!A0' }));

  all = ok<{ items: Entry[] }>(await owner.get(`${base()}/audit?page_size=100`)).items;
  expect(all.length).toBeGreaterThan(10);
  expect(all.length).toBeLessThan(100);
});
afterAll(() => t.close());

const page = async (qs: string) => ok<{ total: number; items: Entry[] }>(await owner.get(`${base()}/audit?${qs}`));

async function csvIds(qs: string) {
  const res = await owner.get(`${base()}/audit.csv?${qs}`);
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers['content-disposition']).toMatch(/^attachment; filename="project-\d+-audit-[\d-]+\.csv"$/);
  const [header, ...rows] = parse(res.body, { record_delimiter: '\r\n', bom: true }) as string[][];
  expect(header).toEqual('id,time,actor_name,actor_email,key_id,action,object_type,object_id,details'.split(','));
  return rows.map((r) => Number(r[0]));
}

describe('GET /api/projects/:p/audit filters', () => {
  const cases: [string, (e: Entry) => boolean][] = [
    ['action=key.revoked', (e) => e.action === 'key.revoked'],
    ['action=key.', (e) => e.action.startsWith('key.')],
    ['action=template.', (e) => e.action.startsWith('template.')],
    ['action=role.created', (e) => e.action === 'role.created'],
    ['actor_user_id=COMANAGER', (e) => e.actor.user?.id === comanager.user.id],
    ['object_type=template', (e) => e.object_type === 'template'],
    ['object_type=template&object_id=TEMPLATE', (e) => e.object_type === 'template' && e.object_id === templateId],
    [
      'from=2026-11-12T00:00:00Z&to=2026-11-14T12:00:00Z',
      (e) => e.created_at >= '2026-11-12' && e.created_at < '2026-11-14T12',
    ],
    // RFC 3339 with an offset: 2026-11-14T21:00+09:00 is 12:00Z, inclusive
    ['from=2026-11-14T21:00:00%2B09:00', (e) => e.created_at >= '2026-11-14T12:00:00.000Z'],
    [
      'action=template.&actor_user_id=COMANAGER&to=2026-11-15T00:00:00Z',
      (e) => e.action.startsWith('template.') && e.actor.user?.id === comanager.user.id && e.created_at < '2026-11-15',
    ],
  ];

  it.each(cases)('%s narrows the list exactly, and the CSV holds the same entries', async (qs, keep) => {
    const q = qs.replace('COMANAGER', String(comanager.user.id)).replace('TEMPLATE', String(templateId));
    const expected = all.filter(keep).map((e) => e.id);
    expect(expected.length, 'the case selects something').toBeGreaterThan(0);
    expect(expected.length, 'the case leaves something out').toBeLessThan(all.length);
    const r = await page(`${q}&page_size=100`);
    expect(r.total).toBe(expected.length);
    expect(r.items.map((e) => e.id)).toEqual(expected);
    expect(await csvIds(q)).toEqual(expected);
  });

  it('an action without the trailing dot is exact, not a prefix', async () => {
    expect((await page('action=key')).total).toBe(0);
    expect((await page('action=key.revoke')).total).toBe(0);
  });

  it('keeps paging within the filter', async () => {
    const expected = all.filter((e) => e.action.startsWith('key.')).map((e) => e.id);
    expect(expected.length).toBeGreaterThan(2);
    const p2 = await page('action=key.&page=2&page_size=1');
    expect(p2.total).toBe(expected.length);
    expect(p2.items.map((e) => e.id)).toEqual([expected[1]]);
  });

  it('refuses bad filters with 400 VALIDATION_FAILED naming the field', async () => {
    const cases: [string, string][] = [
      ['object_id=3', 'object_type'],
      ['from=2026-11-15T00:00:00Z&to=2026-11-14T00:00:00Z', 'from'],
      ['from=2026-11-14', 'from'], // a date is not RFC 3339 date-time
      ['to=yesterday', 'to'],
      ['action=key.%25', 'action'],
      ['action=KEY.', 'action'],
      ['actor_user_id=abc', 'actor_user_id'],
      ['object_type=a%20b', 'object_type'],
    ];
    for (const path of ['audit', 'audit.csv']) {
      for (const [qs, field] of cases) {
        const res = await owner.get(`${base()}/${path}?${qs}`);
        expect(res.statusCode, `${path}?${qs}`).toBe(400);
        expect(res.json().error.code).toBe('VALIDATION_FAILED');
        expect(res.json().error.message, `${path}?${qs}`).toContain(field);
      }
    }
  });
});

describe('GET /api/projects/:p/audit.csv', () => {
  it('holds actor, key, object and details; formula-like cells are inert', async () => {
    const res = await owner.get(`${base()}/audit.csv?object_type=template&object_id=${templateId}`);
    const [, ...rows] = parse(res.body, { record_delimiter: '\r\n', bom: true }) as string[][];
    const json = all.filter((e) => e.object_type === 'template' && e.object_id === templateId);
    expect(rows).toEqual(
      json.map((e) => [
        String(e.id),
        e.created_at,
        `'${e.actor.user?.name}`, // "@Comanager"
        e.actor.user?.email,
        '',
        e.action,
        'template',
        String(templateId),
        JSON.stringify(e.details),
      ]),
    );
    for (const r of rows) expect(JSON.parse(r[8] as string)).toBeTypeOf('object');
  });

  it('same rules as the audit list: 403 for a viewer and a key, 404 for a stranger, 401 without a session', async () => {
    for (const path of ['audit', 'audit.csv']) {
      expect((await holder.get(`${base()}/${path}`)).json().error.code).toBe('FORBIDDEN');
      expect((await bearer(t.app, live.token).get(`${base()}/${path}`)).statusCode).toBe(403);
      const hidden = await stranger.get(`/api/projects/${privateProject}/${path}`);
      expect(hidden.statusCode).toBe(404);
      expect((await t.app.inject({ method: 'GET', url: `${base()}/${path}` })).statusCode).toBe(401);
    }
  });
});
