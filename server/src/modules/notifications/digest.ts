// The daily digest of request mails. In a project whose managers take request mail as a digest,
// a request's in-app notice is written at once and its mail is left for the digest. Once a day, at
// KEYPORT_DIGEST_HOUR_UTC, each such manager gets one mail with every notice held back until then:
// whoever inserts the (user, day) claim row first writes it, in the same transaction that marks
// the notices digested, so it is sent once a day however many instances run.
import type { Ctx } from '../../context.js';
import { DAY_MS, HOUR_MS } from '../../lib/clock.js';
import { queueMails } from './service.js';

const MAX_ITEMS = 100;

export async function sendDigests(ctx: Ctx): Promise<number> {
  const now = ctx.clock.now();
  // days run from one digest hour to the next: `day` numbers the latest digest time passed
  const offset = ctx.config.digestHourUtc * HOUR_MS;
  const day = Math.floor((now - offset) / DAY_MS);
  const before = day * DAY_MS + offset;
  const users = await ctx.k
    .selectFrom('notifications')
    .select('user_id')
    .distinct()
    .where('mail_digest', '=', 1)
    .where('digested_at', 'is', null)
    .where('created_at', '<', before)
    .execute();
  let sent = 0;
  for (const { user_id } of users) {
    const done = await ctx.k.transaction().execute(async (trx) => {
      const claim = await trx
        .insertInto('digest_claims')
        .values({ user_id, day, created_at: now })
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      if (Number(claim.numInsertedOrUpdatedRows ?? 0) !== 1) return false;
      const items = await trx
        .selectFrom('notifications')
        .select(['id', 'title', 'body', 'link', 'created_at'])
        .where('user_id', '=', user_id)
        .where('mail_digest', '=', 1)
        .where('digested_at', 'is', null)
        .where('created_at', '<', before)
        .orderBy('id')
        .execute();
      if (!items.length) return false;
      await trx
        .updateTable('notifications')
        .set({ digested_at: now })
        .where(
          'id',
          'in',
          items.map((i) => i.id),
        )
        .execute();
      const user = await trx.selectFrom('users').select(['email', 'name']).where('id', '=', user_id).executeTakeFirst();
      if (!user) return false;
      const shown = items.slice(0, MAX_ITEMS);
      const lines = shown.map(
        (i) => `• ${i.title}\n  ${i.body.replace(/\n/g, '\n  ')}\n  Open: ${ctx.config.publicUrl}${i.link}`,
      );
      if (items.length > shown.length) lines.push(`… and ${items.length - shown.length} more in Keyport.`);
      await queueMails(trx, now, [
        {
          to: user,
          subject: `[Keyport] Daily digest: ${items.length} key request${items.length === 1 ? '' : 's'}`,
          text: `Key requests since your last digest:\n\n${lines.join('\n\n')}`,
        },
      ]);
      return true;
    });
    if (done) sent += 1;
  }
  return sent;
}
