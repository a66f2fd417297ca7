// Optional monthly quota on a template: at most N billed requests per key per UTC month.
// Keys carry a copy (like role_id) so the in-memory key directory knows it without a join; a
// template edit updates its live keys and their updated_at in the same transaction.
import type { Kysely, Migration } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations work on the untyped schema
type AnyDb = Kysely<any>;

export function templateQuota(): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema.alterTable('api_key_templates').addColumn('monthly_quota', 'integer').execute();
      await db.schema.alterTable('api_keys').addColumn('monthly_quota', 'integer').execute();
    },
    async down(db: AnyDb) {
      await db.schema.alterTable('api_keys').dropColumn('monthly_quota').execute();
      await db.schema.alterTable('api_key_templates').dropColumn('monthly_quota').execute();
    },
  };
}
