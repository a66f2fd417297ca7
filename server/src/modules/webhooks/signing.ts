// Signing as the Standard Webhooks specification says (the `standardwebhooks` library):
//   webhook-signature: v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">
// keyed by the base64-decoded part of the secret after `whsec_`. The secret is shown once, at
// creation, and kept sealed with the project's data key, bound to its endpoint.
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { Ctx } from '../../context.js';
import { AppError } from '../../errors.js';
import { open, seal } from '../../lib/crypto.js';
import type { DataKey } from '../../lib/data-keys.js';

const SECRET_BYTES = 32;

export const newSecret = (): string => `whsec_${randomBytes(SECRET_BYTES).toString('base64')}`;

/** A message id: unique, and without the `.` that would make the signed content ambiguous. */
export const newMessageId = (): string => `msg_${randomBytes(18).toString('base64url')}`;

const aad = (projectId: number, endpointId: number) => `keyport:webhook-secret:v1:${projectId}:${endpointId}`;

export const sealWebhookSecret = (dk: DataKey, endpointId: number, secret: string): string =>
  seal(dk.key, dk.name, Buffer.from(secret, 'utf8'), aad(dk.projectId, endpointId));

export function openWebhookSecret(ctx: Ctx, dk: DataKey, endpointId: number, sealed: string): string {
  try {
    return open(dk.key, dk.name, sealed, aad(dk.projectId, endpointId)).toString('utf8');
  } catch {
    ctx.log.error({ project_id: dk.projectId, endpoint_id: endpointId }, 'webhook secret failed authentication');
    throw new AppError('DECRYPTION_FAILED', 'The signing secret of this endpoint cannot be decrypted');
  }
}

/** The three headers of one attempt; `timestampSeconds` is the attempt's time. */
export function signatureHeaders(secret: string, msgId: string, timestampSeconds: number, body: string) {
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': new Webhook(secret).sign(msgId, new Date(timestampSeconds * 1000), body),
  };
}
