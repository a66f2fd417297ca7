// HTTP-level ambiguity: a request with two Authorization headers (Node keeps the first; a proxy
// in front may have used another) is refused, checked over a real socket because app.inject
// cannot send a header twice; a JSON body that is not valid UTF-8 is refused instead of being
// stored with U+FFFD in place of the bad bytes.
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, makeTestApp, signUp, snapshot, type TestApp, type UserSession } from './helpers.js';
import { type IssuedKey, issueKey } from './keys-helpers.js';
import { keyPermissions, Tally } from './security-helpers.js';

const tally = new Tally('http');

let t: TestApp;
let owner: UserSession;
let holder: UserSession;
let P: Awaited<ReturnType<typeof makeProject>>;
let key: IssuedKey;
let port: number;

type RawRes = { statusCode: number; headers: Record<string, string>; body: string };

/** One request written byte for byte on a fresh connection to 127.0.0.1 (never anywhere else). */
function raw(request: string): Promise<RawRes> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error('timeout')));
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [status = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ statusCode: Number(status.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
    // no half-close: Node's server drops a request whose client ended its side (Connection: close ends it)
    socket.write(request);
  });
}

function request(method: string, path: string, headers: [string, string][], body?: string): string {
  const all: [string, string][] = [['Host', '127.0.0.1'], ...headers, ['Connection', 'close']];
  if (body !== undefined)
    all.push(['Content-Type', 'application/json'], ['Content-Length', String(Buffer.byteLength(body))]);
  return `${method} ${path} HTTP/1.1\r\n${all.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body ?? ''}`;
}

beforeAll(async () => {
  t = await makeTestApp();
  owner = await signUp(t.app, 'Owner');
  holder = await signUp(t.app, 'Holder');
  P = await makeProject(owner, 'Http');
  key = await issueKey(t, owner, holder, { projectId: P.projectId, permissions: keyPermissions(P) });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await t?.close();
  tally.report();
});

describe('http: two Authorization headers', () => {
  const good = () => `Bearer ${key.token}`;

  it('one Authorization header works over the socket (the control)', async () => {
    const res = await raw(request('GET', '/api/auth/whoami', [['Authorization', good()]]));
    expect(res.statusCode, res.body).toBe(200);
    expect(JSON.parse(res.body).key_id).toBe(key.keyId);
  });

  it('two (or more) are refused with 400, whichever comes first and however they are spelled', async () => {
    const cases: [string, [string, string][]][] = [
      [
        'valid then junk',
        [
          ['Authorization', good()],
          ['Authorization', 'Bearer junk'],
        ],
      ],
      [
        'junk then valid',
        [
          ['Authorization', 'Bearer junk'],
          ['Authorization', good()],
        ],
      ],
      [
        'the same key twice',
        [
          ['Authorization', good()],
          ['Authorization', good()],
        ],
      ],
      [
        'different name cases',
        [
          ['authorization', good()],
          ['AUTHORIZATION', 'Basic eDp5'],
        ],
      ],
      [
        'valid then empty',
        [
          ['Authorization', good()],
          ['Authorization', ''],
        ],
      ],
      [
        'three headers',
        [
          ['Authorization', good()],
          ['X-Other', '1'],
          ['Authorization', good()],
          ['Authorization', good()],
        ],
      ],
      [
        'a session cookie too',
        [
          ['Authorization', good()],
          ['Cookie', `keyport_session=${owner.cookie}`],
          ['Authorization', 'Bearer x'],
        ],
      ],
    ];
    for (const [label, headers] of cases) {
      for (const path of ['/api/auth/whoami', `/api/projects/${P.projectId}/data_layers`]) {
        const res = await raw(request('GET', path, headers));
        tally.rejects(`two Authorization headers (${label}) @ ${path}`, res, 400, 'VALIDATION_FAILED');
        expect(JSON.parse(res.body).error.message).toMatch(/one Authorization header/);
      }
    }
  });

  it('a write with two Authorization headers changes nothing', async () => {
    const before = await snapshot(t.app);
    const body = JSON.stringify({ label: 'twice' });
    const path = `/api/projects/${P.projectId}/nodes/${P.input}/packages`;
    const res = await raw(
      request(
        'POST',
        path,
        [
          ['Authorization', good()],
          ['Authorization', 'Bearer other'],
        ],
        body,
      ),
    );
    tally.rejects('package write with two Authorization headers', res, 400, 'VALIDATION_FAILED');
    expect(await snapshot(t.app)).toEqual(before);
  });
});

describe('http: JSON bodies must be valid UTF-8', () => {
  const json = (prefix: string, bad: number[], suffix: string) =>
    Buffer.concat([Buffer.from(prefix), Buffer.from(bad), Buffer.from(suffix)]);
  const INVALID: [string, number[]][] = [
    ['0xFF 0xFE', [0xff, 0xfe]],
    ['a lone continuation byte', [0x80]],
    ['an overlong "/" (C0 AF)', [0xc0, 0xaf]],
    ['an encoded surrogate (ED A0 80)', [0xed, 0xa0, 0x80]],
    ['a truncated 3-byte sequence', [0xe2, 0x82]],
    ['a code point above U+10FFFF (F4 90 80 80)', [0xf4, 0x90, 0x80, 0x80]],
    ['a Latin-1 "é"', [0xe9]],
  ];
  const asOwner = (payload: Buffer) =>
    t.app.inject({
      method: 'POST',
      url: '/api/projects',
      headers: {
        cookie: `keyport_session=${owner.cookie}`,
        'x-csrf-token': owner.csrf,
        'content-type': 'application/json',
      },
      payload,
    });

  it('valid multi-byte UTF-8 is stored exactly (the control)', async () => {
    const name = 'Zürich 東京 🚀';
    const res = await asOwner(Buffer.from(JSON.stringify({ name })));
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().name).toBe(name);
  });

  it('invalid bytes in a string value, a key or between tokens are refused, nothing is written', async () => {
    const before = await snapshot(t.app);
    for (const [label, bad] of INVALID) {
      tally.rejects(`${label} in a project name`, await asOwner(json('{"name":"a', bad, 'b"}')), 400, 'MALFORMED_JSON');
      tally.rejects(
        `${label} in a key name`,
        await asOwner(json('{"name":"x","d', bad, '":1}')),
        400,
        'MALFORMED_JSON',
      );
      tally.rejects(`${label} after the object`, await asOwner(json('{"name":"x"} ', bad, '')), 400, 'MALFORMED_JSON');
      const signup = await t.app.inject({
        method: 'POST',
        url: '/api/auth/signup',
        headers: { 'content-type': 'application/json' },
        payload: json('{"email":"utf8@example.test","password":"long enough 1","name":"', bad, '"}'),
        remoteAddress: `10.66.0.${INVALID.findIndex(([l]) => l === label) + 1}`,
      });
      tally.rejects(`${label} in a sign-up name`, signup, 400, 'MALFORMED_JSON');
      const pkg = await t.app.inject({
        method: 'POST',
        url: `/api/projects/${P.projectId}/nodes/${P.input}/packages`,
        headers: { authorization: `Bearer ${key.token}`, 'content-type': 'application/json' },
        payload: json('{"label":"', bad, '"}'),
      });
      tally.rejects(`${label} in a package label (API key)`, pkg, 400, 'MALFORMED_JSON');
    }
    expect(await snapshot(t.app)).toEqual(before);
    const names = await t.app.ctx.k.selectFrom('projects').select('name').execute();
    tally.manual(
      'no stored name holds U+FFFD',
      names.every((n) => !n.name.includes('\uFFFD')),
    );
  });
});
