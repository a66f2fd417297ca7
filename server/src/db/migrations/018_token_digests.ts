// The SHA-256 of each key's token (base64url), taken when the key is issued or rolled: the key
// directory checks a first-seen token by comparing its digest, a hash instead of an Ed25519
// verification (ADR 0002). Keys issued before have none and keep being checked by signature.
import type { Kysely, Migration } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations work on the untyped schema
type AnyDb = Kysely<any>;

export function tokenDigests(): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema.alterTable('api_keys').addColumn('token_sha256', 'text').execute();
    },
    async down(db: AnyDb) {
      await db.schema.alterTable('api_keys').dropColumn('token_sha256').execute();
    },
  };
}
