// Money controls. A monthly spend cap (micro-units) on a template, copied onto its keys like the
// quota (the in-memory key directory knows it without a join), overridden per key by a manager and
// lowered by the holder. Alerts at 80 % / 100 % of quota or cap are claimed once per lineage,
// month, metric and threshold. Per key and day: requests by outcome and by operation, and when a
// key was last used (analytics, not billing: billing stays in the usage buckets).
import type { Kysely, Migration } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations work on the untyped schema
type AnyDb = Kysely<any>;

export function spendCaps(): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema.alterTable('api_key_templates').addColumn('monthly_spend_cap_micros', 'bigint').execute();
      for (const c of [
        'template_spend_cap_micros',
        'manager_spend_cap_micros',
        'self_spend_cap_micros',
        'last_used_at',
      ])
        await db.schema.alterTable('api_keys').addColumn(c, 'bigint').execute();
      await db.schema
        .createTable('usage_alerts')
        .addColumn('lineage_id', 'integer', (c) => c.notNull())
        .addColumn('month', 'bigint', (c) => c.notNull())
        .addColumn('metric', 'text', (c) => c.notNull())
        .addColumn('threshold', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('usage_alerts_pk', ['lineage_id', 'month', 'metric', 'threshold'])
        .execute();
      for (const [table, col] of [
        ['usage_key_outcomes', 'outcome'],
        ['usage_key_operations', 'operation'],
      ] as const) {
        await db.schema
          .createTable(table)
          .addColumn('key_id', 'integer', (c) => c.notNull())
          .addColumn('project_id', 'integer', (c) => c.notNull())
          .addColumn('day', 'bigint', (c) => c.notNull())
          .addColumn(col, 'text', (c) => c.notNull())
          .addColumn('requests', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint(`${table}_pk`, ['key_id', 'day', col])
          .execute();
        await db.schema.createIndex(`${table}_project`).on(table).columns(['project_id', 'day']).execute();
      }
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('usage_key_operations').execute();
      await db.schema.dropTable('usage_key_outcomes').execute();
      await db.schema.dropTable('usage_alerts').execute();
      for (const c of [
        'last_used_at',
        'self_spend_cap_micros',
        'manager_spend_cap_micros',
        'template_spend_cap_micros',
      ])
        await db.schema.alterTable('api_keys').dropColumn(c).execute();
      await db.schema.alterTable('api_key_templates').dropColumn('monthly_spend_cap_micros').execute();
    },
  };
}
