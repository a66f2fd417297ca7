// Issue 10 — bounded fuzzing of the JSON routes: random bodies (seeded, reproducible) and
// mutations of valid ones, sent by an owner session and by a key. Whatever they contain, the
// answer is never a 5xx and never leaks internals. KEYPORT_FUZZ_SEED / KEYPORT_FUZZ_MS override
// the seed and the time budget.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, makeTestApp, signUp, type TestApp, type UserSession } from './helpers.js';
import { issueKey, makeProjectVisible } from './keys-helpers.js';
import { asKey, keyPermissions, Tally } from './security-helpers.js';

const tally = new Tally('fuzz');
const SEED = Number(process.env.KEYPORT_FUZZ_SEED ?? 20261127);
const BUDGET_MS = Number(process.env.KEYPORT_FUZZ_MS ?? 3000);
const LEAKS = /\bat .+\(.+:\d+:\d+\)|node_modules|\/src\/|SELECT |INSERT |sqlite|postgres/i;

/** mulberry32: small, seeded, good enough to pick shapes */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rnd = prng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
const STRINGS = [
  '',
  ' ',
  'a',
  'A_1',
  '0',
  '1',
  '-1',
  '9'.repeat(30),
  'null',
  'true',
  '\u0000',
  '\ud800',
  'é漢字🙂',
  "' OR 1=1 --",
  '../../etc/passwd',
  '<script>alert(1)</script>',
  '%00',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, on purpose
  '${7*7}',
  'x'.repeat(5000),
  '__proto__',
  'constructor',
];
const NUMBERS = [0, -1, 1, 2, 1.5, -0, 2 ** 31, 2 ** 31 - 1, 2 ** 53 + 1, 1e308, -1e308, Number.MIN_VALUE, 1e-7];

function value(depth = 0): unknown {
  const r = rnd();
  if (depth > 3 || r < 0.35) return pick<unknown>([pick(STRINGS), pick(NUMBERS), true, false, null]);
  if (r < 0.6) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(rnd() * 4); i > 0; i--)
    o[pick(['name', 'id', 'value', 'kind', pick(STRINGS).slice(0, 20)])] = value(depth + 1);
  return o;
}

/** A valid body with one property replaced, dropped or duplicated with a random value. */
function mutate(valid: Record<string, unknown>): unknown {
  const r = rnd();
  if (r < 0.15) return value();
  const keys = Object.keys(valid);
  const out: Record<string, unknown> = { ...valid };
  const k = keys.length ? pick(keys) : 'x';
  if (r < 0.3) delete out[k];
  else if (r < 0.85) out[k] = value(1);
  else out[pick(['id', 'project_id', 'user_id', 'status', 'role_id', '__proto__', 'constructor'])] = value(1);
  return out;
}

let t: TestApp;
let owner: UserSession;
let P: Awaited<ReturnType<typeof makeProject>>;
let token: string;
let ids: { role: number; template: number; field: number; request: number; secret: number; keyId: number };

beforeAll(async () => {
  t = await makeTestApp();
  owner = await signUp(t.app, 'FuzzOwner');
  const holder = await signUp(t.app, 'FuzzHolder');
  P = await makeProject(owner, 'Fuzz');
  await makeProjectVisible(owner, P.projectId);
  const key = await issueKey(t, owner, holder, {
    projectId: P.projectId,
    permissions: keyPermissions(P),
    fields: [{ name: 'f', value: 'v' }],
  });
  token = key.token;
  const p = `/api/projects/${P.projectId}`;
  const tpl = (await owner.get(`${p}/api-key-templates/${key.templateId}`)).json();
  const req = await (await signUp(t.app, 'FuzzRequester')).post(`${p}/api-key-templates/${key.templateId}/requests`);
  const secret = (await owner.post(`${p}/secrets`, { name: 'FUZZ', value: 'v' })).json().id;
  ids = {
    role: key.roleId,
    template: key.templateId,
    field: tpl.fields[0].id,
    request: req.json().id,
    secret,
    keyId: key.keyId,
  };
});
afterAll(async () => {
  await t?.close();
  tally.report();
});

describe('fuzz: random and mutated JSON bodies never cause a 5xx', () => {
  it(`owner session and key over every JSON route (seed ${SEED}, ${BUDGET_MS} ms)`, async () => {
    const p = `/api/projects/${P.projectId}`;
    const routes: [string, string, Record<string, unknown>, 'owner' | 'key' | 'anon'][] = [
      ['POST', '/api/auth/signup', { email: 'f@example.test', password: 'long enough pw', name: 'F' }, 'anon'],
      ['POST', '/api/auth/login', { email: 'f@example.test', password: 'long enough pw' }, 'anon'],
      ['POST', '/api/projects', { name: 'n', description: 'd' }, 'owner'],
      ['PATCH', p, { name: 'n' }, 'owner'],
      ['POST', `${p}/nodes`, { name: 'n', kind: 'compute' }, 'owner'],
      ['PATCH', `${p}/nodes/${P.compute}`, { name: 'n' }, 'owner'],
      ['POST', `${p}/links`, { from_node_id: P.input, to_node_id: P.compute }, 'owner'],
      [
        'POST',
        `${p}/roles`,
        {
          name: 'r',
          price_per_request: '0.01',
          is_public: false,
          permissions: { project: ['project_view'], nodes: { [P.input]: ['package_view'] } },
        },
        'owner',
      ],
      ['PATCH', `${p}/roles/${ids.role}`, { price_per_request: '0.02' }, 'owner'],
      ['PUT', `${p}/members/${owner.user.id}`, { role_ids: [ids.role] }, 'owner'],
      ['POST', `${p}/members`, { email: owner.user.email, role_ids: [ids.role] }, 'owner'],
      [
        'POST',
        `${p}/api-key-templates`,
        { name: 't', role_id: ids.role, description: 'd', lifetime_days: 30 },
        'owner',
      ],
      ['PATCH', `${p}/api-key-templates/${ids.template}`, { description: 'd' }, 'owner'],
      [
        'POST',
        `${p}/api-key-templates/${ids.template}/fields`,
        { name: 'f2', value: 'v', description: 'd', position: 0 },
        'owner',
      ],
      ['PATCH', `${p}/api-key-templates/${ids.template}/fields/${ids.field}`, { value: 'v2' }, 'owner'],
      ['POST', `${p}/api-key-requests/${ids.request}/reject`, { reason: 'r' }, 'owner'],
      ['POST', `${p}/secrets`, { name: 'S', value: 'v', type: 'variable', node_ids: [P.compute] }, 'owner'],
      ['PATCH', `${p}/secrets/${ids.secret}`, { value: 'v2' }, 'owner'],
      ['POST', `${p}/secrets/import-api-key`, { key_id: ids.keyId, prefix: 'k' }, 'owner'],
      ['POST', '/api/me/notifications/read', { ids: [1] }, 'owner'],
      ['POST', `${p}/nodes/${P.input}/packages`, { label: 'l', fields: { a: 1 }, parent_ids: [] }, 'key'],
      ['POST', `${p}/nodes/${P.output}/packages/search`, { master_id: 1, label: 'l', after_id: 0 }, 'key'],
      ['DELETE', `${p}/issued-keys/999999`, { reason: 'r' }, 'owner'],
    ];
    const counts = new Map<string, number>();
    const end = Date.now() + BUDGET_MS;
    let n = 0;
    while (Date.now() < end || n < routes.length * 3) {
      const [method, url, valid, who] = routes[n % routes.length] as (typeof routes)[number];
      n += 1;
      const body = mutate(valid);
      const payload = JSON.stringify(body) ?? 'null';
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (who === 'owner')
        Object.assign(headers, { cookie: `keyport_session=${owner.cookie}`, 'x-csrf-token': owner.csrf });
      if (who === 'key') headers.authorization = `Bearer ${token}`;
      const res = await t.app.inject({
        method: method as 'POST',
        url,
        headers,
        payload,
        remoteAddress: `10.200.${n % 250}.${(n >> 8) % 250}`,
      });
      const label = `${method} ${url}`;
      expect(res.statusCode, `${label} with ${payload.slice(0, 300)} -> ${res.body.slice(0, 300)}`).toBeLessThan(500);
      expect(res.body, label).not.toMatch(LEAKS);
      counts.set(label, (counts.get(label) ?? 0) + 1);
    }
    for (const [label, c] of counts) tally.manual(`${label}: ${c} fuzzed bodies, no 5xx`, true);
    // the app still answers normally afterwards
    expect((await asKey(t.app, token)('GET', '/api/auth/whoami')).statusCode).toBe(200);
    console.log(`fuzz: ${n} requests over ${counts.size} routes, seed ${SEED}, no 5xx`);
  });
});
