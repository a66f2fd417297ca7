// Audit entries name their object (and a template field by its name), so the log reads
// "template Weather" rather than "template #4", also after the object is renamed or deleted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, makeTestApp, signUp, type TestApp, type UserSession } from './helpers.js';

let t: TestApp;
let owner: UserSession;
let S: Awaited<ReturnType<typeof makeProject>>;

type Entry = { action: string; object_id: number | null; details: Record<string, unknown> };
const entries = async (action: string): Promise<Entry[]> => {
  const res = await owner.get(`/api/projects/${S.projectId}/audit?action=${action}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json().items;
};
const ok = (r: { statusCode: number; body: string }) => {
  if (r.statusCode >= 300) throw new Error(`${r.statusCode} ${r.body}`);
  return r.body ? JSON.parse(r.body) : null;
};

beforeAll(async () => {
  t = await makeTestApp();
  owner = await signUp(t.app, 'Owner');
  S = await makeProject(owner, 'Audited');
});
afterAll(() => t.close());

describe('audit entries carry names', () => {
  it('template updates, field updates and role updates name their object and field', async () => {
    const role = ok(
      await owner.post(`/api/projects/${S.projectId}/roles`, {
        name: 'reader',
        permissions: { project: ['project_view'], nodes: {} },
      }),
    );
    ok(await owner.patch(`/api/projects/${S.projectId}/roles/${role.id}`, { description: 'reads' }));
    const tpl = ok(
      await owner.post(`/api/projects/${S.projectId}/api-key-templates`, { name: 'Weather', role_id: role.id }),
    );
    ok(await owner.patch(`/api/projects/${S.projectId}/api-key-templates/${tpl.id}`, { description: 'forecasts' }));
    const field = ok(
      await owner.post(`/api/projects/${S.projectId}/api-key-templates/${tpl.id}/fields`, {
        name: 'input',
        value: '1',
      }),
    );
    ok(
      await owner.patch(`/api/projects/${S.projectId}/api-key-templates/${tpl.id}/fields/${field.id}`, { value: '2' }),
    );
    ok(await owner.patch(`/api/projects/${S.projectId}/nodes/${S.input}`, { name: 'incoming' }));

    const [updated] = await entries('template.updated');
    expect(updated?.details).toMatchObject({ name: 'Weather', fields: ['description'] });
    const [fieldUpdated] = await entries('template.field_updated');
    expect(fieldUpdated?.details).toMatchObject({ name: 'Weather', field: 'input', field_id: field.id });
    const [roleUpdated] = await entries('role.updated');
    expect(roleUpdated?.details).toMatchObject({ name: 'reader' });
    const [created] = await entries('project.created');
    expect(created?.details).toMatchObject({ name: 'Audited' });

    // the name recorded stays after a rename
    ok(await owner.patch(`/api/projects/${S.projectId}/api-key-templates/${tpl.id}`, { name: 'Climate' }));
    const names = (await entries('template.updated')).map((e) => e.details.name);
    expect(names).toEqual(['Climate', 'Weather']);
  });
});
