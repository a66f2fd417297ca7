// Data plane for key holders: a key obtained through the lifecycle API works with the
// rndflow ServerProxy calls, in the holder's personal layer, isolated from other holders.
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raw, sha } from './dataplane-helpers.js';
import { MutableClock, makeProject, makeTestApp, signUp, snapshot, type TestApp, type UserSession } from './helpers.js';
import { issueKey, makeProjectVisible } from './keys-helpers.js';

let t: TestApp;
let clock: MutableClock;
let owner: UserSession;
let P: { projectId: number; input: number; compute: number; output: number };
const MAX = 2048;

/** What ServerProxy does: Bearer header, JSON body, query params; ids may be strings. */
function key(token: string) {
  const req = (method: InjectOptions['method'], url: string, body?: unknown) =>
    t.app.inject({
      method,
      url: `/api${url}`,
      headers: { authorization: `Bearer ${token}` },
      ...(body !== undefined ? { payload: body as object } : {}),
    });
  return {
    get: (url: string) => req('GET', url),
    post: (url: string, body: unknown = {}) => req('POST', url, body),
    put: (url: string) => req('PUT', url),
  };
}

let A: ReturnType<typeof key>;
let B: ReturnType<typeof key>;
let holderA: UserSession;
let holderB: UserSession;

beforeAll(async () => {
  clock = new MutableClock(Date.now());
  t = await makeTestApp({ clock, env: { KEYPORT_MAX_OBJECT_BYTES: String(MAX) } });
  owner = await signUp(t.app, 'Owner');
  holderA = await signUp(t.app, 'HolderA');
  holderB = await signUp(t.app, 'HolderB');
  P = await makeProject(owner, 'Service');
  await makeProjectVisible(owner, P.projectId);
  const permissions = {
    project: ['project_view'],
    nodes: { [P.input]: ['package_create', 'package_view'], [P.output]: ['package_view'] },
  };
  A = key((await issueKey(t, owner, holderA, { projectId: P.projectId, permissions })).token);
  B = key((await issueKey(t, owner, holderB, { projectId: P.projectId, permissions })).token);
});
afterAll(() => t.close());

const pp = () => `/projects/${P.projectId}`;

describe('key holders', () => {
  it("last data layer is the holder's personal layer; lists show shared + own only", async () => {
    const la = await A.get(`${pp()}/data_layers/last`);
    expect(la.statusCode).toBe(200);
    expect(la.json()).toMatchObject({ kind: 'personal', user_id: holderA.user.id });
    const lb = (await B.get(`${pp()}/data_layers/last`)).json();
    expect(lb.id).not.toBe(la.json().id);
    const listA = (await A.get(`${pp()}/data_layers`)).json() as { id: number; kind: string }[];
    expect(listA.map((l) => l.kind).sort()).toEqual(['personal', 'shared']);
    expect(listA.map((l) => l.id)).not.toContain(lb.id);
    const all = (await owner.get(`/api${pp()}/data_layers`)).json() as { id: number }[];
    expect(all.map((l) => l.id)).toEqual(expect.arrayContaining([la.json().id, lb.id]));
  });

  it('posts (200, felds ignored), searches by master, and is isolated from the other holder', async () => {
    const layerA = (await A.get(`${pp()}/data_layers/last`)).json().id as number;
    const layerB = (await B.get(`${pp()}/data_layers/last`)).json().id as number;
    const post = await A.post(`${pp()}/nodes/${String(P.input)}/packages?data_layer_id=${layerA}`, {
      label: 'job',
      felds: { x: 1 },
    });
    expect(post.statusCode).toBe(200);
    const id = post.json().id as number;
    expect(post.json()).toMatchObject({ master_id: id, data_layer_id: layerA, fields: [] });
    const withFields = await A.post(`${pp()}/nodes/${P.input}/packages?data_layer_id=${layerA}`, {
      label: 'job',
      fields: { x: 1 },
    });
    expect(withFields.json().fields).toEqual([{ name: 'x', value: 1 }]);

    const found = await A.post(`${pp()}/nodes/${P.input}/packages/search?data_layer_id=${layerA}&page=1&page_size=1`, {
      master_id: id,
    });
    expect(found.statusCode).toBe(200);
    expect(found.json()).toMatchObject({ total: 1, items: [{ id, master_id: id }] });

    // other holder: 404 for A's layer and A's package, whatever the route
    expect(
      (await B.post(`${pp()}/nodes/${P.input}/packages/search?data_layer_id=${layerA}`, { master_id: id })).statusCode,
    ).toBe(404);
    expect((await B.post(`${pp()}/nodes/${P.input}/packages?data_layer_id=${layerA}`, {})).statusCode).toBe(404);
    expect((await B.get(`${pp()}/nodes/${P.input}/packages/${id}`)).statusCode).toBe(404);
    expect((await B.get(`${pp()}/nodes/${P.input}/packages/${id}/files`)).statusCode).toBe(404);
    // and B's own search in B's layer does not see it
    expect(
      (await B.post(`${pp()}/nodes/${P.input}/packages/search?data_layer_id=${layerB}`, { master_id: id })).json(),
    ).toEqual({ total: 0, items: [] });
    // a parent from A's layer cannot be referenced from B's
    const cross = await B.post(`${pp()}/nodes/${P.input}/packages?data_layer_id=${layerB}`, { parent_ids: [id] });
    expect(cross.statusCode).toBe(400);
    // the project owner (manager) sees A's package
    expect((await owner.get(`/api${pp()}/nodes/${P.input}/packages/${id}`)).statusCode).toBe(200);
    // the key counts as its holder, not as the session: without a key the holder sees nothing here
    expect((await holderA.get(`/api${pp()}/nodes/${P.input}/packages/${id}`)).statusCode).toBe(403);
  });

  it('403 on a node without permission, 404 on another project, 401 without a valid key', async () => {
    const layer = (await A.get(`${pp()}/data_layers/last`)).json().id;
    const out = await A.post(`${pp()}/nodes/${P.output}/packages?data_layer_id=${layer}`, { label: 'x' });
    expect(out.statusCode).toBe(403);
    expect(out.json().error.code).toBe('FORBIDDEN');
    expect((await A.post(`${pp()}/nodes/${P.compute}/packages/search?data_layer_id=${layer}`, {})).statusCode).toBe(
      403,
    );
    expect((await A.post(`${pp()}/nodes/${P.output}/packages/search?data_layer_id=${layer}`, {})).statusCode).toBe(200);
    const other = await makeProject(owner, 'Other');
    expect((await A.get(`/projects/${other.projectId}/data_layers/last`)).statusCode).toBe(404);
    expect((await A.post(`/projects/${other.projectId}/nodes/${other.input}/packages`, {})).statusCode).toBe(404);
    const bad = key('not-a-token');
    expect((await bad.get(`${pp()}/data_layers/last`)).statusCode).toBe(401);
  });

  it('caps page_size=1000000 at 100', async () => {
    const layer = (await A.get(`${pp()}/data_layers/last`)).json().id;
    const before = (
      await A.post(`${pp()}/nodes/${P.input}/packages/search?data_layer_id=${layer}&page=1&page_size=1`, {})
    ).json().total;
    for (let i = before; i < 105; i++) {
      expect(
        (await A.post(`${pp()}/nodes/${P.input}/packages?data_layer_id=${layer}`, { label: `p${i}` })).statusCode,
      ).toBe(200);
    }
    const res = await A.post(
      `${pp()}/nodes/${P.input}/packages/search?data_layer_id=${layer}&page=1&page_size=1000000`,
      {},
    );
    expect(res.statusCode).toBe(200);
    expect(res.json().total).toBeGreaterThanOrEqual(105);
    expect(res.json().items).toHaveLength(100);
  });

  it('uploads objects; hash mismatch 400, tampered/expired link 403, oversized 413', async () => {
    const bytes = Buffer.from('key holder file');
    const hash = sha(bytes);
    const linkRes = await A.put(`${pp()}/objects/${hash}`);
    expect(linkRes.statusCode).toBe(200);
    const link = linkRes.json() as string;
    expect(link.startsWith('http')).toBe(true);

    const before = await snapshot(t.app);
    const mismatch = await raw(t.app, 'PUT', link, Buffer.from('something else'), 'text/plain');
    expect(mismatch.statusCode).toBe(400);
    expect(mismatch.json().error.code).toBe('HASH_MISMATCH');
    expect(await snapshot(t.app)).toEqual(before);

    const tampered = link.replace(/sig=([\w-])/, (_m, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`);
    expect((await raw(t.app, 'PUT', tampered, bytes)).statusCode).toBe(403);
    clock.advance((t.app.ctx.config.signedUrlTtlSeconds + 1) * 1000);
    const expired = await raw(t.app, 'PUT', link, bytes);
    expect(expired.statusCode).toBe(403);
    expect(expired.json().error.code).toBe('INVALID_SIGNATURE');
    clock.advance(-(t.app.ctx.config.signedUrlTtlSeconds + 1) * 1000);
    expect(await snapshot(t.app)).toEqual(before);

    expect((await raw(t.app, 'PUT', link, bytes, 'text/plain')).statusCode).toBe(200);
    expect((await A.put(`${pp()}/objects/${hash}`)).body).toBe('null');

    const big = Buffer.alloc(MAX + 10, 1);
    const bigLink = (await A.put(`${pp()}/objects/${sha(big)}`)).json() as string;
    const tooBig = await raw(t.app, 'PUT', bigLink, big);
    expect(tooBig.statusCode).toBe(413);

    // the file goes into a package; its download link works without auth and is checked
    const layer = (await A.get(`${pp()}/data_layers/last`)).json().id;
    const pkg = await A.post(`${pp()}/nodes/${P.input}/packages?data_layer_id=${layer}`, {
      label: 'file',
      files: [
        {
          name: 'in.txt',
          content_hash: hash,
          type: 'text/plain',
          is_executable: false,
          is_binary: false,
          size: bytes.length,
        },
      ],
    });
    expect(pkg.statusCode).toBe(200);
    const files = (await A.get(`${pp()}/nodes/${P.input}/packages/${pkg.json().id}/files`)).json();
    const down = await raw(t.app, 'GET', files[0].content);
    expect(down.statusCode).toBe(200);
    expect(sha(down.rawPayload)).toBe(hash);
    const badDown = files[0].content.replace(/exp=(\d+)/, (_m: string, e: string) => `exp=${Number(e) + 1}`);
    expect((await raw(t.app, 'GET', badDown)).statusCode).toBe(403);
  });

  it('a key with only package_view cannot upload', async () => {
    const viewer = await signUp(t.app, 'ViewerKey');
    const V = key(
      (
        await issueKey(t, owner, viewer, {
          projectId: P.projectId,
          permissions: { project: ['project_view', 'package_view'] },
        })
      ).token,
    );
    expect((await V.put(`${pp()}/objects/${sha('nope')}`)).statusCode).toBe(403);
    // project-level package_view reaches every node
    expect((await V.post(`${pp()}/nodes/${P.output}/packages/search`, {})).statusCode).toBe(200);
  });
});
