// Secrets API: CRUD, validation, who sees values, reveal audit, runner view.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, makeProject, makeTestApp, signUp, snapshot, type TestApp, type UserSession } from './helpers.js';

let t: TestApp;
let owner: UserSession;
let viewer: UserSession;
let runner: UserSession;
let reader: UserSession;
let stranger: UserSession;
let P: Awaited<ReturnType<typeof makeProject>>;
let foreign: Awaited<ReturnType<typeof makeProject>>;
const base = () => `/api/projects/${P.projectId}/secrets`;

async function grantRole(projectId: number, user: UserSession, name: string, permissions: object) {
  const role = await owner.post(`/api/projects/${projectId}/roles`, { name, permissions });
  expect(role.statusCode).toBe(201);
  await addMember(owner, projectId, user, [role.json().id]);
}

beforeAll(async () => {
  t = await makeTestApp();
  owner = await signUp(t.app, 'Owner');
  viewer = await signUp(t.app, 'Viewer');
  runner = await signUp(t.app, 'Runner');
  reader = await signUp(t.app, 'Reader');
  stranger = await signUp(t.app, 'Stranger');
  P = await makeProject(owner, 'Secrets');
  foreign = await makeProject(stranger, 'Foreign');
  await grantRole(P.projectId, viewer, 'viewer', { project: ['project_view'] });
  await grantRole(P.projectId, runner, 'runner', { project: ['project_view'], nodes: { [P.compute]: ['code_edit'] } });
  await grantRole(P.projectId, reader, 'code-reader', { project: ['project_view', 'code_view'] });
});
afterAll(() => t.close());

describe('secrets CRUD', () => {
  it('creates variable and registry secrets and lists them without values', async () => {
    const v = await owner.post(base(), {
      name: 'DB_PASSWORD',
      description: 'database',
      value: 'hunter2-very-secret',
      node_ids: [P.compute, P.input, P.compute],
    });
    expect(v.statusCode).toBe(201);
    expect(v.json()).toMatchObject({
      name: 'DB_PASSWORD',
      description: 'database',
      type: 'variable',
      node_ids: [P.input, P.compute],
    });
    expect(v.json()).not.toHaveProperty('value');
    expect(v.body).not.toContain('hunter2');

    const r = await owner.post(base(), {
      name: 'registry_main',
      type: 'registry',
      value: { host: 'registry.example.test', user: 'bot', password: 'reg-pass-42' },
      node_ids: [P.compute],
    });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toMatchObject({ type: 'registry', node_ids: [P.compute] });
    expect(r.body).not.toContain('reg-pass-42');

    const list = await owner.get(base());
    expect(list.statusCode).toBe(200);
    expect(list.json().total).toBe(2);
    expect(list.json().items.map((s: { name: string }) => s.name)).toEqual(['DB_PASSWORD', 'registry_main']);
    expect(list.body).not.toContain('hunter2');
    expect(list.body).not.toContain('reg-pass-42');

    const one = await owner.get(`${base()}/${v.json().id}`);
    expect(one.json()).toMatchObject({ id: v.json().id, name: 'DB_PASSWORD' });
    expect(one.body).not.toContain('hunter2');
  });

  it('reveals values to project managers only, and audits every reveal', async () => {
    const list = (await owner.get(`${base()}?reveal=1`)).json();
    const byName = Object.fromEntries(list.items.map((s: { name: string; value: unknown }) => [s.name, s.value]));
    expect(byName).toEqual({
      DB_PASSWORD: 'hunter2-very-secret',
      registry_main: { host: 'registry.example.test', user: 'bot', password: 'reg-pass-42' },
    });
    const id = list.items[0].id;
    const one = await owner.get(`${base()}/${id}/value`);
    expect(one.statusCode).toBe(200);
    expect(one.headers['cache-control']).toBe('no-store');
    expect(one.json()).toEqual({ id, name: 'DB_PASSWORD', value: 'hunter2-very-secret' });

    const auditLog = (await owner.get(`/api/projects/${P.projectId}/audit?page_size=100`)).json();
    const reveals = auditLog.items.filter((e: { action: string }) => e.action === 'secret.revealed');
    expect(reveals).toHaveLength(3);
    expect(reveals[0]).toMatchObject({ object_type: 'secret', object_id: id, actor: { user: { id: owner.user.id } } });
    expect(JSON.stringify(auditLog)).not.toContain('hunter2');
    expect(JSON.stringify(auditLog)).not.toContain('reg-pass-42');
  });

  it('members without project_manage see names, descriptions, types and grants, never values', async () => {
    for (const member of [viewer, runner]) {
      const list = await member.get(base());
      expect(list.statusCode).toBe(200);
      expect(list.json().items).toHaveLength(2);
      expect(list.json().items[0]).toMatchObject({ name: 'DB_PASSWORD', description: 'database', type: 'variable' });
      expect(list.json().items[0]).not.toHaveProperty('value');
      expect(list.body).not.toContain('hunter2');
      const before = await snapshot(t.app);
      const reveal = await member.get(`${base()}?reveal=1`);
      expect(reveal.statusCode).toBe(403);
      expect(reveal.json().error.code).toBe('FORBIDDEN');
      expect(reveal.body).not.toContain('hunter2');
      const id = list.json().items[0].id;
      expect((await member.get(`${base()}/${id}/value`)).statusCode).toBe(403);
      expect((await member.post(base(), { name: 'X', value: 'x' })).statusCode).toBe(403);
      expect((await member.patch(`${base()}/${id}`, { value: 'x' })).statusCode).toBe(403);
      expect((await member.del(`${base()}/${id}`)).statusCode).toBe(403);
      expect(await snapshot(t.app)).toEqual(before);
    }
    // not a member at all: the project does not exist for them
    expect((await stranger.get(base())).statusCode).toBe(404);
    expect((await stranger.get(`/api/projects/${P.projectId}/nodes/${P.compute}/secrets`)).statusCode).toBe(404);
    // no credentials
    expect((await t.app.inject({ method: 'GET', url: base() })).statusCode).toBe(401);
  });

  it('refuses bad input with clear codes and changes nothing', async () => {
    const before = await snapshot(t.app);
    const existing = (await owner.get(base())).json().items[0];
    const cases: [string, Record<string, unknown>, number, string][] = [
      ['duplicate name', { name: 'DB_PASSWORD', value: 'x' }, 409, 'NAME_TAKEN'],
      ['bad name', { name: 'has-dash', value: 'x' }, 400, 'VALIDATION_FAILED'],
      ['space in name', { name: 'A B', value: 'x' }, 400, 'VALIDATION_FAILED'],
      ['empty name', { name: '', value: 'x' }, 400, 'VALIDATION_FAILED'],
      ['long name', { name: 'A'.repeat(200), value: 'x' }, 400, 'VALIDATION_FAILED'],
      ['no value', { name: 'NOVALUE' }, 400, 'VALIDATION_FAILED'],
      ['number value', { name: 'NUM', value: 42 }, 400, 'VALIDATION_FAILED'],
      ['bad type', { name: 'T', type: 'file', value: 'x' }, 400, 'VALIDATION_FAILED'],
      ['registry as string', { name: 'R', type: 'registry', value: 'x' }, 400, 'VALIDATION_FAILED'],
      ['variable as object', { name: 'R', value: { host: 'h', user: 'u', password: 'p' } }, 400, 'VALIDATION_FAILED'],
      [
        'registry without host',
        { name: 'R', type: 'registry', value: { user: 'u', password: 'p' } },
        400,
        'VALIDATION_FAILED',
      ],
      ['foreign node', { name: 'F', value: 'x', node_ids: [foreign.input] }, 400, 'INVALID_REFERENCE'],
      ['unknown node', { name: 'F', value: 'x', node_ids: [999999] }, 400, 'INVALID_REFERENCE'],
      ['bad node id', { name: 'F', value: 'x', node_ids: ['abc'] }, 400, 'VALIDATION_FAILED'],
      ['huge value', { name: 'H', value: 'x'.repeat(70_000) }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [label, body, status, code] of cases) {
      const res = await owner.post(base(), body);
      expect([label, res.statusCode, res.json().error?.code]).toEqual([label, status, code]);
    }
    const dup = await owner.post(base(), { name: 'DB_PASSWORD', value: 'x' });
    expect(dup.json().error.names).toEqual(['DB_PASSWORD']);

    const url = `${base()}/${existing.id}`;
    const patches: [string, Record<string, unknown>, number, string][] = [
      ['rename onto other', { name: 'registry_main' }, 409, 'NAME_TAKEN'],
      ['bad rename', { name: 'bad name' }, 400, 'VALIDATION_FAILED'],
      ['type without value', { type: 'registry' }, 400, 'VALIDATION_FAILED'],
      ['value of wrong type', { value: { host: 'h', user: 'u', password: 'p' } }, 400, 'VALIDATION_FAILED'],
      ['foreign node', { node_ids: [foreign.output] }, 400, 'INVALID_REFERENCE'],
    ];
    for (const [label, body, status, code] of patches) {
      const res = await owner.patch(url, body);
      expect([label, res.statusCode, res.json().error?.code]).toEqual([label, status, code]);
    }
    // another project's secret id through this project: not found
    const f = await stranger.post(`/api/projects/${foreign.projectId}/secrets`, {
      name: 'THEIRS',
      value: 'their-value',
    });
    expect(f.statusCode).toBe(201);
    const afterForeign = await snapshot(t.app);
    for (const res of [
      await owner.get(`${base()}/${f.json().id}`),
      await owner.get(`${base()}/${f.json().id}/value`),
      await owner.patch(`${base()}/${f.json().id}`, { value: 'pwned' }),
      await owner.del(`${base()}/${f.json().id}`),
    ]) {
      expect(res.statusCode).toBe(404);
      expect(res.body).not.toContain('their-value');
    }
    expect(await snapshot(t.app)).toEqual(afterForeign);
    expect(afterForeign.secrets).toBe((before.secrets ?? 0) + 1);
    expect((await stranger.get(`/api/projects/${foreign.projectId}/secrets/${f.json().id}/value`)).json().value).toBe(
      'their-value',
    );
  });

  it('updates name, description, value, type and grants; renaming keeps the value', async () => {
    const created = (await owner.post(base(), { name: 'TMP', value: 'first-value', description: 'd1' })).json();
    const url = `${base()}/${created.id}`;
    const renamed = await owner.patch(url, { name: 'TMP_RENAMED', description: 'd2', node_ids: [P.output] });
    expect(renamed.statusCode).toBe(200);
    expect(renamed.json()).toMatchObject({ name: 'TMP_RENAMED', description: 'd2', node_ids: [P.output] });
    expect((await owner.get(`${url}/value`)).json().value).toBe('first-value');
    expect((await owner.patch(url, { value: 'second-value' })).statusCode).toBe(200);
    expect((await owner.get(`${url}/value`)).json().value).toBe('second-value');
    const reg = await owner.patch(url, { type: 'registry', value: { host: 'r.test', user: 'u', password: 'p' } });
    expect(reg.json().type).toBe('registry');
    expect((await owner.get(`${url}/value`)).json().value).toEqual({ host: 'r.test', user: 'u', password: 'p' });
    expect((await owner.patch(url, {})).json().name).toBe('TMP_RENAMED');
    expect((await owner.del(url)).statusCode).toBe(204);
    expect((await owner.get(url)).statusCode).toBe(404);
    expect((await owner.del(url)).statusCode).toBe(404);
    const actions = (await owner.get(`/api/projects/${P.projectId}/audit?page_size=100`))
      .json()
      .items.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['secret.created', 'secret.updated', 'secret.deleted']));
  });

  it('concurrent writes: one data key per project, one winner per name', async () => {
    const fresh = await makeProject(owner, 'Concurrent');
    const url = `/api/projects/${fresh.projectId}/secrets`;
    const distinct = await Promise.all(
      Array.from({ length: 8 }, (_, i) => owner.post(url, { name: `C_${i}`, value: `v${i}` })),
    );
    expect(distinct.map((r) => r.statusCode)).toEqual(Array(8).fill(201));
    const same = await Promise.all(
      Array.from({ length: 6 }, (_, i) => owner.post(url, { name: 'SAME', value: `s${i}` })),
    );
    expect(same.map((r) => r.statusCode).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    for (const r of same.filter((x) => x.statusCode === 409)) expect(r.json().error.code).toBe('NAME_TAKEN');
    const keys = await t.app.ctx.k
      .selectFrom('project_keys')
      .selectAll()
      .where('project_id', '=', fresh.projectId)
      .execute();
    expect(keys).toHaveLength(1);
    const revealed = (await owner.get(`${url}?reveal=1&page_size=100`)).json().items;
    expect(revealed).toHaveLength(9);
    expect(
      revealed
        .filter((x: { name: string }) => x.name.startsWith('C_'))
        .map((x: { value: string }) => x.value)
        .sort(),
    ).toEqual(Array.from({ length: 8 }, (_, i) => `v${i}`));
  });

  it('pages the list', async () => {
    const page = (await owner.get(`${base()}?page=2&page_size=1`)).json();
    expect(page.total).toBe(2);
    expect(page.items.map((s: { name: string }) => s.name)).toEqual(['registry_main']);
  });
});

describe('runner view', () => {
  it('gives name -> value of the secrets granted to the node, to code_edit holders only, audited', async () => {
    const url = `/api/projects/${P.projectId}/nodes/${P.compute}/secrets`;
    const res = await runner.get(url);
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toEqual({
      DB_PASSWORD: 'hunter2-very-secret',
      registry_main: JSON.stringify({ host: 'registry.example.test', user: 'bot', password: 'reg-pass-42' }),
    });
    expect((await owner.get(`/api/projects/${P.projectId}/nodes/${P.input}/secrets`)).json()).toEqual({
      DB_PASSWORD: 'hunter2-very-secret',
    });
    expect((await owner.get(`/api/projects/${P.projectId}/nodes/${P.output}/secrets`)).json()).toEqual({});
    // code_edit on compute only
    const other = await runner.get(`/api/projects/${P.projectId}/nodes/${P.input}/secrets`);
    expect(other.statusCode).toBe(403);
    expect(other.body).not.toContain('hunter2');
    expect((await viewer.get(url)).statusCode).toBe(403);
    // reading code (project-wide code_view) does not yield plaintext credentials
    const codeReader = await reader.get(url);
    expect([codeReader.statusCode, codeReader.json().error.code]).toEqual([403, 'FORBIDDEN']);
    expect(codeReader.body).not.toContain('hunter2');
    // every runner read is audited: who, which node, which names (never the values)
    const entries = (await owner.get(`/api/projects/${P.projectId}/audit?page_size=100`)).json().items as {
      action: string;
      object_id: number;
      actor: { user: { id: number } | null };
      details: { names: string[] };
    }[];
    const read = entries.find((e) => e.action === 'secret.runner_read' && e.actor.user?.id === runner.user.id);
    expect(read).toMatchObject({ object_id: P.compute, details: { names: ['DB_PASSWORD', 'registry_main'] } });
    expect(JSON.stringify(entries)).not.toContain('hunter2');
    expect((await owner.get(`/api/projects/${P.projectId}/nodes/${foreign.input}/secrets`)).statusCode).toBe(404);
  });

  it('follows grant changes and node deletion', async () => {
    const list = (await owner.get(base())).json().items;
    const db = list.find((s: { name: string }) => s.name === 'DB_PASSWORD');
    await owner.patch(`${base()}/${db.id}`, { node_ids: [P.input] });
    const url = `/api/projects/${P.projectId}/nodes/${P.compute}/secrets`;
    expect(Object.keys((await runner.get(url)).json())).toEqual(['registry_main']);
    await owner.patch(`${base()}/${db.id}`, { node_ids: [P.input, P.compute] });
    const node = (await owner.post(`/api/projects/${P.projectId}/nodes`, { name: 'temp', kind: 'compute' })).json();
    await owner.patch(`${base()}/${db.id}`, { node_ids: [P.input, P.compute, node.id] });
    expect((await owner.del(`/api/projects/${P.projectId}/nodes/${node.id}`)).statusCode).toBe(204);
    expect((await owner.get(`${base()}/${db.id}`)).json().node_ids).toEqual([P.input, P.compute]);
  });

  it('never writes a secret value into the logs', () => {
    const logs = t.logs.join('\n');
    for (const v of ['hunter2-very-secret', 'reg-pass-42', 'first-value', 'second-value', 'their-value']) {
      expect(logs).not.toContain(v);
    }
  });
});
