// Faults at start-up, on the real server process (src/main.ts): PostgreSQL not reachable yet
// (a TCP proxy that is not listening stands in for it), the timeout, a database that can never work,
// and an unusable SQLite data directory. The database URL carries a password that must never be
// printed (trust authentication ignores it).
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { createPgSchema, dropPgSchema, PG_URL } from './helpers.js';
import { TcpProxy } from './tcp-proxy.js';

const SERVER_DIR = fileURLToPath(new URL('..', import.meta.url));
const PASSWORD = 's3cr3t-pw';
const NO_STACK = /\n\s+at /; // "    at fn (file:line)": a stack trace on the console

interface ServerProc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** resolves the first match of re in stdout+stderr (rejects on timeout or exit without it) */
  waitFor(re: RegExp, ms?: number): Promise<RegExpExecArray>;
}

const running: ChildProcess[] = [];
const tmpDirs: string[] = [];

function startServer(env: Record<string, string>): ServerProc {
  const dataDir = env.KEYPORT_DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-faults-'));
  if (!env.KEYPORT_DATA_DIR) tmpDirs.push(dataDir);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: SERVER_DIR,
    env: {
      ...process.env,
      PORT: '0',
      KEYPORT_HOST: '127.0.0.1',
      KEYPORT_DEMO: '0',
      KEYPORT_LOG_LEVEL: 'info', // everything the server logs is checked for the password
      KEYPORT_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
      KEYPORT_DATA_DIR: dataDir,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));
  return {
    child,
    output: () => out,
    exited,
    async waitFor(re, ms = 30_000) {
      const end = Date.now() + ms;
      for (;;) {
        const m = re.exec(out);
        if (m) return m;
        if (exitCode !== undefined) throw new Error(`server exited (${exitCode}) before ${re}:\n${out}`);
        if (Date.now() > end) throw new Error(`timed out waiting for ${re}:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

async function exitCodeWithin(p: ServerProc, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)));
  const code = await Promise.race([p.exited, timeout]);
  clearTimeout(timer);
  if (code === 'timeout') throw new Error(`server still running after ${ms} ms:\n${p.output()}`);
  return code;
}

afterEach(async () => {
  for (const c of running.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await new Promise((r) => c.once('exit', r));
    }
  }
});
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('KEYPORT_DB_CONNECT_TIMEOUT_SECONDS', () => {
  it('defaults to 60 s, accepts 0 (one attempt) and refuses anything else with a message naming it', () => {
    expect(loadConfig({}).dbConnectTimeoutSeconds).toBe(60);
    expect(loadConfig({ KEYPORT_DB_CONNECT_TIMEOUT_SECONDS: '0' }).dbConnectTimeoutSeconds).toBe(0);
    for (const bad of ['-1', '1.5', 'soon', '3601']) {
      expect(() => loadConfig({ KEYPORT_DB_CONNECT_TIMEOUT_SECONDS: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ KEYPORT_DB_CONNECT_TIMEOUT_SECONDS: bad })).toThrow(
        'KEYPORT_DB_CONNECT_TIMEOUT_SECONDS',
      );
    }
  });
});

describe('SQLite: unusable data directory', () => {
  it('exits 1 at once with a message naming the directory and the setting, no stack trace', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-faults-'));
    tmpDirs.push(dir);
    const notADir = path.join(dir, 'not-a-directory');
    fs.writeFileSync(notADir, 'a file where the data directory should be');
    const p = startServer({ DATABASE_URL: '', KEYPORT_DATA_DIR: notADir });
    expect(await exitCodeWithin(p, 30_000)).toBe(1);
    expect(p.output()).toContain(`keyport: cannot open the SQLite database in ${notADir} (EEXIST`);
    expect(p.output()).toContain('KEYPORT_DATA_DIR must be a writable directory');
    expect(p.output()).not.toMatch(NO_STACK);
    expect(p.output()).not.toContain('retrying');
  });
});

describe.skipIf(!PG_URL)('PostgreSQL unavailable at start', () => {
  let schema: string;
  let proxy: TcpProxy;
  let url: string;
  let target: string;

  beforeAll(async () => {
    schema = await createPgSchema();
    const pgUrl = new URL(PG_URL as string);
    proxy = await TcpProxy.create(
      { host: pgUrl.hostname, port: Number(pgUrl.port || 5432) },
      { listening: false }, // the database is "down" when the server starts
    );
    const u = new URL(PG_URL as string);
    u.username = 'postgres';
    u.password = PASSWORD;
    url = proxy.url(u.toString());
    target = `127.0.0.1:${proxy.port}`;
    expect(url).toContain(PASSWORD);
  });
  afterAll(async () => {
    await proxy?.close();
    if (schema) await dropPgSchema(schema);
  });
  afterEach(() => proxy.close());

  const pgEnv = (timeout: string, databaseUrl = url) => ({
    DATABASE_URL: databaseUrl,
    PGOPTIONS: `-c search_path=${schema}`,
    KEYPORT_DB_CONNECT_TIMEOUT_SECONDS: timeout,
  });
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  it('retries with growing delays, never prints the password, and serves once the database is up', async () => {
    const p = startServer(pgEnv('60'));
    const retry = new RegExp(
      `^keyport: database unavailable at ${esc(target)} \\(ECONNREFUSED\\), retrying in ([\\d.]+) s$`,
      'gm',
    );
    const delays = () => [...p.output().matchAll(retry)].map((m) => Number(m[1]));
    // three attempts failed: backoff doubles from 250 ms
    await p.waitFor(/retrying in 1 s$/m);
    expect(delays().slice(0, 3)).toEqual([0.25, 0.5, 1]);
    expect(p.output()).not.toMatch(/running at/);

    await proxy.open(); // the database comes up
    const ready = await p.waitFor(/running at http:\/\/localhost:(\d+)/, 30_000);
    expect(p.output()).toMatch(new RegExp(`keyport: database reachable at ${esc(target)} \\(attempt \\d+\\)`));
    const res = await fetch(`http://127.0.0.1:${ready[1]}/api/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });

    p.child.kill('SIGTERM');
    expect(await exitCodeWithin(p, 20_000)).toBe(0);
    expect(p.output()).not.toContain(PASSWORD);
    expect(p.output()).not.toContain('postgres://');
    expect(p.output()).not.toMatch(NO_STACK);
  });

  it('gives up after KEYPORT_DB_CONNECT_TIMEOUT_SECONDS: exit code 1 and a clear message', async () => {
    const p = startServer(pgEnv('2'));
    await p.waitFor(/database unavailable at/); // the process is up and trying: time the give-up from here
    const t0 = Date.now();
    expect(await exitCodeWithin(p, 20_000)).toBe(1);
    expect(Date.now() - t0).toBeGreaterThan(1000); // ≈ 2 s minus the time to the first attempt
    expect(p.output()).toMatch(
      new RegExp(
        `^keyport: database unavailable at ${esc(target)} \\(ECONNREFUSED\\); gave up after \\d+ attempts in [\\d.]+ s ` +
          '\\(KEYPORT_DB_CONNECT_TIMEOUT_SECONDS=2\\)\\. Check DATABASE_URL and that the database is running\\.$',
        'm',
      ),
    );
    expect(p.output()).not.toContain(PASSWORD);
    expect(p.output()).not.toMatch(NO_STACK);
  });

  it('KEYPORT_DB_CONNECT_TIMEOUT_SECONDS=0 tries once', async () => {
    const p = startServer(pgEnv('0'));
    expect(await exitCodeWithin(p, 20_000)).toBe(1);
    expect(p.output()).toContain(
      `keyport: database unavailable at ${target} (ECONNREFUSED); gave up after 1 attempt in`,
    );
    expect(p.output()).not.toContain('retrying');
    expect(p.output()).not.toContain(PASSWORD);
  });

  it('does not wait for a database that answers but can never work (missing database): exits 1 at once', async () => {
    await proxy.open();
    const missing = new URL(url);
    missing.pathname = '/keyport_no_such_database';
    const p = startServer(pgEnv('60', missing.toString()));
    expect(await exitCodeWithin(p, 20_000)).toBe(1);
    expect(p.output()).toContain(
      `keyport: cannot use the database at ${target}: 3D000 database "keyport_no_such_database" does not exist`,
    );
    expect(p.output()).not.toContain('retrying');
    expect(p.output()).not.toContain(PASSWORD);
    expect(p.output()).not.toMatch(NO_STACK);
  });
});
