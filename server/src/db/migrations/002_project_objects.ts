// Objects are content-addressed and stored once, but a project may only reference (and answer
// "already there" for) objects that someone in that project has uploaded: knowing a sha256 must not
// be enough to attach another project's file to a package. One row per (project, object).
import type { Kysely, Migration } from 'kysely';
import type { DialectName } from '../dialect.js';

// biome-ignore lint/suspicious/noExplicitAny: migrations work on the untyped schema
type AnyDb = Kysely<any>;

export function projectObjects(_dialect: DialectName): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('project_objects')
        .addColumn('project_id', 'integer', (c) => c.notNull().references('projects.id').onDelete('cascade'))
        .addColumn('sha256', 'text', (c) => c.notNull().references('objects.sha256').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('project_objects_pk', ['project_id', 'sha256'])
        .execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('project_objects').ifExists().execute();
    },
  };
}
