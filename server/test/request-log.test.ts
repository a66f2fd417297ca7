// The request log: every request is logged, except in-process pollers carrying the app's
// unguessable quiet token (the demo worker polls once a second); a guessed value changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await makeTestApp();
});
afterAll(() => t.close());

const linesFor = (url: string) => t.logs.filter((l) => l.includes(url) && l.includes('incoming request'));

describe('request log', () => {
  it('logs requests, but not those carrying the quiet token', async () => {
    await t.app.inject({ method: 'GET', url: '/api/health?loud' });
    expect(linesFor('/api/health')).toHaveLength(1);
    await t.app.inject({ method: 'GET', url: '/api/health', headers: { 'x-keyport-quiet': t.app.quietLogToken } });
    expect(linesFor('/api/health')).toHaveLength(1);
    await t.app.inject({ method: 'GET', url: '/api/health', headers: { 'x-keyport-quiet': 'guess' } });
    expect(linesFor('/api/health')).toHaveLength(2);
    expect(t.app.quietLogToken).toMatch(/^[A-Za-z0-9_-]{20,}$/);
  });
});
