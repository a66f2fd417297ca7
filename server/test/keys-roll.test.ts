// Keys after approval: roll with a grace period (holder and manager), secrets that follow the key,
// the lineage's shared quota, My keys, self-revoke, the holder's usage series, renewal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkImportedSecrets } from '../src/db/migrations/012_key_lineage.js';
import {
  addMember,
  bearer,
  MutableClock,
  makeProject,
  makeTestApp,
  signUp,
  snapshot,
  type TestApp,
  type UserSession,
} from './helpers.js';
import { type IssuedKey, issueKey } from './keys-helpers.js';

const DAY = 86_400_000;
let t: TestApp;
let clock: MutableClock;
let owner: UserSession;
let holder: UserSession;
let stranger: UserSession;
let S: Awaited<ReturnType<typeof makeProject>>; // the service project offering keys
let H: Awaited<ReturnType<typeof makeProject>>; // the holder's own project, where keys are imported

const json = (r: { statusCode: number; body: string }, status = 200) => {
  if (r.statusCode !== status) throw new Error(`expected ${status}, got ${r.statusCode}: ${r.body}`);
  return JSON.parse(r.body);
};
const whoamiStatus = async (token: string) => (await bearer(t.app, token).get('/api/auth/whoami')).statusCode;
const myKey = async (id: number) =>
  (json(await holder.get('/api/me/api-keys')) as { id: number }[]).find((k) => k.id === id) as Record<string, unknown>;
/** Imports the key as secrets `<prefix>_…` into the holder's project, granted to its compute node. */
const importIntoMyJobs = async (key: IssuedKey, prefix: string) =>
  json(
    await holder.post(`/api/projects/${H.projectId}/secrets/import-api-key`, {
      key_id: key.keyId,
      prefix,
      node_ids: [H.compute],
    }),
    201,
  );
/** The runner's view of the holder's node: what a job gets as environment. */
const runnerView = async () => json(await holder.get(`/api/projects/${H.projectId}/nodes/${H.compute}/secrets`));

async function freshKey(o: { lifetimeDays?: number; monthlyQuota?: number } = {}): Promise<IssuedKey> {
  return issueKey(t, owner, holder, {
    projectId: S.projectId,
    permissions: { project: ['project_view'] },
    fields: [{ name: 'project', value: String(S.projectId), description: 'service project' }],
    ...o,
  });
}

beforeAll(async () => {
  clock = new MutableClock(Date.UTC(2026, 10, 3, 12, 0, 0));
  t = await makeTestApp({ clock });
  owner = await signUp(t.app, 'Owner');
  holder = await signUp(t.app, 'Holder');
  stranger = await signUp(t.app, 'Stranger');
  S = await makeProject(owner, 'Calculator');
  H = await makeProject(holder, 'My jobs');
});
afterAll(() => t.close());

describe('roll by the holder', () => {
  it('answers the new key and token; the old one works until the grace ends, then 401; secrets follow', async () => {
    const key = await freshKey();
    await importIntoMyJobs(key, 'calc');
    expect((await runnerView()).calc_token).toBe(key.token);

    const rolled = json(await holder.post(`/api/me/api-keys/${key.keyId}/roll`, { grace_seconds: 3600 }));
    expect(rolled.key.id).not.toBe(key.keyId);
    expect(rolled.key.rolled_from).toBe(key.keyId);
    expect(rolled.previous).toEqual({ id: key.keyId, expires_at: new Date(clock.now() + 3_600_000).toISOString() });
    expect(rolled.updated_secrets).toEqual([{ project_id: H.projectId, name: 'calc_token' }]);
    expect(rolled.token).not.toBe(key.token);

    // the imported secret holds the new token, the info field is untouched
    const env = await runnerView();
    expect(env.calc_token).toBe(rolled.token);
    expect(env.calc_project).toBe(String(S.projectId));
    // a rewrite is audited where the secret lives, without the value
    const audit = json(await holder.get(`/api/projects/${H.projectId}/audit?page_size=100`));
    const entry = audit.items.find(
      (e: { action: string; details: { cause?: string } }) => e.action === 'secret.updated' && e.details.cause,
    );
    expect(entry.details).toMatchObject({ name: 'calc_token', cause: 'key.rolled', key_id: rolled.key.id });
    expect(JSON.stringify(audit)).not.toContain(rolled.token);

    const who = json(await bearer(t.app, rolled.token).get('/api/auth/whoami'));
    expect(who.key_id).toBe(rolled.key.id);
    expect(await whoamiStatus(key.token)).toBe(200);
    clock.advance(3_600_000 - 1000);
    expect(await whoamiStatus(key.token)).toBe(200);
    clock.advance(1000);
    expect(await whoamiStatus(key.token)).toBe(401);
    expect(await whoamiStatus(rolled.token)).toBe(200);

    // lineage in My keys and in Issued keys
    const old = await myKey(key.keyId);
    expect(old).toMatchObject({ rolled_to: rolled.key.id, status: 'expired', active: false });
    const issued = json(await owner.get(`/api/projects/${S.projectId}/issued-keys?status=all`));
    const row = issued.items.find((k: { id: number }) => k.id === rolled.key.id);
    expect(row).toMatchObject({ rolled_from: key.keyId, rolled_to: null, status: 'active' });
    expect(issued.items.find((k: { id: number }) => k.id === key.keyId)).toMatchObject({
      rolled_to: rolled.key.id,
      status: 'expired',
    });
    // the holder's token copy of the new key is the one the roll answered
    expect(json(await holder.get(`/api/me/api-keys/${rolled.key.id}/token`)).token).toBe(rolled.token);
    // My keys says where the key is imported now
    expect((await myKey(rolled.key.id)).imported).toEqual([
      { project: { id: H.projectId, name: 'My jobs' }, secrets: ['calc_project', 'calc_token'], node_ids: [H.compute] },
    ]);
  });

  it("grace 0 ends the old key at once; the default grace is 24 h; never past the old key's expiry", async () => {
    const a = await freshKey();
    const now0 = clock.now();
    const r0 = json(await holder.post(`/api/me/api-keys/${a.keyId}/roll`, { grace_seconds: 0 }));
    expect(r0.previous.expires_at).toBe(new Date(now0).toISOString());
    expect(await whoamiStatus(a.token)).toBe(401);
    expect(await whoamiStatus(r0.token)).toBe(200);

    const b = await freshKey();
    const rb = json(await holder.post(`/api/me/api-keys/${b.keyId}/roll`));
    expect(Date.parse(rb.previous.expires_at) - clock.now()).toBe(DAY);

    const c = await freshKey({ lifetimeDays: 2 });
    const cEnds = (await myKey(c.keyId)).expires_at as string;
    const rc = json(await holder.post(`/api/me/api-keys/${c.keyId}/roll`, { grace_seconds: 30 * 86_400 }));
    expect(rc.previous.expires_at).toBe(cEnds);
    // rolling rotates the key; it does not extend its life (renewal does, with approval)
    expect(rc.key.expires_at).toBe(cEnds);
  });

  it('refuses bad grace, foreign, revoked, expired and already rolled keys with nothing changed', async () => {
    const key = await freshKey({ lifetimeDays: 1 });
    const other = await makeProject(stranger, 'Other');
    const before = await snapshot(t.app);
    for (const g of [-1, 2_592_001, 1.5, 'a day'])
      expect((await holder.post(`/api/me/api-keys/${key.keyId}/roll`, { grace_seconds: g })).statusCode).toBe(400);
    expect((await stranger.post(`/api/me/api-keys/${key.keyId}/roll`, {})).statusCode).toBe(404);
    expect((await holder.post('/api/me/api-keys/999999/roll', {})).statusCode).toBe(404);
    // another project's manager cannot roll it from theirs
    expect((await stranger.post(`/api/projects/${other.projectId}/issued-keys/${key.keyId}/roll`, {})).statusCode).toBe(
      404,
    );
    expect(await snapshot(t.app)).toEqual(before);

    const rolled = json(await holder.post(`/api/me/api-keys/${key.keyId}/roll`, { grace_seconds: 60 }));
    const again = await holder.post(`/api/me/api-keys/${key.keyId}/roll`, {});
    expect(again.statusCode).toBe(409);
    expect(again.json().error).toMatchObject({ code: 'KEY_ROLLED', rolled_to: rolled.key.id });

    json(await holder.del(`/api/me/api-keys/${rolled.key.id}`));
    expect((await holder.post(`/api/me/api-keys/${rolled.key.id}/roll`, {})).json().error.code).toBe('KEY_REVOKED');

    const short = await freshKey({ lifetimeDays: 1 });
    clock.advance(DAY + 1);
    expect((await holder.post(`/api/me/api-keys/${short.keyId}/roll`, {})).json().error.code).toBe('KEY_EXPIRED');
  });

  it('two concurrent rolls of one key: one wins, the other 409, one live successor', async () => {
    const key = await freshKey();
    const answers = await Promise.all([
      holder.post(`/api/me/api-keys/${key.keyId}/roll`, {}),
      holder.post(`/api/me/api-keys/${key.keyId}/roll`, {}),
      owner.post(`/api/projects/${S.projectId}/issued-keys/${key.keyId}/roll`, {}),
    ]);
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 409, 409]);
    const successors = await t.app.ctx.k
      .selectFrom('api_keys')
      .select('id')
      .where('rolled_from', '=', key.keyId)
      .execute();
    expect(successors).toHaveLength(1);
  });
});

describe('roll by a manager', () => {
  it("answers without a token, tells the holder, and rewrites the holder's secrets", async () => {
    const key = await freshKey();
    await importIntoMyJobs(key, 'mgr');
    const res = await owner.post(`/api/projects/${S.projectId}/issued-keys/${key.keyId}/roll`, { grace_seconds: 60 });
    const body = json(res);
    expect(body.token).toBeUndefined();
    expect(res.body).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/);
    expect(body.updated_secrets).toEqual([{ project_id: H.projectId, name: 'mgr_token' }]);
    const newToken = json(await holder.get(`/api/me/api-keys/${body.key.id}/token`)).token;
    expect((await runnerView()).mgr_token).toBe(newToken);
    const notices = json(await holder.get('/api/me/notifications'));
    expect(JSON.stringify(notices)).toContain('key.rolled');
    // a plain member of the service project may not roll
    const member = await signUp(t.app, 'Member');
    const viewer = json(
      await owner.post(`/api/projects/${S.projectId}/roles`, {
        name: 'viewer',
        permissions: { project: ['project_view'] },
      }),
      201,
    );
    await addMember(owner, S.projectId, member, [viewer.id]);
    expect((await member.post(`/api/projects/${S.projectId}/issued-keys/${body.key.id}/roll`, {})).statusCode).toBe(
      403,
    );
  });
});

describe('quota across the lineage', () => {
  it('rolling never resets the monthly quota', async () => {
    const key = await freshKey({ monthlyQuota: 3 });
    expect(await whoamiStatus(key.token)).toBe(200);
    expect(await whoamiStatus(key.token)).toBe(200);
    const rolled = json(await holder.post(`/api/me/api-keys/${key.keyId}/roll`, { grace_seconds: 0 }));
    expect(await whoamiStatus(rolled.token)).toBe(200);
    const over = await bearer(t.app, rolled.token).get('/api/auth/whoami');
    expect(over.statusCode).toBe(429);
    expect(over.json().error.code).toBe('QUOTA_EXCEEDED');
    await t.app.usage.flush();
  });
});

describe('self-service', () => {
  it('the holder revokes their own key; managers are told; anyone else 404', async () => {
    const key = await freshKey();
    expect((await stranger.del(`/api/me/api-keys/${key.keyId}`)).statusCode).toBe(404);
    expect(await whoamiStatus(key.token)).toBe(200);
    const res = json(await holder.req('DELETE', `/api/me/api-keys/${key.keyId}`, { reason: 'leaked in a log' }));
    expect(res.id).toBe(key.keyId);
    expect(await whoamiStatus(key.token)).toBe(401);
    expect((await myKey(key.keyId)).status).toBe('revoked');
    const notices = json(await owner.get('/api/me/notifications'));
    expect(JSON.stringify(notices)).toContain('leaked in a log');
  });

  it("the holder reads their key's usage series; anyone else 404", async () => {
    const key = await freshKey();
    for (let i = 0; i < 3; i++) expect(await whoamiStatus(key.token)).toBe(200);
    await t.app.usage.flush();
    const mine = json(await holder.get(`/api/me/api-keys/${key.keyId}/usage?granularity=hour`));
    const owners = json(
      await owner.get(`/api/projects/${S.projectId}/issued-keys/${key.keyId}/usage?granularity=hour`),
    );
    expect(mine).toEqual(owners);
    expect((await stranger.get(`/api/me/api-keys/${key.keyId}/usage`)).statusCode).toBe(404);
    expect((await owner.get(`/api/me/api-keys/${key.keyId}/usage`)).statusCode).toBe(404);
  });
});

describe('renewal', () => {
  it('files a request linked to the key; approval rolls it: secrets rewritten, old key keeps its expiry', async () => {
    const key = await freshKey({ lifetimeDays: 10 });
    await importIntoMyJobs(key, 'ren');
    const oldEnds = (await myKey(key.keyId)).expires_at as string;
    clock.advance(5 * DAY);
    const request = json(await holder.post(`/api/me/api-keys/${key.keyId}/renew`), 201);
    expect(request).toMatchObject({ renews_key_id: key.keyId, status: 'pending' });
    expect((await myKey(key.keyId)).renewal_request_id).toBe(request.id);
    expect((await holder.post(`/api/me/api-keys/${key.keyId}/renew`)).json().error.code).toBe('REQUEST_PENDING');

    const approved = json(await owner.post(`/api/projects/${S.projectId}/api-key-requests/${request.id}/approve`));
    expect(approved.id).not.toBe(key.keyId);
    expect(Date.parse(approved.expires_at)).toBe(clock.now() + 10 * DAY);
    const old = await myKey(key.keyId);
    expect(old).toMatchObject({ rolled_to: approved.id, expires_at: oldEnds, status: 'expiring' });
    const token = json(await holder.get(`/api/me/api-keys/${approved.id}/token`)).token;
    expect((await runnerView()).ren_token).toBe(token);
    expect(await whoamiStatus(key.token)).toBe(200);
    expect(await whoamiStatus(token)).toBe(200);
    // the replaced key cannot be renewed again
    expect((await holder.post(`/api/me/api-keys/${key.keyId}/renew`)).json().error.code).toBe('KEY_ROLLED');
  });

  it('a key that never expires has nothing to renew; a foreign key is not found', async () => {
    const key = await freshKey();
    expect((await holder.post(`/api/me/api-keys/${key.keyId}/renew`)).json().error.code).toBe('INVALID_STATE');
    expect((await stranger.post(`/api/me/api-keys/${key.keyId}/renew`)).statusCode).toBe(404);
  });
});

describe('secrets imported before keys remembered their source', () => {
  it('the migration links them from the import audit entries; renamed ones stay unlinked', async () => {
    const key = await freshKey();
    json(
      await holder.post(`/api/projects/${H.projectId}/secrets/import-api-key`, { key_id: key.keyId, prefix: 'old' }),
      201,
    );
    const k = t.app.ctx.k;
    // as before the migration: no source recorded; one secret renamed by hand since
    await k
      .updateTable('secrets')
      .set({ source_key_id: null, source_field: null })
      .where('name', 'like', 'old_%')
      .execute();
    await k.updateTable('secrets').set({ name: 'renamed_project' }).where('name', '=', 'old_project').execute();
    await linkImportedSecrets(k);
    const rows = await k
      .selectFrom('secrets')
      .select(['name', 'source_key_id', 'source_field'])
      .where('project_id', '=', H.projectId)
      .where((eb) => eb.or([eb('name', 'like', 'old_%'), eb('name', '=', 'renamed_project')]))
      .orderBy('name')
      .execute();
    expect(rows).toEqual([
      { name: 'old_token', source_key_id: key.keyId, source_field: null },
      { name: 'renamed_project', source_key_id: null, source_field: null },
    ]);
    // and a roll now rewrites the linked token secret
    const rolled = json(await holder.post(`/api/me/api-keys/${key.keyId}/roll`, { grace_seconds: 0 }));
    expect(rolled.updated_secrets).toEqual([{ project_id: H.projectId, name: 'old_token' }]);
  });
});
