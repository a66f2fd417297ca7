// Outbox sender: delivers pending mail over SMTP with retries and backoff. Each row is claimed by
// one instance at a time (conditional UPDATE on locked_until), so several instances never send
// the same message twice. Without SMTP_URL mail stays in the outbox (shown in the UI).
import nodemailer, { type Transporter } from 'nodemailer';
import type { Ctx } from '../../context.js';

const MAX_ATTEMPTS = 10;
const LOCK_MS = 60_000;
const BATCH = 20;

export class OutboxSender {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly transport: Transporter;

  constructor(
    private readonly ctx: Ctx,
    smtpUrl: string,
    private readonly intervalMs = 1000,
  ) {
    // Timeouts well below the claim lock, so a slow relay cannot outlive the lock and let a
    // second instance send the same message.
    this.transport = nodemailer.createTransport(smtpUrl, {
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    } as object);
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
    this.transport.close();
  }

  /** One pass over due mail; returns how many were sent. */
  tick(): Promise<void> {
    if (!this.running) this.running = this.sendDue().finally(() => (this.running = null));
    return this.running;
  }

  private async sendDue(): Promise<void> {
    const { k, clock } = this.ctx;
    const now = clock.now();
    const due = await k
      .selectFrom('outbox')
      .selectAll()
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
      .orderBy('id')
      .limit(BATCH)
      .execute()
      .catch(() => []);
    for (const mail of due) {
      const claim = await k
        .updateTable('outbox')
        .set({ locked_until: now + LOCK_MS })
        .where('id', '=', mail.id)
        .where('status', '=', 'pending')
        .where('attempts', '=', mail.attempts) // unchanged since we read it: no stale retry
        .where('next_attempt_at', '<=', now)
        .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
        .executeTakeFirst();
      if (Number(claim.numUpdatedRows) !== 1) continue; // another instance has it
      try {
        await this.transport.sendMail({
          from: this.ctx.config.mailFrom,
          to: mail.to_email,
          subject: mail.subject,
          text: mail.body,
        });
        await k
          .updateTable('outbox')
          .set({
            status: 'sent',
            sent_at: clock.now(),
            attempts: mail.attempts + 1,
            locked_until: null,
            last_error: null,
          })
          .where('id', '=', mail.id)
          .execute();
      } catch (err) {
        const attempts = mail.attempts + 1;
        await k
          .updateTable('outbox')
          .set({
            attempts,
            status: attempts >= MAX_ATTEMPTS ? 'failed' : 'pending',
            next_attempt_at: clock.now() + Math.min(3_600_000, 1000 * 2 ** attempts),
            locked_until: null,
            last_error: err instanceof Error ? err.message.slice(0, 500) : 'send failed',
          })
          .where('id', '=', mail.id)
          .execute()
          .catch(() => {});
      }
    }
  }
}
