// Issue 10 — broken object- and function-level authorization (OWASP API1, API5) and mass
// assignment (API3). Every project route is tried by a user of another project (404), a member
// without the permission (403), a key of another project (404) and a key of this project without
// the permission (403); a key holder never reaches another holder's personal layer (404); each
// refused change leaves the database as it was.
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upload } from './dataplane-helpers.js';
import { makeTestApp, signUp, type TestApp, type UserSession } from './helpers.js';
import { asKey, buildWorld, row, snapshot, Tally, type World } from './security-helpers.js';

const tally = new Tally('authorization');
let t: TestApp;
let w: World;
/** ids of every kind of object in project A */
let ids: {
  link: number;
  field: number;
  template2: number;
  pendingRequest: number;
  secret: number;
  sha: string;
  /** a package of the owner in the compute node, shared layer */
  pkgC: number;
  /** a pending invitation of project A */
  invitation: number;
};

type Need = 'view' | 'edit' | 'graph' | 'manage' | 'code' | 'pkg_create' | 'pkg_view' | 'upload';
interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  body?: unknown;
  need: Need;
  /** a person only (requireUser): a key gets 403 "needs a signed-in user" whatever the project */
  userOnly?: boolean;
  /** the object belongs to one user (a pending request): others get 404, not 403 */
  ownObject?: boolean;
}

/** Every route under /api/projects/:p, with valid bodies, against project A. */
function projectRoutes(): Route[] {
  const p = `/api/projects/${w.A.projectId}`;
  const n = w.A.compute;
  return [
    { method: 'GET', url: p, need: 'view' },
    { method: 'PATCH', url: p, body: { name: 'renamed' }, need: 'edit' },
    { method: 'DELETE', url: p, need: 'manage', userOnly: true },
    { method: 'GET', url: `${p}/nodes`, need: 'view' },
    { method: 'POST', url: `${p}/nodes`, body: { name: 'evil', kind: 'compute' }, need: 'graph' },
    { method: 'PATCH', url: `${p}/nodes/${n}`, body: { name: 'renamed' }, need: 'graph' },
    { method: 'DELETE', url: `${p}/nodes/${n}`, need: 'graph' },
    { method: 'GET', url: `${p}/links`, need: 'view' },
    { method: 'POST', url: `${p}/links`, body: { from_node_id: w.A.input, to_node_id: w.A.output }, need: 'graph' },
    { method: 'DELETE', url: `${p}/links/${ids.link}`, need: 'graph' },
    { method: 'GET', url: `${p}/roles`, need: 'view' },
    {
      method: 'POST',
      url: `${p}/roles`,
      body: { name: 'evil', permissions: { project: ['project_manage'] } },
      need: 'manage',
      userOnly: true,
    },
    {
      method: 'PATCH',
      url: `${p}/roles/${w.viewerRoleA}`,
      body: { permissions: { project: ['project_view', 'project_manage'] } },
      need: 'manage',
      userOnly: true,
    },
    { method: 'DELETE', url: `${p}/roles/${w.viewerRoleA}`, need: 'manage', userOnly: true },
    { method: 'GET', url: `${p}/members`, need: 'view' },
    { method: 'PUT', url: `${p}/members/${w.viewer.user.id}`, body: { role_ids: [] }, need: 'manage', userOnly: true },
    {
      method: 'POST',
      url: `${p}/members`,
      body: { email: w.ownerB.user.email, role_ids: [w.viewerRoleA] },
      need: 'manage',
      userOnly: true,
    },
    { method: 'GET', url: `${p}/invitations`, need: 'manage', userOnly: true },
    { method: 'DELETE', url: `${p}/invitations/${ids.invitation}`, need: 'manage', userOnly: true },
    { method: 'GET', url: `${p}/audit`, need: 'manage' },
    { method: 'GET', url: `${p}/api-key-templates`, need: 'manage' },
    {
      method: 'POST',
      url: `${p}/api-key-templates`,
      body: { name: 'evil', role_id: w.key1.roleId },
      need: 'manage',
      userOnly: true,
    },
    { method: 'GET', url: `${p}/api-key-templates/${w.key1.templateId}`, need: 'manage' },
    {
      method: 'PATCH',
      url: `${p}/api-key-templates/${w.key1.templateId}`,
      body: { description: 'pwned' },
      need: 'manage',
      userOnly: true,
    },
    { method: 'DELETE', url: `${p}/api-key-templates/${w.key1.templateId}`, need: 'manage', userOnly: true },
    {
      method: 'POST',
      url: `${p}/api-key-templates/${w.key1.templateId}/fields`,
      body: { name: 'evil', value: 'x' },
      need: 'manage',
      userOnly: true,
    },
    {
      method: 'PATCH',
      url: `${p}/api-key-templates/${w.key1.templateId}/fields/${ids.field}`,
      body: { value: 'pwned' },
      need: 'manage',
      userOnly: true,
    },
    {
      method: 'DELETE',
      url: `${p}/api-key-templates/${w.key1.templateId}/fields/${ids.field}`,
      need: 'manage',
      userOnly: true,
    },
    { method: 'GET', url: `${p}/api-key-offers`, need: 'view', userOnly: true },
    { method: 'POST', url: `${p}/api-key-templates/${ids.template2}/requests`, body: {}, need: 'view', userOnly: true },
    {
      method: 'DELETE',
      url: `${p}/api-key-requests/${ids.pendingRequest}`,
      need: 'view',
      userOnly: true,
      ownObject: true,
    },
    { method: 'GET', url: `${p}/api-key-requests`, need: 'manage' },
    {
      method: 'POST',
      url: `${p}/api-key-requests/${ids.pendingRequest}/approve`,
      body: {},
      need: 'manage',
      userOnly: true,
    },
    {
      method: 'POST',
      url: `${p}/api-key-requests/${ids.pendingRequest}/reject`,
      body: { reason: 'x' },
      need: 'manage',
      userOnly: true,
    },
    { method: 'GET', url: `${p}/issued-keys`, need: 'manage' },
    { method: 'GET', url: `${p}/issued-keys/${w.key1.keyId}/usage`, need: 'manage' },
    { method: 'DELETE', url: `${p}/issued-keys/${w.key1.keyId}`, need: 'manage', userOnly: true },
    { method: 'GET', url: `${p}/usage`, need: 'manage' },
    { method: 'GET', url: `${p}/secrets`, need: 'view' },
    { method: 'GET', url: `${p}/secrets?reveal=1`, need: 'manage', userOnly: true },
    { method: 'POST', url: `${p}/secrets`, body: { name: 'EVIL', value: 'x' }, need: 'manage', userOnly: true },
    { method: 'GET', url: `${p}/secrets/${ids.secret}`, need: 'view' },
    { method: 'GET', url: `${p}/secrets/${ids.secret}/value`, need: 'manage', userOnly: true },
    { method: 'PATCH', url: `${p}/secrets/${ids.secret}`, body: { value: 'pwned' }, need: 'manage', userOnly: true },
    { method: 'DELETE', url: `${p}/secrets/${ids.secret}`, need: 'manage', userOnly: true },
    {
      method: 'POST',
      url: `${p}/secrets/import-api-key`,
      body: { key_id: w.key1.keyId, prefix: 'evil' },
      need: 'manage',
      userOnly: true,
    },
    { method: 'GET', url: `${p}/nodes/${n}/secrets`, need: 'code' },
    { method: 'GET', url: `${p}/data_layers`, need: 'view' },
    { method: 'GET', url: `${p}/data_layers/last`, need: 'view' },
    { method: 'GET', url: `${p}/data_layers/${w.sharedA}`, need: 'view' },
    {
      method: 'POST',
      url: `${p}/nodes/${n}/packages?data_layer_id=${w.sharedA}`,
      body: { label: 'evil' },
      need: 'pkg_create',
    },
    { method: 'POST', url: `${p}/nodes/${n}/packages/search`, body: {}, need: 'pkg_view' },
    { method: 'GET', url: `${p}/nodes/${n}/packages/${ids.pkgC}`, need: 'pkg_view' },
    { method: 'GET', url: `${p}/nodes/${n}/packages/${ids.pkgC}/files`, need: 'pkg_view' },
    { method: 'PUT', url: `${p}/objects/${ids.sha}`, need: 'upload' },
  ];
}

const send = (who: UserSession | string, r: Pick<Route, 'method' | 'url' | 'body'>): Promise<LightMyRequestResponse> =>
  typeof who === 'string'
    ? asKey(t.app, who)(r.method, r.url, r.body)
    : who.req(r.method, r.url, r.body as object | undefined);

/** Sends a hostile request; a refused change must leave every table as it was. */
async function attempt(label: string, who: UserSession | string, r: Route, status: number, code: string) {
  const changes = r.method !== 'GET';
  const before = changes ? await snapshot(t.app) : null;
  const res = await send(who, r);
  tally.rejects(`${label}: ${r.method} ${r.url}`, res, status, code);
  if (before) expect(await snapshot(t.app), `${label}: ${r.method} ${r.url} changed the database`).toEqual(before);
  return res;
}

beforeAll(async () => {
  t = await makeTestApp();
  w = await buildWorld(t);
  const p = `/api/projects/${w.A.projectId}`;
  const link = (await w.ownerA.post(`${p}/links`, { from_node_id: w.A.compute, to_node_id: w.A.output })).json().id;
  const field = (
    await w.ownerA.post(`${p}/api-key-templates/${w.key1.templateId}/fields`, {
      name: 'project',
      value: String(w.A.projectId),
    })
  ).json().id;
  const template2 = (await w.ownerA.post(`${p}/api-key-templates`, { name: 'second', role_id: w.key1.roleId })).json()
    .id;
  const req = await w.viewer.post(`${p}/api-key-templates/${template2}/requests`);
  expect(req.statusCode).toBe(201);
  const secret = (
    await w.ownerA.post(`${p}/secrets`, { name: 'DB_PASSWORD', value: 'hunter2-top-secret', node_ids: [w.A.compute] })
  ).json().id;
  const file = await upload(
    t.app,
    (url) => w.ownerA.put(url, undefined),
    w.A.projectId,
    Buffer.from('private bytes of A'),
    'a.txt',
  );
  const pkgC = await w.ownerA.post(`${p}/nodes/${w.A.compute}/packages?data_layer_id=${w.sharedA}`, {
    label: 'owner',
    files: [file],
  });
  expect(pkgC.statusCode).toBe(200);
  const invitation = (
    await w.ownerA.post(`${p}/members`, { email: 'invitee@example.test', role_ids: [w.viewerRoleA] })
  ).json().id;
  ids = {
    link,
    field,
    template2,
    pendingRequest: req.json().id,
    secret,
    sha: file.content_hash,
    pkgC: pkgC.json().id,
    invitation,
  };
});
afterAll(async () => {
  await t?.close();
  tally.report();
});

describe('API1/API5: every project route', () => {
  it('the route table covers every /api/projects/{p} route of the OpenAPI document (others are probed generically)', async () => {
    const doc = t.app.swagger() as { paths: Record<string, Record<string, unknown>> };
    const shape = (url: string) =>
      (url.split('?')[0] as string).replace(/[0-9a-f]{64}$/, '#').replace(/\/\d+(?=\/|$)/g, '/#');
    const known = new Set(projectRoutes().map((r) => `${r.method} ${shape(r.url)}`));
    const documented = new Set<string>();
    const missing: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (!path.startsWith('/api/projects/{p}')) continue;
      for (const m of Object.keys(ops)) {
        const key = `${m.toUpperCase()} ${path.replace(/\{[^}]+\}/g, '#')}`;
        documented.add(key);
        if (!known.has(key)) missing.push(`${m.toUpperCase()} ${path}`);
      }
    }
    // the table's own entries are all real routes (so the comparison above means something)
    expect([...known].filter((k) => !documented.has(k))).toEqual([]);
    expect(known.size).toBeGreaterThanOrEqual(50);
    // a route added later than this table still gets the outsider probe: never 2xx, 403 or 500
    for (const m of missing) {
      const [method, path] = m.split(' ') as [Route['method'], string];
      const url = path.replace('{p}', String(w.A.projectId)).replace(/\{[^}]+\}/g, '1');
      const before = await snapshot(t.app);
      const res = await send(w.ownerB, { method, url, body: method === 'GET' || method === 'DELETE' ? undefined : {} });
      tally.rejects(`uncovered route ${m}, outsider`, res, [400, 404], ['VALIDATION_FAILED', 'NOT_FOUND']);
      expect(await snapshot(t.app)).toEqual(before);
    }
    if (missing.length) console.warn(`security-authz: routes without an explicit case: ${missing.join(', ')}`);
  });

  it('a user of another project gets 404 on every route, and nothing changes', async () => {
    for (const r of projectRoutes()) await attempt('other project user', w.ownerB, r, 404, 'NOT_FOUND');
  });

  it('a user with no project at all, and a signed-out caller, get 404 / 401', async () => {
    const stranger = await signUp(t.app, 'Stranger');
    for (const r of projectRoutes()) await attempt('stranger', stranger, r, 404, 'NOT_FOUND');
    for (const r of projectRoutes()) {
      const res = await t.app.inject({
        method: r.method,
        url: r.url,
        ...(r.body !== undefined ? { payload: r.body as object } : {}),
      });
      tally.rejects(`anonymous: ${r.method} ${r.url}`, res, 401, 'UNAUTHENTICATED');
    }
  });

  it('a key of another project gets 404 (or the project-blind 403 of person-only routes)', async () => {
    for (const r of projectRoutes()) {
      const res = r.userOnly
        ? await attempt('key of project B', w.keyB.token, r, 403, 'FORBIDDEN')
        : await attempt('key of project B', w.keyB.token, r, 404, 'NOT_FOUND');
      if (r.userOnly) expect(res.json().error.message).toMatch(/signed-in user, not an API key/);
    }
  });

  it("a member without the permission gets 403 (404 for another user's request)", async () => {
    for (const r of projectRoutes()) {
      if (r.need === 'view') {
        if (r.ownObject) await attempt('viewer, not the requester', w.holder1, r, 404, 'NOT_FOUND');
        continue;
      }
      await attempt('viewer member', w.viewer, r, 403, 'FORBIDDEN');
    }
  });

  it('a key of this project without the permission gets 403', async () => {
    for (const r of projectRoutes()) {
      // the key holds project_view and package rights on input/output only; routes use the compute node
      if (r.need === 'view' && !r.userOnly) continue;
      if (r.need === 'upload') continue; // package_create on some node is what uploading needs
      await attempt('key without permission', w.key1.token, r, 403, 'FORBIDDEN');
    }
  });

  it('the owner gets through (the table is not just refusing everything)', async () => {
    for (const r of projectRoutes().filter((x) => x.method === 'GET' && !x.userOnly)) {
      const res = await send(w.ownerA, r);
      expect(res.statusCode, `${r.url}: ${res.body}`).toBe(200);
    }
  });
});

describe('API1: ids of another project, another user, another holder', () => {
  it("a key holder never reaches another holder's personal layer or packages (404)", async () => {
    const p = `/api/projects/${w.A.projectId}`;
    const cases: Route[] = [
      { method: 'GET', url: `${p}/data_layers/${w.layer1}`, need: 'view' },
      {
        method: 'POST',
        url: `${p}/nodes/${w.A.input}/packages?data_layer_id=${w.layer1}`,
        body: { label: 'intrusion' },
        need: 'pkg_create',
      },
      {
        method: 'POST',
        url: `${p}/nodes/${w.A.input}/packages?data_layer_id=${w.layer1}`,
        body: { label: 'intrusion', data_layer_id: w.layer1 },
        need: 'pkg_create',
      },
      {
        method: 'POST',
        url: `${p}/nodes/${w.A.input}/packages`,
        body: { label: 'intrusion', data_layer_id: w.layer1 },
        need: 'pkg_create',
      },
      {
        method: 'POST',
        url: `${p}/nodes/${w.A.input}/packages`,
        body: { label: 'intrusion', data_layer_id: String(w.layer1) },
        need: 'pkg_create',
      },
      {
        method: 'POST',
        url: `${p}/nodes/${w.A.input}/packages/search?data_layer_id=${w.layer1}`,
        body: {},
        need: 'pkg_view',
      },
      {
        method: 'POST',
        url: `${p}/nodes/${w.A.input}/packages/search`,
        body: { data_layer_id: w.layer1, master_id: w.pkg1 },
        need: 'pkg_view',
      },
      { method: 'GET', url: `${p}/nodes/${w.A.input}/packages/${w.pkg1}`, need: 'pkg_view' },
      { method: 'GET', url: `${p}/nodes/${w.A.input}/packages/${w.pkg1}/files`, need: 'pkg_view' },
    ];
    for (const r of cases) {
      await attempt('holder2 key', w.key2.token, r, 404, 'NOT_FOUND');
      await attempt(
        'holder2 session',
        w.holder2,
        r,
        [`${p}/data_layers/${w.layer1}`].includes(r.url) ? 404 : 403,
        r.url.endsWith(`data_layers/${w.layer1}`) ? 'NOT_FOUND' : 'FORBIDDEN',
      );
    }
    // lists and "last" never show another holder's layer; search in the own layer never finds their package
    const layers = (await asKey(t.app, w.key2.token)('GET', `${p}/data_layers`)).json() as { id: number }[];
    expect(layers.map((l) => l.id)).not.toContain(w.layer1);
    expect((await asKey(t.app, w.key2.token)('GET', `${p}/data_layers/last`)).json().id).toBe(w.layer2);
    const found = (
      await asKey(t.app, w.key2.token)('POST', `${p}/nodes/${w.A.input}/packages/search`, { master_id: w.pkg1 })
    ).json();
    expect(found.total).toBe(0);
    // a parent in someone else's layer is not a valid reference
    await attempt(
      'holder2 key, foreign parent',
      w.key2.token,
      { method: 'POST', url: `${p}/nodes/${w.A.output}/packages`, body: { parent_ids: [w.pkg1] }, need: 'pkg_create' },
      400,
      'INVALID_REFERENCE',
    );
  });

  it('ids of project A used from project B are refused (no cross-project references)', async () => {
    const b = `/api/projects/${w.B.projectId}`;
    const owner = w.ownerB;
    const cases: [string, Route, number, string][] = [
      [
        'node of A in B path',
        { method: 'PATCH', url: `${b}/nodes/${w.A.input}`, body: { name: 'x' }, need: 'graph' },
        404,
        'NOT_FOUND',
      ],
      [
        'node of A deleted via B',
        { method: 'DELETE', url: `${b}/nodes/${w.A.input}`, need: 'graph' },
        404,
        'NOT_FOUND',
      ],
      [
        'link to nodes of A',
        { method: 'POST', url: `${b}/links`, body: { from_node_id: w.A.input, to_node_id: w.A.output }, need: 'graph' },
        [400, 404] as never,
        '',
      ],
      [
        'role with node of A',
        {
          method: 'POST',
          url: `${b}/roles`,
          body: { name: 'x', permissions: { project: ['project_view'], nodes: { [w.A.input]: ['package_view'] } } },
          need: 'manage',
        },
        400,
        'INVALID_REFERENCE',
      ],
      [
        'role of A edited via B',
        { method: 'PATCH', url: `${b}/roles/${w.viewerRoleA}`, body: { name: 'x' }, need: 'manage' },
        404,
        'NOT_FOUND',
      ],
      [
        'role of A deleted via B',
        { method: 'DELETE', url: `${b}/roles/${w.viewerRoleA}`, need: 'manage' },
        404,
        'NOT_FOUND',
      ],
      [
        'member with role of A',
        { method: 'PUT', url: `${b}/members/${w.ownerB.user.id}`, body: { role_ids: [w.viewerRoleA] }, need: 'manage' },
        400,
        'INVALID_REFERENCE',
      ],
      [
        'template with role of A',
        { method: 'POST', url: `${b}/api-key-templates`, body: { name: 'x', role_id: w.viewerRoleA }, need: 'manage' },
        [400, 404] as never,
        '',
      ],
      [
        'template of A via B',
        {
          method: 'PATCH',
          url: `${b}/api-key-templates/${w.key1.templateId}`,
          body: { description: 'x' },
          need: 'manage',
        },
        404,
        'NOT_FOUND',
      ],
      [
        'field of A via B',
        { method: 'DELETE', url: `${b}/api-key-templates/${w.key1.templateId}/fields/${ids.field}`, need: 'manage' },
        404,
        'NOT_FOUND',
      ],
      [
        'request of A approved via B',
        { method: 'POST', url: `${b}/api-key-requests/${ids.pendingRequest}/approve`, body: {}, need: 'manage' },
        404,
        'NOT_FOUND',
      ],
      [
        'request of A rejected via B',
        { method: 'POST', url: `${b}/api-key-requests/${ids.pendingRequest}/reject`, body: {}, need: 'manage' },
        404,
        'NOT_FOUND',
      ],
      [
        'template of A requested via B',
        { method: 'POST', url: `${b}/api-key-templates/${w.key1.templateId}/requests`, body: {}, need: 'view' },
        404,
        'NOT_FOUND',
      ],
      [
        'key of A revoked via B',
        { method: 'DELETE', url: `${b}/issued-keys/${w.key1.keyId}`, need: 'manage' },
        404,
        'NOT_FOUND',
      ],
      [
        'usage of a key of A via B',
        { method: 'GET', url: `${b}/issued-keys/${w.key1.keyId}/usage`, need: 'manage' },
        404,
        'NOT_FOUND',
      ],
      [
        'secret of A read via B',
        { method: 'GET', url: `${b}/secrets/${ids.secret}/value`, need: 'manage' },
        404,
        'NOT_FOUND',
      ],
      [
        'secret of A changed via B',
        { method: 'PATCH', url: `${b}/secrets/${ids.secret}`, body: { value: 'x' }, need: 'manage' },
        404,
        'NOT_FOUND',
      ],
      [
        'secret granted to a node of A',
        { method: 'POST', url: `${b}/secrets`, body: { name: 'X', value: 'x', node_ids: [w.A.input] }, need: 'manage' },
        400,
        'INVALID_REFERENCE',
      ],
      [
        'import of a key held by someone else',
        {
          method: 'POST',
          url: `${b}/secrets/import-api-key`,
          body: { key_id: w.key1.keyId, prefix: 'stolen' },
          need: 'manage',
        },
        404,
        'NOT_FOUND',
      ],
      [
        'node secrets of a node of A',
        { method: 'GET', url: `${b}/nodes/${w.A.compute}/secrets`, need: 'code' },
        404,
        'NOT_FOUND',
      ],
      ['layer of A via B', { method: 'GET', url: `${b}/data_layers/${w.sharedA}`, need: 'view' }, 404, 'NOT_FOUND'],
      [
        'package into a node of A',
        { method: 'POST', url: `${b}/nodes/${w.A.input}/packages`, body: { label: 'x' }, need: 'pkg_create' },
        404,
        'NOT_FOUND',
      ],
      [
        'package into a layer of A',
        {
          method: 'POST',
          url: `${b}/nodes/${w.B.input}/packages?data_layer_id=${w.sharedA}`,
          body: { label: 'x' },
          need: 'pkg_create',
        },
        404,
        'NOT_FOUND',
      ],
      [
        'package of A via B',
        { method: 'GET', url: `${b}/nodes/${w.A.input}/packages/${w.pkg1}`, need: 'pkg_view' },
        404,
        'NOT_FOUND',
      ],
      [
        'parent package of A',
        { method: 'POST', url: `${b}/nodes/${w.B.input}/packages`, body: { parent_ids: [w.pkg1] }, need: 'pkg_create' },
        400,
        'INVALID_REFERENCE',
      ],
      [
        'file referencing an object only A uploaded',
        {
          method: 'POST',
          url: `${b}/nodes/${w.B.input}/packages`,
          body: { files: [{ name: 'a.txt', content_hash: ids.sha }] },
          need: 'pkg_create',
        },
        400,
        'INVALID_REFERENCE',
      ],
    ];
    for (const [label, r, status, code] of cases) {
      if (Array.isArray(status)) {
        const before = await snapshot(t.app);
        tally.rejects(label, await send(owner, r), status as number[]);
        expect(await snapshot(t.app)).toEqual(before);
      } else await attempt(label, owner, r, status, code);
    }
    // a key of B sees nothing of A either, even with A's ids in B's paths
    await attempt(
      'key of B, package of A in B path',
      w.keyB.token,
      { method: 'GET', url: `${b}/nodes/${w.B.input}/packages/${w.pkg1}`, need: 'pkg_view' },
      404,
      'NOT_FOUND',
    );
    await attempt(
      'key of B, layer of A',
      w.keyB.token,
      {
        method: 'POST',
        url: `${b}/nodes/${w.B.input}/packages/search?data_layer_id=${w.layer1}`,
        body: {},
        need: 'pkg_view',
      },
      404,
      'NOT_FOUND',
    );
  });

  it("personal endpoints: another user's token, notifications and raw objects", async () => {
    const before = await snapshot(t.app);
    tally.rejects(
      'token of another holder',
      await w.holder2.get(`/api/me/api-keys/${w.key1.keyId}/token`),
      404,
      'NOT_FOUND',
    );
    tally.rejects(
      'token by the owner who approved it',
      await w.ownerA.get(`/api/me/api-keys/${w.key1.keyId}/token`),
      404,
      'NOT_FOUND',
    );
    tally.rejects(
      'token with a key',
      await asKey(t.app, w.key1.token)('GET', `/api/me/api-keys/${w.key1.keyId}/token`),
      403,
      'FORBIDDEN',
    );
    tally.rejects(
      'token of a revoked-or-unknown id',
      await w.holder1.get(`/api/me/api-keys/999999/token`),
      404,
      'NOT_FOUND',
    );
    // someone else's notifications cannot be marked read
    const theirs = (await w.ownerA.get('/api/me/notifications')).json() as {
      items: { id: number; read_at?: string | null }[];
    };
    const ids2 = theirs.items.map((n) => n.id);
    expect(ids2.length).toBeGreaterThan(0);
    await w.ownerB.post('/api/me/notifications/read', { ids: ids2 });
    const after = (await w.ownerA.get('/api/me/notifications')).json() as {
      items: { id: number; read_at?: string | null; read?: boolean }[];
    };
    tally.manual(
      "another user's notifications stay unread",
      after.items.every((n) => !n.read_at && !n.read),
    );
    // raw objects: no signature, a signature for another hash, project or method
    const files = (
      await w.ownerA.get(`/api/projects/${w.A.projectId}/nodes/${w.A.input}/packages/${w.pkg1}/files`)
    ).json();
    expect(files).toEqual([]);
    const link = (
      await w.ownerA.put(`/api/projects/${w.A.projectId}/objects/${'b'.repeat(64)}`, undefined)
    ).json() as string;
    const u = new URL(link);
    tally.rejects(
      'raw GET without signature',
      await t.app.inject({ method: 'GET', url: `/api/objects/${ids.sha}` }),
      403,
      'INVALID_SIGNATURE',
    );
    tally.rejects(
      'upload link used to download',
      await t.app.inject({ method: 'GET', url: `${u.pathname}${u.search}` }),
      403,
      'INVALID_SIGNATURE',
    );
    tally.rejects(
      'signature moved to another hash',
      await t.app.inject({ method: 'GET', url: `/api/objects/${ids.sha}${u.search}` }),
      403,
      'INVALID_SIGNATURE',
    );
    const q = new URLSearchParams(u.search);
    const putWith = (query: URLSearchParams) =>
      t.app.inject({
        method: 'PUT',
        url: `${u.pathname}?${query}`,
        payload: Buffer.from('x'),
        headers: { 'content-type': 'application/octet-stream' },
      });
    q.set('project', String(w.B.projectId));
    tally.rejects('signature moved to another project', await putWith(q), 403, 'INVALID_SIGNATURE');
    q.set('project', String(w.A.projectId));
    q.set('exp', String(Number(q.get('exp')) + 86400));
    tally.rejects('expiry extended', await putWith(q), 403, 'INVALID_SIGNATURE');
    expect(await snapshot(t.app)).toEqual(before);
  });
});

describe('sessions: CSRF and logout', () => {
  it("a cookie-authenticated change without, with a wrong, or with another session's CSRF token is refused", async () => {
    const p = `/api/projects/${w.A.projectId}`;
    const cookie = `keyport_session=${w.ownerA.cookie}`;
    const changes: Route[] = [
      { method: 'POST', url: '/api/projects', body: { name: 'csrf' }, need: 'view' },
      { method: 'POST', url: `${p}/nodes`, body: { name: 'csrf', kind: 'input' }, need: 'graph' },
      { method: 'DELETE', url: `${p}/issued-keys/${w.key1.keyId}`, need: 'manage' },
      { method: 'PUT', url: `${p}/members/${w.ownerB.user.id}`, body: { role_ids: [w.viewerRoleA] }, need: 'manage' },
    ];
    for (const r of changes) {
      for (const [label, csrf] of [
        ['no CSRF header', undefined],
        ['wrong CSRF token', 'x'.repeat(32)],
        ["another session's CSRF token", w.ownerB.csrf],
        ['empty CSRF token', ''],
      ] as const) {
        const before = await snapshot(t.app);
        const res = await t.app.inject({
          method: r.method,
          url: r.url,
          headers: { cookie, ...(csrf !== undefined ? { 'x-csrf-token': csrf } : {}) },
          ...(r.body !== undefined ? { payload: r.body as object } : {}),
        });
        tally.rejects(`${label}: ${r.method} ${r.url}`, res, 403, 'CSRF_FAILED');
        expect(await snapshot(t.app)).toEqual(before);
      }
    }
  });

  it('a logged-out session cookie is dead', async () => {
    const s = await signUp(t.app, 'Leaver');
    expect((await s.post('/api/auth/logout')).statusCode).toBe(200);
    tally.rejects('logged-out cookie: me', await s.get('/api/auth/me'), 401, 'UNAUTHENTICATED');
    tally.rejects(
      'logged-out cookie: create project',
      await s.post('/api/projects', { name: 'ghost' }),
      401,
      'UNAUTHENTICATED',
    );
    tally.rejects(
      'forged cookie',
      await t.app.inject({ method: 'GET', url: '/api/auth/me', cookies: { keyport_session: 'A'.repeat(43) } }),
      401,
      'UNAUTHENTICATED',
    );
  });
});

describe('function-level: decisions on key requests', () => {
  it('a requester cannot approve or reject their own request; a key cannot decide; others cannot cancel it', async () => {
    const p = `/api/projects/${w.A.projectId}`;
    const r = ids.pendingRequest;
    await attempt(
      'requester approves own',
      w.viewer,
      { method: 'POST', url: `${p}/api-key-requests/${r}/approve`, body: {}, need: 'manage' },
      403,
      'FORBIDDEN',
    );
    await attempt(
      'requester rejects own',
      w.viewer,
      { method: 'POST', url: `${p}/api-key-requests/${r}/reject`, body: {}, need: 'manage' },
      403,
      'FORBIDDEN',
    );
    await attempt(
      'key approves',
      w.key1.token,
      { method: 'POST', url: `${p}/api-key-requests/${r}/approve`, body: {}, need: 'manage' },
      403,
      'FORBIDDEN',
    );
    await attempt(
      'another member cancels',
      w.holder1,
      { method: 'DELETE', url: `${p}/api-key-requests/${r}`, need: 'view' },
      404,
      'NOT_FOUND',
    );
    await attempt(
      'owner cancels for the requester',
      w.ownerA,
      { method: 'DELETE', url: `${p}/api-key-requests/${r}`, need: 'view' },
      404,
      'NOT_FOUND',
    );
    const stored = await row(t.app, 'key_requests', r);
    expect(stored.status).toBe('pending');
    // even a key whose role has project_manage cannot decide: deciding needs a person (templates
    // refuse such roles now; a key from before that rule gets it by a direct change of its role)
    const mgrRole = (
      await w.ownerA.post(`${p}/roles`, { name: 'key-manager', permissions: { project: ['project_view'] } })
    ).json().id;
    const tpl = (await w.ownerA.post(`${p}/api-key-templates`, { name: 'manager-key', role_id: mgrRole })).json().id;
    const rq = (await w.holder1.post(`${p}/api-key-templates/${tpl}/requests`)).json().id;
    const mk = (await w.ownerA.post(`${p}/api-key-requests/${rq}/approve`)).json().id;
    await t.app.ctx.k
      .updateTable('roles')
      .set({ permissions: JSON.stringify({ project: ['project_view', 'project_manage'], nodes: {} }) })
      .where('id', '=', mgrRole)
      .execute();
    await t.app.ctx.events.publish({ type: 'role', roleId: mgrRole });
    const token = (await w.holder1.get(`/api/me/api-keys/${mk}/token`)).json().token as string;
    await attempt(
      'manager key approves',
      token,
      { method: 'POST', url: `${p}/api-key-requests/${r}/approve`, body: {}, need: 'manage' },
      403,
      'FORBIDDEN',
    );
    await attempt(
      'manager key imports keys',
      token,
      { method: 'POST', url: `${p}/secrets/import-api-key`, body: { key_id: mk, prefix: 'x' }, need: 'manage' },
      403,
      'FORBIDDEN',
    );
    expect((await row(t.app, 'key_requests', r)).status).toBe('pending');
  });
});

describe('API3: mass assignment', () => {
  it('server-owned properties in bodies are ignored (checked in the stored rows)', async () => {
    const other = w.ownerB.user.id;
    // project: owner_id, id, created_at
    const proj = await w.viewer.post('/api/projects', {
      name: 'mine',
      owner_id: other,
      id: 424242,
      created_at: 0,
      is_owner: false,
    });
    expect(proj.statusCode).toBe(201);
    const pr = await row(t.app, 'projects', proj.json().id);
    tally.manual(
      'project owner_id/id ignored',
      pr.owner_id === w.viewer.user.id && pr.id !== 424242 && Number(pr.created_at) > 0,
    );
    const patched = await w.viewer.patch(`/api/projects/${pr.id}`, { owner_id: other, project_id: w.A.projectId });
    expect(patched.statusCode).toBe(200);
    tally.manual(
      'project PATCH owner_id ignored',
      (await row(t.app, 'projects', pr.id as number)).owner_id === w.viewer.user.id,
    );

    const p = `/api/projects/${w.A.projectId}`;
    // role: is_owner, project_id, price via a bogus field, id
    const role = await w.ownerA.post(`${p}/roles`, {
      name: 'sneaky',
      is_owner: true,
      project_id: w.B.projectId,
      price_micros: 5,
      id: 1,
      permissions: { project: ['project_view'] },
    });
    expect(role.statusCode).toBe(201);
    const rr = await row(t.app, 'roles', role.json().id);
    tally.manual(
      'role is_owner/project_id/price_micros ignored',
      rr.is_owner === 0 && rr.project_id === w.A.projectId && Number(rr.price_micros) === 0,
    );
    await w.ownerA.patch(`${p}/roles/${rr.id}`, { is_owner: true, project_id: w.B.projectId });
    const rr2 = await row(t.app, 'roles', rr.id as number);
    tally.manual('role PATCH is_owner/project_id ignored', rr2.is_owner === 0 && rr2.project_id === w.A.projectId);

    // template: price_per_request, project_id, status
    const tpl = await w.ownerA.post(`${p}/api-key-templates`, {
      name: 'cheap',
      role_id: w.key1.roleId,
      price_per_request: '0',
      project_id: w.B.projectId,
      status: 'approved',
    });
    expect(tpl.statusCode).toBe(201);
    const tr = await row(t.app, 'api_key_templates', tpl.json().id);
    const keyRole = await row(t.app, 'roles', w.key1.roleId);
    tally.manual(
      'template price_per_request/project_id ignored',
      tr.project_id === w.A.projectId && Number(keyRole.price_micros) === 10_000,
    );
    await w.ownerA.patch(`${p}/api-key-templates/${tr.id}`, { price_per_request: '0', project_id: w.B.projectId });
    tally.manual(
      'template PATCH price/project_id ignored',
      Number((await row(t.app, 'roles', w.key1.roleId)).price_micros) === 10_000 &&
        (await row(t.app, 'api_key_templates', tr.id as number)).project_id === w.A.projectId,
    );

    // field: template_id of another template
    const fld = await w.ownerA.post(`${p}/api-key-templates/${tr.id}/fields`, {
      name: 'f1',
      template_id: w.key1.templateId,
      id: 1,
    });
    expect(fld.statusCode).toBe(201);
    tally.manual(
      'field template_id ignored',
      (await row(t.app, 'template_fields', fld.json().id)).template_id === tr.id,
    );

    // request: status, user_id, role_id
    const req = await w.holder2.post(`${p}/api-key-templates/${tr.id}/requests`, {
      status: 'approved',
      user_id: other,
      role_id: 1,
      template_id: w.key1.templateId,
    });
    expect(req.statusCode).toBe(201);
    const rq = await row(t.app, 'key_requests', req.json().id);
    tally.manual(
      'request status/user_id/template_id ignored',
      rq.status === 'pending' && rq.user_id === w.holder2.user.id && rq.template_id === tr.id,
    );
    const noKey = await t.app.ctx.k
      .selectFrom('api_keys')
      .select('id')
      .where('request_id', '=', rq.id as number)
      .execute();
    tally.manual('no key issued by a self-approved request', noKey.length === 0);

    // approve: role_id, user_id, revoked_at, expires_at, price_per_request
    const ownerRole = (
      await t.app.ctx.k
        .selectFrom('roles')
        .select('id')
        .where('project_id', '=', w.A.projectId)
        .where('is_owner', '=', 1)
        .executeTakeFirstOrThrow()
    ).id;
    const ap = await w.ownerA.post(`${p}/api-key-requests/${rq.id}/approve`, {
      role_id: ownerRole,
      user_id: other,
      revoked_at: 1,
      expires_at: 1,
      price_per_request: '0',
      project_id: w.B.projectId,
    });
    expect(ap.statusCode).toBe(200);
    const k = await row(t.app, 'api_keys', ap.json().id);
    tally.manual(
      'approve role_id/user_id/revoked_at/expires_at ignored',
      k.role_id === w.key1.roleId &&
        k.user_id === w.holder2.user.id &&
        k.revoked_at === null &&
        k.expires_at === null &&
        k.project_id === w.A.projectId,
    );

    // reject: status
    const req2 = await w.holder1.post(`${p}/api-key-templates/${ids.template2}/requests`, {});
    const rj = await w.ownerA.post(`${p}/api-key-requests/${req2.json().id}/reject`, {
      reason: 'no',
      status: 'approved',
      user_id: other,
    });
    expect(rj.statusCode).toBe(200);
    const rj2 = await row(t.app, 'key_requests', req2.json().id);
    tally.manual('reject status/user_id ignored', rj2.status === 'rejected' && rj2.user_id === w.holder1.user.id);

    // revoke: revoked_at in the past is not taken
    const rv = await w.ownerA.req('DELETE', `${p}/issued-keys/${k.id}`, { reason: 'x', revoked_at: 1 });
    expect(rv.statusCode).toBe(200);
    tally.manual(
      'revoke revoked_at ignored',
      Number((await row(t.app, 'api_keys', k.id as number)).revoked_at) > 1_000_000,
    );

    // members: is_owner, user_id in the body (the path decides)
    const mem = await w.ownerA.put(`${p}/members/${w.viewer.user.id}`, {
      role_ids: [w.viewerRoleA],
      is_owner: true,
      user_id: other,
      project_id: w.B.projectId,
    });
    expect(mem.statusCode).toBe(200);
    const mr = await t.app.ctx.k
      .selectFrom('member_roles')
      .selectAll()
      .where('user_id', 'in', [w.viewer.user.id, other])
      .where('project_id', '=', w.A.projectId)
      .execute();
    tally.manual(
      'member is_owner/user_id/project_id ignored',
      mr.length === 1 && mr[0]?.user_id === w.viewer.user.id && mr[0]?.role_id === w.viewerRoleA,
    );

    // secret: project_id, value_enc, id
    const sec = await w.ownerA.post(`${p}/secrets`, {
      name: 'SNEAKY',
      value: 'v',
      project_id: w.B.projectId,
      value_enc: 'v1.x.y.z',
      id: 1,
    });
    expect(sec.statusCode).toBe(201);
    const sr = await row(t.app, 'secrets', sec.json().id);
    tally.manual(
      'secret project_id/value_enc ignored',
      sr.project_id === w.A.projectId && String(sr.value_enc).startsWith('v1.') && sr.value_enc !== 'v1.x.y.z',
    );

    // package: project_id, node_id, master_id, created_by_*, id
    const pk = await asKey(t.app, w.key2.token)('POST', `${p}/nodes/${w.A.input}/packages`, {
      label: 'mine',
      project_id: w.B.projectId,
      node_id: w.A.output,
      master_id: w.pkg1,
      created_by_user_id: other,
      created_by_key_id: w.key1.keyId,
      id: 1,
    });
    expect(pk.statusCode).toBe(200);
    const pkr = await row(t.app, 'packages', pk.json().id);
    tally.manual(
      'package project_id/node_id/master_id/created_by ignored',
      pkr.project_id === w.A.projectId &&
        pkr.node_id === w.A.input &&
        pkr.master_id === pkr.id &&
        pkr.created_by_user_id === w.holder2.user.id &&
        pkr.created_by_key_id === w.key2.keyId,
    );

    // sign-up: no way to pick an id, a hash or a creation date
    const su = await t.app.inject({
      method: 'POST',
      url: '/api/auth/signup',
      remoteAddress: '10.9.9.9',
      payload: {
        email: 'mass@example.test',
        password: 'correct horse battery',
        name: 'Mass',
        id: 1,
        password_hash: 'scrypt$1$1$1$AA$AA',
        created_at: 0,
        is_admin: true,
      },
    });
    expect(su.statusCode).toBe(201);
    const ur = await row(t.app, 'users', su.json().user.id);
    tally.manual(
      'signup id/password_hash/created_at ignored',
      ur.id !== 1 && String(ur.password_hash).startsWith('scrypt$16384$') && Number(ur.created_at) > 0,
    );
  });
});
