// The whole schema in one step (the product starts here). Portable types only:
// ids via `serial`/`autoincrement`, epoch-ms `bigint`, 0/1 `integer` flags, JSON as `text`.
import type { ColumnDefinitionBuilder, CreateTableBuilder, Kysely, Migration } from 'kysely';
import type { DialectName } from '../dialect.js';

// biome-ignore lint/suspicious/noExplicitAny: migrations work on the untyped schema
type AnyDb = Kysely<any>;

const TABLES = [
  'audit_log',
  'outbox',
  'notifications',
  'project_keys',
  'secrets',
  'usage_batches',
  'usage_buckets',
  'objects',
  'package_files',
  'packages',
  'data_layers',
  'signing_keys',
  'api_keys',
  'key_requests',
  'template_fields',
  'api_key_templates',
  'member_roles',
  'roles',
  'links',
  'nodes',
  'projects',
  'sessions',
  'users',
];

export function foundation(dialect: DialectName): Migration {
  const pg = dialect === 'postgres';
  const withId = <T extends string>(t: CreateTableBuilder<T, never>) =>
    pg
      ? t.addColumn('id', 'serial', (c) => c.primaryKey())
      : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  const fk = (table: string) => (c: ColumnDefinitionBuilder) =>
    c.notNull().references(`${table}.id`).onDelete('cascade');

  return {
    async up(db: AnyDb) {
      await withId(db.schema.createTable('users'))
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await withId(db.schema.createTable('sessions'))
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('user_id', 'integer', fk('users'))
        .addColumn('csrf_token', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();

      await withId(db.schema.createTable('projects'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('owner_id', 'integer', (c) => c.notNull().references('users.id'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await withId(db.schema.createTable('nodes'))
        .addColumn('project_id', 'integer', fk('projects'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('nodes_project').on('nodes').column('project_id').execute();

      await withId(db.schema.createTable('links'))
        .addColumn('project_id', 'integer', fk('projects'))
        .addColumn('from_node_id', 'integer', fk('nodes'))
        .addColumn('to_node_id', 'integer', fk('nodes'))
        .addUniqueConstraint('links_unique', ['project_id', 'from_node_id', 'to_node_id'])
        .execute();

      await withId(db.schema.createTable('roles'))
        .addColumn('project_id', 'integer', fk('projects'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('price_micros', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('is_public', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('is_owner', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('permissions', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('roles_name', ['project_id', 'name'])
        .execute();

      await db.schema
        .createTable('member_roles')
        .addColumn('project_id', 'integer', fk('projects'))
        .addColumn('user_id', 'integer', fk('users'))
        .addColumn('role_id', 'integer', fk('roles'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('member_roles_pk', ['user_id', 'role_id'])
        .execute();
      await db.schema
        .createIndex('member_roles_project')
        .on('member_roles')
        .columns(['project_id', 'user_id'])
        .execute();

      await withId(db.schema.createTable('api_key_templates'))
        .addColumn('project_id', 'integer', fk('projects'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('role_id', 'integer', (c) => c.notNull().references('roles.id'))
        .addColumn('lifetime_days', 'integer')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('templates_name', ['project_id', 'name'])
        .execute();

      await withId(db.schema.createTable('template_fields'))
        .addColumn('template_id', 'integer', fk('api_key_templates'))
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('value', 'text', (c) => c.notNull().defaultTo(''))
        .addUniqueConstraint('template_fields_name', ['template_id', 'name'])
        .execute();

      // Requests and keys outlive their template (statistics, audit): no cascade from templates.
      await withId(db.schema.createTable('key_requests'))
        .addColumn('project_id', 'integer', fk('projects'))
        .addColumn('template_id', 'integer', (c) => c.notNull())
        .addColumn('user_id', 'integer', fk('users'))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('decided_at', 'bigint')
        .addColumn('decided_by', 'integer')
        .execute();
      await db.schema
        .createIndex('key_requests_project')
        .on('key_requests')
        .columns(['project_id', 'status'])
        .execute();
      await db.schema.createIndex('key_requests_user').on('key_requests').columns(['user_id', 'template_id']).execute();

      await withId(db.schema.createTable('api_keys'))
        .addColumn('project_id', 'integer', fk('projects'))
        .addColumn('template_id', 'integer', (c) => c.notNull())
        .addColumn('role_id', 'integer', (c) => c.notNull())
        .addColumn('user_id', 'integer', fk('users'))
        .addColumn('request_id', 'integer', (c) => c.notNull())
        .addColumn('jti', 'text', (c) => c.notNull().unique())
        .addColumn('kid', 'text', (c) => c.notNull())
        .addColumn('issued_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .addColumn('revoked_reason', 'text')
        .execute();
      await db.schema.createIndex('api_keys_project').on('api_keys').columns(['project_id', 'created_at']).execute();
      await db.schema.createIndex('api_keys_user').on('api_keys').column('user_id').execute();

      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'text', (c) => c.primaryKey())
        .addColumn('alg', 'text', (c) => c.notNull())
        .addColumn('public_jwk', 'text', (c) => c.notNull())
        .addColumn('private_enc', 'text', (c) => c.notNull())
        .addColumn('active', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await withId(db.schema.createTable('data_layers'))
        .addColumn('project_id', 'integer', fk('projects'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('data_layers_project').on('data_layers').columns(['project_id', 'user_id']).execute();

      await withId(db.schema.createTable('packages'))
        .addColumn('project_id', 'integer', fk('projects'))
        .addColumn('node_id', 'integer', fk('nodes'))
        .addColumn('data_layer_id', 'integer', fk('data_layers'))
        .addColumn('label', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('master_id', 'integer')
        .addColumn('parent_ids', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('fields', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('created_by_user_id', 'integer')
        .addColumn('created_by_key_id', 'integer')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      // search by master: (layer, node, master) then id order
      await db.schema
        .createIndex('packages_master')
        .on('packages')
        .columns(['data_layer_id', 'node_id', 'master_id', 'id'])
        .execute();
      await db.schema.createIndex('packages_node').on('packages').columns(['data_layer_id', 'node_id', 'id']).execute();

      await withId(db.schema.createTable('package_files'))
        .addColumn('package_id', 'integer', fk('packages'))
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('content_hash', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('is_executable', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('is_binary', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('package_files_package').on('package_files').column('package_id').execute();

      await db.schema
        .createTable('objects')
        .addColumn('sha256', 'text', (c) => c.primaryKey())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('data', pg ? 'bytea' : 'blob', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('usage_buckets')
        .addColumn('key_id', 'integer', (c) => c.notNull())
        .addColumn('project_id', 'integer', (c) => c.notNull())
        .addColumn('hour', 'bigint', (c) => c.notNull())
        .addColumn('price_micros', 'bigint', (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('usage_buckets_pk', ['key_id', 'hour', 'price_micros'])
        .execute();
      await db.schema
        .createIndex('usage_buckets_project')
        .on('usage_buckets')
        .columns(['project_id', 'hour'])
        .execute();

      await db.schema
        .createTable('usage_batches')
        .addColumn('batch_id', 'text', (c) => c.primaryKey())
        .addColumn('applied_at', 'bigint', (c) => c.notNull())
        .execute();

      await withId(db.schema.createTable('secrets'))
        .addColumn('project_id', 'integer', fk('projects'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('value_enc', 'text', (c) => c.notNull())
        .addColumn('node_ids', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('secrets_name', ['project_id', 'name'])
        .execute();

      await db.schema
        .createTable('project_keys')
        .addColumn('project_id', 'integer', (c) => c.primaryKey().references('projects.id').onDelete('cascade'))
        .addColumn('wrapped_key', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await withId(db.schema.createTable('notifications'))
        .addColumn('user_id', 'integer', fk('users'))
        .addColumn('project_id', 'integer')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('link', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('read_at', 'bigint')
        .execute();
      await db.schema.createIndex('notifications_user').on('notifications').columns(['user_id', 'id']).execute();

      await withId(db.schema.createTable('outbox'))
        .addColumn('to_email', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
        .addColumn('locked_until', 'bigint')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('sent_at', 'bigint')
        .execute();
      await db.schema.createIndex('outbox_due').on('outbox').columns(['status', 'next_attempt_at']).execute();

      await withId(db.schema.createTable('audit_log'))
        .addColumn('project_id', 'integer', fk('projects'))
        .addColumn('actor_user_id', 'integer')
        .addColumn('actor_key_id', 'integer')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('object_type', 'text', (c) => c.notNull())
        .addColumn('object_id', 'integer')
        .addColumn('details', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_log_project').on('audit_log').columns(['project_id', 'id']).execute();
    },

    async down(db: AnyDb) {
      for (const t of TABLES) await db.schema.dropTable(t).ifExists().execute();
    },
  };
}
