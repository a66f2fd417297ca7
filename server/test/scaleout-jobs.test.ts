// Background jobs with several instances on one PostgreSQL (issue 8): the outbox sender of every
// instance competes for the same due mail; each message must go out exactly once.
import { createServer, type Server } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL } from './helpers.js';
import { type Cluster, sleep, startCluster, waitUntil } from './scaleout-helpers.js';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s: Server = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe.skipIf(!PG_URL)('scale-out: background jobs on one PostgreSQL', () => {
  let cluster: Cluster;
  // One SMTP relay per instance, so the test sees that both senders took part.
  const relays: { smtp: SMTPServer; received: string[] }[] = [];

  beforeAll(async () => {
    const ports: number[] = [];
    for (let i = 0; i < 2; i++) {
      const received: string[] = [];
      const smtp = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        onData(stream, _session, cb) {
          let data = '';
          stream.on('data', (c) => (data += c));
          stream.on('end', () => {
            const m = /Subject: (mail-\d+)/.exec(data);
            received.push(m ? (m[1] as string) : 'unknown');
            // a slow relay keeps both senders' passes overlapping
            setTimeout(() => cb(), 15);
          });
        },
      });
      const port = await freePort();
      await new Promise<void>((r) => smtp.listen(port, '127.0.0.1', r));
      relays.push({ smtp, received });
      ports.push(port);
    }
    cluster = await startCluster(2, (i) => ({ SMTP_URL: `smtp://127.0.0.1:${ports[i]}` }));
  }, 120_000);

  afterAll(async () => {
    await cluster?.close();
    for (const r of relays) await new Promise<void>((done) => r.smtp.close(() => done()));
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
