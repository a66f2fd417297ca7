// A key holder's personal data layer: created when their first key to a project is issued, one per
// project and user, visible to them and to the project's managers only.
import type { Ctx, Q } from '../../context.js';

export async function ensurePersonalLayer(q: Q, ctx: Ctx, projectId: number, userId: number): Promise<number> {
  const existing = await q
    .selectFrom('data_layers')
    .select('id')
    .where('project_id', '=', projectId)
    .where('user_id', '=', userId)
    .where('kind', '=', 'personal')
    .executeTakeFirst();
  if (existing) return existing.id;
  const { id } = await q
    .insertInto('data_layers')
    .values({
      project_id: projectId,
      name: `personal-${userId}`,
      kind: 'personal',
      user_id: userId,
      created_at: ctx.clock.now(),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}
