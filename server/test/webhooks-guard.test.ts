// Webhooks may not be turned against the server's own network: https only (unless allowed), no
// loopback, private, link-local, multicast or reserved address, at creation and again after DNS
// resolution at every delivery, unless the host is on the allow list. Private ranges are checked
// on the pure classification function only: no test sends anything beyond 127.0.0.1.
// Also: the signature matches the Standard Webhooks specification's published vector.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { allowedHosts, classifyAddress, guardedLookup } from '../src/modules/webhooks/address-guard.js';
import { WebhookSender } from '../src/modules/webhooks/sender.js';
import { signatureHeaders } from '../src/modules/webhooks/signing.js';
import { makeProject, makeTestApp, signUp, snapshot, type TestApp, type UserSession } from './helpers.js';
import { RECEIVER_ENV, Receiver, signatureMatches } from './webhooks-helpers.js';

describe('address classification (pure: nothing is connected to)', () => {
  const cases: Record<string, string[]> = {
    public: ['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', '2001:4860:4860::8888', '::ffff:8.8.8.8'],
    unspecified: ['0.0.0.0', '0.1.2.3', '::'],
    loopback: ['127.0.0.1', '127.0.0.2', '127.255.255.254', '::1', '[::1]', '::ffff:127.0.0.1', '::ffff:7f00:1'],
    private: [
      '10.0.0.1',
      '172.16.5.4',
      '172.31.255.255',
      '192.168.1.1',
      '100.64.0.1',
      'fc00::1',
      'fd12:3456::1',
      'fec0::1',
      '::ffff:10.0.0.1',
      '::ffff:192.168.0.1',
      '2002:c0a8:0101::1', // 6to4 of 192.168.1.1
      '::10.1.2.3', // IPv4-compatible
    ],
    'link-local': [
      '169.254.169.254',
      '169.254.0.1',
      'fe80::1',
      'fe80::1%eth0',
      '::ffff:a9fe:a9fe',
      '64:ff9b::a9fe:a9fe',
    ],
    multicast: ['224.0.0.1', '239.255.255.250', 'ff02::1', '::ffff:224.0.0.1'],
    reserved: [
      '255.255.255.255',
      '240.0.0.1',
      '192.0.2.1',
      '198.18.0.1',
      '2001:db8::1',
      '2001::1',
      '4000::1',
      '100::1',
    ],
  };
  for (const [cls, addrs] of Object.entries(cases)) {
    it(`${cls}: ${addrs.join(', ')}`, () => {
      for (const a of addrs) expect(classifyAddress(a), a).toBe(cls);
    });
  }

  it('the delivery lookup refuses a name with any non-public address and hands on the checked ones', async () => {
    const lookup = (addrs: { address: string; family: number }[], all: boolean) =>
      new Promise<{ err: Error | null; result: unknown }>((resolve) =>
        guardedLookup(async () => addrs)('hooks.example.test', { all }, (err, result) => resolve({ err, result })),
      );
    const refused = await lookup(
      [
        { address: '203.0.114.1', family: 4 },
        { address: '10.0.0.5', family: 4 },
      ],
      true,
    );
    expect(refused.err?.message).toBe('hooks.example.test resolves to 10.0.0.5, a private address');
    const ok = await lookup([{ address: '203.0.114.1', family: 4 }], true);
    expect(ok).toEqual({ err: null, result: [{ address: '203.0.114.1', family: 4 }] });
    const one = await lookup([{ address: '2606:4700::1', family: 6 }], false);
    expect(one).toEqual({ err: null, result: '2606:4700::1' });
  });
});

describe('the allow list', () => {
  it('is a comma list of names or addresses, compared in the URL parser’s spelling', () => {
    const config = loadConfig({ KEYPORT_WEBHOOK_ALLOW_HOSTS: ' Hooks.Internal ,[0:0:0:0:0:0:0:1],127.0.0.1' });
    expect(config.webhookAllowHosts).toEqual(['hooks.internal', '0:0:0:0:0:0:0:1', '127.0.0.1']);
    expect([...allowedHosts(config.webhookAllowHosts)]).toEqual(['hooks.internal', '::1', '127.0.0.1']);
    expect(() => loadConfig({ KEYPORT_WEBHOOK_ALLOW_HOSTS: 'ok.example,http://x/' })).toThrow(
      /KEYPORT_WEBHOOK_ALLOW_HOSTS must be a comma list of hosts/,
    );
    expect(loadConfig({}).webhookAllowHttp).toBe(false);
    expect(loadConfig({ KEYPORT_WEBHOOK_ALLOW_HTTP: '1' }).webhookAllowHttp).toBe(true);
  });
});

describe('Standard Webhooks signature', () => {
  it('matches the specification’s test vector', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const body = '{"test": 2432232314}';
    const h = signatureHeaders(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, body);
    expect(h).toEqual({
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    });
    expect(signatureMatches(secret, h, body)).toBe(true);
    expect(signatureMatches(secret, h, `${body} `)).toBe(false);
  });
});

describe('URLs that are refused', () => {
  let strict: TestApp; // defaults: https only, no host listed
  let lax: TestApp; // http allowed, 127.0.0.1 listed
  let rx: Receiver;
  let strictOwner: UserSession;
  let laxOwner: UserSession;
  let strictP: number;
  let laxP: number;

  beforeAll(async () => {
    strict = await makeTestApp();
    lax = await makeTestApp({ env: RECEIVER_ENV });
    await strict.app.webhooks.stop();
    await lax.app.webhooks.stop();
    rx = await new Receiver().start();
    strictOwner = await signUp(strict.app, 'Strict');
    laxOwner = await signUp(lax.app, 'Lax');
    strictP = (await makeProject(strictOwner)).projectId;
    laxP = (await makeProject(laxOwner)).projectId;
  });
  afterAll(async () => {
    await strict?.close();
    await lax?.close();
    await rx?.stop();
  });

  const refuses = async (s: UserSession, p: number, url: string, why: RegExp) => {
    const before = await snapshot(s.app);
    const res = await s.post(`/api/projects/${p}/webhooks`, { url, events: ['key.approved'] });
    expect(res.statusCode, url).toBe(400);
    expect(res.json().error, url).toMatchObject({ code: 'VALIDATION_FAILED', field: 'url' });
    expect(res.json().error.message, url).toMatch(why);
    expect(await snapshot(s.app)).toEqual(before);
  };

  it('by default: https only, and no loopback host in any spelling', async () => {
    const s = strictOwner;
    await refuses(s, strictP, 'http://hooks.example.test/x', /must use https/);
    for (const url of [
      'https://127.0.0.1/x',
      'https://127.0.0.2/x',
      'https://[::1]/x',
      'https://[::ffff:127.0.0.1]/x',
      'https://[0:0:0:0:0:0:0:1]/x',
      'https://2130706433/x', // 127.0.0.1 as one number
      'https://0x7f.0.0.1/x',
      'https://localhost/x',
      'https://api.localhost/x',
    ]) {
      await refuses(s, strictP, url, /loopback address/);
    }
    await refuses(s, strictP, 'https://0.0.0.0/x', /unspecified address/);
    // a name is accepted; it is checked after resolution, at each delivery
    const ok = await s.post(`/api/projects/${strictP}/webhooks`, {
      url: 'https://hooks.example.test/x',
      events: ['key.approved'],
    });
    expect(ok.statusCode).toBe(201);
  });

  it('with http allowed and 127.0.0.1 listed: only the listed host, not 127.0.0.2 nor [::1]', async () => {
    const port = rx.port;
    await refuses(laxOwner, laxP, `http://127.0.0.2:${port}/x`, /loopback address/);
    await refuses(laxOwner, laxP, `http://[::1]:${port}/x`, /loopback address/);
    await refuses(laxOwner, laxP, `http://localhost:${port}/x`, /loopback address/);
    const ok = await laxOwner.post(`/api/projects/${laxP}/webhooks`, {
      url: `http://127.0.0.1:${port}/x`,
      events: ['key.approved'],
    });
    expect(ok.statusCode).toBe(201);
  });

  /** An endpoint whose stored URL is set directly, as if the rules had changed since it was saved. */
  async function stored(t: TestApp, owner: UserSession, p: number, url: string) {
    const res = await owner.post(`/api/projects/${p}/webhooks`, {
      url: 'https://hooks.example.test/stored',
      events: ['key.approved'],
    });
    const id = res.json().id as number;
    await t.app.ctx.k.updateTable('webhook_endpoints').set({ url }).where('id', '=', id).execute();
    return id;
  }

  async function attempt(owner: UserSession, p: number, id: number, sender: WebhookSender) {
    expect((await owner.post(`/api/projects/${p}/webhooks/${id}/test`)).statusCode).toBe(202);
    await sender.tick();
    const [d] = (await owner.get(`/api/projects/${p}/webhooks/${id}/deliveries`)).json().items;
    await owner.del(`/api/projects/${p}/webhooks/${id}`);
    return d as { status: string; last_status_code: number | null; last_error: string };
  }

  it('at delivery: a name resolving to a loopback address is refused, nothing is sent', async () => {
    const port = rx.port;
    for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
      const id = await stored(lax, laxOwner, laxP, `http://hooks.example.test:${port}/dns`);
      const sender = new WebhookSender(lax.app.ctx, {
        resolve: async () => [{ address, family: address.includes(':') ? 6 : 4 }],
      });
      const d = await attempt(laxOwner, laxP, id, sender);
      expect(d).toMatchObject({ status: 'pending', last_status_code: null });
      expect(d.last_error).toBe(`refused: hooks.example.test resolves to ${address}, a loopback address`);
    }
    expect(rx.received).toEqual([]);
  });

  it('at delivery: a stored literal that is not listed, or http when only https is allowed, is refused', async () => {
    const port = rx.port;
    for (const url of [`http://127.0.0.2:${port}/lit`, `http://[::1]:${port}/lit`]) {
      const id = await stored(lax, laxOwner, laxP, url);
      const d = await attempt(laxOwner, laxP, id, lax.app.webhooks);
      expect(d.last_error).toMatch(/^refused: url points to a loopback address/);
    }
    const id = await stored(strict, strictOwner, strictP, `http://127.0.0.1:${port}/lit`);
    const d = await attempt(strictOwner, strictP, id, strict.app.webhooks);
    expect(d.last_error).toBe('refused: url must use https');
    expect(rx.received).toEqual([]);
  });
});
