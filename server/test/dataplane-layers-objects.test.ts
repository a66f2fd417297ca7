// Possession of file objects per data layer: an object is held by the layers it was uploaded
// into, PUT …/objects/:sha256 answers null only for a layer that holds it, and a package may
// reference only objects its own layer holds. Two key holders of one project cannot learn of, or
// read, each other's files by their hash. Signed links are on the configured origin, whatever
// Host the request names. The migration gives every layer the objects its packages reference.
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layerObjects } from '../src/db/migrations/010_layer_objects.js';
import { grant, pathOf, personalLayer, raw, sha } from './dataplane-helpers.js';
import { bearer, makeProject, makeTestApp, signUp, snapshot, type TestApp, type UserSession } from './helpers.js';
import { issueKey } from './keys-helpers.js';
import { Tally } from './security-helpers.js';

const tally = new Tally('data layers: objects');

let t: TestApp;
let owner: UserSession;
let member: UserSession;
let P: { projectId: number; input: number; compute: number; output: number };
let T1: string;
let K1: ReturnType<typeof bearer>;
let K2: ReturnType<typeof bearer>;
/** personal layers of holder 1 and 2, the shared "main" layer */
let L1: number;
let L2: number;
let main: number;

beforeAll(async () => {
  t = await makeTestApp();
  owner = await signUp(t.app, 'Owner');
  member = await signUp(t.app, 'Member');
  const holder1 = await signUp(t.app, 'Holder1');
  const holder2 = await signUp(t.app, 'Holder2');
  P = await makeProject(owner, 'Layers');
  const permissions = {
    project: ['project_view'],
    nodes: { [P.input]: ['package_create', 'package_view'], [P.output]: ['package_view'] },
  };
  T1 = (await issueKey(t, owner, holder1, { projectId: P.projectId, permissions })).token;
  K1 = bearer(t.app, T1);
  K2 = bearer(t.app, (await issueKey(t, owner, holder2, { projectId: P.projectId, permissions })).token);
  await grant(owner, P.projectId, member, { project: ['project_view', 'package_view', 'package_create'] });
  L1 = (await K1.get(`${base()}/data_layers/last`)).json().id;
  L2 = (await K2.get(`${base()}/data_layers/last`)).json().id;
  main = (await member.get(`${base()}/data_layers/last`)).json().id;
});
afterAll(async () => {
  tally.report();
  await t?.close();
});

const base = () => `/api/projects/${P.projectId}`;
const putObject = (who: ReturnType<typeof bearer>, hash: string, layer?: number) =>
  who.req('PUT', `${base()}/objects/${hash}${layer !== undefined ? `?data_layer_id=${layer}` : ''}`);
const fileRef = (bytes: Buffer, name = 'data.bin') => ({
  name,
  content_hash: sha(bytes),
  type: 'application/octet-stream',
  is_executable: false,
  is_binary: true,
  size: bytes.length,
});
/** What an answer reveals once the random parts (hash, expiry, signature) are taken out. */
function shape(res: LightMyRequestResponse) {
  const link = res.json() as string | null;
  if (typeof link !== 'string') return { status: res.statusCode, type: res.headers['content-type'], link };
  const u = new URL(link);
  return {
    status: res.statusCode,
    type: res.headers['content-type'],
    origin: u.origin,
    path: u.pathname.replace(/[0-9a-f]{64}/, '<sha>'),
    query: [...u.searchParams.keys()],
    project: u.searchParams.get('project'),
    layer: u.searchParams.get('layer'),
  };
}
/** The refusal without the hash it names. */
const refusal = (res: LightMyRequestResponse, hash: string) => ({
  status: res.statusCode,
  body: res.body.split(hash).join('<sha>'),
});
const heldBy = async (hash: string) =>
  (
    await t.app.ctx.k
      .selectFrom('layer_objects')
      .select('data_layer_id')
      .where('sha256', '=', hash)
      .orderBy('data_layer_id')
      .execute()
  ).map((r) => r.data_layer_id);

describe('possession per data layer', () => {
  const secret = Buffer.from('holder 1 only: quarterly numbers');
  const hash = sha(secret);
  let pkg1: number;

  it("holder 1 uploads into their personal layer (the Python client's call: no layer named)", async () => {
    const first = await putObject(K1, hash);
    expect(first.statusCode).toBe(200);
    expect(shape(first)).toMatchObject({ layer: String(L1), project: String(P.projectId) });
    const up = await raw(t.app, 'PUT', first.json(), secret);
    expect(up.statusCode).toBe(200);
    expect((await putObject(K1, hash)).body).toBe('null');
    expect(await heldBy(hash)).toEqual([L1]);
    const pkg = await K1.post(`${base()}/nodes/${P.input}/packages?data_layer_id=${L1}`, { files: [fileRef(secret)] });
    expect(pkg.statusCode).toBe(200);
    pkg1 = pkg.json().id;
    const [f] = (await K1.get(`${base()}/nodes/${P.input}/packages/${pkg1}/files`)).json();
    const down = await raw(t.app, 'GET', f.content);
    expect(down.statusCode).toBe(200);
    expect(sha(down.rawPayload)).toBe(hash);
  });

  it('holder 2 gets an upload link for that hash, shaped exactly like one for a never-seen hash', async () => {
    const known = await putObject(K2, hash);
    const unseen = await putObject(K2, sha(`never uploaded ${Math.random()}`));
    tally.manual('another layer holding the object is not revealed by PUT objects', known.body !== 'null');
    expect(typeof known.json()).toBe('string');
    expect(shape(known)).toEqual(shape(unseen));
    expect(shape(known)).toMatchObject({ layer: String(L2) });
    // and the same again when naming the layer explicitly
    expect(shape(await putObject(K2, hash, L2))).toEqual(shape(unseen));
  });

  it('holder 2 cannot reference it, nor read it, without uploading the bytes', async () => {
    const before = await snapshot(t.app);
    const url = `${base()}/nodes/${P.input}/packages?data_layer_id=${L2}`;
    const steal = await K2.post(url, { files: [fileRef(secret, 'stolen.txt')] });
    tally.rejects('package referencing an object only another layer holds', steal, 400, 'INVALID_REFERENCE');
    // the same refusal as for an object that exists nowhere
    const nowhere = Buffer.from(`exists nowhere ${Math.random()}`);
    const unknown = await K2.post(url, { files: [fileRef(nowhere, 'stolen.txt')] });
    expect(refusal(steal, hash)).toEqual(refusal(unknown, sha(nowhere)));
    // the body's data_layer_id names the layer too
    tally.rejects(
      'package (layer in the body) referencing an object only another layer holds',
      await K2.post(`${base()}/nodes/${P.input}/packages`, { data_layer_id: L2, files: [fileRef(secret)] }),
      400,
      'INVALID_REFERENCE',
    );
    // reading: holder 1's package is invisible, its download link cannot be moved to another layer
    tally.rejects(
      "files of holder 1's package",
      await K2.get(`${base()}/nodes/${P.input}/packages/${pkg1}/files`),
      404,
      'NOT_FOUND',
    );
    const [f] = (await K1.get(`${base()}/nodes/${P.input}/packages/${pkg1}/files`)).json();
    const moved = new URL(f.content);
    moved.searchParams.set('layer', String(L2));
    tally.rejects(
      'download link moved to another layer',
      await raw(t.app, 'GET', moved.toString()),
      403,
      'INVALID_SIGNATURE',
    );
    const link2 = (await putObject(K2, hash)).json() as string;
    tally.rejects('own upload link used to download', await raw(t.app, 'GET', link2), 403, 'INVALID_SIGNATURE');
    // the upload still needs the bytes: nothing else proves possession
    tally.rejects(
      'upload link with other bytes',
      await raw(t.app, 'PUT', link2, Buffer.from('a guess')),
      400,
      'HASH_MISMATCH',
    );
    tally.rejects('upload link with no bytes', await raw(t.app, 'PUT', link2, Buffer.alloc(0)), 400, 'HASH_MISMATCH');
    const prefix = secret.subarray(0, secret.length - 1);
    tally.rejects(
      'upload link with a prefix of the bytes',
      await raw(t.app, 'PUT', link2, prefix),
      400,
      'HASH_MISMATCH',
    );
    tally.manual(
      'a refused upload does not make the layer hold the object',
      (await putObject(K2, hash)).body !== 'null',
    );
    expect(await heldBy(hash)).toEqual([L1]);
    expect(await snapshot(t.app)).toEqual(before);
  });

  it('after holder 2 uploads the same bytes, it works for them (stored once, held by both)', async () => {
    const objectsBefore = (await snapshot(t.app)).objects;
    const link2 = (await putObject(K2, hash)).json() as string;
    const up = await raw(t.app, 'PUT', link2, secret);
    expect(up.statusCode).toBe(200);
    expect(up.json()).toEqual({ content_hash: hash, size: secret.length });
    expect((await snapshot(t.app)).objects).toBe(objectsBefore);
    expect(await heldBy(hash)).toEqual([L1, L2].sort((a, b) => a - b));
    expect((await putObject(K2, hash)).body).toBe('null');
    const pkg = await K2.post(`${base()}/nodes/${P.input}/packages?data_layer_id=${L2}`, { files: [fileRef(secret)] });
    expect(pkg.statusCode).toBe(200);
    const [f] = (await K2.get(`${base()}/nodes/${P.input}/packages/${pkg.json().id}/files`)).json();
    expect(new URL(f.content).searchParams.get('layer')).toBe(String(L2));
    const down = await raw(t.app, 'GET', f.content);
    expect(sha(down.rawPayload)).toBe(hash);
  });

  it('a shared layer holds what its members upload into it, and only that', async () => {
    const shared = Buffer.from('team data in the shared layer');
    const h = sha(shared);
    // a person's default layer is the one data_layers/last gives: here the shared "main"
    const link = await member.put(`${base()}/objects/${h}`, undefined);
    expect(shape(link)).toMatchObject({ layer: String(main) });
    expect((await raw(t.app, 'PUT', link.json(), shared)).statusCode).toBe(200);
    expect((await member.put(`${base()}/objects/${h}`, undefined)).body).toBe('null');
    expect((await member.post(`${base()}/nodes/${P.input}/packages`, { files: [fileRef(shared)] })).statusCode).toBe(
      200,
    );
    // a key holder sees the shared layer: it holds the object there…
    expect((await putObject(K1, h, main)).body).toBe('null');
    expect(
      (await K1.post(`${base()}/nodes/${P.input}/packages?data_layer_id=${main}`, { files: [fileRef(shared)] }))
        .statusCode,
    ).toBe(200);
    // …but not in their personal layer, until they upload it there
    tally.manual(
      'the shared layer holding an object is not revealed in a personal layer',
      (await putObject(K1, h)).body !== 'null',
    );
    tally.rejects(
      'personal-layer package referencing an object only the shared layer holds',
      await K1.post(`${base()}/nodes/${P.input}/packages?data_layer_id=${L1}`, { files: [fileRef(shared)] }),
      400,
      'INVALID_REFERENCE',
    );
    // and the shared layer does not hold what holder 1 put in their personal layer
    tally.manual(
      'a personal layer holding an object is not revealed in the shared layer',
      (await member.put(`${base()}/objects/${hash}`, undefined)).body !== 'null',
    );
    tally.rejects(
      'shared-layer package referencing an object only a personal layer holds',
      await member.post(`${base()}/nodes/${P.input}/packages?data_layer_id=${main}`, { files: [fileRef(secret)] }),
      400,
      'INVALID_REFERENCE',
    );
  });

  it('data_layer_id naming a layer the caller cannot see answers 404, like other layer checks', async () => {
    const other = await makeProject(owner, 'Other');
    const otherLayer = (await owner.get(`/api/projects/${other.projectId}/data_layers/last`)).json().id as number;
    const before = await snapshot(t.app);
    for (const [label, who, layer] of [
      ["holder 2 naming holder 1's personal layer", K2, L1],
      ["holder 1 naming holder 2's personal layer", K1, L2],
      ['a layer of another project', K1, otherLayer],
      ['a layer that does not exist', K1, 999_999],
    ] as const) {
      tally.rejects(`PUT objects: ${label}`, await putObject(who, hash, layer), 404, 'NOT_FOUND');
    }
    tally.rejects(
      "PUT objects: a member naming a holder's personal layer",
      await member.put(`${base()}/objects/${hash}?data_layer_id=${L1}`, undefined),
      404,
      'NOT_FOUND',
    );
    expect((await putObject(K1, hash, 0)).statusCode).toBe(400);
    expect(await snapshot(t.app)).toEqual(before);
    // a manager sees every layer: for holder 1's layer the answer is "held"
    expect((await owner.put(`${base()}/objects/${hash}?data_layer_id=${L1}`, undefined)).body).toBe('null');
  });
});

describe('signed links follow the configuration, not the Host header', () => {
  it('upload links and file URLs are on config.publicUrl for any Host / X-Forwarded-Host', async () => {
    const configured = t.app.ctx.config.publicUrl;
    expect(configured).toBe(`http://localhost:${t.app.ctx.config.port}`); // KEYPORT_PUBLIC_URL unset
    const bytes = Buffer.from('host header test');
    const evil = { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' };
    const asHolder = (method: 'GET' | 'PUT' | 'POST', url: string, payload?: object) =>
      t.app.inject({
        method,
        url,
        headers: { ...evil, authorization: `Bearer ${T1}` },
        ...(payload ? { payload } : {}),
      });
    const put = await asHolder('PUT', `${base()}/objects/${sha(bytes)}`);
    expect(put.statusCode).toBe(200);
    const link = put.json() as string;
    tally.manual('upload link ignores a forged Host', new URL(link).origin === configured);
    expect((await raw(t.app, 'PUT', link, bytes)).statusCode).toBe(200);
    const pkg = await asHolder('POST', `${base()}/nodes/${P.input}/packages`, { files: [fileRef(bytes)] });
    expect(pkg.statusCode).toBe(200);
    const files = await asHolder('GET', `${base()}/nodes/${P.input}/packages/${pkg.json().id}/files`);
    const [f] = files.json();
    tally.manual('file content URL ignores a forged Host', f.content.startsWith(`${configured}/api/objects/`));
    expect((await t.app.inject({ method: 'GET', url: pathOf(f.content) })).statusCode).toBe(200);
  });

  it('KEYPORT_PUBLIC_URL, when set, is the origin', async () => {
    const t2 = await makeTestApp({ env: { KEYPORT_PUBLIC_URL: 'https://files.keyport.example/' } });
    try {
      const o = await signUp(t2.app, 'Owner2');
      const q = await makeProject(o, 'Q');
      const res = await t2.app.inject({
        method: 'PUT',
        url: `/api/projects/${q.projectId}/objects/${sha('x')}`,
        headers: { cookie: `keyport_session=${o.cookie}`, 'x-csrf-token': o.csrf, host: 'evil.example' },
      });
      expect(res.statusCode).toBe(200);
      expect((res.json() as string).startsWith('https://files.keyport.example/api/objects/')).toBe(true);
    } finally {
      await t2.close();
    }
  });
});

describe('migration 010 on existing data', () => {
  it('every layer holds the objects its packages reference, nothing more', async () => {
    const t3 = await makeTestApp();
    try {
      const o = await signUp(t3.app, 'Owner3');
      const q = await makeProject(o, 'Old');
      const qb = `/api/projects/${q.projectId}`;
      const shared = (await o.get(`${qb}/data_layers/last`)).json().id as number;
      const personal = await personalLayer(t3.app, q.projectId, o.user.id);
      const up = async (bytes: Buffer, layer: number) => {
        const link = (await o.put(`${qb}/objects/${sha(bytes)}?data_layer_id=${layer}`, undefined)).json();
        expect((await raw(t3.app, 'PUT', link, bytes)).statusCode).toBe(200);
      };
      const a = Buffer.from('referenced in the shared layer, twice');
      const b = Buffer.from('referenced in the personal layer');
      const c = Buffer.from('uploaded, never referenced');
      await up(a, shared);
      await up(b, personal);
      await up(c, shared);
      for (const [bytes, layer] of [
        [a, shared],
        [a, shared],
        [b, personal],
      ] as const) {
        const res = await o.post(`${qb}/nodes/${q.input}/packages?data_layer_id=${layer}`, { files: [fileRef(bytes)] });
        expect(res.statusCode).toBe(200);
      }
      // as before migration 010: no per-layer possession at all, then the migration runs
      const k = t3.app.ctx.k;
      await sql`DROP TABLE layer_objects`.execute(k);
      await layerObjects().up(k);
      const rows = await k
        .selectFrom('layer_objects')
        .select(['data_layer_id', 'sha256'])
        .orderBy('data_layer_id')
        .orderBy('sha256')
        .execute();
      const want = [
        { data_layer_id: shared, sha256: sha(a) },
        { data_layer_id: personal, sha256: sha(b) },
      ].sort((x, y) => x.data_layer_id - y.data_layer_id || x.sha256.localeCompare(y.sha256));
      expect(rows).toEqual(want);
      // and the API agrees: held where referenced; the unreferenced object is uploaded once more
      expect((await o.put(`${qb}/objects/${sha(a)}?data_layer_id=${shared}`, undefined)).body).toBe('null');
      expect((await o.put(`${qb}/objects/${sha(b)}?data_layer_id=${personal}`, undefined)).body).toBe('null');
      expect(typeof (await o.put(`${qb}/objects/${sha(b)}?data_layer_id=${shared}`, undefined)).json()).toBe('string');
      expect(typeof (await o.put(`${qb}/objects/${sha(c)}?data_layer_id=${shared}`, undefined)).json()).toBe('string');
    } finally {
      await t3.close();
    }
  });
});
