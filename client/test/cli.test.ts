// `keyport run` against a real server on a port: the command sees the node's secrets as
// RNDFLOW_SECRET_<NAME>, a job built with fromSecrets posts a package with the imported key,
// exit codes and signals pass through, and failures are clear without echoing credentials.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, makeTestApp, signUp, type TestApp, type UserSession } from '../../server/test/helpers.js';
import { type IssuedKey, issueKey } from '../../server/test/keys-helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(here, '../bin/keyport.mjs');
const CLIENT_DIR = path.resolve(here, '..');
const FIXTURE = path.resolve(here, 'cli-fixture-post.ts');
const PRINT_ENV =
  'process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(RNDFLOW_SECRET_|JOB_|KEYPORT_)/.test(k)))))';

let t: TestApp;
let server: string;
let owner: UserSession;
let client: UserSession;
let S: Awaited<ReturnType<typeof makeProject>>;
let C: Awaited<ReturnType<typeof makeProject>>;
let serviceKey: IssuedKey; // the key the client received from the service project and imported
let runnerKey: IssuedKey; // the client's own key with code_edit on their compute node

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], env: Record<string, string>): { child: ChildProcess; done: Promise<Run> } {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('KEYPORT_') && !k.startsWith('RNDFLOW_')),
  );
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: CLIENT_DIR,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  const done = new Promise<Run>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

const run = (args: string[], env: Record<string, string>) => start(args, env).done;
const target = (projectId = C.projectId, nodeId = C.compute) => [
  'run',
  '--server',
  server,
  '--project',
  String(projectId),
  '--node',
  String(nodeId),
];

beforeAll(async () => {
  t = await makeTestApp();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = t.app.server.address();
  server = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  owner = await signUp(t.app, 'Owner');
  client = await signUp(t.app, 'Client');
  S = await makeProject(owner, 'Calculator');
  C = await makeProject(client, 'Client jobs');
  serviceKey = await issueKey(t, owner, client, {
    projectId: S.projectId,
    permissions: { project: ['project_view'], nodes: { [S.input]: ['package_create'], [S.output]: ['package_view'] } },
    fields: [
      { name: 'project', value: String(S.projectId), description: 'project' },
      { name: 'input', value: String(S.input), description: 'input node' },
      { name: 'output', value: String(S.output), description: 'output node' },
    ],
  });
  const imported = await client.post(`/api/projects/${C.projectId}/secrets/import-api-key`, {
    key_id: serviceKey.keyId,
    prefix: 'calc',
    node_ids: [C.compute],
  });
  expect(imported.statusCode).toBe(201);
  const reg = await client.post(`/api/projects/${C.projectId}/secrets`, {
    name: 'REGISTRY',
    type: 'registry',
    value: { host: 'registry.example.test', user: 'ci', password: 'pw with spaces & $symbols' },
    node_ids: [C.compute],
  });
  expect(reg.statusCode).toBe(201);
  runnerKey = await issueKey(t, client, client, {
    projectId: C.projectId,
    permissions: { project: ['project_view'], nodes: { [C.compute]: ['code_edit'] } },
  });
});
afterAll(() => t?.close());

// each case spawns node + tsx: generous timeouts for a loaded CI machine
describe('keyport run', { timeout: 180_000 }, () => {
  it('runs the command with the node secrets as RNDFLOW_SECRET_<NAME>, without keyport credentials', async () => {
    const r = await run([...target(), '--', 'node', '-e', PRINT_ENV], { KEYPORT_TOKEN: runnerKey.token });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      RNDFLOW_SECRET_calc_token: serviceKey.token,
      RNDFLOW_SECRET_calc_project: String(S.projectId),
      RNDFLOW_SECRET_calc_input: String(S.input),
      RNDFLOW_SECRET_calc_output: String(S.output),
      RNDFLOW_SECRET_REGISTRY: JSON.stringify({
        host: 'registry.example.test',
        user: 'ci',
        password: 'pw with spaces & $symbols',
      }),
    });
  });

  it('takes a session instead of a key, a custom prefix and --opt=value forms', async () => {
    const r = await run(
      [
        'run',
        `--server=${server}/`,
        `--project=${C.projectId}`,
        '--node',
        String(C.compute),
        '--prefix',
        'JOB_',
        '--',
        'node',
        '-e',
        PRINT_ENV,
      ],
      { KEYPORT_SESSION: client.cookie },
    );
    expect(r.code).toBe(0);
    const env = JSON.parse(r.stdout);
    expect(env.JOB_calc_project).toBe(String(S.projectId));
    expect(env.JOB_calc_token).toBe(serviceKey.token);
    expect(Object.keys(env).some((k) => k.startsWith('RNDFLOW_SECRET_') || k.startsWith('KEYPORT_'))).toBe(false);
  });

  it('a job built with fromSecrets posts a package with the imported key', async () => {
    const r = await run([...target(), '--', process.execPath, '--import', 'tsx', FIXTURE], {
      KEYPORT_TOKEN: runnerKey.token,
      KEYPORT_SERVER: server,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { layer: number; id: number; project: string; input: string };
    expect(out).toMatchObject({ project: String(S.projectId), input: String(S.input) });
    const pkg = await t.app.ctx.k.selectFrom('packages').selectAll().where('id', '=', out.id).executeTakeFirstOrThrow();
    expect(pkg).toMatchObject({
      project_id: S.projectId,
      node_id: S.input,
      data_layer_id: out.layer,
      label: 'from-keyport-run',
      created_by_key_id: serviceKey.keyId,
    });
    const layer = await t.app.ctx.k
      .selectFrom('data_layers')
      .selectAll()
      .where('id', '=', out.layer)
      .executeTakeFirstOrThrow();
    expect(layer).toMatchObject({ kind: 'personal', user_id: client.user.id });
  });

  it('forwards the exit code', async () => {
    const r = await run([...target(), '--', 'node', '-e', 'process.exit(7)'], { KEYPORT_TOKEN: runnerKey.token });
    expect(r.code).toBe(7);
  });

  it('forwards signals to the command and ends the way the command ended', async () => {
    const script =
      "process.on('SIGTERM', () => { process.stdout.write('got SIGTERM'); process.exit(42); }); process.stdout.write('ready\\n'); setInterval(() => {}, 1000);";
    const { child, done } = start([...target(), '--', 'node', '-e', script], { KEYPORT_TOKEN: runnerKey.token });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the command never became ready')), 20_000);
      child.stdout?.on('data', (d: Buffer) => {
        if (String(d).includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGTERM');
    const r = await done;
    expect(r.stdout).toContain('got SIGTERM');
    expect(r.code).toBe(42);

    const killed = await run([...target(), '--', 'node', '-e', "process.kill(process.pid, 'SIGKILL')"], {
      KEYPORT_TOKEN: runnerKey.token,
    });
    expect(killed.signal).toBe('SIGKILL');
  });

  it('explains 401, 403 and 404 without echoing the credentials, and does not run the command', async () => {
    const marker = "process.stdout.write('COMMAND-RAN')";
    const bogus = 'eyJhbGciOiJFZERTQSJ9.eyJqdGkiOiJib2d1cyJ9.bogus-signature-value-1234567890';
    const r401 = await run([...target(), '--', 'node', '-e', marker], { KEYPORT_TOKEN: bogus });
    expect(r401.code).toBe(125);
    expect(r401.stdout).toBe('');
    expect(r401.stderr).toMatch(/did not accept the credentials in KEYPORT_TOKEN \(401 INVALID_KEY/);
    expect(r401.stderr).not.toContain('bogus-signature-value');

    // a revoked real key: 401, and its token never printed
    const revoked = await issueKey(t, client, client, {
      projectId: C.projectId,
      permissions: { project: ['project_view'], nodes: { [C.compute]: ['code_edit'] } },
    });
    expect((await client.del(`/api/projects/${C.projectId}/issued-keys/${revoked.keyId}`)).statusCode).toBeLessThan(
      300,
    );
    const rRevoked = await run([...target(), '--', 'node', '-e', marker], { KEYPORT_TOKEN: revoked.token });
    expect(rRevoked.code).toBe(125);
    expect(rRevoked.stderr).toContain('401');
    expect(rRevoked.stderr + rRevoked.stdout).not.toContain(revoked.token.split('.')[2]);

    // a key without code_edit on that node
    const viewOnly = await issueKey(t, client, client, {
      projectId: C.projectId,
      permissions: { project: ['project_view'] },
    });
    const r403 = await run([...target(), '--', 'node', '-e', marker], { KEYPORT_TOKEN: viewOnly.token });
    expect(r403.code).toBe(125);
    expect(r403.stdout).toBe('');
    expect(r403.stderr).toMatch(/access denied to the secrets of node \d+ of project \d+ \(403 FORBIDDEN/);
    expect(r403.stderr).toContain('code_edit');
    expect(r403.stderr).not.toContain(viewOnly.token.split('.')[2]);

    // another project (the key sees only its own), and a node that does not exist
    const r404 = await run([...target(S.projectId, S.input), '--', 'node', '-e', marker], {
      KEYPORT_TOKEN: runnerKey.token,
    });
    expect(r404.code).toBe(125);
    expect(r404.stderr).toMatch(/was not found, or is not visible/);
    // (the owner's session: project-wide code_edit, so the missing node answers 404, not 403)
    const r404node = await run([...target(C.projectId, 999999), '--', 'node', '-e', marker], {
      KEYPORT_SESSION: client.cookie,
    });
    expect(r404node.code).toBe(125);
    expect(r404node.stderr).toContain('404');
    for (const r of [r404, r404node]) {
      expect(r.stdout).toBe('');
      expect(r.stderr).not.toContain(runnerKey.token.split('.')[2]);
      expect(r.stderr).not.toContain(client.cookie);
    }

    // a bad session cookie
    const rSession = await run([...target(), '--', 'node', '-e', marker], {
      KEYPORT_SESSION: 'not-a-session-cookie-xyz',
    });
    expect(rSession.code).toBe(125);
    expect(rSession.stderr).not.toContain('not-a-session-cookie-xyz');
  });

  it('reports usage errors, an unreachable server and a missing command clearly', async () => {
    const env = { KEYPORT_TOKEN: runnerKey.token };
    const cases: [string[], Record<string, string>, number, RegExp][] = [
      [['run', '--project', '1', '--node', '1', '--', 'true'], env, 2, /--server is required/],
      [[...target(), 'node'], env, 2, /unknown option "node" \(put the command after --\)/],
      [[...target(), '--'], env, 2, /give the command to run after --/],
      [
        ['run', '--server', server, '--project', 'abc', '--node', '1', '--', 'true'],
        env,
        2,
        /--project must be a positive integer/,
      ],
      [[...target(), '--prefix', 'bad-prefix', '--', 'true'], env, 2, /--prefix may contain only/],
      [[...target(), '--', 'true'], {}, 2, /set KEYPORT_TOKEN/],
      [['fly'], env, 2, /unknown command "fly"/],
      [
        ['run', '--server', 'http://127.0.0.1:1', '--project', '1', '--node', '1', '--', 'true'],
        env,
        125,
        /cannot reach http:\/\/127\.0\.0\.1:1/,
      ],
      [
        [...target(), '--', 'definitely-not-a-command-4711'],
        env,
        127,
        /cannot run "definitely-not-a-command-4711": command not found/,
      ],
    ];
    for (const [args, e, code, message] of cases) {
      const r = await run(args, e);
      expect([args.join(' '), r.code]).toEqual([args.join(' '), code]);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toContain(runnerKey.token.split('.')[2]);
    }
    const help = await run(['--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('keyport run --server URL --project P --node N');
  });
});
