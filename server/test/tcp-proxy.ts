// A TCP proxy for fault tests: sits between the app and a real server (PostgreSQL, SMTP…) on a
// fixed port, so the app's URL stays valid while the "network" goes away and comes back.
// - close(): refuse new connections and cut the open ones (a stopped database);
// - open(): listen again on the same port (the database is back);
// - cutAll(): cut the open connections but keep listening (a restart the pool must survive);
// - cutWhen(text): cut the connection that is about to send `text` upstream, before it arrives
//   (a connection lost in the middle of a transaction). PostgreSQL sends query text in clear.
import net from 'node:net';
import { freePort } from './helpers.js';

export class TcpProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  private trigger: string | null = null;
  /** connections cut by cutWhen so far */
  triggered = 0;

  private constructor(
    private readonly target: { host: string; port: number },
    /** fixed for the proxy's life: reserved at creation, reused by every open() */
    readonly port: number,
  ) {}

  /** A proxy to target on a free local port; listening unless `listening: false`. */
  static async create(target: { host: string; port: number }, opts: { listening?: boolean } = {}): Promise<TcpProxy> {
    const proxy = new TcpProxy(target, await freePort());
    if (opts.listening !== false) await proxy.open();
    return proxy;
  }

  get listening(): boolean {
    return this.server !== null;
  }

  async open(): Promise<void> {
    if (this.server) return;
    const server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    this.cutAll();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  cutAll(): void {
    for (const sock of this.sockets) sock.destroy();
    this.sockets.clear();
  }

  /** Cut the next connection that sends `text` (once); null disarms. */
  cutWhen(text: string | null): void {
    this.trigger = text;
  }

  /** `base` (a URL) pointing at this proxy instead of its own host and port. */
  url(base: string): string {
    const u = new URL(base);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.target.port, this.target.host);
    this.sockets.add(client);
    this.sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.on('data', (chunk: Buffer) => {
      if (this.trigger !== null && chunk.includes(this.trigger)) {
        this.trigger = null;
        this.triggered += 1;
        drop();
        return;
      }
      if (!upstream.write(chunk)) {
        client.pause();
        upstream.once('drain', () => client.resume());
      }
    });
    upstream.pipe(client);
  }
}
