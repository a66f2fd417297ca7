// Issue 10 — resource limits (OWASP API4 "unrestricted resource consumption", API6 "sensitive
// business flows"): body size, page size, paging abuse, login and sign-up throttling per IP, key
// requests per user, the per-key rate limit (not billed), bounded caches and bounded work for
// unknown signing keys.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha } from './dataplane-helpers.js';
import { MutableClock, makeProject, makeTestApp, signUp, type TestApp, type UserSession } from './helpers.js';
import { issueKey, makeProjectVisible } from './keys-helpers.js';
import { asKey, attackerKey, edSign, keyPermissions, parts, serverKey, snapshot, Tally } from './security-helpers.js';

const tally = new Tally('limits');
let t: TestApp;
let owner: UserSession;
let client: UserSession;
let P: Awaited<ReturnType<typeof makeProject>>;
let token: string;
let keyId: number;

beforeAll(async () => {
  t = await makeTestApp();
  owner = await signUp(t.app, 'Owner');
  client = await signUp(t.app, 'Client');
  P = await makeProject(owner, 'Limits');
  await makeProjectVisible(owner, P.projectId);
  const k = await issueKey(t, owner, client, { projectId: P.projectId, permissions: keyPermissions(P) });
  token = k.token;
  keyId = k.keyId;
});
afterAll(async () => {
  await t?.close();
  tally.report();
});

describe('API4: request size', () => {
  it('bodies above KEYPORT_BODY_LIMIT_BYTES (default 1 MB) get 413 and change nothing', async () => {
    const before = await snapshot(t.app);
    const big = 'x'.repeat(1024 * 1024 + 10);
    tally.rejects(
      '1 MB project description',
      await owner.post('/api/projects', { name: 'big', description: big }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    tally.rejects(
      '1 MB package (key)',
      await asKey(t.app, token)('POST', `/api/projects/${P.projectId}/nodes/${P.input}/packages`, { fields: { big } }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    const signup = await t.app.inject({
      method: 'POST',
      url: '/api/auth/signup',
      remoteAddress: '10.77.0.1',
      payload: { email: 'a@b.test', password: big, name: 'x' },
    });
    tally.rejects('1 MB sign-up (anonymous)', signup, 413, 'PAYLOAD_TOO_LARGE');
    expect(await snapshot(t.app)).toEqual(before);
  });

  it('a configured small limit applies to every JSON route; raw objects have their own limit', async () => {
    const small = await makeTestApp({ env: { KEYPORT_BODY_LIMIT_BYTES: '2048', KEYPORT_MAX_OBJECT_BYTES: '4096' } });
    try {
      const o = await signUp(small.app, 'Small');
      const p = await makeProject(o, 'S');
      const before = await snapshot(small.app);
      const text = 'y'.repeat(3000);
      tally.rejects(
        '3 KB project (2 KB limit)',
        await o.post('/api/projects', { name: 'n', description: text }),
        413,
        'PAYLOAD_TOO_LARGE',
      );
      tally.rejects(
        '3 KB role (2 KB limit)',
        await o.post(`/api/projects/${p.projectId}/roles`, { name: 'r', description: text }),
        413,
        'PAYLOAD_TOO_LARGE',
      );
      tally.rejects(
        '3 KB secret (2 KB limit)',
        await o.post(`/api/projects/${p.projectId}/secrets`, { name: 'S', value: text }),
        413,
        'PAYLOAD_TOO_LARGE',
      );
      // an upload link takes at most KEYPORT_MAX_OBJECT_BYTES
      const bytes = randomBytes(5000);
      const link = (await o.put(`/api/projects/${p.projectId}/objects/${sha(bytes)}`, undefined)).json() as string;
      const u = new URL(link);
      const up = await small.app.inject({
        method: 'PUT',
        url: `${u.pathname}${u.search}`,
        payload: bytes,
        headers: { 'content-type': 'application/octet-stream' },
      });
      tally.rejects('5000-byte object (4096 limit)', up, 413, 'PAYLOAD_TOO_LARGE');
      expect(await snapshot(small.app)).toEqual(before);
      const ok = await o.post('/api/projects', { name: 'fits', description: 'z'.repeat(1000) });
      expect(ok.statusCode).toBe(201);
    } finally {
      await small.close();
    }
  });

  it('malformed, mistyped, prototype-polluting and deeply nested bodies get 4xx, never 500', async () => {
    const before = await snapshot(t.app);
    const send = (payload: string, contentType = 'application/json') =>
      t.app.inject({
        method: 'POST',
        url: '/api/projects',
        headers: { cookie: `keyport_session=${owner.cookie}`, 'x-csrf-token': owner.csrf, 'content-type': contentType },
        payload,
      });
    tally.rejects('truncated JSON', await send('{"name": "x"'), 400, 'MALFORMED_JSON');
    tally.rejects('JSON with trailing garbage', await send('{"name":"x"} junk'), 400, 'MALFORMED_JSON');
    tally.rejects('empty JSON body', await send(''), 400, ['MALFORMED_JSON', 'VALIDATION_FAILED']);
    tally.rejects('array instead of object', await send('[{"name":"x"}]'), 400, 'VALIDATION_FAILED');
    tally.rejects('name as a number', await send('{"name": 42}'), 400, 'VALIDATION_FAILED');
    tally.rejects('name as an object', await send('{"name": {"$gt": ""}}'), 400, 'VALIDATION_FAILED');
    tally.rejects('__proto__ pollution', await send('{"name":"x","__proto__":{"polluted":true}}'), 400, [
      'MALFORMED_JSON',
      'VALIDATION_FAILED',
    ]);
    tally.rejects(
      'constructor.prototype pollution',
      await send('{"name":"x","constructor":{"prototype":{"polluted":true}}}'),
      400,
      ['MALFORMED_JSON', 'VALIDATION_FAILED'],
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    tally.rejects(
      'text/plain body',
      await send('name=x', 'text/plain'),
      [400, 415],
      ['VALIDATION_FAILED', 'UNSUPPORTED_MEDIA_TYPE'],
    );
    tally.rejects(
      'form body',
      await send('name=x', 'application/x-www-form-urlencoded'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    tally.rejects(
      'invalid UTF-8',
      await send(Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]).toString('latin1')),
      400,
      ['MALFORMED_JSON', 'VALIDATION_FAILED'],
    );
    // 50 000 levels of nesting in a package's free-form fields (well under the body limit)
    const depth = 50_000;
    const deep = `{"fields":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/projects/${P.projectId}/nodes/${P.input}/packages`,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: deep,
    });
    tally.rejects('50 000-deep JSON in package fields', res, 400, ['VALIDATION_FAILED', 'MALFORMED_JSON']);
    const deepProject = `{"name":"x","description":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    tally.rejects('50 000-deep array as a string field', await send(deepProject), 400, [
      'VALIDATION_FAILED',
      'MALFORMED_JSON',
    ]);
    expect(await snapshot(t.app)).toEqual(before);
    // NUL characters: PostgreSQL text cannot hold them, environment variables neither
    const key = asKey(t.app, token);
    const pp = `/api/projects/${P.projectId}`;
    tally.rejects(
      'NUL in a package label',
      await key('POST', `${pp}/nodes/${P.input}/packages`, { label: 'a\u0000b' }),
      400,
      'VALIDATION_FAILED',
    );
    tally.rejects(
      'NUL in a package field name',
      await key('POST', `${pp}/nodes/${P.input}/packages`, { fields: { 'k\u0000': 1 } }),
      400,
      'VALIDATION_FAILED',
    );
    tally.rejects(
      'NUL in a search label',
      await key('POST', `${pp}/nodes/${P.input}/packages/search`, { label: '\u0000' }),
      400,
      'VALIDATION_FAILED',
    );
    tally.rejects(
      'NUL in a node name',
      await owner.post(`${pp}/nodes`, { name: 'n\u0000', kind: 'input' }),
      400,
      'VALIDATION_FAILED',
    );
    tally.rejects(
      'NUL in a secret value',
      await owner.post(`${pp}/secrets`, { name: 'NUL', value: 'a\u0000b' }),
      400,
      'VALIDATION_FAILED',
    );
    tally.rejects(
      'escaped backslash then NUL',
      await owner.post(`${pp}/nodes`, { name: 'n\\\u0000', kind: 'input' }),
      400,
      'VALIDATION_FAILED',
    );
    tally.rejects('%00 in a query', await owner.get(`${pp}/nodes?search=a%00b`), 400, 'VALIDATION_FAILED');
    tally.rejects('%00 in a path', await owner.get(`${pp}/secrets/1%00`), 400, 'VALIDATION_FAILED');
    expect(await snapshot(t.app)).toEqual(before);
    // a literal backslash followed by "u0000" is just text
    const literal = await owner.post(`${pp}/nodes`, { name: 'n\\u0000', kind: 'input' });
    expect(literal.statusCode, literal.body).toBe(201);
    expect(literal.json().name).toBe('n\\u0000');
    // controls: 90 levels are fine, and brackets inside strings do not count
    const ok = `{"fields":${'{"a":'.repeat(90)}"{[{[{[${'{'.repeat(500)}\\""${'}'.repeat(90)}}`;
    const accepted = await t.app.inject({
      method: 'POST',
      url: `/api/projects/${P.projectId}/nodes/${P.input}/packages`,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: ok,
    });
    expect(accepted.statusCode, accepted.body).toBe(200);
  });
});

describe('API4: paging', () => {
  it('page_size above 100 is capped at 100 on every list', async () => {
    const now = Date.now();
    const k = t.app.ctx.k;
    await k
      .insertInto('audit_log')
      .values(
        Array.from({ length: 120 }, (_, i) => ({
          project_id: P.projectId,
          actor_user_id: owner.user.id,
          actor_key_id: null,
          action: 'test.filler',
          object_type: 'test',
          object_id: i,
          details: '{}',
          created_at: now,
        })) as never,
      )
      .execute();
    await k
      .insertInto('notifications')
      .values(
        Array.from({ length: 120 }, () => ({
          user_id: client.user.id,
          project_id: P.projectId,
          kind: 'test',
          title: 't',
          body: 'b',
          link: '/',
          created_at: now,
          read_at: null,
        })) as never,
      )
      .execute();
    const layer = (await asKey(t.app, token)('GET', `/api/projects/${P.projectId}/data_layers/last`)).json()
      .id as number;
    await k
      .insertInto('packages')
      .values(
        Array.from({ length: 120 }, () => ({
          project_id: P.projectId,
          node_id: P.input,
          data_layer_id: layer,
          label: 'filler',
          master_id: null,
          parent_ids: '[]',
          fields: '{}',
          created_by_user_id: client.user.id,
          created_by_key_id: null,
          created_at: now,
        })) as never,
      )
      .execute();
    const lists: [string, () => Promise<{ statusCode: number; json(): { total: number; items: unknown[] } }>][] = [
      ['audit', () => owner.get(`/api/projects/${P.projectId}/audit?page_size=1000`)],
      ['notifications', () => client.get('/api/me/notifications?page_size=100000')],
      [
        'package search',
        () =>
          asKey(t.app, token)(
            'POST',
            `/api/projects/${P.projectId}/nodes/${P.input}/packages/search?page_size=5000`,
            {},
          ),
      ],
    ];
    for (const [name, get] of lists) {
      const res = await get();
      expect(res.statusCode, name).toBe(200);
      const body = res.json();
      tally.manual(
        `${name}: page_size capped (${body.items.length} of ${body.total})`,
        body.items.length === 100 && body.total >= 120,
      );
    }
    const ik = (await owner.get(`/api/projects/${P.projectId}/issued-keys?page_size=1000`)).json();
    tally.manual('issued keys: page_size capped', ik.page_size === undefined || ik.page_size <= 100);
  });

  it('hostile paging values get 400, never 500', async () => {
    const hostile = [
      'page=0',
      'page_size=0',
      'page_size=-5',
      'page=abc',
      'page_size=1.5',
      'page=-1',
      'page=1e20',
      'page=1e300',
      'page=1e400',
      'page=9007199254740993',
    ];
    for (const q of hostile) {
      for (const url of [
        `/api/projects/${P.projectId}/audit?${q}`,
        `/api/projects?${q}`,
        `/api/projects/${P.projectId}/issued-keys?${q}`,
      ]) {
        tally.rejects(`paging ${q} @ ${url}`, await owner.get(url), 400, 'VALIDATION_FAILED');
      }
      tally.rejects(
        `paging ${q} @ notifications`,
        await client.get(`/api/me/notifications?${q}`),
        400,
        'VALIDATION_FAILED',
      );
      const search = await asKey(t.app, token)(
        'POST',
        `/api/projects/${P.projectId}/nodes/${P.input}/packages/search?${q}`,
        {},
      );
      tally.rejects(`paging ${q} @ package search`, search, 400, 'VALIDATION_FAILED');
    }
    // absurd page sizes are capped, not an error
    for (const q of ['page_size=1e400', 'page_size=99999999999999999999999']) {
      const res = await owner.get(`/api/projects/${P.projectId}/audit?${q}`);
      expect(res.statusCode, q).toBe(200);
      expect(res.json().items.length).toBeLessThanOrEqual(100);
    }
  });
});

describe('API6: throttling of sensitive flows', () => {
  it('login is throttled per IP: 429 with Retry-After, even for the right password or a spoofed X-Forwarded-For', async () => {
    const ip = '10.66.0.1';
    // each wrong password on another (unknown) email: the per-account slow-down stays out of the way
    let n = 0;
    const login = (password: string, extra: Record<string, string> = {}, remoteAddress = ip) =>
      t.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        remoteAddress,
        headers: extra,
        payload: { email: password === 'guess' ? `guess-${++n}@example.test` : owner.user.email, password },
      });
    for (let i = 0; i < 10; i++)
      tally.rejects(`wrong password #${i + 1}`, await login('guess'), 401, 'INVALID_CREDENTIALS');
    const limited = await login('guess');
    tally.rejects('11th login in a minute', limited, 429, 'RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    tally.rejects('right password while throttled', await login('correct horse battery'), 429, 'RATE_LIMITED');
    tally.rejects(
      'spoofed X-Forwarded-For',
      await login('guess', { 'x-forwarded-for': '203.0.113.9' }),
      429,
      'RATE_LIMITED',
    );
    tally.rejects('spoofed X-Real-IP', await login('guess', { 'x-real-ip': '203.0.113.10' }), 429, 'RATE_LIMITED');
    // another address is not affected
    const other = await login('correct horse battery', {}, '10.66.0.2');
    expect(other.statusCode).toBe(200);
  });

  it('sign-up is throttled per IP', async () => {
    const ip = '10.66.1.1';
    let last = 0;
    for (let i = 0; i < 11; i++) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/auth/signup',
        remoteAddress: ip,
        payload: { email: `flood${i}-${randomBytes(3).toString('hex')}@example.test`, password: 'x', name: 'F' },
      });
      last = res.statusCode;
      if (i < 10)
        expect(res.statusCode).toBe(400); // password too short: cheap, still counted
      else tally.rejects('11th sign-up in a minute', res, 429, 'RATE_LIMITED');
    }
    expect(last).toBe(429);
  });

  it("key requests are throttled per user, across all of the user's sessions", async () => {
    const tpl = (
      await owner.post(`/api/projects/${P.projectId}/api-key-templates`, {
        name: 'flood',
        role_id: (
          await owner.get(`/api/projects/${P.projectId}/roles`)
        )
          .json()
          .find((r: { is_owner: boolean }) => !r.is_owner).id,
      })
    ).json().id;
    const flooder = await signUp(t.app, 'Flooder');
    const login = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      remoteAddress: '10.66.2.1',
      payload: { email: flooder.user.email, password: 'correct horse battery' },
    });
    expect(login.statusCode).toBe(200);
    const second = {
      cookie: login.cookies.find((c) => c.name === 'keyport_session')?.value as string,
      csrf: login.json().csrf_token as string,
    };
    const url = `/api/projects/${P.projectId}/api-key-templates/${tpl}/requests`;
    const post = (s: { cookie: string; csrf: string }) =>
      t.app.inject({
        method: 'POST',
        url,
        headers: { cookie: `keyport_session=${s.cookie}`, 'x-csrf-token': s.csrf },
        payload: {},
      });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await post(i % 2 ? second : flooder)).statusCode);
    expect(statuses[0]).toBe(201);
    expect(statuses.slice(1).every((s) => s === 409)).toBe(true);
    const before = await snapshot(t.app);
    const limited = await post(second);
    tally.rejects('21st key request in a minute (second session)', limited, 429, 'RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    tally.rejects('22nd key request (first session)', await post(flooder), 429, 'RATE_LIMITED');
    expect(await snapshot(t.app)).toEqual(before);
    // other users are not affected
    const other = await signUp(t.app, 'Calm');
    expect((await other.post(url)).statusCode).toBe(201);
  });
});

describe('API4: per-key rate limit (KEYPORT_KEY_RATE_LIMIT)', () => {
  it('is off by default', async () => {
    expect(t.app.ctx.config.keyRateLimitPerMinute).toBe(0);
    for (let i = 0; i < 30; i++) expect((await asKey(t.app, token)('GET', '/api/auth/whoami')).statusCode).toBe(200);
  });

  it('throttles each key separately with 429 + Retry-After; throttled requests are not billed', async () => {
    const clock = new MutableClock(Date.now());
    const rl = await makeTestApp({ clock, env: { KEYPORT_KEY_RATE_LIMIT: '6' } });
    try {
      const o = await signUp(rl.app, 'RlOwner');
      const h1 = await signUp(rl.app, 'RlH1');
      const h2 = await signUp(rl.app, 'RlH2');
      const p = await makeProject(o, 'RL');
      await makeProjectVisible(o, p.projectId);
      const k1 = await issueKey(rl, o, h1, { projectId: p.projectId, permissions: keyPermissions(p), price: '0.5' });
      const k2 = await issueKey(rl, o, h2, {
        projectId: p.projectId,
        permissions: keyPermissions(p),
        roleId: k1.roleId,
      });
      const usage = (rl.app as unknown as { usage: { stats: { billed: number; unbilled: number } } }).usage;
      const billed0 = usage.stats.billed;
      const unbilled0 = usage.stats.unbilled;
      const get = (tk: string, url = '/api/auth/whoami') => asKey(rl.app, tk)('GET', url);
      for (let i = 0; i < 6; i++)
        expect(
          (await get(k1.token, i % 2 ? '/api/auth/whoami' : `/api/projects/${p.projectId}/data_layers`)).statusCode,
        ).toBe(200);
      const before = await snapshot(rl.app);
      const limited = await get(k1.token);
      tally.rejects('7th request of a key limited to 6/min', limited, 429, 'RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBe(10);
      tally.rejects(
        'limited key, state change',
        await asKey(rl.app, k1.token)('POST', `/api/projects/${p.projectId}/nodes/${p.input}/packages`, { label: 'x' }),
        429,
        'RATE_LIMITED',
      );
      expect(await snapshot(rl.app)).toEqual(before);
      // another key and people are not affected
      expect((await get(k2.token)).statusCode).toBe(200);
      expect((await o.get(`/api/projects/${p.projectId}`)).statusCode).toBe(200);
      // billing: 6 + 1 billed, the 2 throttled ones not
      expect(usage.stats.billed - billed0).toBe(7);
      expect(usage.stats.unbilled - unbilled0).toBe(2);
      // the bucket refills at 6/min: one request every 10 s
      clock.advance(10_000);
      expect((await get(k1.token)).statusCode).toBe(200);
      tally.rejects('right after the refilled one', await get(k1.token), 429, 'RATE_LIMITED');
      clock.advance(60_000);
      for (let i = 0; i < 6; i++) expect((await get(k1.token)).statusCode).toBe(200);
      tally.rejects('burst above the limit again', await get(k1.token), 429, 'RATE_LIMITED');
      // the usage statistics the owner sees agree: throttled requests cost nothing
      await (rl.app as unknown as { usage: { flush: () => Promise<void> } }).usage.flush();
      const keys = (await o.get(`/api/projects/${p.projectId}/issued-keys?status=all`)).json() as {
        items: { id: number; requests: number; total_cost: string }[];
      };
      const mine = keys.items.find((x) => x.id === k1.keyId);
      // 6 + 1 + 6 answered (the refilled one included), 4 throttled
      expect(mine?.requests).toBe(13);
      expect(Number(mine?.total_cost)).toBe(6.5);
    } finally {
      await rl.close();
    }
  });
});

describe('API4: bounded caches and bounded work', () => {
  it('the verified-token cache never exceeds KEYPORT_CACHE_MAX_KEYS; refused tokens are never cached', async () => {
    const small = await makeTestApp({ env: { KEYPORT_CACHE_MAX_KEYS: '5' } });
    try {
      const o = await signUp(small.app, 'CacheOwner');
      const h = await signUp(small.app, 'CacheHolder');
      const p = await makeProject(o, 'Cache');
      await makeProjectVisible(o, p.projectId);
      const k = await issueKey(small, o, h, { projectId: p.projectId, permissions: keyPermissions(p) });
      const stats = () => (small.app.keyAuth as unknown as { stats: { cachedTokens: number; liveKeys: number } }).stats;
      const claims = parts(k.token).claims;
      const kid = String(parts(k.token).header.kid);
      let max = 0;
      for (let i = 0; i < 40; i++) {
        // distinct, valid tokens of the same key (an extra claim changes the bytes, not the meaning)
        const tk = await small.app.ctx.signing.signWith(kid, { ...claims, n: i });
        expect((await asKey(small.app, tk)('GET', '/api/auth/whoami')).statusCode).toBe(200);
        max = Math.max(max, stats().cachedTokens);
      }
      tally.manual(`token cache bounded: max ${max} entries for 40 distinct tokens (limit 5)`, max <= 5 && max > 0);
      const cached = stats().cachedTokens;
      const forger = attackerKey().privateKey;
      for (let i = 0; i < 40; i++) {
        const res = await asKey(small.app, edSign(forger, { alg: 'EdDSA', typ: 'JWT', kid }, { ...claims, n: i }))(
          'GET',
          '/api/auth/whoami',
        );
        tally.rejects(`forged token #${i} (cache probe)`, res, 401, 'INVALID_KEY');
      }
      tally.manual('forged tokens are not cached', stats().cachedTokens === cached);
    } finally {
      await small.close();
    }
  });

  it('unknown kids cost at most one key-set reload per second, not one per request', async () => {
    const signing = t.app.ctx.signing as unknown as { refresh: () => Promise<void> };
    const original = signing.refresh.bind(signing);
    let reloads = 0;
    signing.refresh = async () => {
      reloads += 1;
      return original();
    };
    try {
      const { key: sk } = serverKey(t.app);
      const claims = parts(token).claims;
      const started = Date.now();
      for (let i = 0; i < 50; i++) {
        const res = await asKey(
          t.app,
          edSign(sk, { alg: 'EdDSA', typ: 'JWT', kid: `ed-${randomBytes(9).toString('base64url')}` }, claims),
        )('GET', '/api/auth/whoami');
        tally.rejects(`unknown kid #${i}`, res, 401, 'INVALID_KEY');
      }
      const seconds = (Date.now() - started) / 1000;
      tally.manual(
        `${reloads} key-set reloads for 50 unknown kids in ${seconds.toFixed(1)} s`,
        reloads <= Math.ceil(seconds) + 1,
      );
    } finally {
      signing.refresh = original;
    }
    expect(keyId).toBeGreaterThan(0);
  });
});
