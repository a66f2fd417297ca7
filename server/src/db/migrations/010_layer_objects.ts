// Possession of objects per data layer: a layer may reference (and answer "already there" for)
// only objects uploaded into it, so bytes one key holder uploaded to a personal layer are neither
// reachable nor detectable from another layer of the same project. One row per (layer, object).
// Existing data: every layer holds the objects its packages already reference. Objects that were
// uploaded but never referenced are held by no layer; their uploader sends them once more.
// project_objects (002) is no longer read or written.
import type { Kysely, Migration } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations work on the untyped schema
type AnyDb = Kysely<any>;

export function layerObjects(): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('layer_objects')
        .addColumn('data_layer_id', 'integer', (c) => c.notNull().references('data_layers.id').onDelete('cascade'))
        .addColumn('sha256', 'text', (c) => c.notNull().references('objects.sha256').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('layer_objects_pk', ['data_layer_id', 'sha256'])
        .execute();
      // deleting an object (clean-up of unreferenced ones) cascades by sha256
      await db.schema.createIndex('layer_objects_sha256').on('layer_objects').column('sha256').execute();
      await db
        .insertInto('layer_objects')
        .columns(['data_layer_id', 'sha256', 'created_at'])
        .expression(
          db
            .selectFrom('package_files as f')
            .innerJoin('packages as p', 'p.id', 'f.package_id')
            .innerJoin('objects as o', 'o.sha256', 'f.content_hash')
            .select(['p.data_layer_id', 'f.content_hash', (eb) => eb.fn.min('p.created_at').as('created_at')])
            .groupBy(['p.data_layer_id', 'f.content_hash']),
        )
        .execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('layer_objects').execute();
    },
  };
}
