// `KEYPORT_WORKERS=N npm start`: N worker processes share one port on PostgreSQL; SQLite
// refuses N > 1 with a clear message. The process test is PostgreSQL only (skipped on SQLite).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { workersProblem } from '../src/cluster.js';
import { loadConfig } from '../src/config.js';
import { createPgSchema, dropPgSchema, freePort, PG_URL } from './helpers.js';
import { sleep } from './scaleout-helpers.js';

const serverDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsxCli = path.join(path.dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist/cli.mjs');

describe('KEYPORT_WORKERS configuration', () => {
  it('refuses several workers on the embedded SQLite database, with a message saying why', () => {
    const problem = workersProblem(loadConfig({ KEYPORT_WORKERS: '4' }, '/tmp'));
    expect(problem).toMatch(/KEYPORT_WORKERS=4 needs PostgreSQL/);
    expect(problem).toMatch(/DATABASE_URL/);
    expect(workersProblem(loadConfig({ KEYPORT_WORKERS: '1' }, '/tmp'))).toBeNull();
    expect(
      workersProblem(loadConfig({ KEYPORT_WORKERS: '4', DATABASE_URL: 'postgres://db/keyport' }, '/tmp')),
    ).toBeNull();
  });
});

describe.skipIf(!PG_URL)('KEYPORT_WORKERS=2 on PostgreSQL: one port, two worker processes', () => {
  let child: ChildProcess | null = null;
  let schema: string | null = null;
  let dataDir: string | null = null;

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (schema) await dropPgSchema(schema);
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts N workers behind one port, serves from both, and stops them all on SIGTERM', async () => {
    schema = await createPgSchema();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-cluster-'));
    const port = await freePort();
    const url = new URL(PG_URL as string);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const proc = spawn(process.execPath, [tsxCli, 'src/main.ts'], {
      cwd: serverDir,
      env: {
        ...process.env,
        DATABASE_URL: url.toString(),
        KEYPORT_WORKERS: '2',
        PORT: String(port),
        KEYPORT_HOST: '127.0.0.1',
        KEYPORT_DATA_DIR: dataDir,
        KEYPORT_DEMO: '0',
        KEYPORT_LOG_LEVEL: 'warn',
        KEYPORT_MASTER_KEY: randomBytes(32).toString('base64'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let out = '';
    proc.stdout?.on('data', (d) => (out += String(d)));
    proc.stderr?.on('data', (d) => (out += String(d)));
    const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));

    // tsx compiles the sources in every worker: slow on a loaded machine.
    const deadline = Date.now() + 150_000;
    while (!/Keyport is running at .* with 2 workers/.test(out)) {
      if (proc.exitCode !== null) throw new Error(`exited early (${proc.exitCode}): ${out}`);
      if (Date.now() > deadline) throw new Error(`no banner: ${out}`);
      await sleep(200);
    }
    const pids = [...out.matchAll(/worker \d+ \(pid (\d+)\) listening on port (\d+)/g)].map((m) => {
      expect(Number(m[2])).toBe(port);
      return Number(m[1]);
    });
    expect(new Set(pids).size).toBe(2);

    // New connections are spread over the workers by the primary; every one answers.
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/api/health`, { headers: { connection: 'close' } });
      expect(res.status).toBe(200);
    }
    // Writes work through the cluster (the schema was migrated once, by the primary).
    const signup = await fetch(`http://127.0.0.1:${port}/api/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', connection: 'close' },
      body: JSON.stringify({ email: 'cluster@example.test', password: 'correct horse battery', name: 'C' }),
    });
    expect(signup.status).toBe(201);

    proc.kill('SIGTERM');
    const code = await Promise.race([exited, sleep(45_000).then(() => 'timeout' as const)]);
    expect(code).toBe(0);
    for (const pid of pids) {
      expect(() => process.kill(pid, 0)).toThrow(); // the workers are gone too
    }
  }, 240_000);
});
