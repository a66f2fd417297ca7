// Issuing a key: the row a token is derived from, with the token's digest (tokens themselves are
// never stored; see tokens.ts). Called inside the transaction that decides the request.
import type { Selectable } from 'kysely';
import type { Ctx, Q } from '../../context.js';
import type { ApiKeyTemplatesTable, KeyRequestsTable } from '../../db/schema.js';
import { DAY_MS } from '../../lib/clock.js';
import { randomToken } from '../../lib/crypto.js';
import { withTokenDigest } from './tokens.js';

/** A new key for the request's user, acting with the template's role and quota as they are now. */
export async function issueKey(
  q: Q,
  ctx: Ctx,
  template: Selectable<ApiKeyTemplatesTable>,
  request: Pick<Selectable<KeyRequestsTable>, 'id' | 'user_id'>,
): Promise<{ id: number; expires_at: number | null }> {
  const now = ctx.clock.now();
  const expires_at = template.lifetime_days ? now + template.lifetime_days * DAY_MS : null;
  const { row } = await withTokenDigest(ctx, {
    project_id: template.project_id,
    template_id: template.id,
    role_id: template.role_id,
    user_id: request.user_id,
    request_id: request.id,
    jti: randomToken(16),
    kid: ctx.signing.activeKid,
    issuer: ctx.config.publicUrl,
    template_name: template.name,
    issued_at: now,
    expires_at,
    claims_expires_at: expires_at,
    monthly_quota: template.monthly_quota,
    template_spend_cap_micros: template.monthly_spend_cap_micros,
    created_at: now,
    revoked_at: null,
    revoked_reason: null,
    updated_at: now,
  });
  const { id } = await q.insertInto('api_keys').values(row).returning('id').executeTakeFirstOrThrow();
  return { id, expires_at };
}
