// Where the time goes in a V8 CPU profile (as written by `BENCH_PROFILE=1 npm run bench`):
//   npx tsx profile-summary.ts results/<file>.cpuprofile [filter-regex] [top]
//   PROFILE_BINS=verifyOneShot,0.2 npx tsx profile-summary.ts …   only the parts of the run where
//                                     that function was busy (here: the cold runs); see below
// Prints the top functions by self time and, for functions matching the filter, their inclusive
// time (self + everything they call), as a share of all non-idle samples.
import fs from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const [file, filter, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: profile-summary.ts <file.cpuprofile> [filter-regex] [top]');
  process.exit(2);
}
const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Steady state only: skip start-up (module loading, migrations) until the first HTTP request.
const onStack = (id: number, fn: string) => {
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur))
    if (byId.get(cur)?.callFrame.functionName === fn) return true;
  return false;
};
let first = prof.samples.findIndex((id) => onStack(id, 'parserOnIncoming'));
if (first < 0) first = 0;
// PROFILE_BINS=<function>[,<min share>]: only 250 ms bins where that function's self time is at
// least the share (default 0.1) of the bin's busy time, e.g. the cold runs (verifyOneShot);
// a leading ! keeps the other bins instead
const binsSpec = process.env.PROFILE_BINS;
let keepBin: ((i: number) => boolean) | null = null;
if (binsSpec) {
  const [fnSpec = '', share = '0.1'] = binsSpec.split(',');
  const negate = fnSpec.startsWith('!');
  const fn = negate ? fnSpec.slice(1) : fnSpec;
  const binOf: number[] = [];
  const hit = new Map<number, number>();
  const busyIn = new Map<number, number>();
  let t = 0;
  prof.samples.forEach((id, i) => {
    t += prof.timeDeltas[i] ?? 0;
    const b = Math.floor(t / 250_000);
    binOf[i] = b;
    const f = byId.get(id)?.callFrame.functionName;
    if (f === '(idle)') return;
    const d = prof.timeDeltas[i] ?? 0;
    busyIn.set(b, (busyIn.get(b) ?? 0) + d);
    if (f === fn) hit.set(b, (hit.get(b) ?? 0) + d);
  });
  const chosen = (b: number) => (hit.get(b) ?? 0) >= Number(share) * (busyIn.get(b) ?? Number.POSITIVE_INFINITY);
  keepBin = (i: number) => chosen(binOf[i] as number) !== negate && (busyIn.get(binOf[i] as number) ?? 0) > 50_000;
}
const inWindow = (i: number) => i >= first && (keepBin === null || keepBin(i));
const self = new Map<number, number>();
prof.samples.forEach((id, i) => {
  if (inWindow(i)) self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
});

const name = (n: Node) => {
  const url = n.callFrame.url
    .replace(/^file:\/\//, '')
    .replace(/.*\/node_modules\//, '~/')
    .replace(/.*\/work\/main\//, '');
  return `${n.callFrame.functionName || '(anonymous)'} ${url ? `${url}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
};
const idle = new Set(['(idle)', '(program)', '(garbage collector)']);
let total = 0;
let busy = 0;
const selfByName = new Map<string, number>();
for (const [id, t] of self) {
  const n = byId.get(id) as Node;
  total += t;
  if (n.callFrame.functionName !== '(idle)') busy += t;
  const key = idle.has(n.callFrame.functionName) ? n.callFrame.functionName : name(n);
  selfByName.set(key, (selfByName.get(key) ?? 0) + t);
}
const pct = (t: number) => `${((100 * t) / busy).toFixed(1).padStart(5)}%`;
console.log(
  `${file}: ${(total / 1e6).toFixed(2)} s sampled from the first HTTP request on, ${(busy / 1e6).toFixed(2)} s busy (not idle)\n`,
);
console.log('self time (share of busy):');
for (const [n, t] of [...selfByName].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 35)))
  console.log(`  ${pct(t)}  ${n}`);

// self time grouped by where the code lives: our server code (per file), each package, Node's own
// JavaScript, and native/V8 work (syscalls such as writev, GC, code generated at run time)
const group = (n: Node) => {
  const url = n.callFrame.url;
  if (idle.has(n.callFrame.functionName)) return n.callFrame.functionName;
  if (!url) return '(native or generated code)';
  if (url.startsWith('node:')) return 'node: built-ins (http, streams, events)';
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return `pkg ${pkg[1]}`;
  const ours = url.match(/work\/main\/(.*)$/);
  return ours ? (ours[1] as string) : url;
};
const byGroup = new Map<string, number>();
for (const [id, t] of self) {
  const n = byId.get(id) as Node;
  if (n.callFrame.functionName === '(idle)') continue;
  const g = group(n);
  byGroup.set(g, (byGroup.get(g) ?? 0) + t);
}
console.log('\nself time by origin:');
for (const [g, t] of [...byGroup].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${pct(t)}  ${g}`);

if (filter) {
  const re = new RegExp(filter);
  // inclusive time per matching function name: each sample counted once per distinct name on its stack
  const incl = new Map<string, number>();
  prof.samples.forEach((id, i) => {
    if (!inWindow(i)) return;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur) as Node;
      const nm = name(n);
      if (re.test(nm) && !seen.has(nm)) {
        seen.add(nm);
        incl.set(nm, (incl.get(nm) ?? 0) + (prof.timeDeltas[i] ?? 0));
      }
    }
  });
  console.log(`\ninclusive time of functions matching /${filter}/:`);
  for (const [n, t] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`  ${pct(t)}  ${n}`);
}
