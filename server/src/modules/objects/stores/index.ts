// The stores of one app: new objects go to the configured one (KEYPORT_OBJECT_STORE); an existing
// object is read from the store its row names, so switching stores, or moving bytes with
// `keyport-server objects migrate`, never strands an object. Stores are made on first use (an
// S3 client only when some object or the configuration needs one) and closed with the app.
import type { ObjectStoreName } from '../../../config.js';
import type { Ctx } from '../../../context.js';
import { AppError } from '../../../errors.js';
import { DbStore } from './db.js';
import { FsStore } from './fs.js';
import { S3Store } from './s3.js';
import type { ObjectStore } from './store.js';

export class ObjectStores {
  private readonly made = new Map<ObjectStoreName, ObjectStore>();

  constructor(private readonly ctx: Pick<Ctx, 'config' | 'db' | 'k' | 'clock' | 'log'>) {}

  /** Where uploads go. */
  get writer(): ObjectStore {
    return this.get(this.ctx.config.objectStore);
  }

  get(name: string): ObjectStore {
    if (name !== 'db' && name !== 'fs' && name !== 's3') throw new Error(`unknown object store "${name}"`);
    let store = this.made.get(name);
    if (!store) {
      store = this.make(name);
      this.made.set(name, store);
    }
    return store;
  }

  private make(name: ObjectStoreName): ObjectStore {
    const { config } = this.ctx;
    if (name === 'db') {
      // PostgreSQL sends bytea as hex text: pieces of 60 KiB keep each text below V8's large-object
      // size, so it dies young instead of piling up until a full collection (RSS growth halved)
      return new DbStore(this.ctx.k, this.ctx.clock, this.ctx.db.dialect === 'postgres' ? 60 * 1024 : undefined);
    }
    if (name === 'fs') return new FsStore(config.objectDir);
    if (!config.s3) {
      // objects were written to S3 by an earlier configuration that no longer names the bucket
      throw new AppError('UNAVAILABLE', 'The object store holding these bytes is not configured');
    }
    return new S3Store(config.s3, this.ctx.log);
  }

  /** Every store made so far (the collector sweeps those). */
  all(): ObjectStore[] {
    return [...this.made.values()];
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((s) => s.close()));
    this.made.clear();
  }
}

const perApp = new WeakMap<object, ObjectStores>();

/** The stores of the app `ctx` belongs to. */
export function objectStores(ctx: Ctx): ObjectStores {
  let s = perApp.get(ctx);
  if (!s) {
    s = new ObjectStores(ctx);
    perApp.set(ctx, s);
  }
  return s;
}
