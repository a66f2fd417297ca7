// /metrics: open by default (deploy it on an internal network), or behind KEYPORT_METRICS_TOKEN.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { makeTestApp, type TestApp } from './helpers.js';

const TOKEN = 'metrics-token-0123456789abcdef';

describe('GET /metrics', () => {
  let open: TestApp;
  let closed: TestApp;
  beforeAll(async () => {
    open = await makeTestApp();
    closed = await makeTestApp({ env: { KEYPORT_METRICS_TOKEN: TOKEN } });
  });
  afterAll(async () => {
    await open.close();
    await closed.close();
  });

  it('is open without KEYPORT_METRICS_TOKEN', async () => {
    const res = await open.app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('keyport_key_requests_total');
  });

  it('needs the bearer token when KEYPORT_METRICS_TOKEN is set, and never echoes it', async () => {
    for (const authorization of [undefined, 'Bearer wrong', `Bearer ${TOKEN}x`, TOKEN, `Basic ${TOKEN}`]) {
      const res = await closed.app.inject({ url: '/metrics', headers: authorization ? { authorization } : {} });
      expect(res.statusCode, String(authorization)).toBe(401);
      expect(res.json().error.code).toBe('UNAUTHENTICATED');
      expect(res.body).not.toContain(TOKEN);
    }
    const ok = await closed.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('keyport_key_requests_total');
    expect(closed.logs.join('')).not.toContain(TOKEN);
  });

  it('refuses a weak token at start-up, naming the variable', () => {
    expect(() => loadConfig({ KEYPORT_METRICS_TOKEN: 'short' })).toThrow(/KEYPORT_METRICS_TOKEN/);
    expect(() => loadConfig({ KEYPORT_METRICS_TOKEN: 'has a space in it 0123' })).toThrow(/KEYPORT_METRICS_TOKEN/);
  });
});
