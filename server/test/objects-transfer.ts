// Large transfers against a Keyport server running as its own process, for the memory test and
// the benchmark (bench/objects.ts): the server is started with `src/main.ts`, a person signs up
// and makes a project over HTTP, and bytes go up and down over real sockets while the server's
// resident memory is sampled from /proc.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
const SERVER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** `total` bytes as one random 1 MiB block over and over: no memory or CPU spent making them. */
export class Payload {
  readonly block = randomBytes(MiB);
  readonly sha256: string;

  constructor(readonly total: number) {
    const h = createHash('sha256');
    for (const c of this.chunks()) h.update(c);
    this.sha256 = h.digest('hex');
  }

  *chunks(): Generator<Buffer> {
    for (let off = 0; off < this.total; off += MiB) {
      yield off + MiB <= this.total ? this.block : this.block.subarray(0, this.total - off);
    }
  }
}

export interface Timed {
  status: number;
  ms: number;
  body: string;
}

/** PUT of the payload with Content-Length, honouring the socket's backpressure. */
export function putPayload(url: string, payload: Payload, headers: Record<string, string> = {}): Promise<Timed> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-length': payload.total, ...headers },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, body }));
    });
    const chunks = payload.chunks();
    const pump = () => {
      for (;;) {
        const next = chunks.next();
        if (next.done) return void req.end();
        if (!req.write(next.value)) return void req.once('drain', pump);
      }
    };
    pump();
  });
}

/** GET, hashing what arrives (never holding it); returns its length and sha256. */
export function getHashed(url: string): Promise<Timed & { bytes: number; sha256: string }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const h = createHash('sha256');
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          h.update(c);
        });
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            ms: performance.now() - t0,
            body: '',
            bytes,
            sha256: h.digest('hex'),
          }),
        );
      })
      .on('error', reject);
  });
}

/** Resident set size of a process, bytes (VmRSS). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Samples a process's RSS every `everyMs` until stopped; `max()` is the peak seen. */
export class RssSampler {
  private peak = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(
    private readonly pid: number,
    everyMs = 50,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }
  private sample() {
    try {
      this.peak = Math.max(this.peak, rssOf(this.pid));
    } catch {
      /* exited */
    }
  }
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

export interface KeyportProcess {
  url: string;
  proc: ChildProcess;
  output: string[];
  stop(): Promise<void>;
}

/** `node --import tsx src/main.ts` with `env` (PORT, KEYPORT_DATA_DIR, …); resolves once it listens. */
export async function startKeyport(env: Record<string, string>, nodeArgs: string[] = []): Promise<KeyportProcess> {
  const proc = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/main.ts'], {
    cwd: SERVER_DIR,
    env: { ...process.env, KEYPORT_DEMO: '0', KEYPORT_LOG_LEVEL: 'warn', KEYPORT_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`keyport did not start:\n${output.join('')}`)), 60_000);
    const onData = (c: Buffer) => {
      output.push(c.toString());
      if (output.join('').includes('Keyport is running at')) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`keyport exited with ${code}:\n${output.join('')}`));
    });
  });
  return {
    url: `http://127.0.0.1:${env.PORT}`,
    proc,
    output,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** A signed-in owner of a fresh project on a running server, with the calls a transfer needs. */
export async function ownerOf(server: string) {
  const signup = await fetch(`${server}/api/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      email: `big-${randomBytes(4).toString('hex')}@example.test`,
      password: 'correct horse battery',
      name: 'Big',
    }),
  });
  if (signup.status !== 201) throw new Error(`signup: ${signup.status} ${await signup.text()}`);
  const cookie = (signup.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const csrf = ((await signup.json()) as { csrf_token: string }).csrf_token;
  const call = async (method: string, p: string, body?: object) => {
    const res = await fetch(`${server}/api${p}`, {
      method,
      headers: { cookie, 'x-csrf-token': csrf, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<unknown>;
  };
  const project = (await call('POST', '/projects', { name: 'Big files' })) as { id: number };
  const node = (await call('POST', `/projects/${project.id}/nodes`, { name: 'in', kind: 'input' })) as { id: number };
  return {
    /** the signed upload link, or null when the project's layer holds the object */
    uploadLink: (sha256: string) => call('PUT', `/projects/${project.id}/objects/${sha256}`) as Promise<string | null>,
    /** a package referencing the object; returns its signed download URL */
    async downloadLink(sha256: string, size: number): Promise<string> {
      const files = [{ name: 'big.bin', content_hash: sha256, size, type: 'application/octet-stream' }];
      const pkg = (await call('POST', `/projects/${project.id}/nodes/${node.id}/packages`, { files })) as {
        id: number;
      };
      const list = (await call('GET', `/projects/${project.id}/nodes/${node.id}/packages/${pkg.id}/files`)) as {
        content: string;
      }[];
      return list[0]?.content as string;
    },
  };
}
