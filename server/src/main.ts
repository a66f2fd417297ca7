// Entry point: config -> database (migrated) -> keys -> app -> listen; graceful shutdown.
// first, before anything else allocates or runs: V8 settings for a long-running server (see each module)
import './lib/no-pretenuring.js';
import './lib/tick-shape.js';
import cluster from 'node:cluster';
import { buildApp } from './app.js';
import { reportListening, runPrimary } from './cluster.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { connectDatabase, DatabaseStartupError } from './db/connect.js';
import { migrateToLatest } from './db/migrate.js';
import { seedDemo } from './demo.js';
import { startDemoWorker } from './demo-worker.js';
import { loadMasterKey } from './lib/master-key.js';

async function main() {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`keyport: configuration error: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  // KEYPORT_WORKERS=N: this process supervises N workers, each running the rest of main().
  if (config.workers > 1 && cluster.isPrimary) return runPrimary(config);
  // Waits for an unreachable PostgreSQL (KEYPORT_DB_CONNECT_TIMEOUT_SECONDS), one stderr line per attempt;
  // first, so an unusable SQLite data directory is reported as such.
  const db = await connectDatabase(config, (line) => console.error(line));
  const { master, generated } = loadMasterKey(config.masterKey, config.dataDir);
  await migrateToLatest(db);
  const app = await buildApp({ config, db, master });
  if (generated)
    app.log.warn('generated a new master key in the data directory (set KEYPORT_MASTER_KEY in production)');
  if (config.demo) await seedDemo(app);

  let stopDemoWorker: (() => Promise<void>) | null = null;
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    try {
      // A connection that never sends a request would hold close() open until Node's header
      // timeout; after a grace period for in-flight requests, cut the remaining connections.
      setTimeout(() => app.server.closeAllConnections(), 10_000).unref();
      await stopDemoWorker?.();
      await app.close(); // onClose hooks drain usage counters and stop background jobs
      await db.close();
      process.exit(0);
    } catch (err) {
      app.log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  if (config.demo) stopDemoWorker = await startDemoWorker(app, port); // only the worker that seeds the demo in a cluster
  if (cluster.isWorker) return reportListening(port); // the primary prints one banner
  console.log(`Keyport is running at http://localhost:${port}  (API docs: http://localhost:${port}/api/docs)`);
}

main().catch((err) => {
  // already worded for the console (and free of the database URL)
  if (err instanceof DatabaseStartupError) console.error(`keyport: ${err.message}`);
  else console.error(`keyport: failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
