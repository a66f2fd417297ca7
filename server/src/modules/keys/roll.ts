// Rolling a key: a successor with a new id and jti for the same holder, template, role, quota, caps
// and info fields; the old key keeps working (and being billed) until the grace ends, then answers
// 401 like any expired key. Secrets imported from the old key are rewritten to the new token in
// the same transaction. Renewal approval is a roll too, with a fresh lifetime for the successor.
import type { Selectable } from 'kysely';
import type { Actor } from '../../auth/permissions.js';
import type { Ctx, Q } from '../../context.js';
import type { ApiKeysTable } from '../../db/schema.js';
import { AppError } from '../../errors.js';
import { DAY_MS, toIso } from '../../lib/clock.js';
import { randomToken } from '../../lib/crypto.js';
import { audit } from '../audit/service.js';
import { followRolledKey } from '../secrets/service.js';
import { emitWebhook } from '../webhooks/events.js';
import { withTokenDigest } from './tokens.js';

export const DEFAULT_GRACE_SECONDS = 86_400;
export const MAX_GRACE_SECONDS = 30 * 86_400;

type KeyRow = Selectable<ApiKeysTable>;

/** Why a key cannot be rolled now (renewed, when `expiredOk`); null when it can. */
export function notRollable(key: KeyRow, now: number, expiredOk = false): AppError | null {
  if (key.revoked_at !== null) return new AppError('KEY_REVOKED', 'This key was revoked; request a new one');
  if (key.rolled_to !== null)
    return new AppError('KEY_ROLLED', 'This key was already replaced; use its successor', {
      rolled_to: key.rolled_to,
    });
  if (!expiredOk && key.expires_at !== null && key.expires_at <= now)
    return new AppError('KEY_EXPIRED', 'This key has expired; renew it or request a new one');
  return null;
}

export interface RollPlan {
  /** when the old key stops working */
  retireAt: number | null;
  /** the successor's lifetime end (null: never) */
  expiresAt: number | null;
  /** the request that issued the successor (the renewal's, else the old key's) */
  requestId: number;
  by: 'holder' | 'manager' | 'renewal';
}

/** A roll: the successor keeps the old key's lifetime end; the old key retires after the grace. */
export function rollPlan(key: KeyRow, now: number, graceSeconds: number, by: 'holder' | 'manager'): RollPlan {
  const graceEnd = now + graceSeconds * 1000;
  return {
    retireAt: key.expires_at === null ? graceEnd : Math.min(graceEnd, key.expires_at),
    expiresAt: key.expires_at,
    requestId: key.request_id,
    by,
  };
}

/** A renewal: the successor gets the template's lifetime from now; the old key keeps its own end. */
export function renewalPlan(key: KeyRow, now: number, lifetimeDays: number | null, requestId: number): RollPlan {
  return {
    retireAt: key.expires_at,
    expiresAt: lifetimeDays ? now + lifetimeDays * DAY_MS : null,
    requestId,
    by: 'renewal',
  };
}

export interface Rolled {
  successor: KeyRow;
  token: string;
  previous: { id: number; expires_at: number | null };
  updatedSecrets: { project_id: number; name: string }[];
}

/**
 * Rolls `key` inside the caller's transaction. The guarded update decides concurrent rolls: the
 * loser (on PostgreSQL it waits for the winner's commit) updates no row and gets 409 with nothing
 * written. The caller publishes the old key's invalidation after commit.
 */
export async function rollKey(q: Q, ctx: Ctx, actor: Actor, key: KeyRow, plan: RollPlan): Promise<Rolled> {
  const now = ctx.clock.now();
  const refused = notRollable(key, now, plan.by === 'renewal');
  if (refused) throw refused;
  const claimed = await q
    .updateTable('api_keys')
    .set({ expires_at: plan.retireAt, updated_at: now })
    .where('id', '=', key.id)
    .where('rolled_to', 'is', null)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (Number(claimed.numUpdatedRows) !== 1)
    throw new AppError('KEY_ROLLED', 'This key was rolled or revoked concurrently; nothing was changed');

  const { token, row: values } = await withTokenDigest(ctx, {
    project_id: key.project_id,
    template_id: key.template_id,
    role_id: key.role_id,
    user_id: key.user_id,
    request_id: plan.requestId,
    jti: randomToken(16),
    kid: ctx.signing.activeKid,
    issuer: ctx.config.publicUrl,
    template_name: key.template_name,
    issued_at: now,
    expires_at: plan.expiresAt,
    claims_expires_at: plan.expiresAt,
    rolled_from: key.id,
    rolled_to: null,
    lineage_id: key.lineage_id ?? key.id,
    monthly_quota: key.monthly_quota,
    template_spend_cap_micros: key.template_spend_cap_micros,
    manager_spend_cap_micros: key.manager_spend_cap_micros,
    self_spend_cap_micros: key.self_spend_cap_micros,
    last_used_at: null,
    created_at: now,
    revoked_at: null,
    revoked_reason: null,
    updated_at: now,
  });
  const { id } = await q.insertInto('api_keys').values(values).returning('id').executeTakeFirstOrThrow();
  await q.updateTable('api_keys').set({ rolled_to: id }).where('id', '=', key.id).execute();
  const successor: KeyRow = { id, ...values };
  const updatedSecrets = await followRolledKey(q, ctx, actor, key.id, id, token);
  await emitWebhook(q, ctx, key.project_id, 'key.rolled', {
    key_id: id,
    rolled_from: key.id,
    template_id: key.template_id,
    template: key.template_name,
    user_id: key.user_id,
    by: plan.by,
    previous_expires_at: toIso(plan.retireAt),
  });
  await audit(q, ctx, key.project_id, actor, {
    action: 'key.rolled',
    object_type: 'api_key',
    object_id: id,
    details: {
      rolled_from: key.id,
      user_id: key.user_id,
      by: plan.by,
      previous_expires_at: toIso(plan.retireAt),
      secrets_rewritten: updatedSecrets.length,
    },
  });
  return { successor, token, previous: { id: key.id, expires_at: plan.retireAt }, updatedSecrets };
}
