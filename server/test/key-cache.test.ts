// A verified key stays verified: each instance checks a token's signature once (while it stays in
// the bounded cache); what can change afterwards — revocation, the role's permissions and price,
// the key's end of life — is read live on every request, so role refreshes never cost a signature.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, MutableClock, makeTestApp, signUp, type TestApp, type UserSession } from './helpers.js';
import { issuedKeyStats, issueKey } from './keys-helpers.js';

describe('verified-token cache', () => {
  const clock = new MutableClock(Date.UTC(2026, 11, 1, 12, 0, 0));
  let t: TestApp;
  let owner: UserSession;
  let holder: UserSession;
  let projectId: number;

  beforeAll(async () => {
    t = await makeTestApp({ clock });
    owner = await signUp(t.app, 'Owner');
    holder = await signUp(t.app, 'Holder');
    projectId = ((await owner.post('/api/projects', { name: 'Cache' })).json() as { id: number }).id;
  });
  afterAll(() => t.close());

  async function signatureChecks(): Promise<number> {
    const res = await t.app.inject({ url: '/metrics' });
    const m = /^keyport_key_signature_checks_total (\d+)$/m.exec(res.body);
    expect(m, 'the counter is exported').not.toBeNull();
    return Number(m?.[1]);
  }

  async function cost(keyId: number): Promise<string> {
    await t.app.usage.flush();
    return (await issuedKeyStats(owner, projectId)).byId.get(keyId)?.total_cost ?? '';
  }

  it('checks the signature once; role refreshes and role changes re-read the role, not the token', async () => {
    const k = await issueKey(t, owner, holder, {
      projectId,
      permissions: { project: ['project_view', 'package_view'] },
      price: '0.01',
    });
    const key = bearer(t.app, k.token);
    const before = await signatureChecks();
    expect((await key.get('/api/auth/whoami')).statusCode).toBe(200);
    expect(await signatureChecks()).toBe(before + 1);

    // past the role entry's TTL (5 s) three times: the role is looked up again, the token is not
    for (let i = 0; i < 3; i++) {
      clock.advance(6_000);
      expect((await key.get('/api/auth/whoami')).statusCode).toBe(200);
    }
    expect(await signatureChecks()).toBe(before + 1);

    // a permission removed and the price raised: the next request sees both
    const patched = await owner.patch(`/api/projects/${projectId}/roles/${k.roleId}`, {
      permissions: { project: ['project_view'], nodes: {} },
      price_per_request: '0.10',
    });
    expect(patched.statusCode, patched.body).toBe(200);
    const who = await key.get('/api/auth/whoami');
    expect(who.statusCode).toBe(200);
    expect((who.json() as { permissions: { project: string[] } }).permissions.project).toEqual(['project_view']);
    expect(await cost(k.keyId)).toBe('0.14'); // 4 × 0.01 + 1 × 0.10
    expect(await signatureChecks()).toBe(before + 1);

    // revoked: refused at once, from the cache entry
    expect((await owner.del(`/api/projects/${projectId}/issued-keys/${k.keyId}`)).statusCode).toBe(200);
    expect((await key.get('/api/auth/whoami')).statusCode).toBe(401);
  });

  it('verifies a first-seen key synchronously when its key row and role are in memory', async () => {
    const first = await issueKey(t, owner, holder, { projectId, permissions: { project: ['project_view'] } });
    const second = await issueKey(t, owner, holder, {
      projectId,
      permissions: { project: ['project_view'] },
      roleId: first.roleId,
    });
    const before = await signatureChecks();
    await t.app.keyAuth.authenticate(first.token); // the shared role is now in memory
    const actor = t.app.keyAuth.authenticate(second.token); // not seen before, same role
    expect(typeof (actor as { then?: unknown }).then, 'an answer, not a promise').toBe('undefined');
    expect(actor).toMatchObject({ kind: 'key', keyId: second.keyId, roleId: first.roleId });
    expect(await signatureChecks()).toBe(before + 2);
    // a forged signature on the same (known) header is still refused
    const [h, p] = second.token.split('.');
    const forged = `${h}.${p}.${Buffer.alloc(64, 1).toString('base64url')}`;
    expect((await bearer(t.app, forged).get('/api/auth/whoami')).statusCode).toBe(401);
  });

  it('refuses a cached token once its own expiry passes', async () => {
    const k = await issueKey(t, owner, holder, {
      projectId,
      permissions: { project: ['project_view'] },
      lifetimeDays: 1,
    });
    const key = bearer(t.app, k.token);
    expect((await key.get('/api/auth/whoami')).statusCode).toBe(200);
    clock.advance(24 * 3_600_000 - 60_000);
    expect((await key.get('/api/auth/whoami')).statusCode).toBe(200);
    clock.advance(61_000);
    expect((await key.get('/api/auth/whoami')).statusCode).toBe(401);
  });
});
