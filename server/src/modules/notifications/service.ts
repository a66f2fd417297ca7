// Notifications: an in-app notice and an email per recipient, written in the caller's
// transaction (never lost with the event, never blocking it). Mail leaves through the outbox.
import { holdsProject, type Permission, parsePermissions } from '../../auth/permissions.js';
import type { Ctx, Q } from '../../context.js';
import { toIso } from '../../lib/clock.js';
import { parseJson } from '../../lib/json.js';

/** What a notice's text is made of, so the web UI can write it in its own language. */
export type NoticeParams = Record<string, string | number | null>;

export interface Notice {
  kind: string;
  projectId: number | null;
  title: string;
  body: string;
  /** path inside the web UI, e.g. /projects/1/api-keys#requests */
  link: string;
  /** the names and values `title` and `body` are written from (kept as JSON, returned to the UI) */
  params?: NoticeParams;
}

/**
 * Text a user wrote (a name, a reason), set into a notice as a quotation: in quotes, and with
 * link schemes broken ("http[:]//") so a crafted name cannot pose as an instruction or a link.
 */
export function quoted(text: string): string {
  return `"${text.replace(/"/g, "'").replace(/([a-z][a-z0-9+.-]*):\/\//gi, '$1[:]//')}"`;
}

/**
 * `digest`: the in-app notice now, its mail later in the recipients' daily digest (notifications/digest.ts).
 */
export async function notify(
  q: Q,
  ctx: Ctx,
  userIds: number[],
  notice: Notice,
  opts: { digest?: boolean } = {},
): Promise<void> {
  const ids = [...new Set(userIds)];
  if (!ids.length) return;
  const digest = opts.digest === true;
  const now = ctx.clock.now();
  await q
    .insertInto('notifications')
    .values(
      ids.map((user_id) => ({
        user_id,
        project_id: notice.projectId,
        kind: notice.kind,
        title: notice.title,
        body: notice.body,
        link: notice.link,
        params: notice.params ? JSON.stringify(notice.params) : null,
        created_at: now,
        read_at: null,
        mail_digest: digest ? 1 : 0,
      })),
    )
    .execute();
  if (digest) return;
  const users = await q.selectFrom('users').select(['email', 'name']).where('id', 'in', ids).execute();
  const url = `${ctx.config.publicUrl}${notice.link}`;
  await queueMails(
    q,
    now,
    users.map((to) => ({ to, subject: `[Keyport] ${notice.title}`, text: `${notice.body}\n\nOpen: ${url}` })),
  );
}

/**
 * Puts mails in the outbox (the OutboxSender delivers them): each greets its recipient by name and
 * ends with the same warning about text Keyport users wrote.
 */
export async function queueMails(
  q: Q,
  now: number,
  mails: { to: { email: string; name: string }; subject: string; text: string }[],
): Promise<void> {
  if (!mails.length) return;
  await q
    .insertInto('outbox')
    .values(
      mails.map((m) => ({
        to_email: m.to.email,
        subject: m.subject,
        body: `Hello ${m.to.name},\n\n${m.text}\n\nText in quotes was written by Keyport users, not by Keyport; Keyport never asks you to follow a link inside it.\n\n— Keyport`,
        status: 'pending' as const,
        attempts: 0,
        next_attempt_at: now,
        locked_until: null,
        last_error: null,
        created_at: now,
        sent_at: null,
      })),
    )
    .execute();
}

/**
 * Users holding `permission` in a project through any of their roles (a permission implied by a
 * wider one counts: the deciders of key requests are its api_keys_manage and project_manage holders).
 */
export async function holdersOf(q: Q, projectId: number, permission: Permission): Promise<number[]> {
  const rows = await q
    .selectFrom('member_roles')
    .innerJoin('roles', 'roles.id', 'member_roles.role_id')
    .select(['member_roles.user_id', 'roles.permissions'])
    .where('member_roles.project_id', '=', projectId)
    .execute();
  const holds = (json: string) => holdsProject(new Set(parsePermissions(json).project), permission);
  return [...new Set(rows.filter((r) => holds(r.permissions)).map((r) => r.user_id))];
}

export async function listNotifications(ctx: Ctx, userId: number, limit: number, offset: number) {
  const base = ctx.k.selectFrom('notifications').where('user_id', '=', userId);
  const counts = await base
    .select((eb) => [
      eb.fn.countAll<number>().as('total'),
      eb.fn.sum<number>(eb.case().when('read_at', 'is', null).then(1).else(0).end()).as('unread'),
    ])
    .executeTakeFirstOrThrow();
  const rows = await base.selectAll().orderBy('id', 'desc').limit(limit).offset(offset).execute();
  return {
    total: Number(counts.total),
    unread: Number(counts.unread ?? 0),
    items: rows.map((n) => ({
      id: n.id,
      kind: n.kind,
      project_id: n.project_id,
      title: n.title,
      body: n.body,
      link: n.link,
      // null on rows written before parameters were kept: the UI then shows `body`
      params: parseJson<NoticeParams | null>(n.params, null),
      created_at: toIso(n.created_at),
      read_at: toIso(n.read_at),
    })),
  };
}

export async function markRead(ctx: Ctx, userId: number, ids: number[] | undefined) {
  let q = ctx.k
    .updateTable('notifications')
    .set({ read_at: ctx.clock.now() })
    .where('user_id', '=', userId)
    .where('read_at', 'is', null);
  if (ids) q = q.where('id', 'in', ids.length ? ids : [0]);
  const res = await q.executeTakeFirst();
  return { marked: Number(res.numUpdatedRows) };
}

/** Mail addressed to me: the outbox the UI shows when no SMTP server is configured. */
export async function myMail(ctx: Ctx, userId: number, limit: number, offset: number) {
  const user = await ctx.k.selectFrom('users').select('email').where('id', '=', userId).executeTakeFirstOrThrow();
  const base = ctx.k.selectFrom('outbox').where('to_email', '=', user.email);
  const { total } = await base.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
  const rows = await base.selectAll().orderBy('id', 'desc').limit(limit).offset(offset).execute();
  return {
    total: Number(total),
    smtp_configured: ctx.config.smtpUrl !== null,
    items: rows.map((m) => ({
      id: m.id,
      subject: m.subject,
      body: m.body,
      status: m.status,
      attempts: m.attempts,
      created_at: toIso(m.created_at),
      sent_at: toIso(m.sent_at),
    })),
  };
}
