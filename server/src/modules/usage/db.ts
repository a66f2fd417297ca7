// Kysely types of the usage tables (hourly buckets from 001, rollups from 004) on top of the shared schema.
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';

/** Per key and UTC day (epoch ms of 00:00Z): maintained by the flusher in the same transaction as the hours. */
export interface UsageKeyDaysTable {
  key_id: number;
  project_id: number;
  day: number;
  requests: number;
  cost_micros: number;
}

/** Per key and UTC month (epoch ms of the 1st, 00:00Z). */
export interface UsageKeyMonthsTable {
  key_id: number;
  project_id: number;
  month: number;
  requests: number;
  cost_micros: number;
}

/** Per project and UTC hour: the all-keys chart and period totals. */
export interface UsageProjectHoursTable {
  project_id: number;
  hour: number;
  requests: number;
  cost_micros: number;
}

export interface UsageDatabase extends Database {
  usage_key_days: UsageKeyDaysTable;
  usage_key_months: UsageKeyMonthsTable;
  usage_project_hours: UsageProjectHoursTable;
}

export type UsageDb = Kysely<UsageDatabase>;

export const usageDb = (k: Kysely<Database>): UsageDb => k as unknown as UsageDb;
