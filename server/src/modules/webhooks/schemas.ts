// Request and response shapes of webhook endpoints and their deliveries.
import { Type } from 'typebox';
import { IdParam, Instant, MaybeInstant, Nullable, Page } from '../../lib/http.js';
import { WEBHOOK_EVENTS } from './events.js';

export const EndpointParams = Type.Object({ p: IdParam, w: IdParam });

const EventType = Type.Enum([...WEBHOOK_EVENTS]);
const Events = Type.Array(EventType, { minItems: 1, maxItems: WEBHOOK_EVENTS.length });
const Url = Type.String({ minLength: 1, maxLength: 2000, description: 'https (http only when the server allows it)' });
const Description = Type.String({ maxLength: 500 });

export const CreateEndpoint = Type.Object({ url: Url, events: Events, description: Type.Optional(Description) });
export const PatchEndpoint = Type.Object({
  url: Type.Optional(Url),
  events: Type.Optional(Events),
  description: Type.Optional(Description),
  enabled: Type.Optional(Type.Boolean()),
});

export const Endpoint = Type.Object({
  id: Type.Integer(),
  project_id: Type.Integer(),
  url: Type.String(),
  description: Type.String(),
  events: Type.Array(EventType),
  enabled: Type.Boolean(),
  disabled_reason: Nullable(Type.Enum(['failing', 'manual'])),
  failing_since: MaybeInstant,
  created_at: Instant,
  updated_at: Instant,
});
export const EndpointList = Page(Endpoint);
export const CreatedEndpoint = Type.Object({
  ...Endpoint.properties,
  secret: Type.String({ description: 'whsec_<base64>: the signing secret, shown this once' }),
});

export const TestQueued = Type.Object({ delivery_id: Type.Integer(), webhook_id: Type.String() });

const Attempt = Type.Object({
  attempt: Type.Integer(),
  started_at: Instant,
  status_code: Nullable(Type.Integer()),
  latency_ms: Type.Integer(),
  error: Nullable(Type.String()),
});
export const Delivery = Type.Object({
  id: Type.Integer(),
  endpoint_id: Type.Integer(),
  event_type: Type.String(),
  webhook_id: Type.String({ description: 'the webhook-id header, the same on every attempt' }),
  status: Type.Enum(['pending', 'delivered', 'failed']),
  attempts: Type.Integer(),
  last_status_code: Nullable(Type.Integer()),
  last_latency_ms: Nullable(Type.Integer()),
  last_error: Nullable(Type.String()),
  created_at: Instant,
  last_attempt_at: MaybeInstant,
  next_attempt_at: MaybeInstant,
  delivered_at: MaybeInstant,
  attempt_log: Type.Array(Attempt),
});
export const DeliveryList = Page(Delivery);
