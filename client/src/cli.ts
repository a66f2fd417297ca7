// `keyport` command line.
//
//   keyport run --server URL --project P --node N [--prefix RNDFLOW_SECRET_] -- <command> [args…]
//
// Fetches the secrets granted to node N of project P (GET /api/projects/P/nodes/N/secrets) and
// runs the command with each one as an environment variable `<prefix><NAME>` (default prefix
// RNDFLOW_SECRET_, the names existing job code reads). Registry credentials arrive as the JSON
// text {"host","user","password"}. The command is spawned directly (no shell); its exit code is
// returned and signals sent to `keyport` (SIGINT, SIGTERM, SIGHUP, …) are forwarded to it; a
// command killed by a signal makes `keyport` die of the same signal.
//
// Credentials: KEYPORT_TOKEN (an API key, sent as a Bearer token) or KEYPORT_SESSION (a session
// cookie value). Neither is passed on to the command, and neither is ever printed.
// --server defaults to KEYPORT_SERVER.
//
// Exit codes of keyport itself: 2 bad usage; 125 the secrets could not be fetched (server
// unreachable, 401/403/404, …); 126 the command cannot be executed; 127 the command was not found.
// Otherwise: the command's own exit code.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { KeyportClient, KeyportError } from './client.js';

export const DEFAULT_PREFIX = 'RNDFLOW_SECRET_';
export const EXIT_USAGE = 2;
export const EXIT_FETCH_FAILED = 125;
export const EXIT_CANNOT_EXECUTE = 126;
export const EXIT_NOT_FOUND = 127;

const FORWARDED_SIGNALS: NodeJS.Signals[] = [
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGWINCH',
];
const CREDENTIAL_VARS = ['KEYPORT_TOKEN', 'KEYPORT_SESSION'];

export const USAGE = `Usage:
  keyport run --server URL --project P --node N [--prefix PREFIX] -- <command> [args...]

Runs <command> with the secrets granted to node N of project P as environment variables
<PREFIX><NAME> (default prefix ${DEFAULT_PREFIX}).

Options:
  --server URL     Keyport server (default: $KEYPORT_SERVER)
  --project P      project id
  --node N         node id
  --prefix PREFIX  variable name prefix (letters, digits, _; may be empty)

Credentials (never printed, not passed to the command):
  KEYPORT_TOKEN    API key (Bearer token) with code_edit on the node
  KEYPORT_SESSION  or a session cookie value of a user with code_edit on the node
`;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface RunOptions {
  server: string;
  projectId: number;
  nodeId: number;
  prefix: string;
  command: string;
  args: string[];
  credentials: { token: string } | { session: string };
}

type Env = Record<string, string | undefined>;

const usage = (msg: string) => new CliError(`${msg}\n\n${USAGE}`, EXIT_USAGE);

function positiveInt(name: string, raw: string | undefined): number {
  if (raw === undefined || !/^[1-9]\d{0,9}$/.test(raw) || Number(raw) > 2_147_483_647) {
    throw usage(`keyport: --${name} must be a positive integer id`);
  }
  return Number(raw);
}

/** Parses `run …` arguments (everything after the `run` word). */
export function parseRunArgs(argv: string[], env: Env): RunOptions {
  const sep = argv.indexOf('--');
  const opts = sep === -1 ? argv : argv.slice(0, sep);
  const command = sep === -1 ? [] : argv.slice(sep + 1);
  const values: Record<string, string> = {};
  for (let i = 0; i < opts.length; i++) {
    const arg = opts[i] as string;
    const m = /^--(server|project|node|prefix)(?:=(.*))?$/s.exec(arg);
    if (!m) throw usage(`keyport: unknown option "${arg}"${sep === -1 ? ' (put the command after --)' : ''}`);
    const name = m[1] as string;
    let value = m[2];
    if (value === undefined) {
      value = opts[i + 1];
      i += 1;
      if (value === undefined) throw usage(`keyport: --${name} needs a value`);
    }
    values[name] = value;
  }
  const server = values.server ?? env.KEYPORT_SERVER;
  if (!server) throw usage('keyport: --server is required (or set KEYPORT_SERVER)');
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw usage('keyport: --server must be a URL such as http://localhost:8080');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw usage('keyport: --server must be an http:// or https:// URL');
  const prefix = values.prefix ?? DEFAULT_PREFIX;
  if (!/^[A-Za-z0-9_]*$/.test(prefix)) throw usage('keyport: --prefix may contain only letters, digits and _');
  if (!command.length || !command[0]) throw usage('keyport: give the command to run after --');
  const token = env.KEYPORT_TOKEN?.trim();
  const session = env.KEYPORT_SESSION?.trim();
  if (!token && !session) throw usage('keyport: set KEYPORT_TOKEN (an API key) or KEYPORT_SESSION (a session cookie)');
  return {
    server: url.href.replace(/\/+$/, ''),
    projectId: positiveInt('project', values.project),
    nodeId: positiveInt('node', values.node),
    prefix,
    command: command[0] as string,
    args: command.slice(1),
    credentials: token ? { token } : { session: session as string },
  };
}

/** The server's origin without any user:password part, for messages. */
const where = (server: string) => {
  const u = new URL(server);
  return `${u.protocol}//${u.host}`;
};

function scrub(text: string, opts: RunOptions): string {
  const secret = 'token' in opts.credentials ? opts.credentials.token : opts.credentials.session;
  return secret ? text.split(secret).join('[redacted]') : text;
}

/** GET the runner view through the client (its timeouts, retries and error model). */
export async function fetchNodeSecrets(
  opts: RunOptions,
  fetchImpl: typeof fetch = fetch,
): Promise<Record<string, string>> {
  const client = new KeyportClient({
    server: opts.server,
    project: opts.projectId,
    ...('token' in opts.credentials ? { token: opts.credentials.token } : { cookie: opts.credentials.session }),
    timeoutMs: 30_000,
    retries: 2,
    fetch: fetchImpl,
  });
  try {
    return await client.getNodeSecrets(opts.nodeId);
  } catch (err) {
    throw explain(err, opts);
  }
}

/** A failed runner-view call as the message a person running a job needs (credentials scrubbed). */
function explain(err: unknown, opts: RunOptions): CliError {
  if (!(err instanceof KeyportError)) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
    return new CliError(`keyport: cannot reach ${where(opts.server)}: ${scrub(why, opts)}`, EXIT_FETCH_FAILED);
  }
  if (err.code === 'UNEXPECTED_ANSWER')
    return new CliError(
      `keyport: unexpected answer from ${where(opts.server)} (not a name -> value object)`,
      EXIT_FETCH_FAILED,
    );
  const error = (err.body as { error?: { code?: string; message?: string } } | undefined)?.error;
  const detail = scrub(
    error ? `${err.status} ${error.code ?? ''}: ${error.message ?? ''}` : `HTTP ${err.status}`,
    opts,
  );
  const cred = 'token' in opts.credentials ? 'KEYPORT_TOKEN' : 'KEYPORT_SESSION';
  const target = `node ${opts.nodeId} of project ${opts.projectId}`;
  switch (err.status) {
    case 401:
      return new CliError(
        `keyport: ${where(opts.server)} did not accept the credentials in ${cred} (${detail}). Is the key valid and not revoked?`,
        EXIT_FETCH_FAILED,
      );
    case 403:
      return new CliError(
        `keyport: access denied to the secrets of ${target} (${detail}). The credentials need code_edit on that node.`,
        EXIT_FETCH_FAILED,
      );
    case 404:
      return new CliError(
        `keyport: ${target} was not found, or is not visible with the credentials in ${cred} (${detail}).`,
        EXIT_FETCH_FAILED,
      );
    default:
      return new CliError(`keyport: could not fetch the secrets of ${target} (${detail}).`, EXIT_FETCH_FAILED);
  }
}

/** The command's environment: ours without keyport's credentials, plus `<prefix><NAME>` per secret. */
export function childEnv(base: Env, secrets: Record<string, string>, prefix: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined && !CREDENTIAL_VARS.includes(k)) env[k] = v;
  for (const [name, value] of Object.entries(secrets)) env[`${prefix}${name}`] = value;
  return env;
}

/** Spawns the command, forwards signals, resolves with its exit code or the signal that ended it. */
export function runCommand(
  opts: RunOptions,
  env: Record<string, string>,
): Promise<{ code: number } | { signal: NodeJS.Signals }> {
  return new Promise((resolve, reject) => {
    const child = spawn(opts.command, opts.args, { stdio: 'inherit', env });
    const forward = (sig: NodeJS.Signals) => () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    };
    const handlers = FORWARDED_SIGNALS.map((sig) => [sig, forward(sig)] as const);
    for (const [sig, h] of handlers) process.on(sig, h);
    const cleanup = () => {
      for (const [sig, h] of handlers) process.removeListener(sig, h);
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      cleanup();
      const code = err.code === 'ENOENT' ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE;
      const why = err.code === 'ENOENT' ? 'command not found' : (err.code ?? 'cannot execute');
      reject(new CliError(`keyport: cannot run "${opts.command}": ${why}`, code));
    });
    child.on('exit', (code, signal) => {
      cleanup();
      resolve(signal ? { signal } : { code: code ?? 1 });
    });
  });
}

/** Entry point of bin/keyport.mjs. Never returns: exits with the command's status. */
export async function main(argv: string[], env: Env = process.env): Promise<never> {
  try {
    const [cmd, ...rest] = argv;
    if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
      process.stdout.write(USAGE);
      process.exit(cmd === undefined ? EXIT_USAGE : 0);
    }
    if (cmd !== 'run') throw usage(`keyport: unknown command "${cmd}"`);
    const opts = parseRunArgs(rest, env);
    const secrets = await fetchNodeSecrets(opts);
    const result = await runCommand(opts, childEnv(env, secrets, opts.prefix));
    if ('signal' in result) {
      // die the way the command died, so a supervisor sees the same thing
      process.kill(process.pid, result.signal);
      await new Promise((r) => setTimeout(r, 1000));
      process.exit(128 + (constants.signals[result.signal] ?? 1));
    }
    process.exit(result.code);
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`${err.message.trimEnd()}\n`);
      process.exit(err.exitCode);
    }
    process.stderr.write(`keyport: unexpected failure: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
