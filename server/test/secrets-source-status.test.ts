// The Secrets list says when the key a secret was imported from no longer works: revoked,
// expired, or replaced by a roll and past its grace period. Over HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MutableClock, makeProject, makeTestApp, signUp, type TestApp, type UserSession } from './helpers.js';
import { issueKey } from './keys-helpers.js';

const DAY = 86_400_000;
const clock = new MutableClock(Date.UTC(2026, 10, 3, 12, 0, 0));
let t: TestApp;
let owner: UserSession;
let client: UserSession;
let S: Awaited<ReturnType<typeof makeProject>>;
let C: Awaited<ReturnType<typeof makeProject>>;

type Listed = { name: string; source_key_id: number | null; source_key_status: string | null };
const statuses = async () => {
  const res = await client.get(`/api/projects/${C.projectId}/secrets`);
  expect(res.statusCode).toBe(200);
  return Object.fromEntries(
    (res.json().items as Listed[]).map((s) => [s.name, [s.source_key_status, s.source_key_id] as const]),
  );
};
const importAs = async (keyId: number, prefix: string) => {
  const r = await client.post(`/api/projects/${C.projectId}/secrets/import-api-key`, { key_id: keyId, prefix });
  expect(r.statusCode, r.body).toBe(201);
};

beforeAll(async () => {
  t = await makeTestApp({ clock });
  owner = await signUp(t.app, 'Owner');
  client = await signUp(t.app, 'Client');
  S = await makeProject(owner, 'Calculator');
  C = await makeProject(client, 'My jobs');
  const plain = await client.post(`/api/projects/${C.projectId}/secrets`, { name: 'plain', value: 'x' });
  expect(plain.statusCode).toBe(201);
});
afterAll(() => t.close());

describe('source key status of imported secrets', () => {
  it('active, then revoked after the manager revokes the key; plain secrets carry none', async () => {
    const key = await issueKey(t, owner, client, {
      projectId: S.projectId,
      permissions: { project: ['project_view'] },
      fields: [{ name: 'project', value: String(S.projectId) }],
    });
    await importAs(key.keyId, 'calc');
    expect(await statuses()).toMatchObject({
      plain: [null, null],
      calc_token: ['active', key.keyId],
      calc_project: ['active', key.keyId],
    });
    expect((await owner.del(`/api/projects/${S.projectId}/issued-keys/${key.keyId}`)).statusCode).toBeLessThan(300);
    expect(await statuses()).toMatchObject({
      calc_token: ['revoked', key.keyId],
      calc_project: ['revoked', key.keyId],
    });
  });

  it('expired once the key lifetime ends', async () => {
    const key = await issueKey(t, owner, client, {
      projectId: S.projectId,
      permissions: { project: ['project_view'] },
      lifetimeDays: 1,
    });
    await importAs(key.keyId, 'short');
    expect((await statuses()).short_token).toEqual(['active', key.keyId]);
    clock.advance(2 * DAY);
    expect((await statuses()).short_token).toEqual(['expired', key.keyId]);
  });

  it('a roll moves the secrets to the new key; one left on the old key reads rolled after the grace', async () => {
    const key = await issueKey(t, owner, client, {
      projectId: S.projectId,
      permissions: { project: ['project_view'] },
    });
    await importAs(key.keyId, 'rl');
    const rolled = await client.post(`/api/me/api-keys/${key.keyId}/roll`, { grace_seconds: 3600 });
    expect(rolled.statusCode, rolled.body).toBe(200);
    const next = rolled.json().key.id as number;
    expect((await statuses()).rl_token).toEqual(['active', next]);
    // a secret still naming the old key (imported elsewhere before the roll, say)
    await t.app.ctx.k.updateTable('secrets').set({ source_key_id: key.keyId }).where('name', '=', 'rl_token').execute();
    expect((await statuses()).rl_token).toEqual(['active', key.keyId]); // within the grace period
    clock.advance(2 * 3_600_000);
    expect((await statuses()).rl_token).toEqual(['rolled', key.keyId]);
  });
});
