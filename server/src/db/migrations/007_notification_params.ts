// Notifications keep the structured parameters of their text (requester, template, project,
// reason) as a JSON object, so the web UI can write the body in its own language. `body` stays
// (English) for e-mail and for rows written before this column existed (params NULL).
import type { Kysely, Migration } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations work on the untyped schema
type AnyDb = Kysely<any>;

export function notificationParams(): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema.alterTable('notifications').addColumn('params', 'text').execute();
    },
    async down(db: AnyDb) {
      await db.schema.alterTable('notifications').dropColumn('params').execute();
    },
  };
}
