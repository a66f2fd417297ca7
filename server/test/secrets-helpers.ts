// Helpers for the secrets suites: raw database bytes (encryption-at-rest scans) and apps that
// reopen the same database with a chosen master key.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDb } from '../src/db/dialect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import type { MasterKey } from '../src/lib/master-key.js';
import { createPgSchema, dropPgSchema, makeTestApp, PG_URL, type TestApp } from './helpers.js';

/**
 * Everything the database holds, as text: on SQLite every file of the data dir (main file, WAL,
 * shared memory) read as bytes; on PostgreSQL every row of every table of the test schema.
 */
export async function databaseBytes(t: TestApp): Promise<string> {
  if (!t.pgSchema) {
    const parts: Buffer[] = [];
    for (const f of fs.readdirSync(t.dataDir)) {
      const file = path.join(t.dataDir, f);
      if (fs.statSync(file).isFile()) parts.push(fs.readFileSync(file));
    }
    if (!parts.length) throw new Error('no database files found');
    // latin1 keeps every byte as one char: an ASCII value found here is a plaintext occurrence
    return Buffer.concat(parts).toString('latin1');
  }
  const client = new pg.Client({ connectionString: PG_URL ?? undefined });
  await client.connect();
  try {
    const tables = await client.query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1',
      [t.pgSchema],
    );
    if (!tables.rows.length) throw new Error('no tables found');
    const out: string[] = [];
    for (const { table_name } of tables.rows) {
      const rows = await client.query<{ row: string }>(`SELECT x::text AS row FROM "${t.pgSchema}"."${table_name}" x`);
      for (const r of rows.rows) out.push(r.row);
    }
    return out.join('\n');
  } finally {
    await client.end();
  }
}

/** A database (SQLite dir or PostgreSQL schema) that outlives the apps opened on it. */
export class PersistentDb {
  readonly dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-secrets-'));
  pgSchema: string | null = null;

  static async create(): Promise<PersistentDb> {
    const d = new PersistentDb();
    if (PG_URL) d.pgSchema = await createPgSchema();
    return d;
  }

  open(master: MasterKey | Buffer): Promise<TestApp> {
    return makeTestApp({
      dataDir: this.dataDir,
      masterKey: Buffer.isBuffer(master) ? master : master.key,
      ...(this.pgSchema ? { pgSchema: this.pgSchema } : {}),
    });
  }

  /** Builds the app without the test harness, so a refusal to start can be observed. */
  async tryBuild(master: MasterKey): Promise<void> {
    const config = loadConfig({
      KEYPORT_DATA_DIR: this.dataDir,
      KEYPORT_LOG_LEVEL: 'silent',
      KEYPORT_DEMO: '0',
      ...(PG_URL ? { DATABASE_URL: PG_URL } : {}),
    });
    const db = openDb({
      databaseUrl: config.databaseUrl,
      dataDir: this.dataDir,
      ...(this.pgSchema ? { pgSchema: this.pgSchema } : {}),
    });
    try {
      await migrateToLatest(db);
      const app = await buildApp({ config, db, master, logger: false, webDist: null });
      await app.close();
    } finally {
      await db.close();
    }
  }

  async destroy(): Promise<void> {
    if (this.pgSchema) await dropPgSchema(this.pgSchema);
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}
