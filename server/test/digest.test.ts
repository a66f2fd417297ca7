// Request mails as a daily digest, through a real SMTP receiver: in-app notices stay immediate;
// after the UTC day ends each approver gets one mail listing the day's requests, once across two
// instances (at once on PostgreSQL, one after the other on SQLite); immediate projects mail at once.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SMTPServer } from 'smtp-server';
import { describe, expect, it } from 'vitest';
import { approvalSetup } from './approval-helpers.js';
import { addMember, freePort, MutableClock, makeTestApp, PG_URL, signUp, type TestApp, waitFor } from './helpers.js';
import { type Mail, startSmtp, stopSmtp } from './mail-helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('daily request digest', () => {
  it('one digest mail per approver per day, across two instances; in-app notices at once', async () => {
    const mails: Mail[] = [];
    const port = await freePort();
    let smtp: SMTPServer | null = await startSmtp(port, (m) => void mails.push(m));
    const clock = new MutableClock(Date.UTC(2026, 10, 3, 10, 0, 0));
    const dataDir = PG_URL ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-digest-'));
    const masterKey = randomBytes(32);
    const env = { SMTP_URL: `smtp://127.0.0.1:${port}` };
    const first = await makeTestApp({ clock, masterKey, env, mailIntervalMs: 100, ...(dataDir ? { dataDir } : {}) });
    const second: TestApp = await makeTestApp({
      clock,
      masterKey,
      env,
      mailIntervalMs: 100,
      ...(first.pgSchema ? { pgSchema: first.pgSchema } : {}),
      ...(dataDir ? { dataDir } : {}),
    });
    try {
      for (const a of [first, second]) await a.app.approvalJobs.stop();
      const owner = await signUp(first.app, 'Owner');
      const approver = await signUp(first.app, 'Approver');
      const digest = await approvalSetup(owner, { request_fields: [{ name: 'org', label: 'Organisation' }] });
      const role = await owner.post(`/api/projects/${digest.projectId}/roles`, {
        name: 'approver',
        permissions: { project: ['project_view', 'api_keys_manage'] },
      });
      await addMember(owner, digest.projectId, approver, [role.json().id]);
      const set = await owner.patch(`/api/projects/${digest.projectId}/request-settings`, { request_mail: 'daily' });
      expect(set.json()).toEqual({ request_mail: 'daily' });

      const r1 = await signUp(first.app, 'Alice');
      const r2 = await signUp(first.app, 'Bob');
      expect((await r1.post(digest.requestUrl, { fields: { org: 'ACME' } })).statusCode).toBe(201);
      clock.advance(3 * 3_600_000);
      expect((await r2.post(digest.requestUrl, {})).statusCode).toBe(201);

      // in-app: at once, for both approvers
      for (const u of [owner, approver]) {
        const n = (await u.get('/api/me/notifications')).json();
        expect(n.items.filter((i: { kind: string }) => i.kind === 'key_request.created')).toHaveLength(2);
      }
      const tickBoth = async () => {
        const [a, b] = PG_URL
          ? await Promise.all([first.app.approvalJobs.tick(), second.app.approvalJobs.tick()])
          : [await first.app.approvalJobs.tick(), await second.app.approvalJobs.tick()];
        return a.digests + b.digests;
      };
      // the same day: nothing is mailed to the approvers
      expect(await tickBoth()).toBe(0);
      await sleep(600); // the outbox senders run every 100 ms
      const toApprovers = () =>
        mails.filter(
          (m) => (m.to.includes(owner.user.email) || m.to.includes(approver.user.email)) && /key request/i.test(m.data),
        );
      expect(toApprovers()).toHaveLength(0);

      clock.t = Date.UTC(2026, 10, 4, 0, 0, 1); // the day is over
      expect(await tickBoth()).toBe(2);
      expect(await tickBoth()).toBe(0);
      await waitFor(() => (toApprovers().length >= 2 ? true : undefined), 'two digest mails');
      await sleep(500);
      const got = toApprovers();
      expect(got).toHaveLength(2);
      expect(got.map((m) => m.to[0]).sort()).toEqual([owner.user.email, approver.user.email].sort());
      for (const m of got) {
        expect(m.data).toContain('Daily digest: 2 key requests');
        expect(m.data).toContain('Alice');
        expect(m.data).toContain('Bob');
        expect(m.data).toContain('Organisation: "ACME"');
      }

      // later that day a new request waits for the next day's digest: still once per day
      const r3 = await signUp(first.app, 'Carol');
      expect((await r3.post(digest.requestUrl, {})).statusCode).toBe(201);
      clock.advance(12 * 3_600_000);
      expect(await tickBoth()).toBe(0);
      clock.advance(12 * 3_600_000);
      expect(await tickBoth()).toBe(2);
      await waitFor(() => (toApprovers().length >= 4 ? true : undefined), 'the next digests');
      expect(
        toApprovers()
          .slice(2)
          .every((m) => m.data.includes('Daily digest: 1 key request') && m.data.includes('Carol')),
      ).toBe(true);

      // an immediate project (the default) mails its managers at once
      const owner2 = await signUp(first.app, 'Immediate');
      const now = await approvalSetup(owner2);
      expect((await r1.post(now.requestUrl, {})).statusCode).toBe(201);
      await waitFor(() => mails.find((m) => m.to.includes(owner2.user.email)), 'immediate mail');
      expect(await tickBoth()).toBe(0);
      const claims = await first.app.ctx.k.selectFrom('digest_claims').selectAll().execute();
      expect(claims).toHaveLength(4);
    } finally {
      await second.close();
      await first.close();
      await stopSmtp(smtp);
      smtp = null;
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('goes out at KEYPORT_DIGEST_HOUR_UTC and covers the 24 hours before it', async () => {
    const clock = new MutableClock(Date.UTC(2026, 10, 3, 9, 0, 0));
    const t = await makeTestApp({ clock, env: { KEYPORT_DIGEST_HOUR_UTC: '8' } });
    try {
      await t.app.approvalJobs.stop();
      const owner = await signUp(t.app, 'Owner');
      const s = await approvalSetup(owner);
      await owner.patch(`/api/projects/${s.projectId}/request-settings`, { request_mail: 'daily' });
      const requester = await signUp(t.app, 'Alice');
      expect((await requester.post(s.requestUrl, {})).statusCode).toBe(201); // 3 Nov 09:00
      clock.t = Date.UTC(2026, 10, 4, 0, 0, 1); // midnight is not the hour
      expect((await t.app.approvalJobs.tick()).digests).toBe(0);
      clock.t = Date.UTC(2026, 10, 4, 7, 59, 59);
      expect((await t.app.approvalJobs.tick()).digests).toBe(0);
      clock.t = Date.UTC(2026, 10, 4, 8, 0, 1);
      expect((await t.app.approvalJobs.tick()).digests).toBe(1);
      expect((await t.app.approvalJobs.tick()).digests).toBe(0);
      const mail = await t.app.ctx.k
        .selectFrom('outbox')
        .select('subject')
        .where('to_email', '=', owner.user.email)
        .where('subject', 'like', '%Daily digest%')
        .execute();
      expect(mail).toHaveLength(1);
    } finally {
      await t.close();
    }
  });
});
