// Issued keys from the holder's side (my keys, my token) and the owner's revoke.

import type { KeyActor } from '../../auth/key-auth.js';
import type { Access } from '../../auth/permissions.js';
import type { Ctx } from '../../context.js';
import { AppError, notFound } from '../../errors.js';
import { toIso } from '../../lib/clock.js';
import { formatMoney } from '../../lib/money.js';
import { audit } from '../audit/service.js';
import { notify, quoted } from '../notifications/service.js';
import { fieldsOf } from '../templates/service.js';
import { revokeKeysWhere, SYSTEM_REVOCATION_REASONS } from './revoke.js';
import { signKey } from './tokens.js';

export async function revokeKey(ctx: Ctx, access: Access, keyId: number, reason: string | undefined) {
  const result = await ctx.k.transaction().execute(async (trx) => {
    const key = await trx
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', keyId)
      .where('project_id', '=', access.projectId)
      .executeTakeFirst();
    if (!key) throw notFound('API key');
    if (key.revoked_at !== null) return { id: keyId, revoked_at: toIso(key.revoked_at), already: true };
    const given = reason?.trim() || null;
    const why = given ?? SYSTEM_REVOCATION_REASONS.owner;
    await revokeKeysWhere(trx, ctx, access.projectId, { keyId }, why);
    const project = await trx
      .selectFrom('projects')
      .select('name')
      .where('id', '=', access.projectId)
      .executeTakeFirstOrThrow();
    await notify(trx, ctx, [key.user_id], {
      kind: 'key.revoked',
      projectId: access.projectId,
      title: `API key revoked: ${key.template_name}`,
      body: `Your API key ${quoted(key.template_name)} was revoked (${given ? quoted(given) : why}). It no longer works; you may request a new one.`,
      link: `/projects/${access.projectId}/about#api-keys`,
      // reason null: the owner gave none (the UI says "by the project owner" in its language)
      params: { template: key.template_name, project: project.name, reason: given },
    });
    await audit(trx, ctx, access.projectId, access.actor, {
      action: 'key.revoked',
      object_type: 'api_key',
      object_id: keyId,
      details: { user_id: key.user_id },
    });
    return { id: keyId, revoked_at: toIso(ctx.clock.now()), already: false };
  });
  // Committed first, then every instance drops the key from its caches.
  if (!result.already) await ctx.events.publish({ type: 'key', keyId });
  return { id: result.id, revoked_at: result.revoked_at };
}

/** Keys I hold, in any project, with their template's info fields (for import as secrets). */
export async function myKeys(ctx: Ctx, userId: number) {
  const rows = await ctx.k
    .selectFrom('api_keys as k')
    .innerJoin('projects as p', 'p.id', 'k.project_id')
    .leftJoin('api_key_templates as t', 't.id', 'k.template_id')
    .leftJoin('roles as r', 'r.id', 'k.role_id')
    .select([
      'k.id',
      'k.project_id',
      'k.template_id',
      'k.template_name',
      'k.created_at',
      'k.expires_at',
      'k.revoked_at',
      'k.revoked_reason',
      'p.name as project_name',
      't.description',
      'r.price_micros',
    ])
    .where('k.user_id', '=', userId)
    .orderBy('k.id', 'desc')
    .execute();
  const fields = await fieldsOf(ctx.k, [...new Set(rows.map((r) => r.template_id))]);
  const now = ctx.clock.now();
  return rows.map((r) => {
    const active = r.revoked_at === null && (r.expires_at === null || r.expires_at > now);
    return {
      id: r.id,
      project: { id: r.project_id, name: r.project_name },
      template_id: r.template_id,
      template_name: r.template_name,
      description: r.description ?? '',
      price_per_request: formatMoney(r.price_micros ?? 0),
      currency: ctx.config.currency,
      // a revoked or expired key no longer entitles its holder to the template's current values
      fields: (fields.get(r.template_id) ?? []).map((f) => ({
        name: f.name,
        description: f.description,
        value: active ? f.value : null,
      })),
      received_at: toIso(r.created_at),
      expires_at: toIso(r.expires_at),
      revoked_at: toIso(r.revoked_at),
      revoked_reason: r.revoked_reason,
      active,
    };
  });
}

/** The holder's token, re-derived. Anyone else gets 404; a revoked or expired key cannot be copied. */
export async function myToken(ctx: Ctx, actor: { kind: 'user'; userId: number; sessionId: number }, keyId: number) {
  const key = await ctx.k
    .selectFrom('api_keys')
    .selectAll()
    .where('id', '=', keyId)
    .where('user_id', '=', actor.userId)
    .executeTakeFirst();
  if (!key) throw notFound('API key');
  if (key.revoked_at !== null) throw new AppError('INVALID_STATE', 'This key was revoked');
  if (key.expires_at !== null && key.expires_at <= ctx.clock.now())
    throw new AppError('INVALID_STATE', 'This key has expired');
  const token = await signKey(ctx, key);
  await audit(ctx.k, ctx, key.project_id, actor, {
    action: 'key.token_copied',
    object_type: 'api_key',
    object_id: keyId,
  });
  return { token };
}

type WhoAmI = {
  key_id: number;
  project_id: number;
  user_id: number;
  template_id: number;
  role_id: number;
  permissions: { project: string[]; nodes: Record<string, string[]> };
};

/**
 * The answer depends only on the cached actor and its role's permission sets, which are replaced
 * (new objects) whenever the role changes: memoised per actor, it costs no allocation per request.
 */
const whoamiMemo = new WeakMap<
  KeyActor,
  { project: ReadonlySet<string>; nodes: ReadonlyMap<number, ReadonlySet<string>>; body: WhoAmI }
>();

export function whoami(actor: KeyActor, access: Access): WhoAmI {
  const memo = whoamiMemo.get(actor);
  if (memo !== undefined && memo.project === access.project && memo.nodes === access.nodes) return memo.body;
  const nodes: Record<string, string[]> = {};
  for (const [id, perms] of access.nodes) nodes[String(id)] = [...perms];
  const body: WhoAmI = {
    key_id: actor.keyId,
    project_id: actor.projectId,
    user_id: actor.userId,
    template_id: actor.templateId,
    role_id: actor.roleId,
    permissions: { project: [...access.project], nodes },
  };
  whoamiMemo.set(actor, { project: access.project, nodes: access.nodes, body });
  return body;
}
