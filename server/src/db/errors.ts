// Which errors mean "the database cannot be reached or cannot take work right now" (a client should
// retry shortly: 503) as opposed to a bug or bad data (500). Driver errors are recognised by their
// codes and by pg's fixed connection messages; nothing else about them ever reaches a client.

/** Node socket errors while connecting or talking to PostgreSQL (or resolving its host). */
const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN', // DNS not ready yet (a database container still starting)
  'ENOTFOUND',
]);

/**
 * PostgreSQL SQLSTATEs: class 08 (connection exception), 57P01/57P02 (server shutting down or
 * crashed, our session was terminated), 57P03 (starting up / in recovery), 53300 (too many
 * connections).
 */
const PG_STATES = new Set(['57P01', '57P02', '57P03', '53300']);

/** pg and pg-pool raise these without a code when a connection dies or cannot be had in time. */
const PG_MESSAGES = [
  /^Connection terminated/, // "… unexpectedly", "… due to connection timeout"
  /^timeout exceeded when trying to connect/, // pg-pool connectionTimeoutMillis
  /is not queryable$/, // a client whose connection already failed
  /^Cannot use a pool after calling end/, // a request still running while the server shuts down
];

/**
 * SQLite (better-sqlite3 codes): locked by another writer past busy_timeout, disk full, I/O
 * error, file cannot be opened. Extended codes (SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR_WRITE…) too.
 */
const SQLITE_PREFIXES = ['SQLITE_BUSY', 'SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_CANTOPEN'];

export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 3) return false;
  const { code, message, cause, errors } = err as {
    code?: unknown;
    message?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  if (typeof code === 'string') {
    if (NET_CODES.has(code) || PG_STATES.has(code)) return true;
    if (/^08[0-9A-Z]{3}$/.test(code)) return true;
    if (SQLITE_PREFIXES.some((p) => code.startsWith(p))) return true;
  }
  if (typeof message === 'string' && PG_MESSAGES.some((re) => re.test(message))) return true;
  // Node's happy-eyeballs connect reports an AggregateError; wrappers may keep the driver error as cause.
  if (Array.isArray(errors) && errors.some((e) => isDatabaseUnavailable(e, depth + 1))) return true;
  return isDatabaseUnavailable(cause, depth + 1);
}

/**
 * A short reason for operators: the error code (or pg's fixed message), never SQL, parameters or
 * the connection URL. Example: "ECONNREFUSED", "57P03 the database system is starting up".
 */
export function describeDbError(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err).slice(0, 200);
  const { code, message, errors } = err as { code?: unknown; message?: unknown; errors?: unknown };
  const msg = typeof message === 'string' ? message : '';
  if (typeof code === 'string') {
    // Socket errors repeat host:port in the message; the caller prints the host:port it configured.
    if (NET_CODES.has(code)) return code;
    // SQLSTATE: the server's message names objects ("database "x" does not exist"), not values.
    if (/^[0-9A-Z]{5}$/.test(code)) return `${code} ${msg}`.trim().slice(0, 200);
    return (msg.startsWith(code) ? msg : `${code}${msg ? ` ${msg}` : ''}`).slice(0, 200); // Node: "EACCES: …"
  }
  if (Array.isArray(errors) && errors.length) return describeDbError(errors[0]);
  return (msg || 'unknown error').slice(0, 200);
}

/** What a unique constraint protects, by table: the resource named in the 409. */
const UNIQUE_SUBJECT: Record<string, string> = {
  roles: 'A role with this name exists in this project',
  api_key_templates: 'A key template with this name exists in this project',
  template_fields: 'An info field with this name exists in this template',
  secrets: 'A secret with this name exists in this project',
  users: 'An account with this email exists',
  links: 'These nodes are linked already',
  invitations: 'An invitation to this address is pending',
};

/** Unique indexes over expressions, by the table they guard (SQLite names only the index). */
const UNIQUE_INDEX_TABLE: Record<string, string> = {
  api_key_templates_name_ci: 'api_key_templates',
};

/**
 * A unique-constraint violation (SQLite SQLITE_CONSTRAINT_UNIQUE / PostgreSQL 23505), as the
 * message of the 409 it becomes; null for any other error. The services check names first; this
 * settles the race two concurrent writers can still run into, the same way for every resource.
 */
export function uniqueViolation(err: unknown): { code: 'NAME_TAKEN' | 'EMAIL_TAKEN'; message: string } | null {
  if (typeof err !== 'object' || err === null) return null;
  const { code, message, table } = err as { code?: unknown; message?: unknown; table?: unknown };
  let name: string | undefined;
  if (code === '23505') name = typeof table === 'string' ? table : undefined;
  else if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    // columns: "failed: secrets.project_id, secrets.name"; an expression index: "failed: index 'x'"
    const text = typeof message === 'string' ? message : '';
    const index = /failed: index '(\w+)'/.exec(text)?.[1];
    name = index ? UNIQUE_INDEX_TABLE[index] : /failed: (\w+)\./.exec(text)?.[1];
  } else return null;
  const subject = (name && UNIQUE_SUBJECT[name]) || 'This already exists';
  return { code: name === 'users' ? 'EMAIL_TAKEN' : 'NAME_TAKEN', message: subject };
}
