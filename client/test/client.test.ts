// End to end on a real port: a key obtained through the lifecycle API, the TypeScript client on
// the holder's side, the worker loop on the owner's side (session), results found by master.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  makeProject,
  makeTestApp,
  signUp,
  type TestApp,
  type UserSession,
} from '../../server/test/helpers.js';
import { issueKey, makeProjectVisible } from '../../server/test/keys-helpers.js';
import {
  KeyportClient,
  KeyportError,
  retryAfterMs,
  runWorker,
  ServerProxy,
  sha256hex,
  TimeoutError,
  type WorkerStats,
} from '../src/index.js';

let t: TestApp;
let server: string;
let owner: UserSession;
let holder: UserSession;
let other: UserSession;
let P: { projectId: number; input: number; compute: number; output: number };
let env: Record<string, string>;
let otherEnv: Record<string, string>;
let tmp: string;

beforeAll(async () => {
  // signed links (upload, download) are built on KEYPORT_PUBLIC_URL: the address we listen on
  const port = await freePort();
  server = `http://127.0.0.1:${port}`;
  t = await makeTestApp({ env: { KEYPORT_PUBLIC_URL: server } });
  await t.app.listen({ port, host: '127.0.0.1' });
  owner = await signUp(t.app, 'Owner');
  holder = await signUp(t.app, 'Holder');
  other = await signUp(t.app, 'Other');
  P = await makeProject(owner, 'Adder');
  await makeProjectVisible(owner, P.projectId);
  const permissions = {
    project: ['project_view'],
    nodes: { [P.input]: ['package_create', 'package_view'], [P.output]: ['package_view'] },
  };
  const fields = [
    { name: 'project', value: String(P.projectId) },
    { name: 'input', value: String(P.input) },
    { name: 'output', value: String(P.output) },
  ];
  const key = await issueKey(t, owner, holder, { projectId: P.projectId, permissions, fields });
  // what `keyport run` puts into the environment for imported secrets svc_token, svc_project, …
  env = {
    RNDFLOW_SECRET_svc_token: key.token,
    RNDFLOW_SECRET_svc_project: String(P.projectId),
    RNDFLOW_SECRET_svc_input: String(P.input),
    RNDFLOW_SECRET_svc_output: String(P.output),
  };
  const otherKey = await issueKey(t, owner, other, { projectId: P.projectId, permissions });
  otherEnv = {
    RNDFLOW_SECRET_OTHER_TOKEN: otherKey.token,
    RNDFLOW_SECRET_OTHER_PROJECT: String(P.projectId),
    RNDFLOW_SECRET_OTHER_OUTPUT: String(P.output),
  };
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-client-'));
});
afterAll(async () => {
  // A connection a client opened without sending a request yet (e.g. a fetch aborted while the
  // worker stopped) counts as active for Node until headersTimeout (60 s) and would hold app.close().
  t?.app.server.closeAllConnections();
  await t?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** The service side: the project owner's worker adds numbers and writes a small result file. */
function startWorker(extra: { pollMs?: number } = {}) {
  const ac = new AbortController();
  const client = new KeyportClient({ server, cookie: owner.cookie, csrfToken: owner.csrf, project: P.projectId });
  const done: Promise<WorkerStats> = runWorker({
    client,
    inputNode: P.input,
    outputNode: P.output,
    pollMs: extra.pollMs ?? 50,
    signal: ac.signal,
    onError: (e) => {
      throw e;
    },
    handler: async (pkg, ctx) => {
      const numbers = Object.values(pkg.values).filter((v): v is number => typeof v === 'number');
      const sum = numbers.reduce((a, b) => a + b, 0);
      const inputFiles = await ctx.files();
      const sizes: number[] = [];
      for (const f of inputFiles) sizes.push((await ctx.read(f)).length);
      return {
        label: `sum of ${pkg.label}`,
        fields: { sum, input_sizes: sizes },
        files: [{ name: 'result.txt', content: `sum=${sum}\n` }],
      };
    },
  });
  return { stop: () => ac.abort(), done };
}

describe('TypeScript client + worker, end to end', () => {
  it('posts to input, the worker answers, searchByMaster finds it, the file downloads with a hash check', async () => {
    const w = startWorker();
    try {
      const client = KeyportClient.fromSecrets(env, 'svc', { server });
      expect(client.project).toBe(String(P.projectId));
      const layer = await client.getLastDataLayer();
      expect(await client.getDataLayers()).toContain(layer);
      const layers = await client.listDataLayers();
      expect(layers.find((l) => l.id === layer)?.kind).toBe('personal');

      const id = await client.postPackage(layer, { label: 'job 1', fields: { a: 2, b: 3, note: 'x' } });
      const one = await client.waitOneResult(layer, id, { timeoutMs: 15_000, intervalMs: 50 });
      expect(one.fields).toEqual({ sum: 5, input_sizes: [] });
      expect(one.package).toMatchObject({ master_id: id, parent_ids: [id], label: 'sum of job 1' });

      const found = await client.searchByMaster(layer, id);
      expect(found.total).toBe(1);
      expect(found.items[0]?.id).toBe(one.id);

      const files = await client.getFilesList(one.id);
      expect(files).toHaveLength(1);
      const [file] = files;
      if (!file) throw new Error('no file');
      expect(file).toMatchObject({
        name: 'result.txt',
        type: 'text/plain',
        is_executable: false,
        is_binary: false,
        size: 6,
      });
      // an absolute URL on the address the client used, usable without any header
      expect(file.content.startsWith(`${server}/api/objects/${file.content_hash}?`)).toBe(true);
      const bare = await fetch(file.content);
      expect(bare.status).toBe(200);
      expect(sha256hex(Buffer.from(await bare.arrayBuffer()))).toBe(file.content_hash);
      const written = await client.download(file, { folder: tmp });
      expect(written).toBe(path.join(tmp, 'result.txt'));
      const bytes = fs.readFileSync(written);
      expect(bytes.toString()).toBe('sum=5\n');
      expect(sha256hex(bytes)).toBe(file.content_hash);

      // hash check: a file whose content does not match its hash is refused
      await expect(client.downloadBytes({ ...file, content_hash: sha256hex('something else') })).rejects.toThrow(
        /checksum/,
      );
    } finally {
      w.stop();
      await w.done;
    }
  });

  it('input files travel too (uploadBytes / uploadProjectFile), and waitResult returns [items, total]', async () => {
    const w = startWorker();
    try {
      const client = KeyportClient.fromSecrets(env, 'svc', { server });
      const layer = await client.lastDataLayer();
      const local = path.join(tmp, 'data.bin');
      fs.writeFileSync(local, Buffer.from([0, 1, 2, 3, 4, 5, 6, 7]));
      const ref = await client.uploadProjectFile(local);
      expect(ref).toMatchObject({
        name: 'data.bin',
        size: 8,
        is_binary: true,
        content_hash: sha256hex(fs.readFileSync(local)),
      });
      // the second upload of the same bytes is a no-op (the server answers null)
      expect(await client.uploadFile(local)).toEqual(ref);
      const text = await client.uploadBytes('hello', { name: 'hello.txt' });
      const id = await client.postPackage(layer, { label: 'with files', fields: { x: 1 }, files: [ref, text] });
      const [items, total] = await client.waitResult(layer, id, { timeoutMs: 15_000, intervalMs: 50 });
      expect(total).toBe(1);
      expect(items[0]?.fields).toEqual([
        { name: 'sum', value: 1 },
        { name: 'input_sizes', value: [8, 5] },
      ]);
      const one = await client.waitOneResultAndFiles(layer, id, { timeoutMs: 1000 });
      expect(one.files.map((f) => f.name)).toEqual(['result.txt']);
    } finally {
      w.stop();
      await w.done;
    }
  });

  it('a restarted worker does not answer twice', async () => {
    const client = KeyportClient.fromSecrets(env, 'svc', { server });
    const layer = await client.getLastDataLayer();
    const id = await client.createPackageAndPost(layer, 'again', { a: 1 });
    const w1 = startWorker();
    await client.waitOneResult(layer, id, { timeoutMs: 15_000, intervalMs: 50 });
    w1.stop();
    const s1 = await w1.done;
    expect(s1.processed).toBeGreaterThanOrEqual(1);
    const w2 = startWorker();
    await new Promise((r) => setTimeout(r, 400));
    w2.stop();
    const s2 = await w2.done;
    expect(s2.processed).toBe(0);
    expect(s2.skipped).toBeGreaterThanOrEqual(3);
    expect((await client.searchByMaster(layer, id, 1, 10)).total).toBe(1);
  });

  it('errors are KeyportErrors with status and code; waits time out', async () => {
    const client = KeyportClient.fromSecrets(env, 'svc', { server });
    const layer = await client.getLastDataLayer();
    // no package_create on the output node
    const denied = await client.postPackage(layer, { label: 'x' }, P.output).catch((e) => e);
    expect(denied).toBeInstanceOf(KeyportError);
    expect(denied).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    // another holder cannot see this holder's layer
    const otherClient = KeyportClient.fromSecrets(otherEnv, 'other', { server });
    expect(otherClient.project).toBe(String(P.projectId));
    const notFound = await otherClient.searchByMaster(layer, 1).catch((e) => e);
    expect(notFound).toMatchObject({ status: 404 });
    const id = await client.postPackage(layer, { label: 'never answered' });
    await expect(client.waitForResult(layer, id, { timeoutMs: 200, intervalMs: 50 })).rejects.toBeInstanceOf(
      TimeoutError,
    );
    const revoked = new ServerProxy({
      server,
      token: 'garbage',
      project: P.projectId,
      input: P.input,
      output: P.output,
    });
    await expect(revoked.getLastDataLayer()).rejects.toMatchObject({ status: 401 });
  });

  it('a key over its monthly quota gets a KeyportError QUOTA_EXCEEDED, not retried', async () => {
    const limited = await issueKey(t, owner, other, {
      projectId: P.projectId,
      permissions: { project: ['project_view'] },
      monthlyQuota: 1,
    });
    const client = new ServerProxy({
      server,
      token: limited.token,
      project: P.projectId,
      input: P.input,
      output: P.output,
    });
    await client.getLastDataLayer();
    const err = await client.getLastDataLayer().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyportError);
    expect(err).toMatchObject({ status: 429, code: 'QUOTA_EXCEEDED' });
  });
});

describe('a rolled key', () => {
  it('a job that re-reads its secrets after a roll keeps working with the new key', async () => {
    const mine = await makeProject(holder, 'Jobs');
    const key = await issueKey(t, owner, holder, {
      projectId: P.projectId,
      permissions: { project: ['project_view'], nodes: { [P.output]: ['package_view'] } },
      fields: [{ name: 'project', value: String(P.projectId) }],
    });
    const imported = await holder.post(`/api/projects/${mine.projectId}/secrets/import-api-key`, {
      key_id: key.keyId,
      prefix: 'calc',
      node_ids: [mine.compute],
    });
    expect(imported.statusCode).toBe(201);
    // what a runner hands the job: the node's secrets as environment
    const jobEnv = async () => {
      const view = (await holder.get(`/api/projects/${mine.projectId}/nodes/${mine.compute}/secrets`)).json();
      return Object.fromEntries(
        Object.entries(view as Record<string, string>).map(([k, v]) => [`RNDFLOW_SECRET_${k}`, v]),
      );
    };
    const before = KeyportClient.fromSecrets(await jobEnv(), 'calc', { server });
    expect(await before.getLastDataLayer()).toBeGreaterThan(0);

    const roll = await holder.post(`/api/me/api-keys/${key.keyId}/roll`, { grace_seconds: 0 });
    expect(roll.statusCode).toBe(200);
    const stale = await before.getLastDataLayer().catch((e: unknown) => e);
    expect(stale).toMatchObject({ status: 401, code: 'INVALID_KEY' });
    const after = KeyportClient.fromSecrets(await jobEnv(), 'calc', { server });
    expect(await after.getLastDataLayer()).toBeGreaterThan(0);
  });
});

describe('retryAfterMs', () => {
  it('reads delta-seconds and HTTP dates, caps at 30 s, ignores junk', () => {
    const now = Date.UTC(2026, 10, 27, 12, 0, 0);
    expect(retryAfterMs('5', now)).toBe(5000);
    expect(retryAfterMs(' 1 ', now)).toBe(1000);
    expect(retryAfterMs('3600', now)).toBe(30_000);
    expect(retryAfterMs(new Date(now + 7000).toUTCString(), now)).toBe(7000);
    expect(retryAfterMs(new Date(now - 7000).toUTCString(), now)).toBe(0);
    for (const junk of [null, undefined, '', 'soon', '-1', '1.5']) expect(retryAfterMs(junk, now)).toBeNull();
  });
});

describe('fromSecrets', () => {
  it('reads RNDFLOW_SECRET_<prefix>_<field>, upper-case and plain variants; the server from options or env', () => {
    const base = { server: 'http://example.test/' };
    const a = KeyportClient.fromSecrets(
      { RNDFLOW_SECRET_k_token: 't', RNDFLOW_SECRET_k_project: '7', RNDFLOW_SECRET_k_input: '8' },
      'k',
      base,
    );
    expect([a.server, a.project, a.input, a.output]).toEqual(['http://example.test', '7', '8', undefined]);
    const b = KeyportClient.fromSecrets('K', {
      env: { RNDFLOW_SECRET_K_TOKEN: 't', RNDFLOW_SECRET_K_PROJECT: '9', KEYPORT_SERVER: 'http://x.test/api' },
    });
    expect([b.server, b.project]).toEqual(['http://x.test', '9']);
    const c = KeyportClient.fromSecrets(
      { svc_token: 't', svc_project: '1', svc_output: '3', RNDFLOW_API_SERVER: 'http://r.test' },
      'svc',
    );
    expect([c.server, c.project, c.output]).toEqual(['http://r.test', '1', '3']);
    const d = KeyportClient.fromSecrets({ x_token: 't', x_project: '1', x_server: 'http://s.test' }, 'x');
    expect(d.server).toBe('http://s.test');
    expect(() => KeyportClient.fromSecrets({ RNDFLOW_SECRET_k_project: '1' }, 'k', base)).toThrow(
      /k_token.*RNDFLOW_SECRET_k_token/,
    );
    expect(() => KeyportClient.fromSecrets({ k_token: 't', k_project: '1' }, 'k')).toThrow(/server/);
  });
});
