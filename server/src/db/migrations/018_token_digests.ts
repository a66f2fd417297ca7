// The SHA-256 of each key's token (base64url), taken when the key is issued or rolled: the key
// directory checks a first-seen token by comparing its digest, a hash instead of an Ed25519
// verification (ADR 0002). Keys issued before get theirs at the next start (digest-backfill.ts);
// until then they are checked by signature.
import { type Kysely, type Migration, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations work on the untyped schema
type AnyDb = Kysely<any>;

export function tokenDigests(): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema.alterTable('api_keys').addColumn('token_sha256', 'text').execute();
      // the backfill's lookup at every start: only the keys still without a digest, not every key
      await db.schema
        .createIndex('api_keys_without_digest')
        .on('api_keys')
        .column('id')
        .where(sql.ref('token_sha256'), 'is', null)
        .execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropIndex('api_keys_without_digest').execute();
      await db.schema.alterTable('api_keys').dropColumn('token_sha256').execute();
    },
  };
}
