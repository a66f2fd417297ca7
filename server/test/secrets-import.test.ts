// Import a received API key with its info fields as secrets, and what a runner gets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeProject, makeTestApp, signUp, snapshot, type TestApp, type UserSession } from './helpers.js';
import { type IssuedKey, issueKey } from './keys-helpers.js';
import { databaseBytes } from './secrets-helpers.js';

let t: TestApp;
let owner: UserSession; // publishes the service project and its key template
let client: UserSession; // receives a key and imports it into their own project
let stranger: UserSession;
let S: Awaited<ReturnType<typeof makeProject>>; // service project
let C: Awaited<ReturnType<typeof makeProject>>; // client's own project
let key: IssuedKey;

const importKey = (who: UserSession, projectId: number, body: Record<string, unknown>) =>
  who.post(`/api/projects/${projectId}/secrets/import-api-key`, body);
const valuesOf = async (who: UserSession, projectId: number) => {
  const list = (await who.get(`/api/projects/${projectId}/secrets?reveal=1&page_size=100`)).json();
  return Object.fromEntries(list.items.map((s: { name: string; value: unknown }) => [s.name, s.value]));
};

beforeAll(async () => {
  t = await makeTestApp();
  owner = await signUp(t.app, 'Owner');
  client = await signUp(t.app, 'Client');
  stranger = await signUp(t.app, 'Stranger');
  S = await makeProject(owner, 'Calculator');
  C = await makeProject(client, 'My jobs');
  key = await issueKey(t, owner, client, {
    projectId: S.projectId,
    permissions: { project: ['project_view'], nodes: { [S.input]: ['package_create'], [S.output]: ['package_view'] } },
    fields: [
      { name: 'project', value: String(S.projectId), description: 'calculator project id' },
      { name: 'input', value: String(S.input), description: 'input node' },
      { name: 'output', value: String(S.output), description: 'output node' },
    ],
  });
});
afterAll(() => t.close());

describe('import an API key as secrets', () => {
  it('creates <prefix>_token and <prefix>_<field> with values and descriptions, in template order', async () => {
    const res = await importKey(client, C.projectId, { key_id: key.keyId, prefix: 'calc' });
    expect(res.statusCode).toBe(201);
    expect(res.body).not.toContain(key.token);
    const items = res.json().items as { name: string; description: string; type: string; node_ids: number[] }[];
    expect(items.map((s) => s.name)).toEqual(['calc_token', 'calc_project', 'calc_input', 'calc_output']);
    expect(items.map((s) => s.description).slice(1)).toEqual(['calculator project id', 'input node', 'output node']);
    expect(items[0]?.description).toContain('Calculator');
    expect(items.every((s) => s.type === 'variable' && s.node_ids.length === 0)).toBe(true);
    expect(await valuesOf(client, C.projectId)).toEqual({
      calc_token: key.token,
      calc_project: String(S.projectId),
      calc_input: String(S.input),
      calc_output: String(S.output),
    });
    // the imported token is the working key
    const who = await bearer(t.app, (await valuesOf(client, C.projectId)).calc_token as string).get('/api/auth/whoami');
    expect(who.statusCode).toBe(200);
    expect(who.json()).toMatchObject({ key_id: key.keyId, project_id: S.projectId, user_id: client.user.id });

    const auditLog = (await client.get(`/api/projects/${C.projectId}/audit?page_size=100`)).json();
    const entry = auditLog.items.find((e: { action: string }) => e.action === 'key.imported');
    expect(entry).toMatchObject({
      object_type: 'api_key',
      object_id: key.keyId,
      actor: { user: { id: client.user.id } },
    });
    expect(entry.details.secrets).toEqual(['calc_token', 'calc_project', 'calc_input', 'calc_output']);
    expect(JSON.stringify(auditLog)).not.toContain(key.token);
  });

  it('a second import with the same prefix answers 409 listing the names and changes nothing', async () => {
    const before = await snapshot(t.app);
    const valuesBefore = await valuesOf(client, C.projectId);
    const afterReveal = await snapshot(t.app); // revealing writes audit entries
    const res = await importKey(client, C.projectId, { key_id: key.keyId, prefix: 'calc' });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('NAME_TAKEN');
    expect(res.json().error.names).toEqual(['calc_token', 'calc_project', 'calc_input', 'calc_output']);
    expect(res.body).not.toContain(key.token);
    expect(await snapshot(t.app)).toEqual(afterReveal);
    expect(afterReveal.secrets).toBe(before.secrets);
    expect(await valuesOf(client, C.projectId)).toEqual(valuesBefore);
  });

  it('one conflicting name blocks the whole import', async () => {
    expect(
      (await client.post(`/api/projects/${C.projectId}/secrets`, { name: 'calc2_input', value: 'mine-sentinel-4d2f' }))
        .statusCode,
    ).toBe(201);
    const before = await snapshot(t.app);
    const res = await importKey(client, C.projectId, { key_id: key.keyId, prefix: 'calc2' });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.names).toEqual(['calc2_input']);
    expect(await snapshot(t.app)).toEqual(before);
    const names = (await client.get(`/api/projects/${C.projectId}/secrets?page_size=100`))
      .json()
      .items.map((s: { name: string }) => s.name);
    expect(names.filter((n: string) => n.startsWith('calc2_'))).toEqual(['calc2_input']);
  });

  it('imports with node grants, and the runner of that node gets the key and fields', async () => {
    const res = await importKey(client, C.projectId, { key_id: key.keyId, prefix: 'svc', node_ids: [C.compute] });
    expect(res.statusCode).toBe(201);
    const env = (await client.get(`/api/projects/${C.projectId}/nodes/${C.compute}/secrets`)).json();
    expect(env).toMatchObject({
      svc_token: key.token,
      svc_project: String(S.projectId),
      svc_input: String(S.input),
      svc_output: String(S.output),
    });
    expect(env).not.toHaveProperty('calc_token'); // not granted to this node
  });

  it('refuses bad imports with clear codes and changes nothing', async () => {
    const strangerProject = await makeProject(stranger, 'Theirs');
    const before = await snapshot(t.app);
    const cases: [
      string,
      Promise<{ statusCode: number; json(): { error?: { code: string } }; body: string }>,
      number,
      string,
    ][] = [
      [
        'bad prefix',
        importKey(client, C.projectId, { key_id: key.keyId, prefix: 'bad-prefix' }),
        400,
        'VALIDATION_FAILED',
      ],
      ['empty prefix', importKey(client, C.projectId, { key_id: key.keyId, prefix: '' }), 400, 'VALIDATION_FAILED'],
      ['no key id', importKey(client, C.projectId, { prefix: 'x' }), 400, 'VALIDATION_FAILED'],
      ['unknown key', importKey(client, C.projectId, { key_id: 999999, prefix: 'x' }), 404, 'NOT_FOUND'],
      // somebody else's key, into their own managed project: it does not exist for them
      [
        'not the holder',
        importKey(stranger, strangerProject.projectId, { key_id: key.keyId, prefix: 'x' }),
        404,
        'NOT_FOUND',
      ],
      ['owner is not the holder', importKey(owner, S.projectId, { key_id: key.keyId, prefix: 'x' }), 404, 'NOT_FOUND'],
      // the holder, into a project they can see but not manage
      ['no project_manage', importKey(client, S.projectId, { key_id: key.keyId, prefix: 'x' }), 403, 'FORBIDDEN'],
      [
        'invisible project',
        importKey(client, strangerProject.projectId, { key_id: key.keyId, prefix: 'x' }),
        404,
        'NOT_FOUND',
      ],
      [
        'foreign node',
        importKey(client, C.projectId, { key_id: key.keyId, prefix: 'x', node_ids: [S.input] }),
        400,
        'INVALID_REFERENCE',
      ],
      // a program holding a key cannot import keys
      [
        'key actor',
        bearer(t.app, key.token).post(`/api/projects/${C.projectId}/secrets/import-api-key`, {
          key_id: key.keyId,
          prefix: 'x',
        }),
        403,
        'FORBIDDEN',
      ],
    ];
    for (const [label, pending, status, code] of cases) {
      const res = await pending;
      expect([label, res.statusCode, res.json().error?.code]).toEqual([label, status, code]);
      expect(res.body).not.toContain(key.token);
    }
    expect(await snapshot(t.app)).toEqual(before);
  });

  it('refuses a revoked key and a template field that would clash with <prefix>_token', async () => {
    // templates refuse a field named "token" now; one from before that rule is written directly
    const clash = await issueKey(t, owner, client, {
      projectId: S.projectId,
      permissions: { project: ['project_view'] },
      fields: [{ name: 'legacy', value: 'x' }],
    });
    await t.app.ctx.k
      .updateTable('template_fields')
      .set({ name: 'token' })
      .where('template_id', '=', clash.templateId)
      .execute();
    let before = await snapshot(t.app);
    const res = await importKey(client, C.projectId, { key_id: clash.keyId, prefix: 'clash' });
    expect([res.statusCode, res.json().error.code]).toEqual([409, 'CONFLICT']);
    expect(res.json().error.message).toMatch(/clash_token twice .*rename that field/);
    expect(await snapshot(t.app)).toEqual(before);

    const revoked = await issueKey(t, owner, client, {
      projectId: S.projectId,
      permissions: { project: ['project_view'] },
    });
    expect((await owner.del(`/api/projects/${S.projectId}/issued-keys/${revoked.keyId}`)).statusCode).toBeLessThan(300);
    before = await snapshot(t.app);
    const r2 = await importKey(client, C.projectId, { key_id: revoked.keyId, prefix: 'gone' });
    expect(r2.statusCode).toBe(409);
    expect(r2.json().error.code).toBe('INVALID_STATE');
    expect(await snapshot(t.app)).toEqual(before);
  });

  it('keeps no secret value and no token in plaintext in the database, and none in the logs', async () => {
    const bytes = await databaseBytes(t);
    expect(bytes).toContain('calc_token'); // names are in clear: the scan sees the data
    const [head, payload, signature] = key.token.split('.') as [string, string, string];
    expect(bytes).not.toContain(key.token);
    expect(bytes).not.toContain(signature);
    expect(bytes).not.toContain(`${head}.${payload}`);
    expect(bytes).not.toContain('mine-sentinel-4d2f'); // calc2_input's value
    const logs = t.logs.join('\n');
    expect(logs).not.toContain(signature);
    expect(logs).not.toContain(key.token);
  });
});
