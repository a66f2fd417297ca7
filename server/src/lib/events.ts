// Invalidation bus: in-process listeners, and (set by the scale-out layer) a transport that
// carries the same events to every other instance. Publish after the change is committed.
export type InvalidationEvent =
  | { type: 'key'; keyId: number }
  | { type: 'role'; roleId: number }
  | { type: 'project'; projectId: number }
  | { type: 'all' };

type Listener = (e: InvalidationEvent) => void | Promise<void>;

export interface EventTransport {
  send(e: InvalidationEvent): Promise<void>;
}

export class EventBus {
  private readonly listeners = new Set<Listener>();
  transport: EventTransport | null = null;

  on(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Deliver locally (from this or another instance); resolves when every listener has applied it. */
  async deliver(e: InvalidationEvent): Promise<void> {
    await Promise.all([...this.listeners].map(async (l) => l(e)));
  }

  /**
   * Local delivery and broadcast in parallel; resolves when this instance has applied the change
   * (so the caller's next request sees it). A lost broadcast is bounded by the cache TTL.
   */
  async publish(e: InvalidationEvent): Promise<void> {
    await Promise.all([this.deliver(e).catch(() => {}), this.transport?.send(e).catch(() => {})]);
  }
}
