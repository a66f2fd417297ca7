// Why a key was revoked, worded in the UI's language. Offers carry the server's `reason_code`;
// /me/api-keys rows carry only the stored text, which for the reasons the server writes itself is
// one of these English texts (server/src/modules/keys/revoke.ts, SYSTEM_REVOCATION_REASONS).
import type { Offer } from '../api/index.js';

export type RevocationReasonCode = NonNullable<Offer['reason_code']>;

const SYSTEM_TEXTS: Record<RevocationReasonCode, string> = {
  owner: 'revoked by the project owner',
  holder: 'revoked by its holder',
  template: 'template deleted',
  role: 'role deleted',
  expired: 'expired',
};

/** The code of a reason the server wrote; null for a person's own words. */
export function reasonCodeOf(text: string | null): RevocationReasonCode | null {
  if (!text) return null;
  const hit = (Object.entries(SYSTEM_TEXTS) as [RevocationReasonCode, string][]).find(([, s]) => s === text);
  return hit ? hit[0] : null;
}

type T = (key: string) => string;

/** A server reason in the UI's language (by code, or recognised from its text); a person's as typed. */
export function revocationReason(t: T, code: RevocationReasonCode | null, text: string | null): string | null {
  const c = code ?? reasonCodeOf(text);
  return c ? t(`keys.systemReasons.${c}`) : text;
}
