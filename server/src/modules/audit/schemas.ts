// Shapes of the audit log and its filters.
import { type Static, Type } from 'typebox';
import { IdParam, Instant, Nullable, Page, PagingQuery } from '../../lib/http.js';

export const AuditEntry = Type.Object({
  id: Type.Integer(),
  action: Type.String({ description: 'e.g. secret.revealed, key.revoked' }),
  object_type: Type.String(),
  object_id: Nullable(Type.Integer()),
  /** what the action's code recorded; never tokens or secret values */
  details: Type.Record(Type.String(), Type.Unknown()),
  actor: Type.Object({
    user: Nullable(Type.Object({ id: Type.Integer(), name: Type.String(), email: Type.String() })),
    key_id: Nullable(Type.Integer({ description: 'set when the actor used an API key' })),
  }),
  created_at: Instant,
});
export const AuditPage = Page(AuditEntry);

const Filters = {
  action: Type.Optional(
    Type.String({
      maxLength: 100,
      pattern: '^[a-z0-9_]+(\\.[a-z0-9_]+)*\\.?$',
      description: 'an action (key.revoked), or a prefix ending in "." (key.) for all actions starting so',
    }),
  ),
  actor_user_id: Type.Optional(IdParam),
  object_type: Type.Optional(
    Type.String({
      maxLength: 100,
      pattern: '^[a-z0-9_]+$',
      description: 'e.g. api_key, secret, template; object_id (ids are per type) needs it',
    }),
  ),
  object_id: Type.Optional(IdParam),
  from: Type.Optional(Type.String({ format: 'date-time', maxLength: 40, description: 'RFC 3339, inclusive' })),
  to: Type.Optional(Type.String({ format: 'date-time', maxLength: 40, description: 'RFC 3339, exclusive' })),
};
export const AuditQuery = Type.Object({ ...PagingQuery.properties, ...Filters });
export const AuditCsvQuery = Type.Object(Filters);
export type AuditFilterQuery = Static<typeof AuditCsvQuery>;
