// Envelope encryption for project secrets.
//
//   master key (32 bytes, KEYPORT_MASTER_KEY or <dataDir>/master.key, never in the database)
//     └─ wraps one random 32-byte data key per project       -> project_keys.wrapped_key
//          └─ seals every secret value of that project       -> secrets.value_enc
//
// Both layers use lib/crypto seal(): AES-256-GCM, a random 96-bit nonce per value, and the
// versioned format `v1.<key name>.<nonce>.<ciphertext||tag>` that names the key it was made with.
// Associated data binds each ciphertext to where it lives:
//   wrapped data key:  keyport:project-data-key:v1:<project id>
//   secret value:      keyport:secret:v1:<project id>:<secret name>
// so a value copied to another row (another project, or another name) fails authentication
// instead of decrypting. Every failure is a DECRYPTION_FAILED error with a message that names no
// value; decryption authenticates before it returns anything, so there is never partial plaintext.
//
// Master-key rotation: rotateMasterKey(ctx, newMaster) re-wraps every project's data key and
// re-seals the JWT signing keys (the other thing the master key protects) in one transaction;
// secret values stay sealed under their unchanged data keys, issued tokens stay valid.
// Run it, then restart every instance with the new KEYPORT_MASTER_KEY. It is idempotent: values
// already sealed by the new master are skipped, so an interrupted rotation can simply be re-run.
import { randomBytes } from 'node:crypto';
import type { Ctx, Q } from '../context.js';
import { AppError } from '../errors.js';
import { CryptoError, open, seal, sealedKeyName, sha256hex } from './crypto.js';
import type { MasterKey } from './master-key.js';

export interface DataKey {
  readonly projectId: number;
  readonly key: Buffer;
  /** public name of the key, written into every value it seals */
  readonly name: string;
}

const wrapAad = (projectId: number) => `keyport:project-data-key:v1:${projectId}`;
export const secretAad = (projectId: number, name: string) => `keyport:secret:v1:${projectId}:${name}`;

/** A short, non-reversible id for a data key (domain-separated hash, like the master key's name). */
const dataKeyName = (key: Buffer) =>
  `dk-${sha256hex(Buffer.concat([Buffer.from('keyport/data-key-id/'), key])).slice(0, 12)}`;

const unreadable = (message: string) => new AppError('DECRYPTION_FAILED', message);

function unwrap(ctx: Ctx, master: MasterKey, projectId: number, wrapped: string): DataKey {
  let wrappedBy: string;
  try {
    wrappedBy = sealedKeyName(wrapped);
  } catch {
    ctx.log.error({ project_id: projectId }, 'project data key has an unknown format');
    throw unreadable('The secrets of this project cannot be decrypted: its data key is damaged');
  }
  if (wrappedBy !== master.name) {
    ctx.log.error(
      { project_id: projectId, wrapped_by: wrappedBy, server_master: master.name },
      'project data key was wrapped by another master key',
    );
    throw unreadable(
      'The secrets of this project cannot be decrypted: its data key was wrapped by a different master key than the one this server runs with',
    );
  }
  try {
    const key = open(master.key, master.name, wrapped, wrapAad(projectId));
    if (key.length !== 32) throw new CryptoError('bad data key length');
    return { projectId, key, name: dataKeyName(key) };
  } catch {
    ctx.log.error({ project_id: projectId }, 'project data key failed authentication');
    throw unreadable('The secrets of this project cannot be decrypted: its data key failed authentication');
  }
}

/** The project's data key, or null when the project has none yet. */
export async function loadDataKey(q: Q, ctx: Ctx, projectId: number): Promise<DataKey | null> {
  const row = await q
    .selectFrom('project_keys')
    .select('wrapped_key')
    .where('project_id', '=', projectId)
    .executeTakeFirst();
  return row ? unwrap(ctx, ctx.master, projectId, row.wrapped_key) : null;
}

/** The project's data key, created (random 32 bytes, wrapped by the master key) on first use. */
export async function ensureDataKey(q: Q, ctx: Ctx, projectId: number): Promise<DataKey> {
  const existing = await loadDataKey(q, ctx, projectId);
  if (existing) return existing;
  const key = randomBytes(32);
  await q
    .insertInto('project_keys')
    .values({
      project_id: projectId,
      wrapped_key: seal(ctx.master.key, ctx.master.name, key, wrapAad(projectId)),
      created_at: ctx.clock.now(),
    })
    // a concurrent first secret of the same project won the race: use its key
    .onConflict((oc) => oc.column('project_id').doNothing())
    .execute();
  const stored = await loadDataKey(q, ctx, projectId);
  if (!stored) throw new AppError('INTERNAL', 'Could not create the project data key');
  return stored;
}

export function sealSecret(dk: DataKey, name: string, plaintext: string): string {
  return seal(dk.key, dk.name, Buffer.from(plaintext, 'utf8'), secretAad(dk.projectId, name));
}

/**
 * Opens one secret value. `ref` identifies the secret in logs (id and name only).
 * Throws DECRYPTION_FAILED when the value was tampered with, moved from another row or project,
 * or sealed with another key.
 */
export function openSecret(ctx: Ctx, dk: DataKey, name: string, sealed: string, ref: { id: number }): string {
  try {
    return open(dk.key, dk.name, sealed, secretAad(dk.projectId, name)).toString('utf8');
  } catch {
    ctx.log.error({ project_id: dk.projectId, secret_id: ref.id }, 'secret value failed authentication');
    throw unreadable(
      `Secret "${name}" cannot be decrypted: its stored value was altered, moved from another secret, or sealed with another key`,
    );
  }
}

export interface RotationResult {
  /** data keys re-wrapped by the new master key */
  rewrapped: number;
  /** signing keys (modules/keys/signing.ts) re-sealed by the new master key */
  signingKeys: number;
  /** values that were already sealed by the new master key (an earlier, interrupted run) */
  skipped: number;
}

/** Associated data of a sealed signing key; must match modules/keys/signing.ts. */
const signingKeyAad = (kid: string) => `signing-key:${kid}`;

/**
 * Re-wraps every project data key and re-seals every signing key under `newMaster`, in one
 * transaction: either everything moves or nothing does. The old key is ctx.master (plus
 * `oldMasters`, for a database that mixes several). Secret values are untouched (they are sealed
 * by the data keys, which do not change). After it returns, restart the server(s) with the new
 * master key.
 */
export async function rotateMasterKey(
  ctx: Ctx,
  newMaster: MasterKey,
  opts: { oldMasters?: MasterKey[] } = {},
): Promise<RotationResult> {
  const known = new Map<string, MasterKey>([[ctx.master.name, ctx.master]]);
  for (const m of opts.oldMasters ?? []) known.set(m.name, m);
  return ctx.k.transaction().execute(async (trx) => {
    const rows = await trx
      .selectFrom('project_keys')
      .select(['project_id', 'wrapped_key'])
      .orderBy('project_id')
      .execute();
    let rewrapped = 0;
    let skipped = 0;
    for (const row of rows) {
      let by: string;
      try {
        by = sealedKeyName(row.wrapped_key);
      } catch {
        throw unreadable(`Rotation stopped: the data key of project ${row.project_id} is damaged; nothing was changed`);
      }
      if (by === newMaster.name) {
        skipped += 1;
        continue;
      }
      const old = known.get(by);
      if (!old) {
        throw unreadable(
          `Rotation stopped: the data key of project ${row.project_id} was wrapped by an unknown master key; nothing was changed`,
        );
      }
      const dk = unwrap(ctx, old, row.project_id, row.wrapped_key);
      await trx
        .updateTable('project_keys')
        .set({ wrapped_key: seal(newMaster.key, newMaster.name, dk.key, wrapAad(row.project_id)) })
        .where('project_id', '=', row.project_id)
        .execute();
      rewrapped += 1;
    }
    let signingKeys = 0;
    const signing = await trx.selectFrom('signing_keys').select(['kid', 'private_enc']).orderBy('kid').execute();
    for (const row of signing) {
      let by: string;
      try {
        by = sealedKeyName(row.private_enc);
      } catch {
        throw unreadable(`Rotation stopped: signing key ${row.kid} is damaged; nothing was changed`);
      }
      if (by === newMaster.name) {
        skipped += 1;
        continue;
      }
      const old = known.get(by);
      let der: Buffer;
      try {
        if (!old) throw new CryptoError('unknown master key');
        der = open(old.key, old.name, row.private_enc, signingKeyAad(row.kid));
      } catch {
        throw unreadable(
          `Rotation stopped: signing key ${row.kid} cannot be opened with the current master key; nothing was changed`,
        );
      }
      await trx
        .updateTable('signing_keys')
        .set({ private_enc: seal(newMaster.key, newMaster.name, der, signingKeyAad(row.kid)) })
        .where('kid', '=', row.kid)
        .execute();
      signingKeys += 1;
    }
    return { rewrapped, signingKeys, skipped };
  });
}
