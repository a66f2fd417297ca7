// UsageMeter: counts key-authenticated requests into (key, UTC hour, price) buckets in memory, makes
// every count durable in the local journal before the response leaves (one write per event-loop
// tick for all requests of that tick), and flushes batches to the database in the background.
//
//   record()        hot path: a Map lookup and two increments; never awaits, never touches the DB
//   tick            setImmediate: one journal write for every bucket touched since the last tick,
//                   then the responses waiting for it are released
//   flush           every flushMs (or early when many buckets are buffered): seal the active
//                   buckets + journal segment into a batch and apply it in one transaction with its
//                   batch id; delete the segment after commit. On failure: keep it, retry with backoff.
//   outage          the active set keeps growing up to maxBuckets distinct buckets; beyond that it is
//                   sealed and spilled (dropped from memory, re-read from its journal segment later)
//   close           write, seal, drain with retries until drainTimeoutMs; what is left stays in the
//                   journal and is replayed by the next start
//   journal fails   (disk full, I/O error) the responses of that tick wait for a database flush
//                   instead; until a write succeeds again `refusing` is set and the usage plugin
//                   answers new key requests 503 — refuse rather than serve requests nobody can bill
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { KeyActor } from '../../auth/key-auth.js';
import type { Ctx } from '../../context.js';
import { HOUR_MS } from '../../lib/clock.js';
import { applyBatch, pruneBatches } from './flush.js';
import { type BucketDelta, Journal, JournalWriteError, journalLine, readSegment } from './journal.js';
import type { QuotaTracker } from './quota.js';

/** Billing rule (docs/metering.md): a key-authenticated request is billed when it succeeded (2xx)
 * or redirected (3xx); refusals, client errors and our failures are counted by outcome, not billed. */
export function isBilled(status: number): boolean {
  return status >= 200 && status < 400;
}

class Bucket implements BucketDelta {
  count = 0;
  /** counted but not yet written to the journal */
  unj = 0;
  next: Bucket | null = null;
  constructor(
    readonly keyId: number,
    readonly projectId: number,
    readonly hour: number,
    readonly price: number,
  ) {}
}

interface Batch {
  id: string;
  /** journal segment holding exactly this batch's counts (null when journaling is off or empty) */
  path: string | null;
  /** in-memory counts; null = spilled, read back from `path` */
  deltas: BucketDelta[] | null;
  buckets: number;
  requests: number;
  /** clock time of the oldest count in the batch (flush lag) */
  since: number;
  /** false when some of its counts never reached the segment (journal write failed): never spilled */
  complete: boolean;
  /** sealed by this meter (its requests are reserved in the quota tracker), not a replayed segment */
  local: boolean;
}

export interface MeterOptions {
  flushMs: number;
  /** flush early once this many distinct buckets are buffered */
  flushAtBuckets?: number;
  /** memory bound: distinct buckets held in memory (active + queued); beyond it batches spill to disk */
  maxBuckets?: number;
  /** journal directory root; null disables the journal (counts then live in memory until flushed) */
  dataDir: string | null;
  /** monthly quotas: told about each committed local batch, refreshed inside the flush round */
  quota?: QuotaTracker | null;
  drainTimeoutMs?: number;
  backoffMinMs?: number;
  backoffMaxMs?: number;
}

export interface MeterStats {
  /** counted for billing */
  billed: number;
  /** key-authenticated but not billed (5xx, 429, a 401 after authentication) */
  unbilled: number;
  /** refused by key authentication (bearer token present, 401) */
  rejected: number;
  flushes: number;
  flushFailures: number;
  duplicates: number;
  journalErrors: number;
  skippedLines: number;
  lastFlushMs: number;
  lastFlushAt: number;
}

type Waiter = (err: null, arg: unknown) => void;

function release(w: unknown[]): void {
  for (let i = 0; i < w.length; i += 2) (w[i] as Waiter)(null, w[i + 1]);
}

const ADOPT_EVERY_MS = 60_000;
const MAP_HOURS = 4_194_304; // 2^22 hours ≈ year 2448; keyId * 2^22 + hour stays below 2^53

export class UsageMeter {
  private active = new Map<number, Bucket>();
  private activeBuckets = 0;
  private activeRequests = 0;
  private activeSince = 0;
  private dirty: Bucket[] = [];
  /** callback, argument, callback, argument … of the responses waiting for the journal */
  private waiting: unknown[] = [];
  private tickScheduled = false;
  private readonly queue: Batch[] = [];
  private readonly journal: Journal | null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private failures = 0;
  private nextAttemptAt = 0;
  private lastPrune = 0;
  private lastAdopt = 0;
  private closed = false;
  private nudged = false;
  /** journal text that failed to be written (retried first by the next write) */
  private unwritten = '';
  private journalFailing = false;
  private readonly memBoot = randomBytes(6).toString('hex');
  private memSeq = 0;
  /** Test hook: called before each batch is applied; throwing simulates a database outage. */
  fault: (() => void | Promise<void>) | null = null;
  /** Observer of each applied batch's transaction time. */
  onFlushed: ((ms: number) => void) | null = null;

  readonly stats: MeterStats = {
    billed: 0,
    unbilled: 0,
    rejected: 0,
    flushes: 0,
    flushFailures: 0,
    duplicates: 0,
    journalErrors: 0,
    skippedLines: 0,
    lastFlushMs: 0,
    lastFlushAt: 0,
  };

  private readonly flushAtBuckets: number;
  private readonly maxBuckets: number;
  private readonly drainTimeoutMs: number;
  private readonly backoffMinMs: number;
  private readonly backoffMaxMs: number;

  constructor(
    private readonly ctx: Pick<Ctx, 'k' | 'clock' | 'log'>,
    private readonly opts: MeterOptions,
  ) {
    this.flushAtBuckets = opts.flushAtBuckets ?? 20_000;
    this.maxBuckets = opts.maxBuckets ?? 200_000;
    this.drainTimeoutMs = opts.drainTimeoutMs ?? 5_000;
    this.backoffMinMs = opts.backoffMinMs ?? 100;
    this.backoffMaxMs = opts.backoffMaxMs ?? 5_000;
    this.journal = opts.dataDir ? new Journal(opts.dataDir) : null;
  }

  /** Queues the journal segments of dead processes for replay and starts the flush timer. */
  start(): void {
    this.adoptOrphans();
    this.schedule(this.queue.length ? 0 : this.opts.flushMs);
  }

  /**
   * Queues journal segments left by processes that are gone (SIGKILL, crash, a drain that timed
   * out): at start, every ADOPT_EVERY_MS, and at close, so an instance sharing the data directory
   * picks up a dead neighbour's counts. Replays are idempotent (batch ids), so two instances
   * adopting the same segment never double count.
   */
  adoptOrphans(): number {
    if (!this.journal) return 0;
    this.lastAdopt = Date.now();
    let n = 0;
    try {
      const queued = new Set(this.queue.map((b) => b.path));
      for (const o of this.journal.orphans()) {
        if (queued.has(o.path)) continue;
        this.queue.push({
          id: o.batchId,
          path: o.path,
          deltas: null,
          buckets: 0,
          requests: 0,
          since: this.ctx.clock.now(),
          complete: true,
          local: false,
        });
        n += 1;
      }
    } catch (err) {
      this.ctx.log.error({ err }, 'usage: cannot scan the journal directory');
    }
    if (n) this.ctx.log.info({ segments: n }, 'usage: replaying journal segments of a stopped process');
    else this.journal.sweep();
    return n;
  }

  // ---- hot path -------------------------------------------------------------------------------

  /** Counts one billed request of this key at `now` with the key's current price. */
  record(a: KeyActor, now: number): void {
    const hour = Math.floor(now / HOUR_MS);
    const mk = a.keyId * MAP_HOURS + hour;
    const head = this.active.get(mk);
    let b = head;
    while (b !== undefined && (b.price !== a.priceMicros || b.keyId !== a.keyId || b.hour !== hour))
      b = b.next ?? undefined;
    let created = false;
    if (b === undefined) {
      b = new Bucket(a.keyId, a.projectId, hour, a.priceMicros);
      if (head !== undefined) {
        b.next = head.next;
        head.next = b;
      } else this.active.set(mk, b);
      this.activeBuckets += 1;
      created = true;
    }
    if (this.activeRequests++ === 0) this.activeSince = now;
    b.count += 1;
    this.stats.billed += 1;
    if (this.journal !== null) {
      if (b.unj++ === 0) this.dirty.push(b);
      if (!this.tickScheduled) {
        this.tickScheduled = true;
        setImmediate(this.tick);
      }
    }
    // after the count is complete: nudge() may seal the active set (a sealed bucket never changes)
    if (created && this.activeBuckets >= this.flushAtBuckets) this.nudge();
  }

  /**
   * Runs `cb(null, arg)` once every count recorded so far is in the journal (immediately without
   * a journal). Callback and argument are queued as they are, so the hot path allocates no closure.
   */
  whenDurable<T>(cb: (err: null, arg: T) => void, arg?: T): void {
    if (!this.tickScheduled) cb(null, arg as T);
    else this.waiting.push(cb as Waiter, arg);
  }

  private readonly tick = (): void => {
    this.tickScheduled = false;
    const durable = this.writeJournal();
    const w = this.waiting;
    if (!w.length) return;
    this.waiting = [];
    if (durable) {
      release(w);
      return;
    }
    // The journal could not take this tick's counts: make them durable in the database before the
    // responses leave. If the database fails too they stay in memory (retried by the flusher).
    void this.runRound(true)
      .catch(() => {})
      .finally(() => release(w));
  };

  /** True while the journal cannot be written: new key requests are refused (503) until it can. */
  get refusing(): boolean {
    return this.journalFailing;
  }

  /** Writes the counts not yet journaled; false when the journal write failed. */
  private writeJournal(): boolean {
    if (this.journal === null) return true;
    const d = this.dirty;
    if (!d.length && !this.unwritten) return true;
    this.dirty = [];
    let text = this.unwritten;
    for (const b of d) {
      text += journalLine(b, b.unj);
      b.unj = 0;
    }
    try {
      this.journal.append(text);
    } catch (err) {
      this.unwritten = err instanceof JournalWriteError ? err.rest : text;
      this.stats.journalErrors += 1;
      if (!this.journalFailing) {
        this.journalFailing = true;
        this.ctx.log.error(
          { err: err instanceof JournalWriteError ? err.cause : err },
          'usage: journal write failed; refusing key requests until it can be written',
        );
      }
      return false;
    }
    this.unwritten = '';
    if (this.journalFailing) {
      this.journalFailing = false;
      this.ctx.log.warn('usage: journal writable again; key requests accepted');
    }
    return true;
  }

  /** While failing: retries the journal (a newline when nothing is pending; replay skips blank lines). */
  private probeJournal(): void {
    if (!this.journalFailing) return;
    if (!this.unwritten && !this.dirty.length) this.unwritten = '\n';
    this.writeJournal();
  }

  // ---- batches --------------------------------------------------------------------------------

  /** Moves the active buckets (and the journal segment holding exactly them) into the queue. */
  private seal(): void {
    if (this.activeRequests === 0) return;
    const complete = this.writeJournal();
    // what could not be written belongs to this batch, which now lives in memory until committed
    this.unwritten = '';
    const seg = this.journal?.seal() ?? { path: null, batchId: `mem-${this.memBoot}:${this.memSeq++}` };
    const deltas: BucketDelta[] = [];
    for (const head of this.active.values()) for (let b: Bucket | null = head; b; b = b.next) deltas.push(b);
    this.queue.push({
      id: seg.batchId,
      path: seg.path,
      deltas,
      buckets: this.activeBuckets,
      requests: this.activeRequests,
      since: this.activeSince,
      complete,
      local: true,
    });
    this.active = new Map();
    this.activeBuckets = 0;
    this.activeRequests = 0;
    this.spillIfNeeded();
  }

  /** Memory bound: queued batches beyond maxBuckets keep only their journal segment. */
  private spillIfNeeded(): void {
    let held = this.activeBuckets;
    for (const b of this.queue) if (b.deltas) held += b.buckets;
    for (let i = this.queue.length - 1; i > 0 && held > this.maxBuckets; i--) {
      const b = this.queue[i] as Batch;
      if (b.deltas && b.path && b.complete) {
        held -= b.buckets;
        b.deltas = null;
      }
    }
  }

  private async applyHead(): Promise<void> {
    const batch = this.queue[0] as Batch;
    if (this.fault) await this.fault();
    let deltas = batch.deltas;
    if (deltas === null && batch.path) {
      const read = await readSegment(batch.path);
      if (read === null) {
        // another process replayed and removed it after commit
        this.queue.shift();
        return;
      }
      deltas = read.deltas;
      this.stats.skippedLines += read.skipped;
      if (read.skipped) this.ctx.log.warn({ skipped: read.skipped }, 'usage: skipped torn journal lines');
    }
    const t0 = performance.now();
    const res = await applyBatch(this.ctx.k, batch.id, deltas ?? [], this.ctx.clock.now());
    this.stats.lastFlushMs = performance.now() - t0;
    this.onFlushed?.(this.stats.lastFlushMs);
    this.stats.lastFlushAt = this.ctx.clock.now();
    this.stats.flushes += 1;
    if (res === 'duplicate') this.stats.duplicates += 1;
    // a duplicate of a local batch committed on an earlier attempt whose answer was lost
    if (batch.local) this.opts.quota?.committed(deltas ?? []);
    this.queue.shift();
    if (batch.path) {
      try {
        fs.unlinkSync(batch.path);
      } catch {
        /* already gone */
      }
    }
  }

  /** One flush round: seal when the queue is empty (or forced), then apply queued batches in order. */
  private async round(force: boolean): Promise<void> {
    if (Date.now() - this.lastAdopt > ADOPT_EVERY_MS) this.adoptOrphans();
    if (this.queue.length === 0 || force) this.seal();
    while (this.queue.length) {
      await this.applyHead();
    }
    await this.opts.quota?.refreshIfDue();
    const now = this.ctx.clock.now();
    if (now - this.lastPrune > HOUR_MS) {
      this.lastPrune = now;
      await pruneBatches(this.ctx.k, now - 35 * 24 * HOUR_MS).catch(() => {});
    }
  }

  private runRound(force: boolean): Promise<void> {
    const prev = this.running ?? Promise.resolve();
    const p = prev
      .catch(() => {})
      .then(async () => {
        try {
          await this.round(force);
          this.failures = 0;
          this.nextAttemptAt = 0;
        } catch (err) {
          this.failures += 1;
          this.stats.flushFailures += 1;
          const backoff = Math.min(this.backoffMaxMs, this.backoffMinMs * 2 ** Math.min(this.failures - 1, 16));
          this.nextAttemptAt = Date.now() + backoff * (0.75 + Math.random() * 0.5);
          if (this.failures === 1 || this.failures % 20 === 0) {
            this.ctx.log.warn(
              { err, failures: this.failures, buffered: this.bufferedRequests },
              'usage: flush failed, counts kept',
            );
          }
          // bound memory while the database is away
          if (this.activeBuckets >= this.maxBuckets) this.seal();
          throw err;
        }
      });
    this.running = p;
    void p
      .finally(() => {
        if (this.running === p) this.running = null;
      })
      .catch(() => {});
    return p;
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(this.onTimer, ms);
    this.timer.unref();
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    this.nudged = false;
    if (this.closed) return;
    this.journal?.heartbeat();
    this.probeJournal();
    const wait = this.nextAttemptAt - Date.now();
    if (this.running || wait > 0) {
      this.schedule(Math.max(10, Math.min(wait > 0 ? wait : this.opts.flushMs, this.opts.flushMs)));
      return;
    }
    this.runRound(false)
      .catch(() => {})
      .finally(() => this.schedule(this.failures ? Math.max(10, this.nextAttemptAt - Date.now()) : this.opts.flushMs));
  };

  /** Early flush when many buckets are buffered; seals at the cap while the database is away. */
  private nudge(): void {
    if (this.activeBuckets >= this.maxBuckets && (this.failures > 0 || this.running)) {
      this.seal();
      return;
    }
    if (!this.nudged && !this.running && this.failures === 0 && this.timer) {
      this.nudged = true;
      this.schedule(0);
    }
  }

  /** Writes everything counted so far to the database now (tests, shutdown). Throws if the DB fails. */
  async flush(): Promise<void> {
    this.writeJournal();
    await this.runRound(true);
  }

  /** Drains on shutdown: retries until drainTimeoutMs; what cannot be written stays in the journal. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.tick();
    this.adoptOrphans();
    const deadline = Date.now() + this.drainTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.runRound(true);
        break;
      } catch {
        if (Date.now() >= deadline) {
          this.ctx.log.error(
            { buffered: this.bufferedRequests, journal: this.journal?.dir ?? null },
            'usage: database unavailable at shutdown; counts stay in the journal for the next start',
          );
          if (!this.journal) this.ctx.log.error({ lost: this.bufferedRequests }, 'usage: no journal, counts lost');
          break;
        }
        await new Promise((r) => setTimeout(r, Math.min(1000, 100 * 2 ** attempt)));
      }
    }
    this.journal?.sweep();
    this.journal?.close();
  }

  // ---- observability --------------------------------------------------------------------------

  get bufferedBuckets(): number {
    let n = this.activeBuckets;
    for (const b of this.queue) if (b.deltas) n += b.buckets;
    return n;
  }

  get bufferedRequests(): number {
    let n = this.activeRequests;
    for (const b of this.queue) n += b.requests;
    return n;
  }

  get spilledBatches(): number {
    let n = 0;
    for (const b of this.queue) if (!b.deltas) n += 1;
    return n;
  }

  /** Age in ms of the oldest count not yet in the database (0 when everything is flushed). */
  lagMs(now: number): number {
    let oldest = this.activeRequests ? this.activeSince : Number.POSITIVE_INFINITY;
    for (const b of this.queue) oldest = Math.min(oldest, b.since);
    return Number.isFinite(oldest) ? Math.max(0, now - oldest) : 0;
  }

  get journalDir(): string | null {
    return this.journal?.dir ?? null;
  }
}
