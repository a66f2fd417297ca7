// Webhook endpoints of a project: URL, events, description, on/off. The signing secret is made
// here, answered once at creation and kept sealed; no listing shows it. Changes are audited.
import type { Selectable } from 'kysely';
import type { Access } from '../../auth/permissions.js';
import type { Ctx, Q } from '../../context.js';
import type { WebhookEndpointsTable } from '../../db/schema.js';
import { AppError, notFound } from '../../errors.js';
import { toIso } from '../../lib/clock.js';
import { ensureDataKey } from '../../lib/data-keys.js';
import { parseJson } from '../../lib/json.js';
import { audit } from '../audit/service.js';
import { holdersOf, notify, quoted } from '../notifications/service.js';
import { allowedHosts, urlProblem } from './address-guard.js';
import { enqueue, TEST_EVENT, type WebhookEventType } from './events.js';
import { newSecret, sealWebhookSecret } from './signing.js';

export const MAX_ENDPOINTS = 20;

type EndpointRow = Selectable<WebhookEndpointsTable>;

export interface EndpointInput {
  url: string;
  events: WebhookEventType[];
  description?: string | undefined;
}
export interface EndpointPatch {
  url?: string | undefined;
  events?: WebhookEventType[] | undefined;
  description?: string | undefined;
  enabled?: boolean | undefined;
}

const toEndpoint = (r: EndpointRow) => ({
  id: r.id,
  project_id: r.project_id,
  url: r.url,
  description: r.description,
  events: parseJson<WebhookEventType[]>(r.events, []),
  enabled: r.enabled === 1,
  disabled_reason: r.disabled_reason,
  failing_since: toIso(r.failing_since),
  created_at: toIso(r.created_at),
  updated_at: toIso(r.updated_at),
});

function checkUrl(ctx: Ctx, url: string): void {
  const problem = urlProblem(url, {
    allowHttp: ctx.config.webhookAllowHttp,
    allowHosts: allowedHosts(ctx.config.webhookAllowHosts),
  });
  if (problem) throw new AppError('VALIDATION_FAILED', problem, { field: 'url' });
}

async function findEndpoint(q: Q, projectId: number, id: number): Promise<EndpointRow> {
  const row = await q
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) throw notFound('Webhook endpoint');
  return row;
}

export async function listEndpoints(ctx: Ctx, access: Access) {
  const rows = await ctx.k
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('project_id', '=', access.projectId)
    .orderBy('id')
    .execute();
  return { total: rows.length, items: rows.map(toEndpoint) };
}

export async function getEndpoint(ctx: Ctx, access: Access, id: number) {
  return toEndpoint(await findEndpoint(ctx.k, access.projectId, id));
}

export async function createEndpoint(ctx: Ctx, access: Access, input: EndpointInput) {
  checkUrl(ctx, input.url);
  const projectId = access.projectId;
  const events = [...new Set(input.events)];
  const secret = newSecret();
  const row = await ctx.k.transaction().execute(async (trx) => {
    // a row lock on the project (a no-op write): concurrent creations are counted one after the other
    await trx
      .updateTable('projects')
      .set((eb) => ({ name: eb.ref('name') }))
      .where('id', '=', projectId)
      .execute();
    const { n } = await trx
      .selectFrom('webhook_endpoints')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('project_id', '=', projectId)
      .executeTakeFirstOrThrow();
    if (Number(n) >= MAX_ENDPOINTS) {
      throw new AppError('VALIDATION_FAILED', `A project has at most ${MAX_ENDPOINTS} webhook endpoints`, {
        limit: MAX_ENDPOINTS,
      });
    }
    const now = ctx.clock.now();
    const dk = await ensureDataKey(trx, ctx, projectId);
    const { id } = await trx
      .insertInto('webhook_endpoints')
      .values({
        project_id: projectId,
        url: input.url,
        description: input.description ?? '',
        events: JSON.stringify(events),
        secret_enc: '', // sealed below, bound to the new id
        enabled: 1,
        failing_since: null,
        disabled_reason: null,
        disabled_at: null,
        created_at: now,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await trx
      .updateTable('webhook_endpoints')
      .set({ secret_enc: sealWebhookSecret(dk, id, secret) })
      .where('id', '=', id)
      .execute();
    await audit(trx, ctx, projectId, access.actor, {
      action: 'webhook.created',
      object_type: 'webhook',
      object_id: id,
      details: { url: input.url, events },
    });
    return findEndpoint(trx, projectId, id);
  });
  return { ...toEndpoint(row), secret };
}

export async function updateEndpoint(ctx: Ctx, access: Access, id: number, patch: EndpointPatch) {
  if (patch.url !== undefined) checkUrl(ctx, patch.url);
  return ctx.k.transaction().execute(async (trx) => {
    const current = await findEndpoint(trx, access.projectId, id);
    const now = ctx.clock.now();
    const set: Partial<EndpointRow> = { updated_at: now };
    if (patch.url !== undefined) set.url = patch.url;
    if (patch.events !== undefined) set.events = JSON.stringify([...new Set(patch.events)]);
    if (patch.description !== undefined) set.description = patch.description;
    if (patch.enabled === true && current.enabled !== 1) {
      // a fresh start: three more days before a failing endpoint is disabled again
      Object.assign(set, { enabled: 1, disabled_reason: null, disabled_at: null, failing_since: null });
    } else if (patch.enabled === false && current.enabled === 1) {
      Object.assign(set, { enabled: 0, disabled_reason: 'manual', disabled_at: now });
    }
    await trx.updateTable('webhook_endpoints').set(set).where('id', '=', id).execute();
    await audit(trx, ctx, access.projectId, access.actor, {
      action: 'webhook.updated',
      object_type: 'webhook',
      object_id: id,
      details: { fields: Object.keys(patch).filter((k) => (patch as Record<string, unknown>)[k] !== undefined) },
    });
    return toEndpoint(await findEndpoint(trx, access.projectId, id));
  });
}

export async function deleteEndpoint(ctx: Ctx, access: Access, id: number): Promise<void> {
  await ctx.k.transaction().execute(async (trx) => {
    const current = await findEndpoint(trx, access.projectId, id);
    await trx.deleteFrom('webhook_endpoints').where('id', '=', id).execute();
    await audit(trx, ctx, access.projectId, access.actor, {
      action: 'webhook.deleted',
      object_type: 'webhook',
      object_id: id,
      details: { url: current.url },
    });
  });
}

/** Queues a `webhook.test` event for this one endpoint. */
export async function sendTestEvent(ctx: Ctx, access: Access, id: number) {
  return ctx.k.transaction().execute(async (trx) => {
    const endpoint = await findEndpoint(trx, access.projectId, id);
    if (endpoint.enabled !== 1) throw new AppError('INVALID_STATE', 'The endpoint is disabled; enable it first');
    const [d] = await enqueue(trx, ctx, access.projectId, [endpoint], TEST_EVENT, { endpoint_id: id });
    if (!d) throw new AppError('INTERNAL', 'The test event was not queued');
    return { delivery_id: d.id, webhook_id: d.msg_id };
  });
}

export async function listDeliveries(ctx: Ctx, access: Access, id: number, limit: number, offset: number) {
  await findEndpoint(ctx.k, access.projectId, id);
  const base = ctx.k.selectFrom('webhook_deliveries').where('endpoint_id', '=', id);
  const { total } = await base.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
  const rows = await base.selectAll().orderBy('id', 'desc').limit(limit).offset(offset).execute();
  const attempts = rows.length
    ? await ctx.k
        .selectFrom('webhook_attempts')
        .selectAll()
        .where(
          'delivery_id',
          'in',
          rows.map((r) => r.id),
        )
        .orderBy('attempt')
        .execute()
    : [];
  const byDelivery = new Map<number, typeof attempts>();
  for (const a of attempts) byDelivery.set(a.delivery_id, [...(byDelivery.get(a.delivery_id) ?? []), a]);
  return {
    total: Number(total),
    items: rows.map((r) => ({
      id: r.id,
      endpoint_id: r.endpoint_id,
      event_type: r.event_type,
      webhook_id: r.msg_id,
      status: r.status,
      attempts: r.attempts,
      last_status_code: r.last_status_code,
      last_latency_ms: r.last_latency_ms,
      last_error: r.last_error,
      created_at: toIso(r.created_at),
      last_attempt_at: toIso(r.last_attempt_at),
      next_attempt_at: r.status === 'pending' ? toIso(r.next_attempt_at) : null,
      delivered_at: toIso(r.delivered_at),
      attempt_log: (byDelivery.get(r.id) ?? []).map((a) => ({
        attempt: a.attempt,
        started_at: toIso(a.started_at),
        status_code: a.status_code,
        latency_ms: a.latency_ms,
        error: a.error,
      })),
    })),
  };
}

/**
 * The worker's step when an endpoint has failed for too long: disable it (once, whichever instance
 * gets there first) and tell the project's managers. Its pending deliveries wait for re-enabling.
 */
export async function disableFailingEndpoint(q: Q, ctx: Ctx, projectId: number, endpointId: number): Promise<void> {
  const now = ctx.clock.now();
  const res = await q
    .updateTable('webhook_endpoints')
    .set({ enabled: 0, disabled_reason: 'failing', disabled_at: now, updated_at: now })
    .where('id', '=', endpointId)
    .where('enabled', '=', 1)
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) !== 1) return;
  const [endpoint, project] = await Promise.all([
    q.selectFrom('webhook_endpoints').select('url').where('id', '=', endpointId).executeTakeFirstOrThrow(),
    q.selectFrom('projects').select('name').where('id', '=', projectId).executeTakeFirstOrThrow(),
  ]);
  ctx.log.warn({ project_id: projectId, endpoint_id: endpointId }, 'webhook endpoint disabled after failing');
  await notify(q, ctx, await holdersOf(q, projectId, 'project_manage'), {
    kind: 'webhook.disabled',
    projectId,
    title: 'Webhook endpoint disabled',
    body: `Every delivery to the webhook endpoint ${quoted(endpoint.url)} of the project ${quoted(project.name)} has failed for 3 days, so it was disabled. Fix the receiver, then enable the endpoint again in the project's webhook settings.`,
    link: `/projects/${projectId}/settings#webhooks`,
    params: { project: project.name, url: endpoint.url, endpoint_id: endpointId },
  });
}
