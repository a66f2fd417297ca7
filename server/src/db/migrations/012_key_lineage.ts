// Keys that live on after approval: a roll creates a successor (rolled_from / rolled_to, one
// lineage that quotas count as a whole) and shortens the old key's life to the grace period, so
// `expires_at` is now "stops working at" while the token's own `exp` claim stays as issued
// (tokens are re-derived from stored claims and must not change). Imported secrets remember the
// key they came from, so a roll can rewrite them. Renewal requests point at the key they renew.
// Expiry reminders are claimed once per key and kind across instances.
import type { Kysely, Migration } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations work on the untyped schema
type AnyDb = Kysely<any>;

/** How long after the import's audit entry its secrets may have been created (one transaction). */
const IMPORT_WINDOW_MS = 60_000;

export function keyLineage(): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema.alterTable('api_keys').addColumn('claims_expires_at', 'bigint').execute();
      await db
        .updateTable('api_keys')
        .set((eb) => ({ claims_expires_at: eb.ref('expires_at') }))
        .execute();
      await db.schema.alterTable('api_keys').addColumn('rolled_from', 'integer').execute();
      await db.schema.alterTable('api_keys').addColumn('rolled_to', 'integer').execute();
      // null on a lineage's first key; its successors hold that first key's id
      await db.schema.alterTable('api_keys').addColumn('lineage_id', 'integer').execute();
      await db.schema.createIndex('api_keys_rolled_from').unique().on('api_keys').column('rolled_from').execute();
      await db.schema.createIndex('api_keys_lineage').on('api_keys').column('lineage_id').execute();

      await db.schema.alterTable('secrets').addColumn('source_key_id', 'integer').execute();
      // null for the token secret; the info field's name for the others
      await db.schema.alterTable('secrets').addColumn('source_field', 'text').execute();
      await db.schema.createIndex('secrets_source_key').on('secrets').column('source_key_id').execute();

      await db.schema.alterTable('key_requests').addColumn('renews_key_id', 'integer').execute();

      await db.schema
        .createTable('key_reminders')
        .addColumn('key_id', 'integer', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('key_reminders_pk', ['key_id', 'kind'])
        .execute();

      await linkImportedSecrets(db);
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('key_reminders').execute();
      await db.schema.alterTable('key_requests').dropColumn('renews_key_id').execute();
      await db.schema.dropIndex('secrets_source_key').execute();
      await db.schema.alterTable('secrets').dropColumn('source_field').execute();
      await db.schema.alterTable('secrets').dropColumn('source_key_id').execute();
      await db.schema.dropIndex('api_keys_lineage').execute();
      await db.schema.dropIndex('api_keys_rolled_from').execute();
      for (const c of ['lineage_id', 'rolled_to', 'rolled_from', 'claims_expires_at'])
        await db.schema.alterTable('api_keys').dropColumn(c).execute();
    },
  };
}

/**
 * Secrets imported before this migration: each import left a `key.imported` audit entry in the
 * target project naming the prefix and the secrets it created, written in the same transaction
 * just after them. A secret of that name created shortly before the entry is that import's; one
 * renamed, or deleted and created again later, is not linked (it is no longer the import's copy).
 */
export async function linkImportedSecrets(db: AnyDb): Promise<void> {
  const imports = await db
    .selectFrom('audit_log')
    .select(['project_id', 'object_id', 'details', 'created_at'])
    .where('action', '=', 'key.imported')
    .orderBy('id')
    .execute();
  for (const entry of imports) {
    let details: { prefix?: unknown; secrets?: unknown };
    try {
      details = JSON.parse(entry.details);
    } catch {
      continue;
    }
    const { prefix, secrets } = details;
    if (typeof prefix !== 'string' || !Array.isArray(secrets) || entry.object_id === null) continue;
    const at = Number(entry.created_at);
    for (const name of secrets) {
      if (typeof name !== 'string' || !name.startsWith(`${prefix}_`)) continue;
      const part = name.slice(prefix.length + 1);
      await db
        .updateTable('secrets')
        .set({ source_key_id: entry.object_id, source_field: name === `${prefix}_token` ? null : part })
        .where('project_id', '=', entry.project_id)
        .where('name', '=', name)
        .where('source_key_id', 'is', null)
        .where('created_at', '>=', at - IMPORT_WINDOW_MS)
        .where('created_at', '<=', at)
        .execute();
    }
  }
}
