// One way per rule: request transitions decided by one guarded update, unique races answered 409
// for every resource, node search alike on both dialects, RFC 3339 datetimes in periods, and
// template/field names that can always be imported.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, makeTestApp, signUp, snapshot, type TestApp, type UserSession } from './helpers.js';
import { makeProjectVisible } from './keys-helpers.js';

let t: TestApp;
let owner: UserSession;
let P: Awaited<ReturnType<typeof makeProject>>;
let roleId: number;
const base = () => `/api/projects/${P.projectId}`;

beforeAll(async () => {
  t = await makeTestApp();
  owner = await signUp(t.app, 'Owner');
  P = await makeProject(owner, 'Consistency');
  await makeProjectVisible(owner, P.projectId);
  roleId = (
    await owner.post(`${base()}/roles`, { name: 'key-role', permissions: { project: ['project_view'] } })
  ).json().id;
});
afterAll(() => t.close());

describe('request transitions', () => {
  it('a concurrent approve and reject of one request: exactly one wins, and the state agrees', async () => {
    const tpl = (await owner.post(`${base()}/api-key-templates`, { name: 'race', role_id: roleId })).json().id;
    for (let round = 0; round < 8; round++) {
      const requester = await signUp(t.app, `Racer${round}`);
      const rq = (await requester.post(`${base()}/api-key-templates/${tpl}/requests`)).json().id;
      const [a, r] = await Promise.all([
        owner.post(`${base()}/api-key-requests/${rq}/approve`),
        owner.post(`${base()}/api-key-requests/${rq}/reject`, { reason: 'no' }),
      ]);
      const statuses = [a.statusCode, r.statusCode].sort();
      expect(statuses, `round ${round}: ${a.body} / ${r.body}`).toEqual([200, 409]);
      const row = await t.app.ctx.k
        .selectFrom('key_requests')
        .select('status')
        .where('id', '=', rq)
        .executeTakeFirstOrThrow();
      const keys = await t.app.ctx.k.selectFrom('api_keys').select('id').where('request_id', '=', rq).execute();
      expect(row.status).toBe(a.statusCode === 200 ? 'approved' : 'rejected');
      expect(keys.length).toBe(a.statusCode === 200 ? 1 : 0);
      // one notice to the requester, of the winning decision only
      const notes = await t.app.ctx.k
        .selectFrom('notifications')
        .select('kind')
        .where('user_id', '=', requester.user.id)
        .execute();
      expect(notes.map((n) => n.kind)).toEqual([
        a.statusCode === 200 ? 'key_request.approved' : 'key_request.rejected',
      ]);
    }
  });

  it('a decision racing the requester cancelling: one wins', async () => {
    const tpl = (await owner.post(`${base()}/api-key-templates`, { name: 'cancel-race', role_id: roleId })).json().id;
    const requester = await signUp(t.app, 'Canceller');
    const rq = (await requester.post(`${base()}/api-key-templates/${tpl}/requests`)).json().id;
    const [c, r] = await Promise.all([
      requester.del(`${base()}/api-key-requests/${rq}`),
      owner.post(`${base()}/api-key-requests/${rq}/reject`),
    ]);
    expect([c.statusCode, r.statusCode].sort()).toEqual([200, 409]);
  });
});

describe('unique names', () => {
  it('concurrent creations with one name: one 201, the rest 409 NAME_TAKEN, never 500', async () => {
    const make = {
      role: () => owner.post(`${base()}/roles`, { name: 'same-role', permissions: { project: ['project_view'] } }),
      template: () => owner.post(`${base()}/api-key-templates`, { name: 'Same template', role_id: roleId }),
      secret: () => owner.post(`${base()}/secrets`, { name: 'SAME_SECRET', value: 'v' }),
    };
    for (const [what, create] of Object.entries(make)) {
      const answers = await Promise.all(Array.from({ length: 6 }, () => create()));
      const statuses = answers.map((a) => a.statusCode).sort();
      expect(statuses, `${what}: ${answers.map((a) => a.body).join(' | ')}`).toEqual([201, 409, 409, 409, 409, 409]);
      for (const a of answers.filter((x) => x.statusCode === 409)) expect(a.json().error.code).toBe('NAME_TAKEN');
    }
  });

  it('template names differ in more than letter case (any script)', async () => {
    expect(
      (await owner.post(`${base()}/api-key-templates`, { name: 'Calculator API', role_id: roleId })).statusCode,
    ).toBe(201);
    expect((await owner.post(`${base()}/api-key-templates`, { name: 'Калькулятор', role_id: roleId })).statusCode).toBe(
      201,
    );
    const before = await snapshot(t.app);
    for (const name of ['calculator api', 'CALCULATOR API', 'калькулятор']) {
      const res = await owner.post(`${base()}/api-key-templates`, { name, role_id: roleId });
      expect([res.statusCode, res.json().error.code], name).toEqual([409, 'NAME_TAKEN']);
    }
    expect(await snapshot(t.app)).toEqual(before);
  });

  it('an info field cannot be named "token" (import writes <prefix>_token itself)', async () => {
    const tpl = (await owner.post(`${base()}/api-key-templates`, { name: 'fields', role_id: roleId })).json().id;
    const before = await snapshot(t.app);
    for (const name of ['token', 'Token', 'TOKEN']) {
      const res = await owner.post(`${base()}/api-key-templates/${tpl}/fields`, { name });
      expect([res.statusCode, res.json().error.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(res.json().error.message).toContain('token');
    }
    expect(await snapshot(t.app)).toEqual(before);
    const f = (await owner.post(`${base()}/api-key-templates/${tpl}/fields`, { name: 'endpoint' })).json().id;
    const rename = await owner.patch(`${base()}/api-key-templates/${tpl}/fields/${f}`, { name: 'token' });
    expect(rename.statusCode).toBe(400);
  });
});

describe('node search', () => {
  it('matches a substring in any letter case, with %, _ and \\ taken literally, on both dialects', async () => {
    const Q = await makeProject(owner, 'Search');
    for (const name of ['Alpha_1', 'alpha%2', 'BETA\\3', 'Вход данных', 'alphax1'])
      expect((await owner.post(`/api/projects/${Q.projectId}/nodes`, { name, kind: 'compute' })).statusCode).toBe(201);
    const names = async (search: string) =>
      (
        (await owner.get(`/api/projects/${Q.projectId}/nodes?search=${encodeURIComponent(search)}`)).json() as {
          name: string;
        }[]
      ).map((n) => n.name);
    expect(await names('ALPHA')).toEqual(['Alpha_1', 'alpha%2', 'alphax1']);
    expect(await names('a_1')).toEqual(['Alpha_1']); // "_" is not a wildcard
    expect(await names('%')).toEqual(['alpha%2']);
    expect(await names('a\\3')).toEqual(['BETA\\3']);
    expect(await names('вход')).toEqual(['Вход данных']);
  });
});

describe('datetimes in periods', () => {
  it('takes any RFC 3339 datetime: fractional seconds of any length, offsets, lower-case t and z', async () => {
    const ok = [
      '2026-11-01T00:00:00Z',
      '2026-11-01T00:00:00.123456Z',
      '2026-11-01T00:00:00.123456789+03:00',
      '2026-11-01t00:00:00.5z',
      '2026-11-01T00:00:00-0530',
      '2026-11-01',
    ];
    for (const from of ok) {
      const res = await owner.get(`${base()}/issued-keys?from=${encodeURIComponent(from)}&to=2026-12-01`);
      expect(res.statusCode, `${from}: ${res.body}`).toBe(200);
    }
    for (const from of ['2026-11-01T00:00:00.1234567890Z', '2026-13-01', '2026-11-01T25:00:00Z', 'yesterday']) {
      const res = await owner.get(`${base()}/issued-keys?from=${encodeURIComponent(from)}&to=2026-12-01`);
      expect([res.statusCode, res.json().error.code], from).toEqual([400, 'VALIDATION_FAILED']);
    }
  });
});
