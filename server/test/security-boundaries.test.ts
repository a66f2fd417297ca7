// Tenant and account boundaries: membership by consent, owner-only powers, people-only changes,
// view-only public roles, quoted user text in mail, what revoked holders still see.
// Each case below was an attack that worked before these rules existed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grant } from './dataplane-helpers.js';
import {
  addMember,
  bearer,
  makeProject,
  makeTestApp,
  signUp,
  snapshot,
  type TestApp,
  type UserSession,
} from './helpers.js';
import { issueKey, makeProjectVisible } from './keys-helpers.js';
import { keyPermissions, Tally } from './security-helpers.js';

const tally = new Tally('boundaries');
let t: TestApp;
let owner: UserSession;
let comanager: UserSession;
let viewer: UserSession;
let victim: UserSession;
let attacker: UserSession;
let P: Awaited<ReturnType<typeof makeProject>>;
let managerRole: number;
let ownerRole: number;

const base = () => `/api/projects/${P.projectId}`;
const listOf = async (s: UserSession) =>
  ((await s.get('/api/projects?page_size=100')).json().items as { id: number }[]).map((p) => p.id);

beforeAll(async () => {
  t = await makeTestApp();
  owner = await signUp(t.app, 'Owner');
  comanager = await signUp(t.app, 'Comanager');
  viewer = await signUp(t.app, 'Viewer');
  victim = await signUp(t.app, 'Victim');
  attacker = await signUp(t.app, 'Attacker');
  P = await makeProject(owner, 'Boundaries');
  managerRole = await grant(owner, P.projectId, comanager, { project: ['project_view', 'project_manage'] }, 'manager');
  await grant(owner, P.projectId, viewer, { project: ['project_view'] }, 'viewer');
  const roles = (await owner.get(`${base()}/roles`)).json() as { id: number; is_owner: boolean }[];
  ownerRole = roles.find((r) => r.is_owner)?.id as number;
});
afterAll(async () => {
  await t?.close();
  tally.report();
});

describe('membership is an invitation the invitee accepts', () => {
  it('nobody is put into a project by id; the victim sees nothing until they accept', async () => {
    const evil = await makeProject(attacker, 'Evil');
    const evilRole = (
      await attacker.post(`/api/projects/${evil.projectId}/roles`, {
        name: 'lure',
        permissions: { project: ['project_view'] },
      })
    ).json().id as number;
    const before = await snapshot(t.app);
    for (const body of [{ role_ids: [] }, { role_ids: [evilRole] }]) {
      tally.rejects(
        `PUT members/<victim> ${JSON.stringify(body)}`,
        await attacker.put(`/api/projects/${evil.projectId}/members/${victim.user.id}`, body),
        404,
        'NOT_FOUND',
      );
    }
    expect(await snapshot(t.app)).toEqual(before);
    const members = (await attacker.get(`/api/projects/${evil.projectId}/members`)).json().items as {
      user: { id: number };
    }[];
    tally.manual('the victim is not listed as a member', !members.some((m) => m.user.id === victim.user.id));
    tally.manual('the project is not in the victim list', !(await listOf(victim)).includes(evil.projectId));

    // an invitation: listed for the victim, project still invisible until accepted
    const inv = await attacker.post(`/api/projects/${evil.projectId}/members`, {
      email: victim.user.email,
      role_ids: [evilRole],
    });
    expect(inv.statusCode).toBe(201);
    const mine = (await victim.get('/api/me/invitations')).json().items as { id: number; project: { id: number } }[];
    expect(mine.map((i) => i.project.id)).toContain(evil.projectId);
    tally.manual('an invited project stays invisible', !(await listOf(victim)).includes(evil.projectId));
    tally.rejects(
      'invited project before accepting',
      await victim.get(`/api/projects/${evil.projectId}`),
      404,
      'NOT_FOUND',
    );
    // nobody else can accept it, and declining leaves the victim outside
    tally.rejects(
      'another user accepts the invitation',
      await viewer.post(`/api/me/invitations/${inv.json().id}/accept`),
      404,
      'NOT_FOUND',
    );
    expect((await victim.post(`/api/me/invitations/${inv.json().id}/decline`)).json()).toEqual({ ok: true });
    tally.rejects(
      'accept after decline',
      await victim.post(`/api/me/invitations/${inv.json().id}/accept`),
      404,
      'NOT_FOUND',
    );
    tally.manual('declined: not a member', !(await listOf(victim)).includes(evil.projectId));
  });

  it('an accepted invitation makes a member; an expired one does not', async () => {
    const Q = await makeProject(owner, 'Join');
    const role = (
      await owner.post(`/api/projects/${Q.projectId}/roles`, { name: 'v', permissions: { project: ['project_view'] } })
    ).json().id as number;
    const joined = await addMember(owner, Q.projectId, victim, [role]);
    expect(joined).toEqual({ project_id: Q.projectId, role_ids: [role] });
    expect(await listOf(victim)).toContain(Q.projectId);
    tally.rejects(
      'invite an existing member',
      await owner.post(`/api/projects/${Q.projectId}/members`, { email: victim.user.email, role_ids: [role] }),
      409,
      'ALREADY_MEMBER',
    );
    const pending = (
      await owner.post(`/api/projects/${Q.projectId}/members`, { email: attacker.user.email, role_ids: [role] })
    ).json();
    expect(
      (await owner.get(`/api/projects/${Q.projectId}/invitations`)).json().items.map((i: { id: number }) => i.id),
    ).toEqual([pending.id]);
    expect((await owner.del(`/api/projects/${Q.projectId}/invitations/${pending.id}`)).statusCode).toBe(204);
    tally.rejects(
      'accept a cancelled invitation',
      await attacker.post(`/api/me/invitations/${pending.id}/accept`),
      404,
      'NOT_FOUND',
    );
  });

  it('answers alike for an account and for an unknown address, and throttles inviting', async () => {
    const Q = await makeProject(owner, 'Oracle');
    const role = (
      await owner.post(`/api/projects/${Q.projectId}/roles`, { name: 'v', permissions: { project: ['project_view'] } })
    ).json().id as number;
    const known = await owner.post(`/api/projects/${Q.projectId}/members`, {
      email: viewer.user.email,
      role_ids: [role],
    });
    const unknown = await owner.post(`/api/projects/${Q.projectId}/members`, {
      email: 'nobody-here@example.test',
      role_ids: [role],
    });
    const shape = (r: typeof known) => ({
      status: r.statusCode,
      keys: Object.keys(r.json()).sort(),
      status2: r.json().status,
    });
    tally.manual(
      'invite: same answer for an account and an unknown address',
      JSON.stringify(shape(known)) === JSON.stringify(shape(unknown)),
    );
    let limited = null as null | Awaited<ReturnType<UserSession['post']>>;
    for (let i = 0; i < 40 && !limited; i++) {
      const r = await owner.post(`/api/projects/${Q.projectId}/members`, {
        email: `probe${i}@example.test`,
        role_ids: [role],
      });
      if (r.statusCode === 429) limited = r;
    }
    expect(limited, 'inviting is throttled').not.toBeNull();
    if (limited) tally.rejects('invitation flood', limited, 429, 'RATE_LIMITED');
  });

  it("shows members' emails to managers only", async () => {
    const asViewer = (await viewer.get(`${base()}/members`)).json().items as { user: Record<string, unknown> }[];
    tally.manual('no email for a non-manager', asViewer.length > 0 && asViewer.every((m) => !('email' in m.user)));
    const asOwner = (await owner.get(`${base()}/members`)).json().items as { user: { email?: string } }[];
    expect(asOwner.every((m) => typeof m.user.email === 'string')).toBe(true);
  });
});

describe('names and mail', () => {
  it('refuses control characters and direction overrides in names', async () => {
    const bad = ['Eve\nACTION REQUIRED', 'tab\there', 'bell\u0007', 'rtl\u202Eevil', 'ls\u2028x', '   '];
    for (const name of bad) {
      const before = await snapshot(t.app);
      tally.rejects(
        `signup name ${JSON.stringify(name)}`,
        await t.app.inject({
          method: 'POST',
          url: '/api/auth/signup',
          payload: {
            email: `n${Math.random().toString(36).slice(2)}@example.test`,
            password: 'correct horse battery',
            name,
          },
          remoteAddress: '10.9.9.9',
        }),
        [400, 429],
        ['VALIDATION_FAILED', 'RATE_LIMITED'],
      );
      tally.rejects(
        `project name ${JSON.stringify(name)}`,
        await owner.post('/api/projects', { name }),
        400,
        'VALIDATION_FAILED',
      );
      tally.rejects(
        `role name ${JSON.stringify(name)}`,
        await owner.post(`${base()}/roles`, { name }),
        400,
        'VALIDATION_FAILED',
      );
      tally.rejects(
        `node name ${JSON.stringify(name)}`,
        await owner.post(`${base()}/nodes`, { name, kind: 'compute' }),
        400,
        'VALIDATION_FAILED',
      );
      expect(await snapshot(t.app)).toEqual(before);
    }
    const res = await owner.post('/api/projects', { name: 'a\u0000b'.replace('\u0000', '\u0001') });
    expect(res.json().error.message).toBe('name must not be blank or contain control characters');
    // ordinary names in any script still work
    expect((await owner.post('/api/projects', { name: 'Калькулятор — API ✓' })).statusCode).toBe(201);
  });

  it('quotes what users wrote in notices and mail, with links broken', async () => {
    const phisher = await signUp(t.app, 'ACTION REQUIRED Confirm at http://evil.test/login now');
    await makeProjectVisible(owner, P.projectId);
    const role = (
      await owner.post(`${base()}/roles`, { name: 'mail-role', permissions: { project: ['project_view'] } })
    ).json().id;
    const tpl = (await owner.post(`${base()}/api-key-templates`, { name: 'Mail key', role_id: role })).json().id;
    expect((await phisher.post(`${base()}/api-key-templates/${tpl}/requests`)).statusCode).toBe(201);
    const mail = await t.app.ctx.k
      .selectFrom('outbox')
      .select(['body'])
      .where('to_email', '=', owner.user.email)
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(mail.body).toContain('"ACTION REQUIRED Confirm at http[:]//evil.test/login now"');
    tally.manual('no clickable link from a user-written name', !mail.body.includes('http://evil.test'));
    expect(mail.body).toContain('Text in quotes was written by Keyport users');
  });
});

describe('owner-only powers', () => {
  it('a co-manager cannot make itself owner, strip the creator or delete the project', async () => {
    const before = await snapshot(t.app);
    tally.rejects(
      'co-manager grants itself the owner role',
      await comanager.put(`${base()}/members/${comanager.user.id}`, { role_ids: [managerRole, ownerRole] }),
      403,
      'FORBIDDEN',
    );
    tally.rejects(
      'co-manager strips the creator',
      await comanager.put(`${base()}/members/${owner.user.id}`, { role_ids: [] }),
      403,
      'FORBIDDEN',
    );
    tally.rejects(
      'co-manager demotes the creator to manager',
      await comanager.put(`${base()}/members/${owner.user.id}`, { role_ids: [managerRole] }),
      403,
      'FORBIDDEN',
    );
    tally.rejects(
      'co-manager invites someone as owner',
      await comanager.post(`${base()}/members`, { email: attacker.user.email, role_ids: [ownerRole] }),
      403,
      'FORBIDDEN',
    );
    tally.rejects('co-manager deletes the project', await comanager.del(base()), 403, 'FORBIDDEN');
    expect(await snapshot(t.app)).toEqual(before);
    expect((await owner.get(base())).json().is_owner).toBe(true);
    expect((await comanager.get(base())).json().is_owner).toBe(false);
    // a co-manager still manages ordinary roles of ordinary members
    expect((await comanager.put(`${base()}/members/${viewer.user.id}`, { role_ids: [managerRole] })).statusCode).toBe(
      200,
    );
    // the last owner stays
    tally.rejects(
      'the last owner leaves',
      await owner.put(`${base()}/members/${owner.user.id}`, { role_ids: [managerRole] }),
      409,
      'INVALID_STATE',
    );
  });

  it('a key template cannot use a role holding project_manage, and such a role cannot be put behind one', async () => {
    tally.rejects(
      'template with the manager role',
      await owner.post(`${base()}/api-key-templates`, { name: 'god key', role_id: managerRole }),
      400,
      'ROLE_NOT_ALLOWED',
    );
    const keyRole = (
      await owner.post(`${base()}/roles`, { name: 'key-role', permissions: { project: ['project_view'] } })
    ).json().id;
    const tpl = (await owner.post(`${base()}/api-key-templates`, { name: 'plain key', role_id: keyRole })).json().id;
    tally.rejects(
      'template switched to the manager role',
      await owner.patch(`${base()}/api-key-templates/${tpl}`, { role_id: managerRole }),
      400,
      'ROLE_NOT_ALLOWED',
    );
    tally.rejects(
      'role behind a template gains project_manage',
      await owner.patch(`${base()}/roles/${keyRole}`, { permissions: { project: ['project_view', 'project_manage'] } }),
      400,
      'ROLE_NOT_ALLOWED',
    );
  });

  it('a key never changes members, roles, prices, templates, secrets or the project, whatever its role', async () => {
    const holder = await signUp(t.app, 'Holder');
    const key = await issueKey(t, owner, holder, {
      projectId: P.projectId,
      permissions: keyPermissions(P),
      price: '0.50',
    });
    // a key issued before these rules: its role gained project_manage afterwards
    await t.app.ctx.k
      .updateTable('roles')
      .set({ permissions: JSON.stringify({ project: ['project_view', 'project_manage'], nodes: {} }) })
      .where('id', '=', key.roleId)
      .execute();
    await t.app.ctx.events.publish({ type: 'role', roleId: key.roleId });
    const k = bearer(t.app, key.token);
    expect((await k.get('/api/auth/whoami')).json().permissions.project).toContain('project_manage');
    const tplId = key.templateId;
    const attempts: [string, ReturnType<typeof k.req>][] = [
      ['make the holder an owner', k.req('PUT', `${base()}/members/${holder.user.id}`, { role_ids: [ownerRole] })],
      ['invite by email', k.req('POST', `${base()}/members`, { email: holder.user.email, role_ids: [ownerRole] })],
      ['price of its own role to 0', k.req('PATCH', `${base()}/roles/${key.roleId}`, { price_per_request: '0' })],
      ['create a role', k.req('POST', `${base()}/roles`, { name: 'k' })],
      ['delete a role', k.req('DELETE', `${base()}/roles/${managerRole}`)],
      ['create a template', k.req('POST', `${base()}/api-key-templates`, { name: 'k', role_id: key.roleId })],
      ['edit its template', k.req('PATCH', `${base()}/api-key-templates/${tplId}`, { name: 'renamed' })],
      ['add a field', k.req('POST', `${base()}/api-key-templates/${tplId}/fields`, { name: 'x' })],
      ['delete its template', k.req('DELETE', `${base()}/api-key-templates/${tplId}`)],
      ['create a secret', k.req('POST', `${base()}/secrets`, { name: 'S', value: 'v' })],
      ['reveal secrets', k.req('GET', `${base()}/secrets?reveal=1`)],
      ['revoke a key', k.req('DELETE', `${base()}/issued-keys/${key.keyId}`)],
      ['delete the project', k.req('DELETE', base())],
    ];
    const before = await snapshot(t.app);
    for (const [label, res] of attempts) tally.rejects(`key: ${label}`, await res, 403, 'FORBIDDEN');
    expect(await snapshot(t.app)).toEqual(before);
    const role = (await owner.get(`${base()}/roles`)).json().find((r: { id: number }) => r.id === key.roleId);
    expect(role.price_per_request).toBe('0.50');
  });
});

describe('public roles grant viewing only', () => {
  it('refuses a public role with more than viewing permissions, and older ones grant only their viewing part', async () => {
    const before = await snapshot(t.app);
    tally.rejects(
      'owner role made public',
      await owner.patch(`${base()}/roles/${ownerRole}`, { is_public: true }),
      400,
      'ROLE_NOT_ALLOWED',
    );
    tally.rejects(
      'public role with project_manage',
      await owner.post(`${base()}/roles`, {
        name: 'everyone',
        is_public: true,
        permissions: { project: ['project_view', 'project_manage'] },
      }),
      400,
      'ROLE_NOT_ALLOWED',
    );
    tally.rejects(
      'public role with package_create on a node',
      await owner.post(`${base()}/roles`, {
        name: 'everyone',
        is_public: true,
        permissions: { project: ['project_view'], nodes: { [P.input]: ['package_create'] } },
      }),
      400,
      'ROLE_NOT_ALLOWED',
    );
    expect(await snapshot(t.app)).toEqual(before);
    const pub = (
      await owner.post(`${base()}/roles`, {
        name: 'visitors',
        is_public: true,
        permissions: { project: ['project_view'] },
      })
    ).json().id;
    const withPublic = await snapshot(t.app);
    tally.rejects(
      'public role gains project_manage',
      await owner.patch(`${base()}/roles/${pub}`, { permissions: { project: ['project_view', 'project_manage'] } }),
      400,
      'ROLE_NOT_ALLOWED',
    );
    expect(await snapshot(t.app)).toEqual(withPublic);
    // a public role written before the rule: a non-member gets its viewing part only
    await t.app.ctx.k
      .updateTable('roles')
      .set({ permissions: JSON.stringify({ project: ['project_view', 'project_manage', 'code_edit'], nodes: {} }) })
      .where('id', '=', pub)
      .execute();
    const outsider = await signUp(t.app, 'Outsider');
    const seen = (await outsider.get(base())).json().permissions.project as string[];
    tally.manual(
      'legacy public role: viewing part only',
      seen.includes('project_view') && !seen.includes('project_manage'),
    );
    tally.rejects('outsider reads the audit log', await outsider.get(`${base()}/audit`), 403, 'FORBIDDEN');
    tally.rejects(
      'outsider creates a secret',
      await outsider.post(`${base()}/secrets`, { name: 'X', value: 'y' }),
      403,
      'FORBIDDEN',
    );
    await t.app.ctx.k.deleteFrom('roles').where('id', '=', pub).execute();
  });
});

describe('holders and deciders', () => {
  it("a revoked holder no longer reads the template's current field values", async () => {
    const holder = await signUp(t.app, 'Revoked');
    const key = await issueKey(t, owner, holder, {
      projectId: P.projectId,
      permissions: keyPermissions(P),
      fields: [{ name: 'endpoint', value: 'https://internal.example.test/v1' }],
    });
    const field = async () =>
      ((await holder.get('/api/me/api-keys')).json() as { id: number; fields: { value: string | null }[] }[]).find(
        (k) => k.id === key.keyId,
      )?.fields[0]?.value;
    expect(await field()).toBe('https://internal.example.test/v1');
    expect((await owner.del(`${base()}/issued-keys/${key.keyId}`)).statusCode).toBe(200);
    await owner.patch(`${base()}/api-key-templates/${key.templateId}/fields/${await fieldId(key.templateId)}`, {
      value: 'https://internal.example.test/v2',
    });
    tally.manual('revoked key: field value withheld', (await field()) === null);
  });

  it('a manager may approve their own request; the audit marks it', async () => {
    const role = (
      await owner.post(`${base()}/roles`, { name: 'self-role', permissions: { project: ['project_view'] } })
    ).json().id;
    const tpl = (await owner.post(`${base()}/api-key-templates`, { name: 'Self key', role_id: role })).json().id;
    const rq = (await owner.post(`${base()}/api-key-templates/${tpl}/requests`)).json().id;
    const key = await owner.post(`${base()}/api-key-requests/${rq}/approve`);
    expect(key.statusCode).toBe(200);
    const entries = (await owner.get(`${base()}/audit?page_size=100`)).json().items as {
      action: string;
      object_id: number;
      details: Record<string, unknown>;
    }[];
    expect(entries.find((e) => e.action === 'key.approved' && e.object_id === key.json().id)?.details).toMatchObject({
      self_approved: true,
    });
  });
});

async function fieldId(templateId: number): Promise<number> {
  const tpl = (await owner.get(`${base()}/api-key-templates`)).json() as { id: number; fields: { id: number }[] }[];
  return tpl.find((x) => x.id === templateId)?.fields[0]?.id as number;
}
