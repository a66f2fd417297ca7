// Audit log: one row per lifecycle event. Details never hold tokens or secret values.
// Listing and export share one filtered query: action (exact, or a prefix ending in "."),
// actor, object, and a [from, to) time range.
import { sql } from 'kysely';
import type { Access, Actor } from '../../auth/permissions.js';
import type { Ctx, Q } from '../../context.js';
import { AppError } from '../../errors.js';
import { toIso } from '../../lib/clock.js';
import { parseJson } from '../../lib/json.js';
import { parseInstant } from '../usage/period.js';
import type { AuditFilterQuery } from './schemas.js';

export interface AuditEntry {
  action: string;
  object_type: string;
  object_id?: number | null;
  details?: Record<string, unknown>;
}

/**
 * The name of an entry's object as it is now, so the log reads "template Acme" rather than
 * "template #4" and still does after a rename or delete. Keys are named by their template.
 */
async function objectName(q: Q, type: string, id: number): Promise<string | undefined> {
  const one = async (p: Promise<{ name: string } | undefined>) => (await p)?.name;
  switch (type) {
    case 'template':
      return one(q.selectFrom('api_key_templates').select('name').where('id', '=', id).executeTakeFirst());
    case 'role':
      return one(q.selectFrom('roles').select('name').where('id', '=', id).executeTakeFirst());
    case 'node':
      return one(q.selectFrom('nodes').select('name').where('id', '=', id).executeTakeFirst());
    case 'secret':
      return one(q.selectFrom('secrets').select('name').where('id', '=', id).executeTakeFirst());
    case 'project':
      return one(q.selectFrom('projects').select('name').where('id', '=', id).executeTakeFirst());
    case 'user':
      return one(q.selectFrom('users').select('name').where('id', '=', id).executeTakeFirst());
    case 'api_key':
      return one(
        q
          .selectFrom('api_keys as k')
          .innerJoin('api_key_templates as t', 't.id', 'k.template_id')
          .select('t.name')
          .where('k.id', '=', id)
          .executeTakeFirst(),
      );
    case 'key_request':
      return one(
        q
          .selectFrom('key_requests as r')
          .innerJoin('api_key_templates as t', 't.id', 'r.template_id')
          .select('t.name')
          .where('r.id', '=', id)
          .executeTakeFirst(),
      );
    default:
      return undefined;
  }
}

/** Details with the object's name and, for a template field given by id, the field's name. */
async function namedDetails(q: Q, entry: AuditEntry): Promise<Record<string, unknown>> {
  const details = { ...(entry.details ?? {}) };
  if (entry.object_id != null && typeof details.name !== 'string') {
    const name = await objectName(q, entry.object_type, entry.object_id);
    if (name !== undefined) details.name = name;
  }
  if (typeof details.field_id === 'number' && typeof details.field !== 'string') {
    const f = await q
      .selectFrom('template_fields')
      .select('name')
      .where('id', '=', details.field_id)
      .executeTakeFirst();
    if (f) details.field = f.name;
  }
  return details;
}

/** `actor` null: Keyport itself did it (a scheduled job), not a person or a key. */
export async function audit(q: Q, ctx: Ctx, projectId: number, actor: Actor | null, entry: AuditEntry): Promise<void> {
  const details = await namedDetails(q, entry);
  await q
    .insertInto('audit_log')
    .values({
      project_id: projectId,
      actor_user_id: actor?.userId ?? null,
      actor_key_id: actor?.kind === 'key' ? actor.keyId : null,
      action: entry.action,
      object_type: entry.object_type,
      object_id: entry.object_id ?? null,
      details: JSON.stringify(details),
      created_at: ctx.clock.now(),
    })
    .execute();
}

export interface AuditFilter {
  action?: string | undefined;
  actor_user_id?: number | undefined;
  object_type?: string | undefined;
  object_id?: number | undefined;
  /** epoch ms, inclusive */
  from?: number | undefined;
  /** epoch ms, exclusive */
  to?: number | undefined;
}

/** Query filters -> AuditFilter; an object id without its type, or from after to, is a 400 naming the field. */
export function auditFilter(q: AuditFilterQuery): AuditFilter {
  if (q.object_id !== undefined && q.object_type === undefined) {
    throw new AppError('VALIDATION_FAILED', 'object_id needs object_type (ids are per type)', {
      field: 'object_type',
    });
  }
  const from = q.from === undefined ? undefined : parseInstant(q.from, 'from', null);
  const to = q.to === undefined ? undefined : parseInstant(q.to, 'to', null);
  if (from !== undefined && to !== undefined && from > to) {
    throw new AppError('VALIDATION_FAILED', 'from must not be after to (the range is [from, to))', { field: 'from' });
  }
  return { ...q, from, to };
}

function filtered(ctx: Ctx, projectId: number, f: AuditFilter) {
  let q = ctx.k.selectFrom('audit_log').where('audit_log.project_id', '=', projectId);
  if (f.action?.endsWith('.')) {
    // substr, not LIKE: case-sensitive on both databases, and "_" is not a wildcard
    q = q.where(sql<string>`substr(audit_log.action, 1, ${sql.lit(f.action.length)})`, '=', f.action);
  } else if (f.action !== undefined) q = q.where('audit_log.action', '=', f.action);
  if (f.actor_user_id !== undefined) q = q.where('audit_log.actor_user_id', '=', f.actor_user_id);
  if (f.object_type !== undefined) q = q.where('audit_log.object_type', '=', f.object_type);
  if (f.object_id !== undefined) q = q.where('audit_log.object_id', '=', f.object_id);
  if (f.from !== undefined) q = q.where('audit_log.created_at', '>=', f.from);
  if (f.to !== undefined) q = q.where('audit_log.created_at', '<', f.to);
  return q;
}

function withActors(ctx: Ctx, projectId: number, f: AuditFilter) {
  return filtered(ctx, projectId, f)
    .leftJoin('users', 'users.id', 'audit_log.actor_user_id')
    .select([
      'audit_log.id',
      'audit_log.action',
      'audit_log.object_type',
      'audit_log.object_id',
      'audit_log.details',
      'audit_log.created_at',
      'audit_log.actor_key_id',
      'users.id as user_id',
      'users.name as user_name',
      'users.email as user_email',
    ])
    .orderBy('audit_log.id', 'desc');
}

type Row = Awaited<ReturnType<ReturnType<typeof withActors>['execute']>>[number];

function toEntry(r: Row) {
  return {
    id: r.id,
    action: r.action,
    object_type: r.object_type,
    object_id: r.object_id,
    details: parseJson<Record<string, unknown>>(r.details, {}),
    actor: {
      // the left join types every users column nullable; they are all set when the user exists
      user:
        r.user_id !== null && r.user_name !== null && r.user_email !== null
          ? { id: r.user_id, name: r.user_name, email: r.user_email }
          : null,
      key_id: r.actor_key_id,
    },
    created_at: toIso(r.created_at),
  };
}

export async function listAudit(ctx: Ctx, access: Access, f: AuditFilter, limit: number, offset: number) {
  const { total } = await filtered(ctx, access.projectId, f)
    .select((eb) => eb.fn.countAll<number>().as('total'))
    .executeTakeFirstOrThrow();
  const rows = await withActors(ctx, access.projectId, f).limit(limit).offset(offset).execute();
  return { total: Number(total), items: rows.map(toEntry) };
}

export const AUDIT_COLUMNS = [
  'id',
  'time',
  'actor_name',
  'actor_email',
  'key_id',
  'action',
  'object_type',
  'object_id',
  'details',
] as const;

const BATCH = 1000;

/** Every matching entry, newest first, as CSV cells in batches (keyset pages: stable while new entries arrive). */
export async function* auditRows(ctx: Ctx, access: Access, f: AuditFilter) {
  let before: number | null = null;
  for (;;) {
    let q = withActors(ctx, access.projectId, f).limit(BATCH);
    if (before !== null) q = q.where('audit_log.id', '<', before);
    const rows = await q.execute();
    yield rows.map((r) => {
      const e = toEntry(r);
      return [
        e.id,
        e.created_at,
        e.actor.user?.name ?? null,
        e.actor.user?.email ?? null,
        e.actor.key_id,
        e.action,
        e.object_type,
        e.object_id,
        JSON.stringify(e.details),
      ];
    });
    if (rows.length < BATCH) return;
    before = (rows[rows.length - 1] as Row).id;
  }
}
