// A webhook receiver for tests: real HTTP on 127.0.0.1 that records every request, answers as a
// test tells it to, and checks every signature with its own HMAC (node:crypto), independently of
// the library the server signs with.
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** the signature verified against the secret registered for the path's endpoint */
  signatureValid: boolean;
}

export interface Answer {
  status?: number;
  delayMs?: number;
  headers?: Record<string, string>;
}

/** Standard Webhooks check: some `v1,<sig>` in the header equals HMAC(secret, "id.timestamp.body"). */
export function signatureMatches(secret: string, headers: http.IncomingHttpHeaders, body: string): boolean {
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const sigs = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof ts !== 'string' || typeof sigs !== 'string') return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest();
  return sigs.split(' ').some((s) => {
    const [version, sig] = s.split(',');
    const got = Buffer.from(sig ?? '', 'base64');
    return version === 'v1' && got.length === expected.length && timingSafeEqual(got, expected);
  });
}

export class Receiver {
  readonly received: Received[] = [];
  /** per path: answers for the next requests, in order, then the path's standing answer (200) */
  private readonly scripts = new Map<string, Answer[]>();
  private readonly standing = new Map<string, Answer>();
  private readonly secrets = new Map<string, string>();
  private server!: http.Server;
  port = 0;

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The next requests to `path` get these answers, in order. */
  script(path: string, ...answers: Answer[]): void {
    this.scripts.set(path, [...(this.scripts.get(path) ?? []), ...answers]);
  }

  /** Every request to `path` gets this answer once its script has run out. */
  always(path: string, answer: Answer): void {
    this.standing.set(path, answer);
  }

  /** The secret that signs what arrives at `path`. */
  expect(path: string, secret: string): void {
    this.secrets.set(path, secret);
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const path = req.url ?? '/';
        const secret = this.secrets.get(path);
        this.received.push({
          path,
          headers: req.headers,
          body,
          signatureValid: secret !== undefined && signatureMatches(secret, req.headers, body),
        });
        const a = this.scripts.get(path)?.shift() ?? this.standing.get(path) ?? { status: 200 };
        const send = () => {
          if (res.destroyed) return;
          res.writeHead(a.status ?? 200, a.headers ?? {});
          res.end('ok');
        };
        if (a.delayMs) setTimeout(send, a.delayMs);
        else send();
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** Env of an app that may deliver to the receiver (http, 127.0.0.1 listed). */
export const RECEIVER_ENV = { KEYPORT_WEBHOOK_ALLOW_HTTP: '1', KEYPORT_WEBHOOK_ALLOW_HOSTS: '127.0.0.1' };
