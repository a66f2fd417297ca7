// A roll while jobs use the key (real HTTP, real clock), the grace end on three instances, and
// expiry reminders sent exactly once across instances and restarts.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KeyReminders } from '../src/modules/keys/reminders.js';
import { MutableClock, makeProject, makeTestApp, PG_URL, signUp, type TestApp } from './helpers.js';
import { issueKey } from './keys-helpers.js';
import { type Cluster, http, type Instance, sleep, startCluster, summary } from './scaleout-helpers.js';

const DAY = 86_400_000;
const figures: Record<string, unknown> = {};
afterAll(() => console.log(`roll figures: ${JSON.stringify(figures)}`));

describe('roll under load', () => {
  it('0 failures on the old token before the grace ends, 401 after; the new token works from the answer on', async () => {
    const t = await makeTestApp();
    try {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const base = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
      const owner = await signUp(t.app, 'Owner');
      const holder = await signUp(t.app, 'Holder');
      const p = await makeProject(owner, 'Busy');
      const key = await issueKey(t, owner, holder, {
        projectId: p.projectId,
        permissions: { project: ['project_view'] },
      });

      const GRACE_S = 2;
      let graceEnd = Number.POSITIVE_INFINITY;
      let stop = false;
      const early: number[] = []; // non-200 answers to requests sent before the grace end
      const late: number[] = []; // answers to requests sent after the grace end (must all be 401)
      let served = 0;
      const worker = async () => {
        while (!stop) {
          const sentAt = Date.now();
          const r = await http(base, 'GET', '/api/auth/whoami', { token: key.token });
          served += 1;
          // requests in flight across the boundary could go either way: judge only clear cases
          if (Date.now() < graceEnd - 50 && r.status !== 200) early.push(r.status);
          if (sentAt > graceEnd + 50) late.push(r.status);
        }
      };
      const workers = Array.from({ length: 8 }, worker);
      await sleep(300);
      const res = await http(base, 'POST', `/api/me/api-keys/${key.keyId}/roll`, {
        session: holder,
        body: { grace_seconds: GRACE_S },
      });
      expect(res.status).toBe(200);
      graceEnd = Date.parse(res.body.previous.expires_at);
      expect((await http(base, 'GET', '/api/auth/whoami', { token: res.body.token })).status).toBe(200);
      await sleep(graceEnd - Date.now() + 600);
      stop = true;
      await Promise.all(workers);
      figures.underLoad = { served, failuresBeforeGraceEnd: early.length, afterGraceEnd: late.length };
      expect(served).toBeGreaterThan(100);
      expect(early).toEqual([]);
      expect(late.length).toBeGreaterThan(0);
      expect(new Set(late)).toEqual(new Set([401]));
    } finally {
      await t.close();
    }
  }, 30_000);
});

describe.skipIf(!PG_URL)('grace end on three instances', () => {
  let cluster: Cluster;
  afterAll(() => cluster?.close());

  it('the old key stops on every instance at the grace end (within the cache TTL at worst)', async () => {
    const TTL_S = 5;
    cluster = await startCluster(3, { KEYPORT_CACHE_TTL_SECONDS: String(TTL_S) });
    const [A] = cluster.instances as [Instance];
    const owner = await signUp(A.t.app, 'Owner');
    const holder = await signUp(A.t.app, 'Holder');
    const p = await makeProject(owner, 'Three');
    const key = await issueKey(A.t, owner, holder, {
      projectId: p.projectId,
      permissions: { project: ['project_view'] },
    });
    for (const inst of cluster.instances)
      expect((await http(inst.url, 'GET', '/api/auth/whoami', { token: key.token })).status).toBe(200);

    const via = cluster.instances[1] as Instance;
    const res = await http(via.url, 'POST', `/api/me/api-keys/${key.keyId}/roll`, {
      session: holder,
      body: { grace_seconds: 2 },
    });
    expect(res.status).toBe(200);
    const graceEnd = Date.parse(res.body.previous.expires_at);
    // each instance: when it first refused the old token, relative to the grace end
    const offsets = await Promise.all(
      cluster.instances.map(async (inst) => {
        let failedEarly = 0;
        for (;;) {
          const sentAt = Date.now();
          const r = await http(inst.url, 'GET', '/api/auth/whoami', { token: key.token });
          if (r.status === 401) return { offset: sentAt - graceEnd, failedEarly };
          if (r.status !== 200) failedEarly += 1;
          if (sentAt > graceEnd + TTL_S * 1000 + 2000) return { offset: Number.POSITIVE_INFINITY, failedEarly };
          await sleep(5);
        }
      }),
    );
    figures.threeInstances = { msAfterGraceEnd: summary(offsets.map((o) => o.offset)) };
    for (const o of offsets) {
      expect(o.failedEarly).toBe(0);
      // a request sent before the grace end may be answered 401 once it is past it (a few ms)
      expect(o.offset).toBeGreaterThan(-50);
      expect(o.offset).toBeLessThanOrEqual(TTL_S * 1000);
    }
    for (const inst of cluster.instances)
      expect((await http(inst.url, 'GET', '/api/auth/whoami', { token: res.body.token })).status).toBe(200);
  }, 60_000);
});

describe('expiry reminders', () => {
  it('7 days and 1 day before: each sent once across two instances and a restart', async () => {
    const clock = new MutableClock(Date.UTC(2026, 10, 1, 9, 0, 0));
    const dataDir = PG_URL ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-remind-'));
    const masterKey = randomBytes(32);
    const first = await makeTestApp({ clock, masterKey, ...(dataDir ? { dataDir } : {}) });
    const sameDb = {
      clock,
      masterKey,
      ...(first.pgSchema ? { pgSchema: first.pgSchema } : {}),
      ...(dataDir ? { dataDir } : {}),
    };
    let second: TestApp | null = await makeTestApp(sameDb);
    let third: TestApp | null = null;
    try {
      const owner = await signUp(first.app, 'Owner');
      const holder = await signUp(first.app, 'Holder');
      const p = await makeProject(owner, 'Remind');
      await issueKey(first, owner, holder, {
        projectId: p.projectId,
        permissions: { project: ['project_view'] },
        lifetimeDays: 10,
      });
      // a rolled-over key is not reminded of (its successor is)
      const other = await issueKey(first, owner, holder, {
        projectId: p.projectId,
        permissions: { project: ['project_view'] },
        lifetimeDays: 10,
      });
      expect(
        (await holder.post(`/api/me/api-keys/${other.keyId}/roll`, { grace_seconds: 3 * 86_400 })).statusCode,
      ).toBe(200);
      const remindersOf = async (kind: string) =>
        (
          await first.app.ctx.k
            .selectFrom('notifications')
            .select(['params'])
            .where('user_id', '=', holder.user.id)
            .where('kind', '=', kind)
            .execute()
        ).map((n) => JSON.parse(n.params ?? '{}'));
      // Two instances at once on PostgreSQL; SQLite is one instance at a time (docs/scale-out.md),
      // so there the second one runs after the first, as after a restart.
      const tickBoth = async (a: TestApp, b: TestApp) => {
        if (PG_URL)
          return (await Promise.all([a.app.reminders.tick(), b.app.reminders.tick()])).reduce((x, y) => x + y);
        return (await a.app.reminders.tick()) + (await b.app.reminders.tick());
      };

      expect(await tickBoth(first, second)).toBe(0);
      clock.advance(3 * DAY + 1); // under 7 days left
      // the successor of the rolled key also expires in 7 days: it is reminded, its predecessor not
      expect(await tickBoth(first, second)).toBe(2);
      expect(await tickBoth(first, second)).toBe(0);
      const sevenDay = await remindersOf('key.expiring');
      expect(sevenDay.map((r) => r.within)).toEqual(['7d', '7d']);

      // a restart of one instance: nothing is sent again
      await second.close();
      second = null;
      third = await makeTestApp(sameDb);
      expect(await tickBoth(first, third)).toBe(0);

      clock.advance(6 * DAY); // under 1 day left
      expect(await tickBoth(first, third)).toBe(2);
      expect(await tickBoth(first, third)).toBe(0);
      expect((await remindersOf('key.expiring')).map((r) => r.within).sort()).toEqual(['1d', '1d', '7d', '7d']);
      // an email for each, in the outbox
      const mails = await first.app.ctx.k
        .selectFrom('outbox')
        .select('subject')
        .where('to_email', '=', holder.user.email)
        .where('subject', 'like', '%expires%')
        .execute();
      expect(mails).toHaveLength(4);
      // past its end nothing more
      clock.advance(DAY);
      expect(await tickBoth(first, third)).toBe(0);
      // the job class is what the app runs
      expect(first.app.reminders).toBeInstanceOf(KeyReminders);
    } finally {
      await second?.close();
      await third?.close();
      await first.close();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
