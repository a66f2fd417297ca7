import { type Migration, type MigrationProvider, Migrator } from 'kysely';
import type { Db, DialectName } from './dialect.js';
import { foundation } from './migrations/001_foundation.js';

/** Migrations are factories of the dialect so one file can pick `serial` vs `autoincrement`, `bytea` vs `blob`. */
export type MigrationFactory = (dialect: DialectName) => Migration;

const MIGRATIONS: Record<string, MigrationFactory> = {
  '001_foundation': foundation,
};

class StaticProvider implements MigrationProvider {
  constructor(private readonly dialect: DialectName) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return Object.fromEntries(Object.entries(MIGRATIONS).map(([name, make]) => [name, make(this.dialect)]));
  }
}

function migrator(db: Db): Migrator {
  return new Migrator({ db: db.kysely, provider: new StaticProvider(db.dialect) });
}

export async function migrateToLatest(db: Db): Promise<void> {
  const { error, results } = await migrator(db).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
  }
}

export async function migrateDown(db: Db): Promise<void> {
  const { error } = await migrator(db).migrateDown();
  if (error) throw new Error(`database migration down failed: ${String(error)}`);
}
