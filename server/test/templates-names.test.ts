// Names on templates and their info fields that a key import can always turn into secrets, template
// names unique regardless of letter case (service, unique index, migration of old duplicates), and
// validation answers that say which input broke which bound (a UI words them in its language).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueViolation } from '../src/db/errors.js';
import { templateNameCi } from '../src/db/migrations/017_template_name_ci.js';
import { makeProject, makeTestApp, signUp, snapshot, type TestApp, type UserSession } from './helpers.js';
import { issueKey } from './keys-helpers.js';

let t: TestApp;
let owner: UserSession;
let client: UserSession;
let P: Awaited<ReturnType<typeof makeProject>>;
let C: Awaited<ReturnType<typeof makeProject>>;
let roleId: number;
const base = () => `/api/projects/${P.projectId}`;
let seq = 0;
const newTemplate = async (name = `tpl-${++seq}`) => {
  const res = await owner.post(`${base()}/api-key-templates`, { name, role_id: roleId });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as number;
};

beforeAll(async () => {
  t = await makeTestApp();
  owner = await signUp(t.app, 'Owner');
  client = await signUp(t.app, 'Client');
  P = await makeProject(owner, 'Names');
  C = await makeProject(client, 'Client jobs');
  roleId = (
    await owner.post(`${base()}/roles`, { name: 'key-role', permissions: { project: ['project_view'] } })
  ).json().id;
});
afterAll(() => t.close());

describe('info field names that an import can always use', () => {
  it('refuses "token" in any case, on create and on rename: 400 naming the field, keyword "reserved"', async () => {
    const tpl = await newTemplate();
    const before = await snapshot(t.app);
    for (const name of ['token', 'Token', 'TOKEN']) {
      const res = await owner.post(`${base()}/api-key-templates/${tpl}/fields`, { name });
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'name', keyword: 'reserved' });
      expect(res.json().error.message).toContain(`"${name}"`);
    }
    expect(await snapshot(t.app)).toEqual(before);
    const f = (await owner.post(`${base()}/api-key-templates/${tpl}/fields`, { name: 'endpoint' })).json().id;
    const rename = await owner.patch(`${base()}/api-key-templates/${tpl}/fields/${f}`, { name: 'Token' });
    expect([rename.statusCode, rename.json().error.keyword]).toEqual([400, 'reserved']);
    const tplNow = (await owner.get(`${base()}/api-key-templates/${tpl}`)).json();
    expect(tplNow.fields.map((x: { name: string }) => x.name)).toEqual(['endpoint']);
  });

  it('an import whose names would coincide (a "token" field from before the rule) refuses before writing', async () => {
    const key = await issueKey(t, owner, client, {
      projectId: P.projectId,
      roleId,
      permissions: { project: ['project_view'] },
      fields: [{ name: 'endpoint', value: 'https://x' }],
    });
    // the rule is enforced by the API: an old row gets in only behind its back
    await t.app.ctx.k
      .insertInto('template_fields')
      .values({ template_id: key.templateId, position: 1, name: 'token', description: '', value: 'old' })
      .execute();
    const before = await snapshot(t.app);
    const res = await client.post(`/api/projects/${C.projectId}/secrets/import-api-key`, {
      key_id: key.keyId,
      prefix: 'test',
    });
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json().error).toMatchObject({ code: 'CONFLICT', names: ['test_token'], fields: ['token'] });
    expect(res.json().error.message).toContain('"token"');
    expect(res.json().error.message).not.toMatch(/exists/);
    expect(await snapshot(t.app)).toEqual(before);
    // once renamed, the import goes through with every name distinct
    await t.app.ctx.k
      .updateTable('template_fields')
      .set({ name: 'token_old' })
      .where('template_id', '=', key.templateId)
      .where('name', '=', 'token')
      .execute();
    const ok = await client.post(`/api/projects/${C.projectId}/secrets/import-api-key`, {
      key_id: key.keyId,
      prefix: 'test',
    });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json().items.map((s: { name: string }) => s.name)).toEqual([
      'test_token',
      'test_endpoint',
      'test_token_old',
    ]);
  });
});

describe('validation answers name the input, the rule and its bound', () => {
  it('too long: field, keyword maxLength and the limit, the English message kept', async () => {
    const res = await owner.post(`${base()}/api-key-templates`, { name: 'x'.repeat(101), role_id: roleId });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({
      code: 'VALIDATION_FAILED',
      field: 'name',
      keyword: 'maxLength',
      limit: 100,
    });
    expect(res.json().error.message).toContain('must NOT have more than 100 characters');
    const tpl = await newTemplate();
    const f = (await owner.post(`${base()}/api-key-templates/${tpl}/fields`, { name: 'v' })).json().id;
    const long = await owner.patch(`${base()}/api-key-templates/${tpl}/fields/${f}`, { value: 'v'.repeat(4001) });
    expect(long.json().error).toMatchObject({ field: 'value', keyword: 'maxLength', limit: 4000 });
    const longName = await owner.post(`${base()}/api-key-templates/${tpl}/fields`, { name: 'n'.repeat(65) });
    expect(longName.json().error).toMatchObject({ field: 'name', keyword: 'maxLength', limit: 64 });
  });

  it('pattern, blank names, missing and mistyped properties', async () => {
    const tpl = await newTemplate();
    const bad = await owner.post(`${base()}/api-key-templates/${tpl}/fields`, { name: 'bad-name' });
    expect(bad.json().error).toMatchObject({ code: 'VALIDATION_FAILED', field: 'name', keyword: 'pattern' });
    expect(bad.json().error.limit).toBeUndefined();
    const blank = await owner.patch(`${base()}/api-key-templates/${tpl}`, { name: '   ' });
    expect(blank.json().error).toMatchObject({ field: 'name', keyword: 'pattern' });
    expect(blank.json().error.message).toBe('name must not be blank or contain control characters');
    const missing = await owner.post(`${base()}/api-key-templates`, { name: 'no role' });
    expect(missing.json().error).toMatchObject({ field: 'role_id', keyword: 'required' });
    const typed = await owner.patch(`${base()}/api-key-templates/${tpl}`, { monthly_quota: 'many' });
    expect(typed.json().error).toMatchObject({ field: 'monthly_quota' });
  });

  it('the OpenAPI ErrorResponse documents field, keyword and limit', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
    const props = doc.components.schemas.ErrorResponse.properties.error.properties;
    expect(Object.keys(props)).toEqual(expect.arrayContaining(['code', 'message', 'field', 'keyword', 'limit']));
  });
});

describe('template names are unique in a project regardless of letter case', () => {
  it('create and rename: a case variant is 409 NAME_TAKEN; another project may use it', async () => {
    const a = await newTemplate('Calculator API');
    const before = await snapshot(t.app);
    for (const name of ['calculator api', 'CALCULATOR API', '  Calculator api ']) {
      const res = await owner.post(`${base()}/api-key-templates`, { name, role_id: roleId });
      expect([res.statusCode, res.json().error.code], name).toEqual([409, 'NAME_TAKEN']);
    }
    expect(await snapshot(t.app)).toEqual(before);
    const b = await newTemplate('Other');
    const rename = await owner.patch(`${base()}/api-key-templates/${b}`, { name: 'calculator API' });
    expect([rename.statusCode, rename.json().error.code]).toEqual([409, 'NAME_TAKEN']);
    // renaming to a new spelling of its own name is fine
    expect((await owner.patch(`${base()}/api-key-templates/${a}`, { name: 'calculator api' })).statusCode).toBe(200);
    const Q = await makeProject(owner, 'Elsewhere');
    const role2 = (
      await owner.post(`/api/projects/${Q.projectId}/roles`, { name: 'r', permissions: { project: ['project_view'] } })
    ).json().id;
    expect(
      (await owner.post(`/api/projects/${Q.projectId}/api-key-templates`, { name: 'CALCULATOR API', role_id: role2 }))
        .statusCode,
    ).toBe(201);
  });

  it('the database refuses a case variant too (one unique index, mapped to NAME_TAKEN in one place)', async () => {
    await newTemplate('Index Guarded');
    const now = Date.now();
    const err = await t.app.ctx.k
      .insertInto('api_key_templates')
      .values({
        project_id: P.projectId,
        name: 'INDEX guarded',
        description: '',
        role_id: roleId,
        created_at: now,
        updated_at: now,
      })
      .execute()
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).not.toBeNull();
    expect(uniqueViolation(err)).toEqual({
      code: 'NAME_TAKEN',
      message: 'A key template with this name exists in this project',
    });
  });

  it('concurrent creations differing only in case: one 201, the rest 409 NAME_TAKEN, never 500', async () => {
    const spellings = ['Race Name', 'race name', 'RACE NAME', 'Race name', 'rAce nAme', 'race NAME'];
    const answers = await Promise.all(
      spellings.map((name) => owner.post(`${base()}/api-key-templates`, { name, role_id: roleId })),
    );
    const statuses = answers.map((a) => a.statusCode).sort();
    expect(statuses, answers.map((a) => a.body).join(' | ')).toEqual([201, 409, 409, 409, 409, 409]);
    for (const a of answers.filter((x) => x.statusCode === 409)) expect(a.json().error.code).toBe('NAME_TAKEN');
  });

  it('the migration renames existing case duplicates: the oldest keeps its name, the rest get a number', async () => {
    // biome-ignore lint/suspicious/noExplicitAny: the migration works on the untyped schema
    const k = t.app.ctx.k as any;
    const migration = templateNameCi();
    await migration.down?.(k);
    const Q = await makeProject(owner, 'Old duplicates');
    const role = (
      await owner.post(`/api/projects/${Q.projectId}/roles`, { name: 'r', permissions: { project: ['project_view'] } })
    ).json().id;
    const now = Date.now();
    const long = 'L'.repeat(100);
    const ids: number[] = [];
    for (const name of ['Dup', 'DUP', 'dup', 'dup (2)', long, long.toLowerCase()]) {
      const row = await k
        .insertInto('api_key_templates')
        .values({ project_id: Q.projectId, name, role_id: role, created_at: now, updated_at: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      ids.push(row.id);
    }
    await migration.up(k);
    const names = await k
      .selectFrom('api_key_templates')
      .select(['id', 'name'])
      .where('project_id', '=', Q.projectId)
      .orderBy('id')
      .execute();
    expect(names.map((r: { name: string }) => r.name)).toEqual([
      'Dup',
      'DUP (3)',
      'dup (4)',
      'dup (2)',
      long,
      `${'l'.repeat(96)} (2)`,
    ]);
    // and the index is back
    const again = await owner.post(`/api/projects/${Q.projectId}/api-key-templates`, { name: 'dUp', role_id: role });
    expect([again.statusCode, again.json().error.code]).toEqual([409, 'NAME_TAKEN']);
  });
});
