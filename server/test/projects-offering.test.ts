// Finding a project to get a key from: public projects with at least one template, by name;
// owners by display name only; paging. Over HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, makeTestApp, signUp, type TestApp, type UserSession } from './helpers.js';
import { makeProjectVisible } from './keys-helpers.js';

let t: TestApp;
let owner: UserSession;
let visitor: UserSession;
const ids: Record<string, number> = {};

async function template(projectId: number, name: string) {
  const role = await owner.post(`/api/projects/${projectId}/roles`, {
    name: `key-${name}`,
    permissions: { project: ['project_view'], nodes: {} },
  });
  const r = await owner.post(`/api/projects/${projectId}/api-key-templates`, { name, role_id: role.json().id });
  if (r.statusCode !== 201) throw new Error(r.body);
}

beforeAll(async () => {
  t = await makeTestApp();
  owner = await signUp(t.app, 'Olga Owner');
  visitor = await signUp(t.app, 'Visitor');
  // public with templates: two; public without: one; private with a template: one
  for (const name of ['Weather Ünits', 'weather radar', 'Empty Public', 'Private Shop']) {
    ids[name] = (await makeProject(owner, name)).projectId;
  }
  await makeProjectVisible(owner, ids['Weather Ünits'] as number);
  await makeProjectVisible(owner, ids['weather radar'] as number);
  await makeProjectVisible(owner, ids['Empty Public'] as number);
  await template(ids['Weather Ünits'] as number, 'basic');
  await template(ids['Weather Ünits'] as number, 'pro');
  await template(ids['weather radar'] as number, 'basic');
  await template(ids['Private Shop'] as number, 'basic');
});
afterAll(() => t.close());

type Offering = { id: number; name: string; owner_name: string; templates: number } & Record<string, unknown>;

describe('GET /api/projects/offering', () => {
  it('lists only public projects that have a template, with the owner by name and no email', async () => {
    const res = await visitor.get('/api/projects/offering');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const mine = body.items.filter((p: Offering) => Object.values(ids).includes(p.id));
    expect(mine.map((p: Offering) => p.name)).toEqual(['Weather Ünits', 'weather radar']);
    expect(mine[0]).toMatchObject({ owner_id: owner.user.id, owner_name: 'Olga Owner', templates: 2 });
    expect(res.body).not.toContain(owner.user.email);
    expect(body).toMatchObject({ page: 1, page_size: 25 });
  });

  it('searches the name in any letter case, non-ASCII included', async () => {
    const names = async (q: string) =>
      (await visitor.get(`/api/projects/offering?q=${encodeURIComponent(q)}`))
        .json()
        .items.map((p: Offering) => p.name);
    expect(await names('WEATHER')).toEqual(['Weather Ünits', 'weather radar']);
    expect(await names('üNITS')).toEqual(['Weather Ünits']);
    expect(await names('shop')).toEqual([]);
    expect(await names('%')).toEqual([]);
  });

  it('pages', async () => {
    const first = (await visitor.get('/api/projects/offering?q=weather&page_size=1')).json();
    const second = (await visitor.get('/api/projects/offering?q=weather&page_size=1&page=2')).json();
    expect(first).toMatchObject({ total: 2, page: 1, page_size: 1 });
    expect(first.items.map((p: Offering) => p.name)).toEqual(['Weather Ünits']);
    expect(second.items.map((p: Offering) => p.name)).toEqual(['weather radar']);
  });

  it('refuses without a session and validates the query', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/projects/offering' })).statusCode).toBe(401);
    const bad = await visitor.get(`/api/projects/offering?q=${'x'.repeat(201)}`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBeTruthy();
  });

  it('shows owners by name on the project list', async () => {
    const res = await visitor.get('/api/projects');
    expect(res.statusCode, res.body).toBe(200);
    const list = res.json();
    const p = list.items.find((x: Offering) => x.id === ids['Empty Public']);
    expect(p).toMatchObject({ owner_name: 'Olga Owner' });
    expect(JSON.stringify(list)).not.toContain(owner.user.email);
  });
});
