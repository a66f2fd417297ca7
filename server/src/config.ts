// The one place that reads process.env. Parsed once, validated, frozen; a bad value
// stops start-up with a message naming the variable.
import { isIP } from 'node:net';
import path from 'node:path';

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** postgres://… when set; otherwise the embedded SQLite file in dataDir. */
  readonly databaseUrl: string | null;
  /** Start-up: how long to retry an unreachable database before exiting (0 = one attempt). */
  readonly dbConnectTimeoutSeconds: number;
  readonly publicUrl: string;
  /** base64 of 32 bytes; null = generate/read `<dataDir>/master.key`. */
  readonly masterKey: string | null;
  readonly smtpUrl: string | null;
  readonly mailFrom: string;
  readonly currency: string;
  readonly demo: boolean;
  readonly logLevel: string;
  /** Seconds a verified key / permission set may be served from memory without re-checking. */
  readonly cacheTtlSeconds: number;
  /** Upper bound on cached verified tokens (LRU). */
  readonly cacheMaxKeys: number;
  readonly maxObjectBytes: number;
  /** Where new file objects go; existing ones are read from wherever their row says. */
  readonly objectStore: ObjectStoreName;
  /** Directory of the fs store. */
  readonly objectDir: string;
  /** S3-compatible store; null when KEYPORT_S3_BUCKET is unset. */
  readonly s3: S3Config | null;
  /** Unreferenced objects untouched this long are removed. */
  readonly objectGcGraceHours: number;
  /** How often one instance looks for such objects; 0 = never. */
  readonly objectGcIntervalSeconds: number;
  readonly bodyLimitBytes: number;
  readonly signedUrlTtlSeconds: number;
  readonly usageFlushMs: number;
  readonly workers: number;
  readonly trustProxy: boolean;
  /** Requests per minute per API key (token bucket, per instance); 0 = no limit. */
  readonly keyRateLimitPerMinute: number;
  /** When set, GET /metrics needs `Authorization: Bearer <token>`; null = open (internal network). */
  readonly metricsToken: string | null;
  /** Webhook URLs may use http:// (otherwise https only). */
  readonly webhookAllowHttp: boolean;
  /** Hosts (lower-case names or IP addresses) webhooks may reach even on loopback or private addresses. */
  readonly webhookAllowHosts: readonly string[];
  /** Days a key request may wait for a decision before it expires. */
  readonly requestTtlDays: number;
  /** UTC hour at which the daily request digests go out (each covers the 24 hours before it). */
  readonly digestHourUtc: number;
}

export type ObjectStoreName = 'db' | 'fs' | 's3';

export interface S3Config {
  /** null = AWS's own endpoint for the region */
  readonly endpoint: string | null;
  readonly bucket: string;
  readonly region: string;
  /** null = the AWS SDK's default credential chain (environment, profile, instance role) */
  readonly accessKeyId: string | null;
  readonly secretAccessKey: string | null;
  /** bucket in the path (MinIO, Ceph RGW, most self-hosted stores), not in the host name */
  readonly forcePathStyle: boolean;
  /** prepended to every key, e.g. "keyport/" */
  readonly prefix: string;
  /** multipart part size; memory per upload is about 5 parts */
  readonly partBytes: number;
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be an integer, got "${raw}"`);
  const v = Number(raw);
  if (v < min || v > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${v}`);
  return v;
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(`${name} must be a boolean (1/0, true/false), got "${raw}"`);
}

function url(env: Env, name: string, protocols: string[]): string | null {
  const raw = env[name];
  if (raw === undefined || raw === '') return null;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a valid URL`);
  }
  if (!protocols.includes(u.protocol)) {
    throw new ConfigError(`${name} must use one of ${protocols.join(', ')}, got "${u.protocol}"`);
  }
  return raw;
}

/** A comma list of host names or IP addresses (IPv6 with or without brackets), lower-cased. */
function hostList(env: Env, name: string): readonly string[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return Object.freeze([]);
  const unbracket = (h: string) => h.replace(/^\[(.*)\]$/, '$1');
  const hosts = raw.split(',').map((h) => unbracket(h.trim().toLowerCase()));
  for (const h of hosts) {
    if (!/^[a-z0-9.-]+$/.test(h) && !isIP(h)) {
      throw new ConfigError(`${name} must be a comma list of hosts, got "${h}"`);
    }
  }
  return Object.freeze(hosts);
}

function s3Config(env: Env): S3Config | null {
  const bucket = env.KEYPORT_S3_BUCKET || null;
  if (bucket === null) return null;
  const accessKeyId = env.KEYPORT_S3_ACCESS_KEY_ID || null;
  const secretAccessKey = env.KEYPORT_S3_SECRET_ACCESS_KEY || null;
  if ((accessKeyId === null) !== (secretAccessKey === null)) {
    throw new ConfigError('KEYPORT_S3_ACCESS_KEY_ID and KEYPORT_S3_SECRET_ACCESS_KEY must be set together');
  }
  return Object.freeze({
    endpoint: url(env, 'KEYPORT_S3_ENDPOINT', ['http:', 'https:']),
    bucket,
    region: env.KEYPORT_S3_REGION || 'us-east-1',
    accessKeyId,
    secretAccessKey,
    forcePathStyle: bool(env, 'KEYPORT_S3_FORCE_PATH_STYLE', false),
    prefix: env.KEYPORT_S3_PREFIX || '',
    // S3 refuses parts below 5 MiB (but the last) and more than 10,000 parts
    partBytes: int(env, 'KEYPORT_S3_PART_BYTES', 8 * 1024 * 1024, 5 * 1024 * 1024, 1024 * 1024 * 1024),
  });
}

function objectStoreName(env: Env, databaseUrl: string | null, s3: S3Config | null): ObjectStoreName {
  // one instance on SQLite: a directory beside the database; PostgreSQL may mean several
  // instances, which all see the database but not necessarily one directory
  const raw = env.KEYPORT_OBJECT_STORE || (databaseUrl ? 'db' : 'fs');
  if (raw !== 'db' && raw !== 'fs' && raw !== 's3') {
    throw new ConfigError(`KEYPORT_OBJECT_STORE must be db, fs or s3, got "${raw}"`);
  }
  if (raw === 's3' && s3 === null) throw new ConfigError('KEYPORT_OBJECT_STORE=s3 needs KEYPORT_S3_BUCKET');
  return raw;
}

export function loadConfig(env: Env = process.env, cwd = process.cwd()): Config {
  const port = int(env, 'PORT', 8080, 0, 65535);
  const host = env.KEYPORT_HOST || '0.0.0.0';
  const dataDir = path.resolve(cwd, env.KEYPORT_DATA_DIR || 'data');
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  const publicUrl = (url(env, 'KEYPORT_PUBLIC_URL', ['http:', 'https:']) ?? `http://localhost:${port}`).replace(
    /\/+$/,
    '',
  );
  const masterKey = env.KEYPORT_MASTER_KEY || null;
  if (masterKey !== null) {
    const bytes = Buffer.from(masterKey, 'base64');
    if (bytes.length !== 32 || bytes.toString('base64') !== masterKey) {
      throw new ConfigError('KEYPORT_MASTER_KEY must be 32 random bytes in base64 (openssl rand -base64 32)');
    }
  }
  const currency = env.KEYPORT_CURRENCY || 'USD';
  if (!/^[A-Z]{3}$/.test(currency))
    throw new ConfigError(`KEYPORT_CURRENCY must be an ISO 4217 code, got "${currency}"`);
  const logLevel = env.KEYPORT_LOG_LEVEL || 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError(`KEYPORT_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent`);
  }
  const s3 = s3Config(env);
  const metricsToken = env.KEYPORT_METRICS_TOKEN || null;
  if (metricsToken !== null && !/^[\x21-\x7e]{16,256}$/.test(metricsToken)) {
    throw new ConfigError('KEYPORT_METRICS_TOKEN must be 16 to 256 printable characters without spaces');
  }
  return Object.freeze({
    port,
    host,
    dataDir,
    databaseUrl,
    dbConnectTimeoutSeconds: int(env, 'KEYPORT_DB_CONNECT_TIMEOUT_SECONDS', 60, 0, 3600),
    publicUrl,
    masterKey,
    smtpUrl: url(env, 'SMTP_URL', ['smtp:', 'smtps:']),
    mailFrom: env.KEYPORT_MAIL_FROM || 'Keyport <keyport@localhost>',
    currency,
    demo: bool(env, 'KEYPORT_DEMO', true),
    logLevel,
    cacheTtlSeconds: int(env, 'KEYPORT_CACHE_TTL_SECONDS', 5, 0, 3600),
    cacheMaxKeys: int(env, 'KEYPORT_CACHE_MAX_KEYS', 100_000, 1, 10_000_000),
    maxObjectBytes: int(env, 'KEYPORT_MAX_OBJECT_BYTES', 5 * 1024 ** 3, 1, 5 * 1024 ** 4),
    objectStore: objectStoreName(env, databaseUrl, s3),
    objectDir: path.resolve(cwd, env.KEYPORT_OBJECT_DIR || path.join(dataDir, 'objects')),
    s3,
    objectGcGraceHours: int(env, 'KEYPORT_OBJECT_GC_GRACE_HOURS', 24, 0, 24 * 365),
    objectGcIntervalSeconds: int(env, 'KEYPORT_OBJECT_GC_INTERVAL_SECONDS', 3600, 0, 7 * 24 * 3600),
    bodyLimitBytes: int(env, 'KEYPORT_BODY_LIMIT_BYTES', 1024 * 1024, 1024, 2 ** 30),
    signedUrlTtlSeconds: int(env, 'KEYPORT_SIGNED_URL_TTL_SECONDS', 900, 10, 7 * 24 * 3600),
    usageFlushMs: int(env, 'KEYPORT_USAGE_FLUSH_MS', 500, 10, 60_000),
    workers: int(env, 'KEYPORT_WORKERS', 1, 1, 64),
    trustProxy: bool(env, 'KEYPORT_TRUST_PROXY', false),
    keyRateLimitPerMinute: int(env, 'KEYPORT_KEY_RATE_LIMIT', 0, 0, 10_000_000),
    metricsToken,
    webhookAllowHttp: bool(env, 'KEYPORT_WEBHOOK_ALLOW_HTTP', false),
    webhookAllowHosts: hostList(env, 'KEYPORT_WEBHOOK_ALLOW_HOSTS'),
    requestTtlDays: int(env, 'KEYPORT_REQUEST_TTL_DAYS', 14, 1, 3650),
    digestHourUtc: int(env, 'KEYPORT_DIGEST_HOUR_UTC', 0, 0, 23),
  });
}
