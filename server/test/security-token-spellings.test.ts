// One token, one spelling. Base64url text whose last character differs only in its unused low
// bits (or that carries padding or the standard alphabet) decodes to the same bytes; such a
// spelling of a genuine token used to verify, each spelling in its own cache slot. Every segment
// must now be canonical: anything else is 401 INVALID_KEY, cached canonical token or not.
import { sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, makeTestApp, signUp, type TestApp, type UserSession } from './helpers.js';
import { type IssuedKey, issueKey } from './keys-helpers.js';
import { keyPermissions, parts, serverKey, Tally } from './security-helpers.js';

const tally = new Tally('token spellings');
const INVALID_BODY = JSON.stringify({
  error: { code: 'INVALID_KEY', message: 'The API key is missing, invalid, expired or revoked' },
});
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

let t: TestApp;
let owner: UserSession;
let holder: UserSession;
let P: Awaited<ReturnType<typeof makeProject>>;
let key: IssuedKey;

/** The other spellings of a segment: its last character with other unused low bits (none when no bits are unused). */
function lowBitSpellings(seg: string): string[] {
  const unused = { 0: 0, 2: 4, 3: 2 }[(seg.length % 4) as 0 | 2 | 3];
  const v = ALPHABET.indexOf(seg.at(-1) as string);
  const out: string[] = [];
  for (let low = 0; low < 1 << unused; low++) {
    const w = (v & ~((1 << unused) - 1)) | low;
    if (w !== v) out.push(seg.slice(0, -1) + ALPHABET[w]);
  }
  return out;
}

/** Every non-canonical text of a segment that Node's decoder reads as the same bytes. */
function spellings(seg: string): [string, string][] {
  const out: [string, string][] = lowBitSpellings(seg).map((s) => [`low bits "${s.at(-1)}"`, s]);
  const pad = (4 - (seg.length % 4)) % 4;
  out.push(['padded', seg + '='.repeat(pad || 4)], ['over-padded', `${seg}====`]);
  if (/[-_]/.test(seg)) out.push(['standard alphabet', seg.replace(/-/g, '+').replace(/_/g, '/')]);
  for (const [label, s] of out) {
    expect(Buffer.from(s, 'base64url').equals(Buffer.from(seg, 'base64url')), label).toBe(true);
  }
  return out;
}

const cachedTokens = () => (t.app.keyAuth as unknown as { stats: { cachedTokens: number } }).stats.cachedTokens;

const call = (url: string, token: string) =>
  t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });

async function refused(label: string, token: string) {
  for (const url of ['/api/auth/whoami', `/api/projects/${P.projectId}/data_layers`]) {
    const res = await call(url, token);
    tally.rejects(`${label} @ ${url}`, res, 401, 'INVALID_KEY');
    expect(res.body, label).toBe(INVALID_BODY);
  }
}

async function accepted(token: string) {
  const res = await call('/api/auth/whoami', token);
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json().key_id).toBe(key.keyId);
}

/** A JWS over exactly these segment texts, signed with the server's own key (in-process). */
function serverSigned(h64: string, p64: string): string {
  const input = `${h64}.${p64}`;
  return `${input}.${sign(null, Buffer.from(input), serverKey(t.app).key).toString('base64url')}`;
}

/** A JSON segment (with trailing blanks JSON ignores) whose base64url text has unused bits. */
function segmentWithUnusedBits(value: object): string {
  for (let pad = 0; ; pad++) {
    const seg = Buffer.from(JSON.stringify(value) + ' '.repeat(pad)).toString('base64url');
    if (seg.length % 4 === 2) return seg;
  }
}

beforeAll(async () => {
  t = await makeTestApp();
  owner = await signUp(t.app, 'Owner');
  holder = await signUp(t.app, 'Holder');
  P = await makeProject(owner, 'Spellings');
  key = await issueKey(t, owner, holder, { projectId: P.projectId, permissions: keyPermissions(P) });
});
afterAll(async () => {
  await t?.close();
  tally.report();
});

describe('token spellings: the signature', () => {
  it('the signature segment has 4 unused bits: 15 other low-bit spellings exist', () => {
    const { s } = parts(key.token);
    expect(s.length % 4).toBe(2);
    expect(lowBitSpellings(s)).toHaveLength(15);
  });

  it('another spelling of the signature is refused before the genuine token is cached', async () => {
    const { h, p, s } = parts(key.token);
    for (const [label, s2] of spellings(s)) await refused(`cold: signature ${label}`, `${h}.${p}.${s2}`);
    await accepted(key.token);
  });

  it('is refused while the genuine token is cached, and takes no cache slot', async () => {
    const { h, p, s } = parts(key.token);
    await accepted(key.token);
    const slots = cachedTokens();
    for (const [label, s2] of spellings(s)) await refused(`warm: signature ${label}`, `${h}.${p}.${s2}`);
    tally.manual('non-canonical spellings took no cache slot', cachedTokens() === slots);
    await accepted(key.token);
  });
});

describe('token spellings: header and payload, even under a valid server signature', () => {
  it('a server-signed token with canonical segments is accepted (the control)', async () => {
    const { header, claims } = parts(key.token);
    await accepted(serverSigned(segmentWithUnusedBits(header), segmentWithUnusedBits(claims)));
  });

  it('a non-canonical header or payload is refused although the signature covers its exact text', async () => {
    const { header, claims } = parts(key.token);
    const h = segmentWithUnusedBits(header);
    const p = segmentWithUnusedBits(claims);
    for (const [label, h2] of spellings(h)) await refused(`server-signed, header ${label}`, serverSigned(h2, p));
    for (const [label, p2] of spellings(p)) await refused(`server-signed, payload ${label}`, serverSigned(h, p2));
  });

  it('the genuine token with another spelling of its header or payload is refused', async () => {
    const { h, p, s } = parts(key.token);
    for (const [label, h2] of spellings(h)) await refused(`genuine, header ${label}`, `${h2}.${p}.${s}`);
    for (const [label, p2] of spellings(p)) await refused(`genuine, payload ${label}`, `${h}.${p2}.${s}`);
    await accepted(key.token);
  });
});
