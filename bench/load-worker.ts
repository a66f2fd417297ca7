// The load generator, always run as its own process (pinned to the other core by run.ts):
//   node --import tsx load-worker.ts '<LoadSpec as JSON>'
// Drives one URL with autocannon and prints one JSON line (LoadResult) on stdout.
import fs from 'node:fs';
import http from 'node:http';
import autocannon from 'autocannon';

export interface LoadSpec {
  url: string;
  method?: 'GET' | 'POST';
  connections: number;
  pipelining?: number;
  /** seconds; ignored when `amount` is set */
  duration?: number;
  /** stop after exactly this many requests */
  amount?: number;
  /** requests per second across all connections (autocannon's overallRate); unset = as fast as the server answers */
  rate?: number;
  headers?: Record<string, string>;
  body?: string;
  /** one token per line; each request takes the next one (`Authorization: Bearer <token>`) */
  tokensFile?: string;
  /** POST bodies `{"master_id": <random in [min, max]>}` (search by master) */
  masterRange?: [number, number];
  /** POST bodies for package creation: `{"label": "bench-<n>", "fields": {...}}` */
  createBodies?: boolean;
  /**
   * Latency mode: one keep-alive connection, one request at a time, each timed with hrtime
   * (autocannon's histogram has 1 ms resolution; this gives µs).
   */
  sequential?: boolean;
}

export interface LoadResult {
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** CPU the load generator itself used during the run, as a share of one core (≈1 = it was the bottleneck) */
  loadCpu: number;
}

type Req = { method?: string; path?: string; headers?: Record<string, string>; body?: string };

async function main() {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  const headers: Record<string, string> = { ...(spec.headers ?? {}) };
  if (spec.body !== undefined || spec.masterRange || spec.createBodies) headers['content-type'] = 'application/json';

  let setupRequest: ((req: Req) => Req) | undefined;
  if (spec.tokensFile) {
    const tokens = fs.readFileSync(spec.tokensFile, 'utf8').split('\n').filter(Boolean);
    let i = 0;
    setupRequest = (req) => {
      const token = tokens[i++ % tokens.length] as string;
      req.headers = { ...headers, authorization: `Bearer ${token}` };
      return req;
    };
  } else if (spec.masterRange) {
    const [min, max] = spec.masterRange;
    setupRequest = (req) => {
      req.body = `{"master_id":${min + Math.floor(Math.random() * (max - min + 1))}}`;
      return req;
    };
  } else if (spec.createBodies) {
    let n = 0;
    setupRequest = (req) => {
      n += 1;
      req.body = `{"label":"bench-${n}","fields":{"a":${n},"b":${n * 2},"note":"created by bench"}}`;
      return req;
    };
  }

  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const loadCpu = () => {
    const c = process.cpuUsage(cpu0);
    return (c.user + c.system) / 1000 / (performance.now() - wall0);
  };
  if (spec.sequential) {
    const r = await sequential(spec, headers, setupRequest);
    process.stdout.write(`${JSON.stringify({ ...r, loadCpu: loadCpu() })}\n`);
    return;
  }

  const result = await autocannon({
    url: spec.url,
    method: spec.method ?? 'GET',
    connections: spec.connections,
    pipelining: spec.pipelining ?? 1,
    // autocannon notices the end of an `amount` run at its next sample tick: tick often, or a
    // 2.05 s run would be reported as 3 s
    ...(spec.amount ? { amount: spec.amount, sampleInt: 10 } : { duration: spec.duration ?? 5 }),
    ...(spec.rate ? { overallRate: spec.rate } : {}),
    headers,
    ...(spec.body !== undefined ? { body: spec.body } : {}),
    ...(setupRequest ? { requests: [{ setupRequest }] } : {}),
    // the server's keep-alive default (72 s) covers a run; no reconnect storms
  } as autocannon.Options);

  const ok = result['2xx'];
  const seconds = result.duration;
  const out: LoadResult = {
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds,
    rps: seconds > 0 ? ok / seconds : 0,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    loadCpu: loadCpu(),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

/** One request at a time on one keep-alive connection for `duration` seconds; latencies in ms with µs precision. */
async function sequential(
  spec: LoadSpec,
  headers: Record<string, string>,
  setup?: (req: Req) => Req,
): Promise<Omit<LoadResult, 'loadCpu'>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(spec.url);
  const lat: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const end = performance.now() + (spec.duration ?? 5) * 1000;
  const t0 = performance.now();
  while (performance.now() < end) {
    const req = setup
      ? setup({ headers: { ...headers }, ...(spec.body !== undefined ? { body: spec.body } : {}) })
      : { headers, body: spec.body };
    const body = req.body === undefined ? undefined : Buffer.from(req.body);
    const hdrs = body ? { ...req.headers, 'content-length': String(body.length) } : req.headers;
    const start = process.hrtime.bigint();
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const r = http.request(
          {
            agent,
            host: url.hostname,
            port: url.port,
            path: `${url.pathname}${url.search}`,
            method: spec.method ?? 'GET',
            headers: hdrs,
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
            res.on('error', reject);
          },
        );
        r.on('error', reject);
        r.end(body);
      });
      if (status >= 200 && status < 300) lat.push(Number(process.hrtime.bigint() - start) / 1e6);
      else non2xx += 1;
    } catch {
      errors += 1;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0;
  return {
    ok: lat.length,
    non2xx,
    errors,
    timeouts: 0,
    seconds,
    rps: lat.length / seconds,
    p50: q(0.5),
    p90: q(0.9),
    p99: q(0.99),
    max: lat[lat.length - 1] ?? 0,
  };
}

main().catch((err) => {
  console.error(`load-worker: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
