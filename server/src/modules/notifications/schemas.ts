// Shapes of in-app notifications and the mail outbox view.
import { Type } from 'typebox';
import { IdParam, Instant, MaybeInstant, Nullable } from '../../lib/http.js';

export const MarkRead = Type.Object({
  ids: Type.Optional(Type.Array(IdParam, { maxItems: 1000, description: 'absent: mark every notice read' })),
});

export const Notification = Type.Object({
  id: Type.Integer(),
  kind: Type.String({ description: 'e.g. key.revoked, request.approved' }),
  project_id: Nullable(Type.Integer()),
  title: Type.String(),
  body: Type.String(),
  link: Type.String({ description: 'path inside the web UI' }),
  params: Nullable(
    Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Null()]), {
      description: 'what title and body are written from, for the UI to word in its language; null on old notices',
    }),
  ),
  created_at: Instant,
  read_at: MaybeInstant,
});
export const NotificationPage = Type.Object({
  total: Type.Integer(),
  unread: Type.Integer(),
  items: Type.Array(Notification),
});
export const Marked = Type.Object({ marked: Type.Integer() });

export const Mail = Type.Object({
  id: Type.Integer(),
  subject: Type.String(),
  body: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('sent'), Type.Literal('failed')]),
  attempts: Type.Integer(),
  created_at: Instant,
  sent_at: MaybeInstant,
});
export const MailPage = Type.Object({
  total: Type.Integer(),
  smtp_configured: Type.Boolean(),
  items: Type.Array(Mail),
});
