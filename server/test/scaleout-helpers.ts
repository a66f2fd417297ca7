// Helpers for the scale-out tests: several real instances (HTTP on 127.0.0.1) on one PostgreSQL schema.
import { randomBytes } from 'node:crypto';
import type { PgEventTransport } from '../src/lib/pg-events.js';
import type { KeyDirectory } from '../src/modules/keys/authenticator.js';
import { createPgSchema, dropPgSchema, makeTestApp, type TestApp, type UserSession } from './helpers.js';

export interface Instance {
  name: string;
  t: TestApp;
  url: string;
  transport: PgEventTransport;
  directory: KeyDirectory;
}

export interface Cluster {
  schema: string;
  instances: Instance[];
  close(): Promise<void>;
}

/** `n` apps on one fresh schema with one master key, each listening on its own port. */
export async function startCluster(
  n: number,
  env: Record<string, string> | ((i: number) => Record<string, string>),
): Promise<Cluster> {
  const schema = await createPgSchema();
  const masterKey = randomBytes(32);
  const instances: Instance[] = [];
  // One after the other: the first migrates the schema and creates the signing key.
  for (let i = 0; i < n; i++) {
    const t = await makeTestApp({ pgSchema: schema, masterKey, env: typeof env === 'function' ? env(i) : env });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = t.app.server.address() as { port: number };
    instances.push({
      name: String.fromCharCode(65 + i),
      t,
      url: `http://127.0.0.1:${addr.port}`,
      transport: t.app.ctx.events.transport as PgEventTransport,
      directory: t.app.keyAuth as unknown as KeyDirectory,
    });
  }
  return {
    schema,
    instances,
    async close() {
      for (const i of instances) await i.t.close();
      await dropPgSchema(schema);
    },
  };
}

export interface HttpResult {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes, read by the tests
  body: any;
}

/** Real HTTP (keep-alive) to one instance. */
export async function http(
  base: string,
  method: string,
  url: string,
  opts: { token?: string; session?: UserSession; body?: unknown } = {},
): Promise<HttpResult> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.session) {
    headers.cookie = `keyport_session=${opts.session.cookie}`;
    headers['x-csrf-token'] = opts.session.csrf;
  }
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + url, {
    method,
    headers,
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitUntil(
  cond: () => boolean | Promise<boolean>,
  what: string,
  ms = 10_000,
  every = 20,
): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(every);
  }
}

/** Nearest-rank percentile. */
export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}

export function summary(values: number[]) {
  const r = (v: number) => Math.round(v * 10) / 10;
  return {
    n: values.length,
    p50: r(percentile(values, 50)),
    p99: r(percentile(values, 99)),
    max: r(Math.max(...values)),
  };
}
