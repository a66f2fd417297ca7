// Expiry reminders: 7 days and 1 day before a key stops working, its holder gets an in-app notice
// and an email. Every instance scans; a reminder is sent by whoever inserts its claim row first
// (primary key (key_id, kind)), in the same transaction as the notice, so each is sent once
// however many instances run or restart. Keys already replaced by a roll are not reminded of.
import type { Ctx } from '../../context.js';
import { DAY_MS, toIso } from '../../lib/clock.js';
import { PeriodicJob } from '../../lib/periodic.js';
import { audit } from '../audit/service.js';
import { notify, quoted } from '../notifications/service.js';
import { emitWebhook } from '../webhooks/events.js';

const WINDOWS = [
  { kind: '1d', from: 0, to: DAY_MS },
  { kind: '7d', from: DAY_MS, to: 7 * DAY_MS },
] as const;
const BATCH = 200;

export class KeyReminders extends PeriodicJob<number> {
  constructor(
    private readonly ctx: Ctx,
    intervalMs = 60_000,
  ) {
    super(intervalMs);
  }

  /** One scan; answers how many reminders this instance sent. */
  protected async pass(): Promise<number> {
    const { k, clock } = this.ctx;
    let sent = 0;
    for (const w of WINDOWS) {
      const now = clock.now();
      const due = await k
        .selectFrom('api_keys as a')
        .innerJoin('projects as p', 'p.id', 'a.project_id')
        .select(['a.id', 'a.user_id', 'a.project_id', 'a.template_name', 'a.expires_at', 'p.name as project_name'])
        .where('a.revoked_at', 'is', null)
        .where('a.rolled_to', 'is', null)
        .where('a.expires_at', '>', now + w.from)
        .where('a.expires_at', '<=', now + w.to)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('key_reminders as r')
                .select('r.key_id')
                .whereRef('r.key_id', '=', 'a.id')
                .where('r.kind', '=', w.kind),
            ),
          ),
        )
        .orderBy('a.expires_at')
        .limit(BATCH)
        .execute();
      for (const key of due) {
        const claimed = await k.transaction().execute(async (trx) => {
          const r = await trx
            .insertInto('key_reminders')
            .values({ key_id: key.id, kind: w.kind, created_at: clock.now() })
            .onConflict((oc) => oc.doNothing())
            .executeTakeFirst();
          if (Number(r.numInsertedOrUpdatedRows ?? 0) !== 1) return false;
          const until = toIso(key.expires_at);
          await notify(trx, this.ctx, [key.user_id], {
            kind: 'key.expiring',
            projectId: key.project_id,
            title: `API key expires ${w.kind === '1d' ? 'tomorrow' : 'in a week'}: ${key.template_name}`,
            body: `Your API key ${quoted(key.template_name)} of project ${quoted(key.project_name)} stops working at ${until}. Renew it from My keys before then.`,
            link: '/me/keys',
            params: { template: key.template_name, project: key.project_name, until, within: w.kind },
          });
          await emitWebhook(trx, this.ctx, key.project_id, 'key.expiring', {
            key_id: key.id,
            template: key.template_name,
            user_id: key.user_id,
            expires_at: until,
            within: w.kind,
          });
          await audit(trx, this.ctx, key.project_id, null, {
            action: 'key.expiry_reminded',
            object_type: 'api_key',
            object_id: key.id,
            details: { within: w.kind },
          });
          return true;
        });
        if (claimed) sent += 1;
      }
    }
    return sent;
  }
}
