// API key templates and their ordered info fields.
import type { Access } from '../../auth/permissions.js';
import { parsePermissions } from '../../auth/permissions.js';
import type { Ctx, Q } from '../../context.js';
import { AppError, notFound } from '../../errors.js';
import { toIso } from '../../lib/clock.js';
import { formatMoney, parseCap } from '../../lib/money.js';
import { audit } from '../audit/service.js';
import { revokeKeysWhere, SYSTEM_REVOCATION_REASONS } from '../keys/revoke.js';
import { type ApprovalSettingsInput, approvalColumns, approvalOf } from './approval.js';
import { RESERVED_FIELD_NAMES } from './limits.js';

interface TemplateBaseInput {
  name?: string | undefined;
  description?: string | undefined;
  role_id?: number | undefined;
  lifetime_days?: number | null | undefined;
  monthly_quota?: number | null | undefined;
  monthly_spend_cap?: string | null | undefined;
}
export type TemplateInput = TemplateBaseInput & ApprovalSettingsInput;

export interface FieldInput {
  name?: string | undefined;
  description?: string | undefined;
  value?: string | undefined;
  position?: number | undefined;
}

const toField = (f: { id: number; name: string; description: string; value: string; position: number }) => ({
  id: f.id,
  name: f.name,
  description: f.description,
  value: f.value,
  position: f.position,
});

export async function fieldsOf(q: Q, templateIds: number[]) {
  if (!templateIds.length) return new Map<number, ReturnType<typeof toField>[]>();
  const rows = await q
    .selectFrom('template_fields')
    .selectAll()
    .where('template_id', 'in', templateIds)
    .orderBy('template_id')
    .orderBy('position')
    .execute();
  const map = new Map<number, ReturnType<typeof toField>[]>();
  for (const r of rows) {
    const list = map.get(r.template_id) ?? [];
    list.push(toField(r));
    map.set(r.template_id, list);
  }
  return map;
}

export async function listTemplates(ctx: Ctx, projectId: number, onlyId?: number) {
  let q = ctx.k
    .selectFrom('api_key_templates as t')
    .innerJoin('roles as r', 'r.id', 't.role_id')
    .select([
      't.id',
      't.project_id',
      't.name',
      't.description',
      't.role_id',
      't.lifetime_days',
      't.monthly_quota',
      't.monthly_spend_cap_micros',
      't.approval',
      't.auto_approve_email_domains',
      't.terms',
      't.request_fields',
      't.created_at',
      't.updated_at',
      'r.name as role_name',
      'r.price_micros',
    ])
    .select((eb) =>
      eb
        .selectFrom('api_keys')
        .select(eb.fn.countAll<number>().as('n'))
        .whereRef('api_keys.template_id', '=', 't.id')
        .where('api_keys.revoked_at', 'is', null)
        .as('issued_keys'),
    )
    .where('t.project_id', '=', projectId);
  if (onlyId !== undefined) q = q.where('t.id', '=', onlyId);
  const rows = await q.orderBy('t.id').execute();
  const fields = await fieldsOf(
    ctx.k,
    rows.map((r) => r.id),
  );
  return rows.map((t) => ({
    id: t.id,
    project_id: t.project_id,
    name: t.name,
    description: t.description,
    role_id: t.role_id,
    role_name: t.role_name,
    price_per_request: formatMoney(t.price_micros),
    currency: ctx.config.currency,
    lifetime_days: t.lifetime_days,
    monthly_quota: t.monthly_quota,
    monthly_spend_cap: t.monthly_spend_cap_micros === null ? null : formatMoney(t.monthly_spend_cap_micros),
    issued_keys: Number(t.issued_keys ?? 0),
    fields: fields.get(t.id) ?? [],
    ...approvalOf(t),
    created_at: toIso(t.created_at),
    updated_at: toIso(t.updated_at),
  }));
}

export async function getTemplate(ctx: Ctx, projectId: number, templateId: number) {
  const [t] = await listTemplates(ctx, projectId, templateId);
  if (!t) throw notFound('Template');
  return t;
}

async function requireTemplate(q: Q, projectId: number, templateId: number) {
  const t = await q
    .selectFrom('api_key_templates')
    .selectAll()
    .where('id', '=', templateId)
    .where('project_id', '=', projectId)
    .executeTakeFirst();
  if (!t) throw notFound('Template');
  return t;
}

/** A template's role must be of the same project and include project_view. */
async function checkRole(q: Q, projectId: number, roleId: number) {
  const role = await q
    .selectFrom('roles')
    .select(['id', 'permissions'])
    .where('id', '=', roleId)
    .where('project_id', '=', projectId)
    .executeTakeFirst();
  if (!role) throw new AppError('INVALID_REFERENCE', 'The role does not belong to this project');
  const perms = parsePermissions(role.permissions).project;
  if (perms.includes('project_manage')) {
    // a key would hold the power to change members, roles and prices: keys are for programs
    throw new AppError('ROLE_NOT_ALLOWED', 'A key template cannot use a role that holds project_manage');
  }
  if (perms.includes('api_keys_manage')) {
    // approving requests and revoking keys are decisions for people, not programs
    throw new AppError('ROLE_NOT_ALLOWED', 'A key template cannot use a role that holds api_keys_manage');
  }
  if (!perms.includes('project_view')) {
    throw new AppError(
      'ROLE_LACKS_PROJECT_VIEW',
      'A key template needs a role with the project_view permission, or its keys could not reach the project',
    );
  }
}

async function assertNameFree(q: Q, projectId: number, name: string, exceptId?: number) {
  // "Calculator API" beside "calculator api" confuses requesters: names must differ in more than
  // case. Compared here, not in SQL: SQLite's lower() folds ASCII only.
  const rows = await q
    .selectFrom('api_key_templates')
    .select(['id', 'name'])
    .where('project_id', '=', projectId)
    .execute();
  const folded = name.toLocaleLowerCase('und');
  const clash = rows.find((r) => r.id !== exceptId && r.name.toLocaleLowerCase('und') === folded);
  if (clash) throw new AppError('NAME_TAKEN', `A template named "${clash.name}" exists in this project`);
}

/** undefined: not given; null: no cap. */
function capOf(ctx: Ctx, text: string | null | undefined): number | null | undefined {
  if (text === undefined || text === null) return text;
  return parseCap(text, ctx.config.currency);
}

export async function createTemplate(
  ctx: Ctx,
  access: Access,
  input: TemplateInput & { name: string; role_id: number },
) {
  const name = input.name.trim();
  const id = await ctx.k.transaction().execute(async (trx) => {
    await assertNameFree(trx, access.projectId, name);
    await checkRole(trx, access.projectId, input.role_id);
    const now = ctx.clock.now();
    const { id } = await trx
      .insertInto('api_key_templates')
      .values({
        project_id: access.projectId,
        name,
        description: input.description ?? '',
        role_id: input.role_id,
        lifetime_days: input.lifetime_days ?? null,
        monthly_quota: input.monthly_quota ?? null,
        monthly_spend_cap_micros: capOf(ctx, input.monthly_spend_cap) ?? null,
        ...approvalColumns(input),
        created_at: now,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await audit(trx, ctx, access.projectId, access.actor, {
      action: 'template.created',
      object_type: 'template',
      object_id: id,
      details: { name },
    });
    return id;
  });
  return getTemplate(ctx, access.projectId, id);
}

export async function updateTemplate(ctx: Ctx, access: Access, templateId: number, input: TemplateInput) {
  const moved = await ctx.k.transaction().execute(async (trx) => {
    await requireTemplate(trx, access.projectId, templateId);
    const set: {
      name?: string;
      description?: string;
      role_id?: number;
      lifetime_days?: number | null;
      monthly_quota?: number | null;
      monthly_spend_cap_micros?: number | null;
      updated_at: number;
    } & ReturnType<typeof approvalColumns> = {
      updated_at: ctx.clock.now(),
    };
    if (input.name !== undefined) {
      set.name = input.name.trim();
      await assertNameFree(trx, access.projectId, set.name, templateId);
    }
    if (input.description !== undefined) set.description = input.description;
    if (input.lifetime_days !== undefined) set.lifetime_days = input.lifetime_days;
    // Live keys follow their template's role and quota (they act with the template as it is now).
    const follow: { role_id?: number; monthly_quota?: number | null; template_spend_cap_micros?: number | null } = {};
    if (input.role_id !== undefined) {
      await checkRole(trx, access.projectId, input.role_id);
      set.role_id = follow.role_id = input.role_id;
    }
    if (input.monthly_quota !== undefined) set.monthly_quota = follow.monthly_quota = input.monthly_quota;
    const cap = capOf(ctx, input.monthly_spend_cap);
    if (cap !== undefined) set.monthly_spend_cap_micros = follow.template_spend_cap_micros = cap;
    let moved: number[] = [];
    if (Object.keys(follow).length) {
      const live = await trx
        .selectFrom('api_keys')
        .select('id')
        .where('template_id', '=', templateId)
        .where('revoked_at', 'is', null)
        .execute();
      moved = live.map((k) => k.id);
      if (moved.length) {
        await trx
          .updateTable('api_keys')
          .set({ ...follow, updated_at: ctx.clock.now() })
          .where('id', 'in', moved)
          .execute();
      }
    }
    if (set.name !== undefined) {
      await trx
        .updateTable('api_keys')
        .set({ template_name: set.name })
        .where('template_id', '=', templateId)
        .execute();
    }
    Object.assign(set, approvalColumns(input));
    await trx.updateTable('api_key_templates').set(set).where('id', '=', templateId).execute();
    await audit(trx, ctx, access.projectId, access.actor, {
      action: 'template.updated',
      object_type: 'template',
      object_id: templateId,
      details: {
        fields: Object.keys(set).filter((k) => k !== 'updated_at'),
      },
    });
    return moved;
  });
  for (const keyId of moved) await ctx.events.publish({ type: 'key', keyId });
  return getTemplate(ctx, access.projectId, templateId);
}

/** Deleting a template revokes every key issued from it; the answer says how many. */
export async function deleteTemplate(ctx: Ctx, access: Access, templateId: number) {
  const revoked = await ctx.k.transaction().execute(async (trx) => {
    const t = await requireTemplate(trx, access.projectId, templateId);
    const ids = await revokeKeysWhere(trx, ctx, access.projectId, { templateId }, SYSTEM_REVOCATION_REASONS.template);
    await trx
      .updateTable('key_requests')
      .set({ status: 'cancelled', reason: 'template deleted', decided_at: ctx.clock.now() })
      .where('template_id', '=', templateId)
      .where('status', '=', 'pending')
      .execute();
    await trx.deleteFrom('api_key_templates').where('id', '=', templateId).execute();
    await audit(trx, ctx, access.projectId, access.actor, {
      action: 'template.deleted',
      object_type: 'template',
      object_id: templateId,
      details: { name: t.name, revoked_keys: ids.length },
    });
    return ids;
  });
  for (const keyId of revoked) await ctx.events.publish({ type: 'key', keyId });
  return { revoked_keys: revoked.length };
}

async function requireField(q: Q, templateId: number, fieldId: number) {
  const f = await q
    .selectFrom('template_fields')
    .selectAll()
    .where('id', '=', fieldId)
    .where('template_id', '=', templateId)
    .executeTakeFirst();
  if (!f) throw notFound('Field');
  return f;
}

async function assertFieldNameFree(q: Q, templateId: number, name: string, exceptId?: number) {
  // import-api-key writes the key itself as <prefix>_token: a field of that name could never be imported
  const reserved = RESERVED_FIELD_NAMES.find((r) => r === name.toLowerCase());
  if (reserved)
    throw new AppError(
      'VALIDATION_FAILED',
      `An info field cannot be named "${name}": importing the key creates <prefix>_${reserved} itself`,
      { field: 'name', keyword: 'reserved' },
    );
  let query = q
    .selectFrom('template_fields')
    .select('id')
    .where('template_id', '=', templateId)
    .where('name', '=', name);
  if (exceptId !== undefined) query = query.where('id', '!=', exceptId);
  if (await query.executeTakeFirst())
    throw new AppError('NAME_TAKEN', `A field named "${name}" exists in this template`);
}

/** Rewrites positions 0..n-1 with `fieldId` moved to `position`. */
async function reorder(q: Q, templateId: number, fieldId: number, position: number) {
  const ids = (
    await q
      .selectFrom('template_fields')
      .select('id')
      .where('template_id', '=', templateId)
      .orderBy('position')
      .execute()
  )
    .map((r) => r.id)
    .filter((id) => id !== fieldId);
  ids.splice(Math.min(Math.max(0, position), ids.length), 0, fieldId);
  for (const [i, id] of ids.entries())
    await q.updateTable('template_fields').set({ position: i }).where('id', '=', id).execute();
}

export async function addField(ctx: Ctx, access: Access, templateId: number, input: FieldInput & { name: string }) {
  return ctx.k.transaction().execute(async (trx) => {
    await requireTemplate(trx, access.projectId, templateId);
    await assertFieldNameFree(trx, templateId, input.name);
    const last = await trx
      .selectFrom('template_fields')
      .select((eb) => eb.fn.max('position').as('m'))
      .where('template_id', '=', templateId)
      .executeTakeFirst();
    const position = last?.m === null || last?.m === undefined ? 0 : Number(last.m) + 1;
    const values = {
      template_id: templateId,
      position,
      name: input.name,
      description: input.description ?? '',
      value: input.value ?? '',
    };
    const { id } = await trx.insertInto('template_fields').values(values).returning('id').executeTakeFirstOrThrow();
    if (input.position !== undefined) await reorder(trx, templateId, id, input.position);
    await trx
      .updateTable('api_key_templates')
      .set({ updated_at: ctx.clock.now() })
      .where('id', '=', templateId)
      .execute();
    await audit(trx, ctx, access.projectId, access.actor, {
      action: 'template.field_added',
      object_type: 'template',
      object_id: templateId,
      details: { field: input.name },
    });
    return toField(await requireField(trx, templateId, id));
  });
}

export async function updateField(ctx: Ctx, access: Access, templateId: number, fieldId: number, input: FieldInput) {
  return ctx.k.transaction().execute(async (trx) => {
    await requireTemplate(trx, access.projectId, templateId);
    await requireField(trx, templateId, fieldId);
    const set: { name?: string; description?: string; value?: string } = {};
    if (input.name !== undefined) {
      await assertFieldNameFree(trx, templateId, input.name, fieldId);
      set.name = input.name;
    }
    if (input.description !== undefined) set.description = input.description;
    if (input.value !== undefined) set.value = input.value;
    if (Object.keys(set).length) await trx.updateTable('template_fields').set(set).where('id', '=', fieldId).execute();
    if (input.position !== undefined) await reorder(trx, templateId, fieldId, input.position);
    await trx
      .updateTable('api_key_templates')
      .set({ updated_at: ctx.clock.now() })
      .where('id', '=', templateId)
      .execute();
    await audit(trx, ctx, access.projectId, access.actor, {
      action: 'template.field_updated',
      object_type: 'template',
      object_id: templateId,
      details: { field_id: fieldId },
    });
    return toField(await requireField(trx, templateId, fieldId));
  });
}

export async function deleteField(ctx: Ctx, access: Access, templateId: number, fieldId: number) {
  await ctx.k.transaction().execute(async (trx) => {
    await requireTemplate(trx, access.projectId, templateId);
    const f = await requireField(trx, templateId, fieldId);
    await trx.deleteFrom('template_fields').where('id', '=', fieldId).execute();
    await trx
      .updateTable('template_fields')
      .set((eb) => ({ position: eb('position', '-', 1) }))
      .where('template_id', '=', templateId)
      .where('position', '>', f.position)
      .execute();
    await audit(trx, ctx, access.projectId, access.actor, {
      action: 'template.field_deleted',
      object_type: 'template',
      object_id: templateId,
      details: { field: f.name },
    });
  });
}
