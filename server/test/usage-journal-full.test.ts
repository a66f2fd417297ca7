// Disk full under the usage journal: a real tmpfs of a few KiB mounted on the
// journal directory and filled up. Key requests whose counts cannot be journaled are made durable
// in the database before their answers leave; new key requests are refused (503 UNAVAILABLE, not
// billed) until the journal takes writes again; every 200 is billed exactly once.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeTestApp, signUp, snapshot, type TestApp } from './helpers.js';
import { issueKey } from './keys-helpers.js';
import { Tally } from './security-helpers.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyport-jfull-'));
const journalDir = path.join(dataDir, 'usage-journal');

/** Mounting needs root (CI and this machine run as root); elsewhere the suite says why it skips. */
function mountTmpfs(): boolean {
  fs.mkdirSync(journalDir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', journalDir], { stdio: 'pipe' });
    return true;
  } catch (err) {
    console.warn(`usage-journal-full: cannot mount a tmpfs (${String(err).split('\n')[0]}); skipped`);
    return false;
  }
}

const mounted = mountTmpfs();

/** Fills the file system: writes until ENOSPC. */
function fill(file: string): void {
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(512, 0x61);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (err) {
    expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    fs.closeSync(fd);
  }
}

describe.skipIf(!mounted)('usage journal on a full disk', () => {
  let t: TestApp;
  const tally = new Tally('journal disk full');

  beforeAll(async () => {
    t = await makeTestApp({ dataDir });
  });
  afterAll(async () => {
    tally.report();
    await t?.close();
    try {
      execFileSync('umount', [journalDir]);
    } catch {
      /* not mounted */
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses new key requests rather than serve them unjournaled, and recovers when space returns', async () => {
    const owner = await signUp(t.app, 'Owner');
    const holder = await signUp(t.app, 'Holder');
    const projectId = ((await owner.post('/api/projects', { name: 'Full' })).json() as { id: number }).id;
    const k = await issueKey(t, owner, holder, { projectId, permissions: { project: ['project_view'] } });
    const key = bearer(t.app, k.token);
    expect((await key.get('/api/auth/whoami')).statusCode).toBe(200); // journal works
    await t.app.usage.flush();

    const filler = path.join(journalDir, 'filler');
    fill(filler);
    const errorsBefore = t.app.usage.stats.journalErrors;
    // the first request after the disk filled: its count cannot be journaled, so the answer waits
    // for the database instead; then the meter refuses
    const first = await key.get('/api/auth/whoami');
    expect(first.statusCode).toBe(200);
    expect(t.app.usage.stats.journalErrors).toBeGreaterThan(errorsBefore);
    expect(t.app.usage.bufferedRequests).toBe(0); // already in the database, not only in memory
    expect(t.app.usage.refusing).toBe(true);

    const before = await snapshot(t.app);
    const refused = await key.get('/api/auth/whoami');
    tally.rejects('key request while the journal is full', refused, 503, 'UNAVAILABLE');
    expect(refused.headers['retry-after']).toBe('5');
    const write = await key.post(`/api/projects/${projectId}/data_layers`, { name: 'x' });
    tally.rejects('key write while the journal is full', write, 503, 'UNAVAILABLE'); // before the route
    expect(await snapshot(t.app)).toEqual(before);
    // people (session cookies) are not metered and keep working
    expect((await owner.get(`/api/projects/${projectId}`)).statusCode).toBe(200);

    fs.rmSync(filler);
    // the meter probes the journal on its flush timer (≤ 1 s)
    const deadline = Date.now() + 5000;
    while (t.app.usage.refusing && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(t.app.usage.refusing).toBe(false);
    for (let i = 0; i < 5; i++) expect((await key.get('/api/auth/whoami')).statusCode).toBe(200);

    await t.app.usage.flush();
    const res = await owner.get(`/api/projects/${projectId}/issued-keys?from=2020-01-01&to=2040-01-01`);
    const row = (res.json() as { items: { id: number; requests: number }[] }).items.find((i) => i.id === k.keyId);
    expect(row?.requests).toBe(1 + 1 + 5); // every 200, none of the 503s
    expect(t.logs.join('')).toContain('usage: journal write failed');
  });
});
