// Issued keys from the holder's side (my keys, my token, roll, revoke, usage) and the managers'
// revoke and roll.

import type { Selectable } from 'kysely';
import type { KeyActor } from '../../auth/key-auth.js';
import type { Access, Actor } from '../../auth/permissions.js';
import type { Ctx, Q } from '../../context.js';
import type { ApiKeysTable } from '../../db/schema.js';
import { AppError, notFound } from '../../errors.js';
import { DAY_MS, toIso } from '../../lib/clock.js';
import { parseJson } from '../../lib/json.js';
import { formatMoney, parseCap } from '../../lib/money.js';
import { audit } from '../audit/service.js';
import { holdersOf, notify, quoted } from '../notifications/service.js';
import { fieldsOf } from '../templates/service.js';
import { usageDb } from '../usage/db.js';
import { monthOf } from '../usage/flush.js';
import type { Period } from '../usage/period.js';
import { monthCounts } from '../usage/quota.js';
import { keyBreakdown, keySeries } from '../usage/stats.js';
import { emitWebhook } from '../webhooks/events.js';
import { effectiveCap } from './authenticator.js';
import { revocationReasonCode, revokeKeysWhere, SYSTEM_REVOCATION_REASONS } from './revoke.js';
import { rollKey, rollPlan } from './roll.js';
import { signKey } from './tokens.js';

type UserActor = { kind: 'user'; userId: number; sessionId: number };
type KeyRow = Selectable<ApiKeysTable>;

/** A key of the project (for its managers) or of the holder (for anyone else it does not exist). */
export async function findKey(q: Q, where: { projectId: number } | { userId: number }, keyId: number): Promise<KeyRow> {
  let sel = q.selectFrom('api_keys').selectAll().where('id', '=', keyId);
  sel = 'projectId' in where ? sel.where('project_id', '=', where.projectId) : sel.where('user_id', '=', where.userId);
  const key = await sel.executeTakeFirst();
  if (!key) throw notFound('API key');
  return key;
}

const projectName = async (q: Q, projectId: number) =>
  (await q.selectFrom('projects').select('name').where('id', '=', projectId).executeTakeFirstOrThrow()).name;

/** Revocation by a manager (the holder is told) or by the holder (the managers are told). */
async function revoke(
  ctx: Ctx,
  actor: UserActor,
  where: { projectId: number } | { userId: number },
  keyId: number,
  reason: string | undefined,
) {
  const by = 'projectId' in where ? 'manager' : 'holder';
  const result = await ctx.k.transaction().execute(async (trx) => {
    const key = await findKey(trx, where, keyId);
    if (key.revoked_at !== null) return { id: key.id, revoked_at: toIso(key.revoked_at), already: true };
    const given = reason?.trim() || null;
    const why = given ?? (by === 'holder' ? SYSTEM_REVOCATION_REASONS.holder : SYSTEM_REVOCATION_REASONS.owner);
    // the guarded update decides a race with another revocation: only its winner tells anyone
    const revoked = await revokeKeysWhere(trx, ctx, key.project_id, { keyId: key.id }, why);
    if (!revoked.length) return { id: key.id, revoked_at: toIso(ctx.clock.now()), already: true };
    const project = await projectName(trx, key.project_id);
    if (by === 'manager') {
      await notify(trx, ctx, [key.user_id], {
        kind: 'key.revoked',
        projectId: key.project_id,
        title: `API key revoked: ${key.template_name}`,
        body: `Your API key ${quoted(key.template_name)} was revoked (${given ? quoted(given) : why}). It no longer works; you may request a new one.`,
        link: `/projects/${key.project_id}/about#api-keys`,
        // reason null: the owner gave none (the UI says "by the project owner" in its language)
        params: { template: key.template_name, project, reason: given },
      });
    } else {
      const holder = await holderOf(trx, key.user_id);
      await notify(trx, ctx, await holdersOf(trx, key.project_id, 'project_manage'), {
        kind: 'key.revoked_by_holder',
        projectId: key.project_id,
        title: `API key revoked by its holder: ${key.template_name}`,
        body: `${quoted(holder.name)} <${holder.email}> revoked their API key ${quoted(key.template_name)} of project ${quoted(project)}.${given ? ` Reason: ${quoted(given)}` : ''}`,
        link: `/projects/${key.project_id}/api-keys#issued`,
        params: { template: key.template_name, project, holder: holder.name, email: holder.email, reason: given },
      });
    }
    await emitWebhook(trx, ctx, key.project_id, 'key.revoked', {
      key_id: key.id,
      template_id: key.template_id,
      template: key.template_name,
      user_id: key.user_id,
      by,
      reason: given,
    });
    await audit(trx, ctx, key.project_id, actor, {
      action: 'key.revoked',
      object_type: 'api_key',
      object_id: key.id,
      details: { user_id: key.user_id, by },
    });
    return { id: key.id, revoked_at: toIso(ctx.clock.now()), already: false };
  });
  // Committed first, then every instance drops the key from its caches.
  if (!result.already) await ctx.events.publish({ type: 'key', keyId });
  return { id: result.id, revoked_at: result.revoked_at };
}

const holderOf = (q: Q, userId: number) =>
  q.selectFrom('users').select(['name', 'email']).where('id', '=', userId).executeTakeFirstOrThrow();

export async function revokeKey(ctx: Ctx, access: Access, keyId: number, reason: string | undefined) {
  return revoke(ctx, access.actor as UserActor, { projectId: access.projectId }, keyId, reason);
}

export async function revokeMyKey(ctx: Ctx, actor: UserActor, keyId: number, reason: string | undefined) {
  return revoke(ctx, actor, { userId: actor.userId }, keyId, reason);
}

/**
 * Rolls a key (see roll.ts) for its holder or a manager. Only the holder's answer carries the
 * new token; a manager's roll tells the holder, a holder's roll tells the managers.
 */
async function roll(
  ctx: Ctx,
  actor: UserActor,
  keyId: number,
  graceSeconds: number,
  by: 'holder' | 'manager',
  projectId?: number,
) {
  const rolled = await ctx.k.transaction().execute(async (trx) => {
    const key = await findKey(
      trx,
      by === 'holder' ? { userId: actor.userId } : { projectId: projectId as number },
      keyId,
    );
    const done = await rollKey(trx, ctx, actor, key, rollPlan(key, ctx.clock.now(), graceSeconds, by));
    const project = await projectName(trx, key.project_id);
    const until = toIso(done.previous.expires_at);
    const params = { template: key.template_name, project, until, rewritten: done.updatedSecrets.length };
    if (by === 'manager') {
      await notify(trx, ctx, [key.user_id], {
        kind: 'key.rolled',
        projectId: key.project_id,
        title: `API key rolled: ${key.template_name}`,
        body: `A manager of project ${quoted(project)} rolled your API key ${quoted(key.template_name)}. The old token works until ${until}; ${done.updatedSecrets.length} imported secret(s) now hold the new one. Copy the new token from My keys.`,
        link: '/me/keys',
        params,
      });
    } else {
      const holder = await holderOf(trx, key.user_id);
      await notify(trx, ctx, await holdersOf(trx, key.project_id, 'project_manage'), {
        kind: 'key.rolled_by_holder',
        projectId: key.project_id,
        title: `API key rolled by its holder: ${key.template_name}`,
        body: `${quoted(holder.name)} <${holder.email}> rolled their API key ${quoted(key.template_name)} of project ${quoted(project)}; the old key works until ${until}.`,
        link: `/projects/${key.project_id}/api-keys#issued`,
        params: { ...params, holder: holder.name, email: holder.email },
      });
    }
    return done;
  });
  await ctx.events.publish({ type: 'key', keyId });
  const [key] = await myKeys(ctx, rolled.successor.user_id, rolled.successor.id);
  return {
    key: key as NonNullable<typeof key>,
    previous: { id: rolled.previous.id, expires_at: toIso(rolled.previous.expires_at) },
    updated_secrets: rolled.updatedSecrets,
    token: rolled.token,
  };
}

export async function rollMyKey(ctx: Ctx, actor: UserActor, keyId: number, graceSeconds: number) {
  const answer = await roll(ctx, actor, keyId, graceSeconds, 'holder');
  await audit(ctx.k, ctx, answer.key.project.id, actor, {
    action: 'key.token_copied',
    object_type: 'api_key',
    object_id: answer.key.id,
    details: { on: 'roll' },
  });
  return answer;
}

export async function rollIssuedKey(ctx: Ctx, access: Access, keyId: number, graceSeconds: number) {
  const { token: _onlyForTheHolder, ...answer } = await roll(
    ctx,
    access.actor as UserActor,
    keyId,
    graceSeconds,
    'manager',
    access.projectId,
  );
  return answer;
}

/**
 * A manager's cap replaces the template's for one key; the holder's own cap may only lower what
 * applies. Caps are kept across rolls (the successor copies them) and count the whole lineage.
 */
export async function setSpendCap(
  ctx: Ctx,
  actor: Actor,
  where: { projectId: number } | { userId: number },
  keyId: number,
  text: string | null,
) {
  const by = 'projectId' in where ? 'manager' : 'holder';
  const micros = text === null ? null : parseCap(text, ctx.config.currency);
  await ctx.k.transaction().execute(async (trx) => {
    const key = await findKey(trx, where, keyId);
    if (key.revoked_at !== null) throw new AppError('KEY_REVOKED', 'This key was revoked');
    if (by === 'holder') {
      const set = key.manager_spend_cap_micros ?? key.template_spend_cap_micros;
      if (micros !== null && set !== null && micros > set)
        throw new AppError(
          'VALIDATION_FAILED',
          `monthly_spend_cap may only lower the cap the project set (${formatMoney(set)} ${ctx.config.currency})`,
          { field: 'monthly_spend_cap' },
        );
    }
    await trx
      .updateTable('api_keys')
      .set({
        ...(by === 'manager' ? { manager_spend_cap_micros: micros } : { self_spend_cap_micros: micros }),
        updated_at: ctx.clock.now(),
      })
      .where('id', '=', key.id)
      .execute();
    await audit(trx, ctx, key.project_id, actor, {
      action: 'key.spend_cap_set',
      object_type: 'api_key',
      object_id: key.id,
      details: { by, monthly_spend_cap: micros === null ? null : formatMoney(micros) },
    });
  });
  // every instance's key directory learns the new cap
  await ctx.events.publish({ type: 'key', keyId });
}

const EXPIRING_MS = 7 * DAY_MS;

export type MyKeyStatus = 'active' | 'expiring' | 'expired' | 'revoked';

export function keyStatus(k: { revoked_at: number | null; expires_at: number | null }, now: number): MyKeyStatus {
  if (k.revoked_at !== null) return 'revoked';
  if (k.expires_at === null) return 'active';
  if (k.expires_at <= now) return 'expired';
  return k.expires_at - now <= EXPIRING_MS ? 'expiring' : 'active';
}

/** Keys I hold, in any project (or the one `onlyId`), with where they are imported and this month's use. */
export async function myKeys(ctx: Ctx, userId: number, onlyId?: number) {
  let sel = ctx.k
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
      'k.rolled_from',
      'k.rolled_to',
      'k.lineage_id',
      'k.monthly_quota',
      'k.template_spend_cap_micros',
      'k.manager_spend_cap_micros',
      'k.self_spend_cap_micros',
      'k.last_used_at',
      'p.name as project_name',
      't.description',
      't.lifetime_days',
      'r.price_micros',
    ])
    .where('k.user_id', '=', userId);
  if (onlyId !== undefined) sel = sel.where('k.id', '=', onlyId);
  const rows = await sel.orderBy('k.id', 'desc').execute();
  const ids = rows.map((r) => r.id);
  const now = ctx.clock.now();
  const month = monthOf(now);
  const [fields, imports, usage, quotaUsed, renewals] = await Promise.all([
    fieldsOf(ctx.k, [...new Set(rows.map((r) => r.template_id))]),
    importsOf(ctx.k, ids),
    monthUsage(ctx.k, ids, month),
    monthCounts(
      ctx.k,
      [...new Set(rows.filter((r) => r.monthly_quota !== null).map((r) => r.lineage_id ?? r.id))],
      month,
    ),
    ids.length
      ? ctx.k
          .selectFrom('key_requests')
          .select(['id', 'renews_key_id'])
          .where('renews_key_id', 'in', ids)
          .where('status', '=', 'pending')
          .execute()
      : [],
  ]);
  return rows.map((r) => {
    const status = keyStatus(r, now);
    const active = status === 'active' || status === 'expiring';
    const used = usage.get(r.id);
    const cap = effectiveCap(r);
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
      // set when the server wrote the reason (the UI words it in its language)
      revoked_reason_code: revocationReasonCode(r.revoked_reason),
      active,
      status,
      rolled_from: r.rolled_from,
      rolled_to: r.rolled_to,
      requests_this_month: used?.requests ?? 0,
      cost_this_month: formatMoney(used?.cost ?? 0n),
      monthly_spend_cap: cap === null ? null : formatMoney(cap),
      self_spend_cap: r.self_spend_cap_micros === null ? null : formatMoney(r.self_spend_cap_micros),
      // this month's cost over the whole lineage, what the cap counts
      cap_used: cap === null ? null : formatMoney(quotaUsed.get(r.lineage_id ?? r.id)?.cost ?? 0),
      last_used_at: toIso(r.last_used_at),
      monthly_quota: r.monthly_quota,
      quota_used: r.monthly_quota === null ? null : (quotaUsed.get(r.lineage_id ?? r.id)?.requests ?? 0),
      // renewal makes sense for a key that ends, before it is replaced or revoked
      renewable: r.expires_at !== null && r.rolled_to === null && r.revoked_at === null && r.lifetime_days !== null,
      renewal_request_id: renewals.find((x) => x.renews_key_id === r.id)?.id ?? null,
      imported: imports.get(r.id) ?? [],
    };
  });
}

/** Where each key is imported: per project, the secret names and the nodes they are granted to. */
async function importsOf(q: Q, keyIds: number[]) {
  const out = new Map<number, { project: { id: number; name: string }; secrets: string[]; node_ids: number[] }[]>();
  if (!keyIds.length) return out;
  const rows = await q
    .selectFrom('secrets as s')
    .innerJoin('projects as p', 'p.id', 's.project_id')
    .select(['s.source_key_id', 's.project_id', 'p.name as project_name', 's.name', 's.node_ids'])
    .where('s.source_key_id', 'in', keyIds)
    .orderBy('s.project_id')
    .orderBy('s.name')
    .execute();
  for (const r of rows) {
    const keyId = r.source_key_id as number;
    const list = out.get(keyId) ?? [];
    out.set(keyId, list);
    let entry = list.find((e) => e.project.id === r.project_id);
    if (!entry) {
      entry = { project: { id: r.project_id, name: r.project_name }, secrets: [], node_ids: [] };
      list.push(entry);
    }
    entry.secrets.push(r.name);
    for (const n of parseJson<number[]>(r.node_ids, [])) if (!entry.node_ids.includes(n)) entry.node_ids.push(n);
  }
  for (const list of out.values()) for (const e of list) e.node_ids.sort((a, b) => a - b);
  return out;
}

/** Requests and cost of each key in one UTC month (as flushed). */
async function monthUsage(q: Q, keyIds: number[], month: number) {
  const out = new Map<number, { requests: number; cost: bigint }>();
  if (!keyIds.length) return out;
  const rows = await usageDb(q)
    .selectFrom('usage_key_months')
    .select(['key_id', 'requests', 'cost_micros'])
    .where('month', '=', month)
    .where('key_id', 'in', keyIds)
    .execute();
  for (const r of rows) out.set(r.key_id, { requests: Number(r.requests), cost: BigInt(r.cost_micros) });
  return out;
}

/** The holder's own key's usage series (the owner's series shape); anyone else's key is not found. */
export async function myKeyUsage(ctx: Ctx, userId: number, keyId: number, period: Period, granularity: 'hour' | 'day') {
  const key = await findKey(ctx.k, { userId }, keyId);
  return keySeries(ctx, key.project_id, key.id, period, granularity);
}

/** What the key's managers see in its breakdown, for its holder; 404 for anyone else. */
export async function myKeyBreakdown(ctx: Ctx, userId: number, keyId: number, period: Period) {
  const key = await findKey(ctx.k, { userId }, keyId);
  return keyBreakdown(ctx, key.project_id, key.id, period);
}

/** The holder's token, re-derived. Anyone else gets 404; a revoked or expired key cannot be copied. */
export async function myToken(ctx: Ctx, actor: UserActor, keyId: number) {
  const key = await findKey(ctx.k, { userId: actor.userId }, keyId);
  if (key.revoked_at !== null) throw new AppError('KEY_REVOKED', 'This key was revoked');
  if (key.expires_at !== null && key.expires_at <= ctx.clock.now())
    throw new AppError('KEY_EXPIRED', 'This key has expired');
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
 * (new objects) whenever the role changes: memoised per actor, with its serialised text once it
 * has been sent, it costs no allocation and no serialisation per request.
 */
type WhoAmIMemo = {
  project: ReadonlySet<string>;
  nodes: ReadonlyMap<number, ReadonlySet<string>>;
  body: WhoAmI;
  json: string | null;
};
const whoamiMemo = new WeakMap<KeyActor, WhoAmIMemo>();

function whoamiOf(actor: KeyActor, access: Access): WhoAmIMemo {
  const memo = whoamiMemo.get(actor);
  if (memo !== undefined && memo.project === access.project && memo.nodes === access.nodes) return memo;
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
  const made = { project: access.project, nodes: access.nodes, body, json: null };
  whoamiMemo.set(actor, made);
  return made;
}

export const whoami = (actor: KeyActor, access: Access): WhoAmI => whoamiOf(actor, access).body;

/** whoami's answer as JSON text, made by `serialize` (the route's own serializer) once per actor and role. */
export function whoamiJson(actor: KeyActor, access: Access, serialize: (body: WhoAmI) => string): string {
  const memo = whoamiOf(actor, access);
  memo.json ??= serialize(memo.body);
  return memo.json;
}
