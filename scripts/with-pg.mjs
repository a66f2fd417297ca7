#!/usr/bin/env node
// Runs a command with TEST_DATABASE_URL pointing at PostgreSQL. Starts the local cluster when it
// is down (CI machine); when none can be reached, prints why and skips (exit 0) unless
// KEYPORT_REQUIRE_PG=1, so a developer laptop without PostgreSQL can still run `npm run test:pg`.
import { execSync, spawnSync } from 'node:child_process';
import net from 'node:net';

const url = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const { hostname, port } = new URL(url);

const reachable = () =>
  new Promise((resolve) => {
    const s = net.connect({ host: hostname, port: Number(port || 5432) }, () => {
      s.end();
      resolve(true);
    });
    s.on('error', () => resolve(false));
    s.setTimeout(2000, () => {
      s.destroy();
      resolve(false);
    });
  });

if (!(await reachable())) {
  try {
    execSync('pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start', {
      stdio: 'inherit',
      shell: '/bin/bash',
    });
  } catch {
    /* reported below */
  }
  for (let i = 0; i < 20 && !(await reachable()); i++) await new Promise((r) => setTimeout(r, 500));
}
if (!(await reachable())) {
  const msg = `PostgreSQL is not reachable at ${hostname}:${port || 5432}`;
  if (process.env.KEYPORT_REQUIRE_PG === '1') {
    console.error(`${msg}: failing because KEYPORT_REQUIRE_PG=1`);
    process.exit(1);
  }
  console.log(`SKIPPED PostgreSQL suite: ${msg}`);
  process.exit(0);
}
console.log(`Running on PostgreSQL: ${url.replace(/\/\/[^@]*@/, '//')}`);
const [cmd, ...args] = process.argv.slice(2);
const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, TEST_DATABASE_URL: url } });
process.exit(r.status ?? 1);
