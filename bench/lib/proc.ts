// Child processes of the benchmark: the servers under test (pinned to one core) and the load
// generator (pinned to the other), so neither steals the other's CPU.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadResult, LoadSpec } from '../load-worker.js';

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT_DIR = path.resolve(BENCH_DIR, '..');
export const SERVER_DIR = path.join(ROOT_DIR, 'server');

const hasTaskset = spawnSync('taskset', ['-V']).status === 0;
const cores = (await import('node:os')).availableParallelism();
/** CPU for servers and CPU for the load generator (the same when there is one core). */
export const SERVER_CPU = 0;
export const LOAD_CPU = cores > 1 ? 1 : 0;
export const pinning = hasTaskset
  ? `server on CPU ${SERVER_CPU}, load generator on CPU ${LOAD_CPU} (taskset)`
  : 'not pinned (no taskset)';

function pinned(cpu: number, cmd: string, args: string[]): [string, string[]] {
  return hasTaskset ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args];
}

export interface Server {
  name: string;
  url: string;
  proc: ChildProcess;
  /** everything the process printed (for READY lines and failure reports) */
  output: string[];
  stop(): Promise<void>;
}

/**
 * Starts `node [nodeArgs] --import tsx <script>` on the server CPU and waits until it prints a line
 * matching `ready`; the first capture group is the base URL.
 */
export async function startProcess(opts: {
  name: string;
  script: string;
  cwd: string;
  env: Record<string, string>;
  ready: RegExp;
  nodeArgs?: string[];
  timeoutMs?: number;
}): Promise<Server & { match: RegExpMatchArray }> {
  const [cmd, args] = pinned(SERVER_CPU, process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', opts.script]);
  const proc = spawn(cmd, args, {
    cwd: opts.cwd,
    env: { ...process.env, NODE_ENV: 'production', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${opts.name} did not start in time:\n${output.join('')}`)),
      opts.timeoutMs ?? 60_000,
    );
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output.push(text);
      if (output.length > 200) output.splice(0, output.length - 200);
      const m = output.join('').match(opts.ready);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${opts.name} exited with ${code} before it was ready:\n${output.join('')}`));
    });
  });
  // keep draining the pipes so the server never blocks on a full stdout
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
  };
  return { name: opts.name, url: (match[1] ?? '').replace(/\/$/, ''), proc, output, stop, match };
}

const CLK_TCK = (() => {
  try {
    return Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system) a process has used so far, in µs; null when /proc is not readable. */
export function cpuTimeUs(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11], fields[12] = utime, stime (the 14th and 15th fields of the whole line)
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLK_TCK;
  } catch {
    return null;
  }
}

export interface MeasuredLoad extends LoadResult {
  /** server CPU time per successful request, µs (robust to other load on the machine) */
  cpuUsPerRequest: number | null;
  /** server CPU used during the run as a share of one core (≈1 = the server was the bottleneck) */
  serverCpu: number | null;
}

/** A load run; when `serverPid` is given, also the server's CPU time per request. */
export async function runMeasured(spec: LoadSpec, serverPid?: number): Promise<MeasuredLoad> {
  const before = serverPid ? cpuTimeUs(serverPid) : null;
  const r = await runLoad(spec);
  const after = serverPid ? cpuTimeUs(serverPid) : null;
  const used = before !== null && after !== null ? after - before : null;
  return {
    ...r,
    cpuUsPerRequest: used !== null && r.ok > 0 ? used / r.ok : null,
    serverCpu: used !== null && r.seconds > 0 ? used / 1e6 / r.seconds : null,
  };
}

/** One load run from a separate process on the load CPU. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const [cmd, args] = pinned(LOAD_CPU, process.execPath, [
    '--import',
    'tsx',
    path.join(BENCH_DIR, 'load-worker.ts'),
    JSON.stringify(spec),
  ]);
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: BENCH_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    p.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    p.once('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`load generator failed (${code}): ${err || out}`));
      else resolve(JSON.parse(line) as LoadResult);
    });
  });
}

/** Runs a script to completion in its own process (memory figures need a clean heap and --expose-gc). */
export function runScript(
  script: string,
  nodeArgs: string[],
  env: Record<string, string>,
  opts: { onServerCpu?: boolean } = {},
): Promise<string> {
  const argv = [...nodeArgs, '--import', 'tsx', path.join(BENCH_DIR, script)];
  const [cmd, args] = opts.onServerCpu ? pinned(SERVER_CPU, process.execPath, argv) : [process.execPath, argv];
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, {
      cwd: BENCH_DIR,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    p.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${script} failed (${code})`))));
  });
}
