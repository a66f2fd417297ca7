// Membership by consent: a manager invites an email address with a set of roles; the person with
// that address becomes a member only by accepting. At most one pending invitation per project and
// address (a second invitation replaces the roles of the first).
import { type Kysely, type Migration, sql } from 'kysely';
import type { DialectName } from '../dialect.js';

// biome-ignore lint/suspicious/noExplicitAny: migrations work on the untyped schema
type AnyDb = Kysely<any>;

export function invitations(dialect: DialectName): Migration {
  return {
    async up(db: AnyDb) {
      let t = db.schema.createTable('invitations');
      t =
        dialect === 'postgres'
          ? t.addColumn('id', 'serial', (c) => c.primaryKey())
          : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
      await t
        .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id').onDelete('cascade'))
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('role_ids', 'text', (c) => c.notNull())
        .addColumn('invited_by', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('decided_at', 'bigint')
        .execute();
      await sql`CREATE UNIQUE INDEX invitations_pending ON invitations (project_id, email) WHERE status = 'pending'`.execute(
        db,
      );
      await db.schema.createIndex('invitations_email').on('invitations').columns(['email', 'status']).execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('invitations').execute();
    },
  };
}
