// Two instances (two buildApp on one PostgreSQL schema) run their webhook workers over one queue:
// every event reaches the receiver exactly once, signed. PostgreSQL only (TEST_DATABASE_URL).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitWebhook } from '../src/modules/webhooks/events.js';
import { WebhookSender } from '../src/modules/webhooks/sender.js';
import { createPgSchema, dropPgSchema, makeProject, makeTestApp, PG_URL, signUp, type TestApp } from './helpers.js';
import { RECEIVER_ENV, Receiver } from './webhooks-helpers.js';

describe.skipIf(!PG_URL)('webhooks with two instances on one PostgreSQL', () => {
  let schema: string;
  let a: TestApp;
  let b: TestApp;
  let rx: Receiver;

  beforeAll(async () => {
    schema = await createPgSchema();
    const masterKey = randomBytes(32); // instances of one deployment share the master key
    a = await makeTestApp({ pgSchema: schema, masterKey, env: RECEIVER_ENV });
    b = await makeTestApp({ pgSchema: schema, masterKey, env: RECEIVER_ENV });
    rx = await new Receiver().start();
  }, 60_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await rx?.stop();
    if (schema) await dropPgSchema(schema);
  });

  it('every event is delivered exactly once, whichever instance claims it', async () => {
    const owner = await signUp(a.app, 'Owner');
    const p = (await makeProject(owner)).projectId;
    const created = await owner.post(`/api/projects/${p}/webhooks`, {
      url: `${rx.base}/both`,
      events: ['key.approved'],
    });
    expect(created.statusCode).toBe(201);
    rx.expect('/both', created.json().secret);
    rx.always('/both', { status: 200, delayMs: 15 }); // slow answers keep both workers' passes overlapping

    // the apps' own workers poll every second; the test runs passes back to back instead
    await a.app.webhooks.stop();
    await b.app.webhooks.stop();
    const N = 60;
    await a.app.ctx.k.transaction().execute(async (trx) => {
      for (let i = 0; i < N; i++) await emitWebhook(trx, a.app.ctx, p, 'key.approved', { key_id: i });
    });
    // both workers' passes at once, again and again, until the queue is empty
    const sa = new WebhookSender(a.app.ctx);
    const sb = new WebhookSender(b.app.ctx);
    let byA = 0;
    let byB = 0;
    const end = Date.now() + 30_000;
    while (rx.at('/both').length < N && Date.now() < end) {
      const [na, nb] = await Promise.all([sa.tick(), sb.tick()]);
      byA += na;
      byB += nb;
    }
    for (let i = 0; i < 5; i++) await Promise.all([sa.tick(), sb.tick()]); // nothing may go out again

    const got = rx.at('/both');
    console.log(`webhooks: ${N} events, attempts by instance A: ${byA}, B: ${byB}`);
    expect(got).toHaveLength(N);
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(N);
    expect(new Set(got.map((r) => JSON.parse(r.body).data.key_id)).size).toBe(N);
    expect(got.every((r) => r.signatureValid)).toBe(true);
    expect(byA + byB).toBe(N);
    expect(Math.min(byA, byB), 'both instances delivered some').toBeGreaterThan(0);
    const rows = await a.app.ctx.k.selectFrom('webhook_deliveries').select(['status', 'attempts']).execute();
    expect(rows).toHaveLength(N);
    for (const r of rows) expect(r).toEqual({ status: 'delivered', attempts: 1 });
  }, 60_000);
});
