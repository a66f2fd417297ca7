// `keyport-server` command line: operator tasks that run against the server's own configuration
// (the same environment variables as the server) and database, beside or instead of a running
// server.
//
//   keyport-server objects migrate --to fs|s3|db [--limit N]
//
// Moves every object whose bytes are elsewhere (the inline database blobs of older installs,
// or another store) into the named store, printing one line per 100 objects and a summary.
// Resumable: stop it at any time and run it again. Exit codes: 0 done, 1 failed, 2 bad usage or
// configuration.
import { type Config, ConfigError, loadConfig } from './config.js';
import type { Logger } from './context.js';
import { connectDatabase } from './db/connect.js';
import { migrateToLatest } from './db/migrate.js';
import { systemClock } from './lib/clock.js';
import { migrateObjects } from './modules/objects/migrate.js';

export const USAGE = `Usage:
  keyport-server objects migrate --to fs|s3|db [--limit N]

Moves object bytes into the named store (KEYPORT_OBJECT_DIR, KEYPORT_S3_*), object by object;
safe to stop and run again. Set KEYPORT_OBJECT_STORE to the same store for new uploads.
`;

export class UsageError extends Error {}

export function parseMigrateArgs(argv: string[]): { to: 'db' | 'fs' | 's3'; limit?: number } {
  const [group, verb, ...rest] = argv;
  if (group !== 'objects' || verb !== 'migrate') throw new UsageError('unknown command');
  let to: string | undefined;
  let limit: number | undefined;
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i];
    const value = rest[i + 1];
    if (arg === '--to' && value !== undefined) to = value;
    else if (arg === '--limit' && value !== undefined && /^\d+$/.test(value)) limit = Number(value);
    else throw new UsageError(`unknown or incomplete option "${arg}"`);
    i += 1;
  }
  if (to !== 'db' && to !== 'fs' && to !== 's3') throw new UsageError('--to must be fs, s3 or db');
  return limit === undefined ? { to } : { to, limit };
}

const consoleLog: Logger = {
  info: (o, m) => console.log(m ?? o),
  warn: (o, m) => console.error(`warning: ${m ?? ''} ${JSON.stringify(o)}`),
  error: (o, m) => console.error(`error: ${m ?? ''} ${JSON.stringify(o)}`),
};

export async function main(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  let args: ReturnType<typeof parseMigrateArgs>;
  let config: Config;
  try {
    args = parseMigrateArgs(argv);
    config = loadConfig(env);
    if (args.to === 's3' && !config.s3) throw new ConfigError('--to s3 needs KEYPORT_S3_BUCKET (and KEYPORT_S3_*)');
  } catch (err) {
    if (!(err instanceof UsageError || err instanceof ConfigError)) throw err;
    console.error(`keyport-server: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  const db = await connectDatabase(config, (line) => console.error(line));
  try {
    await migrateToLatest(db);
    const ctx = { config, db, k: db.kysely, clock: systemClock, log: consoleLog };
    const report = await migrateObjects(ctx, args.to, {
      ...(args.limit !== undefined ? { limit: args.limit } : {}),
      onProgress: (r) => {
        if (r.moved % 100 === 0) console.log(`moved ${r.moved} objects (${r.bytes} bytes)`);
      },
    });
    console.log(
      `moved ${report.moved} objects (${report.bytes} bytes) to ${args.to}; ` +
        `${report.remaining} left, ${report.missing} with missing bytes`,
    );
    return 0;
  } catch (err) {
    console.error(`keyport-server: objects migrate failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await db.close();
  }
}
