// Pending requests expire after KEYPORT_REQUEST_TTL_DAYS (mutable clock): status `expired`, the
// requester told in-app and by mail, `request.expired` on the project's webhook, each exactly once
// across two instances (at once on PostgreSQL; one after the other on SQLite, as after a restart).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { approvalSetup } from './approval-helpers.js';
import { MutableClock, makeTestApp, PG_URL, signUp, type TestApp } from './helpers.js';
import { RECEIVER_ENV, Receiver } from './webhooks-helpers.js';

const DAY = 86_400_000;

describe('request expiry', () => {
  it('expires once across two instances; the requester is told and may request again', async () => {
    const clock = new MutableClock(Date.UTC(2026, 10, 1, 9, 0, 0));
    const dataDir = PG_URL ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-expiry-'));
    const masterKey = randomBytes(32);
    const env = { ...RECEIVER_ENV, KEYPORT_REQUEST_TTL_DAYS: '3' };
    const first = await makeTestApp({ clock, masterKey, env, ...(dataDir ? { dataDir } : {}) });
    const sameDb = {
      clock,
      masterKey,
      env,
      ...(first.pgSchema ? { pgSchema: first.pgSchema } : {}),
      ...(dataDir ? { dataDir } : {}),
    };
    const second: TestApp = await makeTestApp(sameDb);
    const rx = await new Receiver().start();
    try {
      for (const a of [first, second]) {
        await a.app.approvalJobs.stop(); // driven by tick() below
        await a.app.webhooks.stop();
      }
      const owner = await signUp(first.app, 'Owner');
      const requester = await signUp(first.app, 'Requester');
      const s = await approvalSetup(owner);
      const hook = await owner.post(`/api/projects/${s.projectId}/webhooks`, {
        url: `${rx.base}/hook`,
        events: ['request.expired'],
      });
      expect(hook.statusCode).toBe(201);
      rx.expect('/hook', hook.json().secret);

      const req = (await requester.post(s.requestUrl, {})).json();
      expect(req.status).toBe('pending');
      // decided requests never expire
      const other = await signUp(first.app, 'Other');
      const rejected = (await other.post(s.requestUrl, {})).json();
      expect(
        (await owner.post(`/api/projects/${s.projectId}/api-key-requests/${rejected.id}/reject`, {})).statusCode,
      ).toBe(200);

      const tickBoth = async () => {
        const [a, b] = PG_URL
          ? await Promise.all([first.app.approvalJobs.tick(), second.app.approvalJobs.tick()])
          : [await first.app.approvalJobs.tick(), await second.app.approvalJobs.tick()];
        return a.expired + b.expired;
      };
      clock.advance(3 * DAY - 60_000);
      expect(await tickBoth()).toBe(0);
      expect((await requester.post(s.requestUrl, {})).statusCode).toBe(409); // still pending
      clock.advance(60_000);
      expect(await tickBoth()).toBe(1);
      expect(await tickBoth()).toBe(0);

      const k = first.app.ctx.k;
      const row = await k.selectFrom('key_requests').selectAll().where('id', '=', req.id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ status: 'expired', decided_at: clock.now(), decided_by: null });
      expect(
        (await k.selectFrom('key_requests').select('status').where('id', '=', rejected.id).executeTakeFirstOrThrow())
          .status,
      ).toBe('rejected');
      const notices = await k
        .selectFrom('notifications')
        .selectAll()
        .where('user_id', '=', requester.user.id)
        .where('kind', '=', 'key_request.expired')
        .execute();
      expect(notices).toHaveLength(1);
      expect(JSON.parse(notices[0]?.params ?? '{}')).toMatchObject({ template: 'Calculator', days: 3 });
      const mails = await k
        .selectFrom('outbox')
        .select(['subject', 'body'])
        .where('to_email', '=', requester.user.email)
        .where('subject', 'like', '%expired%')
        .execute();
      expect(mails).toHaveLength(1);
      expect(mails[0]?.body).toContain('within 3 days');
      const audits = await k.selectFrom('audit_log').selectAll().where('action', '=', 'key.request_expired').execute();
      expect(audits).toHaveLength(1);
      expect(audits[0]?.actor_user_id).toBeNull();

      // the webhook: queued once, delivered signed, ids and names only
      const queued = await k.selectFrom('webhook_deliveries').select('event_type').execute();
      expect(queued.map((d) => d.event_type)).toEqual(['request.expired']);
      await first.app.webhooks.tick();
      const got = rx.received.filter((r) => r.path === '/hook');
      expect(got).toHaveLength(1);
      expect(got[0]?.signatureValid).toBe(true);
      const event = JSON.parse(got[0]?.body ?? '{}');
      expect(event).toMatchObject({
        type: 'request.expired',
        data: { project_id: s.projectId, request_id: req.id, template: 'Calculator', user_id: requester.user.id },
      });

      // the list filters by the new status; the offer is available again and a new request works
      const list = (await owner.get(`/api/projects/${s.projectId}/api-key-requests?status=expired`)).json();
      expect(list.items.map((i: { id: number }) => i.id)).toEqual([req.id]);
      const offer = (await requester.get(`/api/projects/${s.projectId}/api-key-offers`)).json()[0];
      expect(offer.state).toBe('available');
      expect((await requester.post(s.requestUrl, {})).statusCode).toBe(201);
      // an expired request can no longer be decided
      const late = await owner.post(`/api/projects/${s.projectId}/api-key-requests/${req.id}/approve`);
      expect(late.statusCode).toBe(409);
    } finally {
      await rx.stop();
      await second.close();
      await first.close();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a decision racing the expiry leaves exactly one outcome', async () => {
    const clock = new MutableClock(Date.UTC(2026, 10, 1, 9, 0, 0));
    const t = await makeTestApp({ clock });
    try {
      await t.app.approvalJobs.stop();
      const owner = await signUp(t.app, 'Owner');
      const requester = await signUp(t.app, 'Requester');
      const s = await approvalSetup(owner);
      const req = (await requester.post(s.requestUrl, {})).json();
      clock.advance(14 * DAY); // the default TTL
      const [tick, approve] = await Promise.all([
        t.app.approvalJobs.tick(),
        owner.post(`/api/projects/${s.projectId}/api-key-requests/${req.id}/approve`),
      ]);
      const row = await t.app.ctx.k
        .selectFrom('key_requests')
        .select('status')
        .where('id', '=', req.id)
        .executeTakeFirstOrThrow();
      const keys = await t.app.ctx.k.selectFrom('api_keys').select('id').where('request_id', '=', req.id).execute();
      if (approve.statusCode === 200) {
        expect(row.status).toBe('approved');
        expect(tick.expired).toBe(0);
        expect(keys).toHaveLength(1);
      } else {
        expect(approve.statusCode).toBe(409);
        expect(row.status).toBe('expired');
        expect(tick.expired).toBe(1);
        expect(keys).toHaveLength(0);
      }
    } finally {
      await t.close();
    }
  });
});
