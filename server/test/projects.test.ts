import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, makeProject, makeTestApp, signUp, snapshot, type TestApp, type UserSession } from './helpers.js';

let t: TestApp;
let owner: UserSession;
let other: UserSession;
beforeAll(async () => {
  t = await makeTestApp();
  owner = await signUp(t.app, 'Owner');
  other = await signUp(t.app, 'Other');
});
afterAll(() => t.close());

describe('projects', () => {
  it('creates a project with an owner role holding every permission', async () => {
    const res = await owner.post('/api/projects', { name: 'Alpha', description: 'first' });
    expect(res.statusCode).toBe(201);
    const p = res.json();
    expect(p).toMatchObject({ name: 'Alpha', description: 'first', owner_id: owner.user.id });
    const got = (await owner.get(`/api/projects/${p.id}`)).json();
    expect(got.permissions.project).toContain('project_manage');
    expect(got.permissions.project).toContain('api_keys_manage');
    expect(got.permissions.project).toHaveLength(13);
    const roles = (await owner.get(`/api/projects/${p.id}/roles`)).json();
    expect(roles).toHaveLength(1);
    expect(roles[0]).toMatchObject({ name: 'owner', is_owner: true });
    const members = (await owner.get(`/api/projects/${p.id}/members`)).json();
    expect(members.items).toEqual([{ user: expect.objectContaining({ id: owner.user.id }), role_ids: [roles[0].id] }]);
    const list = (await owner.get('/api/projects')).json();
    expect(list.items.map((x: { id: number }) => x.id)).toContain(p.id);
  });

  it('updates and deletes a project; others get 404', async () => {
    const p = (await owner.post('/api/projects', { name: 'Beta' })).json();
    expect((await other.get(`/api/projects/${p.id}`)).statusCode).toBe(404);
    expect((await other.patch(`/api/projects/${p.id}`, { name: 'hijack' })).statusCode).toBe(404);
    expect((await other.del(`/api/projects/${p.id}`)).statusCode).toBe(404);
    const patched = await owner.patch(`/api/projects/${p.id}`, { name: 'Beta 2' });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().name).toBe('Beta 2');
    expect((await owner.del(`/api/projects/${p.id}`)).statusCode).toBe(204);
    expect((await owner.get(`/api/projects/${p.id}`)).statusCode).toBe(404);
    const list = (await other.get('/api/projects')).json();
    expect(list.items.map((x: { id: number }) => x.id)).not.toContain(p.id);
  });

  it('manages nodes and links', async () => {
    const { projectId, input, compute, output } = await makeProject(owner);
    const nodes = (await owner.get(`/api/projects/${projectId}/nodes`)).json();
    expect(nodes.map((n: { kind: string }) => n.kind)).toEqual(['input', 'compute', 'output']);
    const found = (await owner.get(`/api/projects/${projectId}/nodes?search=comp`)).json();
    expect(found.map((n: { id: number }) => n.id)).toEqual([compute]);

    const l1 = await owner.post(`/api/projects/${projectId}/links`, { from_node_id: input, to_node_id: compute });
    expect(l1.statusCode).toBe(201);
    expect(
      (await owner.post(`/api/projects/${projectId}/links`, { from_node_id: input, to_node_id: compute })).statusCode,
    ).toBe(409);
    expect(
      (await owner.post(`/api/projects/${projectId}/links`, { from_node_id: input, to_node_id: input })).statusCode,
    ).toBe(400);
    const foreign = await makeProject(other);
    const cross = await owner.post(`/api/projects/${projectId}/links`, {
      from_node_id: input,
      to_node_id: foreign.output,
    });
    expect(cross.statusCode).toBe(400);
    expect(cross.json().error.code).toBe('INVALID_REFERENCE');

    const renamed = await owner.patch(`/api/projects/${projectId}/nodes/${output}`, { name: 'result' });
    expect(renamed.json()).toMatchObject({ id: output, name: 'result', kind: 'output' });
    expect((await owner.patch(`/api/projects/${projectId}/nodes/${foreign.output}`, { name: 'x' })).statusCode).toBe(
      404,
    );
    expect((await owner.post(`/api/projects/${projectId}/nodes`, { name: 'bad', kind: 'weird' })).statusCode).toBe(400);

    expect((await owner.del(`/api/projects/${projectId}/nodes/${compute}`)).statusCode).toBe(204);
    expect((await owner.get(`/api/projects/${projectId}/links`)).json()).toEqual([]);
  });

  it('creates roles with validated permissions and exact prices', async () => {
    const { projectId, input, output } = await makeProject(owner);
    const foreign = await makeProject(other);
    const res = await owner.post(`/api/projects/${projectId}/roles`, {
      name: 'client',
      price_per_request: '0.000015',
      is_public: false,
      permissions: { project: ['project_view'], nodes: { [input]: ['package_create'], [output]: ['package_view'] } },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ name: 'client', price_per_request: '0.000015', is_public: false });
    expect(res.json().permissions.nodes[String(input)]).toEqual(['package_create']);

    const before = await snapshot(t.app);
    const bad = [
      { name: 'client', permissions: { project: ['project_view'] } }, // duplicate name
      { name: 'x', permissions: { project: ['fly'] } },
      { name: 'x', permissions: { nodes: { [input]: ['project_manage'] } } },
      { name: 'x', permissions: { nodes: { [foreign.input]: ['package_view'] } } },
      { name: 'x', price_per_request: '-1' },
      { name: 'x', price_per_request: '0.0000001' },
      { name: 'x', price_per_request: 'abc' },
      { name: '' },
    ];
    const codes = [];
    for (const body of bad) {
      const r = await owner.post(`/api/projects/${projectId}/roles`, body);
      codes.push([r.statusCode, r.json().error.code]);
    }
    expect(codes).toEqual([
      [409, 'NAME_TAKEN'],
      [400, 'VALIDATION_FAILED'],
      [400, 'VALIDATION_FAILED'],
      [400, 'INVALID_REFERENCE'],
      [400, 'VALIDATION_FAILED'],
      [400, 'VALIDATION_FAILED'],
      [400, 'VALIDATION_FAILED'],
      [400, 'VALIDATION_FAILED'],
    ]);
    expect(await snapshot(t.app)).toEqual(before);

    const role = res.json();
    const patched = await owner.patch(`/api/projects/${projectId}/roles/${role.id}`, {
      price_per_request: 2.5,
      permissions: { project: ['project_view'] },
      is_public: true,
    });
    expect(patched.json()).toMatchObject({ price_per_request: '2.50', is_public: true });
    const owners = (await owner.get(`/api/projects/${projectId}/roles`))
      .json()
      .filter((r: { is_owner: boolean }) => r.is_owner);
    const strip = await owner.patch(`/api/projects/${projectId}/roles/${owners[0].id}`, {
      permissions: { project: ['project_view'] },
    });
    expect(strip.statusCode).toBe(409);
    expect((await owner.del(`/api/projects/${projectId}/roles/${owners[0].id}`)).statusCode).toBe(409);
    const del = await owner.del(`/api/projects/${projectId}/roles/${role.id}`);
    expect(del.statusCode).toBe(200);
    expect(del.json()).toEqual({ revoked_keys: 0 });
  });

  it('assigns members; permissions gate actions (403) and public roles grant view', async () => {
    const { projectId, input } = await makeProject(owner);
    const viewer = (
      await owner.post(`/api/projects/${projectId}/roles`, {
        name: 'viewer',
        permissions: { project: ['project_view'] },
      })
    ).json();
    expect((await other.get(`/api/projects/${projectId}`)).statusCode).toBe(404);

    // a person joins by accepting an invitation, not by being put into a project
    expect(
      (await owner.put(`/api/projects/${projectId}/members/${other.user.id}`, { role_ids: [viewer.id] })).statusCode,
    ).toBe(404);
    expect((await other.get(`/api/projects/${projectId}`)).statusCode).toBe(404);
    await addMember(owner, projectId, other, [viewer.id]);
    expect((await other.get(`/api/projects/${projectId}`)).statusCode).toBe(200);
    const denied = await other.post(`/api/projects/${projectId}/nodes`, { name: 'n', kind: 'compute' });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.code).toBe('FORBIDDEN');
    expect((await other.post(`/api/projects/${projectId}/roles`, { name: 'mine' })).statusCode).toBe(403);
    expect((await other.put(`/api/projects/${projectId}/members/${other.user.id}`, { role_ids: [] })).statusCode).toBe(
      403,
    );
    expect((await other.del(`/api/projects/${projectId}/nodes/${input}`)).statusCode).toBe(403);

    // remove the member, then make the role public: any signed-in user now sees the project
    expect((await owner.put(`/api/projects/${projectId}/members/${other.user.id}`, { role_ids: [] })).statusCode).toBe(
      200,
    );
    expect((await other.get(`/api/projects/${projectId}`)).statusCode).toBe(404);
    await owner.patch(`/api/projects/${projectId}/roles/${viewer.id}`, { is_public: true });
    expect((await other.get(`/api/projects/${projectId}`)).statusCode).toBe(200);

    // inviting answers alike for an account and for an unknown address; foreign role 400;
    // the last owner cannot be removed (409, unchanged)
    const third = await signUp(t.app, 'Third');
    const known = await owner.post(`/api/projects/${projectId}/members`, {
      email: third.user.email,
      role_ids: [viewer.id],
    });
    const ghost = await owner.post(`/api/projects/${projectId}/members`, {
      email: 'ghost@example.test',
      role_ids: [viewer.id],
    });
    expect([known.statusCode, ghost.statusCode]).toEqual([201, 201]);
    expect(Object.keys(known.json()).sort()).toEqual(Object.keys(ghost.json()).sort());
    const before = await snapshot(t.app);
    expect(
      (await owner.put(`/api/projects/${projectId}/members/${owner.user.id}`, { role_ids: [viewer.id] })).statusCode,
    ).toBe(409);
    expect(
      (await owner.post(`/api/projects/${projectId}/members`, { email: third.user.email, role_ids: [999999] }))
        .statusCode,
    ).toBe(400);
    expect(await snapshot(t.app)).toEqual(before);
  });

  it('rejects malformed ids and bodies with 400', async () => {
    expect((await owner.get('/api/projects/abc')).statusCode).toBe(400);
    expect((await owner.get('/api/projects/-1')).statusCode).toBe(400);
    expect((await owner.post('/api/projects', { name: 42 })).statusCode).toBe(400);
    expect((await owner.post('/api/projects', { description: 'no name' })).json().error.code).toBe('VALIDATION_FAILED');
  });

  it('requires sign-in', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/projects' });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('UNAUTHENTICATED');
  });
});
