// Background jobs with several instances on one PostgreSQL: the outbox sender of every
// instance competes for the same due mail; each message must go out exactly once.
import type { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, PG_URL } from './helpers.js';
import { startSmtp, stopSmtp } from './mail-helpers.js';
import { type Cluster, sleep, startCluster, waitUntil } from './scaleout-helpers.js';

describe.skipIf(!PG_URL)('scale-out: background jobs on one PostgreSQL', () => {
  let cluster: Cluster;
  // One SMTP relay per instance, so the test sees that both senders took part.
  const relays: { smtp: SMTPServer; received: string[] }[] = [];

  beforeAll(async () => {
    const ports: number[] = [];
    for (let i = 0; i < 2; i++) {
      const received: string[] = [];
      const port = await freePort();
      const smtp = await startSmtp(port, async ({ data }) => {
        const m = /Subject: (mail-\d+)/.exec(data);
        received.push(m ? (m[1] as string) : 'unknown');
        // a slow relay keeps both senders' passes overlapping
        await sleep(15);
      });
      relays.push({ smtp, received });
      ports.push(port);
    }
    cluster = await startCluster(2, (i) => ({ SMTP_URL: `smtp://127.0.0.1:${ports[i]}` }));
  }, 120_000);

  afterAll(async () => {
    await cluster?.close();
    for (const r of relays) await stopSmtp(r.smtp);
  });

  it('two instances share the outbox: every mail is sent exactly once', async () => {
    const [A] = cluster.instances;
    const k = A!.t.app.ctx.k;
    const N = 60;
    const now = Date.now();
    await k
      .insertInto('outbox')
      .values(
        Array.from({ length: N }, (_, i) => ({
          to_email: `user${i}@example.test`,
          subject: `mail-${i}`,
          body: `body ${i}`,
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
    const sentCount = async () =>
      Number(
        (
          await k
            .selectFrom('outbox')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('status', '=', 'sent')
            .executeTakeFirstOrThrow()
        ).n,
      );
    await waitUntil(async () => (await sentCount()) === N, 'all mail sent', 45_000, 100);
    await sleep(2500); // two more passes of both senders: nothing may go out again

    const received = relays.flatMap((r) => r.received);
    console.log(
      `outbox: ${N} mails, sent by instance A: ${relays[0]?.received.length}, B: ${relays[1]?.received.length}`,
    );
    expect(received).toHaveLength(N);
    expect(new Set(received).size).toBe(N);
    const rows = await k.selectFrom('outbox').select(['status', 'attempts', 'locked_until']).execute();
    for (const r of rows) {
      expect(r.status).toBe('sent');
      expect(r.attempts).toBe(1);
      expect(r.locked_until).toBeNull();
    }
  }, 90_000);
});
