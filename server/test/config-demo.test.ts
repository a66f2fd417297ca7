import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { seedDemo } from '../src/demo.js';
import { makeTestApp, UserSession } from './helpers.js';

describe('config', () => {
  it('has sane defaults', () => {
    const c = loadConfig({}, '/srv/keyport');
    expect(c).toMatchObject({
      port: 8080,
      dataDir: '/srv/keyport/data',
      databaseUrl: null,
      currency: 'USD',
      demo: true,
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x'],
    ['KEYPORT_MASTER_KEY', 'too-short'],
    ['KEYPORT_CURRENCY', 'dollars'],
    ['KEYPORT_DEMO', 'maybe'],
    ['SMTP_URL', 'not a url'],
    ['KEYPORT_CACHE_TTL_SECONDS', '-1'],
  ])('refuses a bad %s with a message naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});

describe('demo (npm start on an empty database)', () => {
  it('seeds accounts, a project with nodes, a priced role and a template with info fields — once', async () => {
    const t = await makeTestApp();
    try {
      const info = await seedDemo(t.app);
      expect(info).not.toBeNull();
      if (!info) return;
      expect(await seedDemo(t.app)).toBeNull(); // not on a non-empty database
      const login = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: info.client });
      expect(login.statusCode).toBe(200);
      const cookie = login.cookies.find((c) => c.name === 'keyport_session')?.value ?? '';
      const client = new UserSession(t.app, login.json().user, cookie, login.json().csrf_token);
      const offers = (await client.get(`/api/projects/${info.projectId}/api-key-offers`)).json();
      expect(offers).toHaveLength(1);
      expect(offers[0]).toMatchObject({ name: 'Calculator API', price_per_request: '0.01', state: 'available' });
      expect(offers[0].fields.map((f: { name: string }) => f.name)).toEqual(['project', 'input', 'output']);
      const roles = (await client.get(`/api/projects/${info.projectId}/roles`)).json();
      const apiClient = roles.find((r: { name: string }) => r.name === 'api-client');
      expect(apiClient.permissions).toEqual({
        project: ['project_view'],
        nodes: { [info.nodes.input]: ['package_create'], [info.nodes.output]: ['package_view'] },
      });
    } finally {
      await t.close();
    }
  });
});
