// Tokens are never stored: a key row holds its claims, and Ed25519 signatures are deterministic,
// so the holder's token is re-derived (identically) whenever they ask for it. The row also keeps
// the token's SHA-256, which is how the key directory recognises a first-seen token (ADR 0002).
import { createHash } from 'node:crypto';
import type { Ctx } from '../../context.js';
import { notFound } from '../../errors.js';

export interface KeyClaimsRow {
  jti: string;
  kid: string;
  issuer: string;
  project_id: number;
  user_id: number;
  issued_at: number;
  /** the exp claim as issued; a roll shortens the key's life (`expires_at`) but never its token */
  claims_expires_at: number | null;
}

/** The api_keys columns a token is derived from (a KeyClaimsRow). */
export const CLAIM_COLUMNS = [
  'jti',
  'kid',
  'issuer',
  'project_id',
  'user_id',
  'issued_at',
  'claims_expires_at',
] as const;

export const audienceFor = (projectId: number) => `keyport:project:${projectId}`;

/** Claims hold identifiers only: no permissions, no secrets. */
export function claimsFor(row: KeyClaimsRow): Record<string, string | number> {
  return {
    iss: row.issuer,
    aud: audienceFor(row.project_id),
    sub: String(row.user_id),
    jti: row.jti,
    iat: Math.floor(row.issued_at / 1000),
    ...(row.claims_expires_at !== null ? { exp: Math.floor(row.claims_expires_at / 1000) } : {}),
  };
}

export function signKey(ctx: Ctx, row: KeyClaimsRow): Promise<string> {
  return ctx.signing.signWith(row.kid, claimsFor(row));
}

/** The SHA-256 of a token, as `api_keys.token_sha256` holds it. */
export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** A new key's token, and its row with the token's digest (the token is what the holder receives). */
export async function withTokenDigest<R extends KeyClaimsRow>(
  ctx: Ctx,
  row: R,
): Promise<{ token: string; row: R & { token_sha256: string } }> {
  const token = await signKey(ctx, row);
  return { token, row: { ...row, token_sha256: tokenDigest(token).toString('base64url') } };
}

export async function tokenForKey(ctx: Ctx, keyId: number): Promise<string> {
  const row = await ctx.k.selectFrom('api_keys').select(CLAIM_COLUMNS).where('id', '=', keyId).executeTakeFirst();
  if (!row) throw notFound('API key');
  return signKey(ctx, row);
}
