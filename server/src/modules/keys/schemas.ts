// Shapes of the key holder's routes, the owner's revoke and the JWKS: validation, types and OpenAPI in one.
import { Type } from 'typebox';
import { IdParam, Instant, MaybeInstant, Money, Nullable, SpendCap } from '../../lib/http.js';
import { DEFAULT_GRACE_SECONDS, MAX_GRACE_SECONDS } from './roll.js';

export const IssuedKeyParams = Type.Object({ p: IdParam, k: IdParam });
export const MyKeyParams = Type.Object({ k: IdParam });

export const WhoAmI = Type.Object({
  key_id: Type.Integer(),
  project_id: Type.Integer(),
  user_id: Type.Integer(),
  template_id: Type.Integer(),
  role_id: Type.Integer(),
  permissions: Type.Object({
    project: Type.Array(Type.String()),
    nodes: Type.Record(Type.String(), Type.Array(Type.String())),
  }),
});

export const Revoked = Type.Object({
  id: Type.Integer(),
  revoked_at: Instant,
});

export const RevocationReasonCode = Type.Union(
  [
    Type.Literal('owner'),
    Type.Literal('holder'),
    Type.Literal('template'),
    Type.Literal('role'),
    Type.Literal('expired'),
  ],
  { description: "set when Keyport wrote the reason; null for a person's own words" },
);
export const MyKeyStatus = Type.Union(
  [Type.Literal('active'), Type.Literal('expiring'), Type.Literal('expired'), Type.Literal('revoked')],
  { description: 'expiring: ends within 7 days (or retires after a roll)' },
);

export const MyKey = Type.Object({
  id: Type.Integer(),
  project: Type.Object({ id: Type.Integer(), name: Type.String() }),
  template_id: Type.Integer(),
  template_name: Type.String(),
  description: Type.String(),
  price_per_request: Type.String({ description: 'decimal text, e.g. "0.05"' }),
  currency: Type.String(),
  fields: Type.Array(
    Type.Object({
      name: Type.String(),
      description: Type.String(),
      value: Nullable(Type.String({ description: 'null once the key is revoked or expired' })),
    }),
  ),
  received_at: Instant,
  expires_at: MaybeInstant,
  revoked_at: MaybeInstant,
  revoked_reason: Nullable(Type.String()),
  revoked_reason_code: Nullable(RevocationReasonCode),
  active: Type.Boolean({ description: 'status is active or expiring' }),
  status: MyKeyStatus,
  rolled_from: Nullable(Type.Integer({ description: 'the key this one replaced' })),
  rolled_to: Nullable(Type.Integer({ description: 'the key that replaced this one (it works until expires_at)' })),
  requests_this_month: Type.Integer({ description: 'billed requests of this key this UTC month (as flushed)' }),
  cost_this_month: Money,
  monthly_spend_cap: Nullable(Money),
  self_spend_cap: Nullable(Money),
  cap_used: Nullable(Money),
  last_used_at: MaybeInstant,
  monthly_quota: Nullable(Type.Integer()),
  quota_used: Nullable(Type.Integer({ description: 'this month, over the whole lineage (rolling never resets it)' })),
  renewable: Type.Boolean({ description: 'the key ends and may be renewed (a request to its managers)' }),
  renewal_request_id: Nullable(Type.Integer({ description: 'a pending renewal request' })),
  imported: Type.Array(
    Type.Object({
      project: Type.Object({ id: Type.Integer(), name: Type.String() }),
      secrets: Type.Array(Type.String()),
      node_ids: Type.Array(Type.Integer()),
    }),
    { description: 'where the key was imported as secrets (a roll rewrites them)' },
  ),
});
export const MyKeyList = Type.Array(MyKey);

export const CapBody = Type.Object({
  monthly_spend_cap: Nullable(SpendCap),
});

export const RollBody = Type.Union([
  Type.Object({
    grace_seconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_GRACE_SECONDS,
        default: DEFAULT_GRACE_SECONDS,
        description: 'how long the old key keeps working (never past its own expiry); default 24 h',
      }),
    ),
  }),
  Type.Null(),
]);
const RollAnswer = {
  key: MyKey,
  previous: Type.Object({ id: Type.Integer(), expires_at: MaybeInstant }),
  updated_secrets: Type.Array(Type.Object({ project_id: Type.Integer(), name: Type.String() })),
};
export const MyRolled = Type.Object({ ...RollAnswer, token: Type.String({ description: 'the new key (a JWT)' }) });
export const IssuedRolled = Type.Object(RollAnswer, { description: 'only the holder ever reads a token' });
export const RenewalRequest = Type.Object({
  id: Type.Integer(),
  project_id: Type.Integer(),
  template_id: Type.Integer(),
  renews_key_id: Type.Integer(),
  status: Type.Literal('pending'),
  created_at: Instant,
});
export const Token = Type.Object({ token: Type.String({ description: 'the key (a JWT)' }) });

export const Jwks = Type.Object({
  keys: Type.Array(
    Type.Object({
      kty: Type.String(),
      crv: Type.String(),
      x: Type.String(),
      kid: Type.String(),
      alg: Type.Literal('EdDSA'),
      use: Type.Literal('sig'),
    }),
  ),
});
