// `KEYPORT_WORKERS=N npm start`: N worker processes (node:cluster) share one port. Each worker is a
// complete, stateless instance (its own caches, LISTEN connection and usage journal); they agree
// through PostgreSQL exactly as instances on different machines do (docs/scale-out.md).
//
// The primary serves no requests. It prepares what must happen once (master key file, migrations),
// starts the first worker (which seeds the demo on an empty database), then the others; it replaces
// a worker that dies and, on SIGTERM/SIGINT, stops the workers gracefully before exiting.
import cluster, { type Worker } from 'node:cluster';
import type { Config } from './config.js';
import { connectDatabase } from './db/connect.js';
import { migrateToLatest } from './db/migrate.js';
import { loadMasterKey } from './lib/master-key.js';

const STOP_TIMEOUT_MS = 30_000;
const MAX_RESTARTS_PER_MINUTE = 10;

/** Why N workers cannot run with this configuration, or null. */
export function workersProblem(config: Config): string | null {
  if (config.workers > 1 && !config.databaseUrl) {
    return (
      `KEYPORT_WORKERS=${config.workers} needs PostgreSQL (set DATABASE_URL=postgres://…): the embedded ` +
      'SQLite database belongs to one process. Unset KEYPORT_WORKERS (or set it to 1) to run on SQLite.'
    );
  }
  return null;
}

/** Worker messages to the primary. */
type WorkerMessage = { keyport: 'listening'; port: number };

/** Called by main.ts in a worker once it listens: the primary prints one banner for all workers. */
export function reportListening(port: number): void {
  process.send?.({ keyport: 'listening', port } satisfies WorkerMessage);
}

export async function runPrimary(config: Config): Promise<void> {
  const problem = workersProblem(config);
  if (problem) {
    console.error(`keyport: configuration error: ${problem}`);
    process.exit(2);
  }
  const n = config.workers;

  // Once, before any worker: the master key file (if not configured) and the schema.
  const { generated } = loadMasterKey(config.masterKey, config.dataDir);
  if (generated) {
    console.warn('keyport: generated a new master key in the data directory (set KEYPORT_MASTER_KEY in production)');
  }
  const db = await connectDatabase(config, (line) => console.error(line), { poolSize: 1 }); // waits for PostgreSQL
  try {
    await migrateToLatest(db);
  } finally {
    await db.close();
  }

  let stopping = false;
  let announced = false;
  const listening = new Set<number>();
  const restarts: number[] = [];

  const fork = (env: Record<string, string>): Worker => {
    const w = cluster.fork(env);
    w.on('message', (m: WorkerMessage) => {
      if (m?.keyport !== 'listening') return;
      console.log(`keyport: worker ${w.id} (pid ${w.process.pid}) listening on port ${m.port}`);
      listening.add(w.id);
      if (!announced && listening.size >= n) {
        announced = true;
        console.log(
          `Keyport is running at http://localhost:${m.port} with ${n} workers  (API docs: http://localhost:${m.port}/api/docs)`,
        );
      }
    });
    return w;
  };

  cluster.on('exit', (w, code, signal) => {
    listening.delete(w.id);
    if (stopping) return;
    const now = Date.now();
    restarts.push(now);
    while (restarts.length && (restarts[0] as number) < now - 60_000) restarts.shift();
    if (restarts.length > MAX_RESTARTS_PER_MINUTE) {
      console.error(`keyport: workers keep failing (${restarts.length} exits in a minute); stopping`);
      void stopAll(1);
      return;
    }
    console.error(`keyport: worker ${w.id} (pid ${w.process.pid}) exited (${signal ?? code}); starting a new one`);
    setTimeout(() => {
      if (!stopping) fork({ KEYPORT_DEMO: '0' });
    }, 1000);
  });

  const stopAll = async (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const exited = workers.map((w) => new Promise<void>((r) => (w.isDead() ? r() : w.once('exit', () => r()))));
    // Each worker drains (in-flight requests, usage counts) on SIGTERM, like a single process.
    for (const w of workers) if (!w.isDead()) w.process.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const w of workers) if (!w.isDead()) w.process.kill('SIGKILL');
    }, STOP_TIMEOUT_MS);
    await Promise.all(exited);
    clearTimeout(timer);
    process.exit(exitCode);
  };
  process.on('SIGTERM', () => void stopAll(0));
  process.on('SIGINT', () => void stopAll(0));

  // The first worker alone seeds the demo (on an empty database) and signs the first signing key;
  // the others start once it listens, so nothing is created twice.
  const first = fork({});
  await new Promise<void>((resolve) => {
    const onMsg = (m: WorkerMessage) => {
      if (m?.keyport === 'listening') {
        first.off('message', onMsg);
        first.off('exit', onExit);
        resolve();
      }
    };
    const onExit = () => {
      first.off('message', onMsg);
      resolve(); // the exit handler above restarts it (or gives up)
    };
    first.on('message', onMsg);
    first.on('exit', onExit);
  });
  if (stopping) return;
  for (let i = 1; i < n; i++) fork({ KEYPORT_DEMO: '0' });
}
