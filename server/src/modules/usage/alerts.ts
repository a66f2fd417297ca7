// Usage alerts: when a key's lineage reaches 80 % or 100 % of its monthly quota or spend cap, the
// holder and the project's managers get an in-app notice and an email, and a `usage.threshold`
// webhook goes out. The quota tracker reports each threshold once per instance (on the hot path,
// without waiting); here a claim row (primary key lineage, month, metric, threshold) makes it
// once across instances and restarts.
import type { Ctx } from '../../context.js';
import { toIso } from '../../lib/clock.js';
import { holdersOf, notify, quoted } from '../notifications/service.js';
import { emitWebhook } from '../webhooks/events.js';
import type { Threshold } from './quota.js';

export class UsageAlerts {
  /** in flight, so close() can wait for them */
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly ctx: Ctx) {}

  /** Fire and forget: a failed alert is logged, never fails the request that crossed the line. */
  report(keyId: number, lineageId: number, month: number, t: Threshold): void {
    const p = this.send(keyId, lineageId, month, t)
      .catch((err) => this.ctx.log.warn({ err, key_id: keyId }, 'usage alert not sent'))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  async drain(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  private async send(keyId: number, lineageId: number, month: number, t: Threshold): Promise<void> {
    const { ctx } = this;
    await ctx.k.transaction().execute(async (trx) => {
      const claimed = await trx
        .insertInto('usage_alerts')
        .values({ lineage_id: lineageId, month, metric: t.metric, threshold: t.percent, created_at: ctx.clock.now() })
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      if (Number(claimed.numInsertedOrUpdatedRows ?? 0) !== 1) return;
      const key = await trx
        .selectFrom('api_keys as k')
        .innerJoin('projects as p', 'p.id', 'k.project_id')
        .select(['k.id', 'k.user_id', 'k.project_id', 'k.template_name', 'p.name as project_name'])
        .where('k.id', '=', keyId)
        .executeTakeFirst();
      if (!key) return;
      const what = t.metric === 'quota' ? 'monthly request quota' : 'monthly spend cap';
      const reached = t.percent === 100 ? `has reached its ${what}` : `has used ${t.percent} % of its ${what}`;
      const params = {
        template: key.template_name,
        project: key.project_name,
        metric: t.metric,
        percent: t.percent,
        month: toIso(month),
      };
      await notify(trx, ctx, [key.user_id, ...(await holdersOf(trx, key.project_id, 'project_manage'))], {
        kind: 'usage.threshold',
        projectId: key.project_id,
        title: `API key ${t.percent === 100 ? 'limit reached' : 'nearing its limit'}: ${key.template_name}`,
        body: `The API key ${quoted(key.template_name)} of project ${quoted(key.project_name)} ${reached} this month.${t.percent === 100 ? ' Further requests are refused until the next month.' : ''}`,
        link: '/me/keys',
        params,
      });
      await emitWebhook(trx, ctx, key.project_id, 'usage.threshold', {
        key_id: key.id,
        user_id: key.user_id,
        ...params,
      });
    });
  }
}
