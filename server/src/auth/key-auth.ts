// The contract between the HTTP layer and API-key verification (implemented in modules/keys).
import { AppError } from '../errors.js';
import type { Access, Actor } from './permissions.js';

/** The one answer to a key that is missing, malformed, unknown, expired or revoked: which, it never says. */
export const invalidKey = (): AppError =>
  new AppError('INVALID_KEY', 'The API key is missing, invalid, expired or revoked');

export type KeyActor = Extract<Actor, { kind: 'key' }>;

/** Monthly limits of a key, shared by its whole lineage: rolling a key never resets them. */
export interface MonthlyLimits {
  /** billed requests per UTC month; null = unlimited */
  readonly quota: number | null;
  /** `quota` as the X-Quota-Limit header says it (built once, not per request) */
  readonly quotaText: string | null;
  /** micro-units per UTC month; null = no cap */
  readonly capMicros: number | null;
  /** the lineage's first key */
  readonly lineageId: number;
}

export interface KeyAuthenticator {
  /** The key behind a bearer token, or an INVALID_KEY AppError. Synchronous when cached. */
  authenticate(token: string): KeyActor | Promise<KeyActor>;
  /** The key's current role permissions in its own project; null for any other project. */
  access(actor: KeyActor, projectId: number): Access | null | Promise<Access | null>;
  /** The key's monthly quota and spend cap as its template and managers say now; null = neither. */
  monthlyLimits(keyId: number): MonthlyLimits | null;
}
