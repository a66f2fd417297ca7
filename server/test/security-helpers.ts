// Shared by the security-*.test.ts files: a tally of hostile cases, JWT forging
// helpers, a world of two projects with members and key holders, and an app serving a UI.
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { grant } from './dataplane-helpers.js';
import { addMember, makeProject, makeTestApp, signUp, type TestApp, type UserSession } from './helpers.js';
import { type IssuedKey, issueKey } from './keys-helpers.js';

// ---------------------------------------------------------------------------------------------
// Tally: every hostile request goes through `rejects()`, which counts it and checks the outcome.

type Res = { statusCode: number; body: string; headers: Record<string, unknown> };

export class Tally {
  tried = 0;
  rejected = 0;
  constructor(readonly area: string) {}

  /** Counts one hostile case and checks it was refused with `status` (one of) and `code`. */
  rejects(label: string, res: Res, status: number | number[], code?: string | string[]): void {
    this.tried += 1;
    const statuses = Array.isArray(status) ? status : [status];
    let got: string | undefined;
    try {
      got = (JSON.parse(res.body) as { error?: { code?: string } }).error?.code;
    } catch {
      got = undefined;
    }
    const codes = code === undefined ? undefined : Array.isArray(code) ? code : [code];
    const ok = statuses.includes(res.statusCode) && (codes === undefined || (got !== undefined && codes.includes(got)));
    expect(
      ok,
      `${label}: expected ${statuses.join('|')} ${codes?.join('|') ?? ''}, got ${res.statusCode} ${res.body.slice(0, 300)}`,
    ).toBe(true);
    expect(res.body, `${label}: error body leaks internals`).not.toMatch(
      /\bat .+\(.+:\d+:\d+\)|node_modules|\/src\/|SELECT |INSERT |sqlite|postgres/i,
    );
    this.rejected += 1;
  }

  /** A hostile case checked by hand (e.g. a dropped connection, no outbound request). */
  manual(label: string, ok: boolean): void {
    this.tried += 1;
    expect(ok, label).toBe(true);
    this.rejected += 1;
  }

  /** Prints this file's count and the total over the security files finished so far in this run. */
  report(): void {
    const line = `SECURITY [${this.area}]: ${this.tried} hostile cases tried, ${this.rejected} rejected as expected`;
    let total = '';
    try {
      const file = path.join(os.tmpdir(), `keyport-security-tally-${runId()}.jsonl`);
      fs.appendFileSync(file, `${JSON.stringify({ area: this.area, tried: this.tried, rejected: this.rejected })}\n`);
      const rows = fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { area: string; tried: number; rejected: number });
      const tried = rows.reduce((s, r) => s + r.tried, 0);
      const rejected = rows.reduce((s, r) => s + r.rejected, 0);
      total = `\nSECURITY (${rows.map((r) => r.area).join(' + ')}): ${tried} hostile cases tried, ${rejected} rejected as expected`;
    } catch {
      /* the per-file line is enough */
    }
    console.log(line + total);
  }
}

/** The vitest run: its main process id and start time (pids are reused, start times are not). */
function runId(): string {
  const ppid = process.ppid;
  try {
    const stat = fs.readFileSync(`/proc/${ppid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return `${ppid}-${fields[19]}`;
  } catch {
    return String(ppid);
  }
}

// ---------------------------------------------------------------------------------------------
// JWT helpers

export const b64 = (v: string | Buffer | object) =>
  Buffer.from(typeof v === 'string' || Buffer.isBuffer(v) ? v : JSON.stringify(v)).toString('base64url');

export function parts(token: string) {
  const [h, p, s] = token.split('.') as [string, string, string];
  return {
    h,
    p,
    s,
    header: JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>,
    claims: JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>,
  };
}

/** Signs header.payload with an Ed25519 key (ours or the server's, taken from its internals). */
export function edSign(key: KeyObject, header: object, claims: object): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
}

export const attackerKey = () => generateKeyPairSync('ed25519');

/** The server's active Ed25519 private key (in-process internals; the attacker never has it). */
export function serverKey(app: FastifyInstance): { kid: string; key: KeyObject } {
  const active = (app.ctx.signing as unknown as { active: { kid: string; key: KeyObject } }).active;
  return active;
}

// ---------------------------------------------------------------------------------------------
// A world: project A (owner, a viewer member, two key holders) and project B (its owner, a key holder).

export interface World {
  ownerA: UserSession;
  ownerB: UserSession;
  viewer: UserSession;
  holder1: UserSession;
  holder2: UserSession;
  holderB: UserSession;
  A: { projectId: number; input: number; compute: number; output: number };
  B: { projectId: number; input: number; compute: number; output: number };
  viewerRoleA: number;
  key1: IssuedKey;
  key2: IssuedKey;
  keyB: IssuedKey;
  layer1: number;
  layer2: number;
  sharedA: number;
  pkg1: number;
}

export const keyPermissions = (p: { input: number; output: number }) => ({
  project: ['project_view'],
  nodes: { [p.input]: ['package_create', 'package_view'], [p.output]: ['package_view', 'package_create'] },
});

export async function buildWorld(t: TestApp): Promise<World> {
  const ownerA = await signUp(t.app, 'OwnerA');
  const ownerB = await signUp(t.app, 'OwnerB');
  const viewer = await signUp(t.app, 'Viewer');
  const holder1 = await signUp(t.app, 'Holder1');
  const holder2 = await signUp(t.app, 'Holder2');
  const holderB = await signUp(t.app, 'HolderB');
  const A = await makeProject(ownerA, 'Alpha');
  const B = await makeProject(ownerB, 'Beta');
  // members with project_view only: no public role, so A stays invisible to everyone else
  const viewerRoleA = await grant(ownerA, A.projectId, viewer, { project: ['project_view'] }, 'viewer');
  for (const h of [holder1, holder2]) await addMember(ownerA, A.projectId, h, [viewerRoleA]);
  await grant(ownerB, B.projectId, holderB, { project: ['project_view'] }, 'viewer');
  const key1 = await issueKey(t, ownerA, holder1, { projectId: A.projectId, permissions: keyPermissions(A) });
  const key2 = await issueKey(t, ownerA, holder2, {
    projectId: A.projectId,
    permissions: keyPermissions(A),
    roleId: key1.roleId,
  });
  const keyB = await issueKey(t, ownerB, holderB, { projectId: B.projectId, permissions: keyPermissions(B) });
  const last = async (token: string) =>
    (
      await t.app.inject({
        method: 'GET',
        url: `/api/projects/${A.projectId}/data_layers/last`,
        headers: { authorization: `Bearer ${token}` },
      })
    ).json().id as number;
  const layer1 = await last(key1.token);
  const layer2 = await last(key2.token);
  const layers = (await ownerA.get(`/api/projects/${A.projectId}/data_layers`)).json() as {
    id: number;
    kind: string;
  }[];
  const sharedA = layers.find((l) => l.kind === 'shared')?.id as number;
  const pkg = await t.app.inject({
    method: 'POST',
    url: `/api/projects/${A.projectId}/nodes/${A.input}/packages?data_layer_id=${layer1}`,
    headers: { authorization: `Bearer ${key1.token}` },
    payload: { label: 'holder1 private', fields: { secret_answer: 42 } },
  });
  if (pkg.statusCode !== 200) throw new Error(`package: ${pkg.body}`);
  return {
    ownerA,
    ownerB,
    viewer,
    holder1,
    holder2,
    holderB,
    A,
    B,
    viewerRoleA,
    key1,
    key2,
    keyB,
    layer1,
    layer2,
    sharedA,
    pkg1: pkg.json().id,
  };
}

/** Bearer requests with any method and optional body. */
export function asKey(app: FastifyInstance, token: string) {
  return (method: string, url: string, body?: unknown): Promise<LightMyRequestResponse> =>
    app.inject({
      method: method as 'GET',
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(body !== undefined ? { payload: body as object } : {}),
    });
}

// ---------------------------------------------------------------------------------------------
// An app like makeTestApp's, with options makeTestApp does not take (a web UI directory).

export async function makeUiApp(env: Record<string, string> = {}, logLevel = 'info'): Promise<TestApp> {
  const webDist = fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-sec-web-'));
  fs.writeFileSync(path.join(webDist, 'index.html'), '<!doctype html><html><body><div id="app"></div></body></html>');
  fs.writeFileSync(path.join(webDist, 'app.js'), 'console.log(1)');
  const t = await makeTestApp({ env, logLevel, webDist });
  return {
    ...t,
    async close() {
      await t.close();
      fs.rmSync(webDist, { recursive: true, force: true });
    },
  };
}

/** Row of one table by id (mass-assignment checks look at what was stored). */
export async function row(app: FastifyInstance, table: string, id: number): Promise<Record<string, unknown>> {
  // biome-ignore lint/suspicious/noExplicitAny: test helper over every table
  return (app.ctx.k as any).selectFrom(table).selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** One-query row counts of every table (the harness's own). */
export { snapshot } from './helpers.js';
