// Shapes of the key holder's routes, the owner's revoke and the JWKS: validation, types and OpenAPI in one.
import { Type } from 'typebox';
import { IdParam, Instant, MaybeInstant, Nullable } from '../../lib/http.js';

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
  active: Type.Boolean(),
});
export const MyKeyList = Type.Array(MyKey);
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
