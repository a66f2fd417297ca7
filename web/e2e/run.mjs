// End-to-end runner: builds the UI if needed, starts a real Keyport server on a free port with a
// fresh data directory, drives Debian's Chromium through playwright-core, and prints
// "N passed, N failed". Never downloads a browser.
//   node e2e/run.mjs [spec-name-filter]
//   KEYPORT_REQUIRE_E2E=1  fail (instead of skip) when /usr/bin/chromium is missing
//   TEST_DATABASE_URL      run the server on PostgreSQL instead of SQLite
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const webDir = path.resolve(here, '..');
const repo = path.resolve(webDir, '..');
const CHROMIUM = process.env.KEYPORT_CHROMIUM || '/usr/bin/chromium';
const SCREENSHOTS = path.join(here, 'screenshots');

if (!fs.existsSync(CHROMIUM)) {
  if (process.env.KEYPORT_REQUIRE_E2E === '1') {
    console.error(`e2e: ${CHROMIUM} is missing and KEYPORT_REQUIRE_E2E=1 (install it: apt-get install -y chromium)`);
    process.exit(1);
  }
  console.log('SKIPPED e2e: chromium not installed');
  process.exit(0);
}

const { chromium } = await import('playwright-core');
const started = Date.now();
const log = (...a) => console.log(`[e2e ${((Date.now() - started) / 1000).toFixed(1)}s]`, ...a);

// ---- build the UI when dist is missing or older than its sources ----
function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}
const distIndex = path.join(webDir, 'dist', 'index.html');
const sourcesChanged = () =>
  Math.max(
    newestMtime(path.join(webDir, 'src')),
    fs.statSync(path.join(webDir, 'index.html')).mtimeMs,
    fs.statSync(path.join(webDir, 'vite.config.ts')).mtimeMs,
  );
if (!fs.existsSync(distIndex) || fs.statSync(distIndex).mtimeMs < sourcesChanged()) {
  log('building the web UI (vite build)');
  const r = spawnSync(
    process.execPath,
    [path.join(repo, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'],
    {
      cwd: webDir,
      stdio: 'inherit',
    },
  );
  if (r.status !== 0) {
    console.error('e2e: vite build failed');
    process.exit(1);
  }
}

// ---- start a real server ----
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const port = await freePort();
const baseUrl = `http://127.0.0.1:${port}`;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-e2e-'));
const serverLog = path.join(dataDir, 'server.log');
const logFd = fs.openSync(serverLog, 'a');
const env = {
  ...process.env,
  KEYPORT_DATA_DIR: dataDir,
  PORT: String(port),
  KEYPORT_HOST: '127.0.0.1',
  KEYPORT_DEMO: '0',
  KEYPORT_PUBLIC_URL: baseUrl,
  KEYPORT_LOG_LEVEL: process.env.KEYPORT_LOG_LEVEL || 'warn',
  KEYPORT_USAGE_FLUSH_MS: '200',
  // the webhooks spec's receiver listens on 127.0.0.1 (plain http): loopback only, never elsewhere
  KEYPORT_WEBHOOK_ALLOW_HTTP: '1',
  KEYPORT_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
};
// PostgreSQL: a fresh schema of the test database (dropped afterwards), via libpq's `options`.
let pgSchema = null;
delete env.DATABASE_URL;
if (process.env.TEST_DATABASE_URL) {
  const { default: pg } = await import('pg');
  pgSchema = `e2e_${Date.now().toString(36)}_${process.pid}`;
  const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await client.connect();
  await client.query(`CREATE SCHEMA ${pgSchema}`);
  await client.end();
  const url = new URL(process.env.TEST_DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${pgSchema}`);
  env.DATABASE_URL = url.toString();
}
async function dropPgSchema() {
  if (!pgSchema) return;
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${pgSchema} CASCADE`);
  await client.end();
}
const tsx = path.join(repo, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const server = spawn(process.execPath, [tsx, 'server/src/main.ts'], {
  cwd: repo,
  env,
  stdio: ['ignore', logFd, logFd],
});
let serverExited = false;
server.on('exit', () => {
  serverExited = true;
});

async function stopServer() {
  if (serverExited) return;
  const exited = new Promise((r) => server.once('exit', r));
  server.kill('SIGTERM');
  const timer = setTimeout(() => server.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function waitForHealth() {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (serverExited) break;
    try {
      const r = await fetch(`${baseUrl}/api/health`);
      if (r.ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the server did not become healthy; log:\n${fs.readFileSync(serverLog, 'utf8').slice(-4000)}`);
}

// ---- browser contexts: one Chromium with a fresh user-data-dir per context ----
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-dev-shm-usage',
];
const openContexts = [];

function makeHarness(specName) {
  const consoleErrors = [];
  const allowed = [];
  const recent = [];
  return {
    baseUrl,
    consoleErrors,
    allowed,
    recent,
    /** Declares one console error the spec causes on purpose (e.g. a refused sign-in's 401). */
    expectConsoleError(re) {
      allowed.push({ re, seen: false });
    },
    /** A browser context of its own (own profile dir), clipboard allowed, errors collected. */
    async newUser(label, { width = 1280, height = 800 } = {}) {
      const profile = fs.mkdtempSync(path.join(os.tmpdir(), `keyport-e2e-${label}-`));
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: ARGS,
        chromiumSandbox: false,
        viewport: { width, height },
        locale: 'en-US',
        timezoneId: 'UTC',
        baseURL: baseUrl,
        permissions: ['clipboard-read', 'clipboard-write'],
      });
      openContexts.push({ context, profile });
      context.setDefaultTimeout(20_000);
      const page = context.pages()[0] ?? (await context.newPage());
      const watch = (p) => {
        p.on('console', (m) => {
          recent.push(`[${label}] ${m.type()}: ${m.text()}`);
          if (process.env.KEYPORT_E2E_WARNINGS === '1' && m.type() === 'warning')
            console.log(`  [${label}] warning: ${m.text().slice(0, 400)}`);
          if (recent.length > 40) recent.shift();
          if (m.type() === 'error') consoleErrors.push(`[${label}] console: ${m.text()} (${m.location()?.url ?? ''})`);
        });
        p.on('pageerror', (e) => consoleErrors.push(`[${label}] page error: ${e.message}`));
      };
      context.on('page', watch);
      watch(page);
      return { context, page, label };
    },
    async screenshot(page, name) {
      fs.mkdirSync(SCREENSHOTS, { recursive: true });
      const file = path.join(SCREENSHOTS, `${specName}-${name}.png`);
      await page.waitForTimeout(400); // let transitions settle
      await page.screenshot({ path: file });
      log(`screenshot ${path.relative(repo, file)}`);
    },
    log: (...a) => log(`[${specName}]`, ...a),
  };
}

async function closeContexts() {
  while (openContexts.length) {
    const { context, profile } = openContexts.pop();
    await context.close().catch(() => undefined);
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

// ---- run the specs ----
const filter = process.argv[2];
// failure screenshots go to screenshots/tmp/ (git-ignored), replaced on every run
fs.rmSync(path.join(SCREENSHOTS, 'tmp'), { recursive: true, force: true });
fs.mkdirSync(path.join(SCREENSHOTS, 'tmp'), { recursive: true });
const specFiles = fs
  .readdirSync(path.join(here, 'specs'))
  .filter((f) => f.endsWith('.spec.mjs'))
  .sort();
let passed = 0;
let failed = 0;
let exitCode = 1;
try {
  await waitForHealth();
  log(`server ready at ${baseUrl} (data ${dataDir}${pgSchema ? `, PostgreSQL schema ${pgSchema}` : ', SQLite'})`);
  for (const file of specFiles) {
    const mod = await import(path.join(here, 'specs', file));
    for (const spec of mod.specs) {
      if (filter && !spec.name.includes(filter)) continue;
      const h = makeHarness(spec.name);
      const t0 = Date.now();
      try {
        await spec.run(h);
        const unexpected = h.consoleErrors.filter((line) => {
          const a = h.allowed.find((x) => !x.seen && x.re.test(line));
          if (a) a.seen = true;
          return !a;
        });
        if (unexpected.length) throw new Error(`browser console errors:\n  ${unexpected.join('\n  ')}`);
        passed++;
        log(`PASS ${spec.name} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
      } catch (err) {
        failed++;
        log(`FAIL ${spec.name} (${((Date.now() - t0) / 1000).toFixed(1)}s)\n${err?.stack ?? err}`);
        if (h.recent.length) log(`last browser console lines:\n  ${h.recent.join('\n  ')}`);
        for (const { context } of openContexts) {
          for (const [i, p] of context.pages().entries()) {
            await p
              .screenshot({
                path: path.join(SCREENSHOTS, 'tmp', `FAILED-${spec.name}-${i}-${Date.now()}.png`),
                fullPage: true,
              })
              .catch(() => undefined);
          }
        }
      } finally {
        await closeContexts();
      }
    }
  }
  exitCode = failed === 0 && passed > 0 ? 0 : 1;
} catch (err) {
  console.error(`e2e: ${err?.stack ?? err}`);
} finally {
  await closeContexts();
  await stopServer();
  await dropPgSchema().catch((e) => console.error(`e2e: could not drop schema ${pgSchema}: ${e.message}`));
  fs.closeSync(logFd);
  if (exitCode === 0) fs.rmSync(dataDir, { recursive: true, force: true });
  else console.log(`e2e: server log kept at ${serverLog}`);
}
console.log(`e2e: ${passed} passed, ${failed} failed`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(exitCode);
