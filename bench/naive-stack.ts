// The comparison point: how a key check is usually written. Fastify + `jose.jwtVerify` (EdDSA) on
// every request + one database lookup of the key (revocation, role permissions) per request.
// Same response shape as Keyport's whoami. Serves its own tokens on its own port.
//
//   NAIVE_DB=<sqlite file | postgres://…> node --import tsx naive-stack.ts
//   → prints "NAIVE READY http://127.0.0.1:<port> TOKEN <jwt>"
//
// By default it gets the fastest database access available (a prepared better-sqlite3 statement,
// or a named prepared statement on a pg pool), so the comparison is not a straw man.
// NAIVE_DRIVER=kysely does the same lookup through Kysely, the query builder Keyport itself uses.
import { randomBytes } from 'node:crypto';
import SQLite from 'better-sqlite3';
import Fastify from 'fastify';
import { generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';

interface Tables {
  naive_keys: KeyRow & { jti: string };
}

interface KeyRow {
  id: number;
  project_id: number;
  user_id: number;
  template_id: number;
  role_id: number;
  permissions: string;
  revoked_at: number | null;
}

const target = process.env.NAIVE_DB;
if (!target) throw new Error('NAIVE_DB is required');
const ISSUER = 'naive-stack';
const AUDIENCE = 'naive-project';

const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
const jti = randomBytes(16).toString('base64url');
const permissions = JSON.stringify({ project: ['project_view'], nodes: { '1': ['package_create', 'package_view'] } });

let lookup: (jti: string) => Promise<KeyRow | undefined>;
const viaKysely = process.env.NAIVE_DRIVER === 'kysely';
if (target.startsWith('postgres')) {
  const pool = new pg.Pool({ connectionString: target, max: 10 });
  await pool.query(`CREATE TABLE IF NOT EXISTS naive_keys (
    id serial PRIMARY KEY, jti text UNIQUE NOT NULL, project_id integer NOT NULL, user_id integer NOT NULL,
    template_id integer NOT NULL, role_id integer NOT NULL, permissions text NOT NULL, revoked_at bigint)`);
  await pool.query(
    'INSERT INTO naive_keys (jti, project_id, user_id, template_id, role_id, permissions) VALUES ($1, 1, 2, 3, 4, $2)',
    [jti, permissions],
  );
  if (viaKysely) {
    const k = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
    lookup = (j) => k.selectFrom('naive_keys').selectAll().where('jti', '=', j).executeTakeFirst();
  } else {
    lookup = async (j) => {
      const r = await pool.query<KeyRow>({
        name: 'naive-key',
        text: 'SELECT * FROM naive_keys WHERE jti = $1',
        values: [j],
      });
      return r.rows[0];
    };
  }
} else {
  const db = new SQLite(target);
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE IF NOT EXISTS naive_keys (
    id integer PRIMARY KEY AUTOINCREMENT, jti text UNIQUE NOT NULL, project_id integer NOT NULL, user_id integer NOT NULL,
    template_id integer NOT NULL, role_id integer NOT NULL, permissions text NOT NULL, revoked_at integer)`);
  db.prepare(
    'INSERT INTO naive_keys (jti, project_id, user_id, template_id, role_id, permissions) VALUES (?, 1, 2, 3, 4, ?)',
  ).run(jti, permissions);
  if (viaKysely) {
    const k = new Kysely<Tables>({ dialect: new SqliteDialect({ database: db }) });
    lookup = (j) => k.selectFrom('naive_keys').selectAll().where('jti', '=', j).executeTakeFirst();
  } else {
    const stmt = db.prepare('SELECT * FROM naive_keys WHERE jti = ?');
    lookup = async (j) => stmt.get(j) as KeyRow | undefined;
  }
}

const token = await new SignJWT({})
  .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
  .setIssuer(ISSUER)
  .setAudience(AUDIENCE)
  .setSubject('2')
  .setJti(jti)
  .setIssuedAt()
  .sign(privateKey);

const app = Fastify({ logger: false });
const unauthorized = { error: { code: 'INVALID_KEY', message: 'The API key is missing, invalid, expired or revoked' } };

app.get('/api/health', async () => ({ status: 'ok' }));
app.get('/api/auth/whoami', async (req, reply) => {
  const authz = req.headers.authorization;
  if (!authz?.startsWith('Bearer ')) return reply.code(401).send(unauthorized);
  let claims: { jti?: string };
  try {
    ({ payload: claims } = await jwtVerify(authz.slice(7), publicKey, {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['EdDSA'],
    }));
  } catch {
    return reply.code(401).send(unauthorized);
  }
  const row = claims.jti ? await lookup(claims.jti) : undefined;
  if (!row || row.revoked_at !== null) return reply.code(401).send(unauthorized);
  return {
    key_id: row.id,
    project_id: row.project_id,
    user_id: row.user_id,
    template_id: row.template_id,
    role_id: row.role_id,
    permissions: JSON.parse(row.permissions),
  };
});

const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
console.log(`NAIVE READY ${address} TOKEN ${token}`);
const stop = () => void app.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
