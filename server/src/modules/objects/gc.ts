// The object collector: removes objects that no package references and that no layer was given
// or promised (touched_at) for KEYPORT_OBJECT_GC_GRACE_HOURS, then the debris of failed or crashed
// uploads: staging data idle for an hour, and bytes under keys no row names (a crash between
// writing the bytes and the row, or between deleting the row and the bytes). Any instance may run
// it, one at a time and once per interval across all of them: a conditional UPDATE of the single
// object_gc_state row is the claim, as the mail outbox claims a message.
import type { Ctx } from '../../context.js';
import { PeriodicJob } from '../../lib/periodic.js';
import { objectStores } from './stores/index.js';
import type { ObjectStore } from './stores/store.js';

/** Staging younger than this may belong to an upload still running. */
export const STAGING_IDLE_MS = 3_600_000;
const LEASE_MS = 15 * 60_000;
const BATCH = 200;
/** Bound on one pass, so it ends well within its lease; the next pass goes on. */
const MAX_PER_PASS = 20_000;

export interface GcReport {
  objects: number;
  bytes: number;
  staging: number;
  orphans: number;
}

export class ObjectCollector extends PeriodicJob<GcReport | null, [force: boolean]> {
  constructor(private readonly ctx: Ctx) {
    // look often, run when due: the claim says whether a pass is due anywhere
    super(Math.min(ctx.config.objectGcIntervalSeconds * 1000, 60_000));
  }

  /** One pass if one is due (or `force`) and no other instance runs one; null when it did not run. */
  protected async pass(force = false): Promise<GcReport | null> {
    const { k, clock, config } = this.ctx;
    const now = clock.now();
    let claim = k
      .updateTable('object_gc_state')
      .set({ locked_until: now + LEASE_MS })
      .where('id', '=', 1)
      .where('locked_until', '<', now);
    if (!force) claim = claim.where('last_run_at', '<=', now - config.objectGcIntervalSeconds * 1000);
    if (Number((await claim.executeTakeFirst()).numUpdatedRows) !== 1) return null;
    try {
      const report = await this.collect(now);
      if (report.objects || report.staging || report.orphans) this.ctx.log.info({ gc: report }, 'object collector');
      return report;
    } finally {
      await k
        .updateTable('object_gc_state')
        .set({ locked_until: 0, last_run_at: clock.now() })
        .where('id', '=', 1)
        .execute();
    }
  }

  private async collect(now: number): Promise<GcReport> {
    const report: GcReport = { objects: 0, bytes: 0, staging: 0, orphans: 0 };
    await this.collectUnreferenced(now - this.ctx.config.objectGcGraceHours * 3_600_000, report);
    for (const store of await this.storesInUse()) {
      try {
        report.staging += await store.sweep(now - STAGING_IDLE_MS);
        report.orphans += await this.removeOrphans(store, now - STAGING_IDLE_MS);
      } catch (err) {
        this.ctx.log.warn({ err, store: store.name }, 'object collector: store sweep failed');
      }
    }
    return report;
  }

  private async collectUnreferenced(cutoff: number, report: GcReport): Promise<void> {
    const { k } = this.ctx;
    const stores = objectStores(this.ctx);
    const unreferenced = () =>
      k
        .selectFrom('objects as o')
        .where('o.touched_at', '<', cutoff)
        .where(({ not, exists, selectFrom }) =>
          not(exists(selectFrom('package_files as f').select('f.id').whereRef('f.content_hash', '=', 'o.sha256'))),
        );
    for (let seen = 0; seen < MAX_PER_PASS; seen += BATCH) {
      const batch = await unreferenced()
        .select(['o.sha256', 'o.size', 'o.store', 'o.store_key'])
        .orderBy('o.touched_at')
        .limit(BATCH)
        .execute();
      for (const o of batch) {
        // the same conditions again, on the row itself: a package or an upload that touched it
        // since the select keeps it (layer_objects rows go with it by their foreign key)
        const gone = await k
          .deleteFrom('objects')
          .where('sha256', '=', o.sha256)
          .where('store_key', '=', o.store_key)
          .where('touched_at', '<', cutoff)
          .where(({ not, exists, selectFrom }) =>
            not(exists(selectFrom('package_files as f').select('f.id').where('f.content_hash', '=', o.sha256))),
          )
          .executeTakeFirst();
        if (Number(gone.numDeletedRows) !== 1) continue;
        report.objects += 1;
        report.bytes += Number(o.size);
        // if this fails the bytes are an orphan, removed by a later pass
        await stores
          .get(o.store)
          .delete(o.store_key)
          .catch((err) => this.ctx.log.warn({ err, store: o.store }, 'object collector: delete failed'));
      }
      if (batch.length < BATCH) return;
    }
  }

  /** The configured store and every store some object row names. */
  private async storesInUse(): Promise<ObjectStore[]> {
    const stores = objectStores(this.ctx);
    const names = new Set([this.ctx.config.objectStore]);
    for (const r of await this.ctx.k.selectFrom('objects').select('store').distinct().execute())
      names.add(r.store as never);
    const out: ObjectStore[] = [];
    for (const n of names) {
      try {
        out.push(stores.get(n));
      } catch (err) {
        this.ctx.log.warn({ err, store: n }, 'object collector: store unavailable');
      }
    }
    return out;
  }

  private async removeOrphans(store: ObjectStore, before: number): Promise<number> {
    let n = 0;
    let batch: string[] = [];
    const flush = async () => {
      const named = await this.ctx.k
        .selectFrom('objects')
        .select('store_key')
        .where('store', '=', store.name)
        .where('store_key', 'in', batch)
        .execute();
      const keep = new Set(named.map((r) => r.store_key));
      for (const key of batch) {
        if (keep.has(key)) continue;
        await store.delete(key);
        n += 1;
      }
      batch = [];
    };
    for await (const key of store.list(before)) {
      batch.push(key);
      if (batch.length >= 500) await flush();
    }
    if (batch.length) await flush();
    return n;
  }
}
