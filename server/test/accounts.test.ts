import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, signUp, snapshot, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await makeTestApp();
});
afterAll(() => t.close());

describe('accounts', () => {
  it('signs up, reads /me, logs out, logs in again', async () => {
    const s = await signUp(t.app, 'Ann');
    const me = await s.get('/api/auth/me');
    expect(me.statusCode).toBe(200);
    expect(me.json().user).toMatchObject({ id: s.user.id, email: s.user.email, name: 'Ann' });
    expect(me.json().user.password_hash).toBeUndefined();

    expect((await s.post('/api/auth/logout')).statusCode).toBe(200);
    const after = await s.get('/api/auth/me');
    expect(after.statusCode).toBe(401);
    expect(after.json().error.code).toBe('UNAUTHENTICATED');

    const login = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: s.user.email.toUpperCase(), password: 'correct horse battery' },
    });
    expect(login.statusCode).toBe(200);
    const cookie = login.cookies.find((c) => c.name === 'keyport_session');
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Lax');
  });

  it('stores a scrypt hash, never the password', async () => {
    const s = await signUp(t.app, 'Hash');
    const row = await t.app.ctx.k.selectFrom('users').selectAll().where('id', '=', s.user.id).executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^scrypt\$/);
    expect(row.password_hash).not.toContain('correct horse');
  });

  it('refuses a duplicate email with 409 and writes nothing', async () => {
    const s = await signUp(t.app, 'Dup');
    const before = await snapshot(t.app);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/auth/signup',
      payload: { email: s.user.email, password: 'another password', name: 'Dup2' },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('EMAIL_TAKEN');
    expect(await snapshot(t.app)).toEqual(before);
  });

  it('answers a wrong password and an unknown email the same way', async () => {
    const s = await signUp(t.app, 'Pw');
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: s.user.email, password: 'wrong password' },
      remoteAddress: '10.9.0.1',
    });
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: 'nobody@example.test', password: 'wrong password' },
      remoteAddress: '10.9.0.2',
    });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json()).toEqual(unknown.json());
    expect(wrong.json().error.code).toBe('INVALID_CREDENTIALS');
  });

  it('validates sign-up input with 400 and a code', async () => {
    for (const payload of [
      { email: 'not-an-email', password: 'long enough', name: 'x' },
      { email: 'a@b.test', password: 'short', name: 'x' },
      { email: 'a@b.test', password: 'long enough' },
      { email: 'a@b.test', password: 12345678, name: { x: 1 } },
    ]) {
      const res = await t.app.inject({ method: 'POST', url: '/api/auth/signup', payload, remoteAddress: '10.8.0.1' });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_FAILED');
    }
    const bad = await t.app.inject({
      method: 'POST',
      url: '/api/auth/signup',
      headers: { 'content-type': 'application/json' },
      payload: '{"email": ',
      remoteAddress: '10.8.0.2',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('MALFORMED_JSON');
  });

  it('throttles login attempts per IP with 429 and Retry-After', async () => {
    let last = 0;
    let retryAfter: unknown;
    for (let i = 0; i < 12; i++) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { email: 'x@example.test', password: 'nope' },
        remoteAddress: '10.77.0.1',
      });
      last = res.statusCode;
      retryAfter = res.headers['retry-after'];
      if (last === 429) {
        expect(res.json().error.code).toBe('RATE_LIMITED');
        break;
      }
    }
    expect(last).toBe(429);
    expect(retryAfter).toBeDefined();
  });

  it('requires the CSRF token for cookie-authenticated changes', async () => {
    const s = await signUp(t.app, 'Csrf');
    const before = await snapshot(t.app);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/projects',
      headers: { cookie: `keyport_session=${s.cookie}` },
      payload: { name: 'X' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('CSRF_FAILED');
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/api/projects',
      headers: { cookie: `keyport_session=${s.cookie}`, 'x-csrf-token': 'guess' },
      payload: { name: 'X' },
    });
    expect(wrong.statusCode).toBe(403);
    expect(await snapshot(t.app)).toEqual(before);
  });

  it('serves health and the OpenAPI document', async () => {
    const h = await t.app.inject({ method: 'GET', url: '/api/health' });
    expect(h.statusCode).toBe(200);
    expect(h.json()).toEqual({ status: 'ok' });
    const doc = await t.app.inject({ method: 'GET', url: '/api/openapi.json' });
    expect(doc.statusCode).toBe(200);
    expect(doc.json().openapi).toMatch(/^3\./);
    expect(Object.keys(doc.json().paths)).toContain('/api/projects/{p}/roles');
    const docs = await t.app.inject({ method: 'GET', url: '/api/docs' });
    expect([200, 302]).toContain(docs.statusCode);
  });

  it('answers unknown API routes with a JSON 404', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('NOT_FOUND');
  });
});
