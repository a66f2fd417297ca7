// Scale-out: three instances on one PostgreSQL schema, real HTTP on 127.0.0.1.
// Revocations and role changes must reach every instance within 1 s (p99) and never later than the
// cache TTL; a lost LISTEN connection falls back to TTL polling, reconnects and flushes; usage from
// all instances adds up exactly. PostgreSQL only (TEST_DATABASE_URL); skipped on SQLite.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelFor, parseNotice } from '../src/lib/pg-events.js';
import { isBilled } from '../src/modules/usage/meter.js';
import { makeProject, PG_URL, signUp, type UserSession } from './helpers.js';
import { type IssuedKey, issueKey } from './keys-helpers.js';
import {
  type Cluster,
  type HttpResult,
  http,
  type Instance,
  sleep,
  startCluster,
  summary,
  waitUntil,
} from './scaleout-helpers.js';

const TTL_S = 5;
const TTL_MS = TTL_S * 1000;
const ROUNDS = 20;
const POLL_MS = 5;

describe('invalidation notices (format)', () => {
  it('accepts only well-formed events; anything else on the channel is dropped', () => {
    const ok = (e: unknown) => JSON.stringify({ i: 'abc', e });
    expect(parseNotice(ok({ type: 'key', keyId: 7 }))).toEqual({ from: 'abc', event: { type: 'key', keyId: 7 } });
    expect(parseNotice(ok({ type: 'role', roleId: 3 }))?.event).toEqual({ type: 'role', roleId: 3 });
    expect(parseNotice(ok({ type: 'project', projectId: 1 }))?.event).toEqual({ type: 'project', projectId: 1 });
    expect(parseNotice(ok({ type: 'all', extra: 1 }))?.event).toEqual({ type: 'all' });
    for (const bad of [
      undefined,
      '',
      'not json',
      '[]',
      JSON.stringify({ e: { type: 'all' } }),
      ok({ type: 'key', keyId: '7' }),
      ok({ type: 'key', keyId: -1 }),
      ok({ type: 'key', keyId: 1.5 }),
      ok({ type: 'role' }),
      ok({ type: 'drop-table' }),
      ok(null),
      ok({ type: 'all' }).padEnd(9000, ' '),
    ]) {
      expect(parseNotice(bad)).toBeNull();
    }
  });

  it('uses one channel per schema, always a plain identifier', () => {
    expect(channelFor('public')).toBe('keyport_events');
    expect(channelFor('t_0a1b2c')).toBe('keyport_events_t_0a1b2c');
    for (const odd of ['My Schema', 'a"; DROP', 'x'.repeat(200)]) {
      expect(channelFor(odd)).toMatch(/^keyport_events_[0-9a-f]{24}$/);
    }
  });
});

describe.skipIf(!PG_URL)('scale-out: three instances on one PostgreSQL', () => {
  let cluster: Cluster;
  let A: Instance;
  let B: Instance;
  let C: Instance;
  let all: Instance[];
  let owner: UserSession;
  let holder: UserSession;
  let projectId: number;
  let nodeId: number;
  let roleId: number;
  /** every response to a request carrying an API key, for the usage check */
  const tally = { billed: 0, total: 0 };
  const numbers: Record<string, unknown> = {};

  /** whoami with a key on one instance (counted for the usage check) */
  async function whoami(inst: Instance, token: string): Promise<HttpResult> {
    const r = await http(inst.url, 'GET', '/api/auth/whoami', { token });
    tally.total += 1;
    if (isBilled(r.status)) tally.billed += 1;
    return r;
  }

  async function keyGet(inst: Instance, token: string, url: string): Promise<HttpResult> {
    const r = await http(inst.url, 'GET', url, { token });
    tally.total += 1;
    if (isBilled(r.status)) tally.billed += 1;
    return r;
  }

  /** A key through the lifecycle API on A; a new holder every 15 keys (20 requests/min per session). */
  let issued = 0;
  async function issue(role: number): Promise<IssuedKey> {
    if (issued > 0 && issued % 15 === 0) holder = await signUp(A.t.app, 'Holder');
    issued += 1;
    return issueKey(A.t, owner, holder, { projectId, roleId: role, permissions: { project: [] } });
  }

  /** Management through one instance (session cookie + CSRF, real HTTP). */
  async function manage(inst: Instance, method: string, url: string, body?: unknown): Promise<HttpResult> {
    const r = await http(inst.url, method, url, { session: owner, ...(body !== undefined ? { body } : {}) });
    if (r.status >= 300) throw new Error(`${method} ${url} on ${inst.name}: ${r.status} ${JSON.stringify(r.body)}`);
    return r;
  }

  /** When the change being measured was committed: services publish right after their commit. */
  let committedAt = Number.NaN;
  function watchCommits(inst: Instance) {
    const bus = inst.t.app.ctx.events;
    const publish = bus.publish.bind(bus);
    bus.publish = (e) => {
      if (Number.isNaN(committedAt)) committedAt = performance.now();
      return publish(e);
    };
  }

  /**
   * Runs `change` and, from the moment its request starts, polls every instance every ~5 ms until
   * `reached` holds there. Returns ms until the LAST instance reached it, measured from the commit
   * of the change (the spec's bound: before the commit the change does not exist), and also from
   * the start of the change request (an upper bound that includes the change request itself).
   */
  async function propagation(
    change: () => Promise<unknown>,
    reached: (inst: Instance) => Promise<boolean>,
    instances: Instance[] = all,
  ): Promise<{ fromCommit: number; fromRequest: number; requestMs: number; perInstance: number[] }> {
    committedAt = Number.NaN;
    const t0 = performance.now();
    let tResponse = Number.NaN;
    const changed = change().then(() => {
      tResponse = performance.now();
    });
    const perInstance = await Promise.all(
      instances.map(async (inst) => {
        for (;;) {
          if (await reached(inst)) return performance.now() - t0;
          if (performance.now() - t0 > TTL_MS + 5000) return Number.POSITIVE_INFINITY;
          await sleep(POLL_MS);
        }
      }),
    );
    await changed;
    if (Number.isNaN(committedAt)) throw new Error('the change published no invalidation event');
    const fromRequest = Math.max(...perInstance);
    return {
      fromCommit: Math.max(0, fromRequest - (committedAt - t0)),
      fromRequest,
      requestMs: tResponse - t0,
      perInstance: perInstance.map((v) => Math.max(0, v - (committedAt - t0))),
    };
  }

  beforeAll(async () => {
    cluster = await startCluster(3, { KEYPORT_CACHE_TTL_SECONDS: String(TTL_S) });
    all = cluster.instances;
    [A, B, C] = all as [Instance, Instance, Instance];
    for (const inst of all) watchCommits(inst);
    owner = await signUp(A.t.app, 'Owner');
    holder = await signUp(A.t.app, 'Holder');
    const p = await makeProject(owner, 'Scale');
    projectId = p.projectId;
    nodeId = p.compute;
    roleId = (
      await manage(A, 'POST', `/api/projects/${projectId}/roles`, {
        name: 'client',
        price_per_request: '0.01',
        permissions: { project: ['project_view'], nodes: {} },
      })
    ).body.id;
  }, 120_000);

  afterAll(async () => {
    console.log(`scale-out propagation (ms): ${JSON.stringify(numbers, null, 1)}`);
    await cluster?.close();
  });

  it('every instance listens on the schema channel and ignores its own echo', async () => {
    const channels = new Set(all.map((i) => i.transport.channel));
    expect(channels.size).toBe(1);
    for (const i of all) {
      expect(i.transport.connected).toBe(true);
      expect(typeof i.transport.stats.backendPid).toBe('number');
    }
    expect(new Set(all.map((i) => i.transport.instanceId)).size).toBe(3);
  });

  it(`revocation reaches all three instances: p99 ≤ 1 s, max ≤ TTL (${ROUNDS} keys)`, async () => {
    // Keys issued through A; every instance serves each token (cached) before the revocations.
    const keys: IssuedKey[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      keys.push(await issue(roleId));
    }
    for (const k of keys) {
      for (const inst of all) {
        for (let j = 0; j < 3; j++) expect((await whoami(inst, k.token)).status).toBe(200);
      }
    }

    const fromCommit: number[] = [];
    const fromRequest: number[] = [];
    const requestMs: number[] = [];
    for (const [i, k] of keys.entries()) {
      const via = all[i % 3] as Instance;
      const r = await propagation(
        () => manage(via, 'DELETE', `/api/projects/${projectId}/issued-keys/${k.keyId}`, {}),
        async (inst) => {
          const res = await whoami(inst, k.token);
          if (res.status !== 200 && res.status !== 401) throw new Error(`unexpected ${res.status} from ${inst.name}`);
          return res.status === 401;
        },
      );
      fromCommit.push(r.fromCommit);
      fromRequest.push(r.fromRequest);
      requestMs.push(r.requestMs);
    }
    // Once rejected, rejected everywhere for good.
    for (const k of keys.slice(0, 5)) for (const inst of all) expect((await whoami(inst, k.token)).status).toBe(401);
    // Each instance revoked some keys itself (its own notice came back as an echo and was ignored)
    // and heard the others'.
    for (const inst of all) {
      expect(inst.transport.stats.echoes).toBeGreaterThan(0);
      expect(inst.transport.stats.received).toBeGreaterThan(0);
      expect(inst.transport.stats.malformed).toBe(0);
    }

    const s = summary(fromCommit);
    numbers.revocation = {
      fromCommit: s,
      fromRevokeRequestStart: summary(fromRequest),
      revokeRequest: summary(requestMs),
    };
    expect(s.p99).toBeLessThanOrEqual(1000);
    expect(s.max).toBeLessThanOrEqual(TTL_MS);
    expect(Math.max(...fromRequest)).toBeLessThanOrEqual(TTL_MS);
  });

  it(`a role permission removal reaches all three instances: p99 ≤ 1 s, max ≤ TTL (${ROUNDS} changes)`, async () => {
    const withCode = { project: ['project_view', 'code_edit'], nodes: {} };
    const without = { project: ['project_view'], nodes: {} };
    const role = (
      await manage(A, 'POST', `/api/projects/${projectId}/roles`, {
        name: 'toggled',
        price_per_request: '0.01',
        permissions: withCode,
      })
    ).body.id as number;
    const key = await issue(role);
    const secretsUrl = `/api/projects/${projectId}/nodes/${nodeId}/secrets`;
    const hasCode = async (inst: Instance) => {
      const res = await whoami(inst, key.token);
      if (res.status !== 200) throw new Error(`unexpected ${res.status} from ${inst.name}`);
      return (res.body.permissions.project as string[]).includes('code_edit');
    };
    for (const inst of all) {
      expect(await hasCode(inst)).toBe(true);
      expect((await keyGet(inst, key.token, secretsUrl)).status).toBe(200);
    }

    const fromCommit: number[] = [];
    const fromRequest: number[] = [];
    const requestMs: number[] = [];
    const restore: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const via = all[i % 3] as Instance;
      const r = await propagation(
        () => manage(via, 'PATCH', `/api/projects/${projectId}/roles/${role}`, { permissions: without }),
        async (inst) => !(await hasCode(inst)),
      );
      fromCommit.push(r.fromCommit);
      fromRequest.push(r.fromRequest);
      requestMs.push(r.requestMs);
      if (i === ROUNDS - 1) break;
      // Put it back (through another instance) before the next round; that change propagates too.
      const back = await propagation(
        () =>
          manage(all[(i + 1) % 3] as Instance, 'PATCH', `/api/projects/${projectId}/roles/${role}`, {
            permissions: withCode,
          }),
        hasCode,
      );
      restore.push(back.fromCommit);
    }
    // The permission is gone for real routes too, on every instance.
    for (const inst of all) expect((await keyGet(inst, key.token, secretsUrl)).status).toBe(403);

    const s = summary(fromCommit);
    numbers.roleRemoval = {
      fromCommit: s,
      fromChangeRequestStart: summary(fromRequest),
      changeRequest: summary(requestMs),
      grantBackFromCommit: summary(restore),
    };
    expect(s.p99).toBeLessThanOrEqual(1000);
    expect(s.max).toBeLessThanOrEqual(TTL_MS);
    expect(Math.max(...fromRequest)).toBeLessThanOrEqual(TTL_MS);
    expect(Math.max(...restore)).toBeLessThanOrEqual(TTL_MS);
  });

  it('a killed LISTEN connection: the instance still rejects within the TTL (polling), then reconnects and flushes', async () => {
    const admin = new pg.Client({ connectionString: PG_URL ?? undefined });
    await admin.connect();
    try {
      const role = (
        await manage(A, 'POST', `/api/projects/${projectId}/roles`, {
          name: 'killed-listener',
          price_per_request: '0.01',
          permissions: { project: ['project_view', 'code_edit'], nodes: {} },
        })
      ).body.id as number;
      const victim = await issue(roleId);
      const watched = await issue(role);
      for (const inst of all) {
        expect((await whoami(inst, victim.token)).status).toBe(200);
        expect((await whoami(inst, watched.token)).status).toBe(200);
      }

      // C loses its LISTEN connection and (for this test) does not get it back yet.
      const before = C.transport.stats;
      C.transport.holdReconnect(true);
      await admin.query('SELECT pg_terminate_backend($1)', [before.backendPid]);
      await waitUntil(() => !C.transport.connected, 'C to notice the lost connection', 5000);

      // Revoked through A: B (listening) rejects within 1 s; C only through TTL polling.
      const r = await propagation(
        () => manage(A, 'DELETE', `/api/projects/${projectId}/issued-keys/${victim.keyId}`, {}),
        async (inst) => (await whoami(inst, victim.token)).status === 401,
        [B, C],
      );
      const [onB, onC] = r.perInstance as [number, number];
      numbers.killedListener = { listeningInstanceMs: Math.round(onB), pollingFallbackMs: Math.round(onC) };
      expect(onB).toBeLessThanOrEqual(1000);
      expect(onC).toBeLessThanOrEqual(TTL_MS);
      expect(C.transport.connected).toBe(false);

      // A role change while C is deaf; then C reconnects and flushes everything it cached.
      await manage(B, 'PATCH', `/api/projects/${projectId}/roles/${role}`, {
        permissions: { project: ['project_view'], nodes: {} },
      });
      const reconnected = C.transport.nextConnect();
      const t0 = performance.now();
      C.transport.holdReconnect(false);
      await reconnected;
      const reconnectMs = performance.now() - t0;
      const after = C.transport.stats;
      expect(after.connected).toBe(true);
      expect(after.backendPid).not.toBe(before.backendPid);
      expect(after.connects).toBe(before.connects + 1);
      expect(after.flushes).toBe(before.flushes + 1);
      // Flushed: no cached token or role survives the reconnect, and the role change shows at once.
      expect(C.directory.stats.cachedTokens).toBe(0);
      expect(C.directory.stats.roles).toBe(0);
      const who = await whoami(C, watched.token);
      expect(who.status).toBe(200);
      expect(who.body.permissions.project).not.toContain('code_edit');
      expect((await whoami(C, victim.token)).status).toBe(401);

      // Without the hold, a killed connection comes back by itself (backoff from 100 ms) and C hears
      // the next revocation within 1 s again.
      const pid = C.transport.stats.backendPid;
      const again = C.transport.nextConnect();
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      const t1 = performance.now();
      await again;
      const autoReconnectMs = performance.now() - t1;
      expect(C.transport.connected).toBe(true);
      const next = await issue(roleId);
      expect((await whoami(C, next.token)).status).toBe(200);
      const r2 = await propagation(
        () => manage(B, 'DELETE', `/api/projects/${projectId}/issued-keys/${next.keyId}`, {}),
        async (inst) => (await whoami(inst, next.token)).status === 401,
        [C],
      );
      numbers.killedListener = {
        ...(numbers.killedListener as object),
        heldReconnectMs: Math.round(reconnectMs),
        autoReconnectMs: Math.round(autoReconnectMs),
        afterReconnectRevocationMs: Math.round(r2.fromCommit),
      };
      expect(r2.fromCommit).toBeLessThanOrEqual(1000);
    } finally {
      C.transport.holdReconnect(false);
      await admin.end();
    }
  });

  it('usage counted across the three instances equals the billed responses exactly', async (ctx) => {
    if (!A.t.app.hasDecorator('usage')) {
      ctx.skip(); // metering (modules/usage) not wired into buildApp yet
      return;
    }
    // Concurrent traffic on all three with a few fresh keys.
    const keys: IssuedKey[] = [];
    for (let i = 0; i < 3; i++) {
      keys.push(await issue(roleId));
    }
    await Promise.all(
      all.flatMap((inst) =>
        keys.map(async (k) => {
          for (let j = 0; j < 40; j++) expect((await whoami(inst, k.token)).status).toBe(200);
        }),
      ),
    );
    for (const inst of all) await inst.t.app.usage.flush();
    const row = await A.t.app.ctx.k
      .selectFrom('usage_buckets')
      .select((eb) => eb.fn.sum<number>('count').as('n'))
      .where('project_id', '=', projectId)
      .executeTakeFirstOrThrow();
    numbers.usage = { keyResponses: tally.total, billed: tally.billed, counted: Number(row.n) };
    expect(Number(row.n)).toBe(tally.billed);
  });
});
