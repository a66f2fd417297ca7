// Key lifecycle events reach a project's webhook, signed, with ids and names only: requested,
// approved, rolled, revoked, rejected, expiring and usage thresholds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, MutableClock, makeProject, makeTestApp, signUp, type TestApp, type UserSession } from './helpers.js';
import { issueKey } from './keys-helpers.js';
import { RECEIVER_ENV, Receiver } from './webhooks-helpers.js';

let t: TestApp;
let rx: Receiver;
let owner: UserSession;
let holder: UserSession;
const clock = new MutableClock(Date.UTC(2026, 10, 2, 8, 0, 0));

beforeAll(async () => {
  t = await makeTestApp({ clock, env: RECEIVER_ENV });
  await t.app.webhooks.stop(); // driven by tick() below
  rx = await new Receiver().start();
  owner = await signUp(t.app, 'Owner');
  holder = await signUp(t.app, 'Holder');
});
afterAll(async () => {
  await rx?.stop();
  await t?.close();
});

describe('key events on webhooks', () => {
  it("a key's life arrives as signed events without any token", async () => {
    const p = await makeProject(owner, 'Hooked');
    const hook = await owner.post(`/api/projects/${p.projectId}/webhooks`, {
      url: `${rx.base}/hook`,
      events: ['key.requested', 'key.approved', 'key.rolled', 'key.revoked', 'key.expiring', 'usage.threshold'],
    });
    expect(hook.statusCode).toBe(201);
    rx.expect('/hook', hook.json().secret);
    const key = await issueKey(t, owner, holder, {
      projectId: p.projectId,
      permissions: { project: ['project_view'] },
      lifetimeDays: 5,
      monthlyQuota: 1,
    });
    expect((await bearer(t.app, key.token).get('/api/auth/whoami')).statusCode).toBe(200); // 100 % of the quota
    await t.app.alerts.drain();
    const rolled = (await holder.post(`/api/me/api-keys/${key.keyId}/roll`, { grace_seconds: 0 })).json();
    expect((await holder.req('DELETE', `/api/me/api-keys/${rolled.key.id}`, {})).statusCode).toBe(200);
    const reminded = await issueKey(t, owner, holder, {
      projectId: p.projectId,
      permissions: { project: ['project_view'] },
      lifetimeDays: 3,
    });
    expect(await t.app.reminders.tick()).toBe(1);
    await t.app.webhooks.tick();

    const got = rx.at('/hook');
    expect(got.every((r) => r.signatureValid)).toBe(true);
    const bodies = got.map((r) => JSON.parse(r.body));
    const types = bodies.map((b) => b.type);
    for (const type of [
      'key.requested',
      'key.approved',
      'usage.threshold',
      'key.rolled',
      'key.revoked',
      'key.expiring',
    ])
      expect(types).toContain(type);
    expect(bodies.find((b) => b.type === 'key.rolled').data).toMatchObject({
      key_id: rolled.key.id,
      rolled_from: key.keyId,
      user_id: holder.user.id,
      by: 'holder',
    });
    expect(bodies.find((b) => b.type === 'key.revoked').data).toMatchObject({ key_id: rolled.key.id, by: 'holder' });
    expect(bodies.find((b) => b.type === 'key.expiring').data).toMatchObject({ key_id: reminded.keyId, within: '7d' });
    const thresholds = bodies
      .filter((b) => b.type === 'usage.threshold')
      .map((b) => `${b.data.metric} ${b.data.percent}`);
    expect(thresholds.sort()).toEqual(['quota 100', 'quota 80']);
    const all = got.map((r) => r.body).join('\n');
    for (const token of [key.token, rolled.token, reminded.token]) expect(all).not.toContain(token);
  });
});
