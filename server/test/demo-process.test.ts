// `npm start` as a user meets it: a real process on a fresh data dir seeds the demo and runs the
// demo worker; the client account requests the demo key, the owner approves, and a package posted
// with the key comes back summed by the worker.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KeyportClient } from '@keyport/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgSchema, dropPgSchema, freePort, PG_URL } from './helpers.js';

const serverDir = path.resolve(import.meta.dirname, '..');
let proc: ChildProcess;
let base = '';
let dataDir = '';
let schema: string | null = null;
let output = '';

async function login(email: string, password: string) {
  const res = await fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  expect(res.status).toBe(200);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const { csrf_token } = (await res.json()) as { csrf_token: string };
  const call = async (method: string, url: string, body?: unknown) => {
    const r = await fetch(`${base}${url}`, {
      method,
      headers: { cookie, 'x-csrf-token': csrf_token, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    // biome-ignore lint/suspicious/noExplicitAny: the test reads whatever JSON each route answers
    return { status: r.status, body: (await r.json()) as any };
  };
  return call;
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-demo-'));
  schema = PG_URL ? await createPgSchema() : null;
  // a real port (not 0): signed file URLs carry the configured origin, http://localhost:$PORT
  const port = await freePort();
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PORT: String(port),
    KEYPORT_HOST: '127.0.0.1',
    KEYPORT_DATA_DIR: dataDir,
    KEYPORT_LOG_LEVEL: 'warn',
  };
  delete env.KEYPORT_DEMO;
  if (PG_URL && schema)
    env.DATABASE_URL = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}options=-c%20search_path%3D${schema}`;
  proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: serverDir, env });
  proc.stdout?.on('data', (d) => (output += String(d)));
  proc.stderr?.on('data', (d) => (output += String(d)));
  const deadline = Date.now() + 90_000;
  while (!/running at (http:\/\/\S+?)\s/.test(output)) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  base = (/running at (http:\/\/\S+?)\s/.exec(output)?.[1] ?? '').replace('localhost', '127.0.0.1');
}, 120_000);

afterAll(async () => {
  if (proc && proc.exitCode === null) {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  }
  if (schema) await dropPgSchema(schema);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start demo', () => {
  it('prints credentials, serves the API, and the demo worker answers a key holder', async () => {
    expect((await fetch(`${base}/api/health`)).status).toBe(200);
    const creds = fs.readFileSync(path.join(dataDir, 'demo-credentials.txt'), 'utf8');
    const [, ownerEmail, ownerPw] = /owner:\s+(\S+)\s+password: (\S+)/.exec(creds) ?? [];
    const [, clientEmail, clientPw] = /client:\s+(\S+)\s+password: (\S+)/.exec(creds) ?? [];
    expect(output).toContain(`password: ${ownerPw}`);
    const owner = await login(ownerEmail as string, ownerPw as string);
    const client = await login(clientEmail as string, clientPw as string);

    const projects = (await client('GET', '/api/projects')).body.items;
    const project = projects.find((p: { name: string }) => p.name === 'Demo calculator');
    const [offer] = (await client('GET', `/api/projects/${project.id}/api-key-offers`)).body;
    expect(offer.state).toBe('available');
    const req = await client('POST', `/api/projects/${project.id}/api-key-templates/${offer.template_id}/requests`);
    expect(req.status).toBe(201);
    const key = await owner('POST', `/api/projects/${project.id}/api-key-requests/${req.body.id}/approve`);
    expect(key.status).toBe(200);
    const { token } = (await client('GET', `/api/me/api-keys/${key.body.id}/token`)).body;
    const mine = (await client('GET', '/api/me/api-keys')).body[0];
    const field = (n: string) => mine.fields.find((f: { name: string }) => f.name === n).value;

    const api = new KeyportClient({
      server: base,
      token,
      project: field('project'),
      input: field('input'),
      output: field('output'),
    });
    const layer = await api.getLastDataLayer();
    const id = await api.postPackage(layer, { label: 'numbers', fields: { a: 2, b: 3, c: 37 } });
    const result = await api.waitForResult(layer, id, { timeoutMs: 60_000, intervalMs: 200 });
    expect(result.total).toBe(1);
    const values = Object.fromEntries(
      result.items[0]!.fields.map((f: { name: string; value: unknown }) => [f.name, f.value]),
    );
    expect(values.sum).toBe(42);
  }, 120_000);
});
