import { createLocalJWKSet, jwtVerify } from 'jose';
import type { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bearer,
  freePort,
  makeProject,
  makeTestApp,
  signUp,
  snapshot,
  type TestApp,
  type UserSession,
  waitFor,
} from './helpers.js';
import { issueKey, makeProjectVisible } from './keys-helpers.js';
import { type Mail, startSmtp, stopSmtp } from './mail-helpers.js';

let t: TestApp;
let smtp: SMTPServer;
const mails: Mail[] = [];

beforeAll(async () => {
  const port = await freePort();
  smtp = await startSmtp(port, (m) => void mails.push(m));
  t = await makeTestApp({ env: { SMTP_URL: `smtp://127.0.0.1:${port}` } });
});
afterAll(async () => {
  await t.close();
  await stopSmtp(smtp);
});

describe('API key lifecycle', () => {
  let owner: UserSession;
  let client: UserSession;
  let ids: Awaited<ReturnType<typeof makeProject>>;

  beforeAll(async () => {
    owner = await signUp(t.app, 'Owner');
    client = await signUp(t.app, 'Client');
    ids = await makeProject(owner, 'Calc');
    await makeProjectVisible(owner, ids.projectId);
  });

  it('walks the whole story: template → request → mail → approve → token → whoami → JWKS → revoke', async () => {
    const p = ids.projectId;
    const role = (
      await owner.post(`/api/projects/${p}/roles`, {
        name: 'api-client',
        price_per_request: '0.25',
        permissions: {
          project: ['project_view'],
          nodes: { [ids.input]: ['package_create'], [ids.output]: ['package_view'] },
        },
      })
    ).json();
    const tpl = await owner.post(`/api/projects/${p}/api-key-templates`, {
      name: 'Calculator',
      role_id: role.id,
      description: 'sums',
    });
    expect(tpl.statusCode).toBe(201);
    const templateId = tpl.json().id;
    for (const [name, value] of [
      ['project', String(p)],
      ['input', String(ids.input)],
      ['output', String(ids.output)],
    ]) {
      const f = await owner.post(`/api/projects/${p}/api-key-templates/${templateId}/fields`, {
        name,
        value,
        description: `${name} id`,
      });
      expect(f.statusCode).toBe(201);
    }
    const full = (await owner.get(`/api/projects/${p}/api-key-templates/${templateId}`)).json();
    expect(full).toMatchObject({
      name: 'Calculator',
      role_name: 'api-client',
      price_per_request: '0.25',
      issued_keys: 0,
    });
    expect(full.fields.map((f: { name: string }) => f.name)).toEqual(['project', 'input', 'output']);

    // client sees the offer as available, requests it
    const offer = (await client.get(`/api/projects/${p}/api-key-offers`))
      .json()
      .find((o: { template_id: number }) => o.template_id === templateId);
    expect(offer).toMatchObject({ state: 'available', price_per_request: '0.25', name: 'Calculator' });
    const req = await client.post(`/api/projects/${p}/api-key-templates/${templateId}/requests`);
    expect(req.statusCode).toBe(201);
    expect(req.json().status).toBe('pending');
    const again = await client.post(`/api/projects/${p}/api-key-templates/${templateId}/requests`);
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('REQUEST_PENDING');
    expect(
      (await client.get(`/api/projects/${p}/api-key-offers`))
        .json()
        .find((o: { template_id: number }) => o.template_id === templateId).state,
    ).toBe('pending');

    // the owner is notified in-app and by a real SMTP delivery
    const notes = (await owner.get('/api/me/notifications')).json();
    expect(notes.items[0]).toMatchObject({ kind: 'key_request.created', link: `/projects/${p}/api-keys#requests` });
    const ownerMail = await waitFor(() => mails.find((m) => m.to.includes(owner.user.email)), 'owner mail', 10_000);
    expect(ownerMail.data).toContain('Calculator');

    // a member without project_manage cannot approve; the owner can
    const pending = (await owner.get(`/api/projects/${p}/api-key-requests?status=pending`)).json();
    expect(pending.items).toHaveLength(1);
    expect(pending.items[0]).toMatchObject({ template_name: 'Calculator', user: { id: client.user.id } });
    const before = await snapshot(t.app);
    const selfApprove = await client.post(`/api/projects/${p}/api-key-requests/${req.json().id}/approve`);
    expect(selfApprove.statusCode).toBe(403);
    expect(await snapshot(t.app)).toEqual(before);
    const approved = await owner.post(`/api/projects/${p}/api-key-requests/${req.json().id}/approve`);
    expect(approved.statusCode).toBe(200);
    const key = approved.json();
    expect(key).toMatchObject({ template_name: 'Calculator', user: { id: client.user.id } });
    expect(JSON.stringify(key)).not.toMatch(/eyJ/); // no token in the approval answer
    await waitFor(
      () => mails.find((m) => m.to.includes(client.user.email) && m.data.includes('approved')),
      'client mail',
      10_000,
    );

    // offer: received; personal data layer exists
    const received = (await client.get(`/api/projects/${p}/api-key-offers`))
      .json()
      .find((o: { template_id: number }) => o.template_id === templateId);
    expect(received).toMatchObject({ state: 'received', key_id: key.id });
    const layer = await t.app.ctx.k
      .selectFrom('data_layers')
      .selectAll()
      .where('project_id', '=', p)
      .where('user_id', '=', client.user.id)
      .executeTakeFirst();
    expect(layer?.kind).toBe('personal');

    // the holder gets the token (same each time); nobody else can
    const tok = await client.get(`/api/me/api-keys/${key.id}/token`);
    expect(tok.statusCode).toBe(200);
    const token: string = tok.json().token;
    expect((await client.get(`/api/me/api-keys/${key.id}/token`)).json().token).toBe(token);
    expect((await owner.get(`/api/me/api-keys/${key.id}/token`)).statusCode).toBe(404);
    const mine = (await client.get('/api/me/api-keys')).json();
    expect(mine[0]).toMatchObject({ id: key.id, project: { id: p }, active: true });
    expect(mine[0].fields).toEqual([
      { name: 'project', description: 'project id', value: String(p) },
      { name: 'input', description: 'input id', value: String(ids.input) },
      { name: 'output', description: 'output id', value: String(ids.output) },
    ]);

    // whoami with the key
    const who = await bearer(t.app, token).get('/api/auth/whoami');
    expect(who.statusCode).toBe(200);
    expect(who.json()).toEqual({
      key_id: key.id,
      project_id: p,
      user_id: client.user.id,
      template_id: templateId,
      role_id: role.id,
      permissions: {
        project: ['project_view'],
        nodes: { [ids.input]: ['package_create'], [ids.output]: ['package_view'] },
      },
    });

    // offline verification with a standard JWT library against the published JWKS
    const jwks = (await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json();
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
    expect(jwks.keys[0].d).toBeUndefined();
    const verified = await jwtVerify(token, createLocalJWKSet(jwks), { audience: `keyport:project:${p}` });
    expect(verified.payload.sub).toBe(String(client.user.id));
    expect(verified.protectedHeader.alg).toBe('EdDSA');
    expect(Object.keys(verified.payload).sort()).toEqual(['aud', 'iat', 'iss', 'jti', 'sub']);

    // no plaintext token in the database
    const rows = await t.app.ctx.k.selectFrom('api_keys').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(token.split('.')[2]);

    // owner revokes: the next request fails with 401
    const rev = await owner.del(`/api/projects/${p}/issued-keys/${key.id}`);
    expect(rev.statusCode).toBe(200);
    const after = await bearer(t.app, token).get('/api/auth/whoami');
    expect(after.statusCode).toBe(401);
    expect(after.json().error.code).toBe('INVALID_KEY');
    expect((await client.get(`/api/me/api-keys/${key.id}/token`)).statusCode).toBe(409);
    const revoked = (await client.get(`/api/projects/${p}/api-key-offers`))
      .json()
      .find((o: { template_id: number }) => o.template_id === templateId);
    expect(revoked).toMatchObject({
      state: 'revoked',
      reason: 'revoked by the project owner',
      reason_code: 'owner',
    });
    await waitFor(
      () => mails.find((m) => m.to.includes(client.user.email) && m.data.includes('revoked')),
      'revocation mail',
      10_000,
    );

    const auditLog = (await owner.get(`/api/projects/${p}/audit?page_size=100`)).json();
    const actions = auditLog.items.map((a: { action: string }) => a.action);
    for (const a of [
      'template.created',
      'template.field_added',
      'key.requested',
      'key.approved',
      'key.token_copied',
      'key.revoked',
    ]) {
      expect(actions).toContain(a);
    }
    expect(JSON.stringify(auditLog)).not.toContain(token);
  });

  it('rejects with a reason; the client may request again; cancel works', async () => {
    const p = ids.projectId;
    const role = (
      await owner.post(`/api/projects/${p}/roles`, { name: 'r2', permissions: { project: ['project_view'] } })
    ).json();
    const tpl = (await owner.post(`/api/projects/${p}/api-key-templates`, { name: 'T2', role_id: role.id })).json();
    const r1 = (await client.post(`/api/projects/${p}/api-key-templates/${tpl.id}/requests`)).json();
    const rej = await owner.post(`/api/projects/${p}/api-key-requests/${r1.id}/reject`, { reason: 'not now' });
    expect(rej.json()).toMatchObject({ status: 'rejected', reason: 'not now' });
    expect((await owner.post(`/api/projects/${p}/api-key-requests/${r1.id}/approve`)).statusCode).toBe(409);
    const offer = (await client.get(`/api/projects/${p}/api-key-offers`))
      .json()
      .find((o: { template_id: number }) => o.template_id === tpl.id);
    expect(offer).toMatchObject({ state: 'rejected', reason: 'not now', reason_code: null });
    const notes = (await client.get('/api/me/notifications')).json();
    expect(notes.items[0].kind).toBe('key_request.rejected');
    const r2 = (await client.post(`/api/projects/${p}/api-key-templates/${tpl.id}/requests`)).json();
    expect((await owner.del(`/api/projects/${p}/api-key-requests/${r2.id}`)).statusCode).toBe(404); // not the requester
    const cancel = await client.del(`/api/projects/${p}/api-key-requests/${r2.id}`);
    expect(cancel.json().status).toBe('cancelled');
    expect(
      (await client.get(`/api/projects/${p}/api-key-offers`))
        .json()
        .find((o: { template_id: number }) => o.template_id === tpl.id).state,
    ).toBe('available');
  });

  it('validates templates and fields; refuses roles without project_view; nothing changes', async () => {
    const p = ids.projectId;
    const noView = (
      await owner.post(`/api/projects/${p}/roles`, { name: 'no-view', permissions: { project: ['package_view'] } })
    ).json();
    const okRole = (
      await owner.post(`/api/projects/${p}/roles`, { name: 'ok-view', permissions: { project: ['project_view'] } })
    ).json();
    const other = await makeProject(client, 'Other');
    const otherRole = (await client.get(`/api/projects/${other.projectId}/roles`)).json()[0];
    const tpl = (await owner.post(`/api/projects/${p}/api-key-templates`, { name: 'V', role_id: okRole.id })).json();
    await owner.post(`/api/projects/${p}/api-key-templates/${tpl.id}/fields`, { name: 'dup' });
    const before = await snapshot(t.app);
    const cases: [string, string, unknown, number, string][] = [
      [
        'POST',
        `/api/projects/${p}/api-key-templates`,
        { name: 'X', role_id: noView.id },
        400,
        'ROLE_LACKS_PROJECT_VIEW',
      ],
      ['POST', `/api/projects/${p}/api-key-templates`, { name: 'X', role_id: otherRole.id }, 400, 'INVALID_REFERENCE'],
      ['POST', `/api/projects/${p}/api-key-templates`, { name: 'V', role_id: okRole.id }, 409, 'NAME_TAKEN'],
      ['POST', `/api/projects/${p}/api-key-templates`, { name: 'X' }, 400, 'VALIDATION_FAILED'],
      ['POST', `/api/projects/${p}/api-key-templates/${tpl.id}/fields`, { name: 'bad name' }, 400, 'VALIDATION_FAILED'],
      ['POST', `/api/projects/${p}/api-key-templates/${tpl.id}/fields`, { name: 'ok-no' }, 400, 'VALIDATION_FAILED'],
      ['POST', `/api/projects/${p}/api-key-templates/${tpl.id}/fields`, { name: 'dup' }, 409, 'NAME_TAKEN'],
      [
        'PATCH',
        `/api/projects/${p}/api-key-templates/${tpl.id}`,
        { role_id: noView.id },
        400,
        'ROLE_LACKS_PROJECT_VIEW',
      ],
      [
        'POST',
        `/api/projects/${other.projectId}/api-key-templates`,
        { name: 'X', role_id: otherRole.id },
        404,
        'NOT_FOUND',
      ],
    ];
    for (const [method, url, body, status, code] of cases) {
      const res = await owner.req(method as 'POST', url, body as Record<string, unknown>);
      expect([url, res.statusCode, res.json().error?.code]).toEqual([url, status, code]);
    }
    // a member without project_manage cannot edit templates
    expect(
      (await client.post(`/api/projects/${p}/api-key-templates`, { name: 'Y', role_id: okRole.id })).statusCode,
    ).toBe(403);
    expect(await snapshot(t.app)).toEqual(before);
  });

  it('keeps field order, reorders, renames and deletes fields', async () => {
    const p = ids.projectId;
    const role = (
      await owner.post(`/api/projects/${p}/roles`, { name: 'ord', permissions: { project: ['project_view'] } })
    ).json();
    const tpl = (await owner.post(`/api/projects/${p}/api-key-templates`, { name: 'Ord', role_id: role.id })).json();
    const add = async (name: string) =>
      (await owner.post(`/api/projects/${p}/api-key-templates/${tpl.id}/fields`, { name })).json();
    const a = await add('a');
    await add('b');
    const c = await add('c');
    await owner.patch(`/api/projects/${p}/api-key-templates/${tpl.id}/fields/${c.id}`, { position: 0, value: '42' });
    const names = async () =>
      (await owner.get(`/api/projects/${p}/api-key-templates/${tpl.id}`))
        .json()
        .fields.map((f: { name: string }) => f.name);
    expect(await names()).toEqual(['c', 'a', 'b']);
    expect((await owner.del(`/api/projects/${p}/api-key-templates/${tpl.id}/fields/${a.id}`)).statusCode).toBe(204);
    expect(await names()).toEqual(['c', 'b']);
    const renamed = await owner.patch(`/api/projects/${p}/api-key-templates/${tpl.id}/fields/${c.id}`, {
      name: 'project_id',
    });
    expect(renamed.json()).toMatchObject({ name: 'project_id', value: '42', position: 0 });
  });

  it('deleting a template or its role revokes its keys (and says how many); role edits apply at once', async () => {
    const p = ids.projectId;
    const k1 = await issueKey(t, owner, client, {
      projectId: p,
      permissions: { project: ['project_view', 'package_view'] },
    });
    const who = await bearer(t.app, k1.token).get('/api/auth/whoami');
    expect(who.json().permissions.project).toEqual(['project_view', 'package_view']);
    // role edit: the same token now has fewer permissions
    await owner.patch(`/api/projects/${p}/roles/${k1.roleId}`, { permissions: { project: ['project_view'] } });
    expect((await bearer(t.app, k1.token).get('/api/auth/whoami')).json().permissions.project).toEqual([
      'project_view',
    ]);
    const tpl = (await owner.get(`/api/projects/${p}/api-key-templates/${k1.templateId}`)).json();
    expect(tpl.issued_keys).toBe(1);
    const del = await owner.del(`/api/projects/${p}/api-key-templates/${k1.templateId}`);
    expect(del.json()).toEqual({ revoked_keys: 1 });
    expect((await bearer(t.app, k1.token).get('/api/auth/whoami')).statusCode).toBe(401);

    const k2 = await issueKey(t, owner, client, { projectId: p, permissions: { project: ['project_view'] } });
    expect((await bearer(t.app, k2.token).get('/api/auth/whoami')).statusCode).toBe(200);
    expect((await owner.del(`/api/projects/${p}/roles/${k2.roleId}`)).json()).toEqual({ revoked_keys: 1 });
    expect((await bearer(t.app, k2.token).get('/api/auth/whoami')).statusCode).toBe(401);
  });

  it('a key works only on its own project (404 elsewhere) and with its permissions (403)', async () => {
    const p = ids.projectId;
    const k = await issueKey(t, owner, client, { projectId: p, permissions: { project: ['project_view'] } });
    const other = await makeProject(owner, 'B');
    const api = bearer(t.app, k.token);
    expect((await api.get(`/api/projects/${p}`)).statusCode).toBe(200);
    expect((await api.get(`/api/projects/${other.projectId}`)).statusCode).toBe(404);
    const denied = await api.post(`/api/projects/${p}/nodes`, { name: 'x', kind: 'compute' });
    expect(denied.statusCode).toBe(403);
    expect((await api.get(`/api/projects/${p}/api-key-templates`)).statusCode).toBe(403);
    // keys cannot act as people
    expect((await api.get('/api/me/api-keys')).statusCode).toBe(403);
    expect((await api.post('/api/projects', { name: 'by key' })).statusCode).toBe(403);
  });

  it('expires keys with a lifetime', async () => {
    const p = ids.projectId;
    const k = await issueKey(t, owner, client, {
      projectId: p,
      permissions: { project: ['project_view'] },
      lifetimeDays: 90,
    });
    const payload = JSON.parse(Buffer.from(k.token.split('.')[1] as string, 'base64url').toString());
    expect(payload.exp - payload.iat).toBe(90 * 86400);
  });

  it('rotates the signing key; old tokens keep verifying and re-deriving', async () => {
    const p = ids.projectId;
    const k = await issueKey(t, owner, client, { projectId: p, permissions: { project: ['project_view'] } });
    const oldKid = t.app.ctx.signing.activeKid;
    const newKid = await t.app.ctx.signing.rotate();
    expect(newKid).not.toBe(oldKid);
    const jwks = (await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json();
    expect(jwks.keys.map((x: { kid: string }) => x.kid)).toEqual(expect.arrayContaining([oldKid, newKid]));
    expect((await bearer(t.app, k.token).get('/api/auth/whoami')).statusCode).toBe(200);
    expect((await client.get(`/api/me/api-keys/${k.keyId}/token`)).json().token).toBe(k.token);
    const k2 = await issueKey(t, owner, client, { projectId: p, permissions: { project: ['project_view'] } });
    expect(JSON.parse(Buffer.from(k2.token.split('.')[0] as string, 'base64url').toString()).kid).toBe(newKid);
    expect((await bearer(t.app, k2.token).get('/api/auth/whoami')).statusCode).toBe(200);
  });
});
