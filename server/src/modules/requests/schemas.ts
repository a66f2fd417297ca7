// Request and response shapes of key offers and key requests: validation, types and OpenAPI in one.
import { Type } from 'typebox';
import { IdParam, Instant, MaybeInstant, Nullable, Page, PagingQuery } from '../../lib/http.js';
import { RevocationReasonCode } from '../keys/schemas.js';
import { MAX_FIELD_MAX, MAX_REQUEST_FIELDS, RequestFieldOut } from '../templates/approval.js';

export const RequestParams = Type.Object({ p: IdParam, r: IdParam });
export const TemplateParams = Type.Object({ p: IdParam, t: IdParam });
export const RequestStatus = Type.Union([
  Type.Literal('pending'),
  Type.Literal('approved'),
  Type.Literal('rejected'),
  Type.Literal('cancelled'),
  Type.Literal('expired'),
]);

/** What a requester sends: acceptance of the template's terms and the values of its request fields. */
export const CreateRequestBody = Type.Union([
  Type.Object({
    accept_terms: Type.Optional(Type.Boolean()),
    fields: Type.Optional(
      Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: MAX_FIELD_MAX }), {
        maxProperties: MAX_REQUEST_FIELDS,
        description: "request field name -> the requester's text",
      }),
    ),
  }),
  Type.Null(),
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
  approval: Type.Union([Type.Literal('manual'), Type.Literal('auto')]),
  auto_approves_me: Type.Boolean({ description: "the template's rule approves the caller's request at once" }),
  terms: Type.String({ description: "text the requester must accept ('' = none)" }),
  request_fields: Type.Array(RequestFieldOut),
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
  fields: Type.Record(Type.String(), Type.String(), { description: "the requester's values of the request fields" }),
  terms_accepted: Type.Boolean(),
  terms_hash: Nullable(Type.String({ description: 'SHA-256 (hex) of the terms text accepted' })),
  decided_by_rule: Nullable(Type.String({ description: "'auto_approval' when the template's rule decided" })),
  key_id: Nullable(Type.Integer({ description: 'the key issued when a rule approved the request at once' })),
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

/** How the project's approvers get request mails (in-app notices are always immediate). */
export const RequestSettings = Type.Object({
  request_mail: Type.Union([Type.Literal('immediate'), Type.Literal('daily')], {
    description: "'immediate': a mail per request; 'daily': one digest mail per approver after each UTC day",
  }),
});
