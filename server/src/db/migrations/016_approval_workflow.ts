// Approval workflow. A template says how its requests are decided (manual, or auto for everyone or
// for listed email domains), what terms a requester accepts and which fields they fill in; a
// request keeps the values, the hash of the accepted terms and the rule that decided it. Pending
// requests expire. Managers of a project may take request mails as one daily digest: in-app
// notices stay immediate, their mail is marked for the digest, claimed once per manager and day.
import type { Kysely, Migration } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations work on the untyped schema
type AnyDb = Kysely<any>;

export function approvalWorkflow(): Migration {
  return {
    async up(db: AnyDb) {
      const templates = db.schema.alterTable('api_key_templates');
      await templates.addColumn('approval', 'text', (c) => c.notNull().defaultTo('manual')).execute();
      await templates.addColumn('auto_approve_email_domains', 'text', (c) => c.notNull().defaultTo('[]')).execute();
      await templates.addColumn('terms', 'text', (c) => c.notNull().defaultTo('')).execute();
      await templates.addColumn('request_fields', 'text', (c) => c.notNull().defaultTo('[]')).execute();

      const requests = db.schema.alterTable('key_requests');
      await requests.addColumn('fields', 'text', (c) => c.notNull().defaultTo('{}')).execute();
      await requests.addColumn('terms_hash', 'text').execute();
      await requests.addColumn('decided_by_rule', 'text').execute();
      await db.schema
        .createIndex('key_requests_pending')
        .on('key_requests')
        .columns(['status', 'created_at'])
        .execute();

      await db.schema
        .alterTable('projects')
        .addColumn('request_mail', 'text', (c) => c.notNull().defaultTo('immediate'))
        .execute();

      // 1: the mail of this notice waits for the recipient's daily digest; digested_at: it went out
      await db.schema
        .alterTable('notifications')
        .addColumn('mail_digest', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable('notifications').addColumn('digested_at', 'bigint').execute();
      await db.schema
        .createIndex('notifications_digest')
        .on('notifications')
        .columns(['mail_digest', 'digested_at', 'user_id'])
        .execute();

      await db.schema
        .createTable('digest_claims')
        .addColumn('user_id', 'integer', (c) => c.notNull())
        .addColumn('day', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('digest_claims_pk', ['user_id', 'day'])
        .execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('digest_claims').execute();
      await db.schema.dropIndex('notifications_digest').execute();
      await db.schema.alterTable('notifications').dropColumn('digested_at').execute();
      await db.schema.alterTable('notifications').dropColumn('mail_digest').execute();
      await db.schema.alterTable('projects').dropColumn('request_mail').execute();
      await db.schema.dropIndex('key_requests_pending').execute();
      for (const c of ['decided_by_rule', 'terms_hash', 'fields'])
        await db.schema.alterTable('key_requests').dropColumn(c).execute();
      for (const c of ['request_fields', 'terms', 'auto_approve_email_domains', 'approval'])
        await db.schema.alterTable('api_key_templates').dropColumn(c).execute();
    },
  };
}
