// File objects leave the `objects` row: the row keeps what the API needs (hash, size) and names
// where the bytes are (`store` = db | fs | s3, `store_key` = the key inside that store). Bytes
// uploaded before this migration stay inline in `objects.data`, addressed as `inline:<sha256>`
// in the db store, until `keyport-server objects migrate` moves them. New db-store objects are
// written as 1 MiB chunks (object_chunks) so neither upload nor download holds one whole.
// `touched_at` is the last time a layer was given or promised the object: the garbage collector
// removes objects that no package references and that nobody touched for the grace period. The
// clock starts at this migration for existing objects, so an upgrade collects nothing at once.
// object_gc_state is the claim row that lets one instance at a time run the collector.
import { type Kysely, type Migration, sql } from 'kysely';
import type { DialectName } from '../dialect.js';

// biome-ignore lint/suspicious/noExplicitAny: migrations work on the untyped schema
type AnyDb = Kysely<any>;

export function objectStores(dialect: DialectName): Migration {
  const pg = dialect === 'postgres';
  return {
    async up(db: AnyDb) {
      await db.schema
        .alterTable('objects')
        .addColumn('store', 'text', (c) => c.notNull().defaultTo('db'))
        .execute();
      await db.schema.alterTable('objects').addColumn('store_key', 'text').execute();
      await db.schema
        .alterTable('objects')
        .addColumn('touched_at', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.updateTable('objects').set({ store_key: sql`'inline:' || sha256`, touched_at: Date.now() }).execute();
      await db.schema.createIndex('objects_touched').on('objects').column('touched_at').execute();
      // the collector's "which keys have a row": answered from the index, never from a row whose
      // (pre-013, inline) bytes would have to be read past
      await db.schema.createIndex('objects_store_key').on('objects').columns(['store', 'store_key']).execute();
      // the collector asks "does any package reference this hash?" for every candidate
      await db.schema.createIndex('package_files_content_hash').on('package_files').column('content_hash').execute();

      await db.schema
        .createTable('object_chunks')
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('data', pg ? 'bytea' : 'blob', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('object_chunks_pk', ['key', 'seq'])
        .execute();
      // file bytes rarely compress: skip PostgreSQL's attempt on every chunk
      if (pg) await sql`ALTER TABLE object_chunks ALTER COLUMN data SET STORAGE EXTERNAL`.execute(db);

      await db.schema
        .createTable('object_gc_state')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('locked_until', 'bigint', (c) => c.notNull())
        .addColumn('last_run_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.insertInto('object_gc_state').values({ id: 1, locked_until: 0, last_run_at: 0 }).execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('object_gc_state').execute();
      await db.schema.dropTable('object_chunks').execute();
      await db.schema.dropIndex('package_files_content_hash').execute();
      await db.schema.dropIndex('objects_store_key').execute();
      await db.schema.dropIndex('objects_touched').execute();
      await db.schema.alterTable('objects').dropColumn('touched_at').execute();
      await db.schema.alterTable('objects').dropColumn('store_key').execute();
      await db.schema.alterTable('objects').dropColumn('store').execute();
    },
  };
}
