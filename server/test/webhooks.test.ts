// Webhooks: endpoints (secret shown once, bad input, who may manage them) and delivery to a real
// receiver on 127.0.0.1 that checks every signature: the signed body, retries with the same
// webhook-id, the backoff schedule, timeouts, no redirects, the bounded log, and disabling an
// endpoint that failed for three days (a mutable clock moves time).
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitWebhook, WEBHOOK_EVENTS, type WebhookEventType } from '../src/modules/webhooks/events.js';
import { DELIVERY_TIMEOUT_MS, KEEP_DELIVERIES, WebhookSender } from '../src/modules/webhooks/sender.js';
import { grant } from './dataplane-helpers.js';
import {
  bearer,
  MutableClock,
  makeProject,
  makeTestApp,
  signUp,
  snapshot,
  type TestApp,
  type UserSession,
} from './helpers.js';
import { issueKey } from './keys-helpers.js';
import { RECEIVER_ENV, Receiver } from './webhooks-helpers.js';

const clock = new MutableClock(Date.now());
let t: TestApp;
let rx: Receiver;
let owner: UserSession;
let comanager: UserSession;
let viewer: UserSession;
let outsider: UserSession;
let P: number;
const secrets: string[] = [];
let paths = 0;

const hooks = (p = P) => `/api/projects/${p}/webhooks`;
const tick = () => t.app.webhooks.tick();

interface Created {
  id: number;
  secret: string;
  path: string;
}

/** A new endpoint on the receiver (its own path), with the receiver told its secret. */
async function endpoint(
  opts: { project?: number; events?: WebhookEventType[]; description?: string } = {},
): Promise<Created> {
  const path = `/hook-${++paths}`;
  const res = await owner.post(hooks(opts.project), {
    url: rx.base + path,
    events: opts.events ?? [...WEBHOOK_EVENTS],
    ...(opts.description !== undefined ? { description: opts.description } : {}),
  });
  expect(res.statusCode, res.body).toBe(201);
  const body = res.json();
  rx.expect(path, body.secret);
  secrets.push(body.secret);
  return { id: body.id, secret: body.secret, path };
}

// biome-ignore lint/suspicious/noExplicitAny: JSON answers read by the tests
async function deliveries(w: number, p = P): Promise<any[]> {
  const res = await owner.get(`${hooks(p)}/${w}/deliveries?page_size=100`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json().items;
}

async function testEvent(w: number, p = P) {
  const res = await owner.post(`${hooks(p)}/${w}/test`);
  expect(res.statusCode, res.body).toBe(202);
  return res.json() as { delivery_id: number; webhook_id: string };
}

const emit = (p: number, type: WebhookEventType, data: Record<string, unknown>) =>
  t.app.ctx.k.transaction().execute((trx) => emitWebhook(trx, t.app.ctx, p, type, data));

/** Moves the clock to the delivery's next attempt and runs one pass. */
async function retryNow(w: number, deliveryId: number, p = P) {
  const d = (await deliveries(w, p)).find((x) => x.id === deliveryId);
  clock.t = Date.parse(d.next_attempt_at);
  await tick();
}

beforeAll(async () => {
  t = await makeTestApp({ clock, env: RECEIVER_ENV });
  await t.app.webhooks.stop(); // the tests drive the worker with tick()
  rx = await new Receiver().start();
  owner = await signUp(t.app, 'Owner');
  comanager = await signUp(t.app, 'Comanager');
  viewer = await signUp(t.app, 'Viewer');
  outsider = await signUp(t.app, 'Outsider');
  P = (await makeProject(owner, 'Hooks')).projectId;
  await grant(owner, P, comanager, { project: ['project_view', 'project_manage'] }, 'manager');
  await grant(owner, P, viewer, { project: ['project_view'] }, 'viewer');
});
afterAll(async () => {
  await t?.close();
  await rx?.stop();
});

describe('endpoints', () => {
  it('creation answers the secret once; list and get never show it; it is stored sealed', async () => {
    const e = await endpoint({ events: ['key.approved', 'key.revoked'], description: 'CRM sync' });
    expect(e.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(e.secret.slice(6), 'base64')).toHaveLength(32);
    const list = (await owner.get(hooks())).json();
    const listed = list.items.find((x: { id: number }) => x.id === e.id);
    expect(listed).toMatchObject({
      url: rx.base + e.path,
      events: ['key.approved', 'key.revoked'],
      description: 'CRM sync',
      enabled: true,
      disabled_reason: null,
      failing_since: null,
    });
    expect(JSON.stringify(list)).not.toContain('secret');
    const got = await owner.get(`${hooks()}/${e.id}`);
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual(listed);
    const row = await t.app.ctx.k
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('id', '=', e.id)
      .executeTakeFirstOrThrow();
    expect(row.secret_enc).toMatch(/^v1\.dk-/);
    expect(row.secret_enc).not.toContain(e.secret.slice(6));
    const audit = (await owner.get(`/api/projects/${P}/audit`)).json().items;
    expect(audit[0]).toMatchObject({ action: 'webhook.created', object_id: e.id });
    expect(JSON.stringify(audit)).not.toContain(e.secret.slice(6));

    // sealed for its endpoint: copied to another endpoint's row it does not open, nothing is sent
    const other = await endpoint();
    await t.app.ctx.k
      .updateTable('webhook_endpoints')
      .set({ secret_enc: row.secret_enc })
      .where('id', '=', other.id)
      .execute();
    await testEvent(other.id);
    await tick();
    expect(rx.at(other.path)).toEqual([]);
    expect((await deliveries(other.id))[0]).toMatchObject({ status: 'pending', attempts: 1, last_status_code: null });
    expect((await deliveries(other.id))[0].last_error).toMatch(/cannot be decrypted/);
    await owner.del(`${hooks()}/${other.id}`);
  });

  it('patch changes url, events, description and enabled; delete removes it with its deliveries', async () => {
    const e = await endpoint({ events: ['key.approved'] });
    const patched = await owner.patch(`${hooks()}/${e.id}`, {
      url: `${rx.base}${e.path}?v=2`,
      events: ['key.rolled', 'key.rolled', 'usage.threshold'],
      description: 'renamed',
      enabled: false,
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({
      url: `${rx.base}${e.path}?v=2`,
      events: ['key.rolled', 'usage.threshold'],
      description: 'renamed',
      enabled: false,
      disabled_reason: 'manual',
    });
    expect(JSON.stringify(patched.json())).not.toContain('secret');
    const on = await owner.patch(`${hooks()}/${e.id}`, { enabled: true });
    expect(on.json()).toMatchObject({ enabled: true, disabled_reason: null });
    await testEvent(e.id);
    expect(await deliveries(e.id)).toHaveLength(1);

    expect((await owner.del(`${hooks()}/${e.id}`)).statusCode).toBe(204);
    expect((await owner.get(`${hooks()}/${e.id}`)).statusCode).toBe(404);
    expect((await owner.del(`${hooks()}/${e.id}`)).statusCode).toBe(404);
    const left = await t.app.ctx.k
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('endpoint_id', '=', e.id)
      .execute();
    expect(left).toEqual([]);
    const actions = (await owner.get(`/api/projects/${P}/audit`)).json().items.map((a: { action: string }) => a.action);
    expect(actions.slice(0, 3)).toEqual(['webhook.deleted', 'webhook.updated', 'webhook.updated']);
  });

  it('bad input is a 400 naming the field, and nothing is written', async () => {
    const p = (await makeProject(owner, 'Limits')).projectId;
    const url = `${rx.base}/limits`;
    const cases: [object, string][] = [
      [{ url, events: ['key.nope'] }, 'events'],
      [{ url, events: [] }, 'events'],
      [{ url }, 'events'],
      [{ events: ['key.approved'] }, 'url'],
      [{ url: 'not a url', events: ['key.approved'] }, 'url'],
      [{ url: 'ftp://127.0.0.1/x', events: ['key.approved'] }, 'url'],
      [{ url: 'http://user:pw@127.0.0.1/x', events: ['key.approved'] }, 'url'],
      [{ url: `${url}#frag`, events: ['key.approved'] }, 'url'],
      [{ url: `https://h.example.test/${'a'.repeat(2000)}`, events: ['key.approved'] }, 'url'],
      [{ url, events: ['key.approved'], description: 'd'.repeat(501) }, 'description'],
      [{ url, events: ['key.approved'], description: 7 }, 'description'],
    ];
    const before = await snapshot(t.app);
    for (const [body, field] of cases) {
      const res = await owner.post(hooks(p), body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_FAILED');
      expect(res.json().error.message, JSON.stringify(body)).toContain(field);
    }
    expect(await snapshot(t.app)).toEqual(before);

    const ids: number[] = [];
    for (let i = 0; i < 20; i++) ids.push((await endpoint({ project: p, events: ['key.expiring'] })).id);
    const full = await snapshot(t.app);
    const over = await owner.post(hooks(p), { url, events: ['key.approved'] });
    expect(over.statusCode).toBe(400);
    expect(over.json().error.message).toContain('at most 20');
    expect(await snapshot(t.app)).toEqual(full);

    const bad = await owner.patch(`${hooks(p)}/${ids[0]}`, { url: 'http://127.0.0.2/x', description: 'changed' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('url');
    expect((await owner.get(`${hooks(p)}/${ids[0]}`)).json().description).toBe('');
    for (const id of ids) await owner.del(`${hooks(p)}/${id}`);
  });

  it('concurrent creations never pass the limit of 20', async () => {
    const p = (await makeProject(owner, 'Race')).projectId;
    for (let i = 0; i < 17; i++) await endpoint({ project: p, events: ['key.expiring'] });
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        owner.post(hooks(p), { url: `${rx.base}/race-${i}`, events: ['key.rolled'] }),
      ),
    );
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 201, 201, 400, 400, 400]);
    expect((await owner.get(hooks(p))).json().total).toBe(20);
  });

  it('only managers, only people: outsiders 404, members without project_manage 403, API keys 403', async () => {
    const e = await endpoint({ events: ['key.approved'] });
    const routes: [string, string, object?][] = [
      ['GET', hooks()],
      ['POST', hooks(), { url: `${rx.base}/x`, events: ['key.approved'] }],
      ['GET', `${hooks()}/${e.id}`],
      ['PATCH', `${hooks()}/${e.id}`, { description: 'x' }],
      ['DELETE', `${hooks()}/${e.id}`],
      ['GET', `${hooks()}/${e.id}/deliveries`],
      ['POST', `${hooks()}/${e.id}/test`, {}],
    ];
    const key = await issueKey(t, owner, viewer, { projectId: P, permissions: { project: ['project_view'] } });
    const api = bearer(t.app, key.token);
    const before = await snapshot(t.app);
    for (const [method, url, body] of routes) {
      const as = async (s: UserSession) => s.req(method as 'GET', url, body);
      expect((await as(outsider)).statusCode, `${method} ${url}`).toBe(404);
      expect((await as(viewer)).statusCode, `${method} ${url}`).toBe(403);
      const byKey = await api.req(method as 'GET', url, body);
      expect(byKey.statusCode, `${method} ${url}`).toBe(403);
      expect(byKey.json().error.code).toBe('FORBIDDEN');
      const anon = await t.app.inject({ method: method as 'GET', url, ...(body ? { payload: body } : {}) });
      expect(anon.statusCode).toBe(401);
    }
    expect(await snapshot(t.app), 'refused attempts change nothing').toEqual(before);
    // another project's endpoint, asked for under a project I manage: not found
    const theirs = (await makeProject(outsider, 'Theirs')).projectId;
    const foreign = await outsider.post(hooks(theirs), { url: `${rx.base}/theirs`, events: ['key.approved'] });
    const fid = foreign.json().id as number;
    const mine = hooks();
    const afterForeign = await snapshot(t.app);
    for (const res of [
      await owner.get(`${mine}/${fid}`),
      await owner.patch(`${mine}/${fid}`, { enabled: false }),
      await owner.get(`${mine}/${fid}/deliveries`),
      await owner.post(`${mine}/${fid}/test`),
      await owner.del(`${mine}/${fid}`),
    ]) {
      expect(res.statusCode).toBe(404);
    }
    expect((await outsider.get(`${hooks(theirs)}/${fid}`)).json()).toMatchObject({ enabled: true });
    expect(await snapshot(t.app)).toEqual(afterForeign);
    expect((await comanager.get(`${hooks()}/${e.id}`)).statusCode).toBe(200);
    expect((await comanager.del(`${hooks()}/${e.id}`)).statusCode).toBe(204);
  });
});

describe('delivery', () => {
  it('a test event arrives signed, as {type, timestamp, data}, and is logged', async () => {
    const e = await endpoint({ events: ['key.approved'] });
    const queued = await testEvent(e.id);
    expect(queued.webhook_id).toMatch(/^msg_[A-Za-z0-9_-]+$/);
    const [pending] = await deliveries(e.id);
    expect(pending).toMatchObject({ id: queued.delivery_id, status: 'pending', attempts: 0, attempt_log: [] });

    await tick();
    const [got, ...more] = rx.at(e.path);
    expect(more).toEqual([]);
    expect(got?.signatureValid).toBe(true);
    expect(got?.headers['webhook-id']).toBe(queued.webhook_id);
    expect(got?.headers['webhook-timestamp']).toBe(String(Math.floor(clock.now() / 1000)));
    expect(got?.headers['content-type']).toBe('application/json');
    // what a receiver using the Standard Webhooks library does
    const verified = new Webhook(e.secret).verify(got?.body as string, got?.headers as Record<string, string>);
    expect(verified).toEqual({
      type: 'webhook.test',
      timestamp: new Date(clock.now()).toISOString(),
      data: { project_id: P, endpoint_id: e.id },
    });
    const [d] = await deliveries(e.id);
    expect(d).toMatchObject({
      status: 'delivered',
      event_type: 'webhook.test',
      webhook_id: queued.webhook_id,
      attempts: 1,
      last_status_code: 200,
      last_error: null,
      next_attempt_at: null,
    });
    expect(d.last_latency_ms).toBeGreaterThanOrEqual(0);
    expect(d.attempt_log).toEqual([
      { attempt: 1, started_at: d.last_attempt_at, status_code: 200, latency_ms: d.last_latency_ms, error: null },
    ]);
    await tick();
    expect(rx.at(e.path)).toHaveLength(1); // delivered once
  });

  it('emitWebhook queues in the caller’s transaction, for enabled endpoints subscribed to the event', async () => {
    const p = (await makeProject(owner, 'Emit')).projectId;
    const approvedOnly = await endpoint({ project: p, events: ['key.approved'] });
    const all = await endpoint({ project: p });
    const off = await endpoint({ project: p, events: ['key.approved'] });
    await owner.patch(`${hooks(p)}/${off.id}`, { enabled: false });

    await emit(p, 'key.approved', { key_id: 7, template: { id: 3, name: 'Calculator API' }, holder: { id: 9 } });
    await emit(p, 'key.revoked', { key_id: 7 });
    await t.app.ctx.k
      .transaction()
      .execute(async (trx) => {
        await emitWebhook(trx, t.app.ctx, p, 'key.rejected', { request_id: 1 });
        throw new Error('the change is rolled back');
      })
      .catch(() => {});
    await expect(emit(p, 'key.rolled', { key_id: 7, token: 'x' })).rejects.toThrow(/credentials/);
    await expect(emit(p, 'key.rolled', { key: { id: 7, secret_value: 'x' } })).rejects.toThrow(/credentials/);

    await tick();
    const types = (e: Created) => rx.at(e.path).map((r) => JSON.parse(r.body).type);
    expect(types(approvedOnly)).toEqual(['key.approved']);
    expect(types(all).sort()).toEqual(['key.approved', 'key.revoked']);
    expect(types(off)).toEqual([]);
    for (const r of [...rx.at(approvedOnly.path), ...rx.at(all.path)]) expect(r.signatureValid).toBe(true);
    const body = JSON.parse(rx.at(approvedOnly.path)[0]?.body as string);
    expect(body.data).toEqual({
      project_id: p,
      key_id: 7,
      template: { id: 3, name: 'Calculator API' },
      holder: { id: 9 },
    });
    // one message per endpoint: each its own webhook-id
    const ids = [...rx.at(approvedOnly.path), ...rx.at(all.path)].map((r) => r.headers['webhook-id']);
    expect(new Set(ids).size).toBe(3);
  });

  it('a 500 is retried after 5 s with the same webhook-id, signed again', async () => {
    const e = await endpoint();
    rx.script(e.path, { status: 500 });
    const q = await testEvent(e.id);
    await tick();
    let [d] = await deliveries(e.id);
    expect(d).toMatchObject({ status: 'pending', attempts: 1, last_status_code: 500, last_error: 'HTTP 500' });
    expect(Date.parse(d.next_attempt_at) - clock.now()).toBe(5_000);
    await tick();
    expect(rx.at(e.path)).toHaveLength(1); // not due yet
    clock.advance(5_000);
    await tick();
    [d] = await deliveries(e.id);
    expect(d).toMatchObject({ status: 'delivered', attempts: 2, last_status_code: 200, last_error: null });
    expect(d.attempt_log.map((a: { status_code: number }) => a.status_code)).toEqual([500, 200]);
    const got = rx.at(e.path);
    expect(got.map((r) => r.headers['webhook-id'])).toEqual([q.webhook_id, q.webhook_id]);
    expect(got.every((r) => r.signatureValid)).toBe(true);
    expect(Number(got[1]?.headers['webhook-timestamp'])).toBe(Number(got[0]?.headers['webhook-timestamp']) + 5);
    expect(got[1]?.body).toBe(got[0]?.body);
  });

  it('backoff: 5 s, 1 min, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h', async () => {
    const e = await endpoint();
    rx.always(e.path, { status: 503 });
    const q = await testEvent(e.id);
    const firstAt = clock.now();
    await tick();
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      const [d] = await deliveries(e.id);
      const due = Date.parse(d.next_attempt_at);
      delays.push(due - clock.now());
      clock.t = due - 1000;
      await tick();
      expect(rx.at(e.path)).toHaveLength(i + 1); // a second early: nothing
      clock.t = due;
      await tick();
      expect(rx.at(e.path)).toHaveLength(i + 2);
    }
    const s = 1000;
    const h = 3600 * s;
    expect(delays).toEqual([5 * s, 60 * s, 300 * s, 1800 * s, 2 * h, 5 * h, 10 * h, 10 * h]);
    const ep = (await owner.get(`${hooks()}/${e.id}`)).json();
    expect(ep).toMatchObject({ enabled: true, failing_since: new Date(firstAt).toISOString() });
    expect(new Set(rx.at(e.path).map((r) => r.headers['webhook-id']))).toEqual(new Set([q.webhook_id]));
    await owner.del(`${hooks()}/${e.id}`);
  });

  it('an endpoint failing for 3 days is disabled and the managers are told; enabling it resumes delivery', async () => {
    const e = await endpoint();
    rx.always(e.path, { status: 500 });
    const q = await testEvent(e.id);
    const firstAt = clock.now();
    await tick();
    let ep = (await owner.get(`${hooks()}/${e.id}`)).json();
    while (ep.enabled) {
      await retryNow(e.id, q.delivery_id);
      ep = (await owner.get(`${hooks()}/${e.id}`)).json();
      expect(rx.at(e.path).length).toBeLessThanOrEqual(15);
    }
    const attemptsAt = (await deliveries(e.id))[0].attempt_log.map((a: { started_at: string }) =>
      Date.parse(a.started_at),
    );
    const day = 86_400_000;
    expect(attemptsAt.at(-1) - firstAt).toBeGreaterThanOrEqual(3 * day);
    expect(attemptsAt.at(-2) - firstAt).toBeLessThan(3 * day);
    expect(ep).toMatchObject({ enabled: false, disabled_reason: 'failing' });

    const notices = async (s: UserSession) =>
      (await s.get('/api/me/notifications'))
        .json()
        .items.filter((n: { kind: string }) => n.kind === 'webhook.disabled');
    for (const m of [owner, comanager]) {
      const [n, ...others] = await notices(m);
      expect(others).toEqual([]);
      expect(n).toMatchObject({ project_id: P, title: 'Webhook endpoint disabled' });
      expect(n.body).toContain('"http[:]//127.0.0.1'); // the URL quoted, not a link
    }
    expect(await notices(viewer)).toEqual([]);

    // disabled: nothing is sent, nothing new is queued
    const sent = rx.at(e.path).length;
    clock.advance(day);
    await tick();
    await emit(P, 'key.revoked', { key_id: 1 });
    await tick();
    expect(rx.at(e.path)).toHaveLength(sent);
    expect(await deliveries(e.id)).toHaveLength(1);
    expect((await owner.post(`${hooks()}/${e.id}/test`)).statusCode).toBe(409);

    rx.always(e.path, { status: 204 });
    const on = await owner.patch(`${hooks()}/${e.id}`, { enabled: true });
    expect(on.json()).toMatchObject({ enabled: true, disabled_reason: null, failing_since: null });
    await retryNow(e.id, q.delivery_id);
    const [d] = await deliveries(e.id);
    expect(d).toMatchObject({ status: 'delivered', last_status_code: 204 });
    expect(rx.at(e.path).at(-1)?.headers['webhook-id']).toBe(q.webhook_id);
    await owner.del(`${hooks()}/${e.id}`);
  });

  it('a success ends the failing streak; a delivery is given up after 15 attempts', async () => {
    const e = await endpoint();
    rx.always(e.path, { status: 500 });
    const q = await testEvent(e.id);
    await tick();
    for (let i = 0; i < 10; i++) await retryNow(e.id, q.delivery_id); // 11 attempts, ~47.6 h
    rx.script(e.path, { status: 200 });
    const ok = await testEvent(e.id);
    await tick();
    expect((await deliveries(e.id)).find((d) => d.id === ok.delivery_id).status).toBe('delivered');
    expect((await owner.get(`${hooks()}/${e.id}`)).json().failing_since).toBeNull();
    for (let i = 0; i < 4; i++) await retryNow(e.id, q.delivery_id); // attempts 12..15, 40 h more
    const d = (await deliveries(e.id)).find((x) => x.id === q.delivery_id);
    expect(d).toMatchObject({ status: 'failed', attempts: 15, next_attempt_at: null });
    expect((await owner.get(`${hooks()}/${e.id}`)).json().enabled).toBe(true);
    clock.advance(86_400_000);
    const before = rx.at(e.path).length;
    await tick();
    expect(rx.at(e.path)).toHaveLength(before);
    await owner.del(`${hooks()}/${e.id}`);
  });

  it('a receiver slower than the timeout: the attempt fails and is retried later', async () => {
    expect(DELIVERY_TIMEOUT_MS).toBe(10_000);
    const e = await endpoint();
    rx.script(e.path, { delayMs: 3_000 });
    await testEvent(e.id);
    const sender = new WebhookSender(t.app.ctx, { timeoutMs: 300 });
    const started = Date.now();
    await sender.tick();
    expect(Date.now() - started).toBeLessThan(2_500);
    const [d] = await deliveries(e.id);
    expect(d).toMatchObject({ status: 'pending', attempts: 1, last_status_code: null });
    expect(d.last_error).toMatch(/timed out after 0.3 s/);
    expect(d.last_latency_ms).toBeGreaterThanOrEqual(290);
    clock.advance(5_000);
    await tick();
    expect((await deliveries(e.id))[0].status).toBe('delivered');
  });

  it('redirects are not followed', async () => {
    const e = await endpoint();
    rx.script(e.path, { status: 302, headers: { location: `${rx.base}/elsewhere` } });
    await testEvent(e.id);
    await tick();
    expect(rx.at('/elsewhere')).toEqual([]);
    const [d] = await deliveries(e.id);
    expect(d).toMatchObject({ status: 'pending', last_status_code: 302 });
    expect(d.last_error).toMatch(/redirects are not followed/);
    await owner.del(`${hooks()}/${e.id}`);
  });

  it(`the delivery log keeps the newest ${KEEP_DELIVERIES} finished deliveries per endpoint`, async () => {
    const p = (await makeProject(owner, 'Log')).projectId;
    const e = await endpoint({ project: p, events: ['usage.threshold'] });
    const n = KEEP_DELIVERIES + 15;
    await t.app.ctx.k.transaction().execute(async (trx) => {
      for (let i = 0; i < n; i++) await emitWebhook(trx, t.app.ctx, p, 'usage.threshold', { key_id: i, percent: 80 });
    });
    for (let i = 0; i < 10 && rx.at(e.path).length < n; i++) await tick();
    expect(rx.at(e.path)).toHaveLength(n);
    const res = (await owner.get(`${hooks(p)}/${e.id}/deliveries?page_size=5`)).json();
    expect(res.total).toBe(KEEP_DELIVERIES);
    expect(res.items[0].id).toBeGreaterThan(res.items[4].id); // newest first
    const attempts = await t.app.ctx.k
      .selectFrom('webhook_attempts')
      .innerJoin('webhook_deliveries', 'webhook_deliveries.id', 'webhook_attempts.delivery_id')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('webhook_deliveries.endpoint_id', '=', e.id)
      .executeTakeFirstOrThrow();
    expect(Number(attempts.n)).toBe(KEEP_DELIVERIES);
    const orphans = await t.app.ctx.k
      .selectFrom('webhook_attempts')
      .leftJoin('webhook_deliveries', 'webhook_deliveries.id', 'webhook_attempts.delivery_id')
      .select('webhook_attempts.id')
      .where('webhook_deliveries.id', 'is', null)
      .execute();
    expect(orphans).toEqual([]);
  });

  it('no signing secret in any payload, log, delivery record, audit entry or notice', async () => {
    expect(secrets.length).toBeGreaterThan(20);
    const k = t.app.ctx.k;
    const stored = JSON.stringify([
      await k.selectFrom('webhook_deliveries').selectAll().execute(),
      await k.selectFrom('webhook_attempts').selectAll().execute(),
      await k.selectFrom('audit_log').selectAll().execute(),
      await k.selectFrom('notifications').selectAll().execute(),
      await k.selectFrom('outbox').selectAll().execute(),
    ]);
    const logs = t.logs.join('\n');
    const sent = rx.received.map((r) => JSON.stringify(r.headers) + r.body).join('\n');
    for (const s of secrets) {
      for (const part of [s, s.slice(6)]) {
        expect(stored).not.toContain(part);
        expect(logs).not.toContain(part);
        expect(sent).not.toContain(part);
      }
    }
  });
});
