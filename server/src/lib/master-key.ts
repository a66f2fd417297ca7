// The master key seals signing keys and wraps per-project data keys. From KEYPORT_MASTER_KEY,
// else `<dataDir>/master.key`, generated (0600) on first start.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sha256hex } from './crypto.js';
import { ensurePrivateDir, PRIVATE_FILE_MODE, tighten } from './data-dir.js';

export interface MasterKey {
  readonly key: Buffer;
  /** short public name derived from the key: lets a sealed value say which master key made it */
  readonly name: string;
}

export function masterKeyFrom(bytes: Buffer): MasterKey {
  if (bytes.length !== 32) throw new Error('master key must be 32 bytes');
  return { key: bytes, name: `mk-${sha256hex(bytes).slice(0, 12)}` };
}

export function loadMasterKey(configured: string | null, dataDir: string): { master: MasterKey; generated: boolean } {
  if (configured) return { master: masterKeyFrom(Buffer.from(configured, 'base64')), generated: false };
  const file = path.join(dataDir, 'master.key');
  if (fs.existsSync(file)) {
    tighten(file, PRIVATE_FILE_MODE);
    const text = fs.readFileSync(file, 'utf8').trim();
    const bytes = Buffer.from(text, 'base64');
    if (bytes.length !== 32) throw new Error(`${file} does not hold a 32-byte base64 master key`);
    return { master: masterKeyFrom(bytes), generated: false };
  }
  ensurePrivateDir(dataDir);
  const bytes = randomBytes(32);
  fs.writeFileSync(file, `${bytes.toString('base64')}\n`, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  return { master: masterKeyFrom(bytes), generated: true };
}
