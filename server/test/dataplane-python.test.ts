// The wire-compatibility check: test/python/serverproxy_replay.py replays the calls of rndflow's
// ServerProxy (paths, query parameters, JSON bodies incl. `felds`, raw download of `content`)
// against a real server port, with a key obtained through the lifecycle API, while a worker (the
// project owner, through HTTP) answers the input packages in the output node.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raw, sha } from './dataplane-helpers.js';
import { freePort, makeProject, makeTestApp, signUp, type TestApp, type UserSession } from './helpers.js';
import { issueKey, makeProjectVisible } from './keys-helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SCRIPT = path.join(here, 'python', 'serverproxy_replay.py');
const hasPython = spawnSync('python3', ['--version']).status === 0;
const hasRequests = hasPython && spawnSync('python3', ['-c', 'import requests']).status === 0;

let t: TestApp;
let owner: UserSession;
let holder: UserSession;
let P: { projectId: number; input: number; compute: number; output: number };
let port: number;
let workdir: string;

beforeAll(async () => {
  // signed links (upload, download) are built on KEYPORT_PUBLIC_URL: the address we listen on
  port = await freePort();
  t = await makeTestApp({ env: { KEYPORT_PUBLIC_URL: `http://127.0.0.1:${port}` } });
  await t.app.listen({ port, host: '127.0.0.1' });
  owner = await signUp(t.app, 'Owner');
  holder = await signUp(t.app, 'PyHolder');
  P = await makeProject(owner, 'Python');
  await makeProjectVisible(owner, P.projectId);
  workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-py-'));
});
afterAll(async () => {
  // connections opened but never used count as active for Node until headersTimeout (60 s)
  t?.app.server.closeAllConnections();
  await t?.close();
  if (workdir) fs.rmSync(workdir, { recursive: true, force: true });
});

/** The service side: every new input package in any layer gets a result {sum} with a file. */
function startWorker() {
  let stopped = false;
  const cursors = new Map<number, number>();
  const base = `/api/projects/${P.projectId}`;
  const loop = (async () => {
    while (!stopped) {
      const layers = (await owner.get(`${base}/data_layers`)).json() as { id: number }[];
      for (const { id: layer } of layers) {
        const after = cursors.get(layer) ?? 0;
        const page = (
          await owner.post(`${base}/nodes/${P.input}/packages/search?data_layer_id=${layer}&page_size=100`, {
            after_id: after,
          })
        ).json();
        for (const pkg of page.items as { id: number; fields: { name: string; value: unknown }[] }[]) {
          const sum = pkg.fields.reduce((s, f) => s + (typeof f.value === 'number' ? f.value : 0), 0);
          const bytes = Buffer.from(`sum=${sum}\n`);
          // into the layer the result goes to: objects are held per layer
          const link = (await owner.put(`${base}/objects/${sha(bytes)}?data_layer_id=${layer}`, undefined)).json();
          if (link) await raw(t.app, 'PUT', link, bytes, 'text/plain');
          const res = await owner.post(`${base}/nodes/${P.output}/packages?data_layer_id=${layer}`, {
            label: 'result',
            fields: { sum },
            parent_ids: [pkg.id],
            files: [
              {
                name: 'result.txt',
                content_hash: sha(bytes),
                type: 'text/plain',
                is_executable: false,
                is_binary: false,
                size: bytes.length,
              },
            ],
          });
          if (res.statusCode !== 200) throw new Error(`worker post: ${res.body}`);
          cursors.set(layer, pkg.id);
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}

function runPython(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [SCRIPT], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe.skipIf(!hasPython)('rndflow ServerProxy replay (Python)', () => {
  it(`works unchanged against Keyport (${hasRequests ? 'requests' : 'urllib fallback: requests not installed'})`, async () => {
    const permissions = {
      project: ['project_view'],
      nodes: { [P.input]: ['package_create', 'package_view'], [P.output]: ['package_view'] },
    };
    const { token } = await issueKey(t, owner, holder, { projectId: P.projectId, permissions });
    const stop = startWorker();
    let result: Awaited<ReturnType<typeof runPython>>;
    try {
      result = await runPython({
        KEYPORT_SERVER: `http://127.0.0.1:${port}`,
        KEYPORT_KEY: token,
        KEYPORT_PROJECT: String(P.projectId),
        KEYPORT_INPUT: String(P.input),
        KEYPORT_OUTPUT: String(P.output),
        KEYPORT_WORKDIR: workdir,
      });
    } finally {
      await stop();
    }
    expect(result.stderr + result.stdout).not.toContain(token);
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout.trim().split('\n').pop() as string);
    expect(out.requests).toBe(hasRequests);
    expect(out.sum).toBe(42);
    expect(out.felds_sum).toBe(0); // `felds` was ignored: the input had no fields
    expect(out.legacy_sum).toBe(5); // data_layer_id in the body
    expect(out.downloaded).toEqual({ 'result.txt': 'sum=42\n' });
    expect(out.files[0]).toMatchObject({
      name: 'result.txt',
      content_hash: sha('sum=42\n'),
      size: 7,
      is_executable: false,
    });

    // the layer is the holder's personal layer, and every call answered 200
    const layer = (await owner.get(`/api/projects/${P.projectId}/data_layers/${out.layer}`)).json();
    expect(layer).toMatchObject({ kind: 'personal', user_id: holder.user.id });
    expect(out.calls.every((c: { status: number }) => c.status === 200)).toBe(true);
    const paths = new Set(
      out.calls.map(
        (c: { method: string; path: string }) =>
          `${c.method} ${c.path.replace(/[0-9a-f]{64}/, ':sha').replace(/\d+/g, ':id')}`,
      ),
    );
    expect([...paths].sort()).toEqual(
      [
        'GET /projects/:id/data_layers',
        'GET /projects/:id/data_layers/last',
        'GET /projects/:id/nodes/:id/packages/:id/files',
        'POST /projects/:id/nodes/:id/packages',
        'POST /projects/:id/nodes/:id/packages/search',
        'PUT /projects/:id/objects/:sha',
      ].sort(),
    );
  });
});
