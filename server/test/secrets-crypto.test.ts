// Secrets at rest: AES-256-GCM under per-project data keys wrapped by the master key.
// Plaintext never reaches the database; tampered, moved or foreign ciphertext fails clearly;
// master-key rotation keeps every value (and every issued token).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDataKey, loadDataKey, rotateMasterKey } from '../src/lib/data-keys.js';
import { masterKeyFrom } from '../src/lib/master-key.js';
import { bearer, makeProject, signUp, type TestApp, type UserSession } from './helpers.js';
import { type IssuedKey, issueKey } from './keys-helpers.js';
import { databaseBytes, PersistentDb } from './secrets-helpers.js';

const VALUES = {
  API_SECRET: 'plain-sentinel-7f3a9c1e-do-not-store',
  OTHER: 'second-sentinel-b51d02aa',
  REG_PASSWORD: 'registry-password-sentinel-99e1',
};

describe('encryption at rest', () => {
  let store: PersistentDb;
  let t: TestApp;
  let owner: UserSession;
  let holder: UserSession;
  let key: IssuedKey;
  let A: Awaited<ReturnType<typeof makeProject>>;
  let B: Awaited<ReturnType<typeof makeProject>>;
  const ids: Record<string, number> = {};
  const earlierLogs: string[] = [];
  const M1 = masterKeyFrom(randomBytes(32));

  beforeAll(async () => {
    store = await PersistentDb.create();
    t = await store.open(M1);
    owner = await signUp(t.app, 'Owner');
    holder = await signUp(t.app, 'Holder');
    A = await makeProject(owner, 'A');
    B = await makeProject(owner, 'B');
    for (const [name, value] of [
      ['API_SECRET', VALUES.API_SECRET],
      ['OTHER', VALUES.OTHER],
    ] as const) {
      const res = await owner.post(`/api/projects/${A.projectId}/secrets`, { name, value, node_ids: [A.compute] });
      expect(res.statusCode).toBe(201);
      ids[name] = res.json().id;
    }
    const reg = await owner.post(`/api/projects/${A.projectId}/secrets`, {
      name: 'REG',
      type: 'registry',
      value: { host: 'r.example.test', user: 'bot', password: VALUES.REG_PASSWORD },
    });
    ids.REG = reg.json().id;
    const b = await owner.post(`/api/projects/${B.projectId}/secrets`, {
      name: 'API_SECRET',
      value: 'b-value-sentinel-0c0c',
    });
    ids.B_API_SECRET = b.json().id;
    key = await issueKey(t, owner, holder, { projectId: A.projectId, permissions: { project: ['project_view'] } });
  });
  afterAll(async () => {
    await t?.close();
    await store?.destroy();
  });

  const row = (id: number) =>
    t.app.ctx.k.selectFrom('secrets').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const setEnc = (id: number, value_enc: string) =>
    t.app.ctx.k.updateTable('secrets').set({ value_enc }).where('id', '=', id).execute();
  const reveal = (projectId: number, id: number) => owner.get(`/api/projects/${projectId}/secrets/${id}/value`);

  it('stores no secret value and no token in plaintext (database file and WAL, or every PostgreSQL row)', async () => {
    const bytes = await databaseBytes(t);
    expect(bytes.length).toBeGreaterThan(1000);
    expect(bytes).toContain('API_SECRET'); // the scan sees the data: names are stored in clear
    for (const v of [...Object.values(VALUES), 'b-value-sentinel-0c0c']) expect(bytes).not.toContain(v);
    expect(bytes).not.toContain(key.token.split('.')[2]); // the token's signature
    expect(bytes).not.toContain(key.token);
    // nor in base64 (a value "encoded" instead of encrypted would show up here)
    for (const v of Object.values(VALUES)) {
      expect(bytes).not.toContain(Buffer.from(v).toString('base64').slice(0, 20));
      expect(bytes).not.toContain(Buffer.from(JSON.stringify(v)).toString('base64url').slice(0, 20));
    }
  });

  it('uses a versioned format naming a per-project data key, a fresh nonce per value, and a wrapped data key', async () => {
    const a = await row(ids.API_SECRET as number);
    const b = await row(ids.B_API_SECRET as number);
    const [va, ka, na] = a.value_enc.split('.');
    const [vb, kb, nb] = b.value_enc.split('.');
    expect(va).toBe('v1');
    expect(vb).toBe('v1');
    expect(ka).toMatch(/^dk-[0-9a-f]{12}$/);
    expect(kb).not.toBe(ka); // one data key per project
    expect(Buffer.from(na as string, 'base64url')).toHaveLength(12); // 96-bit nonce
    expect(na).not.toBe(nb);
    // the same value stored twice gives different ciphertexts
    const again = await owner.patch(`/api/projects/${A.projectId}/secrets/${ids.OTHER}`, { value: VALUES.OTHER });
    expect(again.statusCode).toBe(200);
    const before = (await row(ids.OTHER as number)).value_enc;
    await owner.patch(`/api/projects/${A.projectId}/secrets/${ids.OTHER}`, { value: VALUES.OTHER });
    expect((await row(ids.OTHER as number)).value_enc).not.toBe(before);
    const keys = await t.app.ctx.k.selectFrom('project_keys').selectAll().orderBy('project_id').execute();
    expect(keys.map((k) => k.project_id)).toEqual([A.projectId, B.projectId]);
    for (const k of keys) expect(k.wrapped_key.split('.')[1]).toBe(M1.name);
    const dk = await loadDataKey(t.app.ctx.k, t.app.ctx, A.projectId);
    expect(dk?.key).toHaveLength(32);
    expect(keys[0]?.wrapped_key).not.toContain(dk?.key.toString('base64url'));
  });

  it('refuses a tampered ciphertext with a clear error and no plaintext', async () => {
    const original = (await row(ids.API_SECRET as number)).value_enc;
    const parts = original.split('.');
    const ct = Buffer.from(parts[3] as string, 'base64url');
    ct[0] = (ct[0] as number) ^ 0x01;
    const variants = [
      [...parts.slice(0, 3), ct.toString('base64url')].join('.'), // flipped bit
      [...parts.slice(0, 3), (parts[3] as string).slice(0, 10)].join('.'), // truncated
      original.replace(/^v1\./, 'v9.'), // unknown version
      'garbage',
    ];
    try {
      for (const v of variants) {
        await setEnc(ids.API_SECRET as number, v);
        for (const res of [
          await reveal(A.projectId, ids.API_SECRET as number),
          await owner.get(`/api/projects/${A.projectId}/secrets?reveal=1`),
          await owner.get(`/api/projects/${A.projectId}/nodes/${A.compute}/secrets`),
        ]) {
          expect(res.statusCode).toBe(500);
          expect(res.json().error.code).toBe('DECRYPTION_FAILED');
          expect(res.json().error.message).toMatch(/cannot be decrypted/);
          expect(res.body).not.toContain(VALUES.API_SECRET.slice(0, 8));
          expect(res.body).not.toContain(VALUES.OTHER.slice(0, 8));
        }
        // names and grants stay readable
        expect((await owner.get(`/api/projects/${A.projectId}/secrets`)).statusCode).toBe(200);
      }
    } finally {
      await setEnc(ids.API_SECRET as number, original);
    }
    expect((await reveal(A.projectId, ids.API_SECRET as number)).json().value).toBe(VALUES.API_SECRET);
  });

  it('refuses ciphertext moved to another secret or another project', async () => {
    const a = await row(ids.API_SECRET as number);
    const other = await row(ids.OTHER as number);
    const b = await row(ids.B_API_SECRET as number);
    try {
      // same project, another name: the associated data names the secret
      await setEnc(ids.OTHER as number, a.value_enc);
      const moved = await reveal(A.projectId, ids.OTHER as number);
      expect(moved.statusCode).toBe(500);
      expect(moved.json().error.code).toBe('DECRYPTION_FAILED');
      expect(moved.body).not.toContain(VALUES.API_SECRET);
      // another project's row, same secret name
      await setEnc(ids.B_API_SECRET as number, a.value_enc);
      const cross = await reveal(B.projectId, ids.B_API_SECRET as number);
      expect(cross.statusCode).toBe(500);
      expect(cross.json().error.code).toBe('DECRYPTION_FAILED');
      expect(cross.body).not.toContain(VALUES.API_SECRET);
      // ...even with project A's wrapped data key copied along: the wrap is bound to project A
      const keys = await t.app.ctx.k.selectFrom('project_keys').selectAll().orderBy('project_id').execute();
      await t.app.ctx.k
        .updateTable('project_keys')
        .set({ wrapped_key: keys[0]?.wrapped_key as string })
        .where('project_id', '=', B.projectId)
        .execute();
      const both = await reveal(B.projectId, ids.B_API_SECRET as number);
      expect(both.statusCode).toBe(500);
      expect(both.json().error.code).toBe('DECRYPTION_FAILED');
      expect(both.body).not.toContain(VALUES.API_SECRET);
      // a new secret cannot be written under an unreadable data key either (nothing is overwritten)
      const write = await owner.post(`/api/projects/${B.projectId}/secrets`, { name: 'NEW', value: 'x' });
      expect(write.statusCode).toBe(500);
      expect(write.json().error.code).toBe('DECRYPTION_FAILED');
      await t.app.ctx.k
        .updateTable('project_keys')
        .set({ wrapped_key: keys[1]?.wrapped_key as string })
        .where('project_id', '=', B.projectId)
        .execute();
    } finally {
      await setEnc(ids.OTHER as number, other.value_enc);
      await setEnc(ids.B_API_SECRET as number, b.value_enc);
    }
    expect((await reveal(A.projectId, ids.OTHER as number)).json().value).toBe(VALUES.OTHER);
    expect((await reveal(B.projectId, ids.B_API_SECRET as number)).json().value).toBe('b-value-sentinel-0c0c');
  });

  it('refuses a wrong master key clearly', async () => {
    const wrong = { ...t.app.ctx, master: masterKeyFrom(randomBytes(32)) };
    await expect(loadDataKey(t.app.ctx.k, wrong, A.projectId)).rejects.toMatchObject({
      code: 'DECRYPTION_FAILED',
      message: expect.stringMatching(/different master key/),
    });
    await expect(ensureDataKey(t.app.ctx.k, wrong, A.projectId)).rejects.toMatchObject({ code: 'DECRYPTION_FAILED' });
    // the project's key is untouched
    expect((await reveal(A.projectId, ids.API_SECRET as number)).json().value).toBe(VALUES.API_SECRET);
  });

  it('rotates the master key without losing a value, atomically and idempotently', async () => {
    const M2 = masterKeyFrom(randomBytes(32));
    // a damaged data key stops the rotation before anything changes
    const keysBefore = await t.app.ctx.k.selectFrom('project_keys').selectAll().orderBy('project_id').execute();
    const signingBefore = await t.app.ctx.k.selectFrom('signing_keys').selectAll().orderBy('kid').execute();
    expect(signingBefore.length).toBeGreaterThan(0);
    await t.app.ctx.k
      .updateTable('project_keys')
      .set({ wrapped_key: 'v1.nope' })
      .where('project_id', '=', B.projectId)
      .execute();
    await expect(rotateMasterKey(t.app.ctx, M2)).rejects.toMatchObject({
      code: 'DECRYPTION_FAILED',
      message: /nothing was changed/,
    });
    expect(
      (
        await t.app.ctx.k
          .selectFrom('project_keys')
          .selectAll()
          .where('project_id', '=', A.projectId)
          .executeTakeFirstOrThrow()
      ).wrapped_key,
    ).toBe(keysBefore[0]?.wrapped_key);
    await t.app.ctx.k
      .updateTable('project_keys')
      .set({ wrapped_key: keysBefore[1]?.wrapped_key as string })
      .where('project_id', '=', B.projectId)
      .execute();

    const result = await rotateMasterKey(t.app.ctx, M2);
    expect(result).toEqual({ rewrapped: 2, signingKeys: signingBefore.length, skipped: 0 });
    const secretsBefore = await t.app.ctx.k.selectFrom('secrets').select(['id', 'value_enc']).orderBy('id').execute();
    earlierLogs.push(...t.logs);
    await t.close();

    // the old master key no longer opens anything: the server refuses to start with it
    await expect(store.tryBuild(M1)).rejects.toThrow(/sealed with key "mk-[0-9a-f]+", not "mk-[0-9a-f]+"/);

    t = await store.open(M2);
    expect(await t.app.ctx.k.selectFrom('secrets').select(['id', 'value_enc']).orderBy('id').execute()).toEqual(
      secretsBefore,
    );
    const login = async (email: string) => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { email, password: 'correct horse battery' },
      });
      expect(res.statusCode).toBe(200);
      const cookie = res.cookies.find((c) => c.name === 'keyport_session')?.value as string;
      return (url: string) => t.app.inject({ method: 'GET', url, headers: { cookie: `keyport_session=${cookie}` } });
    };
    const get = await login(owner.user.email);
    // issued tokens survive: the signing key was re-sealed, the same token is re-derived and verifies
    const holderGet = await login(holder.user.email);
    expect((await holderGet(`/api/me/api-keys/${key.keyId}/token`)).json().token).toBe(key.token);
    expect((await bearer(t.app, key.token).get('/api/auth/whoami')).json().key_id).toBe(key.keyId);
    expect((await get(`/api/projects/${A.projectId}/secrets/${ids.API_SECRET}/value`)).json().value).toBe(
      VALUES.API_SECRET,
    );
    expect((await get(`/api/projects/${A.projectId}/secrets/${ids.REG}/value`)).json().value).toEqual({
      host: 'r.example.test',
      user: 'bot',
      password: VALUES.REG_PASSWORD,
    });
    expect((await get(`/api/projects/${B.projectId}/secrets/${ids.B_API_SECRET}/value`)).json().value).toBe(
      'b-value-sentinel-0c0c',
    );
    expect((await get(`/api/projects/${A.projectId}/nodes/${A.compute}/secrets`)).json()).toEqual({
      API_SECRET: VALUES.API_SECRET,
      OTHER: VALUES.OTHER,
    });
    // running it again (an interrupted rotation re-run) changes nothing
    expect(await rotateMasterKey(t.app.ctx, M2)).toEqual({
      rewrapped: 0,
      signingKeys: 0,
      skipped: 2 + signingBefore.length,
    });
  });

  it('never logs a secret value', () => {
    const logs = [...earlierLogs, ...t.logs].join('\n');
    expect(logs).toContain('secret value failed authentication'); // the tampering above was logged...
    for (const v of Object.values(VALUES)) expect(logs).not.toContain(v); // ...without the value
  });
});
