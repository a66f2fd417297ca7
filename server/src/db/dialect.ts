// Opens the database: embedded SQLite (WAL) by default, PostgreSQL when a postgres:// URL is given.
import path from 'node:path';
import SQLite from 'better-sqlite3';
import {
  Kysely,
  PostgresDialect,
  SqliteAdapter,
  type SqliteDatabase,
  SqliteDialect,
  type SqliteStatement,
  sql,
  type Transaction,
} from 'kysely';
import pg from 'pg';
import { ensurePrivateDir, ensurePrivateFile, PRIVATE_FILE_MODE, tighten } from '../lib/data-dir.js';
import { Lru } from '../lib/lru.js';
import type { Database } from './schema.js';

export type DialectName = 'sqlite' | 'postgres';

/** How long a SQLite statement waits for another connection's write lock (synchronously). */
const BUSY_TIMEOUT_MS = 5000;

export interface Db {
  readonly kysely: Kysely<Database>;
  readonly dialect: DialectName;
  /** PostgreSQL only: the pool, for LISTEN/NOTIFY and raw access. */
  readonly pool: pg.Pool | null;
  /** PostgreSQL only: the connection settings (e.g. for a dedicated LISTEN client). */
  readonly pgConfig: pg.PoolConfig | null;
  /** SQLite only: the file path (null for :memory:). */
  readonly file: string | null;
  close(): Promise<void>;
}

// int8 (ids from COUNT, epoch-ms timestamps) as JS numbers: all values we store fit in 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

export interface OpenDbOptions {
  databaseUrl: string | null;
  dataDir: string;
  /** PostgreSQL: put every table in this schema (tests use a fresh schema per app). */
  pgSchema?: string;
  /** SQLite: file name inside dataDir. */
  sqliteFile?: string;
  poolSize?: number;
}

export function openDb(opts: OpenDbOptions): Db {
  if (opts.databaseUrl) {
    const pgConfig: pg.PoolConfig = {
      connectionString: opts.databaseUrl,
      max: opts.poolSize ?? 10,
      // Without a bound, a request waiting on an unreachable host (packets dropped, not refused) hangs
      // for the OS connect timeout (minutes); with it, the request fails and answers 503 UNAVAILABLE.
      connectionTimeoutMillis: 10_000,
      ...(opts.pgSchema ? { options: `-c search_path=${opts.pgSchema}` } : {}),
    };
    const pool = new pg.Pool(pgConfig);
    // An idle client losing its connection must not crash the process; the pool replaces it.
    pool.on('error', () => {});
    // A checked-out client whose connection drops (database restarted, connection killed) emits
    // 'error' with no listener attached by pg-pool or Kysely: without this the process crashes.
    // The failing query still rejects, so callers see the error.
    pool.on('connect', (client) => client.on('error', () => {}));
    const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { kysely, dialect: 'postgres', pool, pgConfig, file: null, close: () => kysely.destroy() };
  }
  ensurePrivateDir(opts.dataDir);
  const file = path.join(opts.dataDir, opts.sqliteFile ?? 'keyport.db');
  // 0600 before SQLite opens it: SQLite creates -wal and -shm with the database file's mode
  ensurePrivateFile(file);
  for (const side of ['-wal', '-shm']) tighten(file + side, PRIVATE_FILE_MODE);
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return { kysely, dialect: 'sqlite', pool: null, pgConfig: null, file, close: () => kysely.destroy() };
}

/** Prepared statements kept per SQLite connection: enough for every query text the app repeats. */
const STATEMENT_CACHE = 512;

/**
 * Kysely's SQLite driver prepares every query anew; SQLite then parses and plans the same text
 * each time (for the metering flush's 1,000-row upserts that is most of the work). Query texts
 * repeat (parameters are bound, never inlined), so a statement prepared once serves them all.
 * Safe because the driver runs one statement at a time per connection and never streams here.
 */
function withStatementCache(db: SQLite.Database): SqliteDatabase {
  const cache = new Lru<string, SqliteStatement>(STATEMENT_CACHE);
  return {
    prepare(text: string) {
      let stmt = cache.get(text);
      if (stmt === undefined) {
        stmt = db.prepare(text);
        cache.set(text, stmt);
      }
      return stmt;
    },
    close() {
      cache.clear();
      db.close();
    },
  };
}

/**
 * A transaction of a background writer that retries on failure (the metering and statistics
 * flushes). On SQLite it does not wait for another connection's write lock: better-sqlite3 waits
 * synchronously, so each wait froze the whole server for the busy timeout, and the flushers,
 * retrying on their timers, kept it frozen for as long as another process held the lock. The
 * driver gives a transaction the connection alone, so the shorter wait applies to it only.
 */
export function backgroundTransaction<D, T>(k: Kysely<D>, fn: (trx: Transaction<D>) => Promise<T>): Promise<T> {
  if (!(k.getExecutor().adapter instanceof SqliteAdapter)) return k.transaction().execute(fn);
  return k.transaction().execute(async (trx) => {
    await sql`PRAGMA busy_timeout = 0`.execute(trx);
    try {
      return await fn(trx);
    } finally {
      await sql.raw(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`).execute(trx);
    }
  });
}
