import { type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import type { Db, DialectName } from './dialect.js';
import { foundation } from './migrations/001_foundation.js';
import { projectObjects } from './migrations/002_project_objects.js';
import { usageRollups } from './migrations/004_usage_rollups.js';
import { keyDirectory } from './migrations/005_key_directory.js';
import { templateQuota } from './migrations/006_template_quota.js';
import { notificationParams } from './migrations/007_notification_params.js';
import { rateLimits } from './migrations/008_rate_limits.js';
import { invitations } from './migrations/009_invitations.js';
import { layerObjects } from './migrations/010_layer_objects.js';
import { loginFailures } from './migrations/011_login_failures.js';
import { keyLineage } from './migrations/012_key_lineage.js';
import { objectStores } from './migrations/013_object_stores.js';
import { webhooks } from './migrations/014_webhooks.js';
import { spendCaps } from './migrations/015_spend_caps.js';
import { approvalWorkflow } from './migrations/016_approval_workflow.js';
import { templateNameCi } from './migrations/017_template_name_ci.js';
import { tokenDigests } from './migrations/018_token_digests.js';

/** Migrations are factories of the dialect so one file can pick `serial` vs `autoincrement`, `bytea` vs `blob`. */
export type MigrationFactory = (dialect: DialectName) => Migration;

const MIGRATIONS: Record<string, MigrationFactory> = {
  '001_foundation': foundation,
  '004_usage_rollups': usageRollups,
  '002_project_objects': projectObjects,
  '005_key_directory': keyDirectory,
  '006_template_quota': templateQuota,
  '007_notification_params': notificationParams,
  '008_rate_limits': rateLimits,
  '009_invitations': invitations,
  '010_layer_objects': layerObjects,
  '011_login_failures': loginFailures,
  '012_key_lineage': keyLineage,
  '013_object_stores': objectStores,
  '014_webhooks': webhooks,
  '015_spend_caps': spendCaps,
  '016_approval_workflow': approvalWorkflow,
  '017_template_name_ci': templateNameCi,
  '018_token_digests': tokenDigests,
};

class StaticProvider implements MigrationProvider {
  constructor(private readonly dialect: DialectName) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return Object.fromEntries(Object.entries(MIGRATIONS).map(([name, make]) => [name, make(this.dialect)]));
  }
}

async function migrator(db: Db): Promise<Migrator> {
  // PostgreSQL: pin Kysely's bookkeeping tables to the current schema. Without it Kysely sees the
  // kysely_migration tables of any other schema (parallel test schemas, another app) and skips
  // creating its own ("relation kysely_migration_lock does not exist").
  let migrationTableSchema: string | undefined;
  if (db.dialect === 'postgres') {
    const r = await sql<{ s: string }>`SELECT current_schema() AS s`.execute(db.kysely);
    migrationTableSchema = r.rows[0]?.s;
  }
  return new Migrator({
    db: db.kysely,
    provider: new StaticProvider(db.dialect),
    ...(migrationTableSchema ? { migrationTableSchema } : {}),
  });
}

export async function migrateToLatest(db: Db): Promise<void> {
  const { error, results } = await (await migrator(db)).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
  }
}

export async function migrateDown(db: Db): Promise<void> {
  const { error } = await (await migrator(db)).migrateDown();
  if (error) throw new Error(`database migration down failed: ${String(error)}`);
}
