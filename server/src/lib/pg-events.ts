// Invalidation events between instances through PostgreSQL LISTEN/NOTIFY (docs/scale-out.md).
//
// - Sending: `pg_notify(channel, {i: instanceId, e: event})` on a pool connection, after the change
//   committed (services publish after their transaction). Every instance, including the sender,
//   receives it; the sender recognises its own instance id and ignores the echo.
// - Receiving: one dedicated `pg.Client` per instance runs `LISTEN`. When it is lost (server restart,
//   network, pg_terminate_backend) it reconnects with exponential backoff, and after every (re)connect
//   delivers {type:'all'} locally: what changed while nobody listened is re-read from the database.
// - A liveness probe (`SELECT 1` on the listening connection) detects half-open connections that
//   would otherwise lose notices silently. Whatever is still lost is bounded by the caches' TTL
//   (the key directory polls `api_keys.updated_at` and role entries expire).
// The channel is per schema, so deployments (or test runs) sharing one database never mix.
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Db } from '../db/dialect.js';
import type { EventBus, EventTransport, InvalidationEvent } from './events.js';

interface Log {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
}

export interface PgEventTransportOptions {
  /** Unique per process/app; defaults to random. Notices carrying it are this instance's echo. */
  instanceId?: string;
  /** First reconnect delay (doubles up to maxBackoffMs, with jitter). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** How often the listening connection is probed (0 = never). */
  healthCheckMs?: number;
}

export interface PgEventTransportStats {
  instanceId: string;
  channel: string;
  connected: boolean;
  /** backend pid of the LISTEN connection (null while disconnected) */
  backendPid: number | null;
  /** successful LISTEN connections so far (1 after start, +1 per reconnect) */
  connects: number;
  /** local {type:'all'} flushes delivered after a (re)connect */
  flushes: number;
  sent: number;
  sendFailures: number;
  received: number;
  echoes: number;
  malformed: number;
}

const CHANNEL_PREFIX = 'keyport_events';
const MAX_PAYLOAD = 7900; // PostgreSQL's limit is 8000 bytes

/** LISTEN channel for a schema: a plain identifier, at most 63 bytes. */
export function channelFor(schema: string): string {
  if (schema === 'public') return CHANNEL_PREFIX;
  const safe = /^[a-z_][a-z0-9_]{0,40}$/.test(schema)
    ? schema
    : createHash('sha256').update(schema).digest('hex').slice(0, 24);
  return `${CHANNEL_PREFIX}_${safe}`;
}

const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/** Only well-formed events are delivered; anything else on the channel is counted and dropped. */
export function parseNotice(payload: string | undefined): { from: string; event: InvalidationEvent } | null {
  if (!payload || payload.length > MAX_PAYLOAD) return null;
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const { i, e } = v as { i?: unknown; e?: unknown };
  if (typeof i !== 'string' || typeof e !== 'object' || e === null) return null;
  const ev = e as Record<string, unknown>;
  switch (ev.type) {
    case 'key':
      return isId(ev.keyId) ? { from: i, event: { type: 'key', keyId: ev.keyId } } : null;
    case 'role':
      return isId(ev.roleId) ? { from: i, event: { type: 'role', roleId: ev.roleId } } : null;
    case 'project':
      return isId(ev.projectId) ? { from: i, event: { type: 'project', projectId: ev.projectId } } : null;
    case 'all':
      return { from: i, event: { type: 'all' } };
    default:
      return null;
  }
}

export class PgEventTransport implements EventTransport {
  readonly instanceId: string;
  private client: pg.Client | null = null;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private healthTimer: NodeJS.Timeout | null = null;
  private backoffMs: number;
  private held = false;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly counters = {
    connects: 0,
    flushes: 0,
    sent: 0,
    sendFailures: 0,
    received: 0,
    echoes: 0,
    malformed: 0,
  };
  private backendPid: number | null = null;
  private connecting: Promise<void> | null = null;
  private reconnectWaiters: (() => void)[] = [];
  private lastReconnectWarn = 0;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly pgConfig: pg.PoolConfig,
    private readonly events: EventBus,
    private readonly log: Log,
    readonly channel: string,
    opts: PgEventTransportOptions,
  ) {
    this.instanceId = opts.instanceId ?? randomBytes(8).toString('hex');
    this.minBackoffMs = opts.minBackoffMs ?? 100;
    this.maxBackoffMs = opts.maxBackoffMs ?? 5000;
    this.backoffMs = this.minBackoffMs;
    const every = opts.healthCheckMs ?? 5000;
    if (every > 0) {
      this.healthTimer = setInterval(() => void this.probe(every), every);
      this.healthTimer.unref();
    }
  }

  /**
   * Starts listening. The first connection is awaited; if it fails the instance still starts (its
   * caches are bounded by the TTL) and keeps retrying in the background.
   */
  static async start(
    ctx: { db: Db; events: EventBus; log: Log },
    opts: PgEventTransportOptions = {},
  ): Promise<PgEventTransport> {
    const { pool, pgConfig } = ctx.db;
    if (ctx.db.dialect !== 'postgres' || !pool || !pgConfig) throw new Error('PgEventTransport needs PostgreSQL');
    const schema = (await pool.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]?.s ?? 'public';
    const t = new PgEventTransport(pool, pgConfig, ctx.events, ctx.log, channelFor(schema), opts);
    try {
      await t.connect();
    } catch (err) {
      t.log.warn({ err }, 'events: LISTEN connection failed; retrying (caches fall back to the TTL)');
      t.scheduleReconnect();
    }
    return t;
  }

  get connected(): boolean {
    return this.client !== null;
  }

  get stats(): PgEventTransportStats {
    return {
      instanceId: this.instanceId,
      channel: this.channel,
      connected: this.connected,
      backendPid: this.backendPid,
      ...this.counters,
    };
  }

  async send(e: InvalidationEvent): Promise<void> {
    if (this.stopped) return;
    try {
      await this.pool.query('SELECT pg_notify($1, $2)', [this.channel, JSON.stringify({ i: this.instanceId, e })]);
      this.counters.sent += 1;
    } catch (err) {
      // The change is committed; other instances catch up by polling within the TTL.
      this.counters.sendFailures += 1;
      this.log.warn({ err }, 'events: notify failed; other instances catch up within the cache TTL');
    }
  }

  /**
   * Tests and maintenance: while held, a lost connection is not re-established (the instance runs
   * on TTL polling alone). Releasing reconnects at once if needed.
   */
  holdReconnect(hold: boolean): void {
    this.held = hold;
    if (!hold && !this.client && !this.stopped && !this.connecting) {
      if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
      this.backoffMs = this.minBackoffMs;
      this.scheduleReconnect(0);
    }
  }

  /** Resolves at the next successful (re)connect, after its flush was delivered. */
  nextConnect(): Promise<void> {
    return new Promise((resolve) => this.reconnectWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.healthTimer) clearInterval(this.healthTimer);
    this.reconnectTimer = null;
    this.healthTimer = null;
    await this.connecting?.catch(() => {});
    const c = this.client;
    this.client = null;
    this.backendPid = null;
    if (c) await endQuietly(c);
  }

  private connect(): Promise<void> {
    if (!this.connecting) {
      this.connecting = this.doConnect().finally(() => {
        this.connecting = null;
      });
    }
    return this.connecting;
  }

  private async doConnect(): Promise<void> {
    const { max: _max, idleTimeoutMillis: _idle, connectionTimeoutMillis, ...base } = this.pgConfig;
    const client = new pg.Client({
      ...base,
      connectionTimeoutMillis: connectionTimeoutMillis ?? 10_000,
      keepAlive: true,
      application_name: 'keyport-events',
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, null));
    client.on('notification', (msg) => this.onNotice(msg));
    try {
      await client.connect();
      await client.query(`LISTEN "${this.channel}"`);
      const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid ?? null;
      if (this.stopped) {
        await endQuietly(client);
        return;
      }
      this.client = client;
      this.backendPid = pid;
    } catch (err) {
      await endQuietly(client);
      throw err;
    }
    this.counters.connects += 1;
    this.backoffMs = this.minBackoffMs;
    if (this.counters.connects > 1)
      this.log.info({ channel: this.channel }, 'events: LISTEN connection restored; caches flushed');
    // LISTEN is active: whatever changed before now is re-read, whatever changes after is notified.
    this.counters.flushes += 1;
    await this.events.deliver({ type: 'all' }).catch((err) => this.log.warn({ err }, 'events: cache flush failed'));
    for (const w of this.reconnectWaiters.splice(0)) w();
  }

  private onNotice(msg: pg.Notification): void {
    if (msg.channel !== this.channel) return;
    const n = parseNotice(msg.payload);
    if (!n) {
      this.counters.malformed += 1;
      return;
    }
    if (n.from === this.instanceId) {
      this.counters.echoes += 1; // applied locally before it was sent
      return;
    }
    this.counters.received += 1;
    void this.events.deliver(n.event).catch((err) => this.log.warn({ err }, 'events: applying a notice failed'));
  }

  private lost(client: pg.Client, err: Error | null): void {
    if (this.client !== client) return; // a connection that never became (or is no longer) current
    this.client = null;
    this.backendPid = null;
    if (this.stopped) return;
    this.log.warn({ err: err ?? undefined }, 'events: LISTEN connection lost; reconnecting');
    client.on('error', () => {}); // late errors of a dead client must not crash the process
    void endQuietly(client);
    this.scheduleReconnect();
  }

  private scheduleReconnect(delay?: number): void {
    if (this.stopped || this.reconnectTimer || this.held) return;
    const wait = delay ?? Math.round(this.backoffMs * (0.5 + Math.random() / 2));
    this.backoffMs = Math.min(this.maxBackoffMs, this.backoffMs * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.stopped || this.held || this.client) return;
      this.connect().catch((err) => {
        // An engine without LISTEN (or a transaction-mode pooler) fails every time: warn once a minute.
        if (Date.now() - this.lastReconnectWarn > 60_000) {
          this.lastReconnectWarn = Date.now();
          this.log.warn({ err }, 'events: reconnect failed; retrying (caches fall back to the TTL meanwhile)');
        }
        this.scheduleReconnect();
      });
    }, wait);
    this.reconnectTimer.unref();
  }

  /** A connection that stopped answering (half-open TCP) loses notices silently: replace it. */
  private async probe(timeoutMs: number): Promise<void> {
    const c = this.client;
    if (!c || this.stopped) return;
    let timer: NodeJS.Timeout | undefined;
    const ok = await Promise.race([
      c.query('SELECT 1').then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (!ok && this.client === c) {
      destroySocket(c);
      this.lost(c, new Error('LISTEN connection did not answer the liveness probe'));
    }
  }
}

async function endQuietly(c: pg.Client): Promise<void> {
  c.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([c.end().catch(() => {}), new Promise<void>((r) => (timer = setTimeout(r, 2000)))]);
  clearTimeout(timer);
  destroySocket(c);
}

function destroySocket(c: pg.Client): void {
  const stream = (c as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream;
  stream?.destroy?.();
}
