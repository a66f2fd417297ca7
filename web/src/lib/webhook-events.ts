// The events a webhook endpoint may subscribe to, in the server's order. Typed by the contract:
// a name the server does not know fails to compile, and so does leaving one of its names out.
import type { WebhookEvent } from '../api/index.js';

export const WEBHOOK_EVENTS = [
  'key.requested',
  'key.approved',
  'key.rejected',
  'key.revoked',
  'key.rolled',
  'key.expiring',
  'request.expired',
  'usage.threshold',
] as const satisfies readonly WebhookEvent[];

/** `true` only while the list above names every event of the contract */
const complete: Exclude<WebhookEvent, (typeof WEBHOOK_EVENTS)[number]> extends never ? true : never = true;
void complete;

/** The i18n key of an event's name (`webhooks.eventNames.key_approved`): vue-i18n reads dots as nesting. */
export const eventKey = (type: string) => `webhooks.eventNames.${type.replace(/\./g, '_')}`;
