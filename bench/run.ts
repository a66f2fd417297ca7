// `npm run bench`: the cost of a key on the hot path, measured side by side, plus the data-plane
// figures. Servers and the load generator are separate processes pinned to different cores;
// compared runs are interleaved and repeated; ratios are printed as min/median/max. Figures:
//   1. whoami with a key ÷ the bare Fastify route (bare-server.ts)   2. whoami ÷ /api/health
//   3. whoami ÷ the naive stack   4. server CPU per first-seen key ÷ one Ed25519 verification
//   5. package create and search by master with the key ÷ the same routes signed in (session)
//
// Environment:
//   BENCH_REPS=5 BENCH_SECONDS=5      repetitions × seconds of each compared run
//   BENCH_AUTH_REPS=9                 repetitions of figures 1–3 (default: 9, or BENCH_REPS when set);
//                                     their ratios sit near the targets and a round swings ±30 % here
//   BENCH_CONNECTIONS=64              autocannon connections for figures 1–3 (pipelining 1); fewer
//                                     leave the server idle between round trips on this VM
//   BENCH_DATA_CONNECTIONS=32         connections for the data-plane runs
//   BENCH_DB=sqlite,postgres          databases (PostgreSQL only when reachable at BENCH_PG_URL,
//                                     default postgres://postgres@127.0.0.1:5432/test; a fresh
//                                     database is created and dropped)
//   BENCH_ONLY=auth,cold,data,memory,objects  a subset of the figures (objects: objects.ts, 1 GiB per store)
//   BENCH_BIG=0                       skip the search among 1,000,000 packages (≈10 s setup on SQLite,
//                                     ≈40 s on PostgreSQL)
//   BENCH_PROFILE=1                   write a --cpu-prof profile of each Keyport server to bench/results/
//   BENCH_NODE_ARGS="--flag …"        extra node options for the Keyport servers (experiments)
//   BENCH_ONLY=profile                one profiled server per route (whoami, health, the bare route); then
//                                     `npx tsx profile-summary.ts results/<file>.cpuprofile`
//   BENCH_OUT=results/latest.md       where the Markdown results go ('' = do not write)
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BENCH_DIR,
  type MeasuredLoad,
  pinning,
  runMeasured,
  runScript,
  SERVER_DIR,
  type Server,
  startProcess,
} from './lib/proc.js';
import { type DbKind, type Fixture, pgReachable, prepare } from './lib/setup.js';
import type { LoadSpec } from './load-worker.js';
import { objectFigures } from './objects.js';

const num = (name: string, def: number) => (process.env[name] ? Number(process.env[name]) : def);
const REPS = num('BENCH_REPS', 5);
const AUTH_REPS = num('BENCH_AUTH_REPS', process.env.BENCH_REPS ? REPS : 9);
const SECONDS = num('BENCH_SECONDS', 5);
const CONNECTIONS = num('BENCH_CONNECTIONS', 64);
const DATA_CONNECTIONS = num('BENCH_DATA_CONNECTIONS', 32);
const COLD_KEYS = 10_000;
const COLD_RUNS = num('BENCH_COLD_RUNS', 3);
/** longer than the key directory's poll (every half of the default 5 s cache TTL) */
const DIRECTORY_POLL_MS = 3500;
const BIG = process.env.BENCH_BIG !== '0';
const BIG_PACKAGES = num('BENCH_BIG_PACKAGES', 1_000_000);
const PROFILE = process.env.BENCH_PROFILE === '1';
const ONLY = new Set((process.env.BENCH_ONLY ?? 'auth,cold,data,memory,objects').split(',').map((s) => s.trim()));
const OUT = process.env.BENCH_OUT ?? 'results/latest.md';
const RESULTS_DIR = path.join(BENCH_DIR, 'results');

// ---- reporting ---------------------------------------------------------------------------------

const md: string[] = [];
const verdict = (ok: boolean) => (ok ? '✔' : '✘');
const say = (line = '') => {
  console.log(line);
  md.push(line);
};
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => {
  const s = sorted(xs);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const mmm = (xs: number[], f: (x: number) => string) =>
  xs.length ? `${f(Math.min(...xs))} / ${f(median(xs))} / ${f(Math.max(...xs))}` : 'n/a';
const k = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0));
const r2 = (x: number) => x.toFixed(2);
const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 1)} ms`;
const us = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(1)} µs`);
const pc = (x: number | null) => (x === null ? '?' : `${Math.round(x * 100)}%`);
/** how busy the server and the load generator were (the one near 100% is the bottleneck) */
const busy = (r: MeasuredLoad) => `${pc(r.serverCpu)}/${pc(r.loadCpu)}`;

function machine() {
  const cpu =
    fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? os.cpus()[0]?.model ?? '?';
  const load = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');
  let pgVersion = '';
  try {
    pgVersion = execSync('psql --version', { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    /* no psql */
  }
  return {
    cpu,
    cores: os.availableParallelism(),
    node: process.version,
    load,
    pgVersion,
    mem: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
  };
}

// ---- servers -----------------------------------------------------------------------------------

async function startKeyport(f: Fixture, label: string): Promise<Server> {
  const dir = PROFILE ? fs.mkdtempSync(path.join(RESULTS_DIR, 'prof-')) : null;
  const nodeArgs = [
    ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
    ...(dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []),
  ];
  const s = await startProcess({
    name: `keyport (${label})`,
    script: 'src/main.ts',
    cwd: SERVER_DIR,
    env: f.env,
    nodeArgs,
    ready: /Keyport is running at (http:\/\/\S+?)\s/,
  });
  const stop = async () => {
    await s.stop();
    if (dir) keepMainThreadProfile(dir, path.join(RESULTS_DIR, `keyport-${label}-${Date.now()}.cpuprofile`));
  };
  return { ...s, url: s.url.replace('localhost', '127.0.0.1'), stop };
}

async function startNaive(f: Fixture, driver: 'raw' | 'kysely'): Promise<Server & { token: string }> {
  const s = await startProcess({
    name: 'naive stack',
    script: 'naive-stack.ts',
    cwd: BENCH_DIR,
    env: { NAIVE_DB: f.databaseUrl ?? path.join(f.dataDir, `naive-${driver}.db`), NAIVE_DRIVER: driver, PORT: '0' },
    ready: /NAIVE READY (http:\/\/\S+) TOKEN (\S+)/,
  });
  return { ...s, token: s.match[2] as string };
}

async function expectOk(url: string, init: RequestInit, what: string): Promise<unknown> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${what}: expected 200, got ${res.status} ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

/** A sample's value on the server's /metrics (`name` with its labels, as written there); null when absent. */
async function metric(kp: Server, name: string): Promise<number | null> {
  const text = await (await fetch(`${kp.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? null : Number(line.slice(name.length + 1));
}

/** Requests the usage meter has counted so far (proves metering is on in the measured server). */
async function billed(kp: Server): Promise<string> {
  try {
    const n = await metric(kp, 'keyport_key_requests_total{outcome="billed"}');
    return n === null ? 'no usage meter found' : `${n.toLocaleString('en')} requests billed`;
  } catch {
    return 'n/a';
  }
}

/** First-seen tokens the server has checked so far, by signature or by digest (on /metrics). */
async function tokenChecks(kp: Server): Promise<number> {
  let sum = 0;
  for (const name of ['keyport_key_signature_checks_total', 'keyport_key_digest_checks_total']) {
    const n = await metric(kp, name);
    if (n === null) throw new Error(`no ${name} on /metrics`);
    sum += n;
  }
  return sum;
}

/** A load run; any non-2xx or socket error invalidates the figure (a fast 401 is not a result). */
async function load(spec: LoadSpec, what: string, server?: Server): Promise<MeasuredLoad> {
  const r = await runMeasured(spec, server?.proc.pid);
  if (r.non2xx || r.errors || r.timeouts || r.ok === 0) {
    throw new Error(`${what}: ${r.ok} ok, ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
  }
  return r;
}

// ---- figures -----------------------------------------------------------------------------------

interface AuthFigures {
  /** the bare Fastify route (bare-server.ts), the anchor */
  bare: number[];
  health: number[];
  whoami: number[];
  naive: number[];
  /** the naive stack with its lookup through Kysely (Keyport's query builder) */
  naiveKysely: number[];
  /** whoami / bare Fastify route, health / bare */
  ratioBare: number[];
  ratioHealthBare: number[];
  ratioHealth: number[];
  ratioNaive: number[];
  ratioNaiveKysely: number[];
  whoamiP99: number[];
  /** server CPU µs per request */
  cpu: { bare: number[]; health: number[]; whoami: number[]; naive: number[]; naiveKysely: number[] };
  /** CPU per bare request / CPU per whoami request */
  cpuRatioBare: number[];
  /** CPU per health request / CPU per whoami request (what the throughput ratio tends to on a quiet core) */
  cpuRatioHealth: number[];
  cpuRatioNaive: number[];
  cpuRatioNaiveKysely: number[];
  busy: { bare: MeasuredLoad[]; health: MeasuredLoad[]; whoami: MeasuredLoad[]; naive: MeasuredLoad[] };
}

const busyMedian = (xs: MeasuredLoad[]) => {
  const s = xs.map((x) => x.serverCpu).filter((x): x is number => x !== null);
  return `${s.length ? pc(median(s)) : '?'}/${pc(median(xs.map((x) => x.loadCpu)))}`;
};

/** Figures 1–3: whoami vs the bare route, vs health (same server), vs naive; interleaved and rotated. */
async function authFigures(
  kp: Server,
  bare: Server,
  naive: Server & { token: string },
  naiveKysely: Server & { token: string },
  f: Fixture,
): Promise<AuthFigures> {
  const targets = {
    bare: { url: `${bare.url}/api/health` },
    health: { url: `${kp.url}/api/health` },
    whoami: { url: `${kp.url}/api/auth/whoami`, headers: { authorization: `Bearer ${f.token}` } },
    naive: { url: `${naive.url}/api/auth/whoami`, headers: { authorization: `Bearer ${naive.token}` } },
    naiveKysely: {
      url: `${naiveKysely.url}/api/auth/whoami`,
      headers: { authorization: `Bearer ${naiveKysely.token}` },
    },
  } as const;
  type Name = keyof typeof targets;
  const serverOf: Record<Name, Server> = { bare, health: kp, whoami: kp, naive, naiveKysely };
  const names: Name[] = ['bare', 'health', 'whoami', 'naive', 'naiveKysely'];
  // warm-up: JIT, connection pools, caches
  for (const n of names) await load({ ...targets[n], connections: CONNECTIONS, duration: 2 }, `warm-up ${n}`);
  const out: AuthFigures = {
    bare: [],
    ratioBare: [],
    ratioHealthBare: [],
    cpuRatioBare: [],
    health: [],
    whoami: [],
    naive: [],
    naiveKysely: [],
    ratioHealth: [],
    ratioNaive: [],
    ratioNaiveKysely: [],
    whoamiP99: [],
    cpu: { bare: [], health: [], whoami: [], naive: [], naiveKysely: [] },
    cpuRatioHealth: [],
    cpuRatioNaive: [],
    cpuRatioNaiveKysely: [],
    busy: { bare: [], health: [], whoami: [], naive: [] },
  };
  for (let rep = 0; rep < AUTH_REPS; rep++) {
    const order = names.map((_, i) => names[(i + rep) % names.length] as Name);
    const got: Partial<Record<Name, MeasuredLoad>> = {};
    for (const n of order)
      got[n] = await load({ ...targets[n], connections: CONNECTIONS, duration: SECONDS }, n, serverOf[n]);
    const b = got.bare as MeasuredLoad;
    const h = got.health as MeasuredLoad;
    const w = got.whoami as MeasuredLoad;
    const v = got.naive as MeasuredLoad;
    const vk = got.naiveKysely as MeasuredLoad;
    out.bare.push(b.rps);
    out.ratioBare.push(w.rps / b.rps);
    out.ratioHealthBare.push(h.rps / b.rps);
    out.busy.bare.push(b);
    out.health.push(h.rps);
    out.whoami.push(w.rps);
    out.naive.push(v.rps);
    out.naiveKysely.push(vk.rps);
    out.ratioNaiveKysely.push(w.rps / vk.rps);
    out.whoamiP99.push(w.p99);
    out.busy.health.push(h);
    out.busy.whoami.push(w);
    out.busy.naive.push(v);
    out.ratioHealth.push(w.rps / h.rps);
    out.ratioNaive.push(w.rps / v.rps);
    if (b.cpuUsPerRequest && h.cpuUsPerRequest && w.cpuUsPerRequest && v.cpuUsPerRequest && vk.cpuUsPerRequest) {
      out.cpu.bare.push(b.cpuUsPerRequest);
      out.cpuRatioBare.push(b.cpuUsPerRequest / w.cpuUsPerRequest);
      out.cpu.health.push(h.cpuUsPerRequest);
      out.cpu.whoami.push(w.cpuUsPerRequest);
      out.cpu.naive.push(v.cpuUsPerRequest);
      out.cpu.naiveKysely.push(vk.cpuUsPerRequest);
      out.cpuRatioHealth.push(h.cpuUsPerRequest / w.cpuUsPerRequest);
      out.cpuRatioNaive.push(v.cpuUsPerRequest / w.cpuUsPerRequest);
      out.cpuRatioNaiveKysely.push(vk.cpuUsPerRequest / w.cpuUsPerRequest);
    }
    console.log(
      `  rep ${rep + 1}/${AUTH_REPS} [${order.join(' → ')}]: bare ${k(b.rps)}/s, health ${k(h.rps)}/s, whoami ${k(w.rps)}/s, naive ${k(v.rps)}/s, ` +
        `naive+Kysely ${k(vk.rps)}/s → whoami/bare ${r2(w.rps / b.rps)}, whoami/health ${r2(w.rps / h.rps)}, whoami/naive ${r2(w.rps / v.rps)}× ` +
        `(server CPU/request: ${us(b.cpuUsPerRequest)}, ${us(h.cpuUsPerRequest)}, ${us(w.cpuUsPerRequest)}, ${us(v.cpuUsPerRequest)}, ${us(vk.cpuUsPerRequest)}; ` +
        `busy server/generator: ${busy(b)}, ${busy(h)}, ${busy(w)}, ${busy(v)}, ${busy(vk)})`,
    );
  }
  return out;
}

interface ColdFigures {
  rps: number[];
  /** server CPU per cold request, µs */
  cpuUs: number[];
  /** CPU per cold request − CPU per warm request at full load (the run before) */
  extraUs: number[];
  /** server CPU per warm request at the cold run's request rate, µs (run right after it) */
  warmAtRateUs: number[];
  /** CPU per cold request − CPU per warm request at the same request rate */
  extraAtRateUs: number[];
}

/**
 * Figure 4: 10,000 distinct keys, each used once (never seen by this server's token cache), after
 * one such run as a warm-up; after each cold run, the known key at the cold run's request rate.
 * Keys as issued now (recognised by their token digest) and keys without a digest (checked by
 * signature; inserted while the server runs, since its start gives every key a digest) take turns.
 * A server answering 3k requests a second spends more per request than one answering 25k (fewer
 * requests share each event-loop turn, journal write and socket wake-up), so the rate-matched run
 * is the baseline that isolates what a key's first appearance costs.
 */
async function coldFigures(
  kp: Server,
  f: Fixture,
  warmCpuUs: number,
): Promise<{ digest: ColdFigures; signature: ColdFigures }> {
  const figures = (): ColdFigures => ({ rps: [], cpuUs: [], extraUs: [], warmAtRateUs: [], extraAtRateUs: [] });
  const digest = figures();
  const signature = figures();
  const [warmUp, ...files] = f.coldTokenFiles;
  const legacyFiles = await f.addSignatureKeys(files.length);
  await new Promise((r) => setTimeout(r, DIRECTORY_POLL_MS)); // the server's key directory reads them
  if (warmUp) {
    await load(
      { url: `${kp.url}/api/auth/whoami`, connections: CONNECTIONS, amount: COLD_KEYS, tokensFile: warmUp },
      'cold warm-up',
      kp,
    );
  }
  const turns = files.flatMap((file, i) => {
    const legacy = legacyFiles[i];
    return [
      { file, out: digest, what: 'by digest' },
      ...(legacy ? [{ file: legacy, out: signature, what: 'by signature' }] : []),
    ];
  });
  for (const { file, out, what } of turns) {
    const r = await load(
      { url: `${kp.url}/api/auth/whoami`, connections: CONNECTIONS, amount: COLD_KEYS, tokensFile: file },
      `cold whoami (${what})`,
      kp,
    );
    out.rps.push(r.rps);
    const cpu = r.cpuUsPerRequest ?? 1e6 / r.rps;
    out.cpuUs.push(cpu);
    out.extraUs.push(cpu - warmCpuUs);
    const w = await load(
      {
        url: `${kp.url}/api/auth/whoami`,
        headers: { authorization: `Bearer ${f.token}` },
        connections: CONNECTIONS,
        amount: COLD_KEYS,
        rate: Math.round(r.rps),
      },
      'warm whoami at the cold rate',
      kp,
    );
    const warmAtRate = w.cpuUsPerRequest ?? 1e6 / w.rps;
    out.warmAtRateUs.push(warmAtRate);
    out.extraAtRateUs.push(cpu - warmAtRate);
    console.log(
      `  cold run (${what}): ${COLD_KEYS} keys in ${r.seconds.toFixed(2)} s → ${k(r.rps)}/s, server CPU ${us(cpu)}/request; ` +
        `known key at ${k(w.rps)}/s: ${us(warmAtRate)}/request`,
    );
  }
  return { digest, signature };
}

interface FleetFigure {
  rps: number;
  cpuUs: number;
  requests: number;
  /** token checks (signature or digest) during the run */
  checks: number;
}

/**
 * A fleet of keys in steady use: the first cold run's 10,000 keys (verified once there) cycled
 * for 2 × BENCH_SECONDS, each key used again every fraction of a second, across the role entries'
 * TTL. A verified token stays verified while it is cached: none should be checked again.
 */
async function fleetFigure(kp: Server, f: Fixture): Promise<FleetFigure> {
  const file = f.coldTokenFiles[0] as string;
  const before = await tokenChecks(kp);
  const r = await load(
    { url: `${kp.url}/api/auth/whoami`, connections: CONNECTIONS, duration: SECONDS * 2, tokensFile: file },
    'key fleet',
    kp,
  );
  const checks = (await tokenChecks(kp)) - before;
  return { rps: r.rps, cpuUs: r.cpuUsPerRequest ?? 1e6 / r.rps, requests: r.ok, checks };
}

interface DataFigures {
  create: MeasuredLoad[];
  search: MeasuredLoad[];
  searchLatency: MeasuredLoad[];
  /** the same runs signed in (session cookie + CSRF token) instead of the key, when measured */
  createSession: MeasuredLoad[];
  searchSession: MeasuredLoad[];
  /** per round: key req/s ÷ session req/s */
  ratioCreate: number[];
  ratioSearch: number[];
}

/**
 * Figure 5: package creation and search by master through the key, p50/p99; with `session`, each
 * round also runs both through the holder's session, interleaved (order rotated each round).
 */
async function dataFigures(
  kp: Server,
  f: Fixture,
  masters: [number, number],
  reps: number,
  conc: number,
  session = false,
): Promise<DataFigures> {
  const auth = { authorization: `Bearer ${f.token}` };
  const signedIn = { cookie: f.session.cookie, 'x-csrf-token': f.session.csrf };
  const create: LoadSpec = {
    url: `${kp.url}/api/projects/${f.projectId}/nodes/${f.inputNode}/packages?data_layer_id=${f.layerId}`,
    method: 'POST',
    headers: auth,
    createBodies: true,
    connections: conc,
    duration: SECONDS,
  };
  const search: LoadSpec = {
    url: `${kp.url}/api/projects/${f.projectId}/nodes/${f.outputNode}/packages/search?data_layer_id=${f.layerId}`,
    method: 'POST',
    headers: auth,
    masterRange: masters,
    connections: conc,
    duration: SECONDS,
  };
  for (const headers of session ? [auth, signedIn] : [auth]) {
    const sample = (await expectOk(
      search.url,
      {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ master_id: masters[0] }),
      },
      'search by master',
    )) as { total: number };
    if (sample.total !== 1) throw new Error(`search by master: expected 1 result, got ${sample.total}`);
  }
  const runs: [string, LoadSpec][] = [
    ['create', create],
    ['search', search],
  ];
  if (session) {
    runs.push(['create (session)', { ...create, headers: signedIn }]);
    runs.push(['search (session)', { ...search, headers: signedIn }]);
  }
  for (const [name, spec] of runs) await load({ ...spec, duration: 2 }, `warm-up ${name}`);
  const out: DataFigures = {
    create: [],
    search: [],
    searchLatency: [],
    createSession: [],
    searchSession: [],
    ratioCreate: [],
    ratioSearch: [],
  };
  const into: Record<string, MeasuredLoad[]> = {
    create: out.create,
    search: out.search,
    'create (session)': out.createSession,
    'search (session)': out.searchSession,
  };
  for (let rep = 0; rep < reps; rep++) {
    const order = runs.map((_, i) => runs[(i + rep) % runs.length] as [string, LoadSpec]);
    for (const [name, spec] of order) {
      const r = await load(spec, name, kp);
      into[name]?.push(r);
      console.log(`  ${name} (${conc} connections): ${k(r.rps)}/s, p50 ${ms(r.p50)}, p99 ${ms(r.p99)}`);
    }
    if (session) {
      out.ratioCreate.push((out.create.at(-1) as MeasuredLoad).rps / (out.createSession.at(-1) as MeasuredLoad).rps);
      out.ratioSearch.push((out.search.at(-1) as MeasuredLoad).rps / (out.searchSession.at(-1) as MeasuredLoad).rps);
      console.log(
        `  round ${rep + 1}/${reps}: key ÷ session: create ${r2(out.ratioCreate.at(-1) as number)}, search ${r2(out.ratioSearch.at(-1) as number)}`,
      );
    }
  }
  // latency without queueing: one client, one request at a time
  for (let rep = 0; rep < Math.min(reps, 3); rep++) {
    const l = await load({ ...search, connections: 1, sequential: true }, 'search latency', kp);
    out.searchLatency.push(l);
    console.log(`  search (1 connection): ${k(l.rps)}/s, p50 ${ms(l.p50)}, p99 ${ms(l.p99)}`);
  }
  return out;
}

/** Starts the bare Fastify route (the anchor of figure 1) on the server CPU. */
function startBare(kind: 'fastify' | 'http'): Promise<Server> {
  return startProcess({ ...BARE_FASTIFY, name: `bare ${kind}`, env: { BARE: kind } });
}

const BARE_FASTIFY = {
  script: 'bare-server.ts',
  cwd: BENCH_DIR,
  env: { BARE: 'fastify' },
  ready: /BARE READY (http:\/\/\S+)/,
};

/** CPU of one Ed25519 verification on the server core, measured now (figure 4's yardstick). */
async function verifyCostUs(): Promise<number> {
  const out = await runScript('verify-cost.ts', [], {}, { onServerCpu: true });
  return (JSON.parse(out.trim().split('\n').pop() as string) as { verifyUs: number }).verifyUs;
}

/** Reference: a bare node:http handler on the server core (what the load generator can drive). */
async function references(): Promise<{ http: number }> {
  const s = await startBare('http');
  try {
    const spec: LoadSpec = { url: `${s.url}/api/health`, connections: CONNECTIONS, duration: SECONDS };
    await load({ ...spec, duration: 2 }, 'warm-up bare http');
    const r = await load(spec, 'bare http', s);
    console.log(
      `  bare http: ${k(r.rps)}/s, server CPU ${us(r.cpuUsPerRequest)}/request, busy server/generator ${busy(r)}`,
    );
    return { http: r.rps };
  } finally {
    await s.stop();
  }
}

// ---- main --------------------------------------------------------------------------------------

async function benchDb(kind: DbKind, results: Record<string, unknown>) {
  say(`\n### ${kind === 'sqlite' ? 'SQLite' : 'PostgreSQL'}\n`);
  const t0 = performance.now();
  const fixture = await prepare(kind, {
    // one more file: the first cold run warms the cold path up (JIT, the directory's first poll) and is not recorded
    coldRuns: ONLY.has('cold') ? COLD_RUNS + 1 : 0,
    coldKeys: COLD_KEYS,
    packages: ONLY.has('data') ? 10_000 : 0,
  });
  console.log(
    `  fixture ready in ${((performance.now() - t0) / 1000).toFixed(1)} s (${fixture.coldTokenFiles.length * COLD_KEYS} cold keys)`,
  );
  let kp: Server | null = null;
  let bare: Server | null = null;
  let naive: (Server & { token: string }) | null = null;
  let naiveKysely: (Server & { token: string }) | null = null;
  try {
    kp = await startKeyport(fixture, kind);
    const who = await expectOk(
      `${kp.url}/api/auth/whoami`,
      { headers: { authorization: `Bearer ${fixture.token}` } },
      'whoami',
    );
    await expectOk(`${kp.url}/api/health`, {}, 'health');
    say('| figure | min / median / max | target |');
    say('|---|---|---|');
    let warm = 0;
    if (ONLY.has('auth')) {
      bare = await startBare('fastify');
      naive = await startNaive(fixture, 'raw');
      naiveKysely = await startNaive(fixture, 'kysely');
      for (const n of [naive, naiveKysely]) {
        await expectOk(`${n.url}/api/auth/whoami`, { headers: { authorization: `Bearer ${n.token}` } }, 'naive whoami');
      }
      const a = await authFigures(kp, bare, naive, naiveKysely, fixture);
      warm = median(a.cpu.whoami.length ? a.cpu.whoami : a.whoami.map((x) => 1e6 / x));
      results[`${kind}.auth`] = a;
      const cpuMed = (xs: number[]) => (xs.length ? us(median(xs)) : 'n/a');
      say(`| bare Fastify route (bare-server.ts), req/s | ${mmm(a.bare, k)} | |`);
      say(`| GET /api/health, req/s | ${mmm(a.health, k)} | |`);
      say(`| GET /api/auth/whoami with a key (quota and spend cap set), req/s | ${mmm(a.whoami, k)} | |`);
      say(`| naive stack whoami (jose + DB lookup with a prepared statement), req/s | ${mmm(a.naive, k)} | |`);
      say(
        `| naive stack whoami, lookup through Kysely (Keyport's query builder), req/s | ${mmm(a.naiveKysely, k)} | |`,
      );
      say(
        `| **1. whoami ÷ bare Fastify route** (same run) | **${mmm(a.ratioBare, r2)}** | ≥ 0.85 ${verdict(median(a.ratioBare) >= 0.85)} |`,
      );
      say(`| health ÷ bare Fastify route | ${mmm(a.ratioHealthBare, r2)} | |`);
      say(
        `| **2. whoami ÷ health** (same server, same run) | **${mmm(a.ratioHealth, r2)}** | ≥ 0.90 ${verdict(median(a.ratioHealth) >= 0.9)} |`,
      );
      say(
        `| **3. Keyport whoami ÷ naive whoami** | **${mmm(a.ratioNaive, (x) => `${r2(x)}×`)}** | ≥ 5× ${verdict(median(a.ratioNaive) >= 5)} |`,
      );
      say(
        `| 3k. Keyport whoami ÷ naive whoami with the Kysely lookup | ${mmm(a.ratioNaiveKysely, (x) => `${r2(x)}×`)} | |`,
      );
      say(`| whoami p99 latency at ${CONNECTIONS} connections | ${mmm(a.whoamiP99, ms)} | |`);
      say(
        `| busy share of a core, server / load generator (median): bare, health, whoami, naive | ${busyMedian(a.busy.bare)}, ${busyMedian(a.busy.health)}, ${busyMedian(a.busy.whoami)}, ${busyMedian(a.busy.naive)} | |`,
      );
      say(
        `| server CPU per request: bare / health / whoami / naive / naive+Kysely (median) | ${cpuMed(a.cpu.bare)} / ${cpuMed(a.cpu.health)} / ${cpuMed(a.cpu.whoami)} / ${cpuMed(a.cpu.naive)} / ${cpuMed(a.cpu.naiveKysely)} | |`,
      );
      say(
        `| 1′. server CPU per request, bare ÷ whoami (the same ratio without load-generator limits) | ${mmm(a.cpuRatioBare, r2)} | ≥ 0.85 ${verdict(median(a.cpuRatioBare) >= 0.85)} |`,
      );
      say(
        `| 2′. server CPU per request, health ÷ whoami | ${mmm(a.cpuRatioHealth, r2)} | ≥ 0.90 ${verdict(median(a.cpuRatioHealth) >= 0.9)} |`,
      );
      say(
        `| 3′. server CPU per request, naive ÷ whoami | ${mmm(a.cpuRatioNaive, (x) => `${r2(x)}×`)} (Kysely: ${mmm(a.cpuRatioNaiveKysely, (x) => `${r2(x)}×`)}) | ≥ 5× ${verdict(median(a.cpuRatioNaive) >= 5)} |`,
      );
      say(
        `| metering during the run (\`keyport_key_requests_total{outcome="billed"}\` on /metrics) | ${await billed(kp)} | counted in memory + journal |`,
      );
      for (const s of [bare, naive, naiveKysely]) await s.stop();
      bare = null;
      naive = null;
      naiveKysely = null;
    }
    if (ONLY.has('cold')) {
      if (!warm) {
        const w = await load(
          {
            url: `${kp.url}/api/auth/whoami`,
            headers: { authorization: `Bearer ${fixture.token}` },
            connections: CONNECTIONS,
            duration: SECONDS,
          },
          'warm whoami',
          kp,
        );
        warm = w.cpuUsPerRequest ?? 1e6 / w.rps;
      }
      const verifyUs = await verifyCostUs();
      console.log(`  one Ed25519 verification (node:crypto, server core): ${us(verifyUs)}`);
      const cold = await coldFigures(kp, fixture, warm);
      const report = (c: ColdFigures, how: string, figure: string) => {
        const ratio = c.extraAtRateUs.map((x) => x / verifyUs);
        const ratioFullLoad = c.extraUs.map((x) => x / verifyUs);
        say(
          `| cold verification ${how}: ${COLD_KEYS.toLocaleString('en')} distinct keys (quota and spend cap set), each used once, req/s | ${mmm(c.rps, k)} | |`,
        );
        say(`| server CPU per cold request | ${mmm(c.cpuUs, (x) => `${x.toFixed(0)} µs`)} | |`);
        say(
          `| server CPU per request with the known key at the cold run's rate (run after each cold run) | ${mmm(c.warmAtRateUs, (x) => `${x.toFixed(0)} µs`)} | |`,
        );
        say(
          `| server CPU per first-seen key: cold − known key at the same rate; token check, token-cache entry, quota entry, new metering and statistics rows and their flush | ${mmm(c.extraAtRateUs, (x) => `${x.toFixed(0)} µs`)} | |`,
        );
        say(
          `| **${figure}. CPU per first-seen key ${how} ÷ one Ed25519 verification** | **${mmm(ratio, r2)}** | ≤ 1.3 ${verdict(median(ratio) <= 1.3)} |`,
        );
        say(
          `| ${figure}″. the same against the known key at full load (${us(warm)}/request, where more requests share each event-loop turn) | ${mmm(ratioFullLoad, r2)} | |`,
        );
        return { ...c, ratio, ratioFullLoad };
      };
      say(`| one Ed25519 verification (node:crypto), same run, server core | ${us(verifyUs)} | |`);
      results[`${kind}.cold`] = { ...report(cold.digest, 'by token digest (keys as issued now)', '4'), verifyUs };
      if (cold.signature.rps.length)
        results[`${kind}.coldSignature`] = report(
          cold.signature,
          'by signature (keys without a digest, as an earlier release issues them)',
          '4s',
        );
      const fleet = await fleetFigure(kp, fixture);
      results[`${kind}.fleet`] = fleet;
      const every = (COLD_KEYS / fleet.rps).toFixed(1);
      say(
        `| key fleet: the ${COLD_KEYS.toLocaleString('en')} keys of the first cold run cycled for ${SECONDS * 2} s (each used every ${every} s, role TTL 5 s), req/s | ${k(fleet.rps)} | |`,
      );
      say(
        `| server CPU per request, fleet ÷ the one known key at full load | ${us(fleet.cpuUs)} ÷ ${us(warm)} = ${r2(fleet.cpuUs / warm)} | |`,
      );
      say(
        `| tokens checked again (by signature or digest) during the fleet run | ${fleet.checks.toLocaleString('en')} of ${fleet.requests.toLocaleString('en')} requests | 0 (each key verified once) |`,
      );
    }
    if (ONLY.has('data')) {
      const d = await dataFigures(kp, fixture, fixture.masters, REPS, DATA_CONNECTIONS, true);
      results[`${kind}.data`] = d;
      say(
        `| **5a. package create, key ÷ session** (${DATA_CONNECTIONS} connections) | **${mmm(d.ratioCreate, r2)}** | ≥ 0.90 ${verdict(median(d.ratioCreate) >= 0.9)} |`,
      );
      say(
        `| **5b. search by master_id, key ÷ session** (${DATA_CONNECTIONS} connections) | **${mmm(d.ratioSearch, r2)}** | ≥ 0.90 ${verdict(median(d.ratioSearch) >= 0.9)} |`,
      );
      say('');
      say('| data plane | req/s | p50 | p99 |');
      say('|---|---|---|---|');
      say(`| package create with the key, ${DATA_CONNECTIONS} connections | ${loadCells(d.create)} |`);
      say(`| package create signed in (session), ${DATA_CONNECTIONS} connections | ${loadCells(d.createSession)} |`);
      say(
        `| search by master_id (10k packages) with the key, ${DATA_CONNECTIONS} connections | ${loadCells(d.search)} |`,
      );
      say(
        `| search by master_id signed in (session), ${DATA_CONNECTIONS} connections | ${loadCells(d.searchSession)} |`,
      );
      say(`| search by master_id (10k packages), 1 connection | ${loadCells(d.searchLatency)} |`);
    }
    void who;
  } finally {
    await bare?.stop();
    await naive?.stop();
    await naiveKysely?.stop();
    await kp?.stop();
    await fixture.cleanup();
  }
}

/**
 * BENCH_ONLY=profile: one profiled server per route (`--cpu-prof`: whoami alone, health alone,
 * then the bare Fastify route), so each profile shows one route's cost next to the anchor's.
 * Summarise with profile-summary.ts.
 */
async function profileRuns(kind: DbKind) {
  const fixture = await prepare(kind, { coldRuns: 0, coldKeys: 0, packages: 0 });
  try {
    for (const route of ['whoami', 'health', 'bare'] as const) {
      const name = `${route === 'bare' ? 'bare-fastify' : `keyport-${kind}-${route}`}-${Date.now()}.cpuprofile`;
      const dir = fs.mkdtempSync(path.join(RESULTS_DIR, 'prof-'));
      const nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${dir}`];
      const kp =
        route === 'bare'
          ? await startProcess({ ...BARE_FASTIFY, name: 'bare fastify (profiled)', nodeArgs })
          : await startProcess({
              name: `keyport (${route}, profiled)`,
              script: 'src/main.ts',
              cwd: SERVER_DIR,
              env: fixture.env,
              nodeArgs,
              ready: /Keyport is running at (http:\/\/\S+?)\s/,
            });
      kp.url = kp.url.replace('localhost', '127.0.0.1');
      try {
        const spec: LoadSpec =
          route === 'whoami'
            ? {
                url: `${kp.url}/api/auth/whoami`,
                headers: { authorization: `Bearer ${fixture.token}` },
                connections: CONNECTIONS,
                duration: SECONDS * 2,
              }
            : { url: `${kp.url}/api/health`, connections: CONNECTIONS, duration: SECONDS * 2 };
        const r = await load(spec, route, kp);
        console.log(`  ${route}: ${k(r.rps)}/s, server CPU ${us(r.cpuUsPerRequest)}/request → results/${name}`);
      } finally {
        await kp.stop();
        keepMainThreadProfile(dir, path.join(RESULTS_DIR, name));
      }
    }
  } finally {
    await fixture.cleanup();
  }
}

/** `--import tsx` runs a loader thread that writes its own profile; keep the main thread's (tid 0). */
function keepMainThreadProfile(dir: string, dest: string) {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const main = files.find((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f)) ?? files[0];
  if (main) fs.renameSync(path.join(dir, main), dest);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** req/s, p50 and p99 of repeated runs as three min / median / max table cells. */
const loadCells = (xs: MeasuredLoad[]) =>
  [
    mmm(
      xs.map((x) => x.rps),
      k,
    ),
    mmm(
      xs.map((x) => x.p50),
      ms,
    ),
    mmm(
      xs.map((x) => x.p99),
      ms,
    ),
  ].join(' | ');

async function benchBig(kind: DbKind, results: Record<string, unknown>) {
  const t0 = performance.now();
  const fixture = await prepare(kind, { coldRuns: 0, coldKeys: 0, packages: BIG_PACKAGES });
  const setupS = (performance.now() - t0) / 1000;
  console.log(`  ${kind}: ${BIG_PACKAGES.toLocaleString('en')} packages inserted in ${setupS.toFixed(1)} s`);
  let kp: Server | null = null;
  try {
    kp = await startKeyport(fixture, `${kind}-big`);
    const d = await dataFigures(kp, fixture, fixture.masters, Math.min(REPS, 3), DATA_CONNECTIONS);
    results[`${kind}.big`] = { ...d, setupS };
    const lat = d.searchLatency;
    const db = kind === 'sqlite' ? 'SQLite' : 'PostgreSQL';
    say(`| ${db} | search by master_id, 1 connection | ${loadCells(lat)} |`);
    say(`| ${db} | search by master_id, ${DATA_CONNECTIONS} connections | ${loadCells(d.search)} |`);
    say(`| ${db} | package create, ${DATA_CONNECTIONS} connections | ${loadCells(d.create)} |`);
  } finally {
    await kp?.stop();
    await fixture.cleanup();
  }
}

async function main() {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const m = machine();
  const started = new Date();
  const kinds: DbKind[] = [];
  const wanted = (process.env.BENCH_DB ?? 'sqlite,postgres').split(',');
  if (wanted.includes('sqlite')) kinds.push('sqlite');
  let pgNote = '';
  if (wanted.includes('postgres')) {
    if (await pgReachable()) kinds.push('postgres');
    else pgNote = 'PostgreSQL not reachable: skipped';
  }
  say('# Keyport benchmark results');
  say('');
  say(`- Date: ${started.toISOString()}`);
  say(`- Machine: ${m.cores} cores (${m.cpu}), ${m.mem} RAM; Node ${m.node}; ${m.pgVersion || 'no psql'}`);
  say(`- Load average at start: ${m.load} (shared machine: other work adds noise)`);
  say(
    `- Method: server and load generator (autocannon 8, no pipelining; ${CONNECTIONS} connections for figures 1–3, ${DATA_CONNECTIONS} for the data plane) in separate processes, ${pinning}; ` +
      `compared runs interleaved (order rotated each repetition), ${AUTH_REPS} × ${SECONDS} s for figures 1–3 and ${REPS} × ${SECONDS} s for the others, after a 2 s warm-up each; figures are min / median / max over the repetitions. ` +
      'Server started with `server/src/main.ts` (production config, log level warn), every hook and plugin of the app included — metering too. ' +
      'Server CPU per request is read from /proc/<pid>/stat around each run; the primed figures (1′–3′) compare it directly, which is robust to ' +
      'the load generator being near its own limit (about 25–35k req/s on one core here) and to other work on the machine.',
  );
  if (pgNote) say(`- ${pgNote}`);
  const results: Record<string, unknown> = { machine: m, started };

  if (ONLY.has('auth')) {
    const ref = await references();
    results.references = ref;
    say(
      `- Reference point (same pinning, one ${SECONDS} s run): bare node:http ${k(ref.http)} req/s — what the load generator can drive; ` +
        'the bare Fastify route is measured in every round next to Keyport (figure 1).',
    );
  }
  if (ONLY.has('profile')) for (const kind of kinds) await profileRuns(kind);
  if (ONLY.has('auth') || ONLY.has('cold') || ONLY.has('data')) {
    for (const kind of kinds) await benchDb(kind, results);
  }
  if (BIG) {
    say(`\n### Search by master_id with ${BIG_PACKAGES.toLocaleString('en')} packages in one layer\n`);
    say(
      "Half inputs (own master), half results (master = an input) in the key holder's layer; random master per request; through HTTP with the key. Target p99 < 5 ms.\n",
    );
    say('| database | run | req/s | p50 | p99 |');
    say('|---|---|---|---|---|');
    for (const kind of kinds) await benchBig(kind, results);
  }
  if (ONLY.has('memory')) {
    say('\n### Memory and CPU per key (in-process, `--expose-gc`)\n');
    const out = await runScript('memory.ts', ['--expose-gc'], {});
    const mem = JSON.parse(out.trim().split('\n').pop() as string) as Record<string, number>;
    results.memory = mem;
    say('| figure | value |');
    say('|---|---|');
    say(
      `| **6. heap per issued key** (key directory, ${Number(mem.keys).toLocaleString('en')} keys) | **${Math.round(mem.perIssuedKeyBytes as number)} B** |`,
    );
    say(
      `| **6. heap per cached key** (verified-token LRU entry) | **${Math.round(mem.perCachedKeyBytes as number)} B** |`,
    );
    say(
      `| cold authenticate, key with a token digest (parse + SHA-256 + directory + cache insert), in-process | ${(mem.coldAuthenticateUs as number).toFixed(1)} µs |`,
    );
    say(
      `| cold authenticate, key without a digest (parse + Ed25519 verify + directory + cache insert), in-process | ${(mem.coldSignatureAuthenticateUs as number).toFixed(1)} µs |`,
    );
    say(`| Ed25519 verify alone (node:crypto) | ${(mem.ed25519VerifyUs as number).toFixed(1)} µs |`);
    // The verification alone, without the first request's bookkeeping (figure 4 includes that)
    const verifyRatio = (mem.coldAuthenticateUs as number) / (mem.ed25519VerifyUs as number);
    const signatureRatio = (mem.coldSignatureAuthenticateUs as number) / (mem.ed25519VerifyUs as number);
    say(
      `| **4v. cold authenticate ÷ Ed25519 verify** (in-process, same run; target of figure 4 for the check itself): by digest / by signature | **${verifyRatio.toFixed(2)}** ${verdict(verifyRatio <= 1.3)} / ${signatureRatio.toFixed(2)} ${verdict(signatureRatio <= 1.3)} |`,
    );
    say(`| jose.jwtVerify (EdDSA, the naive stack's) | ${(mem.joseVerifyUs as number).toFixed(1)} µs |`);
    say(
      `| warm authenticate (LRU hit by the token's tail, whole text compared, + checks) | ${(mem.warmAuthenticateUs as number).toFixed(2)} µs |`,
    );
  }
  if (ONLY.has('objects')) results.objects = await objectFigures(say);
  say('');
  say(
    `Finished ${new Date().toISOString()}; load average at the end: ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(', ')}.`,
  );
  if (OUT) {
    const file = path.resolve(BENCH_DIR, OUT);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${md.join('\n')}\n`);
    fs.writeFileSync(file.replace(/\.md$/, '.json'), `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\nwritten: ${path.relative(process.cwd(), file)}`);
  }
}

main().catch((err) => {
  console.error(`bench: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
