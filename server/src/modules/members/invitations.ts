// Invitations: adding someone to a project is an offer they accept. The answer to the
// inviting manager is the same whether or not an account holds the address, so inviting cannot be
// used to learn who has an account; the invitee sees the project only after accepting.
import type { Selectable } from 'kysely';
import type { Access } from '../../auth/permissions.js';
import type { Ctx, Q } from '../../context.js';
import type { InvitationsTable } from '../../db/schema.js';
import { AppError, notFound } from '../../errors.js';
import { toIso } from '../../lib/clock.js';
import { parseJson } from '../../lib/json.js';
import { normalizeEmail } from '../accounts/service.js';
import { audit } from '../audit/service.js';
import { notify, quoted } from '../notifications/service.js';
import { checkGrantableRoles, isOwner, ownerOnly } from './service.js';

export const INVITATION_TTL_MS = 14 * 24 * 3600 * 1000;

type InvitationRow = Omit<Selectable<InvitationsTable>, 'invited_by' | 'decided_at'>;

const toInvitation = (r: InvitationRow) => ({
  id: r.id,
  project_id: r.project_id,
  email: r.email,
  role_ids: parseJson<number[]>(r.role_ids, []),
  status: r.status,
  created_at: toIso(r.created_at),
  expires_at: toIso(r.expires_at),
});

export async function invite(ctx: Ctx, access: Access, rawEmail: string, roleIds: number[]) {
  const email = normalizeEmail(rawEmail);
  const unique = [...new Set(roleIds)];
  const projectId = access.projectId;
  return ctx.k.transaction().execute(async (trx) => {
    const ownerRoles = await checkGrantableRoles(trx, access, unique);
    if (ownerRoles.length && !(await isOwner(trx, projectId, access.actor.userId)))
      throw ownerOnly('grant the owner role');
    const invitee = await trx.selectFrom('users').select(['id', 'name']).where('email', '=', email).executeTakeFirst();
    if (invitee) {
      const member = await trx
        .selectFrom('member_roles')
        .select('user_id')
        .where('project_id', '=', projectId)
        .where('user_id', '=', invitee.id)
        .executeTakeFirst();
      // managers see their members' addresses anyway: this reveals nothing new
      if (member) throw new AppError('ALREADY_MEMBER', 'This person is already a member; change their roles instead');
    }
    const now = ctx.clock.now();
    const values = {
      role_ids: JSON.stringify(unique),
      invited_by: access.actor.userId,
      created_at: now,
      expires_at: now + INVITATION_TTL_MS,
    };
    const pending = await trx
      .selectFrom('invitations')
      .select('id')
      .where('project_id', '=', projectId)
      .where('email', '=', email)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    let id: number;
    if (pending) {
      id = pending.id;
      await trx.updateTable('invitations').set(values).where('id', '=', id).execute();
    } else {
      const row = { project_id: projectId, email, status: 'pending' as const, decided_at: null, ...values };
      id = (await trx.insertInto('invitations').values(row).returning('id').executeTakeFirstOrThrow()).id;
    }
    if (invitee) {
      const [project, inviter] = await Promise.all([
        trx.selectFrom('projects').select('name').where('id', '=', projectId).executeTakeFirstOrThrow(),
        trx.selectFrom('users').select('name').where('id', '=', access.actor.userId).executeTakeFirstOrThrow(),
      ]);
      await notify(trx, ctx, [invitee.id], {
        kind: 'invitation.received',
        projectId,
        title: 'Invitation to a project',
        body: `${quoted(inviter.name)} invites you to the project ${quoted(project.name)}. Accept or decline it on your Invitations page.`,
        link: '/invitations',
        params: { project: project.name, inviter: inviter.name },
      });
    }
    // the audit names the address, never whether an account holds it
    await audit(trx, ctx, projectId, access.actor, {
      action: 'member.invited',
      object_type: 'invitation',
      object_id: id,
      details: { email, role_ids: unique },
    });
    return toInvitation({ id, project_id: projectId, email, status: 'pending', ...values });
  });
}

export async function listProjectInvitations(ctx: Ctx, access: Access) {
  const rows = await ctx.k
    .selectFrom('invitations')
    .innerJoin('users', 'users.id', 'invitations.invited_by')
    .selectAll('invitations')
    .select(['users.name as inviter_name'])
    .where('invitations.project_id', '=', access.projectId)
    .where('invitations.status', '=', 'pending')
    .where('invitations.expires_at', '>', ctx.clock.now())
    .orderBy('invitations.id', 'desc')
    .execute();
  const items = rows.map((r) => ({ ...toInvitation(r), invited_by: { id: r.invited_by, name: r.inviter_name } }));
  return { total: items.length, items };
}

export async function cancelInvitation(ctx: Ctx, access: Access, invitationId: number) {
  await ctx.k.transaction().execute(async (trx) => {
    const done = await trx
      .updateTable('invitations')
      .set({ status: 'cancelled', decided_at: ctx.clock.now() })
      .where('id', '=', invitationId)
      .where('project_id', '=', access.projectId)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (Number(done.numUpdatedRows) !== 1) throw notFound('Invitation');
    await audit(trx, ctx, access.projectId, access.actor, {
      action: 'member.invitation_cancelled',
      object_type: 'invitation',
      object_id: invitationId,
    });
  });
}

async function emailOf(ctx: Ctx, userId: number): Promise<string> {
  const u = await ctx.k.selectFrom('users').select('email').where('id', '=', userId).executeTakeFirstOrThrow();
  return u.email;
}

/** Pending invitations addressed to the signed-in user's email. */
export async function listMyInvitations(ctx: Ctx, userId: number) {
  const email = await emailOf(ctx, userId);
  const rows = await ctx.k
    .selectFrom('invitations')
    .innerJoin('projects', 'projects.id', 'invitations.project_id')
    .innerJoin('users', 'users.id', 'invitations.invited_by')
    .selectAll('invitations')
    .select(['projects.name as project_name', 'users.name as inviter_name'])
    .where('invitations.email', '=', email)
    .where('invitations.status', '=', 'pending')
    .where('invitations.expires_at', '>', ctx.clock.now())
    .orderBy('invitations.id', 'desc')
    .execute();
  const roleIds = [...new Set(rows.flatMap((r) => parseJson<number[]>(r.role_ids, [])))];
  const roles = roleIds.length
    ? await ctx.k.selectFrom('roles').select(['id', 'name']).where('id', 'in', roleIds).execute()
    : [];
  const roleName = new Map(roles.map((r) => [r.id, r.name]));
  const items = rows.map((r) => ({
    id: r.id,
    project: { id: r.project_id, name: r.project_name },
    roles: parseJson<number[]>(r.role_ids, [])
      .filter((id) => roleName.has(id))
      .map((id) => ({ id, name: roleName.get(id) as string })),
    invited_by: { id: r.invited_by, name: r.inviter_name },
    created_at: toIso(r.created_at),
    expires_at: toIso(r.expires_at),
  }));
  return { total: items.length, items };
}

/**
 * Moves a pending, fresh invitation addressed to the user's email to `status` (a guarded update:
 * of two concurrent decisions one wins); anyone else, or a decided or expired one, is 404.
 */
async function claim(trx: Q, ctx: Ctx, email: string, invitationId: number, status: 'accepted' | 'declined') {
  const now = ctx.clock.now();
  const inv = await trx
    .selectFrom('invitations')
    .selectAll()
    .where('id', '=', invitationId)
    .where('email', '=', email)
    .where('status', '=', 'pending')
    .where('expires_at', '>', now)
    .executeTakeFirst();
  if (!inv) throw notFound('Invitation');
  const claimed = await trx
    .updateTable('invitations')
    .set({ status, decided_at: now })
    .where('id', '=', inv.id)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  if (Number(claimed.numUpdatedRows) !== 1) throw notFound('Invitation');
  return inv;
}

const personActor = (userId: number) => ({ kind: 'user' as const, userId, sessionId: 0 });

/** Accept: the invitation's roles are added (roles deleted since are skipped; roles held are kept). */
export async function acceptInvitation(ctx: Ctx, userId: number, invitationId: number) {
  const email = await emailOf(ctx, userId);
  return ctx.k.transaction().execute(async (trx) => {
    const inv = await claim(trx, ctx, email, invitationId, 'accepted');
    const wanted = parseJson<number[]>(inv.role_ids, []);
    const existing = wanted.length
      ? await trx
          .selectFrom('roles')
          .select('id')
          .where('project_id', '=', inv.project_id)
          .where('id', 'in', wanted)
          .execute()
      : [];
    const held = new Set(
      (
        await trx
          .selectFrom('member_roles')
          .select('role_id')
          .where('project_id', '=', inv.project_id)
          .where('user_id', '=', userId)
          .execute()
      ).map((r) => r.role_id),
    );
    const add = existing.map((r) => r.id).filter((id) => !held.has(id));
    if (!add.length && !held.size) throw new AppError('INVALID_STATE', 'The roles of this invitation no longer exist');
    if (add.length) {
      const now = ctx.clock.now();
      await trx
        .insertInto('member_roles')
        .values(add.map((role_id) => ({ project_id: inv.project_id, user_id: userId, role_id, created_at: now })))
        .execute();
    }
    await audit(trx, ctx, inv.project_id, personActor(userId), {
      action: 'member.joined',
      object_type: 'user',
      object_id: userId,
      details: { invitation_id: inv.id, role_ids: add },
    });
    return { project_id: inv.project_id, role_ids: [...held, ...add] };
  });
}

export async function declineInvitation(ctx: Ctx, userId: number, invitationId: number) {
  const email = await emailOf(ctx, userId);
  await ctx.k.transaction().execute(async (trx) => {
    const inv = await claim(trx, ctx, email, invitationId, 'declined');
    await audit(trx, ctx, inv.project_id, personActor(userId), {
      action: 'member.invitation_declined',
      object_type: 'invitation',
      object_id: inv.id,
    });
  });
  return { ok: true as const };
}
