// The api_keys_manage permission: a delegated approver decides requests, sees issued keys and
// their statistics, rolls, revokes and caps keys, and sets how request mails arrive; roles,
// members, secrets, templates, webhooks and the audit log stay 403. project_manage implies it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalSetup } from './approval-helpers.js';
import { addMember, makeTestApp, signUp, type TestApp, type UserSession } from './helpers.js';

let t: TestApp;
let owner: UserSession;
let approver: UserSession;
let s: Awaited<ReturnType<typeof approvalSetup>>;
let approverRole: number;

beforeAll(async () => {
  t = await makeTestApp();
  owner = await signUp(t.app, 'Owner');
  approver = await signUp(t.app, 'Approver');
  s = await approvalSetup(owner);
  const role = await owner.post(`/api/projects/${s.projectId}/roles`, {
    name: 'approver',
    permissions: { project: ['project_view', 'api_keys_manage'] },
  });
  expect(role.statusCode).toBe(201);
  approverRole = role.json().id;
  await addMember(owner, s.projectId, approver, [approverRole]);
});
afterAll(async () => t.close());

const P = () => `/api/projects/${s.projectId}`;

describe('api_keys_manage', () => {
  it('is a listed permission the project sees', async () => {
    const view = (await approver.get(P())).json();
    expect(view.permissions.project).toEqual(expect.arrayContaining(['api_keys_manage']));
    expect(view.permissions.project).not.toContain('project_manage');
  });

  it('decides requests, sees issued keys and statistics, rolls, caps and revokes', async () => {
    const a = await signUp(t.app, 'Requester');
    const b = await signUp(t.app, 'Second');
    const ra = (await a.post(s.requestUrl, {})).json();
    const rb = (await b.post(s.requestUrl, {})).json();
    // the approver is told about requests like a manager
    const told = await t.app.ctx.k
      .selectFrom('notifications')
      .select('kind')
      .where('user_id', '=', approver.user.id)
      .where('kind', '=', 'key_request.created')
      .execute();
    expect(told).toHaveLength(2);

    const list = await approver.get(`${P()}/api-key-requests`);
    expect(list.statusCode).toBe(200);
    expect(
      list
        .json()
        .items.map((i: { id: number }) => i.id)
        .sort(),
    ).toEqual([ra.id, rb.id].sort());
    const approved = await approver.post(`${P()}/api-key-requests/${ra.id}/approve`);
    expect(approved.statusCode).toBe(200);
    const keyId = approved.json().id;
    expect((await approver.post(`${P()}/api-key-requests/${rb.id}/reject`, { reason: 'no' })).statusCode).toBe(200);

    const issued = await approver.get(`${P()}/issued-keys`);
    expect(issued.statusCode).toBe(200);
    expect(issued.json().items.map((k: { id: number }) => k.id)).toContain(keyId);
    expect((await approver.get(`${P()}/issued-keys/${keyId}/usage`)).statusCode).toBe(200);
    expect((await approver.get(`${P()}/usage`)).statusCode).toBe(200);
    expect((await approver.get(`${P()}/issued-keys.csv`)).statusCode).toBe(200);
    expect((await approver.get(`${P()}/api-key-templates`)).statusCode).toBe(200);
    expect((await approver.patch(`${P()}/issued-keys/${keyId}`, { monthly_spend_cap: '5.00' })).statusCode).toBe(204);
    const rolled = await approver.post(`${P()}/issued-keys/${keyId}/roll`, { grace_seconds: 0 });
    expect(rolled.statusCode).toBe(200);
    const successor = rolled.json().key?.id ?? rolled.json().successor?.id ?? rolled.json().id;
    expect(successor).toEqual(expect.any(Number));
    expect((await approver.req('DELETE', `${P()}/issued-keys/${successor}`, { reason: 'done' })).statusCode).toBe(200);

    expect((await approver.get(`${P()}/request-settings`)).json()).toEqual({ request_mail: 'immediate' });
    expect((await approver.patch(`${P()}/request-settings`, { request_mail: 'daily' })).json()).toEqual({
      request_mail: 'daily',
    });
    expect((await approver.patch(`${P()}/request-settings`, { request_mail: 'weekly' })).json().error.field).toBe(
      'request_mail',
    );
    await approver.patch(`${P()}/request-settings`, { request_mail: 'immediate' });
  });

  it('is refused roles, members, secrets, templates, webhooks and the audit log (403)', async () => {
    const other = await signUp(t.app, 'Other');
    const cases: [string, () => Promise<{ statusCode: number }>][] = [
      ['create role', () => approver.post(`${P()}/roles`, { name: 'x', permissions: { project: ['project_view'] } })],
      ['edit role', () => approver.patch(`${P()}/roles/${approverRole}`, { name: 'mine now' })],
      ['delete role', () => approver.del(`${P()}/roles/${approverRole}`)],
      ['invite member', () => approver.post(`${P()}/members`, { email: other.user.email, role_ids: [approverRole] })],
      ['list invitations', () => approver.get(`${P()}/invitations`)],
      ['reveal secrets', () => approver.get(`${P()}/secrets?reveal=1`)],
      ['create secret', () => approver.post(`${P()}/secrets`, { name: 'db_password', value: 'x' })],
      ['create template', () => approver.post(`${P()}/api-key-templates`, { name: 'Mine', role_id: s.roleId })],
      ['edit template', () => approver.patch(`${P()}/api-key-templates/${s.templateId}`, { approval: 'auto' })],
      ['delete template', () => approver.del(`${P()}/api-key-templates/${s.templateId}`)],
      ['webhooks', () => approver.get(`${P()}/webhooks`)],
      ['audit log', () => approver.get(`${P()}/audit`)],
    ];
    for (const [what, call] of cases) {
      const res = await call();
      expect({ what, status: res.statusCode }).toEqual({ what, status: 403 });
    }
  });

  it('a member without it gets 403 on requests and keys; project_manage passes without it', async () => {
    const viewer = await signUp(t.app, 'Viewer');
    const role = await owner.post(`${P()}/roles`, { name: 'viewer', permissions: { project: ['project_view'] } });
    await addMember(owner, s.projectId, viewer, [role.json().id]);
    for (const url of ['/api-key-requests', '/issued-keys', '/usage', '/request-settings'])
      expect((await viewer.get(`${P()}${url}`)).statusCode).toBe(403);
    // a manager whose role lists project_manage but not api_keys_manage (as older owner roles do)
    const manager = await signUp(t.app, 'Manager');
    const mrole = await owner.post(`${P()}/roles`, {
      name: 'manager',
      permissions: { project: ['project_view', 'project_manage'] },
    });
    await addMember(owner, s.projectId, manager, [mrole.json().id]);
    for (const url of ['/api-key-requests', '/issued-keys', '/usage', '/request-settings'])
      expect((await manager.get(`${P()}${url}`)).statusCode).toBe(200);
  });

  it('a key template cannot use a role holding api_keys_manage, and such a role cannot gain it', async () => {
    const bad = await owner.post(`${P()}/api-key-templates`, { name: 'Approving key', role_id: approverRole });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('ROLE_NOT_ALLOWED');
    const grow = await owner.patch(`${P()}/roles/${s.roleId}`, {
      permissions: { project: ['project_view', 'api_keys_manage'] },
    });
    expect(grow.json().error.code).toBe('ROLE_NOT_ALLOWED');
    // nor may a public role hold it
    const pub = await owner.post(`${P()}/roles`, {
      name: 'everyone approves',
      is_public: true,
      permissions: { project: ['project_view', 'api_keys_manage'] },
    });
    expect(pub.json().error.code).toBe('ROLE_NOT_ALLOWED');
  });
});
