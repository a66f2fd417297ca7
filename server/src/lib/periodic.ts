// The shape every background job of an instance shares: a pass every `everyMs` (none when 0), never
// two passes at once (a tick during a pass gets that pass's answer), and stop() waits for the pass
// under way so shutdown never cuts one in half. A failed pass is retried by the next interval.
export abstract class PeriodicJob<R, A extends unknown[] = []> {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<R> | null = null;

  protected constructor(private readonly everyMs: number) {}

  protected abstract pass(...args: A | []): Promise<R>;

  start(): void {
    if (this.everyMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.tick().catch(() => {}), this.everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
  }

  /** One pass now, or the one already running. */
  tick(...args: A | []): Promise<R> {
    if (!this.running) this.running = this.pass(...args).finally(() => (this.running = null));
    return this.running;
  }
}
