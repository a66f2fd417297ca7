// Request and response shapes of members and invitations: validation, types and OpenAPI in one.
import { type Static, Type } from 'typebox';
import { IdParam, Instant, Page } from '../../lib/http.js';

export const RoleIds = Type.Array(IdParam, { maxItems: 100 });
export const MemberParams = Type.Object({ p: IdParam, user_id: IdParam });
export const InvitationParams = Type.Object({ p: IdParam, i: IdParam });
export const MyInvitationParams = Type.Object({ i: IdParam });
export const SetRoles = Type.Object({ role_ids: RoleIds });
export const Invite = Type.Object({
  email: Type.String({ format: 'email', maxLength: 254 }),
  role_ids: Type.Array(IdParam, { minItems: 1, maxItems: 100 }),
});

export const Member = Type.Object({
  user: Type.Object({
    id: Type.Integer(),
    name: Type.String(),
    email: Type.Optional(Type.String({ description: 'shown to managers (project_manage) only' })),
  }),
  role_ids: Type.Array(Type.Integer()),
});
export const MemberList = Page(Member);
export const MemberRoles = Type.Object({ user_id: Type.Integer(), role_ids: Type.Array(Type.Integer()) });

const InvitationStatus = Type.Union([
  Type.Literal('pending'),
  Type.Literal('accepted'),
  Type.Literal('declined'),
  Type.Literal('cancelled'),
]);
export const Invitation = Type.Object({
  id: Type.Integer(),
  project_id: Type.Integer(),
  email: Type.String(),
  role_ids: Type.Array(Type.Integer()),
  status: InvitationStatus,
  created_at: Instant,
  expires_at: Instant,
});
const Person = Type.Object({ id: Type.Integer(), name: Type.String() });
export const ProjectInvitationList = Page(Type.Object({ ...Invitation.properties, invited_by: Person }));
export const MyInvitation = Type.Object({
  id: Type.Integer(),
  project: Person,
  roles: Type.Array(Person),
  invited_by: Person,
  created_at: Instant,
  expires_at: Instant,
});
export const MyInvitationList = Page(MyInvitation);
export const Accepted = Type.Object({ project_id: Type.Integer(), role_ids: Type.Array(Type.Integer()) });
export const Declined = Type.Object({ ok: Type.Literal(true) });

export type Member = Static<typeof Member>;
export type Invitation = Static<typeof Invitation>;
export type MyInvitation = Static<typeof MyInvitation>;
