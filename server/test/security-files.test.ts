// The data directory is the server's alone: the directory 0700, the database and its -wal/-shm,
// the master key, the usage journal and the demo credentials 0600 (they used to be 0644 in a
// 0755 directory: any local user could copy the database). SQLite only: on PostgreSQL the
// database is not a file of ours.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../src/demo.js';
import { loadMasterKey } from '../src/lib/master-key.js';
import { makeProject, makeTestApp, PG_URL, signUp, type TestApp } from './helpers.js';
import { issueKey } from './keys-helpers.js';
import { keyPermissions, Tally } from './security-helpers.js';

const tally = new Tally('files');
const FILES = ['keyport.db', 'keyport.db-wal', 'keyport.db-shm', 'master.key', 'usage-journal'];
const mode = (p: string) => fs.statSync(p).mode & 0o777;
const octal = (m: number) => m.toString(8).padStart(4, '0');

/** Every path under `dir` with its mode. */
function tree(dir: string): [string, number, boolean][] {
  const out: [string, number, boolean][] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    out.push([p, mode(p), e.isDirectory()]);
    if (e.isDirectory()) out.push(...tree(p));
  }
  return out;
}

function checkPrivate(label: string, dataDir: string, expected: string[]) {
  tally.manual(`${label}: the data directory is 0700 (got ${octal(mode(dataDir))})`, mode(dataDir) === 0o700);
  const entries = tree(dataDir);
  const names = entries.map(([p]) => path.relative(dataDir, p));
  for (const name of expected) expect(names, `${label}: ${name} exists`).toContain(name);
  for (const [p, m, isDir] of entries) {
    const want = isDir ? 0o700 : 0o600;
    tally.manual(`${label}: ${path.relative(dataDir, p)} is ${octal(want)} (got ${octal(m)})`, m === want);
  }
}

describe.skipIf(PG_URL !== null)(
  'files: data directory modes (SQLite only; skipped on PostgreSQL: no database file)',
  () => {
    let root: string;
    let t: TestApp | null = null;
    beforeAll(() => {
      root = fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-files-'));
    });
    afterAll(async () => {
      await t?.close();
      fs.rmSync(root, { recursive: true, force: true });
      tally.report();
    });

    it('a fresh data directory, its database, journal and master key are private after writes', async () => {
      const dataDir = path.join(root, 'fresh', 'data');
      loadMasterKey(null, dataDir); // the server's own start-up generates <dataDir>/master.key
      t = await makeTestApp({ dataDir });
      expect(await seedDemo(t.app)).not.toBeNull(); // writes <dataDir>/demo-credentials.txt
      const owner = await signUp(t.app, 'Owner');
      const holder = await signUp(t.app, 'Holder');
      const P = await makeProject(owner, 'Files');
      const key = await issueKey(t, owner, holder, { projectId: P.projectId, permissions: keyPermissions(P) });
      // a billed key request: the usage journal gets a segment before the answer goes out. Flushes
      // are held (a committed segment is deleted, and the 1 s flush could land before the listing)
      t.app.usage.fault = () => {
        throw new Error('flush held by the test');
      };
      const res = await t.app.inject({
        method: 'GET',
        url: `/api/projects/${P.projectId}/data_layers`,
        headers: { authorization: `Bearer ${key.token}` },
      });
      expect(res.statusCode).toBe(200);
      const journal = fs.readdirSync(path.join(dataDir, 'usage-journal'));
      expect(journal.some((n) => n.endsWith('.jnl'))).toBe(true);
      expect(journal.some((n) => n.endsWith('.alive'))).toBe(true);
      checkPrivate('fresh', dataDir, [...FILES, 'demo-credentials.txt']);
      t.app.usage.fault = null;
      await t.close();
      t = null;
    });

    it('an existing world-readable data directory and database of ours are tightened at start', async () => {
      const dataDir = path.join(root, 'old');
      fs.mkdirSync(dataDir, { mode: 0o755 });
      fs.chmodSync(dataDir, 0o755);
      const old: [string, string][] = [
        ['keyport.db', ''], // an empty file is a new SQLite database
        ['master.key', `${Buffer.alloc(32, 7).toString('base64')}\n`],
        ['demo-credentials.txt', 'old credentials\n'],
      ];
      for (const [name, text] of old) {
        fs.writeFileSync(path.join(dataDir, name), text);
        fs.chmodSync(path.join(dataDir, name), 0o644);
      }
      fs.mkdirSync(path.join(dataDir, 'usage-journal'), { mode: 0o755 });
      fs.chmodSync(path.join(dataDir, 'usage-journal'), 0o755);
      loadMasterKey(null, dataDir);
      t = await makeTestApp({ dataDir });
      expect(await seedDemo(t.app)).not.toBeNull(); // rewrites the old demo-credentials.txt
      await signUp(t.app, 'Again');
      checkPrivate('existing', dataDir, [...FILES, 'demo-credentials.txt']);
      await t.close();
      t = null;
    });
  },
);
