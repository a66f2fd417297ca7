// Append-only local journal of usage counts, in segments: <dataDir>/usage-journal/<boot>-<seq>.jnl.
// One line per (key, hour, price) delta: "key,project,hourIndex,priceMicros,count\n". A segment is
// sealed when its counts are handed to the flusher; it is deleted after the batch (id "<boot>:<seq>")
// committed. Each running meter keeps <boot>.alive (host, pid; touched every few seconds). Segments
// whose owner is gone (same host: its pid is dead; other host sharing the directory: heartbeat
// older than STALE_MS) are replayed by any meter; the batch id makes a replay idempotent (a batch
// that committed before the crash is skipped).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../../lib/data-dir.js';

export interface BucketDelta {
  keyId: number;
  projectId: number;
  /** epoch hours (ms / 3_600_000) */
  hour: number;
  price: number;
  count: number;
}

const NAME = /^([0-9a-f]{12})-(\d+)\.jnl$/;
const ALIVE = /^([0-9a-f]{12})\.alive$/;
/** A meter on another host sharing the directory is presumed dead after this long without a heartbeat. */
export const STALE_MS = 30_000;
const HEARTBEAT_MS = 5_000;

/** Boot ids of meters alive in this process (several apps may share a process in tests). */
const liveBoots = new Set<string>();

/** A journal write that did not complete; `rest` is the text still to be written. */
export class JournalWriteError extends Error {
  constructor(
    readonly rest: string,
    cause: unknown,
  ) {
    super(`usage journal write failed: ${(cause as NodeJS.ErrnoException)?.code ?? String(cause)}`, { cause });
  }
}

export interface OrphanSegment {
  path: string;
  batchId: string;
}

export class Journal {
  readonly bootId = randomBytes(6).toString('hex');
  readonly dir: string;
  private seq = 0;
  private fd: number | null = null;
  private file: string | null = null;
  /** Bytes appended to the open segment. */
  bytes = 0;

  private readonly aliveFile: string;
  private lastBeat = 0;

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, 'usage-journal');
    ensurePrivateDir(dataDir);
    ensurePrivateDir(this.dir);
    liveBoots.add(this.bootId);
    this.aliveFile = path.join(this.dir, `${this.bootId}.alive`);
    fs.writeFileSync(this.aliveFile, JSON.stringify({ host: os.hostname(), pid: process.pid, started: Date.now() }), {
      mode: PRIVATE_FILE_MODE,
    });
    this.lastBeat = Date.now();
  }

  /** Touches the alive file (cheap; at most every HEARTBEAT_MS). */
  heartbeat(): void {
    const now = Date.now();
    if (now - this.lastBeat < HEARTBEAT_MS) return;
    this.lastBeat = now;
    try {
      fs.utimesSync(this.aliveFile, now / 1000, now / 1000);
    } catch {
      try {
        fs.writeFileSync(this.aliveFile, JSON.stringify({ host: os.hostname(), pid: process.pid, started: now }), {
          mode: PRIVATE_FILE_MODE,
        });
      } catch {
        /* reported by the next journal write */
      }
    }
  }

  /** Batch id of the open (or next) segment. */
  get currentBatchId(): string {
    return `${this.bootId}:${this.seq}`;
  }

  get currentPath(): string | null {
    return this.file;
  }

  /**
   * Appends one chunk to the open segment (opened lazily). Synchronous: done before the response
   * goes out. Returns '' when all of it is on disk; on a failed write (disk full, I/O error) it
   * throws a JournalWriteError carrying the part not written, so the caller can retry exactly that
   * (a short write leaves a torn line that the retried remainder completes).
   */
  append(text: string): void {
    let done = 0;
    try {
      if (this.fd === null) {
        const file = path.join(this.dir, `${this.bootId}-${this.seq}.jnl`);
        this.fd = fs.openSync(file, 'a', PRIVATE_FILE_MODE);
        this.file = file;
      }
      const buf = Buffer.from(text, 'latin1');
      while (done < buf.length) done += fs.writeSync(this.fd, buf, done, buf.length - done);
    } catch (err) {
      this.bytes += done;
      throw new JournalWriteError(text.slice(done), err);
    }
    this.bytes += done;
  }

  /** Closes the open segment; returns its path and batch id, and starts a new sequence number. */
  seal(): { path: string | null; batchId: string } {
    const out = { path: this.file, batchId: this.currentBatchId };
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    this.file = null;
    this.bytes = 0;
    this.seq += 1;
    return out;
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    liveBoots.delete(this.bootId);
    try {
      fs.unlinkSync(this.aliveFile);
    } catch {
      /* gone */
    }
  }

  /** Is the meter that wrote segments with this boot id still running? */
  private ownerAlive(boot: string, now: number): boolean {
    if (liveBoots.has(boot)) return true;
    const file = path.join(this.dir, `${boot}.alive`);
    let info: { host?: string; pid?: number };
    let mtime: number;
    try {
      info = JSON.parse(fs.readFileSync(file, 'utf8')) as { host?: string; pid?: number };
      mtime = fs.statSync(file).mtimeMs;
    } catch {
      return false; // closed (alive file removed) or never fully started
    }
    if (info.host === os.hostname() && typeof info.pid === 'number') {
      // same host: the process table is the truth (a closed meter of this process is not alive)
      return info.pid !== process.pid && processAlive(info.pid);
    }
    return now - mtime < STALE_MS;
  }

  /** Segments left by meters that are no longer running (SIGKILL, crash, a drain that timed out). */
  orphans(): OrphanSegment[] {
    const out: { path: string; batchId: string; boot: string; seq: number }[] = [];
    const now = Date.now();
    const alive = new Map<string, boolean>();
    for (const name of fs.readdirSync(this.dir)) {
      const m = NAME.exec(name);
      if (!m) continue;
      const boot = m[1] as string;
      let ok = alive.get(boot);
      if (ok === undefined) {
        ok = this.ownerAlive(boot, now);
        alive.set(boot, ok);
      }
      if (ok) continue;
      out.push({ path: path.join(this.dir, name), batchId: `${boot}:${m[2]}`, boot, seq: Number(m[2]) });
    }
    out.sort((a, b) => a.boot.localeCompare(b.boot) || a.seq - b.seq);
    return out.map(({ path: p, batchId }) => ({ path: p, batchId }));
  }

  /** Removes the alive files of dead meters that have no segment left. */
  sweep(): void {
    try {
      const names = fs.readdirSync(this.dir);
      const withSegments = new Set(names.map((n) => NAME.exec(n)?.[1]).filter((b) => b !== undefined));
      const now = Date.now();
      for (const name of names) {
        const boot = ALIVE.exec(name)?.[1];
        if (boot === undefined || withSegments.has(boot) || this.ownerAlive(boot, now)) continue;
        fs.rmSync(path.join(this.dir, name), { force: true });
      }
    } catch {
      /* best effort */
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Serialises deltas as journal lines. */
export function journalLine(b: BucketDelta, count: number): string {
  return `${b.keyId},${b.projectId},${b.hour},${b.price},${count}\n`;
}

/**
 * Reads a segment into aggregated deltas. A torn last line (no newline) or a malformed line is
 * skipped and counted in `skipped`. Returns null when the file is gone (already applied and removed).
 */
export async function readSegment(file: string): Promise<{ deltas: BucketDelta[]; skipped: number } | null> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const agg = new Map<string, BucketDelta>();
  let skipped = 0;
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let rest = '';
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      const text = rest + buf.toString('latin1', 0, bytesRead);
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (!addLine(agg, line)) skipped += 1;
      }
    }
    if (rest !== '') skipped += 1; // torn write at a crash: never half-counted
  } finally {
    await handle.close();
  }
  return { deltas: [...agg.values()], skipped };
}

const LINE = /^(\d{1,10}),(\d{1,10}),(\d{1,8}),(\d{1,19}),(\d{1,15})$/;

function addLine(agg: Map<string, BucketDelta>, line: string): boolean {
  if (line === '') return true;
  const m = LINE.exec(line);
  if (!m) return false;
  const key = `${m[1]},${m[3]},${m[4]}`;
  const count = Number(m[5]);
  const e = agg.get(key);
  if (e) e.count += count;
  else agg.set(key, { keyId: Number(m[1]), projectId: Number(m[2]), hour: Number(m[3]), price: Number(m[4]), count });
  return true;
}
