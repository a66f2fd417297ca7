// A verified key stays verified: each instance checks a token's signature once (while it stays in
// the bounded cache); what can change afterwards — revocation, the role's permissions and price,
// the key's end of life — is read live on every request, so role refreshes never cost a signature.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyDirectory } from '../src/modules/keys/authenticator.js';
import { bearer, MutableClock, makeTestApp, PG_URL, signUp, type TestApp, type UserSession } from './helpers.js';
import { issuedKeyStats, issueKey } from './keys-helpers.js';

/** First-seen tokens an instance has checked so far, by signature and by digest (its /metrics). */
async function checksOf(t: TestApp): Promise<{ signature: number; digest: number }> {
  const res = await t.app.inject({ url: '/metrics' });
  const read = (name: string) => {
    const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(res.body);
    expect(m, `${name} is exported`).not.toBeNull();
    return Number(m?.[1]);
  };
  return { signature: read('keyport_key_signature_checks_total'), digest: read('keyport_key_digest_checks_total') };
}

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

  const checks = () => checksOf(t);

  /** First-seen tokens checked so far, by signature or by digest. */
  async function tokenChecks(): Promise<number> {
    const c = await checks();
    return c.signature + c.digest;
  }

  async function cost(keyId: number): Promise<string> {
    await t.app.usage.flush();
    return (await issuedKeyStats(owner, projectId)).byId.get(keyId)?.total_cost ?? '';
  }

  it('checks the token once; role refreshes and role changes re-read the role, not the token', async () => {
    const k = await issueKey(t, owner, holder, {
      projectId,
      permissions: { project: ['project_view', 'package_view'] },
      price: '0.01',
    });
    const key = bearer(t.app, k.token);
    const before = await tokenChecks();
    expect((await key.get('/api/auth/whoami')).statusCode).toBe(200);
    expect(await tokenChecks()).toBe(before + 1);

    // past the role entry's TTL (5 s) three times: the role is looked up again, the token is not
    for (let i = 0; i < 3; i++) {
      clock.advance(6_000);
      expect((await key.get('/api/auth/whoami')).statusCode).toBe(200);
    }
    expect(await tokenChecks()).toBe(before + 1);

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
    expect(await tokenChecks()).toBe(before + 1);

    // revoked: refused at once, from the cache entry
    expect((await owner.del(`/api/projects/${projectId}/issued-keys/${k.keyId}`)).statusCode).toBe(200);
    expect((await key.get('/api/auth/whoami')).statusCode).toBe(401);
  });

  it('answers whoami with the text kept for the key and its role, made again when the role changes', async () => {
    const k = await issueKey(t, owner, holder, {
      projectId,
      permissions: { project: ['project_view', 'package_view'] },
    });
    const key = bearer(t.app, k.token);
    // twice each: the first answer may wait for the role, the next is the text kept for the key
    const twice = async () => {
      const a = await key.get('/api/auth/whoami');
      const b = await key.get('/api/auth/whoami');
      expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
      expect(b.body).toBe(a.body);
      expect(b.headers['content-type']).toBe('application/json; charset=utf-8');
      return b.json() as { key_id: number; permissions: { project: string[]; nodes: Record<string, string[]> } };
    };
    expect(await twice()).toMatchObject({
      key_id: k.keyId,
      permissions: { project: ['project_view', 'package_view'], nodes: {} },
    });
    const patched = await owner.patch(`/api/projects/${projectId}/roles/${k.roleId}`, {
      permissions: { project: ['project_view'], nodes: {} },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect((await twice()).permissions).toEqual({ project: ['project_view'], nodes: {} });
  });

  it('verifies a first-seen key synchronously when its key row and role are in memory', async () => {
    const first = await issueKey(t, owner, holder, { projectId, permissions: { project: ['project_view'] } });
    const second = await issueKey(t, owner, holder, {
      projectId,
      permissions: { project: ['project_view'] },
      roleId: first.roleId,
    });
    const before = await tokenChecks();
    await t.app.keyAuth.authenticate(first.token); // the shared role is now in memory
    const actor = t.app.keyAuth.authenticate(second.token); // not seen before, same role
    expect(typeof (actor as { then?: unknown }).then, 'an answer, not a promise').toBe('undefined');
    expect(actor).toMatchObject({ kind: 'key', keyId: second.keyId, roleId: first.roleId });
    expect(await tokenChecks()).toBe(before + 2);
    // a forged signature on the same (known) header is still refused
    const [h, p] = second.token.split('.');
    const forged = `${h}.${p}.${Buffer.alloc(64, 1).toString('base64url')}`;
    expect((await bearer(t.app, forged).get('/api/auth/whoami')).statusCode).toBe(401);
  });

  it('never lets a cached token answer for another text that ends the same way', async () => {
    const k = await issueKey(t, owner, holder, { projectId, permissions: { project: ['project_view'] } });
    const key = bearer(t.app, k.token);
    expect((await key.get('/api/auth/whoami')).statusCode).toBe(200); // cached now
    const [h, p, s] = k.token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    // the cached token's own signature under other claims (another key's id), and under its own
    // claims with a different start of the signature: both end exactly like the cached token
    const otherClaims = Buffer.from(JSON.stringify({ ...claims, jti: `${claims.jti}x` })).toString('base64url');
    const sameEnding = [`${h}.${otherClaims}.${s}`, `${h}.${p}.${'A'.repeat(s.length - 43)}${s.slice(-43)}`];
    const before = await checks();
    for (const forged of sameEnding) {
      expect(forged.endsWith(k.token.slice(-43))).toBe(true);
      expect((await bearer(t.app, forged).get('/api/auth/whoami')).statusCode).toBe(401);
    }
    // each was checked by its signature, and the cached token was not pushed out by them
    expect((await checks()).signature).toBe(before.signature + 2);
    const who = await key.get('/api/auth/whoami');
    expect(who.statusCode).toBe(200);
    expect((who.json() as { key_id: number }).key_id).toBe(k.keyId);
    expect(await checks()).toEqual({ signature: before.signature + 2, digest: before.digest });
  });

  it('recognises the token a key was issued as by its digest; any other text is checked by signature', async () => {
    const k = await issueKey(t, owner, holder, { projectId, permissions: { project: ['project_view'] } });
    const row = await t.app.ctx.k
      .selectFrom('api_keys')
      .select(['kid', 'token_sha256'])
      .where('id', '=', k.keyId)
      .executeTakeFirstOrThrow();
    expect(row.token_sha256, 'the digest of the token the holder received').toBe(
      createHash('sha256').update(k.token).digest('base64url'),
    );
    const before = await checks();
    expect((await bearer(t.app, k.token).get('/api/auth/whoami')).statusCode).toBe(200);
    expect(await checks()).toEqual({ signature: before.signature, digest: before.digest + 1 });

    // the same claims and one more, signed with the server's key: not the token issued, so its
    // signature is what admits it, exactly as for a key without a digest
    const [h, p] = k.token.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    const resigned = await t.app.ctx.signing.signWith(row.kid, { ...claims, scope: 'all' });
    expect((await bearer(t.app, resigned).get('/api/auth/whoami')).statusCode).toBe(200);
    // the issued header and claims under a forged signature: no digest match, no valid signature
    const forged = `${h}.${p}.${Buffer.alloc(64, 9).toString('base64url')}`;
    expect((await bearer(t.app, forged).get('/api/auth/whoami')).statusCode).toBe(401);
    expect(await checks()).toEqual({ signature: before.signature + 2, digest: before.digest + 1 });
  });

  it('checks a key issued before digests were kept by its signature', async () => {
    const k = await issueKey(t, owner, holder, { projectId, permissions: { project: ['project_view'] } });
    await t.app.ctx.k
      .updateTable('api_keys')
      .set({ token_sha256: null, updated_at: clock.now() })
      .where('id', '=', k.keyId)
      .execute();
    await t.app.ctx.events.publish({ type: 'key', keyId: k.keyId });
    const [h, p] = k.token.split('.');
    const forged = `${h}.${p}.${Buffer.alloc(64, 7).toString('base64url')}`;
    const before = await checks();
    expect((await bearer(t.app, forged).get('/api/auth/whoami')).statusCode).toBe(401);
    expect((await bearer(t.app, k.token).get('/api/auth/whoami')).statusCode).toBe(200);
    expect(await checks()).toEqual({ signature: before.signature + 2, digest: before.digest });
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

describe('keys issued before token digests were kept', () => {
  it('get theirs at the next start, in the background, and are then recognised by it', async () => {
    const dataDir = PG_URL ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-digests-'));
    const masterKey = randomBytes(32);
    const first = await makeTestApp({ masterKey, ...(dataDir ? { dataDir } : {}) });
    let second: TestApp | null = null;
    try {
      const o = await signUp(first.app, 'Owner');
      const h = await signUp(first.app, 'Holder');
      const p = ((await o.post('/api/projects', { name: 'Digests' })).json() as { id: number }).id;
      const k = await issueKey(first, o, h, { projectId: p, permissions: { project: ['project_view'] } });
      const digestOf = async (app: TestApp) =>
        (
          await app.app.ctx.k
            .selectFrom('api_keys')
            .select('token_sha256')
            .where('id', '=', k.keyId)
            .executeTakeFirstOrThrow()
        ).token_sha256;
      await first.app.ctx.k.updateTable('api_keys').set({ token_sha256: null }).where('id', '=', k.keyId).execute();

      second = await makeTestApp({
        masterKey,
        ...(first.pgSchema ? { pgSchema: first.pgSchema } : {}),
        ...(dataDir ? { dataDir } : {}),
      });
      const started = Date.now();
      while ((await digestOf(second)) === null && Date.now() - started < 10_000)
        await new Promise((r) => setTimeout(r, 50));
      expect(await digestOf(second), 'the digest of the token the holder has').toBe(
        createHash('sha256').update(k.token).digest('base64url'),
      );
      // the next poll of the key directory reads it: the token is recognised without a signature check
      await (second.app.keyAuth as unknown as KeyDirectory).sync();
      const before = await checksOf(second);
      expect((await bearer(second.app, k.token).get('/api/auth/whoami')).statusCode).toBe(200);
      expect(await checksOf(second)).toEqual({ signature: before.signature, digest: before.digest + 1 });
    } finally {
      await second?.close();
      await first.close();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
