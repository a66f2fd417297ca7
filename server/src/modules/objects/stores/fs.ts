// A directory: <dir>/<k[0..2]>/<k[2..4]>/<key>, written as <dir>/tmp/<random>.part, flushed to
// disk (fdatasync) and renamed into place once the body ended cleanly, so a reader never sees a
// partial file and a crash leaves at most a .part file for `sweep`. Directories 0700, files 0600,
// like the rest of the data directory.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ensurePrivateDir, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../../lib/data-dir.js';
import { type ByteRange, NotStoredError, type ObjectStore } from './store.js';

const KEY_RE = /^[0-9a-f]{64}\.[0-9a-f]{16}$/;
/** Larger reads than the default 64 KiB: fewer syscalls and event-loop turns per GiB. */
const READ_CHUNK = 1024 * 1024;

export class FsStore implements ObjectStore {
  readonly name = 'fs' as const;
  private readonly tmp: string;

  constructor(private readonly dir: string) {
    this.tmp = path.join(dir, 'tmp');
    ensurePrivateDir(this.tmp);
    ensurePrivateDir(dir);
  }

  private pathOf(key: string): string {
    // keys come from our own rows, but a path must never leave the directory
    if (!KEY_RE.test(key)) throw new Error('invalid fs object key');
    return path.join(this.dir, key.slice(0, 2), key.slice(2, 4), key);
  }

  async put(key: string, body: Readable): Promise<number> {
    const final = this.pathOf(key);
    const part = path.join(this.tmp, `${randomBytes(12).toString('hex')}.part`);
    try {
      // flush: fsync before close, so the row written next never names bytes still in page cache
      await pipeline(body, fs.createWriteStream(part, { flags: 'wx', mode: PRIVATE_FILE_MODE, flush: true }));
      const { size } = await fsp.stat(part);
      await fsp.mkdir(path.dirname(final), { recursive: true, mode: PRIVATE_DIR_MODE });
      await fsp.rename(part, final);
      return size;
    } catch (err) {
      await fsp.rm(part, { force: true });
      throw err;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    let file: fsp.FileHandle;
    try {
      file = await fsp.open(this.pathOf(key), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotStoredError(key);
      throw err;
    }
    return file.createReadStream({ highWaterMark: READ_CHUNK, ...(range ?? {}) });
  }

  async head(key: string): Promise<number | null> {
    try {
      return (await fsp.stat(this.pathOf(key))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await fsp.rm(this.pathOf(key), { force: true });
  }

  async sweep(before: number): Promise<number> {
    let n = 0;
    for (const name of await fsp.readdir(this.tmp)) {
      const p = path.join(this.tmp, name);
      const st = await fsp.stat(p).catch(() => null);
      if (st && st.mtimeMs < before) {
        await fsp.rm(p, { force: true });
        n += 1;
      }
    }
    return n;
  }

  async *list(before: number): AsyncIterable<string> {
    for (const a of await subdirs(this.dir)) {
      for (const b of await subdirs(path.join(this.dir, a))) {
        const leaf = path.join(this.dir, a, b);
        for (const name of await fsp.readdir(leaf).catch(() => [] as string[])) {
          if (!KEY_RE.test(name)) continue;
          const st = await fsp.stat(path.join(leaf, name)).catch(() => null);
          if (st && st.mtimeMs < before) yield name;
        }
      }
    }
  }

  async close(): Promise<void> {}
}

/** The two-hex-digit fan-out directories under `dir` (not tmp/). */
async function subdirs(dir: string): Promise<string[]> {
  const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => [] as fs.Dirent[]);
  return entries.filter((e) => e.isDirectory() && /^[0-9a-f]{2}$/.test(e.name)).map((e) => e.name);
}
