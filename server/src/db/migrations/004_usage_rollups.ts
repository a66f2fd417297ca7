// Usage rollups: per key per UTC day and month, per project per hour, so that statistics
// for a month read ~1 row per key instead of ~720. The flusher keeps them in the same transaction
// as usage_buckets.
import type { Kysely, Migration } from 'kysely';
import type { DialectName } from '../dialect.js';

// biome-ignore lint/suspicious/noExplicitAny: migrations work on the untyped schema
type AnyDb = Kysely<any>;

const HOUR = 3_600_000;
const DAY = 86_400_000;

export function usageRollups(_dialect: DialectName): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('usage_key_days')
        .addColumn('key_id', 'integer', (c) => c.notNull())
        .addColumn('project_id', 'integer', (c) => c.notNull())
        .addColumn('day', 'bigint', (c) => c.notNull())
        .addColumn('requests', 'bigint', (c) => c.notNull())
        .addColumn('cost_micros', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('usage_key_days_pk', ['key_id', 'day'])
        .execute();
      // covering: a project's keys over a range of days without touching the table
      await db.schema
        .createIndex('usage_key_days_project')
        .on('usage_key_days')
        .columns(['project_id', 'day', 'key_id', 'requests', 'cost_micros'])
        .execute();

      await db.schema
        .createTable('usage_key_months')
        .addColumn('key_id', 'integer', (c) => c.notNull())
        .addColumn('project_id', 'integer', (c) => c.notNull())
        .addColumn('month', 'bigint', (c) => c.notNull())
        .addColumn('requests', 'bigint', (c) => c.notNull())
        .addColumn('cost_micros', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('usage_key_months_pk', ['key_id', 'month'])
        .execute();
      await db.schema
        .createIndex('usage_key_months_project')
        .on('usage_key_months')
        .columns(['project_id', 'month', 'key_id', 'requests', 'cost_micros'])
        .execute();

      await db.schema
        .createTable('usage_project_hours')
        .addColumn('project_id', 'integer', (c) => c.notNull())
        .addColumn('hour', 'bigint', (c) => c.notNull())
        .addColumn('requests', 'bigint', (c) => c.notNull())
        .addColumn('cost_micros', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('usage_project_hours_pk', ['project_id', 'hour'])
        .execute();

      // Edge hours of a period for all keys of a project: index-only (the rows of one hour are
      // scattered over the table). Per-key hourly series use the primary key (key_id, hour, price).
      await db.schema
        .createIndex('usage_buckets_project_cover')
        .on('usage_buckets')
        .columns(['project_id', 'hour', 'key_id', 'price_micros', 'count'])
        .execute();

      // Backfill the rollups from any hourly buckets that already exist (exact: bigint in JS).
      const rows = (await db
        .selectFrom('usage_buckets')
        .select(['key_id', 'project_id', 'hour', 'price_micros', 'count'])
        .execute()) as { key_id: number; project_id: number; hour: number; price_micros: number; count: number }[];
      const days = new Map<
        string,
        { key_id: number; project_id: number; day: number; requests: bigint; cost: bigint }
      >();
      const months = new Map<
        string,
        { key_id: number; project_id: number; month: number; requests: bigint; cost: bigint }
      >();
      const hours = new Map<string, { project_id: number; hour: number; requests: bigint; cost: bigint }>();
      for (const r of rows) {
        const hour = Number(r.hour);
        const n = BigInt(r.count);
        const c = n * BigInt(r.price_micros);
        const day = hour - (hour % DAY);
        const d = new Date(hour);
        const month = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
        const add = <T extends { requests: bigint; cost: bigint }>(m: Map<string, T>, k: string, init: () => T) => {
          let e = m.get(k);
          if (!e) {
            e = init();
            m.set(k, e);
          }
          e.requests += n;
          e.cost += c;
        };
        add(days, `${r.key_id}:${day}`, () => ({
          key_id: r.key_id,
          project_id: r.project_id,
          day,
          requests: 0n,
          cost: 0n,
        }));
        add(months, `${r.key_id}:${month}`, () => ({
          key_id: r.key_id,
          project_id: r.project_id,
          month,
          requests: 0n,
          cost: 0n,
        }));
        add(hours, `${r.project_id}:${hour - (hour % HOUR)}`, () => ({
          project_id: r.project_id,
          hour,
          requests: 0n,
          cost: 0n,
        }));
      }
      for (const e of days.values()) {
        await db
          .insertInto('usage_key_days')
          .values({
            key_id: e.key_id,
            project_id: e.project_id,
            day: e.day,
            requests: e.requests.toString(),
            cost_micros: e.cost.toString(),
          })
          .execute();
      }
      for (const e of months.values()) {
        await db
          .insertInto('usage_key_months')
          .values({
            key_id: e.key_id,
            project_id: e.project_id,
            month: e.month,
            requests: e.requests.toString(),
            cost_micros: e.cost.toString(),
          })
          .execute();
      }
      for (const e of hours.values()) {
        await db
          .insertInto('usage_project_hours')
          .values({
            project_id: e.project_id,
            hour: e.hour,
            requests: e.requests.toString(),
            cost_micros: e.cost.toString(),
          })
          .execute();
      }
    },

    async down(db: AnyDb) {
      await db.schema.dropIndex('usage_buckets_project_cover').ifExists().execute();
      for (const t of ['usage_project_hours', 'usage_key_months', 'usage_key_days']) {
        await db.schema.dropTable(t).ifExists().execute();
      }
    },
  };
}
