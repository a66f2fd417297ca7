// Keys issued before token digests were kept get theirs once, in the background after start: their
// tokens are signed again (Ed25519 is deterministic, so this yields the token the holder has) and
// hashed. Each key's `updated_at` moves, so every instance's key directory reads the digest at its
// next poll and recognises the key's first-seen token without a signature check from then on.
// Several instances may run it at once: each row is written only while it has no digest, and
// every instance computes the same digest.
import type { Ctx } from '../../context.js';
import { CLAIM_COLUMNS, withTokenDigest } from './tokens.js';

const BATCH = 500;

/** Gives live keys without a token digest theirs; answers how many it gave one. */
export async function backfillTokenDigests(ctx: Ctx, shouldStop: () => boolean = () => false): Promise<number> {
  let done = 0;
  for (let after = 0; !shouldStop(); ) {
    const rows = await ctx.k
      .selectFrom('api_keys')
      .select(['id', ...CLAIM_COLUMNS])
      .where('token_sha256', 'is', null)
      .where('revoked_at', 'is', null)
      .where('id', '>', after)
      .orderBy('id')
      .limit(BATCH)
      .execute();
    if (rows.length === 0) break;
    after = rows[rows.length - 1]?.id ?? after;
    const digests: { id: number; token_sha256: string }[] = [];
    for (const r of rows) {
      try {
        digests.push({ id: r.id, token_sha256: (await withTokenDigest(ctx, r)).row.token_sha256 });
      } catch (err) {
        // a signing key that cannot be opened: that key keeps being checked by signature
        ctx.log.warn({ err, keyId: r.id }, 'token digest backfill: cannot sign the key again');
      }
    }
    const now = ctx.clock.now();
    await ctx.k.transaction().execute(async (trx) => {
      for (const d of digests)
        await trx
          .updateTable('api_keys')
          .set({ token_sha256: d.token_sha256, updated_at: now })
          .where('id', '=', d.id)
          .where('token_sha256', 'is', null)
          .execute();
    });
    done += digests.length;
  }
  if (done > 0) ctx.log.info({ keys: done }, 'token digests kept for keys issued before');
  return done;
}
