// Webhook events: what other modules emit, inside their own transaction, so an event is queued
// exactly when the change it reports is committed. The worker (sender.ts) delivers the queue.
import type { Ctx, Q } from '../../context.js';
import { toIso } from '../../lib/clock.js';
import { parseJson } from '../../lib/json.js';
import { newMessageId } from './signing.js';

export const WEBHOOK_EVENTS = [
  'key.requested',
  'key.approved',
  'key.rejected',
  'key.revoked',
  'key.rolled',
  'key.expiring',
  'request.expired',
  'usage.threshold',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

/** Sent only by POST …/webhooks/:w/test, to that one endpoint; nobody subscribes to it. */
export const TEST_EVENT = 'webhook.test';

/** Field names that would carry a credential: a payload holds ids and names only. */
const CREDENTIAL_KEY = /token|secret|password|jwt|credential|authorization/i;

function assertIdsAndNames(value: unknown, path: string): void {
  if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) return;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) assertIdsAndNames(v, `${path}[${i}]`);
    return;
  }
  if (typeof value !== 'object') throw new TypeError(`webhook data ${path} is not JSON`);
  for (const [k, v] of Object.entries(value)) {
    if (CREDENTIAL_KEY.test(k)) throw new TypeError(`webhook data must not carry credentials (${path}.${k})`);
    assertIdsAndNames(v, `${path}.${k}`);
  }
}

/** The JSON body sent for an event: `{type, timestamp, data}`; data starts with the project id. */
export function eventBody(type: string, at: number, projectId: number, data: Record<string, unknown>): string {
  assertIdsAndNames(data, 'data');
  return JSON.stringify({ type, timestamp: toIso(at), data: { project_id: projectId, ...data } });
}

interface Target {
  id: number;
}

/** Queues one delivery of an event per target endpoint; returns the new delivery ids. */
export async function enqueue(
  q: Q,
  ctx: Ctx,
  projectId: number,
  targets: Target[],
  type: string,
  data: Record<string, unknown>,
): Promise<{ id: number; msg_id: string }[]> {
  if (!targets.length) return [];
  const now = ctx.clock.now();
  const payload = eventBody(type, now, projectId, data);
  return q
    .insertInto('webhook_deliveries')
    .values(
      targets.map((e) => ({
        endpoint_id: e.id,
        project_id: projectId,
        msg_id: newMessageId(),
        event_type: type,
        payload,
        status: 'pending' as const,
        attempts: 0,
        next_attempt_at: now,
        locked_until: null,
        last_status_code: null,
        last_latency_ms: null,
        last_error: null,
        created_at: now,
        last_attempt_at: null,
        delivered_at: null,
      })),
    )
    .returning(['id', 'msg_id'])
    .execute();
}

/**
 * Queues `type` for every enabled endpoint of the project subscribed to it, in the caller's
 * transaction `q`. `data` holds ids and names only (a field named like a token or secret throws).
 */
export async function emitWebhook(
  q: Q,
  ctx: Ctx,
  projectId: number,
  type: WebhookEventType,
  data: Record<string, unknown>,
): Promise<void> {
  assertIdsAndNames(data, 'data');
  const endpoints = await q
    .selectFrom('webhook_endpoints')
    .select(['id', 'events'])
    .where('project_id', '=', projectId)
    .where('enabled', '=', 1)
    .execute();
  const targets = endpoints.filter((e) => parseJson<string[]>(e.events, []).includes(type));
  await enqueue(q, ctx, projectId, targets, type, data);
}
