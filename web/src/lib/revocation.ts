// Why a key was revoked, worded in the UI's language: the server sends a code for the reasons it
// writes itself (offers' `reason_code`, My keys' `revoked_reason_code`); a person's words as typed.
import type { Offer } from '../api/index.js';

export type RevocationReasonCode = NonNullable<Offer['reason_code']>;

type T = (key: string) => string;

export function revocationReason(t: T, code: RevocationReasonCode | null, text: string | null): string | null {
  return code ? t(`keys.systemReasons.${code}`) : text;
}
