// In-process figures (run by run.ts as `node --expose-gc --import tsx memory.ts`; prints one JSON line):
// heap growth per issued key (the key directory holds every live key) and per cached key (the
// verified-token LRU), measured on 100,000 keys; and the CPU cost of one verification, by digest
// (keys as issued now) and by signature (keys issued before token digests were kept).
import { importJWK, jwtVerify } from 'jose';
import { KeyDirectory } from '../server/src/modules/keys/authenticator.js';
import { insertKeys, openApp, prepare } from './lib/setup.js';

const N = Number(process.env.BENCH_MEMORY_KEYS ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function heap(): number {
  for (let i = 0; i < 3; i++) gc?.();
  return process.memoryUsage().heapUsed;
}

const fixture = await prepare('sqlite', { coldRuns: 0, coldKeys: 0, packages: 0 });
// a TTL longer than the run and room for every key: nothing expires or is evicted while measuring
const env = { ...fixture.env, KEYPORT_CACHE_TTL_SECONDS: '3600', KEYPORT_CACHE_MAX_KEYS: String(N * 2) };
const opened = await openApp(env, fixture.dataDir);
try {
  const { ctx } = opened;
  const row = await ctx.k.selectFrom('api_keys').selectAll().where('id', '=', fixture.keyId).executeTakeFirstOrThrow();
  const template = {
    project_id: row.project_id,
    template_id: row.template_id,
    role_id: row.role_id,
    user_id: row.user_id,
    request_id: row.request_id,
    monthly_quota: row.monthly_quota,
    template_spend_cap_micros: row.template_spend_cap_micros === null ? null : Number(row.template_spend_cap_micros),
  };
  const t0 = performance.now();
  const tokens = await insertKeys(ctx, template, N, true);
  const issueMs = performance.now() - t0;

  // 1. the key directory with N more live keys
  const h0 = heap();
  const dir = new KeyDirectory(ctx);
  await dir.start();
  const h1 = heap();
  if (dir.stats.liveKeys < N) throw new Error(`directory holds ${dir.stats.liveKeys} keys, expected ≥ ${N}`);

  // 2. every token verified once (cold) → N cached entries. Each token as the auth hook hands it
  // over: a slice of its own Authorization header string, which the cache then keeps alive, so
  // the heap figure includes the token's text.
  const asReceived = (t: string) => Buffer.from(`Bearer ${t}`).toString('latin1').slice(7);
  const t1 = performance.now();
  for (const t of tokens) await dir.authenticate(asReceived(t));
  const coldUs = ((performance.now() - t1) * 1000) / N;
  const h2 = heap();
  if (dir.stats.cachedTokens < N) throw new Error(`cache holds ${dir.stats.cachedTokens} tokens, expected ≥ ${N}`);
  if (dir.stats.digestChecks < N) throw new Error(`${dir.stats.digestChecks} digest checks, expected ≥ ${N}`);

  // 2b. keys without a digest (issued before digests were kept), picked up by the directory's poll:
  // each first-seen token checked by its Ed25519 signature
  const legacy = await insertKeys(ctx, template, 10_000, false);
  await dir.sync();
  const checks0 = dir.stats.signatureChecks;
  const t5 = performance.now();
  for (const t of legacy) await dir.authenticate(asReceived(t));
  const coldSignatureUs = ((performance.now() - t5) * 1000) / legacy.length;
  if (dir.stats.signatureChecks - checks0 !== legacy.length) throw new Error('expected one signature check per key');

  // 3. warm hits (a Map lookup by the token's tail, a compare of its whole text + field checks), each
  // on a string of its own, as every request brings one (its hash is not computed yet); the copies
  // are made outside the timing
  const one = tokens[0] as string;
  const batch = 10_000;
  let warmMs = 0;
  for (let round = 0; round < 100; round++) {
    const copies = Array.from({ length: batch }, () => asReceived(one));
    const t2 = performance.now();
    for (const c of copies) dir.authenticate(c);
    warmMs += performance.now() - t2;
  }
  const warmUs = (warmMs * 1000) / (100 * batch);

  // 4. the signature check alone: node:crypto Ed25519 (ours) and jose.jwtVerify (the naive stack's)
  const sample = tokens.slice(0, 10_000);
  const parts = sample.map((t) => {
    const [h, p, s] = t.split('.') as [string, string, string];
    return {
      kid: JSON.parse(Buffer.from(h, 'base64url').toString()).kid as string,
      input: Buffer.from(`${h}.${p}`),
      sig: Buffer.from(s, 'base64url'),
    };
  });
  const t3 = performance.now();
  for (const x of parts) if (!ctx.signing.verify(x.kid, x.input, x.sig)) throw new Error('verify failed');
  const verifyUs = ((performance.now() - t3) * 1000) / parts.length;
  const jwk = ctx.signing.jwks().keys[0] as unknown as Parameters<typeof importJWK>[0];
  const pub = await importJWK(jwk, 'EdDSA');
  const t4 = performance.now();
  for (const t of sample) await jwtVerify(t, pub, { algorithms: ['EdDSA'] });
  const joseUs = ((performance.now() - t4) * 1000) / sample.length;
  dir.stop();

  process.stdout.write(
    `${JSON.stringify({
      keys: N,
      issueMs,
      perIssuedKeyBytes: (h1 - h0) / N,
      perCachedKeyBytes: (h2 - h1) / N,
      coldAuthenticateUs: coldUs,
      coldSignatureAuthenticateUs: coldSignatureUs,
      warmAuthenticateUs: warmUs,
      ed25519VerifyUs: verifyUs,
      joseVerifyUs: joseUs,
    })}\n`,
  );
} finally {
  await opened.close();
  await fixture.cleanup();
}
