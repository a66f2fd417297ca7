// Notifications carry the structured parameters of their text (requester, template, project,
// reason) so the web UI can write the body in its own language; `body` (English) stays for
// e-mail and for rows written before parameters were kept (params null).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, makeTestApp, signUp, type TestApp, type UserSession } from './helpers.js';
import { makeProjectVisible } from './keys-helpers.js';

interface Note {
  id: number;
  kind: string;
  title: string;
  body: string;
  link: string;
  params: Record<string, string | number | null> | null;
}

let t: TestApp;
let owner: UserSession;
let client: UserSession;
let p: number;
let roleId: number;

beforeAll(async () => {
  t = await makeTestApp();
  owner = await signUp(t.app, 'Olga Owner');
  client = await signUp(t.app, 'Carl Client');
  p = (await makeProject(owner, 'Calculator «ru»')).projectId;
  await makeProjectVisible(owner, p);
  roleId = (
    await owner.post(`/api/projects/${p}/roles`, { name: 'api', permissions: { project: ['project_view'] } })
  ).json().id;
});
afterAll(async () => t?.close());

const latest = async (who: UserSession): Promise<Note> => {
  const res = await who.get('/api/me/notifications');
  expect(res.statusCode).toBe(200);
  return (res.json() as { items: Note[] }).items[0] as Note;
};

async function template(name: string): Promise<number> {
  const res = await owner.post(`/api/projects/${p}/api-key-templates`, { name, role_id: roleId });
  expect(res.statusCode).toBe(201);
  return res.json().id;
}

async function request(templateId: number): Promise<number> {
  const res = await client.post(`/api/projects/${p}/api-key-templates/${templateId}/requests`);
  expect(res.statusCode).toBe(201);
  return res.json().id;
}

describe('notification params in GET /api/me/notifications', () => {
  it('a new request: the managers get requester name and email, template and project', async () => {
    await request(await template('Sum key'));
    const n = await latest(owner);
    expect(n.kind).toBe('key_request.created');
    expect(n.params).toEqual({
      requester: 'Carl Client',
      email: client.user.email,
      template: 'Sum key',
      project: 'Calculator «ru»',
    });
    // the English body stays for e-mail and old clients
    expect(n.body).toContain('Carl Client');
    expect(n.body).toContain('"Sum key"');
  });

  it('approval, rejection with and without a reason, revocation with and without a reason', async () => {
    const approveT = await template('Approved key');
    const key = (await owner.post(`/api/projects/${p}/api-key-requests/${await request(approveT)}/approve`)).json();
    expect((await latest(client)).params).toEqual({ template: 'Approved key', project: 'Calculator «ru»' });
    expect((await latest(client)).kind).toBe('key_request.approved');

    const revoke = await owner.req('DELETE', `/api/projects/${p}/issued-keys/${key.id}`, { reason: 'contract ended' });
    expect(revoke.statusCode).toBe(200);
    let n = await latest(client);
    expect(n.kind).toBe('key.revoked');
    expect(n.params).toEqual({ template: 'Approved key', project: 'Calculator «ru»', reason: 'contract ended' });
    expect(n.body).toContain('contract ended');

    const key2 = (await owner.post(`/api/projects/${p}/api-key-requests/${await request(approveT)}/approve`)).json();
    expect((await owner.del(`/api/projects/${p}/issued-keys/${key2.id}`)).statusCode).toBe(200);
    n = await latest(client);
    // no reason given: null in params (the UI words it), the default wording stays in the English body
    expect(n.params).toEqual({ template: 'Approved key', project: 'Calculator «ru»', reason: null });
    expect(n.body).toContain('revoked by the project owner');

    const rejectT = await template('Rejected key');
    const r1 = await request(rejectT);
    await owner.post(`/api/projects/${p}/api-key-requests/${r1}/reject`, { reason: 'tell us more' });
    n = await latest(client);
    expect(n.kind).toBe('key_request.rejected');
    expect(n.params).toEqual({ template: 'Rejected key', project: 'Calculator «ru»', reason: 'tell us more' });
    const r2 = await request(rejectT);
    await owner.post(`/api/projects/${p}/api-key-requests/${r2}/reject`, {});
    expect((await latest(client)).params).toEqual({
      template: 'Rejected key',
      project: 'Calculator «ru»',
      reason: null,
    });
  });

  it('rows written before params existed (or with unreadable params) list params null and keep their body', async () => {
    const base = {
      user_id: client.user.id,
      project_id: p,
      kind: 'key_request.approved',
      title: 'API key approved: Old',
      body: 'Your request for the API key "Old" was approved.',
      link: `/projects/${p}/about#api-keys`,
      created_at: Date.now(),
      read_at: null,
    };
    await t.app.ctx.k
      .insertInto('notifications')
      .values([
        { ...base, params: null },
        { ...base, params: '{not json' },
      ])
      .execute();
    const items = ((await client.get('/api/me/notifications')).json() as { items: Note[] }).items;
    expect(items[0]).toMatchObject({ params: null, body: base.body });
    expect(items[1]).toMatchObject({ params: null, body: base.body });
  });
});
