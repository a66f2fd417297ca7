// A real SMTP receiver for mail tests (smtp-server on loopback, no TLS, no auth), and the mails it got.
import { SMTPServer } from 'smtp-server';

export interface Mail {
  to: string[];
  data: string;
}

/** Listens on `port`; every message is handed to `onMail`, accepted once it resolves. */
export function startSmtp(port: number, onMail: (m: Mail) => void | Promise<void>): Promise<SMTPServer> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, cb) {
      let data = '';
      stream.on('data', (c) => (data += c));
      stream.on('end', () => {
        Promise.resolve(onMail({ to: session.envelope.rcptTo.map((r) => r.address), data })).then(() => cb(), cb);
      });
    },
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

export function stopSmtp(server: SMTPServer | null | undefined): Promise<void> {
  return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
}
