// Start-up connection to the database. Containers and service managers often start Keyport before
// PostgreSQL accepts connections, so an unreachable database is retried with exponential backoff
// (250 ms doubling to 5 s) up to KEYPORT_DB_CONNECT_TIMEOUT_SECONDS, one stderr line per attempt.
// Messages name the database by host:port only: the URL may carry a password.
//
// SQLite is not retried when it cannot be opened: a missing, unwritable or mistyped data directory
// is a configuration error that waiting does not fix, so it exits at once with a clear message.
// Once open, SQLite goes through the same probe (a lock held past busy_timeout is retried).
import type { Config } from '../config.js';
import { type Db, openDb } from './dialect.js';
import { describeDbError, isDatabaseUnavailable } from './errors.js';

/** Start-up cannot reach or open the database: main prints the message and exits 1. */
export class DatabaseStartupError extends Error {}

export interface WaitOptions {
  /** Give up after this long; 0 = one attempt. */
  timeoutMs: number;
  /** One line per failed attempt (main: stderr). */
  log: (line: string) => void;
  /** How the database is named in messages, e.g. "db.internal:5432" (see databaseTarget). */
  target: string;
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Bound on one probe: a blackholed host must not hold an attempt for the OS connect timeout. */
  attemptTimeoutMs?: number;
}

/** "host:port" of a PostgreSQL URL (never its user or password), or the SQLite file. */
export function databaseTarget(databaseUrl: string | null, sqliteFile: string | null): string {
  if (!databaseUrl) return sqliteFile ?? 'SQLite';
  try {
    const u = new URL(databaseUrl);
    // ?host=/run/postgresql (a Unix socket directory) overrides the URL's host, as in libpq.
    const host = u.searchParams.get('host') || u.hostname || 'localhost';
    return `${host}:${u.port || '5432'}`;
  } catch {
    return 'PostgreSQL';
  }
}

const seconds = (ms: number) => `${Number((ms / 1000).toFixed(2))} s`;

/** Resolves once `select 1` succeeds; throws DatabaseStartupError when it cannot within the timeout. */
export async function waitForDatabase(db: Db, opts: WaitOptions): Promise<void> {
  const { log, target } = opts;
  const minDelay = opts.minDelayMs ?? 250;
  const maxDelay = opts.maxDelayMs ?? 5000;
  const start = Date.now();
  const deadline = start + opts.timeoutMs;
  let delay = minDelay;
  for (let attempt = 1; ; attempt++) {
    const cap = opts.attemptTimeoutMs ?? 10_000;
    const remaining = deadline - Date.now();
    try {
      await probe(db, opts.timeoutMs === 0 ? cap : Math.max(1000, Math.min(cap, remaining)));
      if (attempt > 1) log(`keyport: database reachable at ${target} (attempt ${attempt})`);
      return;
    } catch (err) {
      const reason = describeDbError(err);
      if (!isDatabaseUnavailable(err)) {
        // Wrong password, missing database, no permission: retrying would only delay the message.
        throw new DatabaseStartupError(`cannot use the database at ${target}: ${reason}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new DatabaseStartupError(
          `database unavailable at ${target} (${reason}); gave up after ${attempt} attempt${attempt > 1 ? 's' : ''} in ${seconds(Date.now() - start)} ` +
            `(KEYPORT_DB_CONNECT_TIMEOUT_SECONDS=${opts.timeoutMs / 1000}). Check DATABASE_URL and that the database is running.`,
        );
      }
      const wait = Math.min(delay, left);
      log(`keyport: database unavailable at ${target} (${reason}), retrying in ${seconds(wait)}`);
      await new Promise((r) => setTimeout(r, wait));
      delay = Math.min(maxDelay, delay * 2);
    }
  }
}

async function probe(db: Db, timeoutMs: number): Promise<void> {
  const query = db.pool ? db.pool.query('SELECT 1') : db.kysely.selectNoFrom((eb) => eb.lit(1).as('one')).execute();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
  });
  query.catch(() => {}); // an abandoned probe that fails later must not be an unhandled rejection
  try {
    await Promise.race([query, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Opens the configured database and waits until it answers. Failures become DatabaseStartupError
 * with a message fit for the console (no URL, no password).
 */
export async function connectDatabase(
  config: Config,
  log: (line: string) => void,
  opts: { poolSize?: number } = {},
): Promise<Db> {
  let db: Db;
  try {
    db = openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, ...opts });
  } catch (err) {
    // pg.Pool connects lazily, so only SQLite (or a malformed URL) fails here.
    if (config.databaseUrl) throw new DatabaseStartupError(`cannot use DATABASE_URL: ${describeDbError(err)}`);
    throw new DatabaseStartupError(
      `cannot open the SQLite database in ${config.dataDir} (${describeDbError(err)}); ` +
        'KEYPORT_DATA_DIR must be a writable directory',
    );
  }
  const target = databaseTarget(config.databaseUrl, db.file);
  try {
    await waitForDatabase(db, { timeoutMs: config.dbConnectTimeoutSeconds * 1000, log, target });
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  return db;
}
