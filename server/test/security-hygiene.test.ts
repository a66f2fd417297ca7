// Issue 10 — output hygiene: no stack trace, SQL or internal path in any error response; no token,
// password, secret value, session cookie or signed-URL signature in the logs of a full lifecycle
// (captured at trace level); CORS closed by default; security headers on the UI.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raw, sha, upload } from './dataplane-helpers.js';
import { addMember, bearer, makeProject, signUp, type TestApp, UserSession } from './helpers.js';
import { issueKey } from './keys-helpers.js';
import { b64, keyPermissions, makeUiApp, parts, snapshot, Tally } from './security-helpers.js';

const tally = new Tally('hygiene');
const INTERNAL = JSON.stringify({ error: { code: 'INTERNAL', message: 'Internal error' } });
const LEAKS =
  /\bat .+\(.+:\d+:\d+\)|\bat async\b|node_modules|\/src\/|\/work\/|\.ts:\d+|SELECT |INSERT |UPDATE |DELETE FROM|sqlite|postgres|relation "|no such table|stack/i;

let t: TestApp;
beforeAll(async () => {
  // trace level: the most the app ever logs
  t = await makeUiApp({ KEYPORT_PUBLIC_URL: 'https://keyport.example' }, 'trace');
});
afterAll(async () => {
  await t?.close();
  tally.report();
});

describe('errors reveal nothing internal', () => {
  it('a database failure inside a route answers a bare 500 INTERNAL, writes nothing half-way, logs no stack or SQL', async () => {
    const app = await makeUiApp();
    try {
      const owner = await signUp(app.app, 'Owner');
      const p = await makeProject(owner, 'Broken');
      await sql`DROP TABLE audit_log`.execute(app.app.ctx.k);
      const logStart = app.logs.length;
      const before = await snapshot(app.app, { without: 'audit_log' });
      const cases: [string, () => Promise<{ statusCode: number; body: string; headers: Record<string, unknown> }>][] = [
        ['read of a dropped table', () => owner.get(`/api/projects/${p.projectId}/audit`)],
        [
          'write whose audit row fails',
          () => owner.post(`/api/projects/${p.projectId}/nodes`, { name: 'n', kind: 'input' }),
        ],
        ['role write whose audit row fails', () => owner.post(`/api/projects/${p.projectId}/roles`, { name: 'r' })],
        [
          'secret write whose audit row fails',
          () => owner.post(`/api/projects/${p.projectId}/secrets`, { name: 'S', value: 'never-stored-value' }),
        ],
      ];
      for (const [label, run] of cases) {
        const res = await run();
        tally.rejects(label, res, 500, 'INTERNAL');
        expect(res.body).toBe(INTERNAL);
        expect(res.body).not.toMatch(LEAKS);
      }
      expect(await snapshot(app.app, { without: 'audit_log' })).toEqual(before);
      const logged = app.logs.slice(logStart).join('');
      expect(logged).toContain('unhandled error');
      expect(logged).not.toMatch(/\n\s+at |"stack"/);
      expect(logged).not.toMatch(/select |insert into|update "|delete from/i);
      expect(logged).not.toContain('never-stored-value');
    } finally {
      await app.close();
    }
  });

  it('4xx answers do not echo secret values, SQL or paths', async () => {
    const owner = await signUp(t.app, 'Echo');
    const p = await makeProject(owner, 'Echo');
    const secret = 'S3cr3t-value-that-must-not-echo';
    const cases: [string, () => ReturnType<UserSession['get']>, number][] = [
      [
        'bad secret name',
        () => owner.post(`/api/projects/${p.projectId}/secrets`, { name: `bad name ${secret}`, value: secret }),
        400,
      ],
      [
        'secret value of the wrong type',
        () => owner.post(`/api/projects/${p.projectId}/secrets`, { name: 'OK', value: [secret] }),
        400,
      ],
      [
        'registry value missing fields',
        () =>
          owner.post(`/api/projects/${p.projectId}/secrets`, {
            name: 'REG',
            type: 'registry',
            value: { password: secret },
          }),
        400,
      ],
      ['SQL in a path id', () => owner.get(`/api/projects/${p.projectId}%20OR%201=1/secrets`), 400],
      [
        'SQL in a search',
        () =>
          owner.get(
            `/api/projects/${p.projectId}/nodes?search=${encodeURIComponent("' OR 1=1; DROP TABLE nodes; --")}`,
          ),
        200,
      ],
      ['unknown route with a secret in the query', () => owner.get(`/api/nowhere?password=${secret}`), 404],
      [
        'malformed JSON containing the secret',
        () =>
          t.app.inject({
            method: 'POST',
            url: '/api/auth/login',
            headers: { 'content-type': 'application/json' },
            payload: `{"email":"a@b.c","password":"${secret}"`,
          }),
        400,
      ],
      [
        'wrong password',
        () =>
          t.app.inject({
            method: 'POST',
            url: '/api/auth/login',
            remoteAddress: '10.1.2.3',
            payload: { email: owner.user.email, password: secret },
          }),
        401,
      ],
    ];
    for (const [label, run, status] of cases) {
      const res = await run();
      if (status === 200) expect(res.statusCode, label).toBe(200);
      else tally.rejects(label, res, status);
      expect(res.body, label).not.toContain(secret);
      expect(res.body, label).not.toMatch(LEAKS);
    }
    // path traversal against the static UI and the object store reads no file outside them
    for (const url of [
      '/../../../../etc/passwd',
      '/..%2f..%2f..%2f..%2fetc%2fpasswd',
      '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
      '/app.js/..%2f..%2f..%2fpackage.json',
      '/api/objects/..%2f..%2fetc%2fpasswd',
      '/api/objects/%2e%2e%2fmaster.key',
    ]) {
      const res = await t.app.inject({ method: 'GET', url });
      tally.manual(
        `traversal ${url}: ${res.statusCode}, no file content`,
        res.statusCode < 500 &&
          !/root:|"dependencies"|BEGIN|^[A-Za-z0-9+/]{43}=$/m.test(res.body) &&
          (res.statusCode !== 200 || res.body.includes('<div id="app">')),
      );
    }
    const nodes = await owner.get(`/api/projects/${p.projectId}/nodes`);
    expect(nodes.statusCode).toBe(200);
  });
});

describe('logs hold no credentials or secrets', () => {
  it('a full lifecycle at trace level: no token, password, secret value, cookie, CSRF token or URL signature in any log line', async () => {
    const app = t.app;
    const password = 'Distinctive-Passw0rd-4-logs';
    const signup = await app.inject({
      method: 'POST',
      url: '/api/auth/signup',
      remoteAddress: '10.3.0.1',
      payload: { email: 'logowner@example.test', password, name: 'Log Owner' },
    });
    expect(signup.statusCode).toBe(201);
    const login = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      remoteAddress: '10.3.0.1',
      payload: { email: 'logowner@example.test', password },
    });
    expect(login.statusCode).toBe(200);
    const ownerCookie = login.cookies.find((c) => c.name === 'keyport_session')?.value as string;
    const owner = new UserSession(app, login.json().user, ownerCookie, login.json().csrf_token);
    const client = await signUp(app, 'LogClient');
    const P = await makeProject(owner, 'Logs');
    const role = (
      await owner.post(`/api/projects/${P.projectId}/roles`, {
        name: 'viewer',
        permissions: { project: ['project_view'] },
      })
    ).json().id;
    await addMember(owner, P.projectId, client, [role]);
    const key = await issueKey(t, owner, client, {
      projectId: P.projectId,
      permissions: { project: ['project_view', 'code_view'], nodes: keyPermissions(P).nodes },
      fields: [{ name: 'project', value: String(P.projectId) }],
    });
    const k = bearer(app, key.token);
    expect((await k.get('/api/auth/whoami')).statusCode).toBe(200);
    // data plane: upload, package, search, files, signed download
    const bytes = Buffer.from('log test bytes');
    const file = await upload(
      app,
      (url) => app.inject({ method: 'PUT', url, headers: { authorization: `Bearer ${key.token}` } }),
      P.projectId,
      bytes,
      'f.txt',
    );
    const pkg = await k.post(`/api/projects/${P.projectId}/nodes/${P.input}/packages`, {
      label: 'l',
      fields: { a: 1 },
      files: [file],
    });
    expect(pkg.statusCode).toBe(200);
    await k.post(`/api/projects/${P.projectId}/nodes/${P.input}/packages/search`, { master_id: pkg.json().id });
    const files = (
      await k.get(`/api/projects/${P.projectId}/nodes/${P.input}/packages/${pkg.json().id}/files`)
    ).json() as { content: string }[];
    const download = await raw(app, 'GET', files[0]?.content as string);
    expect(sha(download.rawPayload)).toBe(file.content_hash);
    const sig = new URL(files[0]?.content as string).searchParams.get('sig') as string;
    // secrets: create, reveal, registry credentials, runner view, import of the key
    const secretValue = 'Secret-Value-9f8e7d6c5b4a';
    const registryPassword = 'Registry-Passw0rd-1a2b3c';
    const s1 = await owner.post(`/api/projects/${P.projectId}/secrets`, {
      name: 'API_SECRET',
      value: secretValue,
      node_ids: [P.compute],
    });
    expect(s1.statusCode).toBe(201);
    await owner.post(`/api/projects/${P.projectId}/secrets`, {
      name: 'REGISTRY',
      type: 'registry',
      value: { host: 'r.example', user: 'u', password: registryPassword },
    });
    expect((await owner.get(`/api/projects/${P.projectId}/secrets/${s1.json().id}/value`)).json().value).toBe(
      secretValue,
    );
    await owner.get(`/api/projects/${P.projectId}/secrets?reveal=1`);
    await owner.get(`/api/projects/${P.projectId}/nodes/${P.compute}/secrets`);
    const clientProject = await makeProject(client, 'ClientLogs');
    const imp = await client.post(`/api/projects/${clientProject.projectId}/secrets/import-api-key`, {
      key_id: key.keyId,
      prefix: 'calc',
    });
    expect(imp.statusCode).toBe(201);
    await client.get(`/api/projects/${clientProject.projectId}/secrets?reveal=1`);
    // refusals: key in the query, a forged key, the cookie as a bearer, wrong password
    await app.inject({ method: 'GET', url: `/api/auth/whoami?access_token=${key.token}` });
    const g = parts(key.token);
    await k.get('/api/projects/999999');
    await bearer(app, `${b64({ alg: 'none' })}.${g.p}.`).get('/api/auth/whoami');
    await bearer(app, ownerCookie).get('/api/auth/whoami');
    await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      remoteAddress: '10.3.0.2',
      payload: { email: 'logowner@example.test', password: `${password}-wrong` },
    });
    await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      remoteAddress: '10.3.0.2',
      headers: { 'content-type': 'application/json' },
      payload: `{"email":"x@y.z","password":"${password}"`,
    });
    // revoke, then the revoked key
    expect((await owner.del(`/api/projects/${P.projectId}/issued-keys/${key.keyId}`)).statusCode).toBe(200);
    expect((await k.get('/api/auth/whoami')).statusCode).toBe(401);
    await owner.post('/api/auth/logout');
    await (app as unknown as { usage?: { flush(): Promise<void> } }).usage?.flush();

    const logs = t.logs.join('');
    expect(t.logs.length).toBeGreaterThan(50);
    expect(logs).toContain('incoming request');
    const needles: [string, string][] = [
      ['API key token', key.token],
      ['token signature', g.s],
      ['token payload segment', g.p],
      ['password', password],
      ['helper password', 'correct horse battery'],
      ['secret value', secretValue],
      ['registry password', registryPassword],
      ['owner session cookie', ownerCookie],
      ['client session cookie', client.cookie],
      ['CSRF token', owner.csrf],
      ['client CSRF token', client.csrf],
      ['signed URL signature', sig],
    ];
    for (const [what, needle] of needles) {
      expect(needle.length).toBeGreaterThan(8);
      tally.manual(`logs do not contain the ${what}`, !logs.includes(needle));
    }
    expect(logs).not.toMatch(/\n\s+at |"stack"/);
    // the unauthenticated Prometheus endpoint carries counts only: no credential, no email
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    for (const [what, needle] of [
      ...needles,
      ['owner email', 'logowner@example.test'],
      ['client email', client.user.email],
    ]) {
      tally.manual(`/metrics does not contain the ${what}`, !metrics.includes(needle as string));
    }
  });
});

describe('CORS is closed by default', () => {
  it('no Access-Control-Allow-* on API answers to a foreign Origin; preflights are not granted', async () => {
    const owner = await signUp(t.app, 'Cors');
    const origin = 'https://evil.example';
    const gets = [
      '/api/auth/me',
      '/api/projects',
      '/api/health',
      '/.well-known/jwks.json',
      '/api/auth/whoami',
      '/api/openapi.json',
    ];
    for (const url of gets) {
      const res = await t.app.inject({
        method: 'GET',
        url,
        headers: { origin, cookie: `keyport_session=${owner.cookie}` },
      });
      tally.manual(
        `GET ${url} from a foreign origin: no ACAO`,
        res.headers['access-control-allow-origin'] === undefined &&
          res.headers['access-control-allow-credentials'] === undefined,
      );
    }
    const before = await snapshot(t.app);
    for (const url of ['/api/projects', '/api/auth/login', '/api/auth/whoami', '/api/projects/1/nodes/1/packages']) {
      const res = await t.app.inject({
        method: 'OPTIONS',
        url,
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type, x-csrf-token, authorization',
        },
      });
      tally.manual(
        `preflight ${url}: not granted (status ${res.statusCode})`,
        res.headers['access-control-allow-origin'] === undefined &&
          res.headers['access-control-allow-methods'] === undefined &&
          res.statusCode >= 400,
      );
    }
    // a simple cross-site form post with the cookie but no CSRF header changes nothing
    const csrf = await t.app.inject({
      method: 'POST',
      url: '/api/projects',
      headers: { origin, cookie: `keyport_session=${owner.cookie}`, 'content-type': 'application/json' },
      payload: { name: 'csrf' },
    });
    tally.rejects('cross-site POST with the cookie', csrf, 403, 'CSRF_FAILED');
    expect(csrf.headers['access-control-allow-origin']).toBeUndefined();
    expect(await snapshot(t.app)).toEqual(before);
  });
});

describe('security headers and cookie flags', () => {
  const expectUiHeaders = (h: Record<string, unknown>, where: string) => {
    const csp = String(h['content-security-policy'] ?? '');
    expect(csp, where).toContain("frame-ancestors 'none'");
    expect(csp, where).toContain("default-src 'self'");
    expect(csp, where).not.toMatch(/script-src[^;]*'unsafe-(inline|eval)'/);
    expect(h['x-content-type-options'], where).toBe('nosniff');
    expect(h['x-frame-options'], where).toBe('DENY');
    expect(h['referrer-policy'], where).toBe('no-referrer');
  };

  it('the UI at / and at a client-side route carries CSP, nosniff, X-Frame-Options and Referrer-Policy', async () => {
    for (const url of ['/', '/projects/1/about', '/projects/1/api-keys#requests', '/app.js']) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expectUiHeaders(res.headers, url);
    }
    expect((await t.app.inject({ method: 'GET', url: '/projects/1/about' })).body).toContain('<div id="app">');
    const api = await t.app.inject({ method: 'GET', url: '/api/health' });
    expect(api.headers['x-content-type-options']).toBe('nosniff');
    const missing = await t.app.inject({ method: 'GET', url: '/api/nope' });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toMatch(/^application\/json/);
    expect(missing.headers['x-content-type-options']).toBe('nosniff');
    // refusals by the hooks in front of the routes carry it too
    const badKey = await t.app.inject({
      method: 'GET',
      url: '/api/auth/whoami',
      headers: { authorization: 'Bearer x.y.z' },
    });
    expect(badKey.statusCode).toBe(401);
    expect(badKey.headers['x-content-type-options']).toBe('nosniff');
    const nul = await t.app.inject({ method: 'GET', url: '/api/health%00' });
    expect(nul.statusCode).toBe(400);
    expect(nul.headers['x-content-type-options']).toBe('nosniff');
    expectUiHeaders((await t.app.inject({ method: 'GET', url: '/projects%00' })).headers, 'UI URL with NUL');
  });

  it('HEAD of a client-side route answers like GET (200, HTML, same headers) without a body; API HEAD misses stay 404', async () => {
    for (const url of ['/', '/projects', '/projects/1/about', '/login?next=%2Fprojects']) {
      const get = await t.app.inject({ method: 'GET', url });
      const head = await t.app.inject({ method: 'HEAD', url });
      expect(head.statusCode, url).toBe(200);
      expect(head.statusCode, url).toBe(get.statusCode);
      expect(head.headers['content-type'], url).toBe(get.headers['content-type']);
      expect(head.headers['content-type'], url).toMatch(/^text\/html/);
      expect(head.headers['content-length'], url).toBe(get.headers['content-length']);
      expect(head.body, url).toBe('');
      expectUiHeaders(head.headers, url);
    }
    expect((await t.app.inject({ method: 'HEAD', url: '/api/nope' })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'HEAD', url: '/api/health' })).statusCode).toBe(200);
    // over a real socket, as a browser, curl -I or a load balancer's health check sees it
    const base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const real = await fetch(`${base}/projects/1/api-keys`, { method: 'HEAD' });
    expect(real.status).toBe(200);
    expect(real.headers.get('content-type')).toMatch(/^text\/html/);
    expect(Number(real.headers.get('content-length'))).toBeGreaterThan(0);
    expect(await real.text()).toBe('');
    expect((await fetch(`${base}/api/nope`, { method: 'HEAD' })).status).toBe(404);
    // other methods on a UI path are still not the app
    expect((await t.app.inject({ method: 'POST', url: '/projects/1/about' })).statusCode).toBe(404);
  });

  it('session cookies are HttpOnly, SameSite=Lax, Secure on https; tokens and revealed secrets are not cached', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/signup',
      remoteAddress: '10.4.0.1',
      payload: { email: 'cookie@example.test', password: 'correct horse battery', name: 'C' },
    });
    const setCookie = String(res.headers['set-cookie']);
    expect(setCookie).toMatch(/keyport_session=/);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    expect(setCookie).toMatch(/Secure/i);
    expect(setCookie).toMatch(/Path=\//);
    expect(res.body).not.toContain(res.cookies[0]?.value as string);
    const owner = await signUp(t.app, 'NoStore');
    const holder = await signUp(t.app, 'NoStoreHolder');
    const P = await makeProject(owner, 'NoStore');
    const key = await issueKey(t, owner, holder, { projectId: P.projectId, permissions: keyPermissions(P) });
    expect((await holder.get(`/api/me/api-keys/${key.keyId}/token`)).headers['cache-control']).toBe('no-store');
    const s = (await owner.post(`/api/projects/${P.projectId}/secrets`, { name: 'X', value: 'y' })).json().id;
    expect((await owner.get(`/api/projects/${P.projectId}/secrets/${s}/value`)).headers['cache-control']).toBe(
      'no-store',
    );
    expect((await owner.get(`/api/projects/${P.projectId}/secrets?reveal=1`)).headers['cache-control']).toBe(
      'no-store',
    );
  });
});
