// Import a received API key as secrets: `<prefix>_token` holds the JWT, and
// `<prefix>_<field>` each info field of the key's template (value and description copied), in
// template order. All or nothing: any name conflict answers 409 NAME_TAKEN listing every
// conflicting name, and nothing is created.
import type { Access } from '../../auth/permissions.js';
import type { Ctx } from '../../context.js';
import { AppError, notFound } from '../../errors.js';
import { audit } from '../audit/service.js';
import { tokenForKey } from '../keys/tokens.js';
import {
  checkName,
  createSecretsIn,
  type PublicSecret,
  type SecretInput,
  type SecretSource,
  toPublic,
  withNameRace,
} from './service.js';

export interface ImportInput {
  key_id: number;
  prefix: string;
  node_ids?: number[] | undefined;
}

/** `access` is the caller's access to the target project (project_manage checked by the route). */
export async function importApiKey(
  ctx: Ctx,
  access: Access,
  userId: number,
  input: ImportInput,
): Promise<{ items: PublicSecret[] }> {
  checkName(input.prefix, 'Prefix');
  // only the holder may import their key: anyone else's key "does not exist"
  const key = await ctx.k
    .selectFrom('api_keys as k')
    .innerJoin('projects as p', 'p.id', 'k.project_id')
    .select([
      'k.id',
      'k.project_id',
      'k.template_id',
      'k.template_name',
      'k.revoked_at',
      'k.expires_at',
      'p.name as project_name',
    ])
    .where('k.id', '=', input.key_id)
    .where('k.user_id', '=', userId)
    .executeTakeFirst();
  if (!key) throw notFound('API key');
  if (key.revoked_at !== null) throw new AppError('INVALID_STATE', 'This key was revoked; request a new one');
  if (key.expires_at !== null && key.expires_at <= ctx.clock.now())
    throw new AppError('INVALID_STATE', 'This key has expired');

  const fields = await ctx.k
    .selectFrom('template_fields')
    .select(['name', 'description', 'value'])
    .where('template_id', '=', key.template_id)
    .orderBy('position')
    .orderBy('id')
    .execute();
  const node_ids = [...new Set(input.node_ids ?? [])];
  const items: (Required<SecretInput> & SecretSource)[] = [
    {
      name: `${input.prefix}_token`,
      description: `API key "${key.template_name}" of project "${key.project_name}" (#${key.project_id})`,
      type: 'variable',
      value: '', // filled in below, once every check has passed
      node_ids,
      source_key_id: key.id,
      source_field: null,
    },
    ...fields.map((f) => ({
      name: `${input.prefix}_${f.name}`,
      description: f.description,
      type: 'variable' as const,
      value: f.value,
      node_ids,
      source_key_id: key.id,
      source_field: f.name,
    })),
  ];
  for (const it of items) checkName(it.name);
  // Every name is known before anything is written: two items of one import never race each other
  // to the unique index (which would read as "a secret named … exists" although none does).
  const seen = new Set<string>();
  const clashes: string[] = [];
  const fieldsToRename: string[] = [];
  for (const it of items) {
    if (seen.has(it.name)) {
      clashes.push(it.name);
      if (it.source_field !== null) fieldsToRename.push(it.source_field);
    }
    seen.add(it.name);
  }
  if (clashes.length) {
    // only a template from before "token" was reserved can get here: say so rather than "exists"
    throw new AppError(
      'CONFLICT',
      `The key's info fields would create ${clashes.join(', ')} twice (from the info field ${fieldsToRename.map((f) => `"${f}"`).join(', ')}); the project owner must rename that field`,
      { names: clashes, fields: fieldsToRename },
    );
  }

  const first = items[0] as SecretInput;
  first.value = await tokenForKey(ctx, key.id);
  const names = items.map((i) => i.name);
  const rows = await withNameRace(ctx, access.projectId, names, () =>
    ctx.k.transaction().execute(async (trx) => {
      if (node_ids.length) {
        const found = await trx
          .selectFrom('nodes')
          .select('id')
          .where('project_id', '=', access.projectId)
          .where('id', 'in', node_ids)
          .execute();
        if (found.length !== node_ids.length)
          throw new AppError('INVALID_REFERENCE', 'Every node must belong to this project');
      }
      const created = await createSecretsIn(trx, ctx, access.projectId, items);
      await audit(trx, ctx, access.projectId, access.actor, {
        action: 'key.imported',
        object_type: 'api_key',
        object_id: key.id,
        details: {
          prefix: input.prefix,
          key_project_id: key.project_id,
          template_name: key.template_name,
          secrets: names,
        },
      });
      return created;
    }),
  );
  return { items: rows.map(toPublic) };
}
