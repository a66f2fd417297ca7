// Request and response shapes of roles: validation, types and OpenAPI in one.
import { Type } from 'typebox';
import { IdParam, Instant, NameText } from '../../lib/http.js';

const Price = Type.Union([Type.String({ maxLength: 32 }), Type.Number({ minimum: 0 })]);
const PermissionInput = Type.Object({
  project: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 64 })),
  nodes: Type.Optional(Type.Record(Type.String(), Type.Array(Type.String({ maxLength: 64 }), { maxItems: 16 }))),
});
export const CreateRole = Type.Object({
  name: NameText(100),
  description: Type.Optional(Type.String({ maxLength: 2000 })),
  price_per_request: Type.Optional(Price),
  is_public: Type.Optional(Type.Boolean()),
  permissions: Type.Optional(PermissionInput),
});
export const PatchRole = Type.Partial(CreateRole);
export const RoleParams = Type.Object({ p: IdParam, r: IdParam });

export const Permissions = Type.Object({
  project: Type.Array(Type.String()),
  nodes: Type.Record(Type.String(), Type.Array(Type.String()), { description: 'node id -> node permissions' }),
});
export const Role = Type.Object({
  id: Type.Integer(),
  project_id: Type.Integer(),
  name: Type.String(),
  description: Type.String(),
  price_per_request: Type.String({ description: 'decimal, e.g. "0.05"' }),
  currency: Type.String(),
  is_public: Type.Boolean(),
  is_owner: Type.Boolean(),
  permissions: Permissions,
  created_at: Instant,
  updated_at: Instant,
});
export const RoleList = Type.Array(
  Type.Object({
    ...Role.properties,
    live_keys: Type.Integer({ description: 'unrevoked, unexpired keys with this role' }),
  }),
);
export const RevokedKeys = Type.Object({ revoked_keys: Type.Integer({ minimum: 0 }) });
