// Keys carry their issuer and template name (tokens are re-derived from stored claims; statistics
// keep a name after the template is deleted) and an updated_at that instances poll to refresh
// their in-memory key directory when an invalidation notice was lost.
import type { Kysely, Migration } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations work on the untyped schema
type AnyDb = Kysely<any>;

export function keyDirectory(): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema
        .alterTable('api_keys')
        .addColumn('issuer', 'text', (c) => c.notNull().defaultTo(''))
        .execute();
      await db.schema
        .alterTable('api_keys')
        .addColumn('template_name', 'text', (c) => c.notNull().defaultTo(''))
        .execute();
      await db.schema
        .alterTable('api_keys')
        .addColumn('updated_at', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('api_keys_updated').on('api_keys').column('updated_at').execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropIndex('api_keys_updated').execute();
      await db.schema.alterTable('api_keys').dropColumn('issuer').execute();
      await db.schema.alterTable('api_keys').dropColumn('template_name').execute();
      await db.schema.alterTable('api_keys').dropColumn('updated_at').execute();
    },
  };
}
