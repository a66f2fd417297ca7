// SMTP down (real faults, no mocks): SMTP_URL points at a port where nothing listens. A key request
// still succeeds and the owner's in-app notification exists at once; the mail waits in the outbox,
// its failed attempt recorded, and is delivered (once) by the outbox's retry when a real SMTP server
// comes up on that port.
import type { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, makeProject, makeTestApp, signUp, type TestApp, waitFor } from './helpers.js';
import { makeProjectVisible } from './keys-helpers.js';
import { type Mail, startSmtp, stopSmtp } from './mail-helpers.js';

let t: TestApp;
let smtpPort: number;
let smtp: SMTPServer | null = null;
const mails: Mail[] = [];

beforeAll(async () => {
  smtpPort = await freePort(); // nothing listens here until the test starts the server
  // the sender looks for due mail every 100 ms; the retry delay itself is the outbox's own (2 s)
  t = await makeTestApp({ env: { SMTP_URL: `smtp://127.0.0.1:${smtpPort}` }, mailIntervalMs: 100 });
});
afterAll(async () => {
  await t?.close();
  await stopSmtp(smtp);
});

describe('SMTP server down', () => {
  it('a key request succeeds and notifies in-app; the mail is retried and delivered once SMTP is up', async () => {
    const owner = await signUp(t.app, 'Owner');
    const client = await signUp(t.app, 'Client');
    const { projectId: p } = await makeProject(owner, 'Mail outage');
    await makeProjectVisible(owner, p);
    const role = (
      await owner.post(`/api/projects/${p}/roles`, { name: 'client', permissions: { project: ['project_view'] } })
    ).json() as { id: number };
    const tpl = (
      await owner.post(`/api/projects/${p}/api-key-templates`, { name: 'Mailed offer', role_id: role.id })
    ).json() as { id: number };

    const req = await client.post(`/api/projects/${p}/api-key-templates/${tpl.id}/requests`);
    expect(req.statusCode, req.body).toBe(201);
    const notes = (await owner.get('/api/me/notifications')).json() as { items: { kind: string }[] };
    expect(notes.items[0]?.kind).toBe('key_request.created');

    // the sender tried, failed (connection refused) and scheduled a retry; the mail is still pending
    const outbox = () =>
      t.app.ctx.k.selectFrom('outbox').selectAll().where('to_email', '=', owner.user.email).executeTakeFirstOrThrow();
    const failed = await waitFor(async () => {
      const m = await outbox();
      return m.attempts >= 1 ? m : undefined;
    }, 'a failed attempt');
    expect(failed.status).toBe('pending');
    expect(failed.last_error).toMatch(/ECONNREFUSED/);
    expect(failed.next_attempt_at).toBeGreaterThan(Date.now());
    const mine = (await owner.get('/api/me/mail')).json() as { items: { status: string; attempts: number }[] };
    expect(mine.items[0]).toMatchObject({ status: 'pending' });
    expect(mails).toEqual([]);

    smtp = await startSmtp(smtpPort, (m) => void mails.push(m)); // SMTP is back
    const mail = await waitFor(() => mails.find((m) => m.to.includes(owner.user.email)), 'the retried mail');
    expect(mail.data).toContain('Mailed offer');
    const sent = await waitFor(async () => {
      const m = await outbox();
      return m.status === 'sent' ? m : undefined;
    }, 'status sent');
    expect(sent.attempts).toBeGreaterThanOrEqual(2);
    expect(sent.last_error).toBeNull();
    await new Promise((r) => setTimeout(r, 500)); // a few more sender passes: no second copy
    expect(mails.filter((m) => m.to.includes(owner.user.email))).toHaveLength(1);
  });
});
