// The Python client's calls, files included, against each object store: test/python/
// serverproxy_replay.py (rndflow's ServerProxy: upload_project_file, post_package with files,
// get_files_list, download with its sha256 check) runs against a real port, while the TypeScript
// worker loop reads the file the Python side uploaded and answers with a result file of its own.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KeyportClient, runWorker } from '@keyport/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObjectStoreName } from '../src/config.js';
import { sha } from './dataplane-helpers.js';
import { freePort, makeProject, makeTestApp, signUp } from './helpers.js';
import { issueKey, makeProjectVisible } from './keys-helpers.js';
import { type S3Fixture, STORES, startS3, storeEnv } from './objects-helpers.js';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'python', 'serverproxy_replay.py');
const hasPython = spawnSync('python3', ['--version']).status === 0;

let s3: S3Fixture;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3?.stop();
});

function python(env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [SCRIPT], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

describe.skipIf(!hasPython)('rndflow ServerProxy with files', () => {
  it.each(STORES)('works unchanged with the %s store', async (store: ObjectStoreName) => {
    const port = await freePort();
    const t = await makeTestApp({ env: { ...storeEnv(store, s3), KEYPORT_PUBLIC_URL: `http://127.0.0.1:${port}` } });
    const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-py-'));
    const stop = new AbortController();
    try {
      await t.app.listen({ port, host: '127.0.0.1' });
      const server = `http://127.0.0.1:${port}`;
      const owner = await signUp(t.app, 'Owner');
      const holder = await signUp(t.app, 'PyHolder');
      const P = await makeProject(owner, `Python ${store}`);
      await makeProjectVisible(owner, P.projectId);
      const permissions = {
        project: ['project_view'],
        nodes: { [P.input]: ['package_create', 'package_view'], [P.output]: ['package_view'] },
      };
      const { token } = await issueKey(t, owner, holder, { projectId: P.projectId, permissions });

      // the service side, through HTTP with the owner's session: every layer, result with a file
      const inputs: string[] = [];
      const client = new KeyportClient({
        server,
        cookie: owner.cookie,
        csrfToken: owner.csrf,
        project: P.projectId,
        input: P.input,
        output: P.output,
      });
      const worker = runWorker({
        client,
        pollMs: 50,
        signal: stop.signal,
        handler: async (pkg, ctx) => {
          for (const f of await ctx.files()) inputs.push((await ctx.read(f)).toString());
          const sum = Object.values(pkg.values).reduce<number>((s, v) => s + (typeof v === 'number' ? v : 0), 0);
          return { fields: { sum }, files: [{ name: 'result.txt', content: `sum=${sum}\n`, type: 'text/plain' }] };
        },
      });

      const r = await python({
        KEYPORT_SERVER: server,
        KEYPORT_KEY: token,
        KEYPORT_PROJECT: String(P.projectId),
        KEYPORT_INPUT: String(P.input),
        KEYPORT_OUTPUT: String(P.output),
        KEYPORT_WORKDIR: workdir,
      });
      stop.abort();
      await worker;
      expect(r.code, r.err).toBe(0);
      const out = JSON.parse(r.out.trim().split('\n').pop() as string);
      expect(out.sum).toBe(42);
      expect(out.downloaded).toEqual({ 'result.txt': 'sum=42\n' });
      expect(out.files[0]).toMatchObject({ name: 'result.txt', content_hash: sha('sum=42\n'), size: 7 });
      expect(inputs).toContain('a,b\n2,40\n'); // what Python uploaded, read back from the store
      expect(out.calls.every((c: { status: number }) => c.status === 200)).toBe(true);
      const stores = await t.app.ctx.k.selectFrom('objects').select('store').distinct().execute();
      expect(stores.map((s) => s.store)).toEqual([store]);
    } finally {
      stop.abort();
      t.app.server.closeAllConnections();
      await t.close();
      fs.rmSync(workdir, { recursive: true, force: true });
    }
  });
});
