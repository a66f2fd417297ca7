// SIGKILL under load: a real server process (src/main.ts) is killed while requests are
// in flight; the next start replays its journal. Every 200 the client received was journaled before
// it was sent, so: successes ≤ counted ≤ successes + requests in flight at the kill.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openDb } from '../src/db/dialect.js';
import { PG_URL, signUp, type TestApp } from './helpers.js';
import { issueKey } from './keys-helpers.js';
import { dbTotals, dropEnv, type Env, load, makeEnv, startApp } from './metering-helpers.js';

const SERVER_DIR = fileURLToPath(new URL('..', import.meta.url));

function startServer(env: Env): Promise<{ child: ChildProcess; port: number; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: SERVER_DIR,
    env: {
      ...process.env,
      PORT: '0',
      KEYPORT_HOST: '127.0.0.1',
      KEYPORT_DATA_DIR: env.dataDir,
      KEYPORT_DEMO: '0',
      KEYPORT_MASTER_KEY: env.masterKey.toString('base64'),
      KEYPORT_LOG_LEVEL: 'warn',
      KEYPORT_USAGE_FLUSH_MS: '200',
      ...(PG_URL ? { DATABASE_URL: PG_URL, PGOPTIONS: `-c search_path=${env.pgSchema}` } : { DATABASE_URL: '' }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 30_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /running at http:\/\/localhost:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), exited });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${out}`));
    });
  });
}

describe('SIGKILL under load', () => {
  it('loses nothing but requests in flight: successes ≤ counted ≤ successes + in flight', async () => {
    const env = await makeEnv();
    // keys issued through the API of an in-process app, then served by real server processes
    const setupApp = await startApp(env);
    const owner = await signUp(setupApp.app, 'Owner');
    const holder = await signUp(setupApp.app, 'Holder');
    const projectId = ((await owner.post('/api/projects', { name: 'Killed' })).json() as { id: number }).id;
    const t = { app: setupApp.app } as unknown as TestApp;
    const keys = [];
    for (const price of ['0.02', '0.000003']) {
      const k = await issueKey(t, owner, holder, { projectId, permissions: { project: ['project_view'] }, price });
      keys.push({ token: k.token, keyId: k.keyId });
    }
    await setupApp.close();

    // two instances on the same data directory and database; A takes the load and is killed
    const [a, b] = await Promise.all([startServer(env), startServer(env)]);
    const run = load({ port: () => a.port, keys, concurrency: 24, total: 1_000_000 });
    while (run.successes < 600) await new Promise((r) => setTimeout(r, 5));
    const inflight = run.state.inflight;
    a.child.kill('SIGKILL');
    run.stop();
    await a.exited;
    await run.done;
    const journal = path.join(env.dataDir, 'usage-journal');
    const segments = () => fs.readdirSync(journal).filter((f) => f.endsWith('.jnl'));
    expect(segments().length).toBeGreaterThan(0); // A's counts, not yet in the database

    // B adopts the dead instance's journal (periodically, and at the latest when it stops)
    b.child.kill('SIGTERM'); // graceful: adopts orphans and drains to the database
    expect(await b.exited).toBe(0);

    const db = openDb({
      databaseUrl: PG_URL,
      dataDir: env.dataDir,
      ...(env.pgSchema ? { pgSchema: env.pgSchema } : {}),
    });
    const totals = await dbTotals(db);
    await db.close();
    let counted = 0;
    for (const k of keys) {
      const n = totals.get(k.keyId)?.n ?? 0;
      expect(n, `key ${k.keyId}`).toBeGreaterThanOrEqual(run.ok.get(k.keyId) ?? 0);
      counted += n;
    }
    console.info(`SIGKILL: ${run.successes} successes, ${counted} counted, ${inflight} in flight at the kill`);
    expect(counted - run.successes).toBeLessThanOrEqual(inflight);
    expect(fs.readdirSync(journal)).toEqual([]); // replayed and removed (with the dead instances' alive files)
    await dropEnv(env);
  });
});
