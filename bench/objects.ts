// Object figures: upload and download throughput of one large object (default 1 GiB) through
// Keyport with each store, side by side with a baseline of the same bytes through a bare node:http
// server and a file (bare-files.ts). Each server runs alone on the server CPU; the client (and the
// S3-compatible server, s3rver) on the other. Runs are interleaved and repeated; every upload has
// fresh bytes (so Keyport really stores them), every download is hashed by the client.
//
//   BENCH_OBJECT_MIB=1024 BENCH_OBJECT_REPS=3 BENCH_OBJECT_STORES=fs,db,s3
//   npx tsx objects.ts  (alone)   or   BENCH_ONLY=objects npm run bench
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUCKET } from '../server/test/objects-helpers.js';
import {
  GiB,
  getHashed,
  MiB,
  ownerOf,
  Payload,
  putPayload,
  RssSampler,
  rssOf,
} from '../server/test/objects-transfer.js';
import { BENCH_DIR, cpuTimeUs, LOAD_CPU, SERVER_DIR, type Server, startProcess } from './lib/proc.js';

const num = (name: string, def: number) => (process.env[name] ? Number(process.env[name]) : def);
const SIZE = num('BENCH_OBJECT_MIB', 1024) * MiB;
const REPS = num('BENCH_OBJECT_REPS', 3);
const STORES = (process.env.BENCH_OBJECT_STORES ?? 'fs,db,s3').split(',').map((s) => s.trim());

interface Target {
  name: string;
  server: Server;
  /** upload URL for a payload, and the download URL of what was uploaded */
  upload(p: Payload): Promise<string>;
  download(p: Payload): Promise<string>;
}

interface Run {
  upMiBs: number;
  downMiBs: number;
  /** server CPU seconds per GiB moved: unlike wall time, barely touched by other load on the machine */
  upCpuPerGiB: number | null;
  downCpuPerGiB: number | null;
  rssGrowthMB: number;
}

const freePort = async () => {
  const net = await import('node:net');
  return new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
};

async function bare(): Promise<Target> {
  const server = await startProcess({
    name: 'bare node:http + file',
    script: 'bare-files.ts',
    cwd: BENCH_DIR,
    env: {},
    ready: /BARE FILES READY (http:\/\/\S+)/,
  });
  return {
    name: 'baseline: bare node:http → file',
    server,
    upload: async () => `${server.url}/f`,
    download: async () => `${server.url}/f`,
  };
}

async function keyport(store: string, s3Endpoint: string | null): Promise<Target & { dataDir: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-bench-objects-'));
  const port = await freePort();
  const server = await startProcess({
    name: `keyport (${store})`,
    script: 'src/main.ts',
    cwd: SERVER_DIR,
    env: {
      PORT: String(port),
      KEYPORT_HOST: '127.0.0.1',
      KEYPORT_PUBLIC_URL: `http://127.0.0.1:${port}`,
      KEYPORT_DATA_DIR: dataDir,
      KEYPORT_DEMO: '0',
      KEYPORT_LOG_LEVEL: 'warn',
      KEYPORT_OBJECT_STORE: store,
      ...(s3Endpoint
        ? {
            KEYPORT_S3_ENDPOINT: s3Endpoint,
            KEYPORT_S3_BUCKET: BUCKET,
            KEYPORT_S3_ACCESS_KEY_ID: 'S3RVER',
            KEYPORT_S3_SECRET_ACCESS_KEY: 'S3RVER',
            KEYPORT_S3_FORCE_PATH_STYLE: '1',
            KEYPORT_S3_PREFIX: `bench-${port}/`,
          }
        : {}),
    },
    ready: /Keyport is running at (http:\/\/\S+?)\s/,
  });
  const url = `http://127.0.0.1:${port}`;
  const owner = await ownerOf(url);
  return {
    name: `Keyport, ${store} store`,
    server,
    dataDir,
    async upload(p) {
      const link = await owner.uploadLink(p.sha256);
      if (!link) throw new Error('object already held: payloads must be fresh');
      return link;
    },
    download: (p) => owner.downloadLink(p.sha256, p.total),
  };
}

/**
 * Before a run: the previous run's dirty pages written back and every process of the figure idle
 * (s3rver finishes an upload after it answered), so that none of it is billed to the next run.
 */
async function settle(helpers: number[]): Promise<void> {
  spawnSync('sync');
  // the same memory state for every run: without this, each GiB the earlier runs left in the page
  // cache makes the next writer reclaim pages itself (seen: 2× the server CPU per GiB). Root only.
  try {
    fs.writeFileSync('/proc/sys/vm/drop_caches', '1');
  } catch {
    /* not root: runs share the page cache */
  }
  for (let i = 0; i < 60; i++) {
    const before = helpers.map(cpuTimeUs);
    await new Promise((r) => setTimeout(r, 250));
    const busy = helpers.some((pid, j) => (cpuTimeUs(pid) ?? 0) - (before[j] ?? 0) > 25_000);
    if (!busy) return;
  }
}

async function once(t: Target, p: Payload, helpers: number[]): Promise<Run> {
  await settle(helpers);
  const pid = t.server.proc.pid as number;
  const idle = rssOf(pid);
  const sampler = new RssSampler(pid);
  const upUrl = await t.upload(p);
  const cpu0 = cpuTimeUs(pid);
  const up = await putPayload(upUrl, p);
  const cpu1 = cpuTimeUs(pid);
  if (up.status !== 200) throw new Error(`${t.name}: upload answered ${up.status} ${up.body}`);
  const downUrl = await t.download(p);
  const cpu2 = cpuTimeUs(pid);
  const down = await getHashed(downUrl);
  const cpu3 = cpuTimeUs(pid);
  const peak = sampler.stop();
  if (down.status !== 200 || down.sha256 !== p.sha256) throw new Error(`${t.name}: download differs`);
  const rate = (ms: number) => SIZE / MiB / (ms / 1000);
  const perGiB = (a: number | null, b: number | null) =>
    a === null || b === null ? null : (b - a) / 1e6 / (SIZE / GiB);
  return {
    upMiBs: rate(up.ms),
    downMiBs: rate(down.ms),
    upCpuPerGiB: perGiB(cpu0, cpu1),
    downCpuPerGiB: perGiB(cpu2, cpu3),
    rssGrowthMB: (peak - idle) / 1e6,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** Runs the figures, printing Markdown through `say`; returns the numbers. */
export async function objectFigures(say: (line?: string) => void): Promise<Record<string, unknown>> {
  // the client (this process) on the load CPU, away from the server under test
  spawnSync('taskset', ['-p', '-c', String(LOAD_CPU), String(process.pid)], { stdio: 'ignore' });
  say(`\n### File objects: ${SIZE / MiB} MiB up and down, per store (median of ${REPS}, interleaved)\n`);
  say(
    'Client and s3rver on the load CPU, each server alone on the server CPU; SQLite; the fs store and the baseline fsync the file before answering; every download hashed by the client.\n',
  );
  let s3: Server | null = null;
  if (STORES.includes('s3')) {
    s3 = await startProcess({
      name: 's3rver',
      script: 's3-server.ts',
      cwd: BENCH_DIR,
      env: {},
      ready: /S3 READY (http:\/\/\S+) /,
    });
    spawnSync('taskset', ['-p', '-c', String(LOAD_CPU), String(s3.proc.pid)], { stdio: 'ignore' });
  }
  const targets: Target[] = [await bare()];
  const dirs: string[] = [];
  for (const store of STORES) {
    const t = await keyport(store, store === 's3' ? (s3?.url ?? null) : null);
    dirs.push(t.dataDir);
    targets.push(t);
  }
  const runs = new Map<string, Run[]>(targets.map((t) => [t.name, []]));
  // every process of the figure, servers included: a server still busy with its last run would steal from the next
  const helpers = [s3, ...targets.map((t) => t.server)].flatMap((x) => (x?.proc.pid ? [x.proc.pid] : []));
  try {
    for (let rep = 0; rep < REPS; rep++) {
      const payload = new Payload(SIZE); // fresh bytes each round
      for (const t of targets) runs.get(t.name)?.push(await once(t, payload, helpers));
    }
  } finally {
    for (const t of targets) await t.server.stop();
    await s3?.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
  const base = runs.get(targets[0]?.name ?? '') ?? [];
  const baseUp = median(base.map((r) => r.upMiBs));
  const baseDown = median(base.map((r) => r.downMiBs));
  say(
    '| path | upload MiB/s | ÷ baseline | download MiB/s | ÷ baseline | server CPU s/GiB up / down | server RSS growth |',
  );
  say('|---|---|---|---|---|---|---|');
  const out: Record<string, unknown> = {};
  for (const t of targets) {
    const rs = runs.get(t.name) ?? [];
    const up = median(rs.map((r) => r.upMiBs));
    const down = median(rs.map((r) => r.downMiBs));
    const growth = Math.max(...rs.map((r) => r.rssGrowthMB));
    const cpu = (xs: (number | null)[]) => {
      const v = xs.filter((x): x is number => x !== null);
      return v.length ? median(v).toFixed(2) : '?';
    };
    const cpuUp = cpu(rs.map((r) => r.upCpuPerGiB));
    const cpuDown = cpu(rs.map((r) => r.downCpuPerGiB));
    out[t.name] = { up, down, upRatio: up / baseUp, downRatio: down / baseDown, maxRssGrowthMB: growth, runs: rs };
    say(
      `| ${t.name} | ${up.toFixed(0)} | ${(up / baseUp).toFixed(2)} | ${down.toFixed(0)} | ${(down / baseDown).toFixed(2)} | ${cpuUp} / ${cpuDown} | ≤ ${growth.toFixed(0)} MB |`,
    );
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await objectFigures((line = '') => console.log(line));
}
