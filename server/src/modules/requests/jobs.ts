// The approval workflow's periodic work on every instance: expiring pending requests and writing
// the daily request digests. Each step claims its rows itself, so running it everywhere is safe.
import type { Ctx } from '../../context.js';
import { PeriodicJob } from '../../lib/periodic.js';
import { sendDigests } from '../notifications/digest.js';
import { expireDue } from './expiry.js';

export class ApprovalJobs extends PeriodicJob<{ expired: number; digests: number }> {
  constructor(
    private readonly ctx: Ctx,
    intervalMs = 60_000,
  ) {
    super(intervalMs);
  }

  /** Answers what this instance did. */
  protected async pass(): Promise<{ expired: number; digests: number }> {
    return { expired: await expireDue(this.ctx), digests: await sendDigests(this.ctx) };
  }
}
