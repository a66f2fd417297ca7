// The contract between the HTTP layer and API-key verification (implemented in modules/keys).
import type { Access, Actor } from './permissions.js';

export type KeyActor = Extract<Actor, { kind: 'key' }>;

/** A quota is shared by a key's whole lineage: rolling a key never resets it. */
export interface MonthlyQuota {
  readonly limit: number;
  /** the lineage's first key */
  readonly lineageId: number;
}

export interface KeyAuthenticator {
  /** The key behind a bearer token, or an INVALID_KEY AppError. Synchronous when cached. */
  authenticate(token: string): KeyActor | Promise<KeyActor>;
  /** The key's current role permissions in its own project; null for any other project. */
  access(actor: KeyActor, projectId: number): Access | null | Promise<Access | null>;
  /** The key's monthly quota (billed requests per UTC month) as its template says now; null = none. */
  monthlyQuota(keyId: number): MonthlyQuota | null;
}
