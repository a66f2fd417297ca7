// Operator command: rotate the master key (lib/data-keys.ts rotateMasterKey).
//
//   npx tsx server/src/modules/secrets/rotate-master-key.ts --new-key-file FILE
//   npx tsx server/src/modules/secrets/rotate-master-key.ts --generate
//
// Opens the database and the current master key exactly like the server (DATABASE_URL,
// KEYPORT_DATA_DIR, KEYPORT_MASTER_KEY or <dataDir>/master.key), re-wraps every project data key
// and re-seals every signing key under the new key in one transaction. Stop the servers first (a
// server still running with the old key cannot open the re-wrapped keys), then:
//   - key from <dataDir>/master.key: the file is replaced (atomically, mode 0600);
//   - key from KEYPORT_MASTER_KEY: set it to the new key (printed with --generate) before restarting.
// Re-running after an interruption is safe: values already under the new key are skipped.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../config.js';
import type { Ctx } from '../../context.js';
import { openDb } from '../../db/dialect.js';
import { migrateToLatest } from '../../db/migrate.js';
import { systemClock } from '../../lib/clock.js';
import { rotateMasterKey } from '../../lib/data-keys.js';
import { loadMasterKey, masterKeyFrom } from '../../lib/master-key.js';

function newKeyFrom(argv: string[]): { bytes: Buffer; generated: boolean } {
  if (argv[0] === '--generate' && argv.length === 1) return { bytes: randomBytes(32), generated: true };
  if (argv[0] === '--new-key-file' && argv[1] && argv.length === 2) {
    const bytes = Buffer.from(fs.readFileSync(argv[1], 'utf8').trim(), 'base64');
    if (bytes.length !== 32) throw new Error(`${argv[1]} does not hold a 32-byte base64 key`);
    return { bytes, generated: false };
  }
  throw new Error('usage: rotate-master-key.ts --new-key-file FILE | --generate');
}

async function main() {
  const { bytes, generated } = newKeyFrom(process.argv.slice(2));
  const config = loadConfig();
  const { master } = loadMasterKey(config.masterKey, config.dataDir);
  const next = masterKeyFrom(bytes);
  if (next.name === master.name) throw new Error('the new master key is the current one');
  const db = openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrateToLatest(db);
    const log = {
      info: () => {},
      warn: () => {},
      error: (o: object | string, m?: string) => console.error(m ?? o, typeof o === 'object' ? o : ''),
    };
    const ctx = { config, db, k: db.kysely, clock: systemClock, master, log } as unknown as Ctx;
    const result = await rotateMasterKey(ctx, next);
    console.log(
      `re-wrapped ${result.rewrapped} project data keys and ${result.signingKeys} signing keys (${result.skipped} already under the new key)`,
    );
  } finally {
    await db.close();
  }
  if (!config.masterKey) {
    const file = path.join(config.dataDir, 'master.key');
    const tmp = `${file}.new`;
    fs.writeFileSync(tmp, `${bytes.toString('base64')}\n`, { mode: 0o600 });
    fs.renameSync(tmp, file);
    console.log(`${file} now holds the new master key (${next.name}); start the server(s) again`);
  } else if (generated) {
    console.log(`set KEYPORT_MASTER_KEY=${bytes.toString('base64')} (${next.name}) and start the server(s) again`);
  } else {
    console.log(`set KEYPORT_MASTER_KEY to the new key (${next.name}) and start the server(s) again`);
  }
}

main().catch((err) => {
  console.error(`rotate-master-key: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
