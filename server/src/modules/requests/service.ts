// Key requests: request → approve (issues the key + personal data layer) / reject,
// or cancel by the requester; a template's rule may approve at once, and pending requests expire.
// Offers show each template with the caller's state.

import type { Selectable } from 'kysely';
import type { Access, Actor } from '../../auth/permissions.js';
import type { Ctx, Q } from '../../context.js';
import type { ApiKeyTemplatesTable, KeyRequestsTable } from '../../db/schema.js';
import { AppError, notFound } from '../../errors.js';
import { toIso } from '../../lib/clock.js';
import { parseJson } from '../../lib/json.js';
import { formatMoney } from '../../lib/money.js';
import { audit } from '../audit/service.js';
import { issueKey } from '../keys/issue.js';
import { revocationReasonCode, SYSTEM_REVOCATION_REASONS } from '../keys/revoke.js';
import { notRollable, renewalPlan, rollKey } from '../keys/roll.js';
import { findKey } from '../keys/service.js';
import { ensurePersonalLayer } from '../layers/personal.js';
import { holdersOf, notify, quoted } from '../notifications/service.js';
import { approvalOf, checkRequestInput, requestFieldsOf, ruleApproves, termsHash } from '../templates/approval.js';
import { fieldsOf } from '../templates/service.js';
import { monthOf } from '../usage/flush.js';
import { monthCounts } from '../usage/quota.js';
import { emitWebhook } from '../webhooks/events.js';

type UserActor = { kind: 'user'; userId: number; sessionId: number };
export interface RequestInput {
  accept_terms?: boolean | undefined;
  fields?: Record<string, string> | undefined;
}
/** The rule that decided a request when no person did. */
const AUTO_RULE = 'auto_approval';
export type RequestStatus = KeyRequestsTable['status'];

export type OfferState = 'available' | 'pending' | 'received' | 'rejected' | 'revoked';

export async function listOffers(ctx: Ctx, projectId: number, userId: number) {
  const templates = await ctx.k
    .selectFrom('api_key_templates as t')
    .innerJoin('roles as r', 'r.id', 't.role_id')
    .select([
      't.id',
      't.name',
      't.description',
      't.lifetime_days',
      't.monthly_quota',
      'r.price_micros',
      't.approval',
      't.auto_approve_email_domains',
      't.terms',
      't.request_fields',
    ])
    .where('t.project_id', '=', projectId)
    .orderBy('t.id')
    .execute();
  const ids = templates.map((t) => t.id);
  const [requests, keys, fields] = await Promise.all([
    ids.length
      ? ctx.k
          .selectFrom('key_requests')
          .selectAll()
          .where('user_id', '=', userId)
          .where('template_id', 'in', ids)
          .orderBy('id', 'desc')
          .execute()
      : [],
    ids.length
      ? ctx.k
          .selectFrom('api_keys')
          .selectAll()
          .where('user_id', '=', userId)
          .where('template_id', 'in', ids)
          .orderBy('id', 'desc')
          .execute()
      : [],
    fieldsOf(ctx.k, ids),
  ]);
  const me = await ctx.k.selectFrom('users').select('email').where('id', '=', userId).executeTakeFirst();
  const now = ctx.clock.now();
  const lineageOf = (k: { id: number; lineage_id: number | null }) => k.lineage_id ?? k.id;
  const used = await monthCounts(
    ctx.k,
    keys.filter((k) => k.revoked_at === null && k.monthly_quota !== null).map(lineageOf),
    monthOf(now),
  );
  return templates.map((t) => {
    const req = requests.find((r) => r.template_id === t.id);
    const key = keys.find((k) => k.template_id === t.id);
    const live = key && key.revoked_at === null && (key.expires_at === null || key.expires_at > now) ? key : undefined;
    let state: OfferState = 'available';
    let at: number | null = null;
    let reason: string | null = null;
    if (live) {
      state = 'received';
      at = live.created_at;
    } else if (req?.status === 'pending') {
      state = 'pending';
      at = req.created_at;
    } else {
      // the most recent ending decides: a rejection, or a revocation/expiry of the last key
      const keyEnd = key ? (key.revoked_at ?? key.expires_at) : null;
      const rejectedAt = req?.status === 'rejected' ? req.decided_at : null;
      if (keyEnd !== null && (rejectedAt === null || keyEnd >= rejectedAt)) {
        state = 'revoked';
        at = keyEnd;
        reason = key?.revoked_reason ?? SYSTEM_REVOCATION_REASONS.expired;
      } else if (rejectedAt !== null) {
        state = 'rejected';
        at = rejectedAt;
        reason = req?.reason ?? null;
      }
    }
    return {
      template_id: t.id,
      name: t.name,
      description: t.description,
      price_per_request: formatMoney(t.price_micros),
      currency: ctx.config.currency,
      lifetime_days: t.lifetime_days,
      monthly_quota: t.monthly_quota,
      fields: (fields.get(t.id) ?? []).map((f) => ({ name: f.name, description: f.description })),
      state,
      at: toIso(at),
      reason,
      // set when the server wrote the reason of a revoked key (the UI words it in its language)
      reason_code: state === 'revoked' ? revocationReasonCode(reason) : null,
      request_id: state === 'pending' ? (req?.id ?? null) : null,
      key_id: state === 'received' ? (live?.id ?? null) : null,
      // billed requests of the held key this UTC month (as flushed, ≤ 1 s behind), when it has a quota
      // (the whole lineage: a rolled key's predecessors count too)
      used_this_month:
        state === 'received' && live?.monthly_quota != null ? (used.get(lineageOf(live))?.requests ?? 0) : null,
      approval: t.approval,
      auto_approves_me: me ? ruleApproves(t, me.email) : false,
      terms: t.terms,
      request_fields: approvalOf(t).request_fields,
    };
  });
}

const toRequest = (r: {
  id: number;
  project_id: number;
  template_id: number;
  user_id: number;
  status: RequestStatus;
  reason: string | null;
  created_at: number;
  decided_at: number | null;
  fields?: string;
  terms_hash?: string | null;
  decided_by_rule?: string | null;
  key_id?: number | null;
}) => ({
  id: r.id,
  project_id: r.project_id,
  template_id: r.template_id,
  user_id: r.user_id,
  status: r.status,
  reason: r.reason,
  created_at: toIso(r.created_at),
  decided_at: toIso(r.decided_at),
  fields: parseJson<Record<string, string>>(r.fields, {}),
  terms_accepted: r.terms_hash != null,
  terms_hash: r.terms_hash ?? null,
  decided_by_rule: r.decided_by_rule ?? null,
  key_id: r.key_id ?? null,
});

export async function createRequest(
  ctx: Ctx,
  access: Access,
  actor: UserActor,
  templateId: number,
  input: RequestInput | null | undefined,
) {
  return fileRequest(ctx, access.projectId, actor, templateId, null, input ?? {});
}

/**
 * The holder asks to renew a key that ends: a request for the same template, linked to the key;
 * its approval rolls the key over to one with a fresh lifetime (see approveRequest).
 */
export async function renewKey(ctx: Ctx, actor: UserActor, keyId: number) {
  const key = await findKey(ctx.k, { userId: actor.userId }, keyId);
  const refused = notRollable(key, ctx.clock.now(), true);
  if (refused) throw refused;
  if (key.expires_at === null)
    throw new AppError('INVALID_STATE', 'This key does not expire; there is nothing to renew');
  // a renewal asks for the key already held: its terms and fields were given with the first request
  const r = await fileRequest(ctx, key.project_id, actor, key.template_id, key.id, null);
  return { ...r, renews_key_id: key.id, status: 'pending' as const };
}

/**
 * Files a request (a renewal when `renews` names the key). Checked against the template's terms and
 * request fields first (`input` null: a renewal, not checked). When the template's rule approves
 * the requester, the key is issued in the same transaction; otherwise the approvers are told.
 */
async function fileRequest(
  ctx: Ctx,
  projectId: number,
  actor: UserActor,
  templateId: number,
  renews: number | null,
  input: RequestInput | null,
) {
  let issued: number | null = null;
  const result = await ctx.k.transaction().execute(async (trx) => {
    const t = await trx
      .selectFrom('api_key_templates')
      .selectAll()
      .where('id', '=', templateId)
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    if (!t) throw notFound('Template');
    const fields = input === null ? {} : checkRequestInput(t, input);
    const requester = await trx
      .selectFrom('users')
      .select(['name', 'email'])
      .where('id', '=', actor.userId)
      .executeTakeFirstOrThrow();
    // renewals roll a key over, which a person decides; new requests may be decided by the rule
    const byRule = renews === null && ruleApproves(t, requester.email);
    if (byRule) {
      // Two requests approved at once by the rule must not both issue a key: a no-op write locks
      // the template row (PostgreSQL) until commit, so the checks below see the other's key.
      // SQLite serializes writers anyway.
      await trx
        .updateTable('api_key_templates')
        .set((eb) => ({ updated_at: eb.ref('updated_at') }))
        .where('id', '=', t.id)
        .execute();
    }
    const pending = await trx
      .selectFrom('key_requests')
      .select('id')
      .where('user_id', '=', actor.userId)
      .where('template_id', '=', templateId)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (pending) throw new AppError('REQUEST_PENDING', 'You already have a pending request for this key');
    const now = ctx.clock.now();
    if (renews === null) {
      const live = await trx
        .selectFrom('api_keys')
        .select('id')
        .where('user_id', '=', actor.userId)
        .where('template_id', '=', templateId)
        .where('revoked_at', 'is', null)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
        .executeTakeFirst();
      if (live) throw new AppError('CONFLICT', 'You already hold a key from this template');
    }
    const values = {
      project_id: projectId,
      template_id: templateId,
      user_id: actor.userId,
      status: 'pending' as const,
      reason: null,
      created_at: now,
      decided_at: null,
      decided_by: null,
      renews_key_id: renews,
      fields: JSON.stringify(fields),
      terms_hash: input !== null && t.terms !== '' ? termsHash(t.terms) : null,
      decided_by_rule: null,
    };
    const { id } = await trx.insertInto('key_requests').values(values).returning('id').executeTakeFirstOrThrow();
    const project = await trx
      .selectFrom('projects')
      .select(['name', 'request_mail'])
      .where('id', '=', projectId)
      .executeTakeFirstOrThrow();
    if (!byRule) {
      // the owner's labels and the requester's values, one line each
      const given = requestFieldsOf(t)
        .filter((f) => fields[f.name] !== undefined)
        .map((f) => `${f.label}: ${quoted(fields[f.name] ?? '')}`)
        .join('\n');
      await notify(
        trx,
        ctx,
        await holdersOf(trx, projectId, 'api_keys_manage'),
        {
          kind: renews === null ? 'key_request.created' : 'key_request.renewal',
          projectId,
          title: `${renews === null ? 'API key request' : 'API key renewal request'}: ${t.name}`,
          body: `${quoted(requester.name)} <${requester.email}> ${renews === null ? 'requests' : 'asks to renew'} the API key ${quoted(t.name)} of project ${quoted(project.name)}.${given ? `\n${given}` : ''}${values.terms_hash ? '\nThe terms were accepted.' : ''}`,
          link: `/projects/${projectId}/api-keys#requests`,
          params: {
            requester: requester.name,
            email: requester.email,
            template: t.name,
            project: project.name,
            // shown as written (not translated)
            ...(given ? { fields: given } : {}),
            ...(values.terms_hash ? { terms_accepted: 1 } : {}),
          },
        },
        { digest: project.request_mail === 'daily' },
      );
    }
    await emitWebhook(trx, ctx, projectId, 'key.requested', {
      request_id: id,
      template_id: templateId,
      template: t.name,
      user_id: actor.userId,
      renews_key_id: renews,
    });
    await audit(trx, ctx, projectId, actor, {
      action: renews === null ? 'key.requested' : 'key.renewal_requested',
      object_type: 'key_request',
      object_id: id,
      details: {
        template_id: templateId,
        ...(renews === null ? {} : { renews_key_id: renews }),
        ...(values.terms_hash ? { terms_hash: values.terms_hash } : {}),
      },
    });
    if (byRule) {
      const decided = await approveInTrx(trx, ctx, projectId, { id, ...values }, t, null);
      issued = decided.key.id;
      return toRequest({
        id,
        ...values,
        status: 'approved',
        decided_at: values.created_at,
        decided_by_rule: AUTO_RULE,
        key_id: issued,
      });
    }
    return toRequest({ id, ...values });
  });
  if (issued !== null) {
    await ctx.events.publish({ type: 'key', keyId: issued });
    return result;
  }
  // A race between two identical requests is settled here: keep the oldest pending one.
  const dupes = await ctx.k
    .selectFrom('key_requests')
    .select('id')
    .where('user_id', '=', actor.userId)
    .where('template_id', '=', templateId)
    .where('status', '=', 'pending')
    .orderBy('id')
    .execute();
  if (dupes.length > 1 && dupes[0]?.id !== result.id) {
    await ctx.k.deleteFrom('key_requests').where('id', '=', result.id).execute();
    throw new AppError('REQUEST_PENDING', 'You already have a pending request for this key');
  }
  return result;
}

/**
 * The one way a request leaves `pending` (approve, reject, cancel): a guarded update whose row
 * count decides the race. Two managers deciding at once, or a decision racing a cancel, leave
 * exactly one winner; the loser's transaction rolls back with nothing written or sent.
 */
async function leavePending(q: Q, requestId: number, set: LeaveSet): Promise<void> {
  if (!(await tryLeavePending(q, requestId, set)))
    throw new AppError('INVALID_STATE', 'The request was decided concurrently');
}

type LeaveSet = {
  status: 'approved' | 'rejected' | 'cancelled' | 'expired';
  decided_at: number;
  decided_by?: number | null;
  decided_by_rule?: string | null;
  reason?: string | null;
};

/** leavePending for jobs (expiry): false when someone else moved the request first. */
export async function tryLeavePending(q: Q, requestId: number, set: LeaveSet): Promise<boolean> {
  const done = await q
    .updateTable('key_requests')
    .set(set)
    .where('id', '=', requestId)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return Number(done.numUpdatedRows) === 1;
}

async function requireRequest(q: Q, projectId: number, requestId: number) {
  const r = await q
    .selectFrom('key_requests')
    .selectAll()
    .where('id', '=', requestId)
    .where('project_id', '=', projectId)
    .executeTakeFirst();
  if (!r) throw notFound('Request');
  return r;
}

export async function cancelRequest(ctx: Ctx, access: Access, actor: UserActor, requestId: number) {
  return ctx.k.transaction().execute(async (trx) => {
    const r = await requireRequest(trx, access.projectId, requestId);
    if (r.user_id !== actor.userId) throw notFound('Request');
    if (r.status !== 'pending') throw new AppError('INVALID_STATE', `The request is already ${r.status}`);
    const now = ctx.clock.now();
    await leavePending(trx, requestId, { status: 'cancelled', decided_at: now });
    await audit(trx, ctx, access.projectId, actor, {
      action: 'key.request_cancelled',
      object_type: 'key_request',
      object_id: requestId,
    });
    return toRequest({ ...r, status: 'cancelled', decided_at: now });
  });
}

export async function listRequests(
  ctx: Ctx,
  projectId: number,
  status: RequestStatus | undefined,
  limit: number,
  offset: number,
) {
  let base = ctx.k.selectFrom('key_requests as kr').where('kr.project_id', '=', projectId);
  if (status) base = base.where('kr.status', '=', status);
  const { total } = await base.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
  const rows = await base
    .innerJoin('users as u', 'u.id', 'kr.user_id')
    .leftJoin('api_key_templates as t', 't.id', 'kr.template_id')
    .selectAll('kr')
    .select(['u.name as user_name', 'u.email as user_email', 't.name as template_name'])
    .orderBy('kr.id', 'desc')
    .limit(limit)
    .offset(offset)
    .execute();
  return {
    total: Number(total),
    items: rows.map((r) => ({
      ...toRequest(r),
      template_name: r.template_name ?? '(deleted template)',
      user: { id: r.user_id, name: r.user_name, email: r.user_email },
    })),
  };
}

/**
 * Approve: issue the key and the requester's personal data layer in one transaction. A renewal
 * whose key is still in use rolls that key over instead (its imported secrets follow; the old key
 * keeps its own expiry); if that key was revoked or replaced meanwhile, a plain new key is issued.
 */
export async function approveRequest(ctx: Ctx, access: Access, requestId: number) {
  const { projectId } = access;
  const { key, renewed } = await ctx.k.transaction().execute(async (trx) => {
    const r = await requireRequest(trx, projectId, requestId);
    if (r.status !== 'pending') throw new AppError('INVALID_STATE', `The request is already ${r.status}`);
    const t = await trx.selectFrom('api_key_templates').selectAll().where('id', '=', r.template_id).executeTakeFirst();
    if (!t) throw new AppError('INVALID_STATE', 'The template of this request was deleted');
    return approveInTrx(trx, ctx, projectId, r, t, access.actor);
  });
  await ctx.events.publish({ type: 'key', keyId: key.id });
  if (renewed !== null) await ctx.events.publish({ type: 'key', keyId: renewed });
  return key;
}

type RequestRow = Pick<Selectable<KeyRequestsTable>, 'id' | 'user_id' | 'renews_key_id'>;
type TemplateRow = Selectable<ApiKeyTemplatesTable>;

/**
 * The approval itself, in the caller's transaction: `by` is the person deciding, or null when the
 * template's rule decided (audited with no actor and the rule's name).
 */
async function approveInTrx(trx: Q, ctx: Ctx, projectId: number, r: RequestRow, t: TemplateRow, by: Actor | null) {
  let renewed: number | null = null;
  const now = ctx.clock.now();
  await leavePending(trx, r.id, {
    status: 'approved',
    decided_at: now,
    decided_by: by?.userId ?? null,
    decided_by_rule: by === null ? AUTO_RULE : null,
  });
  const old =
    r.renews_key_id === null
      ? undefined
      : await trx.selectFrom('api_keys').selectAll().where('id', '=', r.renews_key_id).executeTakeFirst();
  let id: number;
  let expires_at: number | null;
  let rewritten = 0;
  if (by !== null && old && old.user_id === r.user_id && notRollable(old, now, true) === null) {
    const rolled = await rollKey(trx, ctx, by, old, renewalPlan(old, now, t.lifetime_days, r.id));
    ({ id, expires_at } = rolled.successor);
    rewritten = rolled.updatedSecrets.length;
    renewed = old.id;
  } else {
    ({ id, expires_at } = await issueKey(trx, ctx, t, r));
  }
  await ensurePersonalLayer(trx, ctx, projectId, r.user_id);
  const project = await trx.selectFrom('projects').select('name').where('id', '=', projectId).executeTakeFirstOrThrow();
  await notify(trx, ctx, [r.user_id], {
    kind: 'key_request.approved',
    projectId,
    title: `API key approved: ${t.name}`,
    body:
      renewed === null
        ? `Your request for the API key ${quoted(t.name)} of project ${quoted(project.name)} was approved. Copy the token from the project's About page.`
        : `Your renewal of the API key ${quoted(t.name)} of project ${quoted(project.name)} was approved: ${rewritten} imported secret(s) now hold the new key; the old key works until it expires.`,
    link: renewed === null ? `/projects/${projectId}/about#api-keys` : '/me/keys',
    params: {
      template: t.name,
      project: project.name,
      ...(renewed === null ? {} : { renewed_key_id: renewed, rewritten }),
    },
  });
  await emitWebhook(trx, ctx, projectId, 'key.approved', {
    key_id: id,
    request_id: r.id,
    template_id: t.id,
    template: t.name,
    user_id: r.user_id,
    renewed_key_id: renewed,
    ...(by === null ? { decided_by_rule: AUTO_RULE } : {}),
  });
  await audit(trx, ctx, projectId, by, {
    action: 'key.approved',
    object_type: 'api_key',
    object_id: id,
    details: {
      request_id: r.id,
      user_id: r.user_id,
      // a manager may approve their own request (a sole owner wanting a key to their project);
      // it is marked so other managers can see it
      ...(by !== null && r.user_id === by.userId ? { self_approved: true } : {}),
      ...(by === null ? { decided_by_rule: AUTO_RULE } : {}),
    },
  });
  const user = await trx
    .selectFrom('users')
    .select(['id', 'name', 'email'])
    .where('id', '=', r.user_id)
    .executeTakeFirstOrThrow();
  const key = {
    id,
    project_id: projectId,
    template_id: t.id,
    template_name: t.name,
    role_id: t.role_id,
    request_id: r.id,
    user,
    received_at: toIso(now),
    expires_at: toIso(expires_at),
    revoked_at: null,
  };
  return { key, renewed };
}

/**
 * A request nobody decided in time: expired, its requester told (free to request again). Answers
 * false when the request had left pending meanwhile (another instance, or a decision).
 */
export async function expireRequest(ctx: Ctx, requestId: number): Promise<boolean> {
  return ctx.k.transaction().execute(async (trx) => {
    const now = ctx.clock.now();
    if (!(await tryLeavePending(trx, requestId, { status: 'expired', decided_at: now }))) return false;
    const r = await trx.selectFrom('key_requests').selectAll().where('id', '=', requestId).executeTakeFirstOrThrow();
    const t = await trx
      .selectFrom('api_key_templates')
      .select('name')
      .where('id', '=', r.template_id)
      .executeTakeFirst();
    const project = await trx
      .selectFrom('projects')
      .select('name')
      .where('id', '=', r.project_id)
      .executeTakeFirstOrThrow();
    const days = ctx.config.requestTtlDays;
    await notify(trx, ctx, [r.user_id], {
      kind: 'key_request.expired',
      projectId: r.project_id,
      title: `API key request expired: ${t?.name ?? ''}`,
      body: `Your request for the API key ${quoted(t?.name ?? '')} of project ${quoted(project.name)} was not decided within ${days} days and has expired. You may request it again.`,
      link: `/projects/${r.project_id}/about#api-keys`,
      params: { template: t?.name ?? '', project: project.name, days },
    });
    await emitWebhook(trx, ctx, r.project_id, 'request.expired', {
      request_id: r.id,
      template_id: r.template_id,
      template: t?.name ?? '',
      user_id: r.user_id,
      created_at: toIso(r.created_at),
    });
    await audit(trx, ctx, r.project_id, null, {
      action: 'key.request_expired',
      object_type: 'key_request',
      object_id: r.id,
      details: { ttl_days: days },
    });
    return true;
  });
}

export async function rejectRequest(ctx: Ctx, access: Access, requestId: number, reason: string | undefined) {
  return ctx.k.transaction().execute(async (trx) => {
    const r = await requireRequest(trx, access.projectId, requestId);
    if (r.status !== 'pending') throw new AppError('INVALID_STATE', `The request is already ${r.status}`);
    const now = ctx.clock.now();
    const why = reason?.trim() || null;
    await leavePending(trx, requestId, {
      status: 'rejected',
      reason: why,
      decided_at: now,
      decided_by: access.actor.userId,
    });
    const t = await trx
      .selectFrom('api_key_templates')
      .select('name')
      .where('id', '=', r.template_id)
      .executeTakeFirst();
    const project = await trx
      .selectFrom('projects')
      .select('name')
      .where('id', '=', access.projectId)
      .executeTakeFirstOrThrow();
    await notify(trx, ctx, [r.user_id], {
      kind: 'key_request.rejected',
      projectId: access.projectId,
      title: `API key request rejected: ${t?.name ?? ''}`,
      body: `Your request for the API key ${quoted(t?.name ?? '')} was rejected.${why ? ` Reason: ${quoted(why)}` : ''} You may request it again.`,
      link: `/projects/${access.projectId}/about#api-keys`,
      params: { template: t?.name ?? '', project: project.name, reason: why },
    });
    await emitWebhook(trx, ctx, access.projectId, 'key.rejected', {
      request_id: requestId,
      template_id: r.template_id,
      template: t?.name ?? '',
      user_id: r.user_id,
      reason: why,
    });
    await audit(trx, ctx, access.projectId, access.actor, {
      action: 'key.rejected',
      object_type: 'key_request',
      object_id: requestId,
      details: { reason: why },
    });
    return toRequest({ ...r, status: 'rejected', reason: why, decided_at: now });
  });
}

export async function requestSettings(ctx: Ctx, projectId: number) {
  const p = await ctx.k
    .selectFrom('projects')
    .select('request_mail')
    .where('id', '=', projectId)
    .executeTakeFirstOrThrow();
  return { request_mail: p.request_mail };
}

export async function updateRequestSettings(ctx: Ctx, access: Access, input: { request_mail: 'immediate' | 'daily' }) {
  await ctx.k.transaction().execute(async (trx) => {
    await trx
      .updateTable('projects')
      .set({ request_mail: input.request_mail })
      .where('id', '=', access.projectId)
      .execute();
    await audit(trx, ctx, access.projectId, access.actor, {
      action: 'project.request_mail_changed',
      object_type: 'project',
      object_id: access.projectId,
      details: { request_mail: input.request_mail },
    });
  });
  return requestSettings(ctx, access.projectId);
}
