// Audit log (F15): one row per lifecycle event. Details never hold tokens or secret values.
import type { Access, Actor } from '../../auth/permissions.js';
import type { Ctx, Q } from '../../context.js';
import { toIso } from '../../lib/clock.js';
import { parseJson } from '../../lib/json.js';

export interface AuditEntry {
  action: string;
  object_type: string;
  object_id?: number | null;
  details?: Record<string, unknown>;
}

/** `actor` null: Keyport itself did it (a scheduled job), not a person or a key. */
export async function audit(q: Q, ctx: Ctx, projectId: number, actor: Actor | null, entry: AuditEntry): Promise<void> {
  await q
    .insertInto('audit_log')
    .values({
      project_id: projectId,
      actor_user_id: actor?.userId ?? null,
      actor_key_id: actor?.kind === 'key' ? actor.keyId : null,
      action: entry.action,
      object_type: entry.object_type,
      object_id: entry.object_id ?? null,
      details: JSON.stringify(entry.details ?? {}),
      created_at: ctx.clock.now(),
    })
    .execute();
}

export async function listAudit(ctx: Ctx, access: Access, limit: number, offset: number) {
  const base = ctx.k.selectFrom('audit_log').where('project_id', '=', access.projectId);
  const { total } = await base.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
  const rows = await base
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
    .orderBy('audit_log.id', 'desc')
    .limit(limit)
    .offset(offset)
    .execute();
  return {
    total: Number(total),
    items: rows.map((r) => ({
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
    })),
  };
}
