// Ed25519 signing keys. Private keys are sealed with the master key in `signing_keys`; public
// keys are published as a JWKS. Rotation adds a new active key; older keys keep verifying.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import type { Ctx } from '../../context.js';
import { open, randomToken, seal } from '../../lib/crypto.js';

export interface Jwk {
  kty: string;
  crv: string;
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

const b64url = (s: string | Buffer) => Buffer.from(s).toString('base64url');

export class SigningKeys {
  private active: { kid: string; key: KeyObject } | null = null;
  private readonly publicKeys = new Map<string, KeyObject>();
  private jwkList: Jwk[] = [];
  private lastRefresh = 0;

  constructor(private readonly ctx: Ctx) {}

  static async load(ctx: Ctx): Promise<SigningKeys> {
    const keys = new SigningKeys(ctx);
    await keys.refresh();
    if (!keys.active) {
      await keys.create();
      await keys.refresh();
    }
    return keys;
  }

  /** Reloads the key set from the database (another instance may have rotated). */
  async refresh(): Promise<void> {
    const rows = await this.ctx.k.selectFrom('signing_keys').selectAll().orderBy('created_at', 'asc').execute();
    this.jwkList = [];
    this.publicKeys.clear();
    let active: SigningKeys['active'] = null;
    for (const r of rows) {
      const jwk = JSON.parse(r.public_jwk) as Jwk;
      this.jwkList.push(jwk);
      this.publicKeys.set(
        r.kid,
        createPublicKey({ key: jwk as unknown as import('node:crypto').JsonWebKey, format: 'jwk' }),
      );
      if (r.active) {
        const der = open(this.ctx.master.key, this.ctx.master.name, r.private_enc, `signing-key:${r.kid}`);
        active = { kid: r.kid, key: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }) };
      }
    }
    this.active = active;
    this.lastRefresh = this.ctx.clock.now();
  }

  private async create(): Promise<string> {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const kid = `ed-${randomToken(9)}`;
    const pub = publicKey.export({ format: 'jwk' }) as { kty: string; crv: string; x: string };
    const jwk: Jwk = { kty: pub.kty, crv: pub.crv, x: pub.x, kid, alg: 'EdDSA', use: 'sig' };
    const der = privateKey.export({ format: 'der', type: 'pkcs8' });
    await this.ctx.k
      .insertInto('signing_keys')
      .values({
        kid,
        alg: 'EdDSA',
        public_jwk: JSON.stringify(jwk),
        private_enc: seal(this.ctx.master.key, this.ctx.master.name, der, `signing-key:${kid}`),
        active: 1,
        created_at: this.ctx.clock.now(),
      })
      .execute();
    return kid;
  }

  /** New active key; previous keys stay published and keep verifying (and re-deriving) their tokens. */
  async rotate(): Promise<string> {
    const kid = await this.ctx.k.transaction().execute(async (trx) => {
      await trx.updateTable('signing_keys').set({ active: 0 }).execute();
      return new SigningKeys({ ...this.ctx, k: trx }).create();
    });
    await this.refresh();
    await this.ctx.events.publish({ type: 'all' });
    return kid;
  }

  get activeKid(): string {
    if (!this.active) throw new Error('no active signing key');
    return this.active.kid;
  }

  jwks(): { keys: Jwk[] } {
    return { keys: this.jwkList };
  }

  /** Compact JWS. Ed25519 is deterministic: the same claims and kid always give the same token. */
  async signWith(kid: string, payload: Record<string, unknown>): Promise<string> {
    const head = `${b64url(JSON.stringify({ alg: 'EdDSA', typ: 'JWT', kid }))}.${b64url(JSON.stringify(payload))}`;
    const key = kid === this.active?.kid ? this.active.key : await this.privateKey(kid);
    return `${head}.${sign(null, Buffer.from(head), key).toString('base64url')}`;
  }

  private async privateKey(kid: string): Promise<KeyObject> {
    const row = await this.ctx.k
      .selectFrom('signing_keys')
      .selectAll()
      .where('kid', '=', kid)
      .executeTakeFirstOrThrow();
    const der = open(this.ctx.master.key, this.ctx.master.name, row.private_enc, `signing-key:${kid}`);
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  }

  hasKid(kid: string): boolean {
    return this.publicKeys.has(kid);
  }

  /** Unknown kid: refresh at most once a second (a rotation on another instance). */
  async maybeRefreshFor(kid: string): Promise<boolean> {
    if (this.publicKeys.has(kid)) return true;
    if (this.ctx.clock.now() - this.lastRefresh < 1000) return false;
    await this.refresh();
    return this.publicKeys.has(kid);
  }

  verify(kid: string, signingInput: Buffer, signature: Buffer): boolean {
    const key = this.publicKeys.get(kid);
    return key !== undefined && signature.length === 64 && verify(null, signingInput, key, signature);
  }
}
