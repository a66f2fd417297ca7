// Key verification on the hot path. Warm: one Map lookup by the token's text + field checks, no
// await, no database. Cold: the token against an in-memory key directory (every live key, loaded at
// start, kept fresh by invalidation events and by polling `updated_at` every TTL): the token as
// issued is recognised by the SHA-256 kept with its key; any other, by one Ed25519 signature check.
import { timingSafeEqual } from 'node:crypto';
import { invalidKey, type KeyActor, type KeyAuthenticator, type MonthlyLimits } from '../../auth/key-auth.js';
import { type Access, mergePermissions, parsePermissions } from '../../auth/permissions.js';
import type { Ctx } from '../../context.js';
import type { InvalidationEvent } from '../../lib/events.js';
import { Lru } from '../../lib/lru.js';
import { audienceFor, tokenDigest } from './tokens.js';

interface KeyInfo {
  id: number;
  jti: string;
  projectId: number;
  userId: number;
  templateId: number;
  roleId: number;
  issuer: string;
  /** when it stops working (a roll moves it to the grace end) */
  expiresAt: number | null;
  revoked: boolean;
  limits: MonthlyLimits | null;
  /** SHA-256 of the token as issued (base64url, as stored: a string takes less heap than a Buffer) */
  digest: string | null;
}

interface RoleInfo {
  project: ReadonlySet<string>;
  nodes: ReadonlyMap<number, ReadonlySet<string>>;
  priceMicros: number;
  until: number;
}

/**
 * A token whose signature and claims were checked. What can change after that is read live on
 * every hit: the key (revocation, end of life, role: the directory's shared object) and the role
 * entry, which expires with the TTL and is then looked up again without re-checking the signature.
 */
interface CachedToken {
  /** the whole token text: a hit by key is a hit only if the text is this */
  token: string;
  actor: KeyActor;
  info: KeyInfo;
  role: RoleInfo;
  /** the token's own `exp` claim, ms (Infinity without one) */
  exp: number;
}

/** The claims of a token whose signature verified and whose claim types were checked. */
type Claims = { jti: string; iss: string; aud: string; sub: string; iat: number; exp?: number; nbf?: number };

/**
 * The token cache is keyed by the last characters of the token (of its signature, 86 characters for
 * Ed25519), not the whole ~360-character text: hashing the key is paid on every request, and the
 * whole text was a measurable share of a warm check. A hit compares the whole text, so two tokens
 * with the same ending never answer for each other.
 */
const CACHE_KEY_CHARS = 43;
const cacheKeyOf = (token: string): string => token.slice(-CACHE_KEY_CHARS);

const LEEWAY_S = 30;
/** how far another instance's clock may run behind ours when it stamps `updated_at` */
const CLOCK_SKEW_MS = 5000;
const KID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_TOKEN = 4096;
const MAX_HEADERS = 64;

type KeyRow = {
  id: number;
  jti: string;
  project_id: number;
  user_id: number;
  template_id: number;
  role_id: number;
  issuer: string;
  expires_at: number | null;
  revoked_at: number | null;
  updated_at: number;
  monthly_quota: number | null;
  lineage_id: number | null;
  template_spend_cap_micros: number | null;
  manager_spend_cap_micros: number | null;
  self_spend_cap_micros: number | null;
  token_sha256: string | null;
};

const KEY_COLUMNS = [
  'id',
  'jti',
  'project_id',
  'user_id',
  'template_id',
  'role_id',
  'issuer',
  'expires_at',
  'revoked_at',
  'updated_at',
  'monthly_quota',
  'lineage_id',
  'template_spend_cap_micros',
  'manager_spend_cap_micros',
  'self_spend_cap_micros',
  'token_sha256',
] as const;

/** The cap that applies: a manager's replaces the template's; the holder's own applies when lower. */
export function effectiveCap(k: {
  template_spend_cap_micros: number | null;
  manager_spend_cap_micros: number | null;
  self_spend_cap_micros: number | null;
}): number | null {
  const set = k.manager_spend_cap_micros ?? k.template_spend_cap_micros;
  if (set === null) return k.self_spend_cap_micros;
  return k.self_spend_cap_micros === null ? set : Math.min(set, k.self_spend_cap_micros);
}

/** Built when a key row is read, so the hot path reads it without allocating. */
function limitsOf(row: KeyRow): MonthlyLimits | null {
  const capMicros = effectiveCap(row);
  if (row.monthly_quota === null && capMicros === null) return null;
  const quota = row.monthly_quota;
  return { quota, quotaText: quota === null ? null : String(quota), capMicros, lineageId: row.lineage_id ?? row.id };
}

/** Whether `token` is the one whose digest (base64url) its key row keeps; constant time. */
function isIssuedToken(token: string, digest: string): boolean {
  const kept = Buffer.from(digest, 'base64url');
  return kept.length === 32 && timingSafeEqual(tokenDigest(token), kept);
}

function reject(): never {
  throw invalidKey();
}

/**
 * Decodes one JWS segment, refusing any spelling but the canonical one. Node's decoder is lenient
 * (it ignores padding, stray characters and the unused low bits of the last character), so
 * several texts decode to the same bytes: one token would have many spellings, each verifying
 * and each taking its own cache slot. Only the text that re-encodes to itself is accepted.
 */
function decodeSegment(part: string): Buffer {
  const bytes = Buffer.from(part, 'base64url');
  if (bytes.toString('base64url') !== part) reject();
  return bytes;
}

function decodeJson(part: string): Record<string, unknown> {
  let v: unknown;
  const bytes = decodeSegment(part);
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    reject();
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) reject();
  return v as Record<string, unknown>;
}

/** The signing key a JWS header names, refusing any header but ours. */
function kidOf(h64: string): string {
  const header = decodeJson(h64);
  // Only our algorithm; `none`, HS*, RS* and any jku/x5u/jwk header are never honoured.
  if (header.alg !== 'EdDSA' || (header.typ !== undefined && header.typ !== 'JWT')) reject();
  const kid = header.kid;
  if (typeof kid !== 'string' || !KID.test(kid)) reject();
  return kid;
}

export class KeyDirectory implements KeyAuthenticator {
  private readonly tokens: Lru<string, CachedToken>;
  /** JWS header text -> kid, for headers of tokens that verified (one per signing key in practice) */
  private readonly headerKids = new Map<string, string>();
  private readonly keys = new Map<string, KeyInfo>();
  private readonly byId = new Map<number, KeyInfo>();
  private readonly roles = new Map<number, RoleInfo>();
  private readonly roleLoads = new Map<number, Promise<RoleInfo | null>>();
  /** bumped when roles are invalidated: a load that began before keeps its answer out of the cache */
  private roleGeneration = 0;
  /** the next sync reads keys changed since this time (ms, this instance's clock) */
  private syncFrom = 0;
  private signatureChecks = 0;
  private digestChecks = 0;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private readonly ttlMs: number;

  constructor(private readonly ctx: Ctx) {
    this.tokens = new Lru(ctx.config.cacheMaxKeys);
    this.ttlMs = ctx.config.cacheTtlSeconds * 1000;
  }

  async start(): Promise<void> {
    await this.loadAll();
    this.unsubscribe = this.ctx.events.on((e) => this.onEvent(e));
    // Bound on staleness when an invalidation notice is lost: poll changed keys every TTL/2, so
    // poll period + query time stays within the TTL.
    const every = Math.max(500, this.ttlMs / 2);
    this.timer = setInterval(() => void this.sync().catch(() => {}), every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
  }

  get stats() {
    return {
      cachedTokens: this.tokens.size,
      liveKeys: this.keys.size,
      roles: this.roles.size,
      signatureChecks: this.signatureChecks,
      digestChecks: this.digestChecks,
    };
  }

  // Cached by the token's own text, not a digest of it: a SHA-256 per request cost more than the
  // rest of a warm check. Holding the text adds no exposure: this process holds the signing keys
  // that could mint any token. Only tokens that verified get a slot, each at most MAX_TOKEN long.
  authenticate(token: string): KeyActor | Promise<KeyActor> {
    if (token.length > MAX_TOKEN) reject();
    const key = cacheKeyOf(token);
    const hit = this.tokens.get(key);
    if (hit !== undefined && hit.token === token) {
      const now = this.ctx.clock.now();
      const { info, role } = hit;
      if (hit.exp > now && !info.revoked && (info.expiresAt === null || info.expiresAt > now)) {
        if (role.until > now && this.roles.get(info.roleId) === role) return hit.actor;
        return this.relink(hit, key, now);
      }
      this.tokens.delete(key);
    }
    return this.verifyCold(token);
  }

  /**
   * A cached token whose role entry moved on (expired, changed, or the key now has another role):
   * the signature and claims checked when it was cached still hold, so only the role is resolved
   * again. Without this, every active key would pay a signature check at each role refresh.
   */
  private relink(hit: CachedToken, key: string, now: number): KeyActor | Promise<KeyActor> {
    const current = this.freshRole(hit.info.roleId, now);
    if (current !== undefined) return this.bind(hit, current);
    return this.role(hit.info.roleId).then((role) => {
      if (!role) {
        // only the entry this token hit: another may have taken the key while the role was read
        if (this.tokens.get(key) === hit) this.tokens.delete(key);
        reject();
      }
      return this.bind(hit, role);
    });
  }

  private bind(hit: CachedToken, role: RoleInfo): KeyActor {
    const { info, actor } = hit;
    if (actor.roleId !== info.roleId || actor.priceMicros !== role.priceMicros)
      hit.actor = { ...actor, roleId: info.roleId, priceMicros: role.priceMicros };
    hit.role = role;
    return hit.actor;
  }

  // The cache is keyed by the exact token text and only this path fills it, so checking the
  // spelling here (every segment canonical) is enough: a non-canonical spelling never gets a slot
  // of its own and never hits the canonical token's one. Synchronous while the signing key, the
  // key and its role are in memory (the usual case): a promise only where the database is read.
  private verifyCold(token: string): KeyActor | Promise<KeyActor> {
    const parts = token.split('.');
    if (parts.length !== 3) reject();
    const [h64, p64, s64] = parts as [string, string, string];
    const kid = this.headerKids.get(h64) ?? kidOf(h64);
    if (this.ctx.signing.hasKid(kid)) return this.verifyToken(token, h64, p64, s64, kid);
    return this.ctx.signing.maybeRefreshFor(kid).then((known) => {
      if (!known) reject();
      return this.verifyToken(token, h64, p64, s64, kid);
    });
  }

  /**
   * Authenticity first, then the claims. The exact token a key was issued as is recognised by its
   * digest: equal digests mean equal bytes, so its signature, header and every segment's spelling
   * are the ones Keyport produced and signed, and a SHA-256 stands in for the Ed25519 check. Any
   * other token — another text for the same key, a key without a digest yet, a jti this
   * instance has not loaded (read from the database only after the signature holds) — is checked
   * by its signature, as before. Either way every claim is checked below.
   */
  private verifyToken(token: string, h64: string, p64: string, s64: string, kid: string): KeyActor | Promise<KeyActor> {
    const c = decodeJson(p64);
    const info = typeof c.jti === 'string' ? this.keys.get(c.jti) : undefined;
    if (info?.digest && isIssuedToken(token, info.digest)) this.digestChecks += 1;
    else {
      this.signatureChecks += 1;
      if (!this.ctx.signing.verify(kid, Buffer.from(`${h64}.${p64}`), decodeSegment(s64))) reject();
    }
    // Every token signed by one key has the same header: once one verified, later tokens skip its decoding.
    if (!this.headerKids.has(h64)) {
      if (this.headerKids.size >= MAX_HEADERS) this.headerKids.clear();
      this.headerKids.set(h64, kid);
    }

    const now = this.ctx.clock.now();
    const nowS = now / 1000;
    if (typeof c.jti !== 'string' || typeof c.iss !== 'string' || typeof c.aud !== 'string') reject();
    if (typeof c.sub !== 'string' || typeof c.iat !== 'number') reject();
    if (c.exp !== undefined && (typeof c.exp !== 'number' || c.exp <= nowS)) reject();
    if (c.nbf !== undefined && (typeof c.nbf !== 'number' || c.nbf > nowS + LEEWAY_S)) reject();
    if (c.iat > nowS + LEEWAY_S) reject();
    const claims = c as Claims;
    if (info !== undefined) return this.admitKey(token, claims, info, now);
    return this.loadByJti(claims.jti).then((loaded) => this.admitKey(token, claims, loaded, now));
  }

  /** The signed claims against the key they name; the actor, cached under the token. */
  private admitKey(token: string, c: Claims, info: KeyInfo | null, now: number): KeyActor | Promise<KeyActor> {
    if (!info || info.revoked) reject();
    if (info.expiresAt !== null && info.expiresAt <= now) reject();
    if (c.iss !== info.issuer || c.aud !== audienceFor(info.projectId) || c.sub !== String(info.userId)) reject();
    const role = this.freshRole(info.roleId, now);
    if (role !== undefined) return this.cache(token, c, info, role);
    return this.role(info.roleId).then((loaded) => {
      if (!loaded) reject();
      return this.cache(token, c, info, loaded);
    });
  }

  private cache(token: string, c: Claims, info: KeyInfo, role: RoleInfo): KeyActor {
    const actor: KeyActor = {
      kind: 'key',
      keyId: info.id,
      userId: info.userId,
      projectId: info.projectId,
      templateId: info.templateId,
      roleId: info.roleId,
      priceMicros: role.priceMicros,
    };
    if (this.ttlMs > 0)
      this.tokens.set(cacheKeyOf(token), {
        token,
        actor,
        info,
        role,
        exp: c.exp === undefined ? Number.POSITIVE_INFINITY : c.exp * 1000,
      });
    return actor;
  }

  access(actor: KeyActor, projectId: number): Access | null | Promise<Access | null> {
    if (actor.projectId !== projectId) return null;
    const role = this.freshRole(actor.roleId, this.ctx.clock.now());
    if (role !== undefined) return { projectId, actor, project: role.project, nodes: role.nodes };
    return this.role(actor.roleId).then((r) => (r ? { projectId, actor, project: r.project, nodes: r.nodes } : null));
  }

  monthlyLimits(keyId: number): MonthlyLimits | null {
    return this.byId.get(keyId)?.limits ?? null;
  }

  /** A role's permissions and price: cached for the TTL; concurrent misses share one query. */
  private role(roleId: number): Promise<RoleInfo | null> {
    const cached = this.freshRole(roleId, this.ctx.clock.now());
    if (cached !== undefined) return Promise.resolve(cached);
    const pending = this.roleLoads.get(roleId);
    if (pending !== undefined) return pending;
    const load: Promise<RoleInfo | null> = this.loadRole(roleId).finally(() => {
      if (this.roleLoads.get(roleId) === load) this.roleLoads.delete(roleId);
    });
    this.roleLoads.set(roleId, load);
    return load;
  }

  /** The cached entry of a role while its TTL lasts. */
  private freshRole(roleId: number, now: number): RoleInfo | undefined {
    const r = this.roles.get(roleId);
    return r !== undefined && r.until > now ? r : undefined;
  }

  private async loadRole(roleId: number): Promise<RoleInfo | null> {
    const now = this.ctx.clock.now();
    const generation = this.roleGeneration;
    const row = await this.ctx.k
      .selectFrom('roles')
      .select(['permissions', 'price_micros'])
      .where('id', '=', roleId)
      .executeTakeFirst();
    if (!row) {
      this.roles.delete(roleId);
      return null;
    }
    const merged = mergePermissions([parsePermissions(row.permissions)]);
    const info: RoleInfo = { ...merged, priceMicros: Number(row.price_micros), until: now + Math.max(this.ttlMs, 0) };
    if (this.ttlMs > 0 && generation === this.roleGeneration) this.roles.set(roleId, info);
    return info;
  }

  private apply(row: KeyRow): KeyInfo {
    const existing = this.byId.get(row.id);
    const revoked = row.revoked_at !== null;
    if (existing) {
      existing.revoked = revoked; // cached tokens holding this object see it at once
      existing.roleId = row.role_id; // a template's role changed: cached tokens miss and re-resolve
      existing.expiresAt = row.expires_at; // a roll's grace end
      existing.limits = limitsOf(row);
      existing.digest = row.token_sha256;
      if (revoked) {
        this.keys.delete(existing.jti);
        this.byId.delete(existing.id);
      }
      return existing;
    }
    const info: KeyInfo = {
      id: row.id,
      jti: row.jti,
      projectId: row.project_id,
      userId: row.user_id,
      templateId: row.template_id,
      roleId: row.role_id,
      issuer: row.issuer,
      expiresAt: row.expires_at,
      revoked,
      limits: limitsOf(row),
      digest: row.token_sha256,
    };
    if (!revoked) {
      this.keys.set(info.jti, info);
      this.byId.set(info.id, info);
    }
    return info;
  }

  private async loadAll(): Promise<void> {
    const started = this.ctx.clock.now();
    const rows = await this.ctx.k.selectFrom('api_keys').select(KEY_COLUMNS).where('revoked_at', 'is', null).execute();
    for (const r of rows) this.apply(r);
    this.syncFrom = started - CLOCK_SKEW_MS;
  }

  /**
   * Keys changed since the previous sync began, less a margin for clocks of other instances that
   * run behind ours. Measured from when the previous sync began, not from the newest change seen:
   * after a burst of new keys the next syncs read the burst once, not at every poll for ever.
   */
  async sync(): Promise<void> {
    const started = this.ctx.clock.now();
    const rows = await this.ctx.k
      .selectFrom('api_keys')
      .select(KEY_COLUMNS)
      .where('updated_at', '>=', this.syncFrom)
      .execute();
    for (const r of rows) this.apply(r);
    this.syncFrom = started - CLOCK_SKEW_MS;
    this.forgetRoles();
  }

  private async loadByJti(jti: string): Promise<KeyInfo | null> {
    if (jti.length > 64) return null;
    const row = await this.ctx.k.selectFrom('api_keys').select(KEY_COLUMNS).where('jti', '=', jti).executeTakeFirst();
    return row ? this.apply(row) : null;
  }

  private async loadById(id: number): Promise<void> {
    const row = await this.ctx.k.selectFrom('api_keys').select(KEY_COLUMNS).where('id', '=', id).executeTakeFirst();
    if (row) this.apply(row);
    else {
      const gone = this.byId.get(id);
      if (gone) this.markGone(gone);
    }
  }

  private async onEvent(e: InvalidationEvent): Promise<void> {
    switch (e.type) {
      case 'key':
        await this.loadById(e.keyId);
        return;
      case 'role':
        this.roleGeneration += 1;
        this.roles.delete(e.roleId);
        this.roleLoads.delete(e.roleId);
        return;
      case 'project':
        for (const info of [...this.byId.values()]) if (info.projectId === e.projectId) this.markGone(info);
        return;
      case 'all':
        this.tokens.clear();
        this.forgetRoles();
        for (const info of [...this.byId.values()]) this.markGone(info);
        await this.loadAll();
        return;
    }
  }

  private forgetRoles() {
    this.roleGeneration += 1;
    this.roles.clear();
    this.roleLoads.clear();
  }

  private markGone(info: KeyInfo) {
    info.revoked = true;
    this.keys.delete(info.jti);
    this.byId.delete(info.id);
  }
}
