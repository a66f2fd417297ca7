// Request and response shapes of key offers and key requests: validation, types and OpenAPI in one.
import { Type } from 'typebox';
import { IdParam, Instant, MaybeInstant, Nullable, Page, PagingQuery } from '../../lib/http.js';
import { RevocationReasonCode } from '../keys/schemas.js';

export const RequestParams = Type.Object({ p: IdParam, r: IdParam });
export const TemplateParams = Type.Object({ p: IdParam, t: IdParam });
export const RequestStatus = Type.Union([
  Type.Literal('pending'),
  Type.Literal('approved'),
  Type.Literal('rejected'),
  Type.Literal('cancelled'),
]);
export const RequestQuery = Type.Object({ ...PagingQuery.properties, status: Type.Optional(RequestStatus) });

const OfferState = Type.Union([
  Type.Literal('available'),
  Type.Literal('pending'),
  Type.Literal('received'),
  Type.Literal('rejected'),
  Type.Literal('revoked'),
]);
/** A template as the caller sees it: what the key gives, and where the caller stands with it. */
export const Offer = Type.Object({
  template_id: Type.Integer(),
  name: Type.String(),
  description: Type.String(),
  price_per_request: Type.String(),
  currency: Type.String(),
  lifetime_days: Nullable(Type.Integer()),
  monthly_quota: Nullable(Type.Integer()),
  fields: Type.Array(Type.Object({ name: Type.String(), description: Type.String() })),
  state: OfferState,
  at: MaybeInstant,
  reason: Nullable(Type.String()),
  reason_code: Nullable(RevocationReasonCode),
  request_id: Nullable(Type.Integer()),
  key_id: Nullable(Type.Integer()),
  used_this_month: Nullable(Type.Integer()),
});
export const OfferList = Type.Array(Offer);

export const KeyRequest = Type.Object({
  id: Type.Integer(),
  project_id: Type.Integer(),
  template_id: Type.Integer(),
  user_id: Type.Integer(),
  status: RequestStatus,
  reason: Nullable(Type.String()),
  created_at: Instant,
  decided_at: MaybeInstant,
});
const Person = Type.Object({ id: Type.Integer(), name: Type.String(), email: Type.String() });
export const KeyRequestList = Page(
  Type.Object({ ...KeyRequest.properties, template_name: Type.String(), user: Person }),
);

/** The key an approval issues (its token is fetched by its holder, never sent here). */
export const IssuedKey = Type.Object({
  id: Type.Integer(),
  project_id: Type.Integer(),
  template_id: Type.Integer(),
  template_name: Type.String(),
  role_id: Type.Integer(),
  request_id: Type.Integer(),
  user: Person,
  received_at: Instant,
  expires_at: MaybeInstant,
  revoked_at: Type.Null(),
});
