// Everything a service needs, built once in buildApp and passed down (no globals, no process.env).
import type { Kysely } from 'kysely';
import type { Config } from './config.js';
import type { Db } from './db/dialect.js';
import type { Database } from './db/schema.js';
import type { Clock } from './lib/clock.js';
import type { EventBus } from './lib/events.js';
import type { MasterKey } from './lib/master-key.js';
import type { SigningKeys } from './modules/keys/signing.js';

export interface Logger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

export interface Ctx {
  readonly config: Config;
  readonly db: Db;
  readonly k: Kysely<Database>;
  readonly clock: Clock;
  readonly master: MasterKey;
  readonly events: EventBus;
  readonly log: Logger;
  readonly signing: SigningKeys;
}

/** A Kysely handle that may be a transaction; repos accept either. */
export type Q = Kysely<Database>;
