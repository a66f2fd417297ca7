// Wrong-password counters per account, kept in the database so the slow-down holds across every
// instance and whatever address the attempts come from. Keyed by a hash of the normalized email,
// not the user id: unknown emails are counted and slowed down like known ones (no account oracle).
// Also indexes sessions by user (end every session of a user) and by expiry (the purge).
import type { Kysely, Migration } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations work on the untyped schema
type AnyDb = Kysely<any>;

export function loginFailures(): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('login_failures')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('locked_until', 'bigint', (c) => c.notNull())
        .addColumn('last_failure_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('login_failures_last').on('login_failures').column('last_failure_at').execute();
      await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();
      await db.schema.createIndex('sessions_expires').on('sessions').column('expires_at').execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropIndex('sessions_expires').execute();
      await db.schema.dropIndex('sessions_user').execute();
      await db.schema.dropTable('login_failures').execute();
    },
  };
}
