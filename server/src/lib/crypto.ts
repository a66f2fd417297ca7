// Small crypto helpers on node:crypto. Sealed values are versioned and name their key:
//   v1.<key name>.<nonce b64url>.<ciphertext||tag b64url>
// AES-256-GCM, random 96-bit nonce, associated data binding the value to where it lives.
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const randomToken = (bytes = 32): string => randomBytes(bytes).toString('base64url');

export const sha256hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

export class CryptoError extends Error {}

export function seal(key: Buffer, keyName: string, plaintext: Buffer, aad: string): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return `v1.${keyName}.${nonce.toString('base64url')}.${ct.toString('base64url')}`;
}

/** Name of the key a sealed value was made with (to pick the key, or report a wrong one). */
export function sealedKeyName(sealed: string): string {
  const parts = sealed.split('.');
  if (parts.length !== 4 || parts[0] !== 'v1') throw new CryptoError('unknown sealed-value format');
  return parts[1] as string;
}

export function open(key: Buffer, keyName: string, sealed: string, aad: string): Buffer {
  const parts = sealed.split('.');
  if (parts.length !== 4 || parts[0] !== 'v1') throw new CryptoError('unknown sealed-value format');
  if (parts[1] !== keyName) throw new CryptoError(`value was sealed with key "${parts[1]}", not "${keyName}"`);
  const nonce = Buffer.from(parts[2] as string, 'base64url');
  const data = Buffer.from(parts[3] as string, 'base64url');
  if (nonce.length !== 12 || data.length < 16) throw new CryptoError('sealed value is truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(data.subarray(data.length - 16));
  try {
    // final() authenticates before anything is returned: no partial plaintext on tampering.
    const out = Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]);
    return out;
  } catch {
    throw new CryptoError('sealed value failed authentication (tampered, moved, or wrong key)');
  }
}
