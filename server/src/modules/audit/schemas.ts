// Shapes of the audit log (F15).
import { Type } from 'typebox';
import { Instant, Nullable, Page } from '../../lib/http.js';

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
