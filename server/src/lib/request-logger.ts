// Fastify's per-request logger, made lazily: most requests write no line, so most never pay for a
// pino child (its bindings serialised) of their own.
import type { FastifyBaseLogger } from 'fastify';

type Bindings = Record<string, unknown>;
type ChildLoggerOptions = { level?: string; serializers?: unknown };
/** pino's logger, as Fastify hands it to the child logger factory */
export type RequestLog = FastifyBaseLogger & { isLevelEnabled(level: string): boolean; bindings(): Bindings };
const LOG_METHODS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/**
 * A request's logger, made into a pino child (bindings serialised: reqId) only when it first
 * writes a line. Most requests write none, so most never pay for the child.
 */
class LazyRequestLogger {
  private made: RequestLog | null = null;
  constructor(
    private readonly parent: RequestLog,
    private readonly own: Bindings,
  ) {}
  get real(): RequestLog {
    if (this.made === null) this.made = this.parent.child(this.own) as RequestLog;
    return this.made;
  }
  get level(): string {
    return this.made?.level ?? this.parent.level;
  }
  set level(level: string) {
    this.real.level = level;
  }
  isLevelEnabled(level: string): boolean {
    return (this.made ?? this.parent).isLevelEnabled(level);
  }
  child(bindings: Bindings, options?: ChildLoggerOptions): RequestLog {
    return this.real.child(bindings, options as never) as RequestLog;
  }
  bindings(): Bindings {
    return this.made?.bindings() ?? { ...this.parent.bindings(), ...this.own };
  }
  silent(): void {}
}
for (const m of LOG_METHODS) {
  Object.defineProperty(LazyRequestLogger.prototype, m, {
    value(this: LazyRequestLogger, ...args: unknown[]) {
      if (this.isLevelEnabled(m)) (this.real[m] as (...a: unknown[]) => void)(...args);
    },
  });
}

// Fastify builds each request's bindings as `{ [label]: id }`, a literal with a computed key; like
// the next-tick records (lib/tick-shape.ts), that site stays fast only while an object of its shape
// is alive, so the first one is kept.
// biome-ignore lint/correctness/noUnusedVariables: written to be kept alive, never read
let keptBindings: Bindings | null = null;

export function lazyChildLogger(logger: RequestLog, bindings: Bindings, opts: ChildLoggerOptions): RequestLog {
  keptBindings ??= bindings;
  // a route's own level or serializers, or no pino (logging off): a real child at once
  if (opts.level !== undefined || opts.serializers !== undefined || typeof logger.isLevelEnabled !== 'function')
    return logger.child(bindings, opts as never) as RequestLog;
  return new LazyRequestLogger(logger, bindings) as unknown as RequestLog;
}
