// Shared throttle counters (login, sign-up, key requests): with several instances on one
// PostgreSQL the limits hold for the whole deployment, not per instance. Keys are hashes.
import type { Kysely, Migration } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations work on the untyped schema
type AnyDb = Kysely<any>;

export function rateLimits(): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('rate_limit_hits')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('window_start', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('rate_limit_hits_window').on('rate_limit_hits').column('window_start').execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('rate_limit_hits').execute();
    },
  };
}
